"""Tier code-cache (step 5): the kernel compiles its JavaScript with V8's cached code of the same source.

Compiling the required JavaScript was 0.67 s of the kernel's CPU per synth. Node 20 has no module compile cache
(22.1+), and jsii links the packages into a new `jsii-kernel-*` temporary folder each run, so a cache keyed by path
would never hit. `code_cache.js`, preloaded into the kernel, keys V8's code by the module's source and the kernel's
V8 flags instead (`CODE_CACHE_DIR`, ~9 MB for this app per set of flags). V8 checks the data against the source, its
version and its flags and compiles afresh on any mismatch (then the entry is written again), so the cache changes
the speed, never the result.
"""

from __future__ import annotations

from pathlib import Path

from runtime.fast import settings

PRELOAD = Path(__file__).with_name("code_cache.js")
CODE_CACHE_DIR = settings.CACHE_DIR / "code-cache"
DIRECTORY_ENV = "ERP_FAST_CODE_CACHE_DIR"  # read by code_cache.js


def node_flags() -> tuple[str, ...]:
    return (f"--require={PRELOAD}",) if settings.tier_on("code-cache") else ()


def environment() -> dict[str, str]:
    return {DIRECTORY_ENV: str(CODE_CACHE_DIR)} if settings.tier_on("code-cache") else {}
