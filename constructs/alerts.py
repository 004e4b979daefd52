"""Alert rules with thresholds from config, routed by severity to the action groups.

Platform metric alerts watch the Azure services (AKS nodes, PostgreSQL, Event Hubs, Storage, Key Vault,
firewall, App Gateway); Prometheus rules watch Kubernetes objects (story 3.1's pod restarts and node
readiness); an availability web test and its alert watch the public endpoint against the SLA, with a
workbook that reports it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf import Fn
from cdktf_cdktf_provider_azurerm.application_insights_standard_web_test import (
    ApplicationInsightsStandardWebTest,
    ApplicationInsightsStandardWebTestRequest,
    ApplicationInsightsStandardWebTestValidationRules,
)
from cdktf_cdktf_provider_azurerm.application_insights_workbook import ApplicationInsightsWorkbook
from cdktf_cdktf_provider_azurerm.cost_anomaly_alert import CostAnomalyAlert
from cdktf_cdktf_provider_azurerm.monitor_activity_log_alert import (
    MonitorActivityLogAlert,
    MonitorActivityLogAlertAction,
    MonitorActivityLogAlertCriteria,
    MonitorActivityLogAlertCriteriaResourceHealth,
    MonitorActivityLogAlertCriteriaServiceHealth,
)
from cdktf_cdktf_provider_azurerm.monitor_alert_processing_rule_action_group import (
    MonitorAlertProcessingRuleActionGroup,
    MonitorAlertProcessingRuleActionGroupCondition,
    MonitorAlertProcessingRuleActionGroupConditionMonitorService,
)
from cdktf_cdktf_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroup,
    MonitorAlertPrometheusRuleGroupRule,
    MonitorAlertPrometheusRuleGroupRuleAction,
    MonitorAlertPrometheusRuleGroupRuleAlertResolution,
)
from cdktf_cdktf_provider_azurerm.monitor_metric_alert import (
    MonitorMetricAlert,
    MonitorMetricAlertAction,
    MonitorMetricAlertApplicationInsightsWebTestLocationAvailabilityCriteria,
    MonitorMetricAlertCriteria,
    MonitorMetricAlertCriteriaDimension,
    MonitorMetricAlertDynamicCriteria,
    MonitorMetricAlertDynamicCriteriaDimension,
)
from cdktf_cdktf_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
    MonitorScheduledQueryRulesAlertV2Action,
    MonitorScheduledQueryRulesAlertV2Criteria,
    MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods,
)

from config.observability import AMBA_ACTIVITY_ALERTS, AMBA_ALERTS, AlertThresholds, AmbaAlerts, AvailabilityTest
from constructs import Construct
from constructs.naming import Naming
from constructs.prometheus_rule_group import cluster_rule_group

# Azure alert severities (0 = Critical ... 4 = Verbose) of this platform's two alert levels.
AZURE_SEVERITY = {"critical": 0, "warning": 2}


@dataclass(frozen=True)
class MetricAlertSpec:
    """One platform metric alert: on which target, which metric, and which threshold key of the config."""

    target: str  # key of AlertsProps.targets
    namespace: str
    metric: str
    aggregation: str
    operator: str
    threshold: str  # field of AlertThresholds
    severity: str
    description: str
    # An edge alert (public entry): it pages only once the edge is declared live (app_gateway.edge_live);
    # before that it notifies the warning receivers at warning severity.
    edge: bool = False


def effective_severity(severity: str, *, edge: bool, edge_live: bool) -> str:
    """The severity an alert is created with: edge alerts are held at warning until the edge is live."""
    return "warning" if edge and not edge_live else severity


METRIC_ALERTS: tuple[MetricAlertSpec, ...] = (
    MetricAlertSpec(
        "aks",
        "Microsoft.ContainerService/managedClusters",
        "node_cpu_usage_percentage",
        "Average",
        "GreaterThan",
        "aks_node_cpu_percent",
        "warning",
        "AKS node CPU usage is high",
    ),
    MetricAlertSpec(
        "aks",
        "Microsoft.ContainerService/managedClusters",
        "node_memory_working_set_percentage",
        "Average",
        "GreaterThan",
        "aks_node_memory_working_set_percent",
        "warning",
        "AKS node memory working set is high",
    ),
    MetricAlertSpec(
        "postgres",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "cpu_percent",
        "Average",
        "GreaterThan",
        "postgres_cpu_percent",
        "warning",
        "PostgreSQL CPU is high",
    ),
    MetricAlertSpec(
        "postgres",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "storage_percent",
        "Average",
        "GreaterThan",
        "postgres_storage_percent",
        "critical",
        "PostgreSQL storage is nearly full",
    ),
    MetricAlertSpec(
        "postgres",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "active_connections",
        "Average",
        "GreaterThan",
        "postgres_active_connections",
        "warning",
        "PostgreSQL active connections are high",
    ),
    MetricAlertSpec(
        "event_hubs",
        "Microsoft.EventHub/namespaces",
        "ThrottledRequests",
        "Total",
        "GreaterThan",
        "eventhub_throttled_requests",
        "warning",
        "Event Hubs is throttling requests",
    ),
    MetricAlertSpec(
        "event_hubs",
        "Microsoft.EventHub/namespaces",
        "ServerErrors",
        "Total",
        "GreaterThan",
        "eventhub_server_errors",
        "critical",
        "Event Hubs returns server errors",
    ),
    MetricAlertSpec(
        "storage",
        "Microsoft.Storage/storageAccounts",
        "Availability",
        "Average",
        "LessThan",
        "storage_availability_percent",
        "critical",
        "Storage availability is below target",
    ),
    MetricAlertSpec(
        "key_vault",
        "Microsoft.KeyVault/vaults",
        "Availability",
        "Average",
        "LessThan",
        "key_vault_availability_percent",
        "critical",
        "Key Vault availability is below target",
    ),
    MetricAlertSpec(
        "firewall",
        "Microsoft.Network/azureFirewalls",
        "FirewallHealth",
        "Average",
        "LessThan",
        "firewall_health_percent",
        "critical",
        "Firewall health is degraded",
    ),
    MetricAlertSpec(
        "firewall",
        "Microsoft.Network/azureFirewalls",
        "SNATPortUtilization",
        "Maximum",
        "GreaterThan",
        "firewall_snat_port_utilization_percent",
        "warning",
        "Firewall SNAT ports are running out",
    ),
    MetricAlertSpec(
        "app_gateway",
        "Microsoft.Network/applicationGateways",
        "UnhealthyHostCount",
        "Average",
        "GreaterThan",
        "app_gateway_unhealthy_hosts",
        "critical",
        "App Gateway has unhealthy backend hosts",
        edge=True,
    ),
)
# Azure accepts a Prometheus alert rule `for` of one minute to one day (PT0M fails at apply).
PROMETHEUS_MIN_FOR_MINUTES = 1
PROMETHEUS_MAX_FOR_MINUTES = 1440
# ARM type → the target key (AlertsProps.targets: one resource, AlertsProps.peers: the type's other resources) whose
# resources an AMBA alert of that type watches; the registry and Bastion have AMBA alerts only.
AMBA_TARGETS = {
    **{spec.namespace: spec.target for spec in METRIC_ALERTS},
    "Microsoft.ContainerRegistry/registries": "registry",
    "Microsoft.Network/bastionHosts": "bastion",
    "Microsoft.Network/routeTables": "route_table",
    "Microsoft.OperationalInsights/workspaces": "log_analytics",
}
# ARM type → the instances key (AlertsProps.instances: several resources, one metric alert each).
AMBA_INSTANCES = {
    "Microsoft.Logic/workflows": "chat_adapter",
    "Microsoft.Network/networkSecurityGroups": "network_security_group",
    "Microsoft.Network/privateDnsZones": "private_dns_zone",
    "Microsoft.Network/publicIPAddresses": "public_ip",
    "Microsoft.Network/virtualNetworks": "virtual_network",
}
ALERT_TARGETS = tuple(sorted(set(AMBA_TARGETS.values())))
ALERT_INSTANCES = tuple(sorted(set(AMBA_INSTANCES.values())))
# The platform's own alert on the same (type, metric) stands for AMBA's: its threshold is already in config.
_COVERED = {(spec.namespace, spec.metric) for spec in METRIC_ALERTS}


def amba_resource_type(namespace: str) -> str:
    """The resource type of an AMBA metric namespace: `Microsoft.Storage/storageAccounts/blobServices` → its account."""
    return "/".join(namespace.split("/")[:2])


def amba_scope_suffix(namespace: str) -> str:
    """What a sub-resource alert appends to its resource's id: `/blobServices/default`; "" on the resource itself."""
    service = namespace.split("/")[2:]
    return f"/{service[0]}/default" if service else ""


def amba_kind(arm_type: str) -> str | None:
    """The targets or instances key of the resources of an ARM type; None: the platform does not watch it."""
    return AMBA_TARGETS.get(arm_type) or AMBA_INSTANCES.get(arm_type)


def amba_route(severity: int, *, edge: bool, edge_live: bool) -> tuple[str, int]:
    """(action group severity, Azure severity) of an AMBA alert: 0-1 page (critical), 2-4 go to warning; an edge
    alert is held at warning until the edge is live."""
    route = "critical" if severity <= 1 else "warning"
    if effective_severity(route, edge=edge, edge_live=edge_live) != route:
        return "warning", max(severity, AZURE_SEVERITY["warning"])
    return route, severity


def amba_alert_keys(targets: Mapping[str, object] | set[str], amba: AmbaAlerts) -> list[str]:
    """The AMBA metric alerts (reference/amba.json keys) the platform creates for the watched targets and instances."""
    return [
        key
        for key, alert in sorted(AMBA_ALERTS.items())
        if amba_kind(amba_resource_type(alert["metric_namespace"])) in targets
        and (alert["metric_namespace"], alert["metric_name"]) not in _COVERED
        and key not in amba.disabled
    ]


def amba_activity_keys(targets: Mapping[str, object] | set[str], amba: AmbaAlerts) -> list[str]:
    """The AMBA activity-log alerts the platform creates: one per operation on a type it has (subscription-wide)."""
    return [
        key
        for key, alert in sorted(AMBA_ACTIVITY_ALERTS.items())
        if amba_kind(alert["resource_type"]) in targets and key not in amba.disabled
    ]


def amba_activity_route(key: str) -> str:
    """The action group of an AMBA activity-log alert (AMBA gives them no severity): a deletion pages, a change of
    a resource (route written, key regenerated) goes to the warning receivers."""
    return "critical" if AMBA_ACTIVITY_ALERTS[key]["operation_name"].endswith("/delete") else "warning"


@dataclass(frozen=True)
class ActivityLogAlertSpec:
    """One subscription-wide activity-log alert (AMBA's Service Health and Resource Health alerts, and the
    Defender for Cloud security alerts, which land in the activity log's Security category)."""

    key: str
    category: str  # an activity log category (reference/monitor.json subscription_log_categories)
    severity: str
    description: str
    service_health_events: tuple[str, ...] = ()
    resource_health_current: tuple[str, ...] = ()
    operation_name: str | None = None


ACTIVITY_LOG_ALERTS: tuple[ActivityLogAlertSpec, ...] = (
    ActivityLogAlertSpec(
        "service-health-incident",
        "ServiceHealth",
        "critical",
        "Azure service incident or security advisory affecting this subscription",
        service_health_events=("Incident", "Security"),
    ),
    ActivityLogAlertSpec(
        "service-health-planned",
        "ServiceHealth",
        "warning",
        "Planned maintenance, action required or health advisory for this subscription",
        service_health_events=("Maintenance", "ActionRequired", "Informational"),
    ),
    ActivityLogAlertSpec(
        "resource-health",
        "ResourceHealth",
        "critical",
        "A resource of this subscription became unavailable or degraded",
        resource_health_current=("Degraded", "Unavailable"),
    ),
    # Azure Policy's effects write these operations to the activity log (Microsoft Learn, "Sample alert payloads",
    # Activity Log - Policy): a resource found non-compliant (audit) or a request refused (deny).
    ActivityLogAlertSpec(
        "policy-non-compliant",
        "Policy",
        "warning",
        "Azure Policy found a resource non-compliant (audit)",
        operation_name="Microsoft.Authorization/policies/audit/action",
    ),
    ActivityLogAlertSpec(
        "policy-denied",
        "Policy",
        "warning",
        "Azure Policy denied a request",
        operation_name="Microsoft.Authorization/policies/deny/action",
    ),
    ActivityLogAlertSpec(
        "defender-security-alert",
        "Security",
        "critical",
        "Microsoft Defender for Cloud raised a security alert",
    ),
)
# Alerts Azure Backup raises itself (job failures, security events of the vaults): an alert processing rule
# adds the action group to them (Microsoft Learn, "Azure Monitor alerts for Azure Backup"). The value is one of
# the rule condition's monitor services (azurerm monitor_alert_processing_rule_action_group, `monitor_service`).
# One rule routes them for the whole subscription (every vault); `tools/checks/drill_coverage.py` fails on a second.
BACKUP_MONITOR_SERVICE = "Azure Backup"


@dataclass(frozen=True)
class AlertsProps:
    thresholds: AlertThresholds
    naming: Naming
    location: str
    resource_group_name: str
    action_group_ids: Mapping[str, tuple[str, ...]]  # severity → every action group id (Observability.action_group_ids)
    targets: Mapping[str, str]  # ALERT_TARGETS key → resource id; alerts of a missing key are not created
    cluster_id: str
    # The `cluster` label of the scraped metrics: the agent's cluster_alias
    # (EnvironmentConfig.prometheus_cluster_label), not the AKS resource name; the rule group and every
    # expression filter on it.
    prometheus_cluster_label: str
    monitor_workspace_id: str
    backup_alerts_severity: str  # recovery.backup_alerts_severity: who hears Azure Backup's own alerts
    edge_live: bool = True  # False: edge alerts notify the warning receivers instead of paging
    # The subscription (GUID) whose activity-log alerts (Service Health, Resource Health, Defender) and
    # Azure Backup alerts reach the action groups; None: none are created.
    subscription_id: str | None = None
    # Who receives Cost Management's anomaly alert for the subscription (e-mail only: the anomaly alert takes no
    # action group). Empty: no anomaly alert.
    cost_anomaly_emails: tuple[str, ...] = ()
    # Severity and threshold overrides of the AMBA alerts; default: AMBA's values for every alert of a target.
    amba: AmbaAlerts = field(default_factory=AmbaAlerts)
    # ALERT_INSTANCES key → {instance name → resource id}: AMBA alerts on each (chat adapters by their severity).
    instances: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # ALERT_TARGETS key → {peer name → resource id}: the other resources of a target's type (a second storage
    # account, more vaults, the DR namespace). Each gets the target's alerts, platform and AMBA, under ids of its
    # own ("<target>-<peer>-..."): the target's alerts keep their ids and names.
    peers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class Alerts(Construct):
    """Exposes `metric_alerts` (alert key → alert) and `prometheus_rules` (the rule group)."""

    def __init__(self, scope: Construct, id: str, *, props: AlertsProps) -> None:
        super().__init__(scope, id)
        unknown = sorted(set(props.targets) - set(ALERT_TARGETS))
        if unknown:
            raise ValueError(f"alerts: unknown targets {unknown} (known: {list(ALERT_TARGETS)})")
        unknown = sorted(set(props.instances) - set(ALERT_INSTANCES))
        if unknown:
            raise ValueError(f"alerts: unknown instances {unknown} (known: {list(ALERT_INSTANCES)})")
        unknown = sorted(set(props.peers) - set(props.targets))
        if unknown:
            raise ValueError(
                f"alerts: peers of targets {unknown} that are not watched (targets: {sorted(props.targets)})"
            )
        self._props = props
        # "<target>-<metric>" on a target, "<target>-<peer>-<metric>" on a peer → alert
        self.metric_alerts: dict[str, MonitorMetricAlert] = {}
        for spec in (spec for spec in METRIC_ALERTS if spec.target in props.targets):
            key = f"{spec.target}-{spec.metric}"
            self.metric_alerts[key] = self._metric_alert(spec, key, props.targets[spec.target])
            for peer, resource_id in self._peers(spec.target):
                key = f"{spec.target}-{peer}-{spec.metric}"
                self.metric_alerts[key] = self._metric_alert(spec, key, resource_id)
        watched = set(props.targets) | set(props.instances)
        # "<AMBA key>" for a target, "<AMBA key>@<instance>" for an instance or a target's peer → alert
        self.amba_alerts: dict[str, MonitorMetricAlert] = {}
        for key in amba_alert_keys(watched, props.amba):
            self.amba_alerts.update(self._amba_alerts(key))
        self.prometheus_rules = self._prometheus_rules()
        self.activity_log_alerts: dict[str, MonitorActivityLogAlert] = {}
        if props.subscription_id is not None:
            subscription = f"/subscriptions/{props.subscription_id}"
            self.activity_log_alerts = {
                spec.key: self._activity_log_alert(spec, subscription) for spec in ACTIVITY_LOG_ALERTS
            }
            for key in amba_activity_keys(watched, props.amba):
                self.activity_log_alerts[key] = self._amba_activity_alert(key, subscription)
            MonitorAlertProcessingRuleActionGroup(
                self,
                "backup-alerts",
                name=props.naming.name("backup-alerts", "apr"),
                resource_group_name=props.resource_group_name,
                scopes=[subscription],
                add_action_group_ids=list(props.action_group_ids[props.backup_alerts_severity]),
                description="Azure Backup's own alerts (failed jobs, vault security) reach the on-call channels",
                condition=MonitorAlertProcessingRuleActionGroupCondition(
                    monitor_service=MonitorAlertProcessingRuleActionGroupConditionMonitorService(
                        operator="Equals", values=[BACKUP_MONITOR_SERVICE]
                    )
                ),
            )
            if props.cost_anomaly_emails:
                CostAnomalyAlert(
                    self,
                    "cost-anomaly",
                    name=props.naming.name("cost-anomaly", "alert"),
                    display_name=f"{props.naming.name('cost-anomaly', 'alert')}: daily cost anomaly",
                    subscription_id=subscription,
                    email_addresses=list(props.cost_anomaly_emails),
                    email_subject="Azure cost anomaly detected in the ERP platform subscription",
                    message="Cost Management detected an anomaly in daily cost; see docs/operations.md (Cost).",
                )

    def _activity_log_alert(self, spec: ActivityLogAlertSpec, scope: str) -> MonitorActivityLogAlert:
        return MonitorActivityLogAlert(
            self,
            spec.key,
            name=self._props.naming.name(spec.key, "alert"),
            resource_group_name=self._props.resource_group_name,
            location="global",
            scopes=[scope],
            description=spec.description,
            criteria=MonitorActivityLogAlertCriteria(
                category=spec.category,
                operation_name=spec.operation_name,
                service_health=MonitorActivityLogAlertCriteriaServiceHealth(events=list(spec.service_health_events))
                if spec.service_health_events
                else None,
                resource_health=MonitorActivityLogAlertCriteriaResourceHealth(
                    current=list(spec.resource_health_current)
                )
                if spec.resource_health_current
                else None,
            ),
            action=self._activity_action(spec.severity),
        )

    def _activity_action(self, severity: str) -> list[MonitorActivityLogAlertAction]:
        return [
            MonitorActivityLogAlertAction(action_group_id=group) for group in self._props.action_group_ids[severity]
        ]

    def _action(self, severity: str) -> list[MonitorMetricAlertAction]:
        return [MonitorMetricAlertAction(action_group_id=group) for group in self._props.action_group_ids[severity]]

    def _peers(self, target: str) -> list[tuple[str, str]]:
        """(peer name, resource id) of a target's peers, sorted by name."""
        return sorted(self._props.peers.get(target, {}).items())

    def _metric_alert(self, spec: MetricAlertSpec, key: str, resource_id: str) -> MonitorMetricAlert:
        severity = effective_severity(spec.severity, edge=spec.edge, edge_live=self._props.edge_live)
        return MonitorMetricAlert(
            self,
            key,
            name=self._props.naming.name(key.replace("_", "-").lower(), "alert"),
            resource_group_name=self._props.resource_group_name,
            scopes=[resource_id],
            description=spec.description,
            severity=AZURE_SEVERITY[severity],
            frequency="PT1M",
            window_size="PT5M",
            criteria=[
                MonitorMetricAlertCriteria(
                    metric_namespace=spec.namespace,
                    metric_name=spec.metric,
                    aggregation=spec.aggregation,
                    operator=spec.operator,
                    threshold=getattr(self._props.thresholds, spec.threshold),
                )
            ],
            action=self._action(severity),
        )

    def _amba_alerts(self, key: str) -> dict[str, MonitorMetricAlert]:
        """The metric alerts of one AMBA definition: on its target and each of the target's peers, or one on each of
        its instances."""
        namespace = AMBA_ALERTS[key]["metric_namespace"]
        arm_type = amba_resource_type(namespace)
        # A sub-resource's id stays in the construct id (amba-storage-blobServices-BlobCapacity).
        service = "".join(f"{part}-" for part in namespace.split("/")[2:])
        if arm_type in AMBA_TARGETS:
            target = AMBA_TARGETS[arm_type]
            alerts = {key: self._amba_alert(key, f"{target}-{service}", self._props.targets[target], target)}
            for peer, resource_id in self._peers(target):
                alerts[f"{key}@{peer}"] = self._amba_alert(key, f"{target}-{peer}-{service}", resource_id, target)
            return alerts
        kind = AMBA_INSTANCES[arm_type]
        return {
            f"{key}@{instance}": self._amba_alert(key, f"{kind}-{instance}-{service}", resource_id, kind)
            for instance, resource_id in sorted(self._props.instances[kind].items())
        }

    def _amba_alert(self, key: str, prefix: str, resource_id: str, kind: str) -> MonitorMetricAlert:
        amba = AMBA_ALERTS[key]
        severity, threshold = self._props.amba.resolved(key)
        route, azure_severity = amba_route(severity, edge=kind == "app_gateway", edge_live=self._props.edge_live)
        name = f"amba-{prefix}{amba['metric_name']}"
        return MonitorMetricAlert(
            self,
            name,
            name=self._props.naming.name(name.replace("_", "-").replace(".", "-").lower(), "alert"),
            resource_group_name=self._props.resource_group_name,
            scopes=[resource_id + amba_scope_suffix(amba["metric_namespace"])],
            description=f"AMBA {amba['name']}: {amba['description']}",
            severity=azure_severity,
            frequency=amba["frequency"],
            window_size=amba["window_size"],
            criteria=[self._amba_criterion(key, threshold)] if threshold is not None else None,
            dynamic_criteria=self._amba_dynamic_criterion(key) if threshold is None else None,
            action=self._action(route),
        )

    @staticmethod
    def _amba_criterion(key: str, threshold: float) -> MonitorMetricAlertCriteria:
        amba = AMBA_ALERTS[key]
        return MonitorMetricAlertCriteria(
            metric_namespace=amba["metric_namespace"],
            metric_name=amba["metric_name"],
            aggregation=amba["aggregation"],
            operator=amba["operator"],
            threshold=threshold,
            dimension=[MonitorMetricAlertCriteriaDimension(**d) for d in amba.get("dimensions", [])] or None,
        )

    def _amba_dynamic_criterion(self, key: str) -> MonitorMetricAlertDynamicCriteria:
        amba = AMBA_ALERTS[key]
        return MonitorMetricAlertDynamicCriteria(
            metric_namespace=amba["metric_namespace"],
            metric_name=amba["metric_name"],
            aggregation=amba["aggregation"],
            operator=amba["operator"],
            alert_sensitivity=self._props.amba.sensitivity(key),
            evaluation_total_count=amba["dynamic"]["evaluation_total_count"],
            evaluation_failure_count=amba["dynamic"]["evaluation_failure_count"],
            dimension=[MonitorMetricAlertDynamicCriteriaDimension(**d) for d in amba.get("dimensions", [])] or None,
        )

    def _amba_activity_alert(self, key: str, subscription: str) -> MonitorActivityLogAlert:
        amba = AMBA_ACTIVITY_ALERTS[key]
        name = "amba-" + key.replace("/activity/", "-").replace("/", "-").replace(".", "-").lower()
        return MonitorActivityLogAlert(
            self,
            name,
            name=self._props.naming.name(name, "alert"),
            resource_group_name=self._props.resource_group_name,
            location="global",
            scopes=[subscription],
            description=f"AMBA {amba['name']}: {amba['description']}",
            criteria=MonitorActivityLogAlertCriteria(
                category=amba["category"],
                operation_name=amba["operation_name"],
                resource_type=amba["resource_type"],
                statuses=amba["statuses"],
            ),
            action=self._activity_action(amba_activity_route(key)),
        )

    def _prometheus_rules(self) -> MonitorAlertPrometheusRuleGroup:
        props, thresholds = self._props, self._props.thresholds
        cluster = f'cluster="{props.prometheus_cluster_label}"'

        def rule(
            name: str, expression: str, for_minutes: int, severity: str, summary: str
        ) -> MonitorAlertPrometheusRuleGroupRule:
            if not PROMETHEUS_MIN_FOR_MINUTES <= for_minutes <= PROMETHEUS_MAX_FOR_MINUTES:
                raise ValueError(
                    f"alerts: Prometheus rule {name} 'for' of {for_minutes} minutes; Azure accepts "
                    f"{PROMETHEUS_MIN_FOR_MINUTES} to {PROMETHEUS_MAX_FOR_MINUTES} minutes"
                )
            return MonitorAlertPrometheusRuleGroupRule(
                alert=name,
                enabled=True,
                expression=expression,
                for_=f"PT{for_minutes}M",
                severity=AZURE_SEVERITY[severity],
                labels={"severity": severity},
                annotations={"summary": summary},
                action=[
                    MonitorAlertPrometheusRuleGroupRuleAction(action_group_id=group)
                    for group in props.action_group_ids[severity]
                ],
                alert_resolution=MonitorAlertPrometheusRuleGroupRuleAlertResolution(
                    auto_resolved=True, time_to_resolve="PT10M"
                ),
            )

        return cluster_rule_group(
            self,
            "kubernetes-rules",
            props,
            name=props.naming.name("aks-kubernetes", "prom"),
            description="Story 3.1 Kubernetes alerts (managed Prometheus)",
            rules=[
                rule(
                    "KubePodRestartingOften",
                    "sum by (cluster, namespace, pod) (increase(kube_pod_container_status_restarts_total"
                    f'{{job="kube-state-metrics",{cluster}}}[15m])) > {thresholds.aks_pod_restarts_per_15_minutes}',
                    PROMETHEUS_MIN_FOR_MINUTES,  # Azure's minimum "for"; the 15-minute window does the smoothing
                    "warning",
                    "Pod {{ $labels.namespace }}/{{ $labels.pod }} restarted more than "
                    f"{thresholds.aks_pod_restarts_per_15_minutes} times in 15 minutes",
                ),
                rule(
                    "KubeNodeNotReady",
                    f'kube_node_status_condition{{job="kube-state-metrics",{cluster},condition="Ready",'
                    'status="true"} == 0',
                    thresholds.aks_not_ready_node_minutes,
                    "critical",
                    "Node {{ $labels.node }} is not ready",
                ),
                rule(
                    "KubePodNotReady",
                    f'sum by (cluster, namespace, pod) (kube_pod_status_phase{{job="kube-state-metrics",{cluster},'
                    'phase=~"Pending|Unknown|Failed"}) > 0',
                    15,
                    "warning",
                    "Pod {{ $labels.namespace }}/{{ $labels.pod }} has not been ready for 15 minutes",
                ),
            ],
        )


@dataclass(frozen=True)
class SlaMonitoringProps:
    config: AvailabilityTest
    naming: Naming
    location: str
    resource_group_name: str
    application_insights_id: str
    action_group_ids: Mapping[str, tuple[str, ...]]  # severity → every action group id (Observability.action_group_ids)
    edge_live: bool = True  # False: the availability alert notifies the warning receivers instead of paging
    # The workspace holding the restore drills' results (DrDrillResults_CL): the workbook's business-continuity
    # section shows the last drill per component. None: no such section.
    drill_results_workspace_id: str | None = None


# The business-continuity section: each component's last drill, its measured RPO/RTO and verdict.
LAST_DRILL_QUERY = (
    "DrDrillResults_CL | summarize arg_max(TimeGenerated, *) by Component, Drill "
    "| project Component, Drill, LastRun = TimeGenerated, Succeeded, RpoMinutes, RtoMinutes, RunId, Detail "
    "| order by Component asc, Drill asc"
)


@dataclass(frozen=True)
class BurnRateWindow:
    """One multiwindow burn-rate alert: both windows must burn the error budget faster than `rate`."""

    key: str
    long_window: str  # ISO 8601 duration, also the rule's window_duration
    short_window_minutes: int
    frequency: str
    severity: str
    rate_field: str  # field of AvailabilityTest


BURN_RATE_WINDOWS = (
    BurnRateWindow("fast", "PT1H", 5, "PT5M", "critical", "fast_burn_rate"),
    BurnRateWindow("slow", "PT6H", 30, "PT15M", "warning", "slow_burn_rate"),
)


def burn_rate_query(test_name: str, sla_percent: float, window: BurnRateWindow, rate: float) -> str:
    """KQL returning one row when both windows burn the error budget faster than `rate` (else none). The SLI is
    the availability test's success ratio; the error budget is 100 - SLA percent."""
    hours = {"PT1H": "1h", "PT6H": "6h"}[window.long_window]
    return (
        f"let budget = (100.0 - {sla_percent}) / 100.0;\n"
        "let burn = (w: timespan) { availabilityResults "
        f"| where timestamp > ago(w) and name == '{test_name}' "
        "| summarize failed = todouble(countif(success == false)), total = todouble(count()) "
        "| project rate = iff(total == 0.0, 0.0, failed / total / budget) };\n"
        f"let long_burn = toscalar(burn({hours}));\n"
        f"let short_burn = toscalar(burn({window.short_window_minutes}m));\n"
        "print long_burn, short_burn\n"
        f"| where long_burn > {rate} and short_burn > {rate}"
    )


def sla_workbook(
    application_insights_id: str, test_name: str, sla_percent: float, drill_results_workspace_id: str | None = None
) -> str:
    """The workbook's JSON: daily and 30-day availability of the test against the SLA target."""
    query = (
        f"availabilityResults | where name == '{test_name}' "
        "| summarize availability = 100.0 * countif(success == 1) / count() by bin(timestamp, 1d) "
        f"| extend sla_target = {sla_percent}"
    )
    monthly = (
        f"availabilityResults | where name == '{test_name}' and timestamp > ago(30d) "
        "| summarize availability_30d = round(100.0 * countif(success == 1) / count(), 3) "
        f"| extend sla_target = {sla_percent}, sla_met = availability_30d >= {sla_percent}"
    )

    def query_item(name: str, kql: str, visualization: str) -> dict:
        return {
            "type": 3,
            "name": name,
            "content": {
                "version": "KqlItem/1.0",
                "query": kql,
                "size": 0,
                "timeContext": {"durationMs": 2592000000},
                "queryType": 0,
                "resourceType": "microsoft.insights/components",
                "crossComponentResources": [application_insights_id],
                "visualization": visualization,
            },
        }

    return json.dumps(
        {
            "version": "Notebook/1.0",
            "items": [
                {"type": 1, "name": "title", "content": {"json": f"## Availability SLA ({sla_percent}%)"}},
                query_item("availability-30-days", monthly, "table"),
                query_item("availability-daily", query, "linechart"),
                *(
                    [
                        {"type": 1, "name": "drills-title", "content": {"json": "## Last drill per component"}},
                        {
                            "type": 3,
                            "name": "last-drill-per-component",
                            "content": {
                                "version": "KqlItem/1.0",
                                "query": LAST_DRILL_QUERY,
                                "size": 0,
                                "timeContext": {"durationMs": 7776000000},  # 90 days: a dozen weekly runs
                                "queryType": 0,
                                "resourceType": "microsoft.operationalinsights/workspaces",
                                "crossComponentResources": [drill_results_workspace_id],
                                "visualization": "table",
                            },
                        },
                    ]
                    if drill_results_workspace_id
                    else []
                ),
            ],
            "isLocked": False,
            "fallbackResourceIds": [application_insights_id],
        },
        sort_keys=True,
    )


class SlaMonitoring(Construct):
    """A standard web test against the public endpoint from several regions, an alert when it fails in
    `failed_locations_for_alert` of them, and the SLA workbook. Exposes `web_test_id`."""

    def __init__(self, scope: Construct, id: str, *, props: SlaMonitoringProps) -> None:
        super().__init__(scope, id)
        config, naming = props.config, props.naming
        test_name = naming.name("public-endpoint", "webtest")
        self.web_test = ApplicationInsightsStandardWebTest(
            self,
            "web-test",
            name=test_name,
            location=props.location,
            resource_group_name=props.resource_group_name,
            application_insights_id=props.application_insights_id,
            description=f"SLA {config.sla_percent}% probe of {config.url}",
            geo_locations=list(config.locations),
            frequency=config.frequency_seconds,
            timeout=30,
            retry_enabled=True,
            request=ApplicationInsightsStandardWebTestRequest(url=config.url, http_verb="GET"),
            validation_rules=ApplicationInsightsStandardWebTestValidationRules(
                expected_status_code=200, ssl_check_enabled=True, ssl_cert_remaining_lifetime=14
            ),
        )
        self.web_test_id = self.web_test.id
        severity = effective_severity("critical", edge=True, edge_live=props.edge_live)
        MonitorMetricAlert(
            self,
            "availability-alert",
            name=naming.name("public-endpoint-availability", "alert"),
            resource_group_name=props.resource_group_name,
            scopes=[self.web_test.id, props.application_insights_id],
            description=f"The public endpoint fails from {config.failed_locations_for_alert} or more locations",
            severity=AZURE_SEVERITY[severity],
            application_insights_web_test_location_availability_criteria=(
                MonitorMetricAlertApplicationInsightsWebTestLocationAvailabilityCriteria(
                    web_test_id=self.web_test.id,
                    component_id=props.application_insights_id,
                    failed_location_count=config.failed_locations_for_alert,
                )
            ),
            action=[MonitorMetricAlertAction(action_group_id=group) for group in props.action_group_ids[severity]],
        )
        for window in BURN_RATE_WINDOWS:
            rate = getattr(config, window.rate_field)
            severity = effective_severity(window.severity, edge=True, edge_live=props.edge_live)
            MonitorScheduledQueryRulesAlertV2(
                self,
                f"burn-rate-{window.key}",
                name=naming.name(f"sla-burn-rate-{window.key}", "alert"),
                resource_group_name=props.resource_group_name,
                location=props.location,
                scopes=[props.application_insights_id],
                description=(
                    f"The public endpoint burns its {config.sla_percent}% SLA error budget more than {rate}x too fast "
                    f"over {window.long_window} and the last {window.short_window_minutes} minutes"
                ),
                severity=AZURE_SEVERITY[severity],
                evaluation_frequency=window.frequency,
                window_duration=window.long_window,
                criteria=[
                    MonitorScheduledQueryRulesAlertV2Criteria(
                        query=burn_rate_query(test_name, config.sla_percent, window, rate),
                        time_aggregation_method="Count",
                        operator="GreaterThan",
                        threshold=0,
                        failing_periods=MonitorScheduledQueryRulesAlertV2CriteriaFailingPeriods(
                            minimum_failing_periods_to_trigger_alert=1, number_of_evaluation_periods=1
                        ),
                    )
                ],
                auto_mitigation_enabled=True,
                action=MonitorScheduledQueryRulesAlertV2Action(action_groups=list(props.action_group_ids[severity])),
            )
        workbook_name = naming.name("sla", "workbook")
        ApplicationInsightsWorkbook(
            self,
            "sla-workbook",
            name=str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:erp-platform:workbook:{workbook_name}")),
            display_name=f"{workbook_name}: availability SLA {config.sla_percent}%",
            location=props.location,
            resource_group_name=props.resource_group_name,
            source_id=Fn.lower(props.application_insights_id),
            category="workbook",
            data_json=sla_workbook(
                props.application_insights_id, test_name, config.sla_percent, props.drill_results_workspace_id
            ),
        )
