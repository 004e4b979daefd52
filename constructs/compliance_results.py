"""The in-cluster compliance job's results in Log Analytics, and alerts on them (issue #29: compliance over time).

The `compliance-validation` CronJob (constructs/baseline/jobs.py, cluster stack) posts one row per check and run
to the custom table `ClusterCompliance_CL` through a data collection rule (Logs Ingestion API, the platform's
private-link data collection endpoint): the path the restore drills use for `DrDrillResults_CL`
(constructs/drills.py). It sends as a user-assigned identity federated with its service account through the
cluster's OIDC issuer (workload identity; no secret), holding *Monitoring Metrics Publisher* on that rule only.
Two log search alerts to the warning group: a check's latest run failed, and no results for two days (the job
stopped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from constructs import Construct
from constructs.alerts import AZURE_SEVERITY
from constructs.federation import federated_identity, service_account_trust
from constructs.interfaces import RoleGrant, grant
from constructs.log_ingestion import CustomLogTable, RowsAlert, custom_log_ingestion, rows_alert
from constructs.naming import Naming

TABLE = "ClusterCompliance_CL"
STREAM = f"Custom-{TABLE}"
# One row per check per run; cluster-scripts/compliance.sh writes exactly these columns.
COLUMNS: Mapping[str, str] = {
    "TimeGenerated": "datetime",
    "Environment": "string",
    "Check": "string",
    "Passed": "boolean",
    "Findings": "int",
    "Detail": "string",
}
PUBLISHER_ROLE = "Monitoring Metrics Publisher"  # Logs Ingestion API: post rows to the rule's stream
SEVERITY = "warning"  # a failed check or a silent job needs a look the same day, not a page


LOOKBACK = "P2D"  # two runs of the daily job (config baseline.compliance_schedule runs every day)


def failed_checks_query(environment: str) -> str:
    """The checks whose latest result failed: fires after a failing run, resolves after the next passing one."""
    return (
        f"{TABLE} | where Environment == '{environment}' "
        "| summarize arg_max(TimeGenerated, Passed, Findings, Detail) by Check | where Passed == false"
    )


def missing_results_query(environment: str) -> str:
    """One row when the job has posted nothing in the alert's window (two runs): it no longer runs."""
    return f"print Rows = toscalar({TABLE} | where Environment == '{environment}' | count) | where Rows == 0"


@dataclass(frozen=True)
class ComplianceResultsProps:
    naming: Naming
    environment: str
    location: str
    resource_group_name: str
    log_analytics_workspace_id: str
    data_collection_endpoint_id: str  # the platform's endpoint (private link scoped), as the drills use
    oidc_issuer_url: str  # the AKS cluster's issuer, trusted for the job's service account tokens
    namespace: str  # the job's namespace and service account: the federated credential's subject
    service_account: str
    action_group_ids: Mapping[str, tuple[str, ...]]  # severity -> action group ids (Observability.action_group_ids)


class ComplianceResults(Construct):
    """Exposes `client_id` (the service account's workload identity), `immutable_id` (the rule the job posts to),
    `stream`, and `alerts` (key -> log search alert)."""

    def __init__(self, scope: Construct, id: str, *, props: ComplianceResultsProps) -> None:
        super().__init__(scope, id)
        table, rule = custom_log_ingestion(
            self,
            CustomLogTable(
                table=TABLE,
                stream=STREAM,
                columns=COLUMNS,
                table_description="One row per in-cluster compliance check per run (cluster-scripts/compliance.sh)",
                rule_name=props.naming.name("cluster-compliance", "dcr"),
                rule_description="In-cluster compliance results (Logs Ingestion API) into the custom table",
            ),
            location=props.location,
            resource_group_name=props.resource_group_name,
            log_analytics_workspace_id=props.log_analytics_workspace_id,
            data_collection_endpoint_id=props.data_collection_endpoint_id,
        )
        identity, _ = federated_identity(
            self,
            "identity",
            name=props.naming.name("cluster-compliance", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            trusts=[service_account_trust(props.oidc_issuer_url, props.namespace, props.service_account)],
        )
        grant(
            self,
            "publisher",
            RoleGrant(rule.id, PUBLISHER_ROLE, identity.principal_id, "The compliance job posts its results"),
        )
        queries = {
            "failed": ("An in-cluster compliance check failed its latest run", failed_checks_query(props.environment)),
            "missing": (
                "The in-cluster compliance job posted no results for two days",
                missing_results_query(props.environment),
            ),
        }
        self.alerts = {
            key: rows_alert(
                self,
                key,
                RowsAlert(
                    name=props.naming.name(f"compliance-{key}", "alert"),
                    description=description,
                    query=query,
                    severity=AZURE_SEVERITY[SEVERITY],
                    action_group_ids=props.action_group_ids[SEVERITY],
                    lookback=LOOKBACK,
                ),
                location=props.location,
                resource_group_name=props.resource_group_name,
                log_analytics_workspace_id=props.log_analytics_workspace_id,
                table=table,
            )
            for key, (description, query) in queries.items()
        }
        self.client_id = identity.client_id
        self.immutable_id = rule.immutable_id
        self.stream = STREAM
