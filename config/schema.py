"""The typed settings of one environment. Staging and production differ only in these values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from config.base import AZURE_REGION_PAIRS, Cidr, Guid, KeyedValueError, Section
from config.baseline import BaselineConfig
from config.data import DataConfig
from config.governance import GovernanceConfig
from config.network import NetworkConfig
from config.observability import ObservabilityConfig
from config.recovery import RecoveryConfig
from config.services import AksConfig, AppGatewayConfig, RegistryConfig

if TYPE_CHECKING:  # a Literal built at run time is not a static type: a type checker sees a str
    Region = str
else:
    Region = Literal[tuple(sorted(AZURE_REGION_PAIRS))]


class Tags(Section):
    """Tags every taggable resource carries (added by the tagging Aspect)."""

    owner: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", description="Team mailbox that owns the environment")
    cost_center: str = Field(pattern=r"^[A-Za-z0-9-]{2,32}$")
    data_classification: Literal["public", "internal", "confidential", "restricted"]


class StateBackend(Section):
    """Where the environment's Terraform state lives (created by the bootstrap stack)."""

    resource_group_name: str = Field(pattern=r"^[A-Za-z0-9._()-]{0,89}[A-Za-z0-9_()-]$")
    storage_account_name: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    container_name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    replication: Literal["GZRS", "RAGZRS"] = "RAGZRS"
    # Public networks allowed to reach the state account (CI runners, operator egress); all else is denied.
    allowed_ip_ranges: tuple[Cidr, ...] = ()


class ClusterAccess(Section):
    """How Terraform's kubernetes provider obtains an Entra ID token for the private AKS API."""

    kubelogin_login: Literal["azurecli", "workloadidentity", "msi"] = "azurecli"


class EnvironmentConfig(Section):
    name: Literal["staging", "production"]
    short_name: str = Field(pattern=r"^[a-z]{2,4}$", description="Prefix of every resource name, e.g. stg")
    unique_suffix: str = Field(
        pattern=r"^[a-z0-9]{4,6}$", description="Makes globally unique names (storage, key vault, registry) unique"
    )
    subscription_id: Guid
    tenant_id: Guid
    location: Region
    paired_location: Region
    tags: Tags
    state_backend: StateBackend
    cluster_access: ClusterAccess = ClusterAccess()
    aks: AksConfig
    registry: RegistryConfig
    app_gateway: AppGatewayConfig
    data: DataConfig
    network: NetworkConfig
    baseline: BaselineConfig
    observability: ObservabilityConfig
    recovery: RecoveryConfig
    governance: GovernanceConfig

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
    def _paired_region_differs(self) -> EnvironmentConfig:
        if self.paired_location == self.location:
            raise KeyedValueError(
                "paired_location",
                self.paired_location,
                f"must differ from location '{self.location}' "
                f"(Azure's pair for it is '{AZURE_REGION_PAIRS[self.location]}')",
            )
        return self
