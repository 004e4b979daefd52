"""Tier warm-up (step 6): the kernel `require()`s the provider types the last synth used, ahead of the app.

A read of a static property of each type in `WARM_UP_RECORD` makes the kernel load that type's JavaScript (~0.2 s
for this app) while Python is still loading the configuration and importing the app. A failed warm-up (a type
no longer used) is ignored; the record is rewritten at the end of a successful synth.
"""

from __future__ import annotations

import json
import sys

from runtime.fast import settings
from runtime.fast.derive import Derived
from runtime.fast.kernel import KernelLaunch
from runtime.fast.settings import atomic_file

WARM_UP_RECORD = settings.CACHE_DIR / "warm-up-types.json"  # provider types main.py used last


def send(launch: KernelLaunch) -> None:
    """Write the recorded types' warm-ups to the kernel `launch` started (answers read with the launch's)."""
    for fqn in recorded_types():
        launch.write({"api": "sget", "fqn": fqn, "property": "tfResourceType"}, required=False)


def recorded_types() -> list[str]:
    try:
        recorded = json.loads(WARM_UP_RECORD.read_bytes())
    except (OSError, ValueError):
        return []
    return [fqn for fqn in recorded if isinstance(fqn, str)] if isinstance(recorded, list) else []


def record_used_types(active: list[Derived], *, keep_recorded: bool = False) -> None:
    """Record the provider resource types this process created (or imported, without lazy-classes) for the warm-ups."""
    used = sorted(
        set(recorded_types() if keep_recorded else ())
        | {
            vars(value)["__jsii_type__"]  # set on each binding class by jsii's metaclass
            for item in active
            for name in item.submodules
            if (module := sys.modules.get(f"{item.provider.package}.{name}")) is not None
            for value in vars(module).values()
            if isinstance(value, type) and "TF_RESOURCE_TYPE" in vars(value) and "__jsii_type__" in vars(value)
        }
    )
    if used != recorded_types():
        with atomic_file(WARM_UP_RECORD) as out:
            out.write(json.dumps(used, indent=1).encode())
