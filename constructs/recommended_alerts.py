"""Microsoft's recommended Prometheus alert rules for AKS (cluster, node and pod level), on managed Prometheus.

The rules are the ones the portal's "recommended alerts", Microsoft's Bicep/Terraform templates and the AVM AKS
production pattern deploy, recorded verbatim in reference/prometheus_alerts.json (Azure/prometheus-collector
`GeneratedMonitoringArtifacts/Default/recommendedMetricAlerts.json`). Expressions stay Microsoft's; config
(`observability.prometheus_alerts`) overrides a severity, a final threshold or a `for`, or disables a rule.
Each group is scoped to the workspace and the cluster with `cluster_name` = the agent's cluster alias, as
Microsoft's groups and the recording rules are. Severity 0-1 notify both critical groups, 2-4 both warning ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroupRule,
    MonitorAlertPrometheusRuleGroupRuleAction,
    MonitorAlertPrometheusRuleGroupRuleAlertResolution,
)

from config.prometheus_alerts import RECOMMENDED_RULES, PrometheusAlerts
from constructs import Construct
from constructs.alerts import PROMETHEUS_MAX_FOR_MINUTES, PROMETHEUS_MIN_FOR_MINUTES
from constructs.prometheus_rule_group import cluster_rule_group

GROUP_SUFFIXES = {"cluster": "Cluster-level", "node": "Node-level", "pod": "Pod-level"}
# Rules not created whatever the config says. Duplicates: story 3.1's rules (constructs/alerts.py) watch the same
# thing with thresholds from config. Not collected: the rule reads a metric the agent's minimal ingestion profile
# drops (tools/checks/prometheus_rules.py finds these; a test keeps this list equal to what it finds).
EXCLUDED: dict[str, str] = {
    "KubePodNotReadyByController": "duplicate: story 3.1's KubePodNotReady fires on pods Pending/Unknown/Failed "
    "for 15 minutes",
    "KubePodContainerRestart": "duplicate: story 3.1's KubePodRestartingOften counts the same restarts "
    "(kube_pod_container_status_restarts_total) with the configured threshold",
    "KubePersistentVolumeErrors": "not collected: kube_persistentvolume_status_phase is not in kube-state-metrics' "
    "minimal ingestion profile",
    "KubePersistentVolumeFillingUp": "not collected: kube_persistentvolumeclaim_access_mode is not in "
    "kube-state-metrics' minimal ingestion profile",
    "KubeStatefulSetGenerationMismatch": "not collected: kube_statefulset_status_observed_generation and "
    "kube_statefulset_metadata_generation are not in kube-state-metrics' minimal ingestion profile",
}
_FINAL_NUMBER = re.compile(r"(-?(?:\d+\.?\d*|\.\d+))(\s*)$")


def route(severity: int) -> str:
    """The action groups' severity key: Azure severity 0-1 page (critical), 2-4 are warnings."""
    return "critical" if severity <= 1 else "warning"


def minutes(duration: str) -> int:
    match = re.fullmatch(r"PT(\d+)M", duration)
    if match is None:
        raise ValueError(f"recommended alerts: `for` {duration!r} is not whole minutes")
    return int(match.group(1))


def with_threshold(expression: str, value: float) -> str:
    """The expression with its final number (the recorded threshold) replaced."""
    return _FINAL_NUMBER.sub(lambda m: f"{value:g}{m.group(2)}", expression, count=1)


@dataclass(frozen=True)
class RecommendedAlertsProps:
    config: PrometheusAlerts
    location: str
    resource_group_name: str
    cluster_id: str
    prometheus_cluster_label: str  # the agent's cluster alias: the groups' cluster_name
    monitor_workspace_id: str
    action_group_ids: Mapping[str, tuple[str, ...]]  # severity → every action group id (Observability.action_group_ids)


class RecommendedAlerts(Construct):
    """Exposes `groups` (group key → rule group) and `rules` (alert name → the values it was created with)."""

    def __init__(self, scope: Construct, id: str, *, props: RecommendedAlertsProps) -> None:
        super().__init__(scope, id)
        self._props = props
        skipped = set(EXCLUDED) | set(props.config.disabled)
        self.rules: dict[str, dict[str, Any]] = {
            name: self._resolved(name, rule) for name, (_, rule) in RECOMMENDED_RULES.items() if name not in skipped
        }
        self.groups = {
            key: cluster_rule_group(
                self,
                f"{key}-level",
                props,
                name=f"KubernetesAlert-RecommendedMetricAlerts{props.prometheus_cluster_label}-{suffix}",
                description=f"Microsoft's recommended {suffix} alerts for AKS (reference/prometheus_alerts.json)",
                rules=[
                    self._rule(name)
                    for name, (group, _) in RECOMMENDED_RULES.items()
                    if group == key and name in self.rules
                ],
            )
            for key, suffix in GROUP_SUFFIXES.items()
        }

    def _resolved(self, name: str, rule: dict[str, Any]) -> dict[str, Any]:
        override = self._props.config.overrides.get(name)
        severity, expression, for_minutes = rule["severity"], rule["expression"], minutes(rule["for"])
        if override is not None:
            severity = severity if override.severity is None else override.severity
            expression = expression if override.threshold is None else with_threshold(expression, override.threshold)
            for_minutes = for_minutes if override.for_minutes is None else override.for_minutes
        if not PROMETHEUS_MIN_FOR_MINUTES <= for_minutes <= PROMETHEUS_MAX_FOR_MINUTES:
            raise ValueError(f"recommended alerts: {name} 'for' of {for_minutes} minutes is outside Azure's range")
        return {"severity": severity, "expression": expression, "for_minutes": for_minutes, "reference": rule}

    def _rule(self, name: str) -> MonitorAlertPrometheusRuleGroupRule:
        resolved = self.rules[name]
        severity = resolved["severity"]
        return MonitorAlertPrometheusRuleGroupRule(
            alert=name,
            enabled=True,
            expression=resolved["expression"],
            for_=f"PT{resolved['for_minutes']}M",
            severity=severity,
            labels={"severity": route(severity)},
            annotations={"description": resolved["reference"]["description"]},
            action=[
                MonitorAlertPrometheusRuleGroupRuleAction(action_group_id=group)
                for group in self._props.action_group_ids[route(severity)]
            ],
            alert_resolution=MonitorAlertPrometheusRuleGroupRuleAlertResolution(
                auto_resolved=True, time_to_resolve=resolved["reference"]["time_to_resolve"]
            ),
        )
