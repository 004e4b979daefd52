"""Tier no-gc: Python's cyclic garbage collector off for a one-shot synth.

A synth allocates little cyclic garbage, and the process ends right after it (tier fast-exit): collections would
only walk the thousands of binding classes and construct proxies again and again.
"""

from __future__ import annotations

import gc

from runtime.fast.settings import tier_on


def disable_collector() -> None:
    if tier_on("no-gc"):
        gc.disable()
