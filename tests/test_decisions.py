"""docs/decisions.md: every entry is dated by the commit that made the decision (its first named commit)."""

from __future__ import annotations

import os
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
        on_main = subprocess.run(
            ["git", "merge-base", "--is-ancestor", f"{named.group(1)}^{{commit}}", "HEAD"],
            cwd=ROOT,
            capture_output=True,
        )
        if on_main.returncode != 0:
            # A commit of an amended or rebased branch exists only in the clone that made it.
            problems.append(f"{title}: commit {named.group(1)} is not in this branch's history")
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


def test_a_commit_outside_the_branch_fails() -> None:
    """The object of a rebased-away commit can linger in a working clone; CI's clone does not have it."""
    parent = subprocess.run(
        ["git", "rev-parse", "HEAD^{tree}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    orphan = subprocess.run(
        ["git", "commit-tree", parent, "-m", "not on the branch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_AUTHOR_DATE": "2026-11-22T12:00:00", "GIT_COMMITTER_DATE": "2026-11-22T12:00:00"},
    ).stdout.strip()
    planted = PAGE.read_text().replace("Commit `9c611ba`", f"Commit `{orphan[:7]}`", 1)
    assert any("not in this branch's history" in problem for problem in misdated(planted))
