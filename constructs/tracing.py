"""Distributed tracing (Story 3.1): OpenTelemetry from the workloads of the `applications` namespace to
Application Insights, over the Azure Monitor private link scope (constructs/monitor_private_link.py).

Story 3.1 names Jaeger; Application Insights is the platform's trace store (workspace-based, retention and
sampling from config), and services instrument with OpenTelemetry through the Azure Monitor OpenTelemetry
distro, which exports to it directly. Two halves:

- `TracingPublisher` (infrastructure stack): the identity traced workloads send as. Application Insights has
  local (instrumentation-key) authentication off, so ingestion needs an Entra ID token: a user-assigned identity
  holding *Monitoring Metrics Publisher* on the component, federated with the `applications` service account
  through the cluster's OIDC issuer (workload identity; no secret to rotate).
- `TracingExporterSettings` (cluster stack): what a service mounts. A ConfigMap with the connection string, the
  sampler and the Entra authentication setting, the workload-identity service account, and a NetworkPolicy
  opening HTTPS from labelled pods to the private endpoint subnet and to Entra ID (via the firewall).

The cluster stack manages no Kubernetes Secret (issue #27): the plan identity's Kubernetes reader role cannot
read Secrets, so every refresh of one would be a 403. The connection string is not a secret: "Ikey unique
identifiers aren't security tokens or security keys, and aren't considered secrets" (Microsoft Learn, "Connection
strings in Application Insights", https://learn.microsoft.com/azure/azure-monitor/app/connection-strings), and
ingestion here needs an Entra ID token anyway (local authentication is off). It still comes from a cross-stack
output (never a literal in the JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf import Fn
from cdktf_cdktf_provider_kubernetes import deployment_v1
from cdktf_cdktf_provider_kubernetes.config_map_v1 import ConfigMapV1, ConfigMapV1Metadata
from cdktf_cdktf_provider_kubernetes.network_policy_v1 import (
    NetworkPolicyV1,
    NetworkPolicyV1Metadata,
    NetworkPolicyV1Spec,
    NetworkPolicyV1SpecEgress,
    NetworkPolicyV1SpecEgressPorts,
    NetworkPolicyV1SpecEgressTo,
    NetworkPolicyV1SpecEgressToIpBlock,
    NetworkPolicyV1SpecEgressToNamespaceSelector,
    NetworkPolicyV1SpecEgressToPodSelector,
    NetworkPolicyV1SpecIngress,
    NetworkPolicyV1SpecIngressFrom,
    NetworkPolicyV1SpecIngressFromNamespaceSelector,
    NetworkPolicyV1SpecIngressFromNamespaceSelectorMatchExpressions,
    NetworkPolicyV1SpecIngressPorts,
    NetworkPolicyV1SpecPodSelector,
)
from cdktf_cdktf_provider_kubernetes.service_account_v1 import ServiceAccountV1, ServiceAccountV1Metadata
from cdktf_cdktf_provider_kubernetes.service_v1 import ServiceV1, ServiceV1Metadata, ServiceV1Spec, ServiceV1SpecPort

from config.observability import TracingConfig
from constructs import Construct
from constructs.baseline.jobs import NON_ROOT_UID, PRIVATE_RANGES
from constructs.federation import federated_identity, service_account_trust
from constructs.image_pins import pinned
from constructs.interfaces import RoleGrant, grant
from constructs.naming import Naming

PUBLISHER_ROLE = "Monitoring Metrics Publisher"  # the role Application Insights checks for Entra ID ingestion
CONFIG_MAP_NAME = "otel-exporter"
CONNECTION_STRING_KEY = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# The Azure Monitor OpenTelemetry distro's fixed-percentage sampler (ratio 0..1 in OTEL_TRACES_SAMPLER_ARG).
SAMPLER = "microsoft.fixed_percentage"


@dataclass(frozen=True)
class TracingPublisherProps:
    config: TracingConfig
    naming: Naming
    location: str
    resource_group_name: str
    application_insights_id: str
    oidc_issuer_url: str  # the AKS cluster's issuer, trusted for the service account's tokens
    # The identity the collector's auth proxy sends as: the AKS kubelet identity, reached through the nodes'
    # IMDS (Microsoft's documented setup for the proxy on AKS). None: no collector grant.
    collector_principal_id: str | None = None


class TracingPublisher(Construct):
    """Exposes `client_id` (for the service account annotation) and `identity_id`."""

    def __init__(self, scope: Construct, id: str, *, props: TracingPublisherProps) -> None:
        super().__init__(scope, id)
        self.identity, _ = federated_identity(
            self,
            "identity",
            name=props.naming.name("telemetry", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            trusts=[
                service_account_trust(props.oidc_issuer_url, props.config.namespace, props.config.service_account_name)
            ],
        )
        grant(
            self,
            "publishes-to-application-insights",
            RoleGrant(
                props.application_insights_id,
                PUBLISHER_ROLE,
                self.identity.principal_id,
                "Traced workloads send telemetry with Entra ID (local authentication is off)",
            ),
        )
        if props.collector_principal_id is not None:
            grant(
                self,
                "collector-publishes-to-application-insights",
                RoleGrant(
                    props.application_insights_id,
                    PUBLISHER_ROLE,
                    props.collector_principal_id,
                    "The in-cluster OpenTelemetry collector's auth proxy sends traces with Entra ID",
                ),
            )
        self.identity_id = self.identity.id
        self.client_id = self.identity.client_id


@dataclass(frozen=True)
class TracingExporterSettingsProps:
    config: TracingConfig
    namespace: str  # reference to the namespace resource's name, so it exists first
    connection_string: str  # a cross-stack reference (sensitive in azurerm), never a literal
    client_id: str  # the publisher identity's client id
    private_endpoint_cidr: str  # the subnet holding the Azure Monitor private endpoint


class TracingExporterSettings(Construct):
    """Exposes `config_map_name` and `service_account_name`."""

    def __init__(self, scope: Construct, id: str, *, props: TracingExporterSettingsProps) -> None:
        super().__init__(scope, id)
        if not props.connection_string.startswith("${"):
            raise ValueError(
                "tracing: connection_string must be a Terraform reference (a cross-stack output); it names "
                "one environment's component and must never be a literal in the synthesized JSON"
            )
        config = props.config
        labels = {"app.kubernetes.io/part-of": "erp-platform", "app.kubernetes.io/component": "tracing"}
        account = ServiceAccountV1(
            self,
            "service-account",
            metadata=ServiceAccountV1Metadata(
                name=config.service_account_name,
                namespace=props.namespace,
                labels=labels,
                annotations={"azure.workload.identity/client-id": props.client_id},
            ),
            automount_service_account_token=False,  # the workload identity token is projected separately
        )
        settings = ConfigMapV1(
            self,
            "exporter-settings",
            metadata=ConfigMapV1Metadata(name=CONFIG_MAP_NAME, namespace=props.namespace, labels=labels),
            data={
                CONNECTION_STRING_KEY: props.connection_string,
                "OTEL_TRACES_SAMPLER": SAMPLER,
                "OTEL_TRACES_SAMPLER_ARG": sampling_ratio(config.sampling_percentage),
                # Entra ID ingestion with the workload identity (Java agent reads this; other distros take a
                # credential in code, e.g. DefaultAzureCredential, which finds the injected AZURE_CLIENT_ID).
                "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"Authorization=AAD;ClientId={props.client_id}",
            },
        )
        https = [NetworkPolicyV1SpecEgressPorts(port="443", protocol="TCP")]
        NetworkPolicyV1(
            self,
            "egress",
            metadata=NetworkPolicyV1Metadata(name="allow-telemetry-egress", namespace=props.namespace),
            spec=NetworkPolicyV1Spec(
                pod_selector=NetworkPolicyV1SpecPodSelector(match_labels={config.pod_label: "enabled"}),
                policy_types=["Egress"],
                egress=[
                    NetworkPolicyV1SpecEgress(
                        to=[
                            NetworkPolicyV1SpecEgressTo(
                                ip_block=NetworkPolicyV1SpecEgressToIpBlock(cidr=props.private_endpoint_cidr)
                            )
                        ],
                        ports=https,
                    ),
                    # Entra ID token exchange (login.microsoftonline.com): public addresses, filtered by the firewall.
                    NetworkPolicyV1SpecEgress(
                        to=[
                            NetworkPolicyV1SpecEgressTo(
                                ip_block=NetworkPolicyV1SpecEgressToIpBlock(
                                    cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES)
                                )
                            )
                        ],
                        ports=https,
                    ),
                ],
            ),
        )
        self.service_account_name = account.metadata.name
        self.config_map_name = settings.metadata.name


def sampling_ratio(percentage: float) -> str:
    """0.25 for 25 %: the distro's OTEL_TRACES_SAMPLER_ARG (a ratio), without float noise."""
    return f"{percentage / 100:.6g}"


# --- The in-cluster collector (issue #29) -----------------------------------------------------------------------
COLLECTOR_NAME = "otel-collector"
COLLECTOR_ENV = "otel-collector-env"
ENDPOINT_CONFIG_MAP = "otel-collector-endpoint"  # the wiring every application namespace gets
OTLP_GRPC_PORT, OTLP_HTTP_PORT = 4317, 4318
PROXY_PORT = 8081
IMDS = "169.254.169.254/32"  # the auth proxy's managed identity gets its token from the node's IMDS
# Microsoft's Entra ID authorization proxy for Azure Monitor (learn.microsoft.com "Azure Active Directory
# authorization proxy"; release notes in Azure/aad-auth-proxy): the azuremonitor exporter cannot obtain an Entra
# token itself (its AUTHENTICATION.md), and Application Insights has local authentication off.
AUTH_PROXY_IMAGE = (
    "mcr.microsoft.com/azuremonitor/auth-proxy/prod/aad-auth-proxy/images/aad-auth-proxy:0.1.0-main-04-10-2024-7067ac84"
)
AZURE_MONITOR_AUDIENCE = "https://monitor.azure.com/.default"
INSTRUMENTATION_KEY_ENV = "APPLICATIONINSIGHTS_INSTRUMENTATION_KEY"


def collector_config(sampling_percentage: float) -> dict[str, Any]:
    """The collector's configuration: OTLP (gRPC and HTTP) in; memory limiter, the sampling percentage of config
    (proportional: consistent with upstream head sampling, so traces stay whole), batch; Application Insights out
    through the auth proxy sidecar (Entra ID), at the v2.1 track endpoint the proxy forwards to."""
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "probabilistic_sampler": {"sampling_percentage": sampling_percentage, "mode": "proportional"},
            "batch": {"timeout": "5s", "send_batch_size": 512},
        },
        "exporters": {
            "azuremonitor": {
                "instrumentation_key": f"${{env:{INSTRUMENTATION_KEY_ENV}}}",
                "endpoint": f"http://localhost:{PROXY_PORT}/v2.1/track",
                "spaneventsenabled": True,
            }
        },
        "service": {
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "probabilistic_sampler", "batch"],
                    "exporters": ["azuremonitor"],
                }
            }
        },
    }


def terraform_literal(text: str) -> str:
    """`text` inside a Terraform string: `${` would start an interpolation, `$${` is a literal `${`."""
    return text.replace("${", "$${")


def wiring_env(collector_namespace: str) -> dict[str, str]:
    """The environment contract of an application namespace: the standard OpenTelemetry SDK variables, pointing
    at the collector (a Deployment adds `envFrom: [{configMapRef: {name: otel-collector-endpoint}}]`)."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{COLLECTOR_NAME}.{collector_namespace}.svc.cluster.local:{OTLP_GRPC_PORT}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        # Every span goes to the collector, which samples (one policy for every language and service).
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_PROPAGATORS": "tracecontext,baggage",
    }


@dataclass(frozen=True)
class OtelCollectorProps:
    config: TracingConfig
    namespace: str  # reference to the collector namespace resource's name
    application_namespaces: Mapping[str, str]  # name -> reference to the namespace resource's name
    image: str  # the collector image in the environment's registry
    connection_string: str  # cross-stack reference (never a literal)
    proxy_client_id: str  # the managed identity (on the nodes) holding Monitoring Metrics Publisher
    private_endpoint_cidr: str


class OtelCollector(Construct):
    """The OpenTelemetry collector Deployment (collector + Entra auth proxy), its configuration, Service and
    NetworkPolicy, and the wiring of every application namespace (`wired_namespaces`)."""

    def __init__(self, scope: Construct, id: str, *, props: OtelCollectorProps) -> None:
        super().__init__(scope, id)
        if not props.connection_string.startswith("${"):
            raise ValueError("tracing: connection_string must be a Terraform reference, not a literal")
        if not props.application_namespaces:
            raise ValueError("tracing: no application namespace to wire to the collector")
        config = props.config
        version = config.collector_version
        labels = {
            "app.kubernetes.io/name": COLLECTOR_NAME,
            "app.kubernetes.io/version": version,
            "app.kubernetes.io/component": "tracing",
            "app.kubernetes.io/part-of": "erp-platform",
            "app.kubernetes.io/managed-by": "terraform-cdktf",
        }
        selector = {"app.kubernetes.io/name": COLLECTOR_NAME}
        collector_yaml = json.dumps(collector_config(config.sampling_percentage), indent=2, sort_keys=True)
        self.config_map = ConfigMapV1(
            self,
            "config",
            metadata=ConfigMapV1Metadata(name=COLLECTOR_NAME, namespace=props.namespace, labels=labels),
            data={"config.yaml": terraform_literal(collector_yaml)},  # JSON is YAML; the collector reads it as such
        )
        # The instrumentation key and the regional ingestion host, cut from the connection string by Terraform.
        ConfigMapV1(
            self,
            "env",
            metadata=ConfigMapV1Metadata(name=COLLECTOR_ENV, namespace=props.namespace, labels=labels),
            data={
                INSTRUMENTATION_KEY_ENV: Fn.element(Fn.regex("InstrumentationKey=([^;]+)", props.connection_string), 0),
                "TARGET_HOST": Fn.trimsuffix(
                    Fn.element(Fn.regex("IngestionEndpoint=([^;]+)", props.connection_string), 0), "/"
                ),
            },
        )
        restricted = deployment_v1.DeploymentV1SpecTemplateSpecContainerSecurityContext(
            run_as_non_root=True,
            run_as_user=str(NON_ROOT_UID),
            allow_privilege_escalation=False,
            privileged=False,
            read_only_root_filesystem=True,
            capabilities=deployment_v1.DeploymentV1SpecTemplateSpecContainerSecurityContextCapabilities(drop=["ALL"]),
            seccomp_profile=deployment_v1.DeploymentV1SpecTemplateSpecContainerSecurityContextSeccompProfile(
                type="RuntimeDefault"
            ),
        )

        def resources(cpu: str, memory: str) -> deployment_v1.DeploymentV1SpecTemplateSpecContainerResources:
            return deployment_v1.DeploymentV1SpecTemplateSpecContainerResources(
                requests={"cpu": cpu, "memory": memory}, limits={"cpu": cpu, "memory": memory}
            )

        def probe(kind: str, *, port: int, path: str | None = None) -> Any:
            """A liveness or readiness probe: TCP on `port`, or HTTP GET `path` when given."""
            prefix = f"DeploymentV1SpecTemplateSpecContainer{kind}Probe"
            check = (
                {"http_get": getattr(deployment_v1, f"{prefix}HttpGet")(path=path, port=str(port))}
                if path
                else {"tcp_socket": [getattr(deployment_v1, f"{prefix}TcpSocket")(port=str(port))]}
            )
            return getattr(deployment_v1, prefix)(initial_delay_seconds=5, period_seconds=10, **check)

        env_from = deployment_v1.DeploymentV1SpecTemplateSpecContainerEnvFrom(
            config_map_ref=deployment_v1.DeploymentV1SpecTemplateSpecContainerEnvFromConfigMapRef(name=COLLECTOR_ENV)
        )
        self.deployment = deployment_v1.DeploymentV1(
            self,
            "deployment",
            metadata=deployment_v1.DeploymentV1Metadata(name=COLLECTOR_NAME, namespace=props.namespace, labels=labels),
            spec=deployment_v1.DeploymentV1Spec(
                replicas=str(config.collector_replicas),
                selector=deployment_v1.DeploymentV1SpecSelector(match_labels=selector),
                template=deployment_v1.DeploymentV1SpecTemplate(
                    metadata=deployment_v1.DeploymentV1SpecTemplateMetadata(
                        labels=labels,
                        # A new configuration rolls the pods (the collector reads it at start only): the config is a
                        # function of the sampling percentage and the collector version, named here.
                        annotations={
                            "erp.platform/collector-config": f"sampling-{config.sampling_percentage:g}-v{version}"
                        },
                    ),
                    spec=deployment_v1.DeploymentV1SpecTemplateSpec(
                        automount_service_account_token=False,
                        security_context=deployment_v1.DeploymentV1SpecTemplateSpecSecurityContext(
                            run_as_non_root=True,
                            run_as_user=str(NON_ROOT_UID),
                            run_as_group=str(NON_ROOT_UID),
                            seccomp_profile=deployment_v1.DeploymentV1SpecTemplateSpecSecurityContextSeccompProfile(
                                type="RuntimeDefault"
                            ),
                        ),
                        container=[
                            deployment_v1.DeploymentV1SpecTemplateSpecContainer(
                                name="collector",
                                image=props.image,
                                image_pull_policy="Always",
                                args=["--config=/conf/config.yaml"],
                                port=[
                                    deployment_v1.DeploymentV1SpecTemplateSpecContainerPort(
                                        name="otlp-grpc", container_port=OTLP_GRPC_PORT
                                    ),
                                    deployment_v1.DeploymentV1SpecTemplateSpecContainerPort(
                                        name="otlp-http", container_port=OTLP_HTTP_PORT
                                    ),
                                ],
                                env_from=[env_from],
                                resources=resources("500m", "512Mi"),
                                security_context=restricted,
                                liveness_probe=probe("Liveness", port=OTLP_GRPC_PORT),
                                readiness_probe=probe("Readiness", port=OTLP_GRPC_PORT),
                                volume_mount=[
                                    deployment_v1.DeploymentV1SpecTemplateSpecContainerVolumeMount(
                                        name="config", mount_path="/conf", read_only=True
                                    )
                                ],
                            ),
                            deployment_v1.DeploymentV1SpecTemplateSpecContainer(
                                name="auth-proxy",
                                image=pinned(AUTH_PROXY_IMAGE),
                                image_pull_policy="Always",
                                port=[
                                    deployment_v1.DeploymentV1SpecTemplateSpecContainerPort(
                                        name="auth-port", container_port=PROXY_PORT
                                    )
                                ],
                                env=[
                                    deployment_v1.DeploymentV1SpecTemplateSpecContainerEnv(name=name, value=value)
                                    for name, value in (
                                        ("AUDIENCE", AZURE_MONITOR_AUDIENCE),
                                        ("LISTENING_PORT", str(PROXY_PORT)),
                                        ("IDENTITY_TYPE", "userAssigned"),
                                        ("AAD_CLIENT_ID", props.proxy_client_id),
                                        ("AAD_TOKEN_REFRESH_INTERVAL_IN_PERCENTAGE", "10"),
                                    )
                                ],
                                env_from=[env_from],  # TARGET_HOST
                                resources=resources("100m", "128Mi"),
                                security_context=restricted,
                                liveness_probe=probe("Liveness", port=PROXY_PORT, path="/health"),
                                readiness_probe=probe("Readiness", port=PROXY_PORT, path="/ready"),
                            ),
                        ],
                        volume=[
                            deployment_v1.DeploymentV1SpecTemplateSpecVolume(
                                name="config",
                                config_map=deployment_v1.DeploymentV1SpecTemplateSpecVolumeConfigMap(
                                    name=COLLECTOR_NAME
                                ),
                            )
                        ],
                    ),
                ),
            ),
        )
        ServiceV1(
            self,
            "service",
            metadata=ServiceV1Metadata(name=COLLECTOR_NAME, namespace=props.namespace, labels=labels),
            spec=ServiceV1Spec(
                selector=selector,
                port=[
                    ServiceV1SpecPort(name="otlp-grpc", port=OTLP_GRPC_PORT, target_port=str(OTLP_GRPC_PORT)),
                    ServiceV1SpecPort(name="otlp-http", port=OTLP_HTTP_PORT, target_port=str(OTLP_HTTP_PORT)),
                ],
            ),
        )
        otlp = [
            NetworkPolicyV1SpecIngressPorts(port=str(port), protocol="TCP") for port in (OTLP_GRPC_PORT, OTLP_HTTP_PORT)
        ]
        https = [NetworkPolicyV1SpecEgressPorts(port="443", protocol="TCP")]
        NetworkPolicyV1(
            self,
            "network-policy",
            metadata=NetworkPolicyV1Metadata(name="allow-otel-collector", namespace=props.namespace),
            spec=NetworkPolicyV1Spec(
                pod_selector=NetworkPolicyV1SpecPodSelector(match_labels=selector),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    NetworkPolicyV1SpecIngress(
                        from_=[
                            NetworkPolicyV1SpecIngressFrom(
                                namespace_selector=NetworkPolicyV1SpecIngressFromNamespaceSelector(
                                    match_expressions=[
                                        NetworkPolicyV1SpecIngressFromNamespaceSelectorMatchExpressions(
                                            key="kubernetes.io/metadata.name",
                                            operator="In",
                                            values=sorted(props.application_namespaces),
                                        )
                                    ]
                                )
                            )
                        ],
                        ports=otlp,
                    )
                ],
                egress=[
                    NetworkPolicyV1SpecEgress(
                        to=[
                            NetworkPolicyV1SpecEgressTo(
                                ip_block=NetworkPolicyV1SpecEgressToIpBlock(cidr=props.private_endpoint_cidr)
                            )
                        ],
                        ports=https,
                    ),
                    NetworkPolicyV1SpecEgress(  # Entra ID, through the firewall
                        to=[
                            NetworkPolicyV1SpecEgressTo(
                                ip_block=NetworkPolicyV1SpecEgressToIpBlock(
                                    cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES)
                                )
                            )
                        ],
                        ports=https,
                    ),
                    NetworkPolicyV1SpecEgress(  # the managed identity token from the node's IMDS
                        to=[NetworkPolicyV1SpecEgressTo(ip_block=NetworkPolicyV1SpecEgressToIpBlock(cidr=IMDS))],
                        ports=[NetworkPolicyV1SpecEgressPorts(port="80", protocol="TCP")],
                    ),
                ],
            ),
        )
        self.wired_namespaces: dict[str, ConfigMapV1] = {}
        for name, namespace in sorted(props.application_namespaces.items()):
            self.wired_namespaces[name] = ConfigMapV1(
                self,
                f"wiring-{name}",
                metadata=ConfigMapV1Metadata(
                    name=ENDPOINT_CONFIG_MAP, namespace=namespace, labels={**labels, "app.kubernetes.io/name": name}
                ),
                data=wiring_env(config.collector_namespace),
            )
            NetworkPolicyV1(
                self,
                f"wiring-{name}-egress",
                metadata=NetworkPolicyV1Metadata(name="allow-otlp-to-collector", namespace=namespace),
                spec=NetworkPolicyV1Spec(
                    pod_selector=NetworkPolicyV1SpecPodSelector(),
                    policy_types=["Egress"],
                    egress=[
                        NetworkPolicyV1SpecEgress(
                            to=[
                                NetworkPolicyV1SpecEgressTo(
                                    namespace_selector=NetworkPolicyV1SpecEgressToNamespaceSelector(
                                        match_labels={"kubernetes.io/metadata.name": config.collector_namespace}
                                    ),
                                    pod_selector=NetworkPolicyV1SpecEgressToPodSelector(match_labels=selector),
                                )
                            ],
                            ports=[
                                NetworkPolicyV1SpecEgressPorts(port=str(port), protocol="TCP")
                                for port in (OTLP_GRPC_PORT, OTLP_HTTP_PORT)
                            ],
                        )
                    ],
                ),
            )
