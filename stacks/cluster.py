"""In-cluster resources of one environment (kubernetes provider only).

The provider is configured from the infrastructure stack's AKS attributes; CDKTF turns those into
outputs there and a terraform_remote_state read here, so the infrastructure stack must be applied
first. It authenticates through kubelogin (local accounts are disabled on AKS).
"""

from __future__ import annotations

from cdktf import Aspects, Fn, TerraformStack
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider, KubernetesProviderExec

from config.schema import EnvironmentConfig
from constructs import Construct
from constructs.app_gateway import AppGateway
from constructs.aspects.pod_security import PodSecurityRestricted
from constructs.baseline.ingress import INGRESS_NAMESPACE, IngressControllerProps
from constructs.baseline.jobs import ExportsTarget, ResultsTarget
from constructs.baseline.platform import ClusterBaseline, ClusterBaselineProps
from constructs.cluster import AksCluster
from constructs.cluster_exports import ClusterExportsWriter
from constructs.compliance_results import ComplianceResults
from constructs.image_pins import registry_copy
from constructs.naming import Naming
from constructs.observability import Observability
from constructs.registry import registry_name
from constructs.tracing import (
    OtelCollector,
    OtelCollectorProps,
    TracingExporterSettings,
    TracingExporterSettingsProps,
    TracingPublisher,
)
from stacks.common import use_remote_state

# The baseline jobs' namespaces (config/baseline.py requires them): platform, not application, namespaces.
PLATFORM_NAMESPACES = frozenset({"monitoring", "backup-system", "compliance"})
# Entra ID application every AKS cluster with managed Entra integration accepts tokens for.
AKS_ENTRA_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


class ClusterStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvironmentConfig,
        aks: AksCluster,
        observability: Observability,
        tracing: TracingPublisher,
        exports: ClusterExportsWriter,
        app_gateway: AppGateway,
        compliance_results: ComplianceResults,
    ) -> None:
        super().__init__(scope, id)
        use_remote_state(self, config)
        KubernetesProvider(
            self,
            "kubernetes",
            host=aks.host,
            cluster_ca_certificate=Fn.base64decode(aks.cluster_ca_certificate),
            exec=[
                KubernetesProviderExec(
                    api_version="client.authentication.k8s.io/v1beta1",
                    command="kubelogin",
                    args=[
                        "get-token",
                        "--login",
                        config.cluster_access.kubelogin_login,
                        "--server-id",
                        AKS_ENTRA_SERVER_APP_ID,
                    ],
                )
            ],
        )
        naming = Naming(config.short_name, config.unique_suffix)
        job_image = config.baseline.job_image
        job_tag = job_image.tag(config.aks.kubernetes_version)
        baseline = ClusterBaseline(
            self,
            "baseline",
            props=ClusterBaselineProps(
                config=config.baseline,
                # Imported by the infra stack (applied first) at the cluster's minor version.
                job_image=registry_copy(
                    f"{registry_name(naming)}.azurecr.io/{job_image.repository}:{job_tag}",
                    f"{job_image.source_repository}:{job_tag}",
                ),
                network_policy=config.aks.network_policy,
                exports=ExportsTarget(
                    client_id=exports.client_id,
                    container_url=exports.container_url,
                    private_endpoint_cidr=config.network.spoke.private_endpoints.address_prefix,
                ),
                # The Gatekeeper exclusions plus the ingress add-on's namespace.
                platform_namespaces=tuple(
                    sorted({*config.governance.kubernetes_policy.excluded_namespaces, INGRESS_NAMESPACE})
                ),
                cluster_alias=config.prometheus_cluster_label,
                network_policy_label=config.governance.kubernetes_policy.network_policy_label,
                compliance_results=ResultsTarget(
                    client_id=compliance_results.client_id,
                    endpoint=observability.data_collection_endpoint.logs_ingestion_endpoint,
                    rule_id=compliance_results.immutable_id,
                    stream=compliance_results.stream,
                    environment=config.name,
                    private_endpoint_cidr=config.network.spoke.private_endpoints.address_prefix,
                ),
                ingress=IngressControllerProps(
                    ip_address=config.app_gateway.ingress_ip_address,
                    subnet_name=config.network.spoke.aks_user.name,
                    certificate_uri=app_gateway.backend_certificate_uri,
                ),
            ),
        )
        tracing_config = config.observability.tracing
        TracingExporterSettings(
            self,
            "tracing",
            props=TracingExporterSettingsProps(
                config=tracing_config,
                namespace=baseline.namespaces.namespace_names[tracing_config.namespace],
                # Cross-stack output (sensitive in azurerm), into a ConfigMap: not a secret, and no Secret here (#27).
                connection_string=observability.application_insights.connection_string,
                client_id=tracing.client_id,
                private_endpoint_cidr=config.network.spoke.private_endpoints.address_prefix,
            ),
        )
        # Every application namespace (all but the platform jobs' and the collector's) is wired to the collector.
        namespace_names = baseline.namespaces.namespace_names
        OtelCollector(
            self,
            "otel-collector",
            props=OtelCollectorProps(
                config=tracing_config,
                namespace=namespace_names[tracing_config.collector_namespace],
                application_namespaces={
                    name: reference
                    for name, reference in namespace_names.items()
                    if name not in PLATFORM_NAMESPACES and name != tracing_config.collector_namespace
                },
                image=registry_copy(
                    f"{registry_name(naming)}.azurecr.io/{tracing_config.collector_repository}:"
                    f"{tracing_config.collector_version}",
                    f"{tracing_config.collector_source_repository}:{tracing_config.collector_version}",
                ),
                connection_string=observability.application_insights.connection_string,
                proxy_client_id=aks.kubelet_identity.client_id,
                private_endpoint_cidr=config.network.spoke.private_endpoints.address_prefix,
            ),
        )
        Aspects.of(self).add(PodSecurityRestricted())
