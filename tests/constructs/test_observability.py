"""Observability in both infra stacks: Log Analytics and workspace-based Application Insights with retention
from config and local auth off, managed Prometheus wired to AKS, private Grafana reading the monitor
workspace, and action groups whose secret receiver URLs are never literals."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

from config.loader import ENVIRONMENTS, load_environment
from config.observability import SEVERITIES
from constructs.diagnostics import SETTING_TYPE
from constructs.naming import Naming
from constructs.observability import (
    CONTAINER_INSIGHTS_STREAMS,
    MONITOR_WORKSPACE_RETENTION_DAYS,
    WORKSPACE_BEFORE,
    WORKSPACE_LOCK_BEFORE,
    LogAnalytics,
    LogAnalyticsProps,
    Observability,
    ObservabilityProps,
)
from constructs.private_endpoint import PrivateEndpointPlacement
from tests.conftest import StackJson, only_resource, resources_of
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK


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


@pytest.mark.parametrize("protect", [True, False])
def test_log_analytics_is_the_sink_audits_its_own_queries_and_keeps_its_state(tmp_path: Path, protect: bool) -> None:
    """Created first by the stack; its address, lock and setting move from where they were inside Observability."""
    config = load_environment("staging")
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "infra")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    logs = LogAnalytics(
        stack,
        "log-analytics",
        props=LogAnalyticsProps(
            config=config.observability,
            naming=Naming("stg", "erp01"),
            location="eastus",
            resource_group_name="rg",
            protect_from_destroy=protect,
        ),
    )
    assert logs.sink.log_analytics_workspace_id == logs.workspace_id
    app.synth()
    synthesized = json.loads((tmp_path / "stacks" / "infra" / "cdk.tf.json").read_text())
    workspace = ref(synthesized, "azurerm_log_analytics_workspace")
    (setting,) = resources_of(synthesized, SETTING_TYPE).values()
    assert setting["target_resource_id"] == setting["log_analytics_workspace_id"] == workspace  # query audit
    assert setting["enabled_log"] == [{"category_group": "allLogs"}]
    moved = {block["from"] for block in synthesized["moved"]}
    expected = {
        WORKSPACE_BEFORE,
        f"{SETTING_TYPE}.diagnostics_observability-log-analytics_0EC76C77",  # the walker's setting
    }
    assert moved == (expected | {WORKSPACE_LOCK_BEFORE} if protect else expected)


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


def rule_with_stream(stack: StackJson, stream: str) -> tuple[str, dict[str, Any]]:
    """(reference to the id, body) of the one data collection rule whose data flows carry `stream`."""
    (found,) = [
        (f"${{azurerm_monitor_data_collection_rule.{address}.id}}", rule)
        for address, rule in resources_of(stack, "azurerm_monitor_data_collection_rule").items()
        if any(stream in flow["streams"] for flow in rule["data_flow"])
    ]
    return found


def test_managed_prometheus_flows_from_the_cluster_to_the_monitor_workspace(infra: StackJson) -> None:
    workspace = ref(infra, "azurerm_monitor_workspace")
    endpoint = ref(infra, "azurerm_monitor_data_collection_endpoint")
    rule_id, rule = rule_with_stream(infra, "Microsoft-PrometheusMetrics")
    assert rule["kind"] == "Linux" and rule["data_collection_endpoint_id"] == endpoint
    (forwarder,) = rule["data_sources"]["prometheus_forwarder"]
    assert forwarder["streams"] == ["Microsoft-PrometheusMetrics"]
    (account,) = rule["destinations"]["monitor_account"]
    assert account["monitor_account_id"] == workspace
    assert rule["data_flow"] == [{"streams": ["Microsoft-PrometheusMetrics"], "destinations": [account["name"]]}]
    cluster = ref(infra, "azurerm_kubernetes_cluster")
    associations = resources_of(infra, "azurerm_monitor_data_collection_rule_association").values()
    assert {a["target_resource_id"] for a in associations} == {cluster}
    container_insights_id, _ = rule_with_stream(infra, "Microsoft-ContainerLogV2")
    assert {(a.get("data_collection_endpoint_id"), a.get("data_collection_rule_id")) for a in associations} == {
        (endpoint, None),
        (None, rule_id),
        (None, container_insights_id),
    }
    (endpoint_association,) = [a for a in associations if "data_collection_endpoint_id" in a]
    assert endpoint_association["name"] == "configurationAccessEndpoint"


def container_insights_problems(stack: StackJson) -> list[str]:
    """Why a cluster whose monitoring add-on authenticates with its managed identity would send no container
    logs: it needs a ContainerInsights-extension rule to the workspace, associated with the cluster."""
    (cluster_address, cluster) = next(iter(resources_of(stack, "azurerm_kubernetes_cluster").items()))
    problems = []
    agent = cluster.get("oms_agent") or {}
    if agent.get("msi_auth_for_monitoring_enabled") is not True:
        problems.append("oms_agent without msi_auth_for_monitoring_enabled (the workspace has no shared keys)")
    rules = {
        f"${{azurerm_monitor_data_collection_rule.{address}.id}}": rule
        for address, rule in resources_of(stack, "azurerm_monitor_data_collection_rule").items()
        if any(
            source.get("extension_name") == "ContainerInsights"
            for source in (rule.get("data_sources") or {}).get("extension", [])
        )
    }
    if not rules:
        return [*problems, "no data collection rule with the ContainerInsights extension"]
    for rule_id, rule in rules.items():
        destinations = {d["name"]: d for d in (rule.get("destinations") or {}).get("log_analytics", [])}
        flows = [flow for flow in rule.get("data_flow", []) if set(flow["destinations"]) <= set(destinations)]
        if not destinations or not any("Microsoft-ContainerLogV2" in flow["streams"] for flow in flows):
            problems.append(f"{rule_id} sends no ContainerLogV2 to a Log Analytics workspace")
        associated = [
            a
            for a in resources_of(stack, "azurerm_monitor_data_collection_rule_association").values()
            if a.get("data_collection_rule_id") == rule_id
            and a["target_resource_id"] == f"${{azurerm_kubernetes_cluster.{cluster_address}.id}}"
        ]
        if not associated:
            problems.append(f"{rule_id} is not associated with the cluster")
    return problems


def test_container_insights_rule_sends_the_clusters_logs_to_the_workspace(infra: StackJson, environment: str) -> None:
    settings = load_environment(environment).observability.container_insights
    assert container_insights_problems(infra) == []
    rule_id, rule = rule_with_stream(infra, "Microsoft-ContainerLogV2")
    assert rule["kind"] == "Linux" and "data_collection_endpoint_id" not in rule
    (extension,) = rule["data_sources"]["extension"]
    assert extension["extension_name"] == "ContainerInsights"
    assert extension["streams"] == list(CONTAINER_INSIGHTS_STREAMS)
    collection = json.loads(extension["extension_json"])["dataCollectionSettings"]
    assert collection["interval"] == settings.interval
    assert collection["namespaceFilteringMode"] == settings.namespace_filtering_mode
    assert collection.get("namespaces", []) == list(settings.namespaces)
    assert collection["enableContainerLogV2"] is True
    (destination,) = rule["destinations"]["log_analytics"]
    assert destination["workspace_resource_id"] == ref(infra, "azurerm_log_analytics_workspace")
    assert rule["data_flow"] == [{"streams": list(CONTAINER_INSIGHTS_STREAMS), "destinations": [destination["name"]]}]
    (association,) = [
        a
        for a in resources_of(infra, "azurerm_monitor_data_collection_rule_association").values()
        if a.get("data_collection_rule_id") == rule_id
    ]
    assert association["name"] == "ContainerInsightsExtension"
    agent = only_resource(infra, "azurerm_kubernetes_cluster")["oms_agent"]
    assert agent["msi_auth_for_monitoring_enabled"] is True
    assert agent["log_analytics_workspace_id"] == destination["workspace_resource_id"]


def test_container_insights_check_rejects_the_agent_without_rule_or_association(infra: StackJson) -> None:
    """Failing examples: the stack as it was (add-on only), and a rule nobody associated with the cluster."""
    without_rule = copy.deepcopy(infra)
    rule_id, _ = rule_with_stream(infra, "Microsoft-ContainerLogV2")
    address = rule_id.split(".")[1]
    del without_rule["resource"]["azurerm_monitor_data_collection_rule"][address]
    assert container_insights_problems(without_rule) == ["no data collection rule with the ContainerInsights extension"]
    unassociated = copy.deepcopy(infra)
    associations = unassociated["resource"]["azurerm_monitor_data_collection_rule_association"]
    for name in [n for n, a in associations.items() if a.get("data_collection_rule_id") == rule_id]:
        del associations[name]
    assert container_insights_problems(unassociated) == [f"{rule_id} is not associated with the cluster"]


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
    # Every VNet of the primary region (the DR landing zone in the paired region has no Grafana to reach).
    primary = {
        v["location"]
        for v in resources_of(infra, "azurerm_virtual_network").values()
        if "/network/" in v["//"]["metadata"]["path"]
    }
    assert linked == {
        f"${{azurerm_virtual_network.{a}.id}}"
        for a, v in resources_of(infra, "azurerm_virtual_network").items()
        if v["location"] in primary
    }


def test_an_action_group_per_severity_with_every_channel_from_config(
    stacks: dict[str, StackJson], environment: str
) -> None:
    """The people channels in the infra stack's group, the webhook channel in the alerting stack's (its secret address
    stays out of the state the plan identity reads)."""
    config = load_environment(environment).observability
    infra, alerting = stacks[f"{environment}-infra"], stacks[f"{environment}-alerting"]
    groups = {g["name"]: g for g in resources_of(infra, "azurerm_monitor_action_group").values()}
    channel_groups = {g["name"]: g for g in resources_of(alerting, "azurerm_monitor_action_group").values()}
    assert len(groups) == len(channel_groups) == len(SEVERITIES)
    for severity in SEVERITIES:
        receivers = config.receivers[severity]
        (group,) = [g for g in groups.values() if g["short_name"] == receivers.short_name]
        (channel,) = [g for g in channel_groups.values() if g["short_name"] == receivers.short_name]
        assert group["location"] == channel["location"] == "global"
        assert not {"webhook_receiver", "logic_app_receiver"} & set(group)
        assert not {"email_receiver", "sms_receiver", "voice_receiver", "azure_app_push_receiver"} & set(channel)
        if receivers.webhook_name == "pagerduty":
            (webhook,) = channel["webhook_receiver"]
            assert webhook["name"] == "pagerduty" and webhook["use_common_alert_schema"] is True
            assert webhook["service_uri"] == f"${{var.{severity}_alert_webhook_url}}"
            assert "logic_app_receiver" not in channel
        else:
            (adapter,) = channel["logic_app_receiver"]
            assert adapter["use_common_alert_schema"] is True
            assert adapter["resource_id"].startswith("${azurerm_logic_app_workflow.")
            assert adapter["callback_url"].startswith("${azurerm_logic_app_trigger_http_request.")
            assert adapter["callback_url"].endswith(".callback_url}")
            assert "webhook_receiver" not in channel
        assert [e["email_address"] for e in group.get("email_receiver", [])] == list(receivers.emails)
        assert [(r["country_code"], r["phone_number"]) for r in group.get("sms_receiver", [])] == [
            (p.country_code, p.number) for p in receivers.sms
        ]
        assert [(r["country_code"], r["phone_number"]) for r in group.get("voice_receiver", [])] == [
            (p.country_code, p.number) for p in receivers.voice
        ]
        assert [r["email_address"] for r in group.get("azure_app_push_receiver", [])] == list(receivers.azure_app_push)
    # Production's on-call is paged by phone as well as by PagerDuty.
    critical = config.receivers["critical"]
    assert critical.sms and critical.voice and critical.azure_app_push


def test_no_receiver_secret_is_a_literal(stacks: dict[str, StackJson]) -> None:
    """Every webhook URL in every stack (the action groups' webhooks, the chat adapters' SecureString parameter)
    is a reference to a sensitive variable, never a value in the JSON."""
    checked = 0
    for stack in stacks.values():
        variables = stack.get("variable", {})
        urls = [
            receiver["service_uri"]
            for group in resources_of(stack, "azurerm_monitor_action_group").values()
            for receiver in group.get("webhook_receiver", [])
        ] + [
            value
            for workflow in resources_of(stack, "azurerm_logic_app_workflow").values()
            for value in workflow.get("parameters", {}).values()
        ]
        for url in urls:
            match = re.fullmatch(r"\$\{var\.(\w+)\}", url)
            assert match, url
            variable: dict[str, Any] = variables[match.group(1)]
            assert variable["sensitive"] is True and "default" not in variable
            checked += 1
    assert checked == len(ENVIRONMENTS) * len(SEVERITIES)


def _observability(tmp_path: Path, **changes: Any) -> None:
    config = load_environment("staging")
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "observability")
    props = dict(
        config=config.observability,
        naming=Naming("stg", "erp01"),
        location="eastus",
        resource_group_name="rg",
        log_analytics_workspace_id=DIAGNOSTICS_SINK.log_analytics_workspace_id,
        diagnostics=DIAGNOSTICS_SINK,
        webhook_action_group_ids={severity: f"/subscriptions/s/{severity}" for severity in SEVERITIES},
        private_endpoint=PrivateEndpointPlacement(subnet_id="subnet", location="eastus", resource_group_name="rg"),
        virtual_network_ids={"spoke": "vnet"},
        metrics_retention_days=90,
    )
    Observability(stack, "observability", props=ObservabilityProps(**{**props, **changes}))


def test_a_retention_beyond_what_the_monitor_workspace_keeps_is_refused(tmp_path: Path) -> None:
    _observability(tmp_path / "ok", metrics_retention_days=MONITOR_WORKSPACE_RETENTION_DAYS)
    with pytest.raises(ValueError, match="exceeds the 540 days"):
        _observability(tmp_path / "bad", metrics_retention_days=MONITOR_WORKSPACE_RETENTION_DAYS + 1)


def test_a_severity_without_its_channel_group_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"lacks the severities \['warning'\]"):
        _observability(tmp_path, webhook_action_group_ids={"critical": "/subscriptions/s/critical"})
