"""Tier one-cpu: for a one-shot synth, Python and the kernel share one CPU once jsii adopts the kernel.

They take turns (every call waits for its answer), and on these VMs waking the other side on another CPU cost
more system time than the whole exchange.
"""

from __future__ import annotations

import contextlib
import os


def pin(kernel: int) -> None:
    """Pin this thread and every thread of the kernel process to the lowest CPU this process may use (Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cpu = {min(os.sched_getaffinity(0))}
    os.sched_setaffinity(0, cpu)
    for thread in os.listdir(f"/proc/{kernel}/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(thread), cpu)
