"""Assurance tests run real checkers from the tool venvs scripts/setup creates: a missing one fails."""

from __future__ import annotations

import pytest

from tests.assurance.checkers import require_tool


@pytest.fixture(autouse=True)
def _required_tool(request: pytest.FixtureRequest) -> None:
    """Fails (never skips) a test of a module marked `pytest.mark.requires_tool(path)` when the tool is missing."""
    for marker in request.node.iter_markers("requires_tool"):
        require_tool(marker.args[0])
