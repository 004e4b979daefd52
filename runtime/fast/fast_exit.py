"""Tier fast-exit: a one-shot synth ends with `os._exit` once the exit handlers have run, without interpreter
teardown (thousands of modules, seconds)."""

from __future__ import annotations

import atexit
import os
import platform
import sys
from typing import NoReturn

from runtime.fast.settings import Unverified, tier_on


def check_interpreter() -> None:
    """`atexit._run_exitfuncs`, which this tier relies on, is interpreter-private: checked at every start."""
    if not callable(getattr(atexit, "_run_exitfuncs", None)):
        raise Unverified(f"Python {platform.python_version()}: atexit._run_exitfuncs is gone")


def exit_now(code: int) -> NoReturn:
    if not tier_on("fast-exit"):
        sys.exit(code)
    atexit._run_exitfuncs()  # stops the jsii kernel and relays its last output
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
