"""The operations workbooks and saved queries as synthesized: deterministic UUID names, Azure Monitor gallery, every
tile naming its resources by Terraform reference, the data services / edge / cluster / compliance coverage the issue
asks for."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from config.schema import EnvironmentConfig
from constructs.workbooks import (
    AGGREGATIONS,
    AUDIT_PERIOD_MS,
    GALLERY_SOURCE,
    OPERATOR_QUERIES,
    TIME_PARAMETER,
    MetricTile,
    QueryTile,
    Section,
    WorkbookSpec,
    workbook_json,
)
from tests.conftest import StackJson, resources_of
from tools.checks.workbooks import query_source
from tools.docgen.evidence_matrix import LIVE_QUERIES

WORKBOOK_KEYS = ("cluster", "compliance", "data-services", "edge")
# The monthly report's evidence sources (docs/operations.md 2.1), as tools/checks/workbooks.py names what a query reads.
COMPLIANCE_SOURCES = {
    "AzureActivity:Policy",  # audit/deny events
    "ClusterCompliance_CL",  # the in-cluster checks
    "DrDrillResults_CL",  # restore drills
    "AzureActivity:Security",  # Defender for Cloud alerts
    "AzureActivity:Administrative",  # change records
}


def workbooks(infra: StackJson) -> dict[str, dict[str, Any]]:
    """The operations workbooks (not the SLA one) by key."""
    found = {
        body["display_name"].split(":")[0]: body
        for body in resources_of(infra, "azurerm_application_insights_workbook").values()
        if body["source_id"] == GALLERY_SOURCE
    }
    return {name.split("-", 1)[1].rsplit("-workbook", 1)[0]: body for name, body in found.items()}


def metric_types(body: dict[str, Any]) -> dict[str, set[str]]:
    """Resource type → the Terraform references its metric tiles name."""
    types: dict[str, set[str]] = {}
    for item in json.loads(body["data_json"])["items"]:
        if item["type"] == 10:
            types.setdefault(item["content"]["resourceType"], set()).update(item["content"]["resourceIds"])
    return types


def test_four_workbooks_in_the_gallery_named_by_a_uuid_derived_from_their_name(
    infra: StackJson, environment: str
) -> None:
    books = workbooks(infra)
    assert sorted(books) == sorted(WORKBOOK_KEYS)
    prefix = {"staging": "stg", "production": "prd"}[environment]
    for key, body in books.items():
        name = f"{prefix}-{key}-workbook-001"
        assert body["name"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:erp-platform:workbook:{name}"))
        assert body["display_name"].startswith(f"{name}: ")
        assert body["category"] == "workbook"
        data = json.loads(body["data_json"])
        assert data["version"] == "Notebook/1.0" and data["fallbackResourceIds"] == ["Azure Monitor"]


def test_every_resource_of_the_asked_types_is_on_a_workbook(infra: StackJson) -> None:
    """Data services: PostgreSQL, both Event Hubs namespaces, every storage account and Key Vault; edge: the
    gateway, the firewall, every public IP; cluster: AKS. Every one by its Terraform reference."""
    books = workbooks(infra)
    expected = {
        "data-services": {
            "microsoft.dbforpostgresql/flexibleservers": "azurerm_postgresql_flexible_server",
            "microsoft.eventhub/namespaces": "azurerm_eventhub_namespace",
            "microsoft.storage/storageaccounts": "azurerm_storage_account",
            "microsoft.keyvault/vaults": "azurerm_key_vault",
        },
        "edge": {
            "microsoft.network/applicationgateways": "azurerm_application_gateway",
            "microsoft.network/azurefirewalls": "azurerm_firewall",
            "microsoft.network/publicipaddresses": "azurerm_public_ip",
        },
        "cluster": {"microsoft.containerservice/managedclusters": "azurerm_kubernetes_cluster"},
    }
    for key, types in expected.items():
        shown = metric_types(books[key])
        assert sorted(shown) == sorted(types), key
        for arm_type, terraform_type in types.items():
            assert shown[arm_type] == {
                f"${{{terraform_type}.{name}.id}}" for name in resources_of(infra, terraform_type)
            }


def test_the_edge_workbook_shows_the_availability_test_and_the_cluster_one_reads_container_insights(
    infra: StackJson,
) -> None:
    books = workbooks(infra)
    edge_queries = [i["content"] for i in json.loads(books["edge"]["data_json"])["items"] if i["type"] == 3]
    (component,) = resources_of(infra, "azurerm_application_insights")
    availability = [q for q in edge_queries if q["query"].startswith("availabilityResults")]
    assert [q["crossComponentResources"] for q in availability] == [
        [f"${{azurerm_application_insights.{component}.id}}"]
    ]
    cluster_tables = {
        i["content"]["query"].split(" ")[0]
        for i in json.loads(books["cluster"]["data_json"])["items"]
        if i["type"] == 3
    }
    assert {"KubeNodeInventory", "KubePodInventory", "KubeEvents", "AKSAuditAdmin"} <= cluster_tables


def test_operator_queries_are_saved_in_the_workspace(infra: StackJson) -> None:
    searches = {s["name"]: s for s in resources_of(infra, "azurerm_log_analytics_saved_search").values()}
    for key, (display_name, query) in OPERATOR_QUERIES.items():
        assert searches[key]["display_name"] == display_name and searches[key]["query"] == query


def test_the_builder_rejects_an_unknown_aggregation_and_repeated_tile_titles() -> None:
    tile = MetricTile("CPU", "Microsoft.DBforPostgreSQL/flexibleServers", ("id",), (("cpu_percent", "Mean"),))
    with pytest.raises(ValueError, match=r"aggregations \['Mean'\]"):
        workbook_json(WorkbookSpec("k", "t", (Section("s", (tile,)),)))
    good = MetricTile("CPU", "Microsoft.DBforPostgreSQL/flexibleServers", ("id",), (("cpu_percent", "Average"),))
    with pytest.raises(ValueError, match="item names"):
        workbook_json(WorkbookSpec("k", "t", (Section("s", (good, good)),)))
    (item,) = [
        i
        for i in json.loads(workbook_json(WorkbookSpec("k", "t", (Section("s", (good,)),))))["items"]
        if i["type"] == 10
    ]
    assert item["content"]["metrics"] == [
        {
            "namespace": "microsoft.dbforpostgresql/flexibleservers",
            "metric": "microsoft.dbforpostgresql/flexibleservers--cpu_percent",
            "aggregation": AGGREGATIONS["Average"],
        }
    ]


def test_the_compliance_workbook_covers_each_evidence_source_over_an_audit_period(
    infra: StackJson, config: EnvironmentConfig
) -> None:
    """Every tile reads the period the picker sets (30 days by default); the evidence matrix's live queries on these
    sources are tiles word for word (one text for both); the drill tiles carry the environment's RTO/RPO targets."""
    items = json.loads(workbooks(infra)["compliance"]["data_json"])["items"]
    (picker,) = [i["content"]["parameters"] for i in items if i["type"] == 9]
    assert [(p["name"], p["type"], p["value"]) for p in picker] == [
        (TIME_PARAMETER, 4, {"durationMs": AUDIT_PERIOD_MS})
    ]
    queries = [i["content"] for i in items if i["type"] == 3]
    assert queries and all(q["timeContextFromParameter"] == TIME_PARAMETER for q in queries)
    assert {query_source(q["query"])[0] for q in queries} == COMPLIANCE_SOURCES
    live = {q.kql for _, q in LIVE_QUERIES if q.source in COMPLIANCE_SOURCES}
    assert len(live) == 5 and live <= {q["query"].split(" | extend RtoTargetMinutes")[0] for q in queries}
    recovery = config.recovery
    drills = [q["query"] for q in queries if q["query"].startswith("DrDrillResults_CL")]
    targets = f"RtoTargetMinutes = {recovery.rto_hours * 60}, RpoTargetMinutes = {recovery.rpo_hours * 60}"
    assert len(drills) == 2 and all(targets in q for q in drills)


def test_a_spec_without_a_time_range_keeps_a_day_and_no_picker() -> None:
    tile = QueryTile("Q", "id", "KubeEvents | take 1")
    items = json.loads(workbook_json(WorkbookSpec("k", "t", (Section("s", (tile,)),))))["items"]
    assert [i["type"] for i in items] == [1, 1, 3]
    assert "timeContextFromParameter" not in items[2]["content"]
