"""The operations team's dashboards as Azure Monitor workbooks, and saved KQL queries for operators.

Four workbooks (data services, edge, cluster, and the monthly compliance report) are built from Python data: a
metric tile names a resource type, the resources' ids from the stack (Terraform references, so a workbook follows its
resources) and each metric with its aggregation as Microsoft's metric table spells it (reference/monitor.json); a
query tile names the workspace or Application Insights component it reads. `tools/checks/workbooks.py` checks the
synthesized workbooks: every metric is one the resource type publishes, every resource is in the stack, every table
is one the stack sends.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_azurerm.application_insights_workbook import ApplicationInsightsWorkbook
from cdktf_cdktf_provider_azurerm.log_analytics_saved_search import LogAnalyticsSavedSearch

from constructs import Construct
from constructs import compliance_queries as evidence
from constructs.naming import Naming

WORKSPACE = "Microsoft.OperationalInsights/workspaces"
COMPONENT = "Microsoft.Insights/components"
# The workbook's metric aggregation codes (the portal's metrics-chart enumeration) by Microsoft's table names.
AGGREGATIONS = {"Total": 1, "Minimum": 2, "Maximum": 3, "Average": 4, "Count": 7}
# Workbooks not tied to one resource sit in Azure Monitor's gallery (the provider's default, lower case).
GALLERY_SOURCE = "azure monitor"
GALLERY_FALLBACK = "Azure Monitor"
DAY_MS = 86_400_000
# The compliance report's audit period: a time-range parameter (the workbook's picker offers relative ranges and a
# custom one, no "last calendar month"): 30 days by default, a month picked as a custom range for an audit.
TIME_PARAMETER = "TimeRange"
AUDIT_PERIOD_MS = 30 * DAY_MS
SAVED_SEARCH_CATEGORY = "ERP platform"


@dataclass(frozen=True)
class MetricTile:
    """A chart of platform metrics of `resource_ids` (all of ARM type `resource_type`)."""

    title: str
    resource_type: str
    resource_ids: tuple[str, ...]
    metrics: tuple[tuple[str, str], ...]  # (metric, aggregation) as Microsoft's metric table names them


@dataclass(frozen=True)
class QueryTile:
    """A KQL query over the workspace (or an Application Insights component: `resource_type=COMPONENT`)."""

    title: str
    resource_id: str
    kql: str
    visualization: str = "table"
    resource_type: str = WORKSPACE


Tile = MetricTile | QueryTile


@dataclass(frozen=True)
class Section:
    title: str
    tiles: tuple[Tile, ...]


@dataclass(frozen=True)
class WorkbookSpec:
    key: str  # stable: the workbook's name (a UUID) and its construct id derive from it
    title: str
    sections: tuple[Section, ...]
    # When set, the workbook opens with a time-range picker of this default and its query tiles read that range.
    time_range_ms: int | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _metric_item(key: str, tile: MetricTile) -> dict[str, Any]:
    namespace = tile.resource_type.lower()
    unknown = [aggregation for _, aggregation in tile.metrics if aggregation not in AGGREGATIONS]
    if unknown:
        raise ValueError(f"workbook tile '{tile.title}': aggregations {unknown} are not in {sorted(AGGREGATIONS)}")
    return {
        "type": 10,
        "name": _slug(tile.title),
        "content": {
            "chartId": f"workbook{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:erp-platform:workbook:{key}:{tile.title}')}",
            "version": "MetricsItem/2.0",
            "size": 0,
            "chartType": 2,  # line chart
            "resourceType": namespace,
            "metricScope": 0,
            "resourceIds": list(tile.resource_ids),
            "timeContext": {"durationMs": DAY_MS},
            "metrics": [
                {"namespace": namespace, "metric": f"{namespace}--{metric}", "aggregation": AGGREGATIONS[aggregation]}
                for metric, aggregation in tile.metrics
            ],
            "title": tile.title,
            "gridSettings": {"rowLimit": 10000},
        },
    }


def _query_item(tile: QueryTile, time_range_ms: int | None) -> dict[str, Any]:
    time: dict[str, Any] = {"timeContext": {"durationMs": time_range_ms or DAY_MS}}
    if time_range_ms:
        time["timeContextFromParameter"] = TIME_PARAMETER
    return {
        "type": 3,
        "name": _slug(tile.title),
        "content": {
            "version": "KqlItem/1.0",
            "query": tile.kql,
            "size": 0,
            "title": tile.title,
            **time,
            "queryType": 0,
            "resourceType": tile.resource_type.lower(),
            "crossComponentResources": [tile.resource_id],
            "visualization": tile.visualization,
        },
    }


def _time_parameter_item(key: str, default_ms: int) -> dict[str, Any]:
    choices = sorted({DAY_MS, 7 * DAY_MS, AUDIT_PERIOD_MS, 90 * DAY_MS, default_ms})
    return {
        "type": 9,
        "name": "parameters",
        "content": {
            "version": "KqlParameterItem/1.0",
            "style": "pills",
            "queryType": 0,
            "parameters": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:erp-platform:workbook:{key}:{TIME_PARAMETER}")),
                    "version": "KqlParameterItem/1.0",
                    "name": TIME_PARAMETER,
                    "label": "Audit period",
                    "type": 4,  # time range picker
                    "isRequired": True,
                    "value": {"durationMs": default_ms},
                    "typeSettings": {
                        "selectableValues": [{"durationMs": ms} for ms in choices],
                        "allowCustom": True,
                    },
                }
            ],
        },
    }


def workbook_json(spec: WorkbookSpec) -> str:
    """The workbook's `data_json` (Notebook/1.0): a heading per section, then its tiles."""
    items: list[dict[str, Any]] = [{"type": 1, "name": "title", "content": {"json": f"# {spec.title}"}}]
    if spec.time_range_ms:
        items.append(_time_parameter_item(spec.key, spec.time_range_ms))
    for section in spec.sections:
        items.append({"type": 1, "name": f"{_slug(section.title)}-title", "content": {"json": f"## {section.title}"}})
        items += [
            _metric_item(spec.key, tile) if isinstance(tile, MetricTile) else _query_item(tile, spec.time_range_ms)
            for tile in section.tiles
        ]
    names = [item["name"] for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"workbook '{spec.key}': item names {duplicates} repeat (tile titles must differ)")
    return json.dumps(
        {"version": "Notebook/1.0", "items": items, "isLocked": False, "fallbackResourceIds": [GALLERY_FALLBACK]},
        sort_keys=True,
    )


# Operator queries, each on a table the stack sends to the workspace (tools/checks/workbooks.py reads the table from
# the query: AzureDiagnostics queries name ResourceProvider and ResourceType, so the check knows whose logs they are).
# The firewall, App Gateway and AKS audit send to resource-specific tables (`log_analytics_destination_type =
# "Dedicated"`); PostgreSQL and Key Vault to AzureDiagnostics.
OPERATOR_QUERIES: dict[str, tuple[str, str]] = {
    "firewall-network-denies-24h": (
        "Firewall: network rule denies in the last 24 hours, by flow",
        "AZFWNetworkRule | where TimeGenerated > ago(24h) and Action == 'Deny' "
        "| summarize denies = count() by SourceIp, DestinationIp, DestinationPort, Protocol, ActionReason "
        "| order by denies desc",
    ),
    "firewall-fqdn-denies-24h": (
        "Firewall: egress to FQDNs denied in the last 24 hours (a missing application rule)",
        "AZFWApplicationRule | where TimeGenerated > ago(24h) and Action == 'Deny' "
        "| summarize denies = count() by Fqdn, SourceIp, DestinationPort | order by denies desc",
    ),
    "waf-blocks-24h": (
        "WAF: requests the Application Gateway firewall blocked in the last 24 hours, by rule",
        "AGWFirewallLogs | where TimeGenerated > ago(24h) and Action == 'Blocked' "
        "| summarize blocks = count() by RuleId, Message, ClientIp, Hostname | order by blocks desc",
    ),
    "aks-admin-actions-24h": (
        "AKS: writes and deletes through the Kubernetes API in the last 24 hours (admin audit)",
        "AKSAuditAdmin | where TimeGenerated > ago(24h) and Verb in ('create', 'update', 'patch', 'delete') "
        "| project TimeGenerated, User = tostring(User.username), Verb, Resource = tostring(ObjectRef.resource), "
        "Namespace = tostring(ObjectRef.namespace), Name = tostring(ObjectRef.name) | order by TimeGenerated desc",
    ),
    "postgres-failed-connections-24h": (
        "PostgreSQL: failed logins in the last 24 hours (authentication and pg_hba rejections)",
        "AzureDiagnostics | where ResourceProvider == 'MICROSOFT.DBFORPOSTGRESQL' "
        "and ResourceType == 'FLEXIBLESERVERS' and Category == 'PostgreSQLLogs' and TimeGenerated > ago(24h) "
        "and (sqlerrcode_s in ('28000', '28P01') or Message has 'authentication failed') "
        "| summarize failures = count() by bin(TimeGenerated, 1h), Resource, sqlerrcode_s "
        "| order by TimeGenerated desc",
    ),
    "key-vault-forbidden-24h": (
        "Key Vault: requests refused (403) in the last 24 hours, by caller",
        "AzureDiagnostics | where ResourceProvider == 'MICROSOFT.KEYVAULT' and ResourceType == 'VAULTS' "
        "and Category == 'AuditEvent' and TimeGenerated > ago(24h) and ResultSignature == 'Forbidden' "
        "| summarize refused = count() by Resource, OperationName, CallerIPAddress | order by refused desc",
    ),
}

# Container insights (ama-logs) tables: node and pod health.
NODES_NOT_READY = (
    "KubeNodeInventory | where TimeGenerated > ago(1h) | summarize arg_max(TimeGenerated, Status) by Computer "
    "| where Status != 'Ready' | project Computer, Status, LastSeen = TimeGenerated"
)
PODS_NOT_RUNNING = (
    "KubePodInventory | where TimeGenerated > ago(1h) | summarize arg_max(TimeGenerated, PodStatus) by Name, Namespace "
    "| where PodStatus !in ('Running', 'Succeeded') | summarize pods = count() by Namespace, PodStatus "
    "| order by pods desc"
)
POD_RESTARTS = (
    "KubePodInventory | where TimeGenerated > ago(24h) | summarize restarts = max(ContainerRestartCount) "
    "by Namespace, Name | where restarts > 0 | top 20 by restarts desc"
)
WARNING_EVENTS = (
    "KubeEvents | where TimeGenerated > ago(24h) and KubeEventType == 'Warning' "
    "| summarize events = count() by Namespace, Reason, ObjectKind | top 20 by events desc"
)
AVAILABILITY_BY_LOCATION = (
    "availabilityResults | where timestamp > ago(24h) "
    "| summarize availability = round(100.0 * countif(success == 1) / count(), 2), tests = count() by name, location "
    "| order by availability asc"
)


@dataclass(frozen=True)
class DashboardTargets:
    """The resources the workbooks show, by their ids in the stack."""

    postgres_server_id: str
    event_hubs_namespace_ids: tuple[str, ...]  # both geo-DR namespaces
    storage_account_ids: tuple[str, ...]
    key_vault_ids: tuple[str, ...]
    app_gateway_id: str
    firewall_id: str
    public_ip_ids: tuple[str, ...]
    cluster_id: str
    application_insights_id: str  # holds the availability test's results


def data_services(targets: DashboardTargets, workspace_id: str) -> WorkbookSpec:
    query = OPERATOR_QUERIES
    return WorkbookSpec(
        "data-services",
        "Data services: PostgreSQL, Event Hubs, storage, Key Vault",
        (
            Section(
                "PostgreSQL flexible server",
                (
                    MetricTile(
                        "PostgreSQL CPU, memory and storage (%)",
                        "Microsoft.DBforPostgreSQL/flexibleServers",
                        (targets.postgres_server_id,),
                        (("cpu_percent", "Average"), ("memory_percent", "Average"), ("storage_percent", "Maximum")),
                    ),
                    MetricTile(
                        "PostgreSQL connections",
                        "Microsoft.DBforPostgreSQL/flexibleServers",
                        (targets.postgres_server_id,),
                        (("active_connections", "Maximum"), ("connections_failed", "Total")),
                    ),
                    QueryTile(
                        query["postgres-failed-connections-24h"][0],
                        workspace_id,
                        query["postgres-failed-connections-24h"][1],
                    ),
                ),
            ),
            Section(
                "Event Hubs (primary and geo-DR secondary namespaces)",
                (
                    MetricTile(
                        "Event Hubs messages in and out",
                        "Microsoft.EventHub/namespaces",
                        targets.event_hubs_namespace_ids,
                        (("IncomingMessages", "Total"), ("OutgoingMessages", "Total")),
                    ),
                    MetricTile(
                        "Event Hubs errors and throttling",
                        "Microsoft.EventHub/namespaces",
                        targets.event_hubs_namespace_ids,
                        (("ServerErrors", "Total"), ("UserErrors", "Total"), ("ThrottledRequests", "Total")),
                    ),
                    MetricTile(
                        "Event Hubs namespace CPU and memory (%)",
                        "Microsoft.EventHub/namespaces",
                        targets.event_hubs_namespace_ids,
                        (("NamespaceCpuUsage", "Maximum"), ("NamespaceMemoryUsage", "Maximum")),
                    ),
                ),
            ),
            Section(
                "Storage accounts",
                (
                    MetricTile(
                        "Storage availability (%)",
                        "Microsoft.Storage/storageAccounts",
                        targets.storage_account_ids,
                        (("Availability", "Average"),),
                    ),
                    MetricTile(
                        "Storage used capacity, ingress and egress",
                        "Microsoft.Storage/storageAccounts",
                        targets.storage_account_ids,
                        (("UsedCapacity", "Average"), ("Ingress", "Total"), ("Egress", "Total")),
                    ),
                ),
            ),
            Section(
                "Key Vaults",
                (
                    MetricTile(
                        "Key Vault availability and saturation (%)",
                        "Microsoft.KeyVault/vaults",
                        targets.key_vault_ids,
                        (("Availability", "Average"), ("SaturationShoebox", "Average")),
                    ),
                    MetricTile(
                        "Key Vault requests and latency",
                        "Microsoft.KeyVault/vaults",
                        targets.key_vault_ids,
                        (("ServiceApiHit", "Count"), ("ServiceApiLatency", "Average")),
                    ),
                    QueryTile(query["key-vault-forbidden-24h"][0], workspace_id, query["key-vault-forbidden-24h"][1]),
                ),
            ),
        ),
    )


def edge(targets: DashboardTargets, workspace_id: str) -> WorkbookSpec:
    query = OPERATOR_QUERIES
    return WorkbookSpec(
        "edge",
        "Edge: Application Gateway and WAF, firewall, public IPs, availability",
        (
            Section(
                "Availability test (public endpoint)",
                (
                    QueryTile(
                        "Availability by test location, last 24 hours (%)",
                        targets.application_insights_id,
                        AVAILABILITY_BY_LOCATION,
                        resource_type=COMPONENT,
                    ),
                ),
            ),
            Section(
                "Application Gateway and WAF",
                (
                    MetricTile(
                        "Application Gateway requests",
                        "Microsoft.Network/applicationGateways",
                        (targets.app_gateway_id,),
                        (("TotalRequests", "Total"), ("FailedRequests", "Total")),
                    ),
                    MetricTile(
                        "Application Gateway backend health",
                        "Microsoft.Network/applicationGateways",
                        (targets.app_gateway_id,),
                        (("HealthyHostCount", "Average"), ("UnhealthyHostCount", "Average")),
                    ),
                    MetricTile(
                        "Application Gateway latency (ms)",
                        "Microsoft.Network/applicationGateways",
                        (targets.app_gateway_id,),
                        (("ApplicationGatewayTotalTime", "Average"), ("BackendLastByteResponseTime", "Average")),
                    ),
                    MetricTile(
                        "WAF rule matches and capacity",
                        "Microsoft.Network/applicationGateways",
                        (targets.app_gateway_id,),
                        (("AzwafSecRule", "Total"), ("CapacityUnits", "Average")),
                    ),
                    QueryTile(query["waf-blocks-24h"][0], workspace_id, query["waf-blocks-24h"][1]),
                ),
            ),
            Section(
                "Firewall",
                (
                    MetricTile(
                        "Firewall health and SNAT port use (%)",
                        "Microsoft.Network/azureFirewalls",
                        (targets.firewall_id,),
                        (("FirewallHealth", "Average"), ("SNATPortUtilization", "Maximum")),
                    ),
                    MetricTile(
                        "Firewall throughput",
                        "Microsoft.Network/azureFirewalls",
                        (targets.firewall_id,),
                        (("Throughput", "Average"),),
                    ),
                    QueryTile(
                        query["firewall-network-denies-24h"][0], workspace_id, query["firewall-network-denies-24h"][1]
                    ),
                    QueryTile(query["firewall-fqdn-denies-24h"][0], workspace_id, query["firewall-fqdn-denies-24h"][1]),
                ),
            ),
            Section(
                "Public IPs",
                (
                    MetricTile(
                        "Public IP availability (%)",
                        "Microsoft.Network/publicIPAddresses",
                        targets.public_ip_ids,
                        (("VipAvailability", "Average"),),
                    ),
                    MetricTile(
                        "Under DDoS attack",
                        "Microsoft.Network/publicIPAddresses",
                        targets.public_ip_ids,
                        (("IfUnderDDoSAttack", "Maximum"),),
                    ),
                ),
            ),
        ),
    )


def cluster(targets: DashboardTargets, workspace_id: str) -> WorkbookSpec:
    query = OPERATOR_QUERIES
    aks = "Microsoft.ContainerService/managedClusters"
    return WorkbookSpec(
        "cluster",
        "Cluster: AKS nodes and pods",
        (
            Section(
                "Nodes",
                (
                    MetricTile(
                        "Node CPU, memory and disk (%)",
                        aks,
                        (targets.cluster_id,),
                        (
                            ("node_cpu_usage_percentage", "Average"),
                            ("node_memory_working_set_percentage", "Average"),
                            ("node_disk_usage_percentage", "Maximum"),
                        ),
                    ),
                    MetricTile(
                        "Node conditions and unschedulable pods",
                        aks,
                        (targets.cluster_id,),
                        (
                            ("kube_node_status_condition", "Average"),
                            ("cluster_autoscaler_unschedulable_pods_count", "Average"),
                        ),
                    ),
                    QueryTile("Nodes not Ready (last hour)", workspace_id, NODES_NOT_READY),
                ),
            ),
            Section(
                "Pods",
                (
                    MetricTile(
                        "Pods by phase and readiness",
                        aks,
                        (targets.cluster_id,),
                        (("kube_pod_status_phase", "Average"), ("kube_pod_status_ready", "Average")),
                    ),
                    QueryTile("Pods neither Running nor Succeeded, by namespace", workspace_id, PODS_NOT_RUNNING),
                    QueryTile("Most restarted pods, last 24 hours", workspace_id, POD_RESTARTS),
                    QueryTile("Warning events, last 24 hours", workspace_id, WARNING_EVENTS),
                ),
            ),
            Section(
                "Admin actions",
                (QueryTile(query["aks-admin-actions-24h"][0], workspace_id, query["aks-admin-actions-24h"][1]),),
            ),
        ),
    )


def compliance(workspace_id: str, rto_hours: int, rpo_hours: int) -> WorkbookSpec:
    """The monthly compliance report (docs/operations.md 2.1): over the audit period, the evidence matrix's live
    queries (constructs/compliance_queries.py) beside a summary of each."""
    return WorkbookSpec(
        "compliance",
        "Compliance evidence: policy, in-cluster checks, restore drills, Defender alerts, changes",
        (
            Section(
                "Azure Policy (activity log)",
                (
                    QueryTile(
                        "Policy events and resources per month and effect",
                        workspace_id,
                        evidence.POLICY_BY_MONTH_AND_EFFECT,
                    ),
                    QueryTile(
                        "Policy audit and deny events per effect and resource",
                        workspace_id,
                        evidence.POLICY_BY_RESOURCE,
                    ),
                ),
            ),
            Section(
                "In-cluster compliance checks (ClusterCompliance_CL)",
                (
                    QueryTile("Check results per check and day", workspace_id, evidence.CLUSTER_COMPLIANCE_BY_DAY),
                    QueryTile(
                        "Days checked and days failed per check", workspace_id, evidence.CLUSTER_COMPLIANCE_FAILED_DAYS
                    ),
                ),
            ),
            Section(
                f"Restore drills against the targets (RTO {rto_hours} h, RPO {rpo_hours} h)",
                (
                    QueryTile(
                        "Latest result per drill and component",
                        workspace_id,
                        evidence.against_targets(evidence.DRILLS_LATEST, rto_hours, rpo_hours),
                    ),
                    QueryTile(
                        "Every drill run in the period",
                        workspace_id,
                        evidence.against_targets(evidence.DRILL_RUNS, rto_hours, rpo_hours),
                    ),
                ),
            ),
            Section(
                "Defender for Cloud security alerts (activity log)",
                (
                    QueryTile(
                        "Security alerts per month, level and alert", workspace_id, evidence.DEFENDER_ALERTS_BY_MONTH
                    ),
                    QueryTile("Security alerts", workspace_id, evidence.DEFENDER_ALERTS),
                ),
            ),
            Section(
                "Change records (activity log: successful writes and deletes)",
                (
                    QueryTile("Changes per month and caller", workspace_id, evidence.CHANGES_BY_CALLER),
                    QueryTile("Change records", workspace_id, evidence.CHANGE_RECORDS),
                ),
            ),
        ),
        time_range_ms=AUDIT_PERIOD_MS,
    )


@dataclass(frozen=True)
class OperationsWorkbooksProps:
    naming: Naming
    location: str
    resource_group_name: str
    log_analytics_workspace_id: str  # query tiles and saved searches read it
    targets: DashboardTargets
    rto_hours: int  # the compliance report shows drills' measured RTO/RPO against these (`[recovery]`)
    rpo_hours: int


class OperationsWorkbooks(Construct):
    """The data services, edge, cluster and compliance workbooks, and the `OPERATOR_QUERIES` saved searches in the
    workspace.
    Exposes `workbooks` and `searches` (key → resource)."""

    def __init__(self, scope: Construct, id: str, *, props: OperationsWorkbooksProps) -> None:
        super().__init__(scope, id)
        workspace_id = props.log_analytics_workspace_id
        specs = [build(props.targets, workspace_id) for build in (data_services, edge, cluster)]
        specs.append(compliance(workspace_id, props.rto_hours, props.rpo_hours))
        self.workbooks: dict[str, ApplicationInsightsWorkbook] = {}
        for spec in specs:
            name = props.naming.name(spec.key, "workbook")
            self.workbooks[spec.key] = ApplicationInsightsWorkbook(
                self,
                spec.key,
                # A workbook's name is a UUID: derived from its naming-convention name, so it is stable per environment.
                name=str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:erp-platform:workbook:{name}")),
                display_name=f"{name}: {spec.title}",
                location=props.location,
                resource_group_name=props.resource_group_name,
                source_id=GALLERY_SOURCE,
                category="workbook",
                data_json=workbook_json(spec),
            )
        self.searches = {
            key: LogAnalyticsSavedSearch(
                self,
                key,
                name=key,
                log_analytics_workspace_id=workspace_id,
                category=SAVED_SEARCH_CATEGORY,
                display_name=display_name,
                query=query,
            )
            for key, (display_name, query) in OPERATOR_QUERIES.items()
        }
