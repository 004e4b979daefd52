"""reference/prices.json: the list prices the cost estimate uses (tools/docgen/cost_estimate.py), one entry per
meter and region (`<meter>@<region>`), rebuilt from the Azure Retail Prices API (unauthenticated):

    .venv/bin/python -m tools.maintenance.refdata.refresh_prices

For each entry of the current table the script asks the API for the entry's consumption meter (OData `$filter`
on its exact attributes; a value starting with `~` is a case-insensitive regular expression, applied to the
answer), follows `NextPageLink`, and keeps the one item that matches: its unitPrice, unitOfMeasure, meterId and
effectiveStartDate, with the query URL and the date as the entry's source. An entry with no match, or with two
different meters matching, stops the refresh (a price is never guessed or dropped). A new meter: add an entry
with its attributes (serviceName, productName, skuName, meterName, armRegionName) and run the script.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from tools.maintenance.refdata.common import REFERENCE_DIR, meta, write

API = "https://prices.azure.com/api/retail/prices"
ATTRIBUTES = ("serviceName", "productName", "skuName", "meterName", "armRegionName")
Fetch = Callable[[str], dict[str, Any]]


def _get(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.loads(response.read().decode()))


def query_url(entry: dict[str, Any]) -> str:
    clauses = [
        f"{name} eq '{entry[name]}'"
        for name in ATTRIBUTES
        if isinstance(entry.get(name), str) and not entry[name].startswith("~")
    ]
    clauses.append("priceType eq 'Consumption'")
    return f"{API}?{urllib.parse.urlencode({'$filter': ' and '.join(clauses)}, quote_via=urllib.parse.quote)}"


def items(url: str, fetch: Fetch = _get) -> list[dict[str, Any]]:
    """Every item of a query, page after page (`NextPageLink`)."""
    found: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = fetch(next_url)
        found += page.get("Items", [])
        next_url = page.get("NextPageLink")
    return found


def matches(item: dict[str, Any], entry: dict[str, Any]) -> bool:
    tier = float(entry.get("tierMinimumUnits", 0))  # an entry can name a tier: Log Analytics' first 5 GB are free
    if item.get("type") != "Consumption" or float(item.get("tierMinimumUnits", 0)) != tier:
        return False  # dev/test, reservation and savings-plan rows; volume tiers other than the entry's
    for name in ATTRIBUTES:
        wanted = entry.get(name)
        if not isinstance(wanted, str):
            continue
        value = str(item.get(name, ""))
        if wanted.startswith("~") and not re.search(wanted[1:], value, re.IGNORECASE):
            return False
        if not wanted.startswith("~") and value != wanted:
            return False
    return True


def refresh_entry(key: str, entry: dict[str, Any], fetch: Fetch = _get, today: str | None = None) -> dict[str, Any]:
    url = query_url(entry)
    found = [item for item in items(url, fetch) if matches(item, entry)]
    meters = {item["meterId"] for item in found}
    if len(meters) != 1:
        raise LookupError(f"{key}: {len(meters)} meters match {url} (want exactly one)")
    item = max(found, key=lambda candidate: str(candidate.get("effectiveStartDate", "")))
    return {
        **{name: item.get(name) for name in ATTRIBUTES},
        **({"tierMinimumUnits": entry["tierMinimumUnits"]} if entry.get("tierMinimumUnits") else {}),
        "unitPrice": item["unitPrice"],
        "unitOfMeasure": item["unitOfMeasure"],
        "currency": item["currencyCode"],
        "type": item["type"],
        "meterId": item["meterId"],
        "effectiveStartDate": item["effectiveStartDate"],
        "source": {"url": url, "date": today or datetime.date.today().isoformat()},
    }


def refresh(prices: dict[str, dict[str, Any]], fetch: Fetch = _get, today: str | None = None) -> dict[str, Any]:
    today = today or datetime.date.today().isoformat()
    return {
        "_meta": meta(
            sources=[{"url": API, "date": today}],
            script="tools.maintenance.refdata.refresh_prices",
            retrieved=today,
            note="Each entry is the Retail Prices API's consumption item for its meter and region (its source.url).",
        ),
        "prices": {key: refresh_entry(key, entry, fetch, today) for key, entry in sorted(prices.items())},
    }


def main(argv: list[str]) -> int:
    current = json.loads((REFERENCE_DIR / "prices.json").read_text())
    # Stand-ins and the reasons for missing meters are the maintainers' decisions, not the API's: kept as they are.
    kept = {key: current[key] for key in ("stand_ins", "not_recorded") if key in current}
    write("prices.json", {**refresh(current["prices"]), **kept})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
