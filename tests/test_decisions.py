"""docs/decisions.md: every entry is dated by the commit that made the decision (its first named commit)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "decisions.md"
ENTRY = re.compile(r"^## (\d{4}-\d{2}-\d{2}) · (.+)$", re.MULTILINE)
COMMIT = re.compile(r"[Cc]ommit `([0-9a-f]{7,40})`")


def entries(text: str) -> list[tuple[str, str, str]]:
    """(date, title, body) of each entry."""
    parts = ENTRY.split(text)[1:]
    return [(parts[index], parts[index + 1], parts[index + 2]) for index in range(0, len(parts), 3)]


def misdated(text: str) -> list[str]:
    problems = []
    for date, title, body in entries(text):
        named = COMMIT.search(body)
        if not named:
            problems.append(f"{title}: names no commit")
            continue
        shown = subprocess.run(
            ["git", "show", "-s", "--format=%ad", "--date=short", named.group(1)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0 or shown.stdout.strip() != date:
            problems.append(f"{title}: {date}, but commit {named.group(1)} is {shown.stdout.strip() or 'unknown'}")
    return problems


def test_every_decision_is_dated_by_its_commit() -> None:
    text = PAGE.read_text()
    assert len(entries(text)) >= 10
    assert misdated(text) == []


def test_a_wrong_date_or_an_unknown_commit_fails() -> None:
    text = PAGE.read_text()
    assert misdated(text.replace("## 2026-11-22 ·", "## 2026-11-21 ·", 1))
    assert misdated(text.replace("Commit `9c611ba`", "Commit `0000000`", 1))
