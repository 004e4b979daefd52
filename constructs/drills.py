"""Restore drills (docs/dr-drills.md): the identity they run as, where their results land, and the alerts on
those results and on the backups themselves.

- `DrillIdentity`: a user-assigned identity trusted through GitHub OIDC for the `<env>-drills` environment
  (the drills workflow's jobs), holding exactly the roles of the drills `recovery.drills.enabled` names
  (`DRILL_ROLES`), each on the narrowest scope that works; nothing for a drill that is not enabled.
- `DrillResults`: the custom table `DrDrillResults_CL`, and a data collection rule whose stream the drills
  post their rows to (Logs Ingestion API, through the platform's data collection endpoint); the identity
  holds Monitoring Metrics Publisher on that rule.
- `RecoveryAlerts`: log search alerts on the table (a drill failed; a drill is missing after its weekly
  start; measured RTO/RPO above `recovery.rto_hours`/`rpo_hours`) and on the backup vault's job table (a
  protected item with no successful backup within the RPO). Azure Backup's built-in alerts (job failures) are
  routed once, subscription-wide, by `constructs/alerts.py` at `recovery.backup_alerts_severity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
)

from config.deployment import GitHubRepository
from config.recovery import WEEKDAYS, RecoveryConfig
from constructs import Construct
from constructs.alerts import AZURE_SEVERITY
from constructs.federation import federated_identity, github_trust
from constructs.interfaces import RoleGrant, grant
from constructs.log_ingestion import CustomLogTable, RowsAlert, custom_log_ingestion, rows_alert
from constructs.naming import Naming
from drills.results import COLUMNS, STREAM, TABLE

# What each drill needs, as (scope key of DrillScopes, built-in role, why). Scopes missing in an environment
# (no geo vault, no geo-DR namespace) are skipped; a (scope, role) pair two drills share is assigned once.
DRILL_ROLES: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "postgres_point_in_time": (
        ("postgres_server", "Reader", "Restores read the source server (point-in-time and geo-restore)"),
        ("scratch", "Contributor", "The scratch server and its private endpoint are created and deleted here"),
        ("endpoint_subnet", "Network Contributor", "The scratch server's private endpoint joins the subnet"),
        ("postgres_zone", "Private DNS Zone Contributor", "The endpoint registers the scratch server's name"),
        ("postgres_identity", "Managed Identity Operator", "The restored server keeps the source's key identity"),
    ),
    "postgres_geo_restore": (
        ("postgres_server", "Reader", "Restores read the source server (point-in-time and geo-restore)"),
        ("geo_scratch", "Contributor", "The geo-restored server and its endpoint live in the paired region"),
        ("dr_endpoint_subnet", "Network Contributor", "The endpoint joins the DR landing zone's subnet"),
        ("postgres_zone", "Private DNS Zone Contributor", "The endpoint registers the scratch server's name"),
        ("postgres_geo_identity", "Managed Identity Operator", "Geo-restores use the paired-region key identity"),
    ),
    "blob_point_in_time": (
        ("storage_account", "Storage Account Backup Contributor", "restoreBlobRanges on the canary prefix"),
        ("canary_container", "Storage Blob Data Contributor", "The drill writes and deletes its canary blob"),
    ),
    "aks_restore": (
        ("backup_vault", "Backup Operator", "Triggers restores from the vault's recovery points"),
        ("cluster", "Azure Kubernetes Service Cluster User Role", "kubectl credentials (Entra ID) for the check"),
        ("sample_namespace", "Azure Kubernetes Service RBAC Reader", "Lists what the sample namespace holds"),
        ("scratch_namespace", "Azure Kubernetes Service RBAC Admin", "Reads and empties the restored namespace"),
    ),
    "key_vault_backup": (
        ("key_vault", "Key Vault Crypto Officer", "Creates, backs up and deletes the drill's key"),
        ("geo_key_vault", "Key Vault Crypto Officer", "Restores the drill's key into the geo vault, deletes it"),
    ),
    "event_hubs_failover": (
        ("event_hubs_secondary", "Contributor", "Fails the alias over on the secondary, then unpairs it"),
    ),
    "event_hubs_capture": (
        ("capture_container", "Storage Blob Data Reader", "Lists and reads the newest Capture files back"),
    ),
}
RESULTS_ROLE = "Monitoring Metrics Publisher"  # Logs Ingestion API: post rows to the rule's stream
LOOKBACK = "P2D"  # the longest window a log search alert queries


@dataclass(frozen=True)
class DrillScopes:
    """ARM ids (and Kubernetes namespace scopes) the drills act on; None where the environment has none."""

    postgres_server: str
    postgres_identity: str
    postgres_geo_identity: str | None
    postgres_zone: str
    endpoint_subnet: str
    dr_endpoint_subnet: str
    scratch: str  # resource group id, primary region
    geo_scratch: str  # resource group id, paired region
    storage_account: str
    canary_container: str  # ARM id of the container the canary prefix lives in
    backup_vault: str
    cluster: str
    key_vault: str
    geo_key_vault: str | None
    event_hubs_secondary: str | None
    capture_container: str | None  # ARM id of the Event Hubs Capture container (None: no Capture)

    def get(self, key: str) -> str | None:
        if key in ("sample_namespace", "scratch_namespace"):
            raise KeyError(key)  # namespace scopes are derived from the cluster (see DrillIdentity)
        return getattr(self, key)


def oidc_subject(repository: GitHubRepository, environment: str) -> str:
    """The drills workflow's jobs run in the `<env>-drills` GitHub environment: its subject is what they get."""
    return f"repo:{repository.slug}:environment:{environment}-drills"


@dataclass(frozen=True)
class DrillIdentityProps:
    config: RecoveryConfig
    naming: Naming
    location: str
    resource_group_name: str
    repository: GitHubRepository
    environment: str
    scopes: DrillScopes
    sample_namespace: str
    scratch_namespace: str


class DrillIdentity(Construct):
    """Exposes `principal_id`, `client_id` and `grants` ((drill scope key, role) -> role assignment)."""

    def __init__(self, scope: Construct, id: str, *, props: DrillIdentityProps) -> None:
        super().__init__(scope, id)
        identity, _ = federated_identity(
            self,
            "identity",
            name=props.naming.name("dr-drills", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            trusts=[github_trust("github", "github-drills", oidc_subject(props.repository, props.environment))],
        )
        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        namespaces = {
            "sample_namespace": f"{props.scopes.cluster}/namespaces/{props.sample_namespace}",
            "scratch_namespace": f"{props.scopes.cluster}/namespaces/{props.scratch_namespace}",
        }
        self.grants: dict[tuple[str, str], object] = {}
        for drill in props.config.drills.enabled:
            for key, role, why in DRILL_ROLES[drill]:
                scope_id = namespaces.get(key) or props.scopes.get(key)
                if scope_id is None or (key, role) in self.grants:
                    continue
                self.grants[(key, role)] = grant(
                    self,
                    f"{key.replace('_', '-')}-{role.lower().replace(' ', '-')}",
                    RoleGrant(scope_id, role, self.principal_id, f"DR drills: {why}"),
                )


@dataclass(frozen=True)
class DrillResultsProps:
    naming: Naming
    location: str
    resource_group_name: str
    log_analytics_workspace_id: str
    data_collection_endpoint_id: str  # the platform's endpoint (private link scoped): the drills post to it
    publisher_principal_id: str  # the drill identity


class DrillResults(Construct):
    """Exposes `table` (what a log alert on it waits for), `table_name`, `data_collection_rule_id` and
    `immutable_id` (the Logs Ingestion API's rule id)."""

    def __init__(self, scope: Construct, id: str, *, props: DrillResultsProps) -> None:
        super().__init__(scope, id)
        self.table, rule = custom_log_ingestion(
            self,
            CustomLogTable(
                table=TABLE,
                stream=STREAM,
                columns=COLUMNS,
                table_description="One row per restore drill run: measured RPO/RTO (drills/, docs/dr-drills.md)",
                rule_name=props.naming.name("dr-drills", "dcr"),
                rule_description="Restore drill results (Logs Ingestion API) into the custom table",
            ),
            location=props.location,
            resource_group_name=props.resource_group_name,
            log_analytics_workspace_id=props.log_analytics_workspace_id,
            data_collection_endpoint_id=props.data_collection_endpoint_id,
        )
        grant(
            self,
            "publisher",
            RoleGrant(rule.id, RESULTS_ROLE, props.publisher_principal_id, "DR drills post their results"),
        )
        self.table_name = TABLE
        self.data_collection_rule_id = rule.id
        self.immutable_id = rule.immutable_id


def drill_missing_query(config: RecoveryConfig, environment: str) -> str:
    """Rows for each enabled drill with no success since its last weekly start, once the grace has passed and
    while the start is inside the alert's two-day window (afterwards the alert resolves; it has fired)."""
    drills = config.drills
    hours, minutes = (int(part) for part in drills.time_utc.split(":"))
    expected = ", ".join(f'"{name}"' for name in drills.enabled)
    return (
        f"let start0 = startofweek(now()) + {WEEKDAYS.index(drills.weekday)}d + {hours}h + {minutes}m;\n"
        "let start = iff(start0 > now(), start0 - 7d, start0);\n"
        f"let due = start + {drills.missing_after_hours}h;\n"
        f"datatable(Drill: string)[{expected}]\n"
        "| join kind=leftouter (\n"
        f"    {TABLE} | where Environment == '{environment}' and Succeeded == true and StartedAt >= start\n"
        "    | summarize LastSuccess = max(TimeGenerated) by Drill\n"
        ") on Drill\n"
        "| where now() between (due .. start + 2d) and isnull(LastSuccess)\n"
        "| project Drill, DueAt = due"
    )


def recovery_queries(config: RecoveryConfig, environment: str) -> dict[str, tuple[str, str, str]]:
    """Alert key -> (severity, description, KQL). Each query returns one row per offending drill or item."""
    rto_minutes, rpo_minutes = config.rto_hours * 60, config.rpo_hours * 60
    results = f"{TABLE} | where Environment == '{environment}'"
    # The backup alert can look back two days at most: with an RPO of two days or more it alerts at 47 h.
    backup_hours = min(config.rpo_hours, 47)
    return {
        "drill-failed": (
            "warning",
            "A restore drill failed (restore, verification or teardown): docs/dr-drills.md",
            f"{results} | where Succeeded == false | project TimeGenerated, Drill, RunId, Detail",
        ),
        "drill-missing": (
            "warning",
            f"A restore drill has not succeeded {config.drills.missing_after_hours} h after its weekly start",
            drill_missing_query(config, environment),
        ),
        "rto-exceeded": (
            "warning",
            f"A drill measured an RTO above the target of {config.rto_hours} h",
            f"{results} | where RtoMinutes > {rto_minutes} | project TimeGenerated, Drill, RunId, RtoMinutes",
        ),
        "rpo-exceeded": (
            "warning",
            f"A drill measured an RPO above the target of {config.rpo_hours} h",
            f"{results} | where RpoMinutes > {rpo_minutes} | project TimeGenerated, Drill, RunId, RpoMinutes",
        ),
        "backup-older-than-rpo": (
            "critical",
            f"A protected item has no successful backup in the last {backup_hours} h (RPO {config.rpo_hours} h)",
            "AddonAzureBackupJobs | where JobOperation == 'Backup'\n"
            "| summarize LastSuccess = maxif(TimeGenerated, JobStatus == 'Completed') by BackupItemUniqueId\n"
            f"| where isnull(LastSuccess) or LastSuccess < ago({backup_hours}h)",
        ),
    }


@dataclass(frozen=True)
class RecoveryAlertsProps:
    config: RecoveryConfig
    environment: str
    naming: Naming
    location: str
    resource_group_name: str
    log_analytics_workspace_id: str
    action_group_ids: Mapping[str, tuple[str, ...]]  # severity -> action group ids (Observability.action_group_ids)
    results_table: ITerraformDependable  # DrillResults.table: Azure validates the queries against it at create time


class RecoveryAlerts(Construct):
    """Exposes `alerts` (key -> log search alert)."""

    def __init__(self, scope: Construct, id: str, *, props: RecoveryAlertsProps) -> None:
        super().__init__(scope, id)
        missing = sorted({"critical", "warning"} - set(props.action_group_ids))
        if missing:
            raise ValueError(f"recovery alerts: no action group for severities {missing}")
        self.alerts: dict[str, MonitorScheduledQueryRulesAlertV2] = {}
        for key, (severity, description, query) in recovery_queries(props.config, props.environment).items():
            self.alerts[key] = rows_alert(
                self,
                key,
                RowsAlert(
                    name=props.naming.name(f"dr-{key}", "alert"),
                    description=description,
                    query=query,
                    severity=AZURE_SEVERITY[severity],
                    action_group_ids=props.action_group_ids[severity],
                    lookback=LOOKBACK,
                ),
                location=props.location,
                resource_group_name=props.resource_group_name,
                log_analytics_workspace_id=props.log_analytics_workspace_id,
                table=props.results_table,
            )
