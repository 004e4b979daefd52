"""Tier no-creation-stacks (step 5): cdktf's tokens in the kernel record no creation stack.

cdktf records, for every token it creates (each reference to a resource's attribute, each function call, each
Lazy), the JavaScript stack at that point with no depth limit, as an array of lines, for error messages only. In the
kernel that stack is jsii's dispatch frames and cdktf's own (`new Intrinsic`, `Kernel.create`, `KernelHost.run`),
never the Python line that made the token: ~6,800 stacks of ~9 frames per synth of this app held ~13 MB of the
kernel's heap (the formatted strings and their lines; a heap snapshot at the exit: 68.1 -> 55.3 MB without them)
and V8's stack walks cost CPU (~0.4 s of a synth's wall). `no_creation_stacks.js`, preloaded into the kernel,
makes cdktf's `captureStackTrace` return an empty stack, which cdktf already handles (messages leave the "created
at" part out); the output is the same. Turn the tier off (ERP_FAST_TIERS_OFF=no-creation-stacks) to see those
stacks in a token error.
"""

from __future__ import annotations

from pathlib import Path

from runtime.fast import settings

PRELOAD = Path(__file__).with_name("no_creation_stacks.js")


def node_flags() -> tuple[str, ...]:
    return (f"--require={PRELOAD}",) if settings.tier_on("no-creation-stacks") else ()
