"""Compliance evidence matrix: for each control, the resources and settings that implement it, per environment,
found by querying the synthesized Terraform JSON (so the matrix cannot drift from the code), and the live KQL
queries that show the control operating over the audit period (SOC 2 Type II).

A piece of evidence is a query over one environment's infra and cluster stacks that returns a short finding
("2/2 key vaults") or None when the evidence is absent; absent evidence shows as MISSING. A live query names
the table it reads (`LiveQuery.source`); `sent_sources` lists what the synthesized diagnostic settings and data
collection rules send to the workspace, so a query on a table nothing fills is caught here, not in an audit.

    python -m tools.docgen.evidence_matrix SYNTH_DIR            # print the matrix
    python -m tools.docgen.evidence_matrix SYNTH_DIR --check    # exit 1 when evidence is MISSING or a live
                                                                # query reads a table nothing sends
    python -m tools.docgen.evidence_matrix SYNTH_DIR --write    # (re)write docs/compliance-evidence.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import compliance_queries as evidence_kql
from tools.docgen.diagram import ENVIRONMENTS, load_stack

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "compliance-evidence.md"
REGENERATE = "scripts/synth && .venv/bin/python -m tools.docgen.evidence_matrix cdktf.out --write"
MISSING = "MISSING"
MONITOR_REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "monitor.json"
Stack = dict[str, Any]


@dataclass(frozen=True)
class Stacks:
    infra: Stack
    cluster: Stack

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        stack = self.cluster if resource_type.startswith("kubernetes_") else self.infra
        found = stack.get("resource", {}).get(resource_type, {})
        return [found[name] for name in sorted(found)]


Query = Callable[[Stacks], "str | None"]


@dataclass(frozen=True)
class Evidence:
    description: str
    query: Query


@dataclass(frozen=True)
class LiveQuery:
    """A KQL query over the workspace showing the control operating over time. `source` is the table it reads,
    qualified where a table is shared: `AzureActivity:<activity log category>`, `AzureDiagnostics:<ARM type>`."""

    description: str
    source: str
    kql: str

    @property
    def table(self) -> str:
        return self.source.split(":")[0]


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    evidence: tuple[Evidence, ...]


def _first(value: Any) -> dict[str, Any]:
    """A nested block as synthesized: a dict, or a one-item list of dicts."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value if isinstance(value, dict) else {}


def all_of(noun: str, types: tuple[str, ...], holds: Callable[[dict[str, Any]], bool]) -> Query:
    """Evidence when at least one resource of the types exists and every one of them satisfies `holds`."""

    def query(stacks: Stacks) -> str | None:
        resources = [resource for resource_type in types for resource in stacks.of_type(resource_type)]
        if not resources or not all(holds(resource) for resource in resources):
            return None
        return f"{len(resources)}/{len(resources)} {noun}"

    return query


def count_of(noun: str, types: tuple[str, ...], holds: Callable[[dict[str, Any]], bool] = lambda _: True) -> Query:
    """Evidence when at least one resource of the types satisfies `holds`."""

    def query(stacks: Stacks) -> str | None:
        count = sum(1 for resource_type in types for resource in stacks.of_type(resource_type) if holds(resource))
        return f"{noun}: {count}" if count else None

    return query


def names_of(resource_type: str, attribute: str, holds: Callable[[dict[str, Any]], bool] = lambda _: True) -> Query:
    """Evidence listing an attribute of every matching resource (e.g. Defender plan names)."""

    def query(stacks: Stacks) -> str | None:
        names = sorted(str(resource.get(attribute)) for resource in stacks.of_type(resource_type) if holds(resource))
        return ", ".join(names) or None

    return query


def backend(stacks: Stacks) -> str | None:
    return (
        "azurerm backend (Entra ID auth)" if "azurerm" in stacks.infra.get("terraform", {}).get("backend", {}) else None
    )


# Resource-specific ("Dedicated") tables of the categories the live queries read. AKS: kube-audit and
# kube-audit-admin have their own tables, every other control-plane category lands in AKSControlPlane
# (learn.microsoft.com/azure/aks/monitor-aks-reference, "Resource logs"). A Dedicated category missing here sends
# nothing a live query may rely on.
DEDICATED_TABLES: dict[tuple[str, str], str] = {
    ("Microsoft.ContainerService/managedClusters", "kube-audit"): "AKSAudit",
    ("Microsoft.ContainerService/managedClusters", "kube-audit-admin"): "AKSAuditAdmin",
    ("Microsoft.ContainerService/managedClusters", "guard"): "AKSControlPlane",
    # Azure Firewall's structured logs (learn.microsoft.com/azure/azure-monitor/reference/supported-logs/
    # microsoft-network-azurefirewalls-logs: category = table).
    ("Microsoft.Network/azureFirewalls", "AZFWApplicationRule"): "AZFWApplicationRule",
    ("Microsoft.Network/azureFirewalls", "AZFWNetworkRule"): "AZFWNetworkRule",
    ("Microsoft.Network/azureFirewalls", "AZFWNatRule"): "AZFWNatRule",
    ("Microsoft.Network/azureFirewalls", "AZFWDnsQuery"): "AZFWDnsQuery",
    # Application Gateway's resource-specific tables (azure-monitor/reference/tables/agwaccesslogs, agwfirewalllogs,
    # agwperformancelogs: resource type microsoft.network/applicationgateways).
    ("Microsoft.Network/applicationGateways", "ApplicationGatewayAccessLog"): "AGWAccessLogs",
    ("Microsoft.Network/applicationGateways", "ApplicationGatewayFirewallLog"): "AGWFirewallLogs",
    ("Microsoft.Network/applicationGateways", "ApplicationGatewayPerformanceLog"): "AGWPerformanceLogs",
}
# A whole resource's id; a sub-resource's (a storage account's `/blobServices/default`) has tables of its own.
TERRAFORM_REFERENCE = re.compile(r"\$\{(azurerm_\w+)\.[^.}]+\.id\}$")
SUBSCRIPTION = re.compile(r"^/subscriptions/[^/]+$")
# A literal whole-resource id: `.../providers/<namespace>/<type>/<name>` (no sub-resource).
ARM_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/([^/]+/[^/]+)/[^/]+$", re.IGNORECASE)


def _diagnostic_sources(setting: dict[str, Any], arm_types: dict[str, str]) -> set[str]:
    logs = [log for log in setting.get("enabled_log") or [] if isinstance(log, dict)]
    if not setting.get("log_analytics_workspace_id") or not logs:
        return set()
    target = str(setting.get("target_resource_id", ""))
    if SUBSCRIPTION.match(target):  # the activity log always lands in AzureActivity
        return {f"AzureActivity:{log['category']}" for log in logs if log.get("category")}
    match, literal = TERRAFORM_REFERENCE.match(target), ARM_ID.match(target)
    if match:
        arm_type = arm_types.get(match.group(1), match.group(1))
    elif literal:  # another stack's resource, by its id
        arm_type = literal.group(1)
    else:
        return set()
    if setting.get("log_analytics_destination_type") != "Dedicated":
        return {f"AzureDiagnostics:{arm_type}"}
    # A category group (allLogs) sends every category of the type, each to its own table.
    categories = {
        category
        for log in logs
        for category in (
            [log["category"]]
            if log.get("category")
            else [c for (kind, c) in DEDICATED_TABLES if kind == arm_type and log.get("category_group") == "allLogs"]
        )
    }
    return {DEDICATED_TABLES[(arm_type, c)] for c in categories if (arm_type, c) in DEDICATED_TABLES}


def _rule_sources(rule: dict[str, Any]) -> set[str]:
    """Tables a data collection rule fills in a workspace: its flows' output stream, else their input streams,
    without the `Custom-`/`Microsoft-` prefix; flows to a monitor account (Prometheus) fill no table."""
    workspaces = {
        destination.get("name")
        for destination in _first(rule.get("destinations")).get("log_analytics", [])
        if isinstance(destination, dict)
    }
    sources: set[str] = set()
    for flow in rule.get("data_flow", []):
        if not workspaces & set(flow.get("destinations", [])):
            continue
        streams = [flow["output_stream"]] if flow.get("output_stream") else flow.get("streams", [])
        sources |= {stream.split("-", 1)[1] for stream in streams if "-" in stream}
    return sources


def sent_sources(stacks: Stacks) -> set[str]:
    """Every `LiveQuery.source` the environment's synthesized diagnostic settings and data collection rules fill."""
    arm_types = json.loads(MONITOR_REFERENCE.read_text())["terraform_types"]
    sources: set[str] = set()
    for setting in stacks.of_type("azurerm_monitor_diagnostic_setting"):
        sources |= _diagnostic_sources(setting, arm_types)
    for rule in stacks.of_type("azurerm_monitor_data_collection_rule"):
        sources |= _rule_sources(rule)
    return sources


def _postgres_setting(name: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda resource: resource.get("name") == name and resource.get("value") == value


PUBLIC_ACCESS_TYPES = (
    "azurerm_key_vault",
    "azurerm_storage_account",
    "azurerm_postgresql_flexible_server",
    "azurerm_eventhub_namespace",
    "azurerm_container_registry",
)
GEO_REPLICATION = ("GRS", "RAGRS", "GZRS", "RAGZRS")
ALERT_TYPES = (
    "azurerm_monitor_metric_alert",
    "azurerm_monitor_scheduled_query_rules_alert_v2",
    "azurerm_monitor_activity_log_alert",
    "azurerm_monitor_alert_prometheus_rule_group",
)
BACKUP_INSTANCE_TYPES = (
    "azurerm_data_protection_backup_instance_kubernetes_cluster",
    "azurerm_data_protection_backup_instance_blob_storage",
    "azurerm_data_protection_backup_instance_postgresql_flexible_server",
)

CONTROLS: tuple[Control, ...] = (
    Control(
        "SOC 2 CC6.1",
        "Logical access control",
        (
            Evidence(
                "AKS: Entra ID with Azure RBAC, local accounts disabled",
                all_of(
                    "clusters",
                    ("azurerm_kubernetes_cluster",),
                    lambda r: (
                        _first(r.get("azure_active_directory_role_based_access_control")).get("azure_rbac_enabled")
                        is True
                        and r.get("local_account_disabled") is True
                    ),
                ),
            ),
            Evidence(
                "Key Vault: RBAC authorization, purge protection",
                all_of(
                    "key vaults",
                    ("azurerm_key_vault",),
                    lambda r: r.get("rbac_authorization_enabled") is True and r.get("purge_protection_enabled") is True,
                ),
            ),
            Evidence(
                "Storage: shared keys disabled (Entra ID only)",
                all_of(
                    "storage accounts",
                    ("azurerm_storage_account",),
                    lambda r: r.get("shared_access_key_enabled") is False,
                ),
            ),
            Evidence(
                "Event Hubs: SAS (local) authentication disabled",
                all_of(
                    "namespaces",
                    ("azurerm_eventhub_namespace",),
                    lambda r: r.get("local_authentication_enabled") is False,
                ),
            ),
        ),
    ),
    Control(
        "SOC 2 CC6.6",
        "Network boundaries",
        (
            Evidence("Azure Firewall on the hub", count_of("firewalls", ("azurerm_firewall",))),
            Evidence(
                "Private endpoints for PaaS services", count_of("private endpoints", ("azurerm_private_endpoint",))
            ),
            Evidence(
                "Public network access off (Key Vault, Storage, PostgreSQL, Event Hubs, ACR)",
                all_of("resources", PUBLIC_ACCESS_TYPES, lambda r: r.get("public_network_access_enabled") is False),
            ),
            Evidence(
                "AKS private API server",
                all_of("clusters", ("azurerm_kubernetes_cluster",), lambda r: r.get("private_cluster_enabled") is True),
            ),
            Evidence(
                "Kubernetes NetworkPolicies",
                count_of(
                    "network policies",
                    ("kubernetes_network_policy_v1", "kubernetes_manifest"),
                    # NetworkPolicies, and the CiliumNetworkPolicies (custom resources) on Cilium clusters.
                    lambda r: "manifest" not in r or r["manifest"].get("kind") == "CiliumNetworkPolicy",
                ),
            ),
        ),
    ),
    Control(
        "SOC 2 CC6.7",
        "Encryption in transit and at rest",
        (
            Evidence(
                "Storage: TLS 1.2 minimum",
                all_of(
                    "storage accounts", ("azurerm_storage_account",), lambda r: r.get("min_tls_version") == "TLS1_2"
                ),
            ),
            Evidence(
                "Event Hubs: TLS 1.2 minimum",
                all_of("namespaces", ("azurerm_eventhub_namespace",), lambda r: r.get("minimum_tls_version") == "1.2"),
            ),
            Evidence(
                "PostgreSQL: TLS 1.2 minimum",
                count_of(
                    "server settings",
                    ("azurerm_postgresql_flexible_server_configuration",),
                    _postgres_setting("ssl_min_protocol_version", "TLSv1.2"),
                ),
            ),
            Evidence(
                "Customer-managed keys: Storage",
                all_of("storage accounts", ("azurerm_storage_account",), lambda r: bool(r.get("customer_managed_key"))),
            ),
            Evidence(
                "Customer-managed keys: PostgreSQL",
                all_of(
                    "servers", ("azurerm_postgresql_flexible_server",), lambda r: bool(r.get("customer_managed_key"))
                ),
            ),
            Evidence(
                "Customer-managed keys: AKS node disks",
                all_of("clusters", ("azurerm_kubernetes_cluster",), lambda r: bool(r.get("disk_encryption_set_id"))),
            ),
        ),
    ),
    Control(
        "SOC 2 CC7.1 / CC7.2",
        "Monitoring and threat detection",
        (
            Evidence(
                "Diagnostic settings to Log Analytics",
                count_of("diagnostic settings", ("azurerm_monitor_diagnostic_setting",)),
            ),
            Evidence(
                "Activity log exported",
                count_of(
                    "subscription exports",
                    ("azurerm_monitor_diagnostic_setting",),
                    # the subscription itself, not a resource named by its id (the alerting stack's chat adapters)
                    lambda r: re.fullmatch(r"/subscriptions/[^/]+/?", str(r.get("target_resource_id", ""))) is not None,
                ),
            ),
            Evidence("Alert rules", count_of("alert rules", ALERT_TYPES)),
            Evidence(
                "Defender for Cloud plans (Standard)",
                names_of(
                    "azurerm_security_center_subscription_pricing",
                    "resource_type",
                    lambda r: r.get("tier") == "Standard",
                ),
            ),
            Evidence(
                "Security contact for Defender alerts",
                count_of(
                    "contacts", ("azurerm_security_center_contact",), lambda r: r.get("alert_notifications") is True
                ),
            ),
        ),
    ),
    Control(
        "SOC 2 A1.2",
        "Backup and disaster recovery",
        (
            Evidence(
                "PostgreSQL geo-redundant backup",
                all_of(
                    "servers",
                    ("azurerm_postgresql_flexible_server",),
                    lambda r: r.get("geo_redundant_backup_enabled") is True,
                ),
            ),
            Evidence(
                "Storage geo-replication",
                all_of(
                    "storage accounts",
                    ("azurerm_storage_account",),
                    lambda r: r.get("account_replication_type") in GEO_REPLICATION,
                ),
            ),
            Evidence(
                "Event Hubs geo-DR pairing",
                count_of("pairings", ("azurerm_eventhub_namespace_disaster_recovery_config",)),
            ),
            Evidence("Azure Backup instances", count_of("protected resources", BACKUP_INSTANCE_TYPES)),
        ),
    ),
    Control(
        "SOC 2 CC8.1",
        "Change management and policy enforcement",
        (
            Evidence(
                "Regulatory compliance initiatives assigned",
                names_of("azurerm_subscription_policy_assignment", "display_name"),
            ),
            Evidence(
                "Gatekeeper and pod security policies on AKS",
                count_of(
                    "cluster assignments",
                    ("azurerm_resource_policy_assignment",),
                    lambda r: "azurerm_kubernetes_cluster." in str(r.get("resource_id")),
                ),
            ),
            Evidence("Infrastructure state in a remote backend", backend),
        ),
    ),
)


# Control id -> the live queries that show it operating over the audit period. Each reads a table the
# synthesized output fills (`sent_sources`); the workspace keeps it for `observability.log_retention_days`. The
# compliance workbook shows the same queries (constructs/compliance_queries.py holds their text).
LIVE_QUERIES: tuple[tuple[str, LiveQuery], ...] = (
    (
        "SOC 2 CC6.1",
        LiveQuery(
            "Key Vault data-plane access, by caller and operation",
            "AzureDiagnostics:Microsoft.KeyVault/vaults",
            "AzureDiagnostics | where ResourceProvider == 'MICROSOFT.KEYVAULT' and Category == 'AuditEvent' "
            "| summarize requests = count() by bin(TimeGenerated, 1d), Resource, OperationName, "
            "CallerIPAddress, ResultSignature",
        ),
    ),
    (
        "SOC 2 CC6.1",
        LiveQuery(
            "Kubernetes API writes and secret reads (admin audit)",
            "AKSAuditAdmin",
            "AKSAuditAdmin | summarize requests = count() by bin(TimeGenerated, 1d), "
            "user = tostring(User.username), Verb, ObjectRef_resource = tostring(ObjectRef.resource)",
        ),
    ),
    (
        "SOC 2 CC6.6",
        LiveQuery(
            "In-cluster compliance checks (Pod Security, NetworkPolicies, privileged pods): result per check and day",
            "ClusterCompliance_CL",
            evidence_kql.CLUSTER_COMPLIANCE_BY_DAY,
        ),
    ),
    (
        "SOC 2 CC7.1 / CC7.2",
        LiveQuery(
            "Defender for Cloud security alerts",
            "AzureActivity:Security",
            evidence_kql.DEFENDER_ALERTS,
        ),
    ),
    (
        "SOC 2 A1.2",
        LiveQuery(
            "Restore drills: last result and measured RTO/RPO per component",
            "DrDrillResults_CL",
            evidence_kql.DRILLS_LATEST,
        ),
    ),
    (
        "SOC 2 CC8.1",
        LiveQuery(
            "Azure Policy results per month and effect (policy state over time)",
            "AzureActivity:Policy",
            evidence_kql.POLICY_BY_MONTH_AND_EFFECT,
        ),
    ),
    (
        "SOC 2 CC8.1",
        LiveQuery(
            "Change records: successful writes and deletes, by caller",
            "AzureActivity:Administrative",
            evidence_kql.CHANGE_RECORDS,
        ),
    ),
)


def unsent_queries(stacks: Stacks) -> list[LiveQuery]:
    """The live queries whose source the environment's synthesized output does not fill."""
    sent = sent_sources(stacks)
    return [query for _, query in LIVE_QUERIES if query.source not in sent]


def environment_stacks(synth_dir: Path, environment: str) -> Stacks:
    try:
        return Stacks(load_stack(synth_dir, f"{environment}-infra"), load_stack(synth_dir, f"{environment}-cluster"))
    except json.JSONDecodeError as error:  # a truncated stack is unreadable, never "no evidence"
        raise FileNotFoundError(f"{synth_dir}: {environment} stacks are not readable JSON ({error})") from None


def environment_findings(synth_dir: Path, environment: str) -> list[list[str]]:
    """One finding (or MISSING) per evidence row of CONTROLS, in order."""
    stacks = environment_stacks(synth_dir, environment)
    return [[evidence.query(stacks) or MISSING for evidence in control.evidence] for control in CONTROLS]


def render(findings: dict[str, list[list[str]]]) -> str:
    environments = list(findings)  # all_findings builds it in promotion order
    lines = [
        "# Compliance evidence matrix",
        "",
        "Generated from the synthesized Terraform JSON by `tools/docgen/evidence_matrix.py`; do not edit. "
        "Regenerate with",
        f"`{REGENERATE}`. A row says MISSING when the synthesized code has no evidence for it.",
        "",
        f"| Control | Evidence | {' | '.join(environments)} |",
        f"|---|---|{'---|' * len(environments)}",
    ]
    for index, control in enumerate(CONTROLS):
        for row, evidence in enumerate(control.evidence):
            label = f"{control.id} {control.title}" if row == 0 else ""
            cells = [findings[environment][index][row] for environment in environments]
            lines.append(f"| {label} | {evidence.description} | {' | '.join(cells)} |")
    lines += [
        "",
        "## Live queries: the controls operating over the audit period",
        "",
        "Run in the environment's Log Analytics workspace over the audit period (kept for "
        "`observability.log_retention_days`).",
        "Each reads a table the synthesized diagnostic settings or data collection rules fill (`--check` fails "
        "otherwise).",
        "The policy, in-cluster check, restore-drill, Defender and change-record queries are also the tiles of the "
        "deployed **compliance workbook**, the monthly report (Monitor → Workbooks; pick the month as the audit "
        "period): [operations.md 2.1](operations.md#21-compliance-evidence-over-time).",
        "",
        "| Control | Evidence over time | Table | Query |",
        "|---|---|---|---|",
    ]
    for control_id, query in LIVE_QUERIES:
        kql = query.kql.replace("|", "\\|")
        lines.append(f"| {control_id} | {query.description} | `{query.source}` | `{kql}` |")
    return "\n".join(lines) + "\n"


def all_findings(synth_dir: Path) -> dict[str, list[list[str]]]:
    return {environment: environment_findings(synth_dir, environment) for environment in ENVIRONMENTS}


def missing_count(findings: dict[str, list[list[str]]]) -> int:
    return sum(row.count(MISSING) for rows in findings.values() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when evidence is MISSING or a live query reads an unsent table"
    )
    mode.add_argument("--write", action="store_true", help=f"write {DOCUMENT.relative_to(DOCUMENT.parent.parent)}")
    args = parser.parse_args(argv)
    try:
        findings = all_findings(args.synth_dir)  # environment_stacks: an unreadable stack exits 2
        unsent = {
            environment: unsent_queries(environment_stacks(args.synth_dir, environment)) for environment in ENVIRONMENTS
        }
    except FileNotFoundError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    if args.write:
        DOCUMENT.write_text(render(findings))
        return 0
    sys.stdout.write(render(findings))
    missing = missing_count(findings)
    for environment, queries in unsent.items():
        for query in queries:
            sys.stderr.write(
                f"{environment}: live query {query.description!r} reads {query.source}, which nothing sends\n"
            )
    if missing:
        sys.stderr.write(f"evidence MISSING in {missing} cell(s)\n")
    return 1 if args.check and (missing or any(unsent.values())) else 0


if __name__ == "__main__":
    sys.exit(main())
