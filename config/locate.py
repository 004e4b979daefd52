"""Where in a TOML file a key is set: the line of `key = ...` or of its `[table]` header.

tomllib gives values, not positions; config errors name `file:line`, so this reads the file's lines for the
project's TOML style (tables, arrays of tables, dotted and quoted keys, one key per line).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

KeyPath = tuple[str, ...]
HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
ASSIGNMENT = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _parts(dotted: str) -> KeyPath:
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", dotted))


@functools.cache
def _key_lines(path: Path, mtime_ns: int) -> dict[KeyPath, int]:
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    in_multiline = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if in_multiline:  # inside a multi-line array or string: no keys here
            in_multiline = not (line.rstrip().endswith("]") or '"""' in line)
            continue
        header = HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            lines.setdefault(table, number)
            continue
        assignment = ASSIGNMENT.match(line)
        if assignment:
            lines.setdefault((*table, *_parts(assignment.group(1))), number)
            value = line[assignment.end() :].split("#", 1)[0].strip()
            in_multiline = (value.startswith("[") and not value.endswith("]")) or value.count('"""') == 1
    return lines


def key_line(path: Path | str, location: tuple[str | int, ...]) -> int | None:
    """The line that sets `location` (array indices skipped) or its nearest enclosing table; None when absent."""
    path = Path(path)
    if not path.is_file():
        return None
    lines = _key_lines(path, path.stat().st_mtime_ns)
    keys = tuple(str(part) for part in location if not isinstance(part, int) and not str(part).isdigit())
    for length in range(len(keys), 0, -1):
        if keys[:length] in lines:
            return lines[keys[:length]]
    return None
