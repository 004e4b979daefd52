"""Tier defs-on-demand (step 5): the kernel reads each provider type's definition when it needs it, not all at once.

With a package's runtime index the kernel (jsii 1.142 `LazyTypes.get`, pinned with `lib/program.js`) reads the whole
defs file (`.jsii.runtime-defs.v1.jsonl`: azurerm 22 MB, kubernetes 13.6 MB) at its first type lookup and keeps it
for the process's life, to cut one type's JSON out of it by byte range each time. A synth of this app looks up 801
types (all assemblies, 2026-12-06); the three providers define 25,462. `defs_on_demand.js`, preloaded into the
kernel, answers that one read with a reader of the same file that reads each range when asked: the same bytes, so
the same types and output, without holding ~36 MB.
"""

from __future__ import annotations

from pathlib import Path

from runtime.fast import settings

PRELOAD = Path(__file__).with_name("defs_on_demand.js")


def node_flags() -> tuple[str, ...]:
    return (f"--require={PRELOAD}",) if settings.tier_on("defs-on-demand") else ()
