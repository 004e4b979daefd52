"""Where an environment's telemetry goes and who is told: Log Analytics (`LogAnalytics`, created first: every
construct's diagnostic settings send to it), Application Insights, Azure Monitor managed Prometheus (monitor
workspace, collection endpoint and rule), managed Grafana and the action groups (`Observability`).

Story 3.1's self-hosted Prometheus/Alertmanager is realised by Azure's managed services: the AKS agent
(ama-metrics, configured in constructs/baseline/monitoring.py) ships metrics through the collection rule
to the monitor workspace; Grafana reads it; alert rules (constructs/alerts.py) notify the action groups.
Local (key-based) authentication is off everywhere: writers and readers use Entra ID.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_azurerm.application_insights import ApplicationInsights
from cdktf_cdktf_provider_azurerm.dashboard_grafana import (
    DashboardGrafana,
    DashboardGrafanaAzureMonitorWorkspaceIntegrations,
    DashboardGrafanaIdentity,
)
from cdktf_cdktf_provider_azurerm.log_analytics_saved_search import LogAnalyticsSavedSearch
from cdktf_cdktf_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktf_cdktf_provider_azurerm.monitor_action_group import (
    MonitorActionGroup,
    MonitorActionGroupAzureAppPushReceiver,
    MonitorActionGroupEmailReceiver,
    MonitorActionGroupSmsReceiver,
    MonitorActionGroupVoiceReceiver,
)
from cdktf_cdktf_provider_azurerm.monitor_data_collection_endpoint import MonitorDataCollectionEndpoint
from cdktf_cdktf_provider_azurerm.monitor_data_collection_rule import (
    MonitorDataCollectionRule,
    MonitorDataCollectionRuleDataFlow,
    MonitorDataCollectionRuleDataSources,
    MonitorDataCollectionRuleDataSourcesExtension,
    MonitorDataCollectionRuleDataSourcesPrometheusForwarder,
    MonitorDataCollectionRuleDestinations,
    MonitorDataCollectionRuleDestinationsLogAnalytics,
    MonitorDataCollectionRuleDestinationsMonitorAccount,
)
from cdktf_cdktf_provider_azurerm.monitor_data_collection_rule_association import (
    MonitorDataCollectionRuleAssociation,
)
from cdktf_cdktf_provider_azurerm.monitor_workspace import MonitorWorkspace
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone

from config.observability import SEVERITIES, ContainerInsights, ObservabilityConfig
from constructs import Construct
from constructs.interfaces import GROUP, DiagnosticsSink, RoleGrant, delete_lock, diagnostics, grant
from constructs.locks import why_locked
from constructs.migrations import WORKSPACE_BEFORE, WORKSPACE_LOCK_BEFORE, WORKSPACE_PATH_BEFORE
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement, link_private_dns_zone

PROMETHEUS_STREAM = "Microsoft-PrometheusMetrics"
MONITOR_ACCOUNT_DESTINATION = "MonitoringAccount1"
GRAFANA_DNS_ZONE = "privatelink.grafana.azure.com"
# Container insights through the Azure Monitor agent (ama-logs, managed-identity auth): the streams of Microsoft's
# Terraform onboarding (learn.microsoft.com "Enable Container insights", Terraform tab), ContainerLogV2 schema.
CONTAINER_INSIGHTS_STREAMS = (
    "Microsoft-ContainerLog",
    "Microsoft-ContainerLogV2",
    "Microsoft-KubeEvents",
    "Microsoft-KubePodInventory",
    "Microsoft-KubeNodeInventory",
    "Microsoft-KubePVInventory",
    "Microsoft-KubeServices",
    "Microsoft-KubeMonAgentEvents",
    "Microsoft-InsightsMetrics",
    "Microsoft-ContainerInventory",
    "Microsoft-ContainerNodeInventory",
    "Microsoft-Perf",
)
CONTAINER_INSIGHTS_EXTENSION = "ContainerInsights"
LOG_ANALYTICS_DESTINATION = "ciworkspace"
# The association name Azure and the agent expect for the Container insights rule.
CONTAINER_INSIGHTS_ASSOCIATION = "ContainerInsightsExtension"
# Azure keeps Prometheus metrics in a monitor workspace for 18 months; it cannot be changed.
MONITOR_WORKSPACE_RETENTION_DAYS = 540


@dataclass(frozen=True)
class LogAnalyticsProps:
    config: ObservabilityConfig
    naming: Naming
    location: str
    resource_group_name: str
    protect_from_destroy: bool = True  # a cannot-delete lock on the workspace (the audit trail)


class LogAnalytics(Construct):
    """The environment's Log Analytics workspace, keyless. The stack creates it before the constructs whose
    diagnostic settings send to it. Exposes `workspace_id` and `sink` (the `DiagnosticsSink` their props take)."""

    def __init__(self, scope: Construct, id: str, *, props: LogAnalyticsProps) -> None:
        super().__init__(scope, id)
        config = props.config
        self.workspace = LogAnalyticsWorkspace(
            self,
            "workspace",
            name=props.naming.name("ops", "log"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku="PerGB2018",
            retention_in_days=config.log_retention_days,
            local_authentication_enabled=False,
            internet_ingestion_enabled=config.internet_ingestion_enabled,
            internet_query_enabled=config.internet_query_enabled,
        )
        self.workspace.move_from_id(WORKSPACE_BEFORE)
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.workspace, why=why_locked(self.workspace)).move_from_id(
                WORKSPACE_LOCK_BEFORE
            )
        self.workspace_id = self.workspace.id
        self.sink = DiagnosticsSink(log_analytics_workspace_id=self.workspace_id)
        # Its own query audit (LAQueryLogs), in itself.
        diagnostics(self, "diagnostics", self.workspace, self.sink, path_before=WORKSPACE_PATH_BEFORE)


@dataclass(frozen=True)
class ObservabilityProps:
    config: ObservabilityConfig
    naming: Naming
    location: str
    resource_group_name: str
    log_analytics_workspace_id: (
        str  # LogAnalytics.workspace_id: Application Insights and Container insights write there
    )
    diagnostics: DiagnosticsSink  # where Grafana's diagnostic setting sends (the workspace)
    # Severity -> id of the alerting stack's group with the severity's webhook channel (config-derived:
    # constructs/notifications.py webhook_receiver_ids): every alert names it beside this construct's people group.
    webhook_action_group_ids: Mapping[str, str]
    private_endpoint: PrivateEndpointPlacement  # Grafana's endpoint
    virtual_network_ids: Mapping[str, str]  # networks that resolve Grafana's private DNS name (hub, spoke)
    # Story 3.1's Prometheus retention; must fit in what the monitor workspace keeps.
    metrics_retention_days: int


class Observability(Construct):
    """Exposes `log_analytics_workspace_id` (the one it was given), `application_insights_id`, `monitor_workspace_id`,
    `data_collection_rule_id` (Prometheus), `container_insights_rule_id`, `data_collection_endpoint_id`,
    `grafana_id`, `grafana_dns_zone_id` and `action_group_ids` (severity → the ids of every group an alert of that
    severity names: its people group here and the alerting stack's webhook group)."""

    def __init__(self, scope: Construct, id: str, *, props: ObservabilityProps) -> None:
        super().__init__(scope, id)
        if props.metrics_retention_days > MONITOR_WORKSPACE_RETENTION_DAYS:
            raise ValueError(
                f"observability: metrics retention of {props.metrics_retention_days} days exceeds the "
                f"{MONITOR_WORKSPACE_RETENTION_DAYS} days (18 months) an Azure Monitor workspace keeps"
            )
        missing = [severity for severity in SEVERITIES if severity not in props.webhook_action_group_ids]
        if missing:
            raise ValueError(f"observability: webhook_action_group_ids lacks the severities {missing}")
        config, naming = props.config, props.naming
        placement: dict[str, Any] = {"location": props.location, "resource_group_name": props.resource_group_name}
        self.log_analytics_workspace_id = workspace_id = props.log_analytics_workspace_id
        self.application_insights = ApplicationInsights(
            self,
            "application-insights",
            name=naming.name("ops", "appi"),
            application_type="web",
            workspace_id=workspace_id,
            retention_in_days=config.application_insights_retention_days,
            sampling_percentage=config.tracing.sampling_percentage,  # ingestion sampling of unsampled telemetry
            local_authentication_disabled=True,
            internet_ingestion_enabled=config.internet_ingestion_enabled,
            internet_query_enabled=config.internet_query_enabled,
            **placement,
        )
        self.application_insights_id = self.application_insights.id
        self._managed_prometheus(config, naming, placement, props.metrics_retention_days)
        self._container_insights(config.container_insights, naming, placement)
        self._grafana(props, placement)
        # The one list every alert, budget and processing rule of a severity names (constructs/alerts.py and others).
        self.action_group_ids: Mapping[str, tuple[str, ...]] = {
            severity: (self._action_group(severity, props).id, props.webhook_action_group_ids[severity])
            for severity in SEVERITIES
        }

    def _managed_prometheus(
        self, config: ObservabilityConfig, naming: Naming, placement: dict, retention_days: int
    ) -> None:
        self.monitor_workspace = MonitorWorkspace(
            self,
            "monitor-workspace",
            name=naming.name("ops", "amw"),
            public_network_access_enabled=config.internet_query_enabled,
            # The story's figure next to Azure's fixed one, so both are visible on the resource.
            tags={"metrics-retention": f"required {retention_days}d, kept {MONITOR_WORKSPACE_RETENTION_DAYS}d"},
            **placement,
        )
        self.monitor_workspace_id = self.monitor_workspace.id
        self.data_collection_endpoint = MonitorDataCollectionEndpoint(
            self,
            "prometheus-endpoint",
            name=naming.name("ops-prometheus", "dce"),
            kind="Linux",
            public_network_access_enabled=config.internet_ingestion_enabled,
            **placement,
        )
        self.data_collection_endpoint_id = self.data_collection_endpoint.id
        self.data_collection_rule = MonitorDataCollectionRule(
            self,
            "prometheus-rule",
            name=naming.name("ops-prometheus", "dcr"),
            kind="Linux",
            description="AKS managed Prometheus metrics to the Azure Monitor workspace",
            data_collection_endpoint_id=self.data_collection_endpoint.id,
            data_sources=MonitorDataCollectionRuleDataSources(
                prometheus_forwarder=[
                    MonitorDataCollectionRuleDataSourcesPrometheusForwarder(
                        name="PrometheusDataSource", streams=[PROMETHEUS_STREAM]
                    )
                ]
            ),
            destinations=MonitorDataCollectionRuleDestinations(
                monitor_account=[
                    MonitorDataCollectionRuleDestinationsMonitorAccount(
                        name=MONITOR_ACCOUNT_DESTINATION, monitor_account_id=self.monitor_workspace.id
                    )
                ]
            ),
            data_flow=[
                MonitorDataCollectionRuleDataFlow(
                    streams=[PROMETHEUS_STREAM], destinations=[MONITOR_ACCOUNT_DESTINATION]
                )
            ],
            **placement,
        )
        self.data_collection_rule_id = self.data_collection_rule.id

    def _container_insights(self, settings: ContainerInsights, naming: Naming, placement: dict) -> None:
        """The rule the AKS monitoring add-on (ama-logs) follows: without it and its association to the
        cluster, an agent with managed-identity auth sends nothing to the (keyless) workspace."""
        collection = {
            "interval": settings.interval,
            "namespaceFilteringMode": settings.namespace_filtering_mode,
            "enableContainerLogV2": True,
        }
        if settings.namespaces:
            collection["namespaces"] = list(settings.namespaces)
        streams = list(CONTAINER_INSIGHTS_STREAMS)
        self.container_insights_rule = MonitorDataCollectionRule(
            self,
            "container-insights-rule",
            name=naming.name("ops-containerinsights", "dcr"),
            kind="Linux",
            description="AKS Container insights (ama-logs) to the Log Analytics workspace",
            data_sources=MonitorDataCollectionRuleDataSources(
                extension=[
                    MonitorDataCollectionRuleDataSourcesExtension(
                        name="ContainerInsightsExtension",
                        extension_name=CONTAINER_INSIGHTS_EXTENSION,
                        streams=streams,
                        extension_json=json.dumps({"dataCollectionSettings": collection}, sort_keys=True),
                    )
                ]
            ),
            destinations=MonitorDataCollectionRuleDestinations(
                log_analytics=[
                    MonitorDataCollectionRuleDestinationsLogAnalytics(
                        name=LOG_ANALYTICS_DESTINATION, workspace_resource_id=self.log_analytics_workspace_id
                    )
                ]
            ),
            data_flow=[MonitorDataCollectionRuleDataFlow(streams=streams, destinations=[LOG_ANALYTICS_DESTINATION])],
            **placement,
        )
        self.container_insights_rule_id = self.container_insights_rule.id

    def _grafana(self, props: ObservabilityProps, placement: dict) -> None:
        config, naming = props.config, props.naming
        self.grafana = DashboardGrafana(
            self,
            "grafana",
            name=naming.name("ops", "amg"),
            sku="Standard",
            grafana_major_version=config.grafana_major_version,
            api_key_enabled=False,
            public_network_access_enabled=False,
            zone_redundancy_enabled=config.grafana_zone_redundant,
            identity=DashboardGrafanaIdentity(type="SystemAssigned"),
            azure_monitor_workspace_integrations=[
                DashboardGrafanaAzureMonitorWorkspaceIntegrations(resource_id=self.monitor_workspace.id)
            ],
            **placement,
        )
        diagnostics(self, "grafana-diagnostics", self.grafana, props.diagnostics)
        self.grafana_id = self.grafana.id
        grafana_principal = self.grafana.identity.principal_id
        # PromQL over the monitor workspace needs Monitoring Data Reader; Azure Monitor metrics and the
        # Log Analytics data source need Monitoring Reader.
        for role, scope_id, target in (
            ("Monitoring Data Reader", self.monitor_workspace.id, "monitor-workspace"),
            ("Monitoring Reader", self.log_analytics_workspace_id, "log-analytics"),
        ):
            grant(
                self,
                f"grafana-reads-{target}",
                RoleGrant(scope_id, role, grafana_principal, f"Managed Grafana reads {target}"),
            )
        grant(
            self,
            "grafana-admins",
            RoleGrant(
                self.grafana.id,
                "Grafana Admin",
                config.grafana_admin_group_object_id,
                "Operators administer the dashboards (Entra ID sign-in; API keys are off)",
                principal_type=GROUP,
            ),
        )
        zone = PrivateDnsZone(self, "grafana-dns", name=GRAFANA_DNS_ZONE, resource_group_name=props.resource_group_name)
        self.grafana_dns_zone_id = zone.id
        for network, network_id in sorted(props.virtual_network_ids.items()):
            link_private_dns_zone(
                self,
                f"grafana-dns-{network}",
                zone_name=zone.name,
                resource_group_name=props.resource_group_name,
                link_name=f"{network}-link",
                virtual_network_id=network_id,
            )
        props.private_endpoint.connect(
            self,
            "grafana-private-endpoint",
            name=naming.name("ops-amg", "pe"),
            resource_id=self.grafana.id,
            subresource="grafana",
            private_dns_zone_id=zone.id,
        )

    def _action_group(self, severity: str, props: ObservabilityProps) -> MonitorActionGroup:
        """The people channels of the severity's receivers: e-mail, SMS, voice and Azure mobile app push. Its webhook
        channel (a secret address) is the alerting stack's group (constructs/notifications.py WebhookReceivers)."""
        receivers = props.config.receivers[severity]
        return MonitorActionGroup(
            self,
            f"{severity}-action-group",
            name=props.naming.name(f"ops-{severity}", "ag"),
            resource_group_name=props.resource_group_name,
            location="global",
            short_name=receivers.short_name,
            email_receiver=[
                MonitorActionGroupEmailReceiver(
                    name=f"email-{index}", email_address=email, use_common_alert_schema=True
                )
                for index, email in enumerate(receivers.emails, start=1)
            ]
            or None,
            sms_receiver=[
                MonitorActionGroupSmsReceiver(
                    name=f"sms-{index}", country_code=phone.country_code, phone_number=phone.number
                )
                for index, phone in enumerate(receivers.sms, start=1)
            ]
            or None,
            voice_receiver=[
                MonitorActionGroupVoiceReceiver(
                    name=f"voice-{index}", country_code=phone.country_code, phone_number=phone.number
                )
                for index, phone in enumerate(receivers.voice, start=1)
            ]
            or None,
            azure_app_push_receiver=[
                MonitorActionGroupAzureAppPushReceiver(name=f"app-{index}", email_address=email)
                for index, email in enumerate(receivers.azure_app_push, start=1)
            ]
            or None,
        )


@dataclass(frozen=True)
class PrometheusCollectionProps:
    cluster_id: str
    data_collection_rule_id: str
    data_collection_endpoint_id: str


class PrometheusCollection(Construct):
    """Connects an AKS cluster to managed Prometheus: the agent reads its configuration from the endpoint
    and sends through the rule. (The cluster must enable the metrics add-on: `monitor_metrics`.)"""

    def __init__(self, scope: Construct, id: str, *, props: PrometheusCollectionProps) -> None:
        super().__init__(scope, id)
        MonitorDataCollectionRuleAssociation(
            self,
            "endpoint",
            name="configurationAccessEndpoint",  # the only name Azure accepts for an endpoint association
            target_resource_id=props.cluster_id,
            data_collection_endpoint_id=props.data_collection_endpoint_id,
        )
        MonitorDataCollectionRuleAssociation(
            self,
            "rule",
            name="prometheus-metrics",
            target_resource_id=props.cluster_id,
            data_collection_rule_id=props.data_collection_rule_id,
            description="AKS managed Prometheus metrics through the Prometheus collection rule",
        )


@dataclass(frozen=True)
class ContainerInsightsCollectionProps:
    cluster_id: str
    container_insights_rule_id: str


class ContainerInsightsCollection(Construct):
    """Connects an AKS cluster to Container insights: its monitoring add-on (`oms_agent` with
    `msi_auth_for_monitoring_enabled`) collects what the associated rule says and sends it to the workspace."""

    def __init__(self, scope: Construct, id: str, *, props: ContainerInsightsCollectionProps) -> None:
        super().__init__(scope, id)
        MonitorDataCollectionRuleAssociation(
            self,
            "rule",
            name=CONTAINER_INSIGHTS_ASSOCIATION,
            target_resource_id=props.cluster_id,
            data_collection_rule_id=props.container_insights_rule_id,
            description="Container insights: deleting this association stops log collection from the cluster",
        )


# Saved KQL queries for operators and auditors (Log Analytics → Queries → category "ERP platform"). The activity
# log is exported to the workspace (constructs/governance.py), so policy results and alert history are kept for
# `log_retention_days`: the monthly compliance report is a query over that period, not a snapshot of the JSON.
SAVED_QUERIES: dict[str, tuple[str, str]] = {
    "monthly-policy-compliance": (
        "Monthly policy compliance report (SOC 2 Type II operating evidence)",
        "AzureActivity | where CategoryValue == 'Policy' and TimeGenerated > startofmonth(now(), -1) "
        "| extend effect = tostring(split(OperationNameValue, '/')[2]) "
        "| summarize events = count(), resources = dcount(_ResourceId) by month = startofmonth(TimeGenerated), effect "
        "| order by month desc, effect asc",
    ),
    "policy-denials-30-days": (
        "Requests Azure Policy denied in the last 30 days",
        "AzureActivity | where TimeGenerated > ago(30d) and CategoryValue == 'Policy' "
        "and OperationNameValue =~ 'Microsoft.Authorization/policies/deny/action' "
        "| project TimeGenerated, Caller, _ResourceId, Properties | order by TimeGenerated desc",
    ),
    "chat-adapter-failures": (
        "Chat adapter (Logic App) runs that did not deliver",
        "AzureDiagnostics | where ResourceProvider == 'MICROSOFT.LOGIC' and ResourceType == 'WORKFLOWS' "
        "and Category == 'WorkflowRuntime' "
        "and status_s == 'Failed' "
        "| project TimeGenerated, resource_workflowName_s, resource_actionName_s, error_code_s",
    ),
}


@dataclass(frozen=True)
class OperatorQueriesProps:
    log_analytics_workspace_id: str


class OperatorQueries(Construct):
    """The saved searches of `SAVED_QUERIES` in the environment's workspace. Exposes `searches` (key → search)."""

    def __init__(self, scope: Construct, id: str, *, props: OperatorQueriesProps) -> None:
        super().__init__(scope, id)
        self.searches = {
            key: LogAnalyticsSavedSearch(
                self,
                key,
                name=key,
                log_analytics_workspace_id=props.log_analytics_workspace_id,
                category="ERP platform",
                display_name=display_name,
                query=query,
            )
            for key, (display_name, query) in SAVED_QUERIES.items()
        }
