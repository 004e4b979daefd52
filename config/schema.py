"""The typed settings of one environment. Environments differ only in these values (config/base.toml + overlay)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from config.azure_limits import NAME_RULES
from config.base import AZURE_REGION_PAIRS, REGIONS_WITH_ZONES, Guid, KeyedValueError, Section
from config.baseline import BaselineConfig
from config.data import DataConfig
from config.deployment import DeploymentConfig
from config.governance import GovernanceConfig
from config.network import NetworkConfig
from config.observability import ObservabilityConfig
from config.recovery import RecoveryConfig
from config.services import AksConfig, AppGatewayConfig, RegistryConfig

if TYPE_CHECKING:  # a Literal built at run time is not a static type: a type checker sees a str
    Region = str
else:
    Region = Literal[tuple(sorted(AZURE_REGION_PAIRS))]


# An environment's name is its file name (config/<name>.toml) and the prefix of its stacks (<name>-infra): lowercase
# letters and digits in hyphen-separated words, at most 20 characters ("eu-production", "qa2").
ENVIRONMENT_NAME = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
ENVIRONMENT_NAME_LENGTH = (2, 20)


class Tags(Section):
    """Tags every taggable resource carries (added by the tagging Aspect)."""

    owner: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", description="Team mailbox that owns the environment")
    cost_center: str = Field(
        pattern=r"^[A-Za-z0-9-]{2,32}$", description="The `cost-center` tag: the cost allocation code"
    )
    data_classification: Literal["public", "internal", "confidential", "restricted"] = Field(
        description="The `data-classification` tag: the most sensitive data the environment holds"
    )


class StateBackend(Section):
    """Where the environment's Terraform state lives (created by the bootstrap stack)."""

    resource_group_name: str = Field(
        pattern=NAME_RULES["azurerm_resource_group"].anchored,
        max_length=NAME_RULES["azurerm_resource_group"].max_length,
        description="Resource group of the state account; every stack's azurerm backend names it",
    )
    storage_account_name: str = Field(
        pattern=NAME_RULES["azurerm_storage_account"].anchored,
        description="The state storage account (bootstrap creates it; every stack's backend uses it)",
    )
    container_name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", description="Blob container holding the stacks' state files"
    )
    replication: Literal["GZRS", "RAGZRS"] = Field(
        default="RAGZRS",
        description="The state account's replication: geo-zone-redundant; RA adds read access in the paired region",
    )
    # No public network rule: the account is reached only through its private endpoint (config.deployment).


class ClusterAccess(Section):
    """How Terraform's kubernetes provider obtains an Entra ID token for the private AKS API."""

    kubelogin_login: Literal["azurecli", "workloadidentity", "msi"] = Field(
        default="azurecli",
        description="`kubelogin get-token --login` mode of the cluster stack's kubernetes provider",
    )


class EnvironmentConfig(Section):
    name: str = Field(
        pattern=ENVIRONMENT_NAME, min_length=2, max_length=20, description="The file's name: config/<name>.toml"
    )
    deploy_after: tuple[str, ...] = Field(
        default=(), description="Environments that must be deployed and green before this one (promotion order)"
    )
    parity_with: str | None = Field(
        default=None, description="The environment this one must match (tools/checks/parity.py, parity-allowlist.toml)"
    )
    short_name: str = Field(pattern=r"^[a-z]{2,4}$", description="Prefix of every resource name, e.g. stg")
    unique_suffix: str = Field(
        pattern=r"^[a-z0-9]{4,6}$", description="Makes globally unique names (storage, key vault, registry) unique"
    )
    subscription_id: Guid = Field(description="The environment's Azure subscription (every azurerm provider)")
    tenant_id: Guid = Field(description="The Entra ID tenant of the subscription (providers, Key Vaults, AKS Entra ID)")
    location: Region = Field(description="Primary Azure region: every resource but the disaster-recovery ones")
    paired_location: Region = Field(
        description="Disaster-recovery region (DR network, geo-DR and geo-backup resource groups); not `location`"
    )
    tags: Tags
    state_backend: StateBackend
    cluster_access: ClusterAccess = ClusterAccess()
    aks: AksConfig = Field(description="The private AKS cluster: version, upgrades, node pools")
    registry: RegistryConfig
    app_gateway: AppGatewayConfig
    data: DataConfig = Field(description="The data services: Key Vaults (HSM keys), storage, PostgreSQL, Event Hubs")
    network: NetworkConfig = Field(description="Hub, spoke and DR address plans, AKS overlay ranges, egress firewall")
    deployment: DeploymentConfig = Field(description="Where Terraform runs (runners, deployment network) and as whom")
    baseline: BaselineConfig = Field(
        description="In-cluster baseline: namespaces and quotas, backup and compliance jobs"
    )
    observability: ObservabilityConfig = Field(
        description="Logs, traces, Grafana, who is notified, alert thresholds, SLA availability test"
    )
    recovery: RecoveryConfig = Field(description="Backup vault and policies, RTO/RPO targets, DR drills")
    governance: GovernanceConfig = Field(
        description="Defender for Cloud, regulatory initiatives, budget, Gatekeeper policies"
    )

    @property
    def prometheus_cluster_label(self) -> str:
        """The `cluster` label managed Prometheus puts on this environment's metrics: the agent's `cluster_alias`
        (cluster stack) and what the Prometheus rule groups filter on (infra stack) both come from here."""
        return self.name

    @model_validator(mode="after")
    def _exports_in_the_geo_redundant_account(self) -> EnvironmentConfig:
        container = self.baseline.exports_container
        if container not in self.data.storage.containers:
            raise KeyedValueError(
                "baseline.exports_container",
                container,
                f"must be one of data.storage.containers {list(self.data.storage.containers)}",
            )
        return self

    @model_validator(mode="after")
    def _blob_restore_window_ends_before_soft_delete(self) -> EnvironmentConfig:
        restore_days, soft_delete_days = (
            self.recovery.blobs.operational_retention_days,
            self.data.storage.blob_soft_delete_days,
        )
        if restore_days >= soft_delete_days:
            raise KeyedValueError(
                "recovery.blobs.operational_retention_days",
                restore_days,
                f"must be less than data.storage.blob_soft_delete_days ({soft_delete_days}): Azure's point-in-time "
                "restore replays soft-deleted blobs, so its window must end before they are purged",
            )
        return self

    @model_validator(mode="after")
    def _deployment_network_stays_apart(self) -> EnvironmentConfig:
        """The deployment network is peered with the spoke: its range must not collide with any of the environment's."""
        space = ipaddress.IPv4Network(self.deployment.network.address_space)
        others = {
            **{f"network.{key}": value for key, value in self.network.address_spaces().items()},
            "network.aks_service_cidr": self.network.aks_service_cidr,
            "network.aks_pod_cidr": self.network.aks_pod_cidr,
        }
        for key, value in others.items():
            if space.overlaps(ipaddress.IPv4Network(value)):
                raise KeyedValueError(
                    "deployment.network.address_space",
                    self.deployment.network.address_space,
                    f"overlaps {key} {value}; the deployment network is peered with the environment's network",
                )
        return self

    @model_validator(mode="after")
    def _ingress_in_the_user_subnet(self) -> EnvironmentConfig:
        """The ingress load balancer takes the gateway's backend address from the user node subnet."""
        address, subnet = self.app_gateway.ingress_ip_address, self.network.spoke.aks_user
        network = ipaddress.ip_network(subnet.address_prefix)
        if ipaddress.ip_address(address) not in network or ipaddress.ip_address(address) in (
            network[0],
            network[1],
            network[2],
            network[3],
            network[-1],
        ):
            raise KeyedValueError(
                "app_gateway.ingress_ip_address",
                address,
                f"must be a usable address inside network.spoke.aks_user ({subnet.address_prefix}): the internal "
                "ingress load balancer takes it from that subnet (Azure reserves the first four and the last)",
            )
        return self

    @model_validator(mode="after")
    def _paired_region_differs(self) -> EnvironmentConfig:
        if self.paired_location == self.location:
            raise KeyedValueError(
                "paired_location",
                self.paired_location,
                f"must differ from location '{self.location}' "
                f"(Azure's pair for it is '{AZURE_REGION_PAIRS[self.location]}')",
            )
        return self

    @model_validator(mode="after")
    def _zone_redundancy_only_where_zones_exist(self) -> EnvironmentConfig:
        """Azure rejects zone redundancy in a region without availability zones (reference/regions.json)."""
        wanted = {
            "registry.zone_redundancy_enabled": (self.registry.zone_redundancy_enabled, self.location),
            "registry.replica_zone_redundancy_enabled": (
                self.registry.replicate_to_paired_region and self.registry.replica_zone_redundancy_enabled,
                self.paired_location,
            ),
            "observability.grafana_zone_redundant": (self.observability.grafana_zone_redundant, self.location),
        }
        for key, (enabled, region) in wanted.items():
            if enabled and region not in REGIONS_WITH_ZONES:
                raise KeyedValueError(
                    key,
                    True,
                    f"region '{region}' has no availability zones (reference/regions.json); set it to false "
                    f"or use one of: {', '.join(sorted(REGIONS_WITH_ZONES & set(AZURE_REGION_PAIRS)))}",
                )
        return self
