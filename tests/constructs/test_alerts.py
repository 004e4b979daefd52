"""Alerts in both infra stacks: every metric alert of the table on its resource with the configured
threshold and routed by severity; the Kubernetes Prometheus rules; the SLA web test, its alert and workbook."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cdktf import App, TerraformStack

from config.loader import load_environment
from constructs.alerts import AZURE_SEVERITY, METRIC_ALERTS, Alerts, AlertsProps
from constructs.naming import Naming
from tests.conftest import StackJson, only_resource, resources_of

# Alert target → (the resource type it watches, the construct path of the watched resource). The App Gateway
# alert is in the table, so the gateway must be wired too.
TARGETS = {
    "aks": ("azurerm_kubernetes_cluster", "/aks/cluster"),
    "postgres": ("azurerm_postgresql_flexible_server", "/data/postgres/server"),
    "event_hubs": ("azurerm_eventhub_namespace", "/data/event-hubs/primary"),
    "storage": ("azurerm_storage_account", "/data/storage/account"),
    "key_vault": ("azurerm_key_vault", "/data/key-vault/vault"),
    "firewall": ("azurerm_firewall", "/network/firewall/firewall"),
    "app_gateway": ("azurerm_application_gateway", "/app-gateway/gateway"),
}


def action_groups_by_severity(stack: StackJson, environment: str) -> dict[str, str]:
    receivers = load_environment(environment).observability.receivers
    return {
        severity: f"${{azurerm_monitor_action_group.{address}.id}}"
        for address, group in resources_of(stack, "azurerm_monitor_action_group").items()
        for severity, receiver in receivers.items()
        if group["short_name"] == receiver.short_name
    }


def watched_id(stack: StackJson, target: str) -> str:
    resource_type, path = TARGETS[target]
    (address,) = [
        a for a, body in resources_of(stack, resource_type).items() if body["//"]["metadata"]["path"].endswith(path)
    ]
    return f"${{{resource_type}.{address}.id}}"


def test_every_metric_alert_watches_its_resource_with_the_configured_threshold(
    infra: StackJson, environment: str
) -> None:
    thresholds = load_environment(environment).observability.thresholds
    groups = action_groups_by_severity(infra, environment)
    alerts = {
        (a["criteria"][0]["metric_namespace"], a["criteria"][0]["metric_name"]): a
        for a in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if "criteria" in a
    }
    assert len(alerts) == len(METRIC_ALERTS)
    for spec in METRIC_ALERTS:
        alert = alerts[(spec.namespace, spec.metric)]
        assert alert["scopes"] == [watched_id(infra, spec.target)], spec
        (criterion,) = alert["criteria"]
        assert criterion["threshold"] == getattr(thresholds, spec.threshold)
        assert (criterion["operator"], criterion["aggregation"]) == (spec.operator, spec.aggregation)
        assert alert["severity"] == AZURE_SEVERITY[spec.severity]
        assert alert["action"] == [{"action_group_id": groups[spec.severity]}]


def test_prometheus_rules_realise_the_story_kubernetes_alerts(infra: StackJson, environment: str) -> None:
    thresholds = load_environment(environment).observability.thresholds
    groups = action_groups_by_severity(infra, environment)
    rule_group = only_resource(infra, "azurerm_monitor_alert_prometheus_rule_group")
    (cluster,) = resources_of(infra, "azurerm_kubernetes_cluster")
    (workspace,) = resources_of(infra, "azurerm_monitor_workspace")
    assert rule_group["scopes"] == [
        f"${{azurerm_monitor_workspace.{workspace}.id}}",
        f"${{azurerm_kubernetes_cluster.{cluster}.id}}",
    ]
    assert rule_group["cluster_name"] == f"${{azurerm_kubernetes_cluster.{cluster}.name}}"
    rules = {rule["alert"]: rule for rule in rule_group["rule"]}
    assert rules["KubePodRestartingOften"]["expression"].endswith(
        f"[15m])) > {thresholds.aks_pod_restarts_per_15_minutes}"
    )
    assert rules["KubeNodeNotReady"]["for"] == f"PT{thresholds.aks_not_ready_node_minutes}M"
    for rule in rules.values():
        severity = rule["labels"]["severity"]
        assert rule["severity"] == AZURE_SEVERITY[severity]
        assert rule["action"] == [{"action_group_id": groups[severity]}]
    assert rules["KubeNodeNotReady"]["labels"]["severity"] == "critical"


def test_the_public_endpoint_is_probed_against_the_sla(infra: StackJson, environment: str) -> None:
    config = load_environment(environment).observability.availability_test
    test = only_resource(infra, "azurerm_application_insights_standard_web_test")
    (component,) = resources_of(infra, "azurerm_application_insights")
    component_id = f"${{azurerm_application_insights.{component}.id}}"
    assert test["application_insights_id"] == component_id
    assert test["request"]["url"] == config.url
    assert test["geo_locations"] == list(config.locations) and test["frequency"] == config.frequency_seconds
    assert test["validation_rules"]["ssl_check_enabled"] is True
    (address,) = resources_of(infra, "azurerm_application_insights_standard_web_test")
    test_id = f"${{azurerm_application_insights_standard_web_test.{address}.id}}"
    (alert,) = [
        a
        for a in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if "application_insights_web_test_location_availability_criteria" in a
    ]
    criteria = alert["application_insights_web_test_location_availability_criteria"]
    assert criteria == {
        "web_test_id": test_id,
        "component_id": component_id,
        "failed_location_count": config.failed_locations_for_alert,
    }
    assert alert["scopes"] == [test_id, component_id] and alert["severity"] == AZURE_SEVERITY["critical"]
    assert alert["action"] == [{"action_group_id": action_groups_by_severity(infra, environment)["critical"]}]


def test_the_sla_workbook_has_a_stable_name_and_reports_the_target(infra: StackJson, environment: str) -> None:
    config = load_environment(environment)
    workbook = only_resource(infra, "azurerm_application_insights_workbook")
    workbook_name = Naming(config.short_name, config.unique_suffix).name("sla", "workbook")
    assert workbook["name"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:erp-platform:workbook:{workbook_name}"))
    body = json.loads(workbook["data_json"])
    queries = [item["content"]["query"] for item in body["items"] if item["type"] == 3]
    sla = config.observability.availability_test.sla_percent
    assert queries and all(f"sla_target = {sla}" in query for query in queries)
    test_name = only_resource(infra, "azurerm_application_insights_standard_web_test")["name"]
    assert all(f"name == '{test_name}'" in query for query in queries)


def test_an_unknown_alert_target_is_refused(tmp_path: Path) -> None:
    config = load_environment("staging")
    stack = TerraformStack(App(outdir=str(tmp_path)), "alerts")
    with pytest.raises(ValueError, match=r"unknown targets \['redis'\]"):
        Alerts(
            stack,
            "alerts",
            props=AlertsProps(
                thresholds=config.observability.thresholds,
                naming=Naming("stg", "erp01"),
                location="eastus",
                resource_group_name="rg",
                action_group_ids={"critical": "c", "warning": "w"},
                targets={"redis": "id"},
                cluster_id="cluster",
                cluster_name="aks",
                monitor_workspace_id="amw",
            ),
        )


def test_the_readme_alert_table_lists_every_metric_alert() -> None:
    readme = Path("README.md").read_text()
    section = readme.split("## Observability and alerting", 1)[1].split("\n## ", 1)[0]
    assert [spec.metric for spec in METRIC_ALERTS if f"`{spec.metric}`" not in section] == []
