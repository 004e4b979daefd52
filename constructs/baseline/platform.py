"""The whole in-cluster baseline of one environment, assembled from its `[baseline]` config."""

from __future__ import annotations

from dataclasses import dataclass

from config.baseline import BaselineConfig
from constructs import Construct
from constructs.baseline.ingress import IngressController, IngressControllerProps
from constructs.baseline.jobs import BaselineJobs, BaselineJobsProps, ExportsTarget, ResultsTarget
from constructs.baseline.monitoring import ManagedPrometheusSettings, ManagedPrometheusSettingsProps
from constructs.baseline.namespaces import BaselineNamespaces, BaselineNamespacesProps

BACKUP_NAMESPACE = "backup-system"
COMPLIANCE_NAMESPACE = "compliance"


@dataclass(frozen=True)
class ClusterBaselineProps:
    config: BaselineConfig
    cluster_alias: str
    network_policy_label: str  # from the governance config's Kubernetes policies
    job_image: str  # the jobs' kubectl image in the environment's registry
    network_policy: str  # the cluster's policy engine (aks.network_policy): "cilium" or "azure"
    exports: ExportsTarget  # where the backup CronJob uploads its exports (geo-redundant blob)
    platform_namespaces: tuple[str, ...] = ()  # owned by AKS and its add-ons (the policy exclusions)
    ingress: IngressControllerProps | None = None  # the ingress behind the App Gateway (None: not declared)
    compliance_results: ResultsTarget | None = None  # where the compliance job posts (None: its volume only)


class ClusterBaseline(Construct):
    def __init__(self, scope: Construct, id: str, *, props: ClusterBaselineProps) -> None:
        super().__init__(scope, id)
        config = props.config
        self.namespaces = BaselineNamespaces(
            self,
            "namespaces",
            props=BaselineNamespacesProps(
                namespaces=config.namespaces, network_policy_label=props.network_policy_label
            ),
        )
        if props.ingress is not None:
            self.ingress = IngressController(self, "ingress", props=props.ingress)
        names = self.namespaces.namespace_names  # references, so namespaces are created before their contents
        self.jobs = BaselineJobs(
            self,
            "jobs",
            props=BaselineJobsProps(
                backup_namespace=names[BACKUP_NAMESPACE],
                compliance_namespace=names[COMPLIANCE_NAMESPACE],
                backup=config.backup_job,
                compliance=config.compliance_job,
                backup_schedule=config.backup_schedule,
                exports=props.exports,
                storage_class=config.storage_class,
                reports_storage_size=config.reports_storage_size,
                api_server_cidrs=config.api_server_cidrs,
                image=props.job_image,
                cilium=props.network_policy == "cilium",
                platform_namespaces=props.platform_namespaces,
                compliance_schedule=config.compliance_schedule,
                results=props.compliance_results,
            ),
        )
        self.prometheus = ManagedPrometheusSettings(
            self,
            "managed-prometheus",
            props=ManagedPrometheusSettingsProps(
                cluster_alias=props.cluster_alias,
                scrape_interval_seconds=config.monitoring.scrape_interval_seconds,
            ),
        )
