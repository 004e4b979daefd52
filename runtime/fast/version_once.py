"""Tier version-once (step 5): the kernel runs cdktf's `terraform version` once per synth instead of per validation.

cdktf validates the Terraform version with a new `terraform version` (through a shell) for every resource with an
import block and every stack with moved blocks: 24 runs per synth of this app (2026-12-06), ~80 ms each on an idle
machine and several times that under load, while the kernel, and so Python, waits. `version_once.js`, preloaded into
the kernel, runs it once and gives the later validations the same answer; the verdicts, and the output, are the
same. The Node app of the benchmark runs the same cdktf unchanged.
"""

from __future__ import annotations

from pathlib import Path

from runtime.fast import settings

PRELOAD = Path(__file__).with_name("version_once.js")


def node_flags() -> tuple[str, ...]:
    return (f"--require={PRELOAD}",) if settings.tier_on("version-once") else ()
