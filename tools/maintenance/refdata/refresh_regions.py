"""reference/regions.json: Azure regions with availability zones and the regional pairs.

Sources (MicrosoftDocs/azure-docs): `articles/reliability/includes/availability-zone-regions-include.md` (regions
with availability zones) and `articles/reliability/cross-region-replication-azure.md` (regional pairs). Run with a
checkout of that repository (a sparse one is enough: `git clone --depth 1 --filter=blob:none --sparse
https://github.com/MicrosoftDocs/azure-docs && git -C azure-docs sparse-checkout set articles/reliability`):

    .venv/bin/python -m tools.maintenance.refdata.refresh_regions /path/to/azure-docs
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.maintenance.refdata.common import markdown_tables, meta, plain, write

ZONES_PATH = "articles/reliability/includes/availability-zone-regions-include.md"
PAIRS_PATH = "articles/reliability/cross-region-replication-azure.md"


def region_name(display: str) -> str:
    """ "East US 2" → "eastus2"; "North Europe (Ireland)" → "northeurope"."""
    display = plain(display).split("(")[0]
    return "".join(ch for ch in display.lower() if ch.isalnum())


def parse(zones_md: str, pairs_md: str) -> dict[str, object]:
    with_zones: set[str] = set()
    for table in markdown_tables(zones_md):
        if table[0][:2] == ["Americas", "Europe"]:
            with_zones |= {region_name(cell) for row in table[1:] for cell in row if plain(cell)}
    pairs: dict[str, str] = {}
    for table in markdown_tables(pairs_md):
        if table[0][:2] == ["Geography", "Regional pair A"]:
            for _, a, b in (row[:3] for row in table[1:]):
                # First listed pair wins per region (West India → South India is one-directional in the docs).
                pairs.setdefault(region_name(a), region_name(b))
                pairs.setdefault(region_name(b), region_name(a))
    return {"regions_with_availability_zones": sorted(with_zones), "pairs": dict(sorted(pairs.items()))}


def commit_of(checkout: Path, path: str) -> tuple[str, str]:
    out = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%H %cs", "--", path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[0], out[1]


def main(argv: list[str]) -> int:
    checkout = Path(argv[0])
    data = parse((checkout / ZONES_PATH).read_text(), (checkout / PAIRS_PATH).read_text())
    sources = []
    for path in (ZONES_PATH, PAIRS_PATH):
        commit, date = commit_of(checkout, path)
        sources.append({"repo": "MicrosoftDocs/azure-docs", "path": path, "commit": commit, "date": date})
    write("regions.json", {"_meta": meta(sources=sources, script="tools.maintenance.refdata.refresh_regions"), **data})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
