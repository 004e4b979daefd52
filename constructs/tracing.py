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

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.federated_identity_credential import FederatedIdentityCredential
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from cdktf_cdktf_provider_kubernetes.config_map_v1 import ConfigMapV1, ConfigMapV1Metadata
from cdktf_cdktf_provider_kubernetes.network_policy_v1 import (
    NetworkPolicyV1,
    NetworkPolicyV1Metadata,
    NetworkPolicyV1Spec,
    NetworkPolicyV1SpecEgress,
    NetworkPolicyV1SpecEgressPorts,
    NetworkPolicyV1SpecEgressTo,
    NetworkPolicyV1SpecEgressToIpBlock,
    NetworkPolicyV1SpecPodSelector,
)
from cdktf_cdktf_provider_kubernetes.service_account_v1 import ServiceAccountV1, ServiceAccountV1Metadata

from config.observability import TracingConfig
from constructs import Construct
from constructs.interfaces import RoleGrant, grant
from constructs.naming import Naming

PUBLISHER_ROLE = "Monitoring Metrics Publisher"  # the role Application Insights checks for Entra ID ingestion
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CONFIG_MAP_NAME = "otel-exporter"
CONNECTION_STRING_KEY = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# The Azure Monitor OpenTelemetry distro's fixed-percentage sampler (ratio 0..1 in OTEL_TRACES_SAMPLER_ARG).
SAMPLER = "microsoft.fixed_percentage"
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
# Private address space: Entra ID is reached on public addresses only (through the firewall), never these.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def workload_subject(config: TracingConfig) -> str:
    return f"system:serviceaccount:{config.namespace}:{config.service_account_name}"


@dataclass(frozen=True)
class TracingPublisherProps:
    config: TracingConfig
    naming: Naming
    location: str
    resource_group_name: str
    application_insights_id: str
    oidc_issuer_url: str  # the AKS cluster's issuer, trusted for the service account's tokens


class TracingPublisher(Construct):
    """Exposes `client_id` (for the service account annotation) and `identity_id`."""

    def __init__(self, scope: Construct, id: str, *, props: TracingPublisherProps) -> None:
        super().__init__(scope, id)
        self.identity = UserAssignedIdentity(
            self,
            "identity",
            name=props.naming.name("telemetry", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
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
        FederatedIdentityCredential(
            self,
            "workload-federation",
            name=f"{props.config.namespace}-{props.config.service_account_name}",
            resource_group_name=props.resource_group_name,
            parent_id=self.identity.id,
            issuer=props.oidc_issuer_url,
            subject=workload_subject(props.config),
            audience=[TOKEN_EXCHANGE_AUDIENCE],
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
