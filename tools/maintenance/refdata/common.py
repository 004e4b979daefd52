"""Shared helpers of the refresh scripts: deterministic JSON with a `_meta` header, markdown table parsing,
reading files out of a git snapshot (`git --git-dir <dir> show <commit>:<path>`)."""

from __future__ import annotations

import datetime
import gzip
import json
import re
import subprocess
from pathlib import Path
from typing import Any

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "reference"


def meta(*, sources: list[dict[str, str]], script: str, retrieved: str | None = None, note: str = "") -> dict[str, Any]:
    """`sources`: [{"repo", "path", "commit", "date"}] or [{"url", "date"}]; `retrieved`: ISO date of the refresh."""
    data: dict[str, Any] = {
        "retrieved": retrieved or datetime.date.today().isoformat(),
        "refresh": f".venv/bin/python -m {script}",
        "sources": sources,
    }
    if note:
        data["note"] = note
    return data


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(name: str, data: dict[str, Any]) -> Path:
    path = REFERENCE_DIR / name
    text = dumps(data)
    if name.endswith(".gz"):
        # mtime=0 and no file name: the same data gives the same bytes.
        with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
            out.write(text.encode())
    else:
        path.write_text(text)
    return path


def git_show(git_dir: Path, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def git_commit(git_dir: Path, ref: str = "HEAD") -> tuple[str, str]:
    """(commit sha, commit date as YYYY-MM-DD)."""
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "log", "-1", "--format=%H %cs", ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[0], out[1]


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in a markdown text: rows of stripped cells, the header row first, separator dropped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", stripped.strip("|"))]
            if not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells if cell):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def plain(cell: str) -> str:
    """A markdown cell without links, emphasis, code ticks, footnote stars or HTML."""
    cell = cell.replace("\\<", "\x01").replace("\\>", "\x02")  # escaped angle brackets are text, not HTML
    cell = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)
    cell = re.sub(r"<[^>]+>", " ", cell)
    cell = cell.replace("\\*", "").replace("**", "").replace("`", "").replace("\x01", "<").replace("\x02", ">")
    return re.sub(r"\s+", " ", cell).strip(" *")
