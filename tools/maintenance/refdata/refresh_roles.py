"""reference/roles.json: built-in Azure role names and ids the synthesized stacks assign (`role_definition_name`
of every azurerm_role_assignment), from the index table of MicrosoftDocs/azure-docs
`articles/role-based-access-control/built-in-roles.md` (rows `| [Name](#anchor) | Description | ID |`).

    git clone --depth 1 --filter=blob:none --sparse https://github.com/MicrosoftDocs/azure-docs
    git -C azure-docs sparse-checkout set articles/role-based-access-control
    .venv/bin/python main.py
    .venv/bin/python -m tools.maintenance.refdata.refresh_roles azure-docs cdktf.out
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tools.maintenance.refdata.common import markdown_tables, meta, plain, write

PATH = "articles/role-based-access-control/built-in-roles.md"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def parse(markdown: str) -> dict[str, str]:
    """Role name → id from every table row whose last cell is a GUID."""
    roles: dict[str, str] = {}
    for table in markdown_tables(re.sub(r"^>\s?", "", markdown, flags=re.MULTILINE)):
        for row in table[1:]:
            if len(row) >= 3 and _GUID.match(plain(row[-1])):
                roles[plain(row[0])] = plain(row[-1])
    return roles


def used_roles(outdir: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        stack = json.loads(path.read_text())
        for assignment in stack.get("resource", {}).get("azurerm_role_assignment", {}).values():
            if isinstance(assignment.get("role_definition_name"), str):
                names.add(assignment["role_definition_name"])
    return names


def main(argv: list[str]) -> int:
    checkout, outdir = Path(argv[0]), Path(argv[1])
    all_roles = parse((checkout / PATH).read_text())
    missing = sorted(used_roles(outdir) - set(all_roles))
    if missing:
        print(f"warning: not built-in roles (the reference check will report them): {missing}")
    roles = {name: all_roles[name] for name in sorted(used_roles(outdir)) if name in all_roles}
    sources = [{"repo": "MicrosoftDocs/azure-docs", "path": PATH, "file": str(checkout)}]
    write(
        "roles.json", {"_meta": meta(sources=sources, script="tools.maintenance.refdata.refresh_roles"), "roles": roles}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
