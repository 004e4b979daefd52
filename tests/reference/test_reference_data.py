"""The reference data in `reference/`: dated, sourced, deterministic, not older than MAX_AGE_DAYS; the refresh
scripts' parsers on real excerpts of their sources; the config's region table agrees with it."""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path

import pytest

from config.base import AZURE_REGION_PAIRS, REGIONS_WITH_ZONES
from tools.checks.reference_check import REFERENCE_DIR
from tools.maintenance.refdata import (
    refresh_amba,
    refresh_azurerm_schema,
    refresh_dataprotection_policy,
    refresh_monitor,
    refresh_prices,
    refresh_private_dns,
    refresh_prometheus_alerts,
    refresh_roles,
)
from tools.maintenance.refdata.common import dumps
from tools.maintenance.refdata.refresh_regions import parse as parse_regions
from tools.maintenance.refdata.refresh_versions import parse_aks, parse_postgres

MAX_AGE_DAYS = 180
FIXTURES = Path(__file__).resolve().parent.parent / "tools" / "refdata_fixtures"
FILES = sorted(p.name for p in REFERENCE_DIR.iterdir() if p.suffix in (".json", ".gz"))


def load(name: str) -> dict:
    raw = (REFERENCE_DIR / name).read_bytes()
    return json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)


def test_every_kind_of_reference_data_is_there() -> None:
    assert FILES == [
        "amba.json",
        "azurerm_schema.json.gz",
        "dataprotection_backup_policy.json",
        "image_digests.json",
        "monitor.json",
        "policy_definitions.json",
        "prices.json",
        "private_dns_zones.json",
        "prometheus_alerts.json",
        "regions.json",
        "roles.json",
        "versions.json",
    ]


@pytest.mark.parametrize("name", FILES)
def test_each_file_says_where_it_came_from_when_and_how_to_refresh(name: str) -> None:
    meta = load(name)["_meta"]
    assert meta["sources"] and all(s.get("repo") or s.get("url") or s.get("package") for s in meta["sources"])
    assert meta["refresh"].startswith(".venv/bin/python -m tools.maintenance.refdata.refresh_")
    datetime.date.fromisoformat(meta["retrieved"])


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_sorted_deterministic_json(name: str) -> None:
    raw = (REFERENCE_DIR / name).read_bytes()
    text = gzip.decompress(raw).decode() if name.endswith(".gz") else raw.decode()
    assert text == dumps(json.loads(text)), f"reference/{name} is not in canonical form: rewrite it with its refresh"


@pytest.mark.parametrize("name", FILES)
def test_reference_data_is_fresh(name: str) -> None:
    meta = load(name)["_meta"]
    age = (datetime.date.today() - datetime.date.fromisoformat(meta["retrieved"])).days
    assert age <= MAX_AGE_DAYS, (
        f"reference/{name} was retrieved {age} days ago (limit {MAX_AGE_DAYS}): refresh it with `{meta['refresh']}` "
        "(see its docstring for the source checkout) and review the reference check's findings"
    )


def test_freshness_check_fails_on_old_data(monkeypatch: pytest.MonkeyPatch) -> None:
    class Later(datetime.date):
        @classmethod
        def today(cls) -> datetime.date:
            return datetime.date(2099, 1, 1)

    monkeypatch.setattr(datetime, "date", Later)
    with pytest.raises(AssertionError, match=r"retrieved \d+ days ago .* refresh it with"):
        test_reference_data_is_fresh("regions.json")


def test_schema_targets_the_required_provider_version() -> None:
    from stacks.common import AZURERM_VERSION

    assert load("azurerm_schema.json.gz")["provider_version"] == AZURERM_VERSION == "4.81.0"


def test_config_region_table_agrees_with_microsoft_pairs_and_zones() -> None:
    pairs = load("regions.json")["pairs"]
    for region, paired in AZURE_REGION_PAIRS.items():
        if region in pairs:
            assert pairs[region] == paired, (
                f"config/base.py pairs {region} with {paired}, Microsoft with {pairs[region]}"
            )
    assert "westus" not in REGIONS_WITH_ZONES and {"eastus", "westus2", "northeurope"} <= REGIONS_WITH_ZONES


# --- the refresh scripts' parsers on real excerpts -------------------------------------------------------------
def test_regions_parser() -> None:
    data = parse_regions(
        (FIXTURES / "availability-zone-regions-include.md").read_text(),
        (FIXTURES / "cross-region-replication-azure.md").read_text(),
    )
    assert data == {k: v for k, v in load("regions.json").items() if k != "_meta"}
    assert data["pairs"]["eastus"] == "westus" and data["pairs"]["westus3"] == "eastus"
    assert "polandcentral" in data["regions_with_availability_zones"]


def test_versions_parsers() -> None:
    calendar = """
| Kubernetes version | Upstream release | AKS preview | AKS GA | End of life | Platform support |
| ------------------ | ---------------- | ----------- | ------ | ----------- | ---------------- |
| 1.33 | Apr 2025 | May 2025 | Jun 2025 | Jul 2026 | Until 1.37 GA |

| Kubernetes version | Upstream release | AKS preview | AKS GA | End of life | LTS End of life |
| ------------------ | ---------------- | ----------- | ------ | ----------- | --------------- |
| 1.30 | Apr 2024 | Jun 2024 | Jul 2024 | Aug 22, 2025 | Jul 2026 |
"""
    assert parse_aks(calendar) == {
        "1.30": {"ga": "2024-07-31", "end_of_life": "2025-08-22", "lts_end_of_life": "2026-07-31"},
        "1.33": {"ga": "2025-06-30", "end_of_life": "2026-07-31"},
    }
    postgres = parse_postgres((FIXTURES / "concepts-version-policy.md").read_text())
    assert postgres == load("versions.json")["postgresql"]
    assert postgres["16"]["end_of_support"] == "2028-11-09"


def test_amba_selection_keeps_visible_published_alerts_and_says_why_not_the_others() -> None:
    def alert(name: str, **properties: object) -> dict:
        base = {"metricName": name, "metricNamespace": "Microsoft.KeyVault/vaults", "operator": "GreaterThan"}
        base |= {"threshold": 75, "timeAggregation": "Average", "windowSize": "PT5M", "evaluationFrequency": "PT1M"}
        base |= {"severity": 1, "criterionType": "StaticThresholdCriterion", **properties}
        return {"name": name, "type": "Metric", "visible": True, "properties": base}

    published = {"aggregations": ["Average"], "dimensions": ["StatusCode"], "exportable": True}
    metrics = {"A": published, "B": published, "C": published, "D": {**published, "aggregations": ["Count"]}}
    metrics |= {"F": published, "G": published, "H": published}
    hidden = alert("C") | {"visible": False}
    dynamic = alert("B", criterionType="DynamicThresholdCriterion", alertSensitivity="Medium", threshold=None)
    filtered = alert("F", dimensions=[{"name": "StatusCode", "operator": "include", "values": ["429"]}])
    unknown_dimension = alert("G", dimensions=[{"name": "Region", "operator": "Include", "values": ["x"]}])
    sample = alert("H", dimensions=[{"name": "EntityName", "operator": "Include", "values": ["application-logs"]}])
    deleted = {
        "name": "Delete",
        "type": "ActivityLog",
        "visible": True,
        "properties": {"category": "Administrative", "operationName": "Microsoft.KeyVault/vaults/delete"},
    }
    deleted["properties"]["status"] = ["succeeded"]
    chosen, activity, excluded = refresh_amba.select(
        "Microsoft.KeyVault/vaults",
        [alert("A"), dynamic, hidden, alert("D"), alert("E"), filtered, unknown_dimension, sample, deleted],
        {"Microsoft.KeyVault/vaults": metrics},
    )
    assert list(chosen) == ["KeyVault/vaults/A", "KeyVault/vaults/B", "KeyVault/vaults/F"]
    assert chosen["KeyVault/vaults/A"]["threshold"] == 75.0
    assert chosen["KeyVault/vaults/B"]["threshold"] is None
    assert chosen["KeyVault/vaults/B"]["dynamic"]["alert_sensitivity"] == "Medium"
    assert chosen["KeyVault/vaults/F"]["dimensions"] == [
        {"name": "StatusCode", "operator": "Include", "values": ["429"]}
    ]
    assert activity["KeyVault/vaults/activity/delete"]["statuses"] == ["Succeeded"]
    assert excluded == {
        "KeyVault/vaults/C (C)": "not visible in AMBA",
        "KeyVault/vaults/D (D)": "aggregation Average not published for the metric",
        "KeyVault/vaults/E (E)": "metric not in the published metric table",
        "KeyVault/vaults/G (G)": "dimension ['Region'] not published for the metric",
        "KeyVault/vaults/H (H)": "filters EntityName on AMBA's sample value ['application-logs'], not an entity of the "
        "platform",
    }


def test_amba_sub_resource_alerts_are_keyed_and_scoped_by_their_service() -> None:
    blob = "Microsoft.Storage/storageAccounts/blobServices"
    assert refresh_amba.alert_key("Microsoft.Storage/storageAccounts", blob, "BlobCapacity") == (
        "Storage/storageAccounts/blobServices/BlobCapacity"
    )
    files = {"metricName": "FileCapacity", "metricNamespace": "Microsoft.Storage/storageAccounts/fileServices"}
    chosen, _, excluded = refresh_amba.select(
        "Microsoft.Storage/storageAccounts",
        [{"name": "fileServices - FileCapacity", "type": "Metric", "visible": True, "properties": files}],
        {},
    )
    assert chosen == {}
    assert excluded == {
        "Storage/storageAccounts/fileServices/FileCapacity (fileServices - FileCapacity)": (
            "the platform creates no file shares (no azurerm_storage_share)"
        )
    }


def test_monitor_parsers() -> None:
    page = (FIXTURES / "supported-metrics-excerpt.md").read_text()
    assert refresh_monitor.parse_metrics(page) == {
        "HttpRequestCount": {"aggregations": ["Count"], "dimensions": [], "exportable": False},
        "SNATPortUtilization": {"aggregations": ["Average", "Maximum"], "dimensions": ["Protocol"], "exportable": True},
        "ServerErrors": {
            "aggregations": ["Total"],
            "dimensions": ["EntityName", "OperationResult"],
            "exportable": False,
        },
    }
    logs = """
## Microsoft.Dashboard/grafana

|Category|Category Display Name|Costs To Export|
|---|---|---|
|GrafanaLoginEvents|Grafana Login Events|Yes|
"""
    assert refresh_monitor.parse_log_categories(logs) == {"microsoft.dashboard/grafana": ["GrafanaLoginEvents"]}
    assert (
        refresh_monitor.metrics_page_name("Microsoft.Network/azureFirewalls")
        == "microsoft-network-azurefirewalls-metrics.md"
    )


def test_roles_and_private_dns_parsers() -> None:
    roles = """
> | Built-in role | Description | ID |
> | --- | --- | --- |
> | [AcrPull](#acrpull) | acr pull | 7f951dda-4ed3-4680-a7ca-43fe172d538d |
"""
    assert refresh_roles.parse(roles) == {"AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d"}
    dns = (FIXTURES / "private-endpoint-dns-excerpt.md").read_text()
    assert refresh_private_dns.parse(dns) == {
        "Microsoft.ContainerRegistry/registries": {"registry": "privatelink.azurecr.io"},
        "Microsoft.Storage/storageAccounts": {
            "blob": "privatelink.blob.core.windows.net",
            "blob_secondary": "privatelink.blob.core.windows.net",
        },
    }
    zones = load("private_dns_zones.json")["zones"]
    assert zones["Microsoft.ContainerRegistry/registries"]["registry"] == "privatelink.azurecr.io"


def test_schema_extraction_from_a_jsii_assembly() -> None:
    link = "https://registry.terraform.io/providers/hashicorp/azurerm/4.81.0/docs/resources/thing"
    assembly = {
        "types": {
            "p.thing.Thing": {"kind": "class", "docs": {"summary": f"Represents a {{@link {link} azurerm_thing}}."}},
            "p.thing.ThingConfig": {
                "kind": "interface",
                "datatype": True,
                "properties": [
                    {
                        "name": "name",
                        "type": {"primitive": "string"},
                        "docs": {"summary": f"{{@link {link}#name Thing#name}}."},
                    },
                    {
                        "name": "for",
                        "optional": True,
                        "type": {"primitive": "string"},
                        "docs": {"summary": f"{{@link {link}#for Thing#for}}."},
                    },
                    {
                        "name": "subBlock",
                        "optional": True,
                        "docs": {"summary": "sub_block block."},
                        "type": {
                            "union": {
                                "types": [
                                    {"fqn": "cdktn.IResolvable"},
                                    {"collection": {"kind": "array", "elementtype": {"fqn": "p.thing.ThingSubBlock"}}},
                                ]
                            }
                        },
                    },
                ],
            },
            "p.thing.ThingSubBlock": {
                "kind": "interface",
                "datatype": True,
                "properties": [
                    {
                        "name": "zoneRedundancyEnabled",
                        "optional": True,
                        "type": {"primitive": "boolean"},
                        "docs": {"summary": ""},
                    }
                ],
            },
        }
    }
    version, schema = refresh_azurerm_schema.extract(assembly)
    assert version == "4.81.0"
    assert schema["resources"]["azurerm_thing"] == {
        "arguments": {"for": "optional", "name": "required"},
        "blocks": {"sub_block": {"arguments": {"zone_redundancy_enabled": "optional"}, "blocks": {}}},
    }


def test_every_price_names_its_meter_source_and_date() -> None:
    for key, entry in load("prices.json")["prices"].items():
        assert key == f"{key.split('@')[0]}@{entry['armRegionName']}", key
        for field in ("serviceName", "meterName", "armRegionName", "unitOfMeasure", "currency"):
            assert entry[field], (key, field)
        assert "skuName" in entry and isinstance(entry["unitPrice"], float | int) and entry["unitPrice"] > 0, key
        assert entry["source"].get("repo") or entry["source"].get("url"), key
        datetime.date.fromisoformat(entry["source"]["date"])


def test_every_stand_in_is_another_regions_recorded_price_with_a_reason() -> None:
    data = load("prices.json")
    for key, stand_in in data["stand_ins"].items():
        meter, region = key.split("@")
        used = data["prices"][stand_in["use"]]
        assert stand_in["use"].split("@")[0] == meter and used["armRegionName"] != region, key
        assert key not in data["prices"] and len(stand_in["why"]) > 20, key
    assert all(len(why) > 20 for why in data["not_recorded"].values())


def _recorded_api(pages: dict[str, dict]) -> refresh_prices.Fetch:
    """The Retail Prices API offline: URL -> a recorded response page; any other URL is a test failure."""
    asked: list[str] = []

    def fetch(url: str) -> dict:
        asked.append(url)
        return pages[url]

    fetch.asked = asked  # type: ignore[attr-defined]
    return fetch


def test_prices_refresh_keeps_the_one_consumption_item_across_pages() -> None:
    """A page recorded from the API (four items of its 2022-06-06 answer, as snapshotted in
    joelverhagen/az-retail-prices `snapshot/2022-06-06/page0.json`), then the last page it links to."""
    page = json.loads((FIXTURES / "retail-prices-page.json").read_text())
    entry = {
        "serviceName": "Virtual Machines",
        "productName": "~Dsv5 Series Windows$",
        "meterName": "D16s v5",
        "armRegionName": "eastus2",
    }
    first = refresh_prices.query_url(entry)
    assert "serviceName%20eq%20%27Virtual%20Machines%27" in first and "productName" not in first
    assert "priceType%20eq%20%27Consumption%27" in first
    fetch = _recorded_api({first: page, page["NextPageLink"]: {"Items": [], "NextPageLink": None}})
    refreshed = refresh_prices.refresh({"vm@eastus2": entry}, fetch, today="2026-12-06")
    price = refreshed["prices"]["vm@eastus2"]
    assert price["unitPrice"] == 1.504  # the Consumption row, not DevTestConsumption's 0.768
    assert price["unitOfMeasure"] == "1 Hour" and price["meterId"] == "0007942f-35ac-5c71-9845-63365457677b"
    assert price["source"] == {"url": first, "date": "2026-12-06"}
    assert fetch.asked == [first, page["NextPageLink"]]  # type: ignore[attr-defined]
    assert refreshed["_meta"]["refresh"] == ".venv/bin/python -m tools.maintenance.refdata.refresh_prices"


def test_prices_refresh_stops_on_a_meter_it_cannot_find() -> None:
    page = json.loads((FIXTURES / "retail-prices-page.json").read_text())
    page["NextPageLink"] = None
    entry = {"serviceName": "Azure Firewall", "meterName": "Premium Deployment", "armRegionName": "eastus"}
    fetch = _recorded_api({refresh_prices.query_url(entry): page})
    with pytest.raises(LookupError, match="0 meters match"):
        refresh_prices.refresh({"firewall@eastus": entry}, fetch)


def test_prices_refresh_keeps_the_tier_an_entry_names() -> None:
    """Log Analytics ingestion is tiered (a billing account's first 5 GB a month free): its entry names the tier.
    The page is shaped like the API's; its prices are made up for the test."""
    item = {"serviceName": "Log Analytics", "skuName": "Analytics Logs", "meterName": "Analytics Logs Data Ingestion",
            "armRegionName": "eastus", "type": "Consumption", "unitOfMeasure": "1 GB", "currencyCode": "USD",
            "meterId": "m", "effectiveStartDate": "2024-01-01T00:00:00Z"}  # fmt: skip
    page = {
        "Items": [
            {**item, "tierMinimumUnits": 0.0, "unitPrice": 0},
            {**item, "tierMinimumUnits": 5.0, "unitPrice": 2.3},
        ]
    }
    entry = {"serviceName": "Log Analytics", "skuName": "Analytics Logs", "meterName": "~Data Ingestion$",
             "armRegionName": "eastus"}  # fmt: skip
    fetch = _recorded_api({refresh_prices.query_url(entry): {**page, "NextPageLink": None}})
    assert refresh_prices.refresh({"la@eastus": entry}, fetch)["prices"]["la@eastus"]["unitPrice"] == 0
    tiered = refresh_prices.refresh({"la@eastus": {**entry, "tierMinimumUnits": 5}}, fetch)["prices"]["la@eastus"]
    assert (tiered["unitPrice"], tiered["tierMinimumUnits"]) == (2.3, 5)


def test_dataprotection_extract_keeps_what_a_policy_body_reaches_and_drops_the_rest() -> None:
    excerpt = load("dataprotection_backup_policy.json")["definitions"]
    spec = {
        "definitions": {
            **copy_with_descriptions(excerpt),
            "BackupVault": {"type": "object", "properties": {"storageSettings": {"type": "array"}}},
        }
    }
    assert refresh_dataprotection_policy.extract(spec) == excerpt  # descriptions dropped, unrelated definition too
    spec["definitions"]["HourlyCopyOption"] = {
        "type": "object",
        "allOf": [{"$ref": "#/definitions/CopyOption"}],
        "x-ms-discriminator-value": "HourlyCopyOption",
    }
    assert "HourlyCopyOption" in refresh_dataprotection_policy.extract(spec)  # a new subtype of a reached base


def copy_with_descriptions(definitions: dict) -> dict:
    return {
        name: node | {"description": f"{name} (spec text)", "x-ms-enum": {"name": name}}
        for name, node in json.loads(json.dumps(definitions)).items()
    }


def test_prometheus_alerts_parsers_on_excerpts_of_their_sources() -> None:
    """Excerpts of Azure/prometheus-collector@39583fd: the alert template's rule, the keep-list and defaults files."""
    rule = {
        "alert": "KubeQuotaAlmostFull",
        "expression": 'kube_resourcequota{job="kube-state-metrics", type="used"}  / ignoring(instance, job, type)'
        '(kube_resourcequota{job="kube-state-metrics", type="hard"} > 0)  > 0.9 < 1',
        "for": "PT15M",
        "annotations": {"description": "Cluster {{ $labels.cluster}} has ..."},
        "severity": 3,
        "resolveConfiguration": {"autoResolved": True, "timeToResolve": "PT10M"},
    }
    job_failed = {**rule, "alert": "KubeJobFailed", "expression": 'kube_job_failed{job="kube-state-metrics"}  > 0'}
    level = {"interval": "PT1M", "rules": [rule, job_failed]}
    template = {"resources": [{"name": "[concat(variables('x'), '-Cluster-level')]", "properties": level}]}
    (group,) = refresh_prometheus_alerts.alert_groups(template).values()
    assert "threshold" not in group["rules"][0]  # two comparisons: none is the threshold
    assert group["rules"][1]["threshold"] == {"operator": ">", "value": 0.0}
    go = 'kubeletRegex_minimal_mac = "kubelet_node_name|kubelet_running_pods"\n' + "".join(
        f'{p}Regex_minimal_mac = "{p}_a|{p}_b"\n' for p in refresh_prometheus_alerts.TARGETS if p != "kubelet"
    )
    assert refresh_prometheus_alerts.minimal_profile(go)["kubelet"] == ["kubelet_node_name", "kubelet_running_pods"]
    defaults = (
        'func a() {\n config["kubelet"] = "true"\n config["coredns"] = "false"\n}\n'
        'func b() {\n config["coredns"] = "true"\n}'
    )
    assert refresh_prometheus_alerts.default_targets(defaults) == ["kubelet"]
