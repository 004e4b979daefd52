"""reference/versions.json: version lifecycles of AKS (Kubernetes minor versions, with LTS), Azure Managed Grafana
(major versions) and Azure Database for PostgreSQL flexible server (major versions).

Sources: MicrosoftDocs/azure-aks-docs `articles/aks/supported-kubernetes-versions.md` (the AKS release calendar
and the LTS calendar), MicrosoftDocs/azure-databases-docs
`articles/postgresql/configure-maintain/concepts-version-policy.md` (support policy table) and, for Grafana,
the constant `GRAFANA` below (Azure Managed Grafana's version retirement notices; update it by hand).

    git clone --filter=blob:none https://github.com/MicrosoftDocs/azure-aks-docs /tmp/aks-docs
    .venv/bin/python -m tools.maintenance.refdata.refresh_versions /tmp/aks-docs/.git \
        /path/to/concepts-version-policy.md

Dates are the last day of the month when the calendar gives only a month (a version is in support through it).
"""

from __future__ import annotations

import calendar
import datetime
import re
import sys
from pathlib import Path
from typing import Any

from tools.maintenance.refdata.common import git_commit, git_show, markdown_tables, meta, plain, write

AKS_PATH = "articles/aks/supported-kubernetes-versions.md"
PG_PATH = "articles/postgresql/configure-maintain/concepts-version-policy.md"
# Azure Managed Grafana: 10 retired; 11 retired on 2026-06-15 with an irreversible upgrade to 12 (issue #15,
# from Azure Managed Grafana's retirement notice); azurerm accepts "12" from 4.62.0.
GRAFANA = {
    "10": {"end_of_support": None, "retired": True},
    "11": {"end_of_support": "2026-06-15", "retired": True},
    "12": {"end_of_support": None, "retired": False},
}
GRAFANA_SOURCE = {
    "url": "https://learn.microsoft.com/azure/managed-grafana/known-limitations (Grafana version retirements)",
    "note": "dates as quoted in issue #15; not readable in this environment's index",
}


def month_end(text: str) -> str | None:
    """'Jul 2026' → '2026-07-31'; 'Aug 22, 2025' → '2025-08-22'; anything else → None."""
    text = plain(text).replace(",", "")
    for fmt in ("%b %d %Y", "%B %d %Y", "%d-%b-%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            pass
    for fmt in ("%b %Y", "%B %Y"):
        try:
            day = datetime.datetime.strptime(text, fmt).date()
            return day.replace(day=calendar.monthrange(day.year, day.month)[1]).isoformat()
        except ValueError:
            pass
    return None


def parse_aks(markdown: str) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    for table in markdown_tables(markdown):
        header = [plain(cell) for cell in table[0]]
        if header[:1] != ["Kubernetes version"] or "End of life" not in header:
            continue
        lts = "LTS End of life" in header
        for row in table[1:]:
            version = plain(row[0])
            if not re.fullmatch(r"1\.\d+", version):
                continue
            entry = versions.setdefault(version, {})
            entry["ga"] = month_end(row[header.index("AKS GA")])
            entry["end_of_life"] = month_end(row[header.index("End of life")])
            if lts:
                entry["lts_end_of_life"] = month_end(row[header.index("LTS End of life")])
    return dict(sorted(versions.items(), key=lambda item: tuple(int(p) for p in item[0].split("."))))


def parse_postgres(markdown: str) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    for table in markdown_tables(markdown):
        header = [plain(cell) for cell in table[0]]
        if header[:1] != ["PostgreSQL Version"]:
            continue
        for row in table[1:]:
            number = re.search(r"PostgreSQL (\d+)", plain(row[0]))
            if number:
                versions[number.group(1)] = {
                    "start": month_end(row[header.index("Azure Standard Support Start Date")]),
                    "end_of_support": month_end(row[header.index("Azure Standard Support End Date")]),
                }
    return dict(sorted(versions.items(), key=lambda item: int(item[0])))


def main(argv: list[str]) -> int:
    aks_git, pg_md = Path(argv[0]), Path(argv[1])
    commit, date = git_commit(aks_git)
    data = {
        "_meta": meta(
            sources=[
                {"repo": "MicrosoftDocs/azure-aks-docs", "path": AKS_PATH, "commit": commit, "date": date},
                {"repo": "MicrosoftDocs/azure-databases-docs", "path": PG_PATH, "file": pg_md.name},
                GRAFANA_SOURCE,
            ],
            script="tools.maintenance.refdata.refresh_versions <azure-aks-docs git dir> <concepts-version-policy.md>",
        ),
        "aks": parse_aks(git_show(aks_git, commit, AKS_PATH)),
        "grafana": GRAFANA,
        "postgresql": parse_postgres(pg_md.read_text()),
    }
    print(write("versions.json", data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
