"""What every part of the fast path shares: the tiers and their switch, the cache folder, the failure type."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from runtime.jsii_runtime import PROJECT_ROOT

TIERS_OFF_ENV = "ERP_FAST_TIERS_OFF"
TIERS = {
    "compile": "step 4: provider submodules compiled with string annotations, shared hints, None checks first",
    "lazy-classes": "step 4: a provider submodule's classes created when first named (needs compile)",
    "warm-up": "step 6: the kernel require()s the provider types the last synth used, ahead of the app",
    "one-cpu": "one-shot synth: Python and the kernel share one CPU",
    "no-gc": "one-shot synth: Python's cyclic garbage collector off",
    "fast-exit": "one-shot synth: os._exit after the exit handlers, without interpreter teardown",
    "memo": "one-shot synth: construct.node, node.path and terraform_resource_type read from the kernel once each",
    "hash-record": "step 1: a pinned file's sha256 taken from the record while its stat identity is unchanged",
    "inputs": "one-shot synth: a resource's `<name>_input` of a string or string map answered from what Python passed",
    "version-once": "step 5: the kernel runs cdktf's `terraform version` validation command once (version_once.js)",
    "code-cache": "step 5: the kernel compiles its JavaScript with V8's code cache of the same source (code_cache.js)",
    "defs-on-demand": "step 5: the kernel reads a type's definition by byte range when needed (defs_on_demand.js)",
    "sync-optimizer": "step 5: the kernel's optimizing compiler works on its main thread (sync_optimizer.py)",
    "no-creation-stacks": "step 5: cdktf's tokens in the kernel record no creation stack (no_creation_stacks.js)",
}
CACHE_DIR = PROJECT_ROOT / ".cache" / "jsii-fast"


class Unverified(Exception):
    """Something differs from what the fast path was built for; the message says what."""


def tier_on(tier: str) -> bool:
    """Whether a tier of the fast path (`TIERS`) is on: all are, unless listed in ERP_FAST_TIERS_OFF."""
    if tier not in TIERS:
        raise ValueError(f"unknown fast-path tier {tier!r}; tiers: {', '.join(TIERS)}")
    off = {name.strip() for name in os.environ.get(TIERS_OFF_ENV, "").split(",") if name.strip()}
    if unknown := off - TIERS.keys():
        raise ValueError(f"{TIERS_OFF_ENV}: unknown tier(s) {', '.join(sorted(unknown))}; tiers: {', '.join(TIERS)}")
    return tier not in off


class atomic_file:
    """Write to a temporary file beside `path`, then rename it over `path` (readers never see a partial file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> io.BufferedWriter:
        descriptor, self.temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        self.file = os.fdopen(descriptor, "wb")
        return self.file

    def __exit__(self, error_type, *_) -> None:
        self.file.close()
        if error_type is None:
            os.chmod(self.temporary, 0o644)
            os.replace(self.temporary, self.path)
        else:
            os.unlink(self.temporary)
