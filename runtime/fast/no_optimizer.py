"""Tier no-optimizer (step 5): the kernel runs without V8's optimizing compilers (`--no-opt`).

A synth is ~7,000 short requests to the kernel. TurboFan compiled the hot functions on background threads; the
memory of those compilations (their zones, allocated outside V8's heap) made 15-20 MB of the kernel's peak, and
the optimized code never won back the CPU it cost on this 2-core machine (measured 2026-12-06, docs/performance.md
"Fifth round": kernel peak -18 MB, kernel CPU not higher). The interpreter and the baseline compiler run the same
JavaScript, so the output is the same. V8 rejects code cached under other flags: the code cache keys by them.
"""

from __future__ import annotations

from runtime.fast import settings

NODE_FLAGS = ("--no-opt",)


def node_flags() -> tuple[str, ...]:
    return NODE_FLAGS if settings.tier_on("no-optimizer") else ()
