"""Diagnostic settings on every resource that supports them, from ONE table, plus the synth-time check.

`DIAGNOSTICS` says, per Terraform resource type, which resource logs (category groups such as `allLogs`,
or named categories) and whether platform metrics go to the Log Analytics workspace; `NO_DIAGNOSTICS`
lists the types Azure offers no diagnostic settings for (or that need none), each with its reason.
`DiagnosticSettings`, created once at the end of a stack, walks the stack and adds one setting per
resource (and per storage sub-service); the `DiagnosticsCoverage` validation it adds to the stack fails
synth when a
resource of a supported type has no setting or several, or when a resource type is in neither table,
so a new resource can be neither forgotten nor left unclassified.
"""

from __future__ import annotations

import re
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
from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)

from constructs import Construct, IValidation
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
    # Resource-specific tables (e.g. AZFWNetworkRule, AKSAudit) instead of the shared AzureDiagnostics table.
    dedicated_tables: bool = False
    # Sub-resources with diagnostics of their own, by id suffix (storage: "blobServices/default").
    sub_resources: Mapping[str, DiagnosticProfile] = field(default_factory=dict)


_STORAGE_SERVICE = DiagnosticProfile()
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
    # GrafanaLoginEvents, GrafanaUsageInsightsEvents. No metrics: Grafana's two platform metrics are not exportable
    # through diagnostic settings ("DS Export: No" in reference/monitor.json).
    "azurerm_dashboard_grafana": DiagnosticProfile(metrics=False),
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
            "azurerm_role_assignment",
            "azurerm_role_definition",
            "azurerm_management_lock",
            "azurerm_monitor_action_group",
            "azurerm_monitor_metric_alert",
            "azurerm_monitor_activity_log_alert",
            "azurerm_monitor_alert_prometheus_rule_group",
            "azurerm_monitor_scheduled_query_rules_alert_v2",
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
            "azurerm_consumption_budget_resource_group",
            "azurerm_application_security_group",
        )
    },
    # Private endpoints expose only traffic metrics, which Azure Monitor keeps without a setting.
    "azurerm_private_endpoint": "metrics only, kept by Azure Monitor without a setting; no resource logs",
    # Its telemetry is written to the Log Analytics workspace already (workspace-based component).
    "azurerm_application_insights": "workspace-based: its telemetry already lands in the Log Analytics workspace",
    "azurerm_monitor_workspace": "its Prometheus metrics are the monitoring data; usage metrics stay in Azure Monitor",
    "azurerm_monitor_data_collection_rule": (
        "its error logs are a preview feature; ingestion metrics stay in Azure Monitor"
    ),
}


def _setting_id(path: str, sub_resource: str | None) -> str:
    """A construct id from the resource's node path (stable across runs, unique within the stack)."""
    parts = path.split("/")[1:]  # without the stack
    if sub_resource:
        parts.append(sub_resource.split("/")[0])
    return "-".join(parts)


@dataclass(frozen=True)
class DiagnosticSettingsProps:
    log_analytics_workspace_id: str


class DiagnosticSettings(Construct):
    """Create it once, after every other construct of the stack: one setting per diagnosable resource (and
    storage sub-service) to the workspace, and the `DiagnosticsCoverage` check on the whole stack.
    Exposes `settings` (construct id → setting)."""

    def __init__(self, scope: Construct, id: str, *, props: DiagnosticSettingsProps) -> None:
        super().__init__(scope, id)
        stack = TerraformStack.of(self)
        self.settings: dict[str, MonitorDiagnosticSetting] = {}
        # Paths only of the diagnosable resources: each path is two round trips to the jsii kernel.
        diagnosable: dict[str, tuple[TerraformResource, DiagnosticProfile]] = {}
        for node in stack.node.find_all():
            kind = resource_type(node)
            if kind is not None and kind in DIAGNOSTICS and isinstance(node, TerraformResource):
                diagnosable[node.node.path] = (node, DIAGNOSTICS[kind])
        for path, (resource, profile) in sorted(diagnosable.items()):
            targets = [(None, profile), *profile.sub_resources.items()]
            for sub_resource, target_profile in targets:
                setting_id = _setting_id(path, sub_resource)
                if setting_id in self.settings:
                    raise ValueError(f"diagnostic settings: two resources map to the construct id '{setting_id}'")
                target = (
                    f"{resource.get_string_attribute('id')}/{sub_resource}"
                    if sub_resource
                    else resource.get_string_attribute("id")
                )
                self.settings[setting_id] = self._setting(
                    setting_id, target, target_profile, props.log_analytics_workspace_id
                )
        stack.node.add_validation(DiagnosticsCoverage(stack))

    def _setting(
        self, setting_id: str, target: str, profile: DiagnosticProfile, workspace_id: str
    ) -> MonitorDiagnosticSetting:
        return MonitorDiagnosticSetting(
            self,
            setting_id,
            name=SETTING_NAME,
            target_resource_id=target,
            log_analytics_workspace_id=workspace_id,
            log_analytics_destination_type="Dedicated" if profile.dedicated_tables and profile.logs else None,
            enabled_log=[
                MonitorDiagnosticSettingEnabledLog(category_group=log)
                if log in CATEGORY_GROUPS
                else MonitorDiagnosticSettingEnabledLog(category=log)
                for log in profile.logs
            ]
            or None,
            enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category="AllMetrics")] if profile.metrics else None,
        )


_REFERENCE = re.compile(r"\$\{(\w+\.[\w-]+)\.id\}(?:/(.+))?")


def coverage_problems(stack: TerraformStack) -> list[tuple[TerraformResource, str]]:
    """(resource, problem) for every azurerm resource of the stack that breaks the diagnostics rule."""
    resources = [node for node in stack.node.find_all() if isinstance(node, TerraformResource)]
    resolver = DefaultTokenResolver(StringConcat())
    targets: Counter[tuple[str, str | None]] = Counter()
    for setting in (node for node in resources if resource_type(node) == SETTING_TYPE):
        resolved = str(
            Tokenization.resolve(
                cast(MonitorDiagnosticSetting, setting).target_resource_id_input,
                scope=stack,
                preparing=False,
                resolver=resolver,
            )
        )
        match = _REFERENCE.fullmatch(resolved)
        if match:
            targets[(match.group(1), match.group(2))] += 1
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
        address = f"{kind}.{stack.get_logical_id(resource)}"
        for sub_resource in (None, *profile.sub_resources):
            count = targets[(address, sub_resource)]
            if count != 1:
                target = f"{address}/{sub_resource}" if sub_resource else address
                problems.append((resource, f"has {count} diagnostic settings on {target}, needs exactly 1"))
    return problems


@jsii.implements(IValidation)
class DiagnosticsCoverage:
    """AZ-DIAG-1: every resource of a type in DIAGNOSTICS has exactly one diagnostic setting (per sub-resource);
    every azurerm resource type is classified. A stack validation: it runs once per synth, after the Aspects
    (an Aspect would cost a kernel callback for every construct of the stack)."""

    def __init__(self, stack: TerraformStack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        return [
            f"AZ-DIAG-1 {resource_type(resource)} '{resource.node.path}': {problem}"
            for resource, problem in coverage_problems(self._stack)
        ]
