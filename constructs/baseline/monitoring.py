"""Settings of the AKS managed Prometheus agent (ama-metrics), which reads this ConfigMap.

Story 3.1's self-hosted HA Prometheus/Alertmanager is replaced by Azure Monitor managed Prometheus
(infra stack: workspace, rule groups, action groups). Only the agent's scrape settings live in the
cluster; the story's figures are in `config.baseline.monitoring` and docs/platform/observability.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_kubernetes.config_map_v1 import ConfigMapV1, ConfigMapV1Metadata

from constructs import Construct

AMA_METRICS_SETTINGS = "ama-metrics-settings-configmap"  # name and namespace are fixed by the add-on


@dataclass(frozen=True)
class ManagedPrometheusSettingsProps:
    cluster_alias: str
    scrape_interval_seconds: int = 30
    # Namespaces whose pods opt in with prometheus.io/scrape annotations.
    annotated_namespaces: tuple[str, ...] = ("applications", "monitoring")


class ManagedPrometheusSettings(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ManagedPrometheusSettingsProps) -> None:
        super().__init__(scope, id)
        interval = f"{props.scrape_interval_seconds}s"
        targets = ("kubelet", "coredns", "cadvisor", "kubeproxy", "apiserver", "kubestate", "nodeexporter")
        self.config_map = ConfigMapV1(
            self,
            "settings",
            metadata=ConfigMapV1Metadata(name=AMA_METRICS_SETTINGS, namespace="kube-system"),
            data={
                "schema-version": "v1",
                "config-version": "ver1",
                "prometheus-collector-settings": f'cluster_alias = "{props.cluster_alias}"',
                "default-scrape-settings-enabled": "\n".join(f"{t} = true" for t in targets),
                "pod-annotation-based-scraping": (
                    f'podannotationnamespaceregex = "{"|".join(props.annotated_namespaces)}"'
                ),
                "default-targets-scrape-interval-settings": "\n".join(f'{t} = "{interval}"' for t in targets),
                "debug-mode": "enabled = false",
            },
        )
