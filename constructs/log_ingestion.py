"""A custom Log Analytics table fed through the Logs Ingestion API: the table and the data collection rule whose one
stream lands in it unchanged, and the log search alerts that fire on rows of it. The restore drills
(constructs/drills.py) and the in-cluster compliance job (constructs/compliance_results.py) post their rows this
way, through the platform's private-link endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_azurerm.log_analytics_workspace_table_custom_log import (
    LogAnalyticsWorkspaceTableCustomLog,
    LogAnalyticsWorkspaceTableCustomLogColumn,
)
from cdktf_cdktf_provider_azurerm.monitor_data_collection_rule import (
    MonitorDataCollectionRule,
    MonitorDataCollectionRuleDataFlow,
    MonitorDataCollectionRuleDestinations,
    MonitorDataCollectionRuleDestinationsLogAnalytics,
    MonitorDataCollectionRuleStreamDeclaration,
    MonitorDataCollectionRuleStreamDeclarationColumn,
)
from cdktf_cdktf_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
    MonitorScheduledQueryRulesAlertV2Action,
    MonitorScheduledQueryRulesAlertV2Criteria,
)

from constructs import Construct

DESTINATION = "workspace"


@dataclass(frozen=True)
class CustomLogTable:
    table: str  # ends in _CL
    stream: str  # Custom-<table>
    columns: Mapping[str, str]  # column -> Log Analytics type
    table_description: str
    rule_name: str
    rule_description: str


def custom_log_ingestion(
    scope: Construct,
    spec: CustomLogTable,
    *,
    location: str,
    resource_group_name: str,
    log_analytics_workspace_id: str,
    data_collection_endpoint_id: str,
) -> tuple[LogAnalyticsWorkspaceTableCustomLog, MonitorDataCollectionRule]:
    """The table and its rule, as children `table` and `rule` of `scope` (a sender posts to the rule's
    `immutable_id`; a log alert on the table waits for the table)."""
    table = LogAnalyticsWorkspaceTableCustomLog(
        scope,
        "table",
        name=spec.table,
        workspace_id=log_analytics_workspace_id,
        description=spec.table_description,
        column=[LogAnalyticsWorkspaceTableCustomLogColumn(name=n, type=t) for n, t in spec.columns.items()],
    )
    rule = MonitorDataCollectionRule(
        scope,
        "rule",
        name=spec.rule_name,
        location=location,
        resource_group_name=resource_group_name,
        description=spec.rule_description,
        data_collection_endpoint_id=data_collection_endpoint_id,
        stream_declaration=[
            MonitorDataCollectionRuleStreamDeclaration(
                stream_name=spec.stream,
                column=[
                    MonitorDataCollectionRuleStreamDeclarationColumn(name=n, type=t) for n, t in spec.columns.items()
                ],
            )
        ],
        destinations=MonitorDataCollectionRuleDestinations(
            log_analytics=[
                MonitorDataCollectionRuleDestinationsLogAnalytics(
                    name=DESTINATION, workspace_resource_id=log_analytics_workspace_id
                )
            ]
        ),
        data_flow=[
            MonitorDataCollectionRuleDataFlow(
                streams=[spec.stream], destinations=[DESTINATION], output_stream=spec.stream, transform_kql="source"
            )
        ],
        depends_on=[table],  # the output stream's table must exist when the rule is created
    )
    return table, rule


@dataclass(frozen=True)
class RowsAlert:
    """A log search alert that fires when its query returns any row."""

    name: str
    description: str
    query: str
    severity: int  # Azure's 0 (critical) to 4 (verbose)
    action_group_ids: tuple[str, ...]
    lookback: str  # ISO 8601: the window the query reads


def rows_alert(
    scope: Construct,
    id: str,
    alert: RowsAlert,
    *,
    location: str,
    resource_group_name: str,
    log_analytics_workspace_id: str,
    table: ITerraformDependable,
) -> MonitorScheduledQueryRulesAlertV2:
    """Hourly, resolving itself once the query returns no row; waits for `table`, which Azure needs when it
    validates the query at create time."""
    return MonitorScheduledQueryRulesAlertV2(
        scope,
        id,
        name=alert.name,
        location=location,
        resource_group_name=resource_group_name,
        scopes=[log_analytics_workspace_id],
        description=alert.description,
        severity=alert.severity,
        evaluation_frequency="PT1H",
        window_duration=alert.lookback,
        auto_mitigation_enabled=True,
        criteria=[
            MonitorScheduledQueryRulesAlertV2Criteria(
                query=alert.query, time_aggregation_method="Count", operator="GreaterThan", threshold=0
            )
        ],
        action=MonitorScheduledQueryRulesAlertV2Action(action_groups=list(alert.action_group_ids)),
        depends_on=[table],
    )
