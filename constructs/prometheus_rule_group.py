"""A managed Prometheus rule group on the cluster: evaluated every minute in the cluster's Azure Monitor workspace,
over the series its metrics agent labels with the cluster's alias. Alert and recording rules share this shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cdktf_cdktf_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroup,
    MonitorAlertPrometheusRuleGroupRule,
)

from constructs import Construct


class ClusterRuleTarget(Protocol):
    @property
    def location(self) -> str: ...
    @property
    def resource_group_name(self) -> str: ...
    @property
    def cluster_id(self) -> str: ...
    @property
    def prometheus_cluster_label(self) -> str: ...  # the agent's cluster alias, not the AKS resource name
    @property
    def monitor_workspace_id(self) -> str: ...


def cluster_rule_group(
    scope: Construct,
    id: str,
    target: ClusterRuleTarget,
    *,
    name: str,
    description: str,
    rules: Sequence[MonitorAlertPrometheusRuleGroupRule],
) -> MonitorAlertPrometheusRuleGroup:
    return MonitorAlertPrometheusRuleGroup(
        scope,
        id,
        name=name,
        location=target.location,
        resource_group_name=target.resource_group_name,
        cluster_name=target.prometheus_cluster_label,
        scopes=[target.monitor_workspace_id, target.cluster_id],
        interval="PT1M",
        rule_group_enabled=True,
        description=description,
        rule=list(rules),
    )
