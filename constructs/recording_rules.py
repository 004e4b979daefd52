"""Prometheus recording rules for the cluster (managed Prometheus), so dashboards read cheap precomputed
series instead of re-aggregating raw cAdvisor/kube-state-metrics/node-exporter data on every refresh.

The rules are Microsoft's default Linux recording rules for Azure Monitor managed Prometheus (the
`NodeRecordingRulesRuleGroup` and `KubernetesRecordingRulesRuleGroup` that the AKS add-on, the AVM AKS
production pattern and Microsoft's Terraform template create), copied as data from Azure/prometheus-collector
`AddonTerraformTemplate/main.tf` (commit 09066018925ec8caf7f47fd324be4bc9d5ba3941). The Windows groups are left
out: the cluster has no Windows node pool. Each group is scoped to the cluster (`cluster_name` is the agent's
cluster alias, as the alert rule group uses).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.monitor_alert_prometheus_rule_group import (
    MonitorAlertPrometheusRuleGroupRule,
)

from constructs import Construct
from constructs.naming import Naming
from constructs.prometheus_rule_group import cluster_rule_group

SOURCE = "Azure/prometheus-collector AddonTerraformTemplate/main.tf@09066018925ec8caf7f47fd324be4bc9d5ba3941"
_KSM = 'job="kube-state-metrics"'
_ACTIVE = 'kube_pod_status_phase{phase=~"Pending|Running"} == 1'
_NODE_MEM = (
    'node_memory_MemAvailable_bytes{job="node"} or (node_memory_Buffers_bytes{job="node"} + '
    'node_memory_Cached_bytes{job="node"} + node_memory_MemFree_bytes{job="node"} + node_memory_Slab_bytes{job="node"})'
)


def _per_container(metric: str) -> str:
    return (
        f'{metric}{{job="cadvisor", image!=""}} * on (namespace, pod) group_left(node) topk by(namespace, pod) '
        '(1, max by(namespace, pod, node) (kube_pod_info{node!=""}))'
    )


def _active(kind: str, resource: str) -> str:
    return (
        f'kube_pod_container_resource_{kind}{{resource="{resource}",{_KSM}}} * on (namespace, pod, cluster) '
        f"group_left() max by (namespace, pod, cluster) (({_ACTIVE}))"
    )


def _namespace_sum(kind: str, resource: str) -> str:
    return (
        "sum by (namespace, cluster) (sum by (namespace, pod, cluster) (max by (namespace, pod, container, cluster) "
        f'(kube_pod_container_resource_{kind}{{resource="{resource}",{_KSM}}}) * on(namespace, pod, cluster) '
        f"group_left() max by (namespace, pod, cluster) ({_ACTIVE})))"
    )


def _owner(kind: str) -> str:
    return (
        "max by (cluster, namespace, workload, pod) (label_replace("
        f'kube_pod_owner{{{_KSM}, owner_kind="{kind}"}}, "workload", "$1", "owner_name", "(.*)"))'
    )


# (record, expression, labels)
Rule = tuple[str, str, dict[str, str]]


def _requests_and_limits() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for kind in ("requests", "limits"):
        for resource in ("memory", "cpu"):
            rules.append(
                (
                    f"cluster:namespace:pod_{resource}:active:kube_pod_container_resource_{kind}",
                    _active(kind, resource),
                    {},
                )
            )
            rules.append(
                (f"namespace_{resource}:kube_pod_container_resource_{kind}:sum", _namespace_sum(kind, resource), {})
            )
    return tuple(rules)


RULE_GROUPS: dict[str, tuple[Rule, ...]] = {
    "node": (
        ("instance:node_num_cpu:sum", 'count without (cpu, mode) (node_cpu_seconds_total{job="node",mode="idle"})', {}),
        (
            "instance:node_cpu_utilisation:rate5m",
            "1 - avg without (cpu) (sum without (mode) "
            '(rate(node_cpu_seconds_total{job="node", mode=~"idle|iowait|steal"}[5m])))',
            {},
        ),
        ("instance:node_load1_per_cpu:ratio", '(node_load1{job="node"} / instance:node_num_cpu:sum{job="node"})', {}),
        (
            "instance:node_memory_utilisation:ratio",
            f'1 - (({_NODE_MEM}) / node_memory_MemTotal_bytes{{job="node"}})',
            {},
        ),
        ("instance:node_vmstat_pgmajfault:rate5m", 'rate(node_vmstat_pgmajfault{job="node"}[5m])', {}),
        (
            "instance_device:node_disk_io_time_seconds:rate5m",
            'rate(node_disk_io_time_seconds_total{job="node", device!=""}[5m])',
            {},
        ),
        (
            "instance_device:node_disk_io_time_weighted_seconds:rate5m",
            'rate(node_disk_io_time_weighted_seconds_total{job="node", device!=""}[5m])',
            {},
        ),
        *(
            (
                f"instance:node_network_{direction}_{what}_excluding_lo:rate5m",
                f'sum without (device) (rate(node_network_{direction}_{what}_total{{job="node", device!="lo"}}[5m]))',
                {},
            )
            for direction in ("receive", "transmit")
            for what in ("bytes", "drop")
        ),
    ),
    "kubernetes": (
        (
            "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate",
            "sum by (cluster, namespace, pod, container) "
            '(irate(container_cpu_usage_seconds_total{job="cadvisor", image!=""}[5m])) '
            "* on (cluster, namespace, pod) group_left(node) topk by (cluster, namespace, pod) "
            '(1, max by(cluster, namespace, pod, node) (kube_pod_info{node!=""}))',
            {},
        ),
        *(
            (f"node_namespace_pod_container:{metric}", _per_container(metric), {})
            for metric in (
                "container_memory_working_set_bytes",
                "container_memory_rss",
                "container_memory_cache",
                "container_memory_swap",
            )
        ),
        *_requests_and_limits(),
        (
            "namespace_workload_pod:kube_pod_owner:relabel",
            "max by (cluster, namespace, workload, pod) (label_replace(label_replace("
            f'kube_pod_owner{{{_KSM}, owner_kind="ReplicaSet"}}, "replicaset", "$1", "owner_name", "(.*)") '
            "* on(replicaset, namespace) group_left(owner_name) topk by(replicaset, namespace) "
            f"(1, max by (replicaset, namespace, owner_name) (kube_replicaset_owner{{{_KSM}}})), "
            '"workload", "$1", "owner_name", "(.*)"))',
            {"workload_type": "deployment"},
        ),
        *(
            ("namespace_workload_pod:kube_pod_owner:relabel", _owner(kind), {"workload_type": kind.lower()})
            for kind in ("DaemonSet", "StatefulSet", "Job")
        ),
        (":node_memory_MemAvailable_bytes:sum", f"sum({_NODE_MEM}) by (cluster)", {}),
        (
            "cluster:node_cpu:ratio_rate5m",
            'sum(rate(node_cpu_seconds_total{job="node",mode!="idle",mode!="iowait",mode!="steal"}[5m])) by (cluster) '
            '/ count(sum(node_cpu_seconds_total{job="node"}) by (cluster, instance, cpu)) by (cluster)',
            {},
        ),
    ),
}
GROUP_NAMES = {"node": "NodeRecordingRulesRuleGroup", "kubernetes": "KubernetesRecordingRulesRuleGroup"}


def recorded_series() -> frozenset[str]:
    return frozenset(record for rules in RULE_GROUPS.values() for record, _, _ in rules)


@dataclass(frozen=True)
class RecordingRulesProps:
    naming: Naming
    location: str
    resource_group_name: str
    cluster_id: str
    prometheus_cluster_label: str  # the agent's cluster alias
    monitor_workspace_id: str


class RecordingRules(Construct):
    """Exposes `groups` (key → rule group)."""

    def __init__(self, scope: Construct, id: str, *, props: RecordingRulesProps) -> None:
        super().__init__(scope, id)
        self.groups = {
            key: cluster_rule_group(
                self,
                f"{key}-recording-rules",
                props,
                name=f"{GROUP_NAMES[key]}-{props.prometheus_cluster_label}",
                description=f"{GROUP_NAMES[key]}: Microsoft's default recording rules ({SOURCE})",
                rules=[
                    MonitorAlertPrometheusRuleGroupRule(
                        record=record, expression=expression, labels=labels or None, enabled=True
                    )
                    for record, expression, labels in rules
                ],
            )
            for key, rules in RULE_GROUPS.items()
        }
