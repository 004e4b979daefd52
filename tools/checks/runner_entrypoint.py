"""The modes runner-image/entrypoint.sh implements, read from the script itself (its `case` in `main`), for the
checks that compare the runner jobs' container args with them (tools/checks/deployability/runner_modes.py: a mode
the entrypoint lacks and the runners would not start; tools/checks/threat_model.py: the container holding the App
key must not run job code).

A mode "runs jobs" when its function starts GitHub's runner (`run.sh`): the job's steps then run in that container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parents[2] / "runner-image" / "entrypoint.sh"
_ARM = re.compile(r"^\s+([a-z][a-z0-9-]*)\)\s+([A-Za-z_][A-Za-z0-9_]*)\s*;;", re.M)


@dataclass(frozen=True)
class Mode:
    name: str
    function: str
    runs_jobs: bool


def _function_body(script: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\(\) \{{\n(.*?)^\}}", script, re.M | re.S)
    if match is None:
        raise ValueError(f"{ENTRYPOINT.name}: mode function {name}() not found")
    return match.group(1)


def modes(script: str | None = None) -> dict[str, Mode]:
    """Mode name -> Mode, from `main`'s case arms (`jit-config) jit_config ;;`). No mode is an error."""
    text = ENTRYPOINT.read_text() if script is None else script
    main = _function_body(text, "main")
    found = {
        name: Mode(name, function, bool(re.search(r"^[^#\n]*\brun\.sh\b", _function_body(text, function), re.M)))
        for name, function in _ARM.findall(main)
    }
    if not found:
        raise ValueError(f"{ENTRYPOINT.name}: no mode in main's case statement")
    return found
