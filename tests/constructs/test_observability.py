"""Observability in both infra stacks: Log Analytics and workspace-based Application Insights with retention
from config and local auth off, managed Prometheus wired to AKS, private Grafana reading the monitor
workspace, and action groups whose secret receiver URLs are never literals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack

from config.loader import load_environment
from config.observability import SEVERITIES
from constructs.naming import Naming
from constructs.observability import MONITOR_WORKSPACE_RETENTION_DAYS, Observability, ObservabilityProps
from constructs.private_endpoint import PrivateEndpointPlacement
from tests.conftest import StackJson, only_resource, resources_of


def ref(stack: StackJson, resource_type: str, attribute: str = "id") -> str:
    (address,) = resources_of(stack, resource_type)
    return f"${{{resource_type}.{address}.{attribute}}}"


def test_log_analytics_workspace_keeps_logs_as_configured_without_shared_keys(
    infra: StackJson, environment: str
) -> None:
    config = load_environment(environment).observability
    workspace = only_resource(infra, "azurerm_log_analytics_workspace")
    assert workspace["retention_in_days"] == config.log_retention_days
    assert workspace["local_authentication_enabled"] is False
    assert workspace["sku"] == "PerGB2018"
    assert workspace["internet_ingestion_enabled"] is config.internet_ingestion_enabled
    assert workspace["internet_query_enabled"] is config.internet_query_enabled


def test_application_insights_is_workspace_based_entra_only_with_configured_retention(
    infra: StackJson, environment: str
) -> None:
    config = load_environment(environment).observability
    component = only_resource(infra, "azurerm_application_insights")
    assert component["workspace_id"] == ref(infra, "azurerm_log_analytics_workspace")
    assert component["retention_in_days"] == config.application_insights_retention_days
    assert component["local_authentication_disabled"] is True
    if environment == "production":
        assert component["retention_in_days"] == 730  # Story 0.1.5


def test_managed_prometheus_flows_from_the_cluster_to_the_monitor_workspace(infra: StackJson) -> None:
    workspace = ref(infra, "azurerm_monitor_workspace")
    endpoint = ref(infra, "azurerm_monitor_data_collection_endpoint")
    rule = only_resource(infra, "azurerm_monitor_data_collection_rule")
    assert rule["kind"] == "Linux" and rule["data_collection_endpoint_id"] == endpoint
    (forwarder,) = rule["data_sources"]["prometheus_forwarder"]
    assert forwarder["streams"] == ["Microsoft-PrometheusMetrics"]
    (account,) = rule["destinations"]["monitor_account"]
    assert account["monitor_account_id"] == workspace
    assert rule["data_flow"] == [{"streams": ["Microsoft-PrometheusMetrics"], "destinations": [account["name"]]}]
    cluster = ref(infra, "azurerm_kubernetes_cluster")
    associations = resources_of(infra, "azurerm_monitor_data_collection_rule_association").values()
    assert {a["target_resource_id"] for a in associations} == {cluster}
    assert {(a.get("data_collection_endpoint_id"), a.get("data_collection_rule_id")) for a in associations} == {
        (endpoint, None),
        (None, ref(infra, "azurerm_monitor_data_collection_rule")),
    }
    (endpoint_association,) = [a for a in associations if "data_collection_endpoint_id" in a]
    assert endpoint_association["name"] == "configurationAccessEndpoint"


def test_monitor_workspace_shows_the_story_retention_next_to_azures(infra: StackJson, environment: str) -> None:
    required = load_environment(environment).baseline.monitoring.retention_days
    tags = only_resource(infra, "azurerm_monitor_workspace")["tags"]
    assert tags["metrics-retention"] == f"required {required}d, kept {MONITOR_WORKSPACE_RETENTION_DAYS}d"


def test_grafana_is_private_keyless_and_reads_the_monitor_workspace(infra: StackJson, environment: str) -> None:
    config = load_environment(environment).observability
    grafana = only_resource(infra, "azurerm_dashboard_grafana")
    grafana_ref = ref(infra, "azurerm_dashboard_grafana")
    assert grafana["api_key_enabled"] is False and grafana["public_network_access_enabled"] is False
    assert grafana["identity"] == {"type": "SystemAssigned"}
    assert grafana["zone_redundancy_enabled"] is config.grafana_zone_redundant
    assert grafana["azure_monitor_workspace_integrations"] == [{"resource_id": ref(infra, "azurerm_monitor_workspace")}]
    principal = ref(infra, "azurerm_dashboard_grafana", "identity[0].principal_id")
    grants = {
        (r["role_definition_name"], r["scope"])
        for r in resources_of(infra, "azurerm_role_assignment").values()
        if r["principal_id"] == principal
    }
    assert grants == {
        ("Monitoring Data Reader", ref(infra, "azurerm_monitor_workspace")),
        ("Monitoring Reader", ref(infra, "azurerm_log_analytics_workspace")),
    }
    (admins,) = [r for r in resources_of(infra, "azurerm_role_assignment").values() if r["scope"] == grafana_ref]
    assert (admins["role_definition_name"], admins["principal_id"]) == (
        "Grafana Admin",
        config.grafana_admin_group_object_id,
    )
    (endpoint,) = [
        e
        for e in resources_of(infra, "azurerm_private_endpoint").values()
        if e["private_service_connection"]["private_connection_resource_id"] == grafana_ref
    ]
    assert endpoint["private_service_connection"]["subresource_names"] == ["grafana"]
    zones = {
        f"${{azurerm_private_dns_zone.{a}.id}}": z for a, z in resources_of(infra, "azurerm_private_dns_zone").items()
    }
    (zone_id,) = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
    assert zones[zone_id]["name"] == "privatelink.grafana.azure.com"
    zone_name = zone_id.replace(".id}", ".name}")
    linked = {
        link["virtual_network_id"]
        for link in resources_of(infra, "azurerm_private_dns_zone_virtual_network_link").values()
        if link["private_dns_zone_name"] == zone_name
    }
    assert linked == {f"${{azurerm_virtual_network.{a}.id}}" for a in resources_of(infra, "azurerm_virtual_network")}


def test_an_action_group_per_severity_with_webhook_and_emails_from_config(infra: StackJson, environment: str) -> None:
    config = load_environment(environment).observability
    groups = {g["name"]: g for g in resources_of(infra, "azurerm_monitor_action_group").values()}
    assert len(groups) == len(SEVERITIES)
    for severity in SEVERITIES:
        receivers = config.receivers[severity]
        (group,) = [g for g in groups.values() if g["short_name"] == receivers.short_name]
        assert group["location"] == "global"
        (webhook,) = group["webhook_receiver"]
        assert webhook["name"] == receivers.webhook_name and webhook["use_common_alert_schema"] is True
        assert webhook["service_uri"] == f"${{var.{severity}_alert_webhook_url}}"
        assert [e["email_address"] for e in group.get("email_receiver", [])] == list(receivers.emails)


def test_no_receiver_secret_is_a_literal(stacks: dict[str, StackJson]) -> None:
    """Every webhook URL in every stack is a reference to a sensitive variable, never a value in the JSON."""
    checked = 0
    for stack in stacks.values():
        variables = stack.get("variable", {})
        for group in resources_of(stack, "azurerm_monitor_action_group").values():
            for receiver in group.get("webhook_receiver", []):
                match = re.fullmatch(r"\$\{var\.(\w+)\}", receiver["service_uri"])
                assert match, receiver["service_uri"]
                variable: dict[str, Any] = variables[match.group(1)]
                assert variable["sensitive"] is True and "default" not in variable
                checked += 1
    assert checked == 2 * len(SEVERITIES)


def _observability(tmp_path: Path, **changes: Any) -> None:
    config = load_environment("staging")
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "observability")
    props = dict(
        config=config.observability,
        naming=Naming("stg", "erp01"),
        location="eastus",
        resource_group_name="rg",
        webhook_urls={severity: f"url-{severity}" for severity in SEVERITIES},
        private_endpoint=PrivateEndpointPlacement(subnet_id="subnet", location="eastus", resource_group_name="rg"),
        virtual_network_ids={"spoke": "vnet"},
        metrics_retention_days=90,
    )
    Observability(stack, "observability", props=ObservabilityProps(**{**props, **changes}))


def test_a_retention_beyond_what_the_monitor_workspace_keeps_is_refused(tmp_path: Path) -> None:
    _observability(tmp_path / "ok", metrics_retention_days=MONITOR_WORKSPACE_RETENTION_DAYS)
    with pytest.raises(ValueError, match="exceeds the 540 days"):
        _observability(tmp_path / "bad", metrics_retention_days=MONITOR_WORKSPACE_RETENTION_DAYS + 1)


def test_a_severity_without_a_receiver_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"lacks the severities \['warning'\]"):
        _observability(tmp_path, webhook_urls={"critical": "url"})
