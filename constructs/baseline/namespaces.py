"""Namespaces enforcing Pod Security `restricted`, each with default-deny traffic, a quota and limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_kubernetes.limit_range_v1 import (
    LimitRangeV1,
    LimitRangeV1Metadata,
    LimitRangeV1Spec,
    LimitRangeV1SpecLimit,
)
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1, NamespaceV1Metadata
from cdktf_cdktf_provider_kubernetes.network_policy_v1 import (
    NetworkPolicyV1,
    NetworkPolicyV1Metadata,
    NetworkPolicyV1Spec,
    NetworkPolicyV1SpecEgress,
    NetworkPolicyV1SpecEgressPorts,
    NetworkPolicyV1SpecEgressTo,
    NetworkPolicyV1SpecEgressToNamespaceSelector,
    NetworkPolicyV1SpecEgressToPodSelector,
    NetworkPolicyV1SpecIngress,
    NetworkPolicyV1SpecIngressFrom,
    NetworkPolicyV1SpecIngressFromNamespaceSelector,
    NetworkPolicyV1SpecIngressFromPodSelector,
    NetworkPolicyV1SpecPodSelector,
)
from cdktf_cdktf_provider_kubernetes.resource_quota_v1 import (
    ResourceQuotaV1,
    ResourceQuotaV1Metadata,
    ResourceQuotaV1Spec,
)

from config.baseline import NamespaceQuota
from constructs import Construct

PSS_LABELS = {
    f"pod-security.kubernetes.io/{mode}{suffix}": value
    for mode in ("enforce", "audit", "warn")
    for suffix, value in (("", "restricted"), ("-version", "latest"))
}
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}
# Pods of the managed Prometheus agent (AKS "ama-metrics" add-on): a replica set and a node daemon set.
AMA_METRICS_POD_LABELS = ({"rsName": "ama-metrics"}, {"dsName": "ama-metrics-node"})
COREDNS_POD_LABELS = {"k8s-app": "kube-dns"}
SELECT_ALL = NetworkPolicyV1SpecPodSelector()


@dataclass(frozen=True)
class BaselineNamespacesProps:
    namespaces: Mapping[str, NamespaceQuota]
    # Label attesting the namespace's default-deny policy; the Gatekeeper namespace policy requires it.
    network_policy_label: str
    # Namespaces whose pods expose metrics the managed Prometheus agent scrapes.
    scraped_namespaces: frozenset[str] = frozenset({"applications", "monitoring"})
    # Namespaces served through the ingress controller, and the namespace its pods run in.
    exposed_namespaces: frozenset[str] = frozenset({"applications"})
    ingress_namespace: str = "app-routing-system"


class BaselineNamespaces(Construct):
    """One namespace per config entry; no workload can talk to anything it was not allowed to."""

    def __init__(self, scope: Construct, id: str, *, props: BaselineNamespacesProps) -> None:
        super().__init__(scope, id)
        self.namespace_names: dict[str, str] = {}
        for name, quota in sorted(props.namespaces.items()):
            namespace = NamespaceV1(
                self,
                f"{name}-namespace",
                metadata=NamespaceV1Metadata(
                    name=name, labels={**PSS_LABELS, props.network_policy_label: "default-deny"}
                ),
            )
            self.namespace_names[name] = namespace_name = namespace.metadata.name
            self._guard_rails(name, namespace_name, quota, scrape=name in props.scraped_namespaces)
            if name in props.exposed_namespaces:
                self._allow_from_ingress(name, namespace_name, props.ingress_namespace)

    def _allow_from_ingress(self, key: str, namespace: str, ingress_namespace: str) -> None:
        """The ingress controller's pods reach every pod here (the only way in from the gateway)."""
        NetworkPolicyV1(
            self,
            f"{key}-allow-from-ingress",
            metadata=NetworkPolicyV1Metadata(name="allow-from-ingress", namespace=namespace),
            spec=NetworkPolicyV1Spec(
                pod_selector=SELECT_ALL,
                policy_types=["Ingress"],
                ingress=[
                    NetworkPolicyV1SpecIngress(
                        from_=[
                            NetworkPolicyV1SpecIngressFrom(
                                namespace_selector=NetworkPolicyV1SpecIngressFromNamespaceSelector(
                                    match_labels={"kubernetes.io/metadata.name": ingress_namespace}
                                )
                            )
                        ]
                    )
                ],
            ),
        )

    def _guard_rails(self, key: str, namespace: str, quota: NamespaceQuota, *, scrape: bool) -> None:
        def metadata(cls, name: str):
            return cls(name=name, namespace=namespace)

        NetworkPolicyV1(
            self,
            f"{key}-default-deny",
            metadata=metadata(NetworkPolicyV1Metadata, "default-deny-all"),
            spec=NetworkPolicyV1Spec(pod_selector=SELECT_ALL, policy_types=["Ingress", "Egress"]),
        )
        NetworkPolicyV1(
            self,
            f"{key}-allow-dns",
            metadata=metadata(NetworkPolicyV1Metadata, "allow-dns-egress"),
            spec=NetworkPolicyV1Spec(
                pod_selector=SELECT_ALL,
                policy_types=["Egress"],
                egress=[
                    NetworkPolicyV1SpecEgress(
                        to=[
                            NetworkPolicyV1SpecEgressTo(
                                namespace_selector=NetworkPolicyV1SpecEgressToNamespaceSelector(
                                    match_labels=KUBE_SYSTEM
                                ),
                                pod_selector=NetworkPolicyV1SpecEgressToPodSelector(match_labels=COREDNS_POD_LABELS),
                            )
                        ],
                        ports=[NetworkPolicyV1SpecEgressPorts(port="53", protocol=p) for p in ("UDP", "TCP")],
                    )
                ],
            ),
        )
        if scrape:
            NetworkPolicyV1(
                self,
                f"{key}-allow-metrics-scrape",
                metadata=metadata(NetworkPolicyV1Metadata, "allow-managed-prometheus-scrape"),
                spec=NetworkPolicyV1Spec(
                    pod_selector=SELECT_ALL,
                    policy_types=["Ingress"],
                    ingress=[
                        NetworkPolicyV1SpecIngress(
                            from_=[
                                NetworkPolicyV1SpecIngressFrom(
                                    namespace_selector=NetworkPolicyV1SpecIngressFromNamespaceSelector(
                                        match_labels=KUBE_SYSTEM
                                    ),
                                    pod_selector=NetworkPolicyV1SpecIngressFromPodSelector(match_labels=labels),
                                )
                                for labels in AMA_METRICS_POD_LABELS
                            ]
                        )
                    ],
                ),
            )
        ResourceQuotaV1(
            self,
            f"{key}-quota",
            metadata=metadata(ResourceQuotaV1Metadata, "baseline-quota"),
            spec=ResourceQuotaV1Spec(
                hard={
                    "requests.cpu": quota.requests_cpu,
                    "requests.memory": quota.requests_memory,
                    "limits.cpu": quota.limits_cpu,
                    "limits.memory": quota.limits_memory,
                    "pods": str(quota.pods),
                    "persistentvolumeclaims": str(quota.persistent_volume_claims),
                }
            ),
        )
        LimitRangeV1(
            self,
            f"{key}-limits",
            metadata=metadata(LimitRangeV1Metadata, "baseline-limits"),
            spec=LimitRangeV1Spec(
                limit=[
                    LimitRangeV1SpecLimit(
                        type="Container",
                        default_request={"cpu": quota.default_request_cpu, "memory": quota.default_request_memory},
                        default={"cpu": quota.default_limit_cpu, "memory": quota.default_limit_memory},
                    )
                ]
            ),
        )
