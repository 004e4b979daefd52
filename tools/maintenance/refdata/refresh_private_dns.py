"""reference/private_dns_zones.json: the private DNS zone name per private-link resource type and subresource,
from MicrosoftDocs/azure-docs `articles/private-link/private-endpoint-dns.md` (tables "Private link resource
type | Subresource | Private DNS zone name | Public DNS zone forwarders"). Keeps the resource types already in
the file (add one there first).

    .venv/bin/python -m tools.maintenance.refdata.refresh_private_dns \
        azure-docs/articles/private-link/private-endpoint-dns.md
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tools.maintenance.refdata.common import REFERENCE_DIR, markdown_tables, meta, plain, write


def parse(markdown: str) -> dict[str, dict[str, str]]:
    zones: dict[str, dict[str, str]] = {}
    for table in markdown_tables(re.sub(r"^>\s?", "", markdown, flags=re.MULTILINE)):
        if [plain(c) for c in table[0][:3]] != ["Private link resource type", "Subresource", "Private DNS zone name"]:
            continue
        for row in table[1:]:
            arm_type = re.search(r"\(([A-Za-z.]+/[A-Za-z/]+)\)", row[0])
            if not arm_type:
                continue
            names = [plain(part) for part in re.split(r"</?br\s*/?>", row[2])]
            for sub in re.split(r"</?br\s*/?>|\s{2,}", row[1]):
                if plain(sub):
                    zones.setdefault(arm_type.group(1), {})[plain(sub)] = names[0].rstrip("^1")
    return zones


def main(argv: list[str]) -> int:
    page = Path(argv[0])
    current = json.loads((REFERENCE_DIR / "private_dns_zones.json").read_text())["zones"]
    parsed = parse(page.read_text())
    zones = {arm_type: parsed.get(arm_type, subs) for arm_type, subs in sorted(current.items())}
    sources = [{"repo": "MicrosoftDocs/azure-docs", "path": "articles/private-link/private-endpoint-dns.md"}]
    write(
        "private_dns_zones.json",
        {"_meta": meta(sources=sources, script="tools.maintenance.refdata.refresh_private_dns"), "zones": zones},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
