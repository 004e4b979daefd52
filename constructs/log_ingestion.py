"""A custom Log Analytics table fed through the Logs Ingestion API: the table and the data collection rule whose one
stream lands in it unchanged. The restore drills (constructs/drills.py) and the in-cluster compliance job
(constructs/compliance_results.py) post their rows this way, through the platform's private-link endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
