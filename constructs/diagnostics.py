"""Diagnostic settings on every resource that supports them, from ONE table, plus the synth-time check.

`DIAGNOSTICS` says, per Terraform resource type, which resource logs (category groups such as `allLogs`,
or named categories) and whether platform metrics go to the Log Analytics workspace; `NO_DIAGNOSTICS`
lists the types Azure offers no diagnostic settings for (or that need none), each with its reason.
Each construct declares the settings of its own resources from this table (`diagnostics()` in
constructs/interfaces.py, to the `DiagnosticsSink` in its props). `DiagnosticsCoverage`, a validation the
stack adds once, creates nothing: it fails synth when a resource of a supported type has no setting or
several (per storage sub-service too), or when a resource type is in neither table, so a new resource can
be neither forgotten nor left unclassified.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import jsii
from cdktf import (
    DefaultTokenResolver,
    StringConcat,
    TerraformResource,
    TerraformStack,
    Tokenization,
)
from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import MonitorDiagnosticSetting

from constructs import IValidation
from constructs.resource_types import resource_type

CATEGORY_GROUPS = ("allLogs", "audit")
ALL_LOGS = ("allLogs",)
SETTING_NAME = "to-log-analytics"
SETTING_TYPE = "azurerm_monitor_diagnostic_setting"


@dataclass(frozen=True)
class DiagnosticProfile:
    """What one resource (or sub-resource) sends: log category groups/categories and whether metrics."""

    logs: tuple[str, ...] = ALL_LOGS
    metrics: bool = True
    # The metric categories the type accepts: most take "AllMetrics"; storage accounts and their services reject
    # it (400 "Metric category 'AllMetrics' is not supported, supported categories are: 'Capacity;Transaction'").
    metric_categories: tuple[str, ...] = ("AllMetrics",)
    # Resource-specific tables (e.g. AZFWNetworkRule, AKSAudit) instead of the shared AzureDiagnostics table.
    dedicated_tables: bool = False
    # Sub-resources with diagnostics of their own, by id suffix (storage: "blobServices/default").
    sub_resources: Mapping[str, DiagnosticProfile] = field(default_factory=dict)


STORAGE_METRIC_CATEGORIES = ("Capacity", "Transaction")  # reference/monitor.json metric_categories
_STORAGE_SERVICE = DiagnosticProfile(metric_categories=STORAGE_METRIC_CATEGORIES)
DIAGNOSTICS: Mapping[str, DiagnosticProfile] = {
    # Story 3.1: API audit, Entra ID auth (guard) and the autoscaler's decisions. Audit is kube-audit-admin only,
    # as the AKS baseline exports it: every write (kube-audit adds the get/list reads, repeating the writes, at
    # several times the volume and cost).
    "azurerm_kubernetes_cluster": DiagnosticProfile(
        logs=("kube-audit-admin", "guard", "cluster-autoscaler"), dedicated_tables=True
    ),
    "azurerm_firewall": DiagnosticProfile(dedicated_tables=True),
    "azurerm_application_gateway": DiagnosticProfile(dedicated_tables=True),
    "azurerm_key_vault": DiagnosticProfile(),
    "azurerm_postgresql_flexible_server": DiagnosticProfile(),
    "azurerm_eventhub_namespace": DiagnosticProfile(dedicated_tables=True),
    # The account itself has metrics only; reads, writes and deletes are logged per service.
    "azurerm_storage_account": DiagnosticProfile(
        logs=(),
        metric_categories=STORAGE_METRIC_CATEGORIES,
        sub_resources={
            f"{service}/default": _STORAGE_SERVICE
            for service in ("blobServices", "fileServices", "queueServices", "tableServices")
        },
    ),
    "azurerm_network_security_group": DiagnosticProfile(metrics=False),  # NSGs have no platform metrics
    "azurerm_container_registry": DiagnosticProfile(),
    "azurerm_public_ip": DiagnosticProfile(),
    "azurerm_virtual_network": DiagnosticProfile(),
    "azurerm_virtual_network_gateway": DiagnosticProfile(),
    "azurerm_bastion_host": DiagnosticProfile(),
    # Backup vault metrics are not exportable through diagnostic settings; its events are.
    "azurerm_data_protection_backup_vault": DiagnosticProfile(metrics=False, dedicated_tables=True),
    "azurerm_recovery_services_vault": DiagnosticProfile(metrics=False, dedicated_tables=True),
    "azurerm_log_analytics_workspace": DiagnosticProfile(),  # query audit (LAQueryLogs) of the workspace itself
    # The chat adapters' runs (did the alert reach Slack/Teams?). Metrics stay in Azure Monitor (no export needed).
    "azurerm_logic_app_workflow": DiagnosticProfile(logs=("WorkflowRuntime",), metrics=False),
    # GrafanaLoginEvents, GrafanaUsageInsightsEvents. No metrics: Grafana's two platform metrics are not exportable
    # through diagnostic settings ("DS Export: No" in reference/monitor.json).
    "azurerm_dashboard_grafana": DiagnosticProfile(metrics=False),
    # The runners' stdout (registration, job steps) and the platform's events (KEDA scaling, image pulls). No metrics:
    # no exportable metric row is in reference/monitor.json for the type.
    "azurerm_container_app_environment": DiagnosticProfile(
        logs=("ContainerAppConsoleLogs", "ContainerAppSystemLogs"), metrics=False, dedicated_tables=True
    ),
}

# Types with no diagnostic settings in Azure (child objects, links, assignments) or with nothing to add.
NO_DIAGNOSTICS: Mapping[str, str] = {
    **{
        resource_type: "a child object or link: its parent resource's logs cover it"
        for resource_type in (
            "azurerm_subnet",
            "azurerm_subnet_network_security_group_association",
            "azurerm_subnet_route_table_association",
            "azurerm_network_security_rule",
            "azurerm_virtual_network_peering",
            "azurerm_private_dns_zone_virtual_network_link",
            "azurerm_private_dns_a_record",
            "azurerm_firewall_policy_rule_collection_group",
            "azurerm_key_vault_key",
            "azurerm_key_vault_secret",
            "azurerm_key_vault_certificate",
            "azurerm_eventhub",
            "azurerm_eventhub_consumer_group",
            "azurerm_eventhub_namespace_disaster_recovery_config",
            "azurerm_postgresql_flexible_server_active_directory_administrator",
            "azurerm_postgresql_flexible_server_configuration",
            "azurerm_postgresql_flexible_server_database",
            "azurerm_storage_container",
            "azurerm_storage_management_policy",
            "azurerm_storage_account_customer_managed_key",
            "azurerm_kubernetes_cluster_node_pool",
            "azurerm_kubernetes_cluster_extension",
            "azurerm_kubernetes_cluster_trusted_access_role_binding",
            "azurerm_federated_identity_credential",
            "azurerm_data_protection_backup_instance_kubernetes_cluster",
            "azurerm_data_protection_backup_instance_blob_storage",
            "azurerm_data_protection_backup_instance_postgresql_flexible_server",
            "azurerm_data_protection_backup_policy_kubernetes_cluster",
            "azurerm_data_protection_backup_policy_blob_storage",
            "azurerm_data_protection_backup_policy_postgresql_flexible_server",
            "azurerm_monitor_data_collection_rule_association",
            "azurerm_dashboard_grafana_managed_private_endpoint",
            "azurerm_private_endpoint_application_security_group_association",
            "azurerm_monitor_private_link_scoped_service",
            "azurerm_logic_app_trigger_http_request",
            "azurerm_log_analytics_saved_search",
            "azurerm_logic_app_action_custom",
        )
    },
    **{
        resource_type: "Azure offers no diagnostic settings for this resource type"
        for resource_type in (
            "azurerm_resource_group",
            "azurerm_route_table",
            "azurerm_private_dns_zone",
            "azurerm_firewall_policy",
            "azurerm_web_application_firewall_policy",
            "azurerm_user_assigned_identity",
            "azurerm_disk_encryption_set",
            "azurerm_pim_eligible_role_assignment",
            "azurerm_role_assignment",
            "azurerm_role_definition",
            "azurerm_resource_provider_feature_registration",
            "azurerm_management_lock",
            "azurerm_monitor_action_group",
            "azurerm_monitor_metric_alert",
            "azurerm_monitor_activity_log_alert",
            "azurerm_monitor_alert_processing_rule_action_group",
            "azurerm_monitor_alert_prometheus_rule_group",
            "azurerm_monitor_scheduled_query_rules_alert_v2",
            "azurerm_monitor_alert_processing_rule_action_group",
            "azurerm_log_analytics_workspace_table_custom_log",
            "azurerm_monitor_diagnostic_setting",
            "azurerm_monitor_data_collection_endpoint",
            "azurerm_monitor_private_link_scope",
            "azurerm_application_insights_standard_web_test",
            "azurerm_application_insights_workbook",
            "azurerm_network_watcher_flow_log",
            "azurerm_policy_definition",
            "azurerm_policy_set_definition",
            "azurerm_subscription_policy_assignment",
            "azurerm_resource_group_policy_assignment",
            "azurerm_resource_policy_assignment",
            "azurerm_management_group_policy_assignment",
            "azurerm_security_center_subscription_pricing",
            "azurerm_security_center_contact",
            "azurerm_security_center_setting",
            "azurerm_security_center_auto_provisioning",
            "azurerm_consumption_budget_subscription",
            "azurerm_cost_anomaly_alert",
            "azurerm_consumption_budget_resource_group",
            "azurerm_application_security_group",
        )
    },
    "azurerm_container_app_job": "its executions log through its environment's setting (console and system logs)",
    # Private endpoints expose only traffic metrics, which Azure Monitor keeps without a setting.
    "azurerm_private_endpoint": "metrics only, kept by Azure Monitor without a setting; no resource logs",
    # Its telemetry is written to the Log Analytics workspace already (workspace-based component).
    "azurerm_application_insights": "workspace-based: its telemetry already lands in the Log Analytics workspace",
    "azurerm_monitor_workspace": "its Prometheus metrics are the monitoring data; usage metrics stay in Azure Monitor",
    "azurerm_monitor_data_collection_rule": (
        "its error logs are a preview feature; ingestion metrics stay in Azure Monitor"
    ),
}


_REFERENCE = re.compile(r"\$\{(\w+\.[\w-]+)\.id\}(?:/(.+))?")
# setting -> (its resource, sub-resource suffix or None), recorded by `diagnostics()` (constructs/interfaces.py) as
# it creates each setting: the check then reads no setting back through the kernel (two round trips a setting).
_declared: weakref.WeakKeyDictionary[TerraformResource, tuple[TerraformResource, str | None]] = (
    weakref.WeakKeyDictionary()
)


def record_setting(setting: TerraformResource, resource: TerraformResource, sub_resource: str | None) -> None:
    _declared[setting] = (resource, sub_resource)


def _setting_counts(
    stack: TerraformStack, resources: list[TerraformResource]
) -> Counter[tuple[TerraformResource, str | None]]:
    """Diagnostic settings per (resource, sub-resource): declared ones from their record, others read back."""
    counts: Counter[tuple[TerraformResource, str | None]] = Counter(
        _declared[setting] for setting in resources if setting in _declared
    )
    undeclared = [node for node in resources if resource_type(node) == SETTING_TYPE and node not in _declared]
    if not undeclared:
        return counts
    by_address = {
        f"{resource_type(node)}.{stack.get_logical_id(node)}": node
        for node in resources
        if resource_type(node) in DIAGNOSTICS
    }
    resolver = DefaultTokenResolver(StringConcat())
    for setting in undeclared:
        resolved = str(
            Tokenization.resolve(
                cast(MonitorDiagnosticSetting, setting).target_resource_id_input,
                scope=stack,
                preparing=False,
                resolver=resolver,
            )
        )
        match = _REFERENCE.fullmatch(resolved)
        if match and match.group(1) in by_address:
            counts[(by_address[match.group(1)], match.group(2))] += 1
    return counts


def coverage_problems(stack: TerraformStack) -> list[tuple[TerraformResource, str]]:
    """(resource, problem) for every azurerm resource of the stack that breaks the diagnostics rule.

    A setting `diagnostics()` declared is counted from its record; any other setting of the stack (none should
    exist: tests/constructs/test_interfaces.py) is read back and matched by its target's address, so a setting
    written by hand still counts, and a removed one is missed."""
    resources = [node for node in stack.node.find_all() if isinstance(node, TerraformResource)]
    counts = _setting_counts(stack, resources)
    problems = []
    for resource in resources:
        kind = resource_type(resource)
        if not kind.startswith("azurerm_") or kind in NO_DIAGNOSTICS:
            continue
        profile = DIAGNOSTICS.get(kind)
        if profile is None:
            problems.append(
                (resource, "type is in neither DIAGNOSTICS nor NO_DIAGNOSTICS (constructs/diagnostics.py): classify it")
            )
            continue
        for sub_resource in (None, *profile.sub_resources):
            count = counts[(resource, sub_resource)]
            if count != 1:
                address = f"{kind}.{stack.get_logical_id(resource)}"  # only to name a problem
                target = f"{address}/{sub_resource}" if sub_resource else address
                hint = ": its construct must declare diagnostics() (constructs/interfaces.py)" if count == 0 else ""
                problems.append((resource, f"has {count} diagnostic settings on {target}, needs exactly 1{hint}"))
    return problems


@jsii.implements(IValidation)
class DiagnosticsCoverage:
    """AZ-DIAG-1: every resource of a type in DIAGNOSTICS has exactly one diagnostic setting (per sub-resource);
    every azurerm resource type is classified. Creates nothing: add it once per stack with a workspace
    (`stack.node.add_validation(DiagnosticsCoverage(stack))`). A stack validation runs once per synth, after the
    Aspects (an Aspect would cost a kernel callback for every construct of the stack)."""

    def __init__(self, stack: TerraformStack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        return [
            f"AZ-DIAG-1 {resource_type(resource)} '{resource.node.path}': {problem}"
            for resource, problem in coverage_problems(self._stack)
        ]
