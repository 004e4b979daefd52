"""The checkers run from tool venvs that scripts/setup creates; a missing checker fails, it never skips."""

from __future__ import annotations

from pathlib import Path


def require_tool(executable: Path) -> None:
    assert executable.exists(), f"{executable} is missing: run scripts/setup (it creates the tool venvs)"
