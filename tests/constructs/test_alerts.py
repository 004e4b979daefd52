"""Alerts in both infra stacks: every metric alert of the table on its resource with the configured
threshold and routed by severity; the Kubernetes Prometheus rules; the SLA web test, its alert and workbook."""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path

import pytest
from cdktf import App, TerraformStack

from config.loader import load_environment
from constructs.alerts import (
    AZURE_SEVERITY,
    BURN_RATE_WINDOWS,
    LAST_DRILL_QUERY,
    METRIC_ALERTS,
    Alerts,
    AlertsProps,
    effective_severity,
)
from constructs.naming import Naming
from constructs.notifications import webhook_receiver_ids
from constructs.platform_groups import platform_groups
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
    "registry": ("azurerm_container_registry", "/registry/registry"),
    "bastion": ("azurerm_bastion_host", "/network/bastion"),
}


def alert_rule_group(infra: StackJson) -> dict:
    """Story 3.1's Prometheus alert rule group (the recording rule groups: tests/tools/test_grafana_dashboards.py;
    Microsoft's recommended ones: tests/constructs/test_recommended_alerts.py)."""
    (group,) = [
        g
        for g in resources_of(infra, "azurerm_monitor_alert_prometheus_rule_group").values()
        if "RecordingRules" not in g["name"] and "RecommendedMetricAlerts" not in g["name"]
    ]
    return group


def action_groups_by_severity(stack: StackJson, environment: str) -> dict[str, list[str]]:
    """Severity -> every group its alerts name: the stack's people group, then the alerting stack's channel group by
    its config-derived id."""
    config = load_environment(environment)
    receivers = config.observability.receivers
    channels = webhook_receiver_ids(
        Naming(config.short_name, config.unique_suffix),
        {severity: receiver.webhook_name for severity, receiver in receivers.items()},
        config.subscription_id,
        platform_groups(config)["monitoring"].name,
    ).action_group_ids
    return {
        severity: [f"${{azurerm_monitor_action_group.{address}.id}}", channels[severity]]
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
        (a["criteria"][0]["metric_name"], a["scopes"][0]): a
        for a in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if "criteria" in a and "/alerts/amba-" not in a["//"]["metadata"]["path"]
    }
    # On the target and on every other resource of its type (the target's peers: vaults, accounts, namespaces).
    watched = [
        (spec, f"${{{TARGETS[spec.target][0]}.{address}.id}}")
        for spec in METRIC_ALERTS
        for address in sorted(resources_of(infra, TARGETS[spec.target][0]))
    ]
    assert len(alerts) == len(watched) > len(METRIC_ALERTS)
    for spec, resource_id in watched:
        alert = alerts[(spec.metric, resource_id)]
        assert alert["criteria"][0]["metric_namespace"] == spec.namespace
        (criterion,) = alert["criteria"]
        assert criterion["threshold"] == getattr(thresholds, spec.threshold)
        assert (criterion["operator"], criterion["aggregation"]) == (spec.operator, spec.aggregation)
        severity = effective_severity(
            spec.severity, edge=spec.edge, edge_live=load_environment(environment).app_gateway.edge_live
        )
        assert alert["severity"] == AZURE_SEVERITY[severity]
        assert alert["action"] == [{"action_group_id": group} for group in groups[severity]]


def test_prometheus_rules_realise_the_story_kubernetes_alerts(infra: StackJson, environment: str) -> None:
    thresholds = load_environment(environment).observability.thresholds
    groups = action_groups_by_severity(infra, environment)
    rule_group = alert_rule_group(infra)
    (cluster,) = resources_of(infra, "azurerm_kubernetes_cluster")
    (workspace,) = resources_of(infra, "azurerm_monitor_workspace")
    assert rule_group["scopes"] == [
        f"${{azurerm_monitor_workspace.{workspace}.id}}",
        f"${{azurerm_kubernetes_cluster.{cluster}.id}}",
    ]
    assert rule_group["cluster_name"] == load_environment(environment).prometheus_cluster_label == environment
    rules = {rule["alert"]: rule for rule in rule_group["rule"]}
    assert rules["KubePodRestartingOften"]["expression"].endswith(
        f"[15m])) > {thresholds.aks_pod_restarts_per_15_minutes}"
    )
    assert rules["KubeNodeNotReady"]["for"] == f"PT{thresholds.aks_not_ready_node_minutes}M"
    for rule in rules.values():
        severity = rule["labels"]["severity"]
        assert rule["severity"] == AZURE_SEVERITY[severity]
        assert rule["action"] == [{"action_group_id": group} for group in groups[severity]]
    assert rules["KubeNodeNotReady"]["labels"]["severity"] == "critical"
    # Issue #15: Azure requires `for` >= PT1M (the provider only checks it is not empty); PT0M failed at apply.
    for rule in rules.values():
        assert re.fullmatch(r"PT([1-9][0-9]*)M", rule["for"]), rule


CLUSTER_SELECTOR = re.compile(r'cluster="([^"]*)"')


def prometheus_label_problems(infra: StackJson, cluster_stack: StackJson) -> list[str]:
    """Why the Prometheus rules would never fire: the metrics carry `cluster=<cluster_alias>` (the agent's
    ConfigMap in the cluster stack); the rule group's cluster_name and every expression's cluster selector
    must be that value, and every expression must select on it."""
    (settings,) = [
        c
        for c in resources_of(cluster_stack, "kubernetes_config_map_v1").values()
        if c["metadata"]["name"] == "ama-metrics-settings-configmap"
    ]
    (alias,) = re.findall(r'cluster_alias\s*=\s*"([^"]*)"', settings["data"]["prometheus-collector-settings"])
    problems = []
    for group in resources_of(infra, "azurerm_monitor_alert_prometheus_rule_group").values():
        if group.get("cluster_name") != alias:
            problems.append(f"{group['name']}: cluster_name {group.get('cluster_name')!r}, metrics carry {alias!r}")
        for rule in group["rule"]:
            if rule.get("record") or "RecommendedMetricAlerts" in group["name"]:
                # Microsoft's recording and recommended alert rules select no cluster label (kept verbatim): the
                # group's cluster_name (checked above) scopes them to the cluster's series, as in Microsoft's groups.
                continue
            selectors = set(CLUSTER_SELECTOR.findall(rule["expression"]))
            if selectors != {alias}:
                problems.append(f"{rule['alert']}: cluster selectors {sorted(selectors)}, metrics carry {alias!r}")
    return problems


def test_prometheus_rules_select_the_label_the_agent_puts_on_metrics(
    stacks: dict[str, StackJson], environment: str
) -> None:
    assert prometheus_label_problems(stacks[f"{environment}-infra"], stacks[f"{environment}-cluster"]) == []


def test_prometheus_label_check_rejects_the_aks_resource_name(stacks: dict[str, StackJson], environment: str) -> None:
    """Failing example: the rule group as it was (cluster_name = the AKS resource name, no selector)."""
    infra = copy.deepcopy(stacks[f"{environment}-infra"])
    group = alert_rule_group(infra)
    (cluster,) = resources_of(infra, "azurerm_kubernetes_cluster")
    group["cluster_name"] = f"${{azurerm_kubernetes_cluster.{cluster}.name}}"
    for rule in group["rule"]:
        rule["expression"] = CLUSTER_SELECTOR.sub("", rule["expression"]).replace(",,", ",").replace(",}", "}")
    problems = prometheus_label_problems(infra, stacks[f"{environment}-cluster"])
    assert len(problems) == 1 + len(group["rule"])
    assert problems[0].endswith(f"metrics carry {environment!r}")


def short_for_rules(infra: StackJson) -> list[str]:
    """Prometheus alert rules whose `for` is under one minute: Azure rejects them when the group is created."""
    found = []
    for group in resources_of(infra, "azurerm_monitor_alert_prometheus_rule_group").values():
        for rule in group["rule"]:
            if rule.get("record"):
                continue  # a recording rule has no `for`
            match = re.fullmatch(r"PT(\d+)M", rule.get("for", "PT0M"))
            if not match or int(match.group(1)) < 1:
                found.append(f"{rule['alert']}: for {rule.get('for')!r}")
    return found


def test_every_prometheus_rule_waits_at_least_a_minute(stacks: dict[str, StackJson], environment: str) -> None:
    assert short_for_rules(stacks[f"{environment}-infra"]) == []


def test_short_for_check_rejects_pt0m(stacks: dict[str, StackJson], environment: str) -> None:
    """Failing example: the restart rule as it was (`for = PT0M`)."""
    infra = copy.deepcopy(stacks[f"{environment}-infra"])
    group = alert_rule_group(infra)
    (restart,) = [rule for rule in group["rule"] if rule["alert"] == "KubePodRestartingOften"]
    restart["for"] = "PT0M"
    assert short_for_rules(infra) == ["KubePodRestartingOften: for 'PT0M'"]


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
    severity = "critical" if load_environment(environment).app_gateway.edge_live else "warning"
    assert alert["scopes"] == [test_id, component_id] and alert["severity"] == AZURE_SEVERITY[severity]
    assert alert["action"] == [
        {"action_group_id": group} for group in action_groups_by_severity(infra, environment)[severity]
    ]


EDGE_METRICS = {"UnhealthyHostCount"}


def paging_edge_alerts(stack: StackJson, critical_group: str) -> list[str]:
    """Edge alerts (App Gateway backend health, availability web test) that would page on-call."""
    return [
        alert["name"]
        for alert in resources_of(stack, "azurerm_monitor_metric_alert").values()
        if (
            "application_insights_web_test_location_availability_criteria" in alert
            or any(c["metric_name"] in EDGE_METRICS for c in alert.get("criteria", []))
        )
        and (alert["severity"] == AZURE_SEVERITY["critical"] or {"action_group_id": critical_group} in alert["action"])
    ]


def test_edge_alerts_page_only_once_the_edge_is_live(infra: StackJson, environment: str) -> None:
    critical = action_groups_by_severity(infra, environment)["critical"][0]
    paging = paging_edge_alerts(infra, critical)
    if load_environment(environment).app_gateway.edge_live:
        assert len(paging) == 2
    else:
        assert paging == []
    # Failing example: the former behaviour (sev 0 to PagerDuty from the first minute) is caught.
    broken = json.loads(json.dumps(infra))
    for alert in resources_of(broken, "azurerm_monitor_metric_alert").values():
        alert.update(severity=AZURE_SEVERITY["critical"], action=[{"action_group_id": critical}])
    assert len(paging_edge_alerts(broken, critical)) == 2


@pytest.mark.parametrize("edge_live, expected", [(False, "warning"), (True, "critical")])
def test_edge_severity_follows_edge_live(edge_live: bool, expected: str) -> None:
    assert effective_severity("critical", edge=True, edge_live=edge_live) == expected
    assert effective_severity("critical", edge=False, edge_live=edge_live) == "critical"


def test_the_sla_workbook_has_a_stable_name_and_reports_the_target(infra: StackJson, environment: str) -> None:
    config = load_environment(environment)
    workbooks = resources_of(infra, "azurerm_application_insights_workbook")
    [workbook] = [body for key, body in workbooks.items() if key.startswith("sla_")]  # the others: test_workbooks.py
    workbook_name = Naming(config.short_name, config.unique_suffix).name("sla", "workbook")
    assert workbook["name"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:erp-platform:workbook:{workbook_name}"))
    body = json.loads(workbook["data_json"])
    queries = [
        item["content"]["query"]
        for item in body["items"]
        if item["type"] == 3 and item["content"]["resourceType"] == "microsoft.insights/components"
    ]
    sla = config.observability.availability_test.sla_percent
    assert queries and all(f"sla_target = {sla}" in query for query in queries)
    test_name = only_resource(infra, "azurerm_application_insights_standard_web_test")["name"]
    assert all(f"name == '{test_name}'" in query for query in queries)
    # The business-continuity section: the last restore drill per component, from the workspace.
    (drills,) = [item for item in body["items"] if item["name"] == "last-drill-per-component"]
    assert drills["content"]["query"] == LAST_DRILL_QUERY and "DrDrillResults_CL" in LAST_DRILL_QUERY
    (workspace,) = resources_of(infra, "azurerm_log_analytics_workspace")
    assert drills["content"]["crossComponentResources"] == [f"${{azurerm_log_analytics_workspace.{workspace}.id}}"]


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
                action_group_ids={"critical": ("c",), "warning": ("w",)},
                targets={"redis": "id"},
                cluster_id="cluster",
                prometheus_cluster_label="staging",
                monitor_workspace_id="amw",
                backup_alerts_severity="critical",
            ),
        )


def test_the_observability_page_lists_every_metric_alert() -> None:
    page = Path("docs/platform/observability.md").read_text()
    section = page.split("## Observability and alerting", 1)[1].split("\n## ", 1)[0]
    assert [spec.metric for spec in METRIC_ALERTS if f"`{spec.metric}`" not in section] == []


def test_sla_burn_rate_alerts_page_fast_and_ticket_slow(infra: StackJson, environment: str) -> None:
    """Multiwindow, multi-burn-rate alerts on the edge's SLA error budget (Google SRE workbook), from config."""
    config = load_environment(environment)
    sla = config.observability.availability_test
    rules = {
        r["name"]: r
        for r in resources_of(infra, "azurerm_monitor_scheduled_query_rules_alert_v2").values()
        if "-sla-burn-rate-" in r["name"]
    }
    assert len(rules) == len(BURN_RATE_WINDOWS) == 2
    (web_test,) = resources_of(infra, "azurerm_application_insights_standard_web_test").values()
    groups = action_groups_by_severity(infra, config.name)
    for window in BURN_RATE_WINDOWS:
        (rule,) = [r for name, r in rules.items() if f"-sla-burn-rate-{window.key}-" in name]
        rate = getattr(sla, window.rate_field)
        (criteria,) = rule["criteria"]
        query = criteria["query"]
        assert f"name == '{web_test['name']}'" in query
        assert f"let budget = (100.0 - {sla.sla_percent}) / 100.0;" in query
        assert f"long_burn > {rate} and short_burn > {rate}" in query
        assert f"burn({window.short_window_minutes}m)" in query
        assert rule["window_duration"] == window.long_window and rule["evaluation_frequency"] == window.frequency
        assert criteria["operator"] == "GreaterThan" and criteria["threshold"] == 0
        severity = effective_severity(window.severity, edge=True, edge_live=config.app_gateway.edge_live)
        assert rule["severity"] == AZURE_SEVERITY[severity]
        assert rule["action"]["action_groups"] == groups[severity]
    # The fast window pages (critical) once the edge is live; the slow one opens a ticket (warning).
    assert [w.severity for w in BURN_RATE_WINDOWS] == ["critical", "warning"]


def test_a_fast_burn_rate_not_above_the_slow_one_is_refused(raw_config) -> None:
    from config.loader import ConfigError, parse_environment
    from tests.config.test_loader import set_key

    data = raw_config("staging")
    set_key(data, "observability.availability_test.fast_burn_rate", 6.0)
    with pytest.raises(ConfigError, match=r"observability\.availability_test\.fast_burn_rate"):
        parse_environment(data, "config/staging.toml")


def test_a_cost_anomaly_alert_mails_the_budget_contacts(infra: StackJson, environment: str) -> None:
    config = load_environment(environment)
    (alert,) = resources_of(infra, "azurerm_cost_anomaly_alert").values()
    assert alert["subscription_id"] == f"/subscriptions/{config.subscription_id}"
    assert alert["email_addresses"] == list(config.governance.budget.contact_emails)
    assert len(alert["email_subject"]) <= 70  # Azure's limit for the subject


def test_policy_non_compliance_alerts_and_the_monthly_report_query(infra: StackJson, environment: str) -> None:
    """Compliance over time: Azure Policy's audit and deny events (activity log, kept in the workspace for the log
    retention) alert the warning group, and a saved query reports them per month."""
    from constructs.observability import SAVED_QUERIES
    from constructs.workbooks import OPERATOR_QUERIES

    alerts = {a["name"]: a for a in resources_of(infra, "azurerm_monitor_activity_log_alert").values()}
    groups = action_groups_by_severity(infra, environment)
    operations = {a["criteria"]["operation_name"]: a for a in alerts.values() if a["criteria"]["category"] == "Policy"}
    assert sorted(operations) == [
        "Microsoft.Authorization/policies/audit/action",
        "Microsoft.Authorization/policies/deny/action",
    ]
    assert all(a["action"] == [{"action_group_id": g} for g in groups["warning"]] for a in operations.values())
    searches = {s["name"]: s for s in resources_of(infra, "azurerm_log_analytics_saved_search").values()}
    assert sorted(searches) == sorted({**SAVED_QUERIES, **OPERATOR_QUERIES})
    (workspace,) = resources_of(infra, "azurerm_log_analytics_workspace")
    assert all(
        s["log_analytics_workspace_id"] == f"${{azurerm_log_analytics_workspace.{workspace}.id}}"
        for s in searches.values()
    )
    report = searches["monthly-policy-compliance"]["query"]
    assert "CategoryValue == 'Policy'" in report and "startofmonth" in report
