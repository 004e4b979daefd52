"""tools/checks/workbooks.py: clean on the real output; each rule fails on a fault planted in a copy of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.checks import workbooks
from tools.checks.workbooks import check, query_source

StackJson = dict[str, Any]


@pytest.fixture
def planted(stacks: dict[str, StackJson]) -> dict[str, StackJson]:
    return copy.deepcopy(stacks)


def _workbook(stacks: dict[str, StackJson], key: str) -> dict[str, Any]:
    found = stacks["staging-infra"]["resource"]["azurerm_application_insights_workbook"]
    [name] = [name for name in found if name.startswith(f"workbooks_{key}_")]
    return found[name]


def test_the_real_output_is_clean(synth_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert workbooks.main([str(synth_dir)]) == 0
    tiles = int(capsys.readouterr().err.split("workbooks: ")[1].split(" ")[0])
    assert tiles >= 60  # the SLA workbook's and the three operations workbooks' tiles, both environments


def test_a_metric_the_resource_type_does_not_publish_fails(planted: dict[str, StackJson]) -> None:
    body = _workbook(planted, "cluster")
    body["data_json"] = body["data_json"].replace("--node_cpu_usage_percentage", "--Percentage CPU")
    findings, _ = check(planted)
    assert [(f.rule, f.stack, f.value) for f in findings] == [("WB-METRIC", "staging-infra", "Percentage CPU")]
    assert "does not publish this metric" in str(findings[0])


def test_an_aggregation_the_metric_does_not_have_fails(planted: dict[str, StackJson]) -> None:
    body = _workbook(planted, "data-services")
    data = json.loads(body["data_json"])
    for item in data["items"]:
        for metric in item.get("content", {}).get("metrics", []):
            if metric["metric"].endswith("--connections_failed"):
                metric["aggregation"] = 4  # Average: Microsoft publishes Total only
    body["data_json"] = json.dumps(data)
    findings, _ = check(planted)
    assert [(f.rule, f.value) for f in findings] == [("WB-METRIC", "connections_failed Average")]


def test_a_tile_whose_resource_is_not_in_the_stack_fails(planted: dict[str, StackJson]) -> None:
    """The firewall removed from the stack while the edge workbook still shows it."""
    resources = planted["staging-infra"]["resource"]
    [firewall] = resources.pop("azurerm_firewall")
    findings, _ = check(planted)
    assert {(f.rule, f.tile) for f in findings} == {
        ("WB-RESOURCE", "Firewall health and SNAT port use (%)"),
        ("WB-RESOURCE", "Firewall throughput"),
    }
    assert all(f"no azurerm_firewall.{firewall} in this stack" in str(f) for f in findings)


def test_a_query_on_a_table_nothing_sends_fails(planted: dict[str, StackJson]) -> None:
    """The firewall's diagnostic setting removed: its deny tiles and saved searches read tables nothing fills."""
    settings = planted["staging-infra"]["resource"]["azurerm_monitor_diagnostic_setting"]
    [key] = [key for key, body in settings.items() if "azurerm_firewall." in body["target_resource_id"]]
    del settings[key]
    findings, _ = check(planted)
    assert sorted({(f.rule, f.value) for f in findings}) == [
        ("WB-TABLE", "AZFWApplicationRule"),
        ("WB-TABLE", "AZFWNetworkRule"),
    ]
    assert sorted(f.address.split(".")[0] for f in findings) == [
        "azurerm_application_insights_workbook",
        "azurerm_application_insights_workbook",
        "azurerm_log_analytics_saved_search",
        "azurerm_log_analytics_saved_search",
    ]


def test_a_compliance_tile_on_a_table_nothing_sends_fails(planted: dict[str, StackJson]) -> None:
    """The compliance report's drill tiles pointed at a table no data collection rule fills."""
    body = _workbook(planted, "compliance")
    body["data_json"] = body["data_json"].replace("DrDrillResults_CL", "DrDrillRuns_CL")
    findings, _ = check(planted)
    assert {(f.rule, f.stack, f.value) for f in findings} == {("WB-TABLE", "staging-infra", "DrDrillRuns_CL")}
    assert {f.tile for f in findings} == {"Latest result per drill and component", "Every drill run in the period"}
    assert "reads a table nothing in the stack sends" in str(findings[0])


def test_an_availability_tile_without_a_web_test_fails(planted: dict[str, StackJson]) -> None:
    del planted["staging-infra"]["resource"]["azurerm_application_insights_standard_web_test"]
    findings, _ = check(planted)
    assert {(f.rule, f.value) for f in findings} == {("WB-TABLE", "availabilityResults")}


def test_query_sources_name_whose_logs_they_read() -> None:
    assert query_source("AKSAuditAdmin | take 1") == ("AKSAuditAdmin", "")
    assert query_source(
        "AzureDiagnostics | where ResourceProvider == 'MICROSOFT.KEYVAULT' and ResourceType == 'VAULTS'"
    )[0] == ("AzureDiagnostics:MICROSOFT.KEYVAULT/VAULTS")
    assert query_source("AzureActivity | where CategoryValue == 'Policy'")[0] == "AzureActivity:Policy"
    assert query_source("AzureDiagnostics | where Category == 'AuditEvent'")[0] is None
    assert query_source("let x = 1; x")[0] is None


def test_an_unreadable_synth_fails(tmp_path: Path) -> None:
    assert workbooks.main([str(tmp_path / "missing")]) == 2
