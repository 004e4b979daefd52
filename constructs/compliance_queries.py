"""The compliance evidence queries, written once: the evidence matrix's live queries
(tools/docgen/evidence_matrix.py `LIVE_QUERIES`) and the compliance workbook's tiles (constructs/workbooks.py
`compliance`) read the same text. Each starts with the table it reads (AzureActivity queries with their
`CategoryValue`), so tools/checks/workbooks.py and `evidence_matrix --check` can tell whether the stack sends it.
"""

from __future__ import annotations

# Azure Policy writes one activity log event per audit/deny/... evaluation; the operation name carries the effect
# (`Microsoft.Authorization/policies/audit/action`).
POLICY_EVENTS = (
    "AzureActivity | where CategoryValue == 'Policy' | extend effect = tostring(split(OperationNameValue, '/')[2]) "
)
POLICY_BY_MONTH_AND_EFFECT = (
    POLICY_EVENTS
    + "| summarize events = count(), resources = dcount(_ResourceId) by month = startofmonth(TimeGenerated), effect"
)
POLICY_BY_RESOURCE = (
    POLICY_EVENTS + "| where effect in~ ('audit', 'auditIfNotExists', 'deny') "
    "| summarize events = count() by effect, _ResourceId | order by events desc"
)

CLUSTER_COMPLIANCE_BY_DAY = (
    "ClusterCompliance_CL | summarize arg_max(TimeGenerated, Passed, Findings, Detail) "
    "by Environment, Check, day = startofday(TimeGenerated) | order by day desc, Check asc"
)
CLUSTER_COMPLIANCE_FAILED_DAYS = (
    "ClusterCompliance_CL | summarize days = dcount(startofday(TimeGenerated)), "
    "failed_days = dcountif(startofday(TimeGenerated), not(Passed)) by Environment, Check | order by failed_days desc"
)

DRILLS_LATEST = "DrDrillResults_CL | summarize arg_max(TimeGenerated, *) by Component, Drill"
# Every drill run of the period (drills/results.py writes one row per run).
DRILL_RUNS = "DrDrillResults_CL | order by TimeGenerated desc"


def against_targets(drill_query: str, rto_hours: int, rpo_hours: int) -> str:
    """A drill-results query with the RTO/RPO targets (`[recovery]` config) beside what each run measured."""
    return (
        f"{drill_query} | extend RtoTargetMinutes = {rto_hours * 60}, RpoTargetMinutes = {rpo_hours * 60} "
        "| extend WithinTargets = Succeeded and RtoMinutes <= RtoTargetMinutes "
        "and (isnull(RpoMinutes) or RpoMinutes <= RpoTargetMinutes) "
        "| project TimeGenerated, Environment, Drill, Component, Succeeded, WithinTargets, RtoMinutes, "
        "RtoTargetMinutes, RpoMinutes, RpoTargetMinutes, Detail"
    )


# Defender for Cloud writes its security alerts to the activity log's Security category.
SECURITY_EVENTS = "AzureActivity | where CategoryValue == 'Security' "
DEFENDER_ALERTS = SECURITY_EVENTS + "| project TimeGenerated, OperationNameValue, Level, _ResourceId, Properties"
DEFENDER_ALERTS_BY_MONTH = (
    SECURITY_EVENTS + "| summarize alerts = count() by month = startofmonth(TimeGenerated), Level, OperationNameValue"
)

CHANGES = (
    "AzureActivity | where CategoryValue == 'Administrative' and ActivityStatusValue == 'Success' "
    "and OperationNameValue !endswith '/read' "
)
CHANGE_RECORDS = CHANGES + "| project TimeGenerated, Caller, OperationNameValue, _ResourceId"
CHANGES_BY_CALLER = (
    CHANGES + "| summarize changes = count(), resources = dcount(_ResourceId) by month = startofmonth(TimeGenerated), "
    "Caller | order by changes desc"
)
