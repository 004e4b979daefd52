"""Test ids are stable: the same on every collection (no memory addresses), so runs can be compared,
split across workers (pytest-xdist requires identical collections) and re-run by id."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lint  # run once (`scripts/test lint`), not in each of the suite runs

ROOT = Path(__file__).resolve().parents[1]
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def collect() -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--snapshot-warn-unused"],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "random"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_two_collections_give_the_same_ids_without_memory_addresses() -> None:
    first, second = collect(), collect()
    assert len(first) > 100
    assert [test_id for test_id in first if ADDRESS.search(test_id)] == []
    assert first == second


def test_the_address_pattern_finds_an_object_repr() -> None:
    assert ADDRESS.search(f"test_x[key={object()!r}]")
