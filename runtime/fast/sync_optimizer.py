"""Tier sync-optimizer (step 5): the kernel's optimizing compiler (TurboFan) works on the main thread, one function
at a time (`--no-concurrent-recompilation`), instead of on background threads.

A synth is ~7,000 short requests to the kernel. On background threads, TurboFan's queued compilations held their
memory (zones, outside V8's heap) while the kernel went on allocating: 7-24 MB of the kernel's peak, and the peak
varied most from run to run. On the main thread the same functions are optimized, one compilation's memory at a
time, at the same speed on this 2-core machine (measured 2026-12-06, docs/performance.md "Fifth round", where
`--no-opt`, 9 MB less again but 4-5 % slower on a quiet machine, is among the levers not kept). The output is the
same. V8 rejects code cached under other flags: the code cache keys by them. A cold package cache's run, sized for
memory already (`--optimize-for-size`, kernel.py), keeps the default: there it saved nothing (151 against 152 MB).
"""

from __future__ import annotations

from runtime.fast import settings

NODE_FLAGS = ("--no-concurrent-recompilation",)


def node_flags() -> tuple[str, ...]:
    return NODE_FLAGS if settings.tier_on("sync-optimizer") else ()
