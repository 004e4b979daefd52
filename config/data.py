"""Settings of the data services: Key Vault (HSM keys), Storage, PostgreSQL and Event Hubs.

Shape rules (enums, ranges) live on the fields; rules across keys raise KeyedValueError so the error
names the key that has to change.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from config.azure_limits import NAME_RULES
from config.base import Guid, KeyedValueError, Section

ZONE = Literal["1", "2", "3"]
# Storage replication types that keep copies in several zones; Azure cannot move their blobs to the archive tier.
ZONE_REDUNDANT_REPLICATION = frozenset({"ZRS", "GZRS", "RAGZRS"})


def days(description: str) -> Any:
    return Field(ge=1, le=365, description=description)


def optional_days(description: str) -> Any:
    return Field(default=None, ge=1, le=365, description=description)


# A consumer pinned to a key version (AKS KMS: `key_vault_key_id` is versioned) keeps using the old version until an
# apply moves it to the new one. The drift workflow (daily) shows the change; the platform's promise is an apply
# within this many days of a rotation, so every rotated-out version must stay valid at least that long.
PINNED_VERSION_MIN_OVERLAP_DAYS = 60


class KeyRotation(Section):
    """Rotation policy of every HSM key. Azure's minimums: expiry 28 days, rotation 7 days before expiry.

    Keys whose consumers follow the versionless id (Storage, PostgreSQL, disk encryption set) rotate
    `rotate_before_expiry_days` before expiry. Keys a consumer pins by version (AKS KMS) rotate
    `pinned_version_overlap_days` before expiry instead: the old version stays valid that long after the new one
    appears, for the apply that moves the consumer (learn.microsoft.com "Add KMS etcd encryption to an AKS
    cluster", key rotation: the cluster keeps the key version it was given until it is updated)."""

    expire_after_days: int = Field(ge=28, le=3650, description="Each key version expires this many days after creation")
    rotate_before_expiry_days: int = Field(
        ge=7, description="Azure rotates a key (versionless consumers) this many days before it expires"
    )
    notify_before_expiry_days: int = Field(ge=7, description="Key Vault's near-expiry event this many days before")
    pinned_version_overlap_days: int = Field(
        default=90,
        ge=PINNED_VERSION_MIN_OVERLAP_DAYS,
        description="A version-pinned key (AKS KMS) rotates this many days before expiry: the apply's time",
    )

    @model_validator(mode="after")
    def _fits_in_the_lifetime(self) -> KeyRotation:
        for key in ("rotate_before_expiry_days", "notify_before_expiry_days", "pinned_version_overlap_days"):
            value = getattr(self, key)
            if value >= self.expire_after_days:
                raise KeyedValueError(key, value, f"must be less than expire_after_days ({self.expire_after_days})")
        return self


class KeyVaultConfig(Section):
    # Premium is the tier with HSM-backed (RSA-HSM) keys, which the platform's customer-managed keys are.
    sku: Literal["premium"] = "premium"
    soft_delete_retention_days: int = Field(
        default=90, ge=7, le=90, description="A deleted vault or key stays recoverable this long (purge protection on)"
    )
    key_size: Literal[3072, 4096] = Field(default=3072, description="RSA-HSM size of every customer-managed key")
    rotation: KeyRotation


class LifecycleRule(Section):
    """One lifecycle management rule: tier base blobs down by age since modification, then delete them."""

    name: str = Field(pattern=r"^[A-Za-z0-9]{1,256}$", description="The rule's name in the management policy")
    prefixes: tuple[str, ...] = Field(default=(), description="Blob name prefixes ('container/path'); empty = all")
    cool_after_days: int | None = optional_days("To the cool tier this many days after last modification")
    cold_after_days: int | None = optional_days("To the cold tier this many days after last modification")
    archive_after_days: int | None = optional_days("To the archive tier after this many days (LRS, GRS, RAGRS only)")
    delete_after_days: int | None = Field(
        default=None, ge=1, le=36500, description="Deleted this many days after last modification"
    )
    delete_versions_after_days: int | None = optional_days("Previous versions deleted this many days after creation")
    delete_snapshots_after_days: int | None = optional_days("Snapshots deleted this many days after creation")

    @model_validator(mode="after")
    def _tiers_in_order(self) -> LifecycleRule:
        steps = [
            (key, getattr(self, key))
            for key in ("cool_after_days", "cold_after_days", "archive_after_days", "delete_after_days")
            if getattr(self, key) is not None
        ]
        for (earlier, earlier_days), (later, later_days) in itertools.pairwise(steps):
            if later_days <= earlier_days:
                raise KeyedValueError(later, later_days, f"must be greater than {earlier} ({earlier_days})")
        return self


class StorageConfig(Section):
    replication: Literal["LRS", "GRS", "RAGRS", "ZRS", "GZRS", "RAGZRS"] = Field(
        description="The account's replication type (Standard tier)"
    )
    containers: tuple[str, ...] = Field(default=(), description="Private blob containers of the application")
    blob_soft_delete_days: int = days("A deleted blob stays recoverable this long")
    container_soft_delete_days: int = days("A deleted container stays recoverable this long")
    change_feed_retention_days: int = days("The blob change feed is kept this long")
    lifecycle_rules: tuple[LifecycleRule, ...] = Field(
        default=(), description="The account's lifecycle management policy, one rule each"
    )

    @model_validator(mode="after")
    def _archive_needs_a_replication_that_supports_it(self) -> StorageConfig:
        if self.replication not in ZONE_REDUNDANT_REPLICATION:
            return self
        for index, rule in enumerate(self.lifecycle_rules):
            if rule.archive_after_days is not None:
                raise KeyedValueError(
                    f"lifecycle_rules.{index}.archive_after_days",
                    rule.archive_after_days,
                    f"rule '{rule.name}' moves blobs to the archive tier, which Azure does not support on "
                    f"{self.replication} accounts (archive needs LRS, GRS or RAGRS); use cold_after_days instead",
                )
        return self


class EntraAdministrator(Section):
    """The Entra ID principal that administers the PostgreSQL server (password authentication is off)."""

    object_id: Guid = Field(description="Object id of the Entra ID principal")
    principal_name: str = Field(min_length=1, description="Its display name (group) or user principal name")
    principal_type: Literal["Group", "ServicePrincipal", "User"] = Field(default="Group", description="Its kind")


class MaintenanceWindow(Section):
    day_of_week: int = Field(ge=0, le=6, description="0 = Sunday")
    start_hour: int = Field(ge=0, le=23, description="Hour the window starts (UTC)")
    start_minute: int = Field(default=0, ge=0, le=59, description="Minute the window starts")


class PostgresConfig(Section):
    version: Literal["14", "15", "16", "17"] = Field(description="PostgreSQL major version")
    sku_name: str = Field(pattern=r"^(B|GP|MO)_Standard_[A-Za-z0-9_]+$", description="e.g. GP_Standard_D4ds_v5")
    storage_mb: Literal[32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216] = (
        Field(description="Storage of the server (MB, the sizes Azure offers)")
    )
    zone: ZONE = Field(description="Availability zone of the primary server")
    # Zone-redundant HA: the standby runs in this other zone. None = no HA.
    standby_zone: ZONE | None = None
    backup_retention_days: int = Field(ge=7, le=35, description="Point-in-time restore window of the server's backups")
    geo_redundant_backup: bool = Field(
        description="Backups copied to the paired region (geo-restore); needs the geo-backup key there"
    )
    minimum_tls_version: Literal["TLSv1.2", "TLSv1.3"] = Field(
        default="TLSv1.2", description="Oldest TLS a client may use (ssl_min_protocol_version)"
    )
    administrator: EntraAdministrator
    maintenance_window: MaintenanceWindow = Field(description="Weekly window for Azure's planned maintenance")

    @model_validator(mode="after")
    def _high_availability(self) -> PostgresConfig:
        if self.standby_zone is None:
            return self
        if self.standby_zone == self.zone:
            raise KeyedValueError(
                "standby_zone", self.standby_zone, f"must differ from zone '{self.zone}' for zone-redundant HA"
            )
        if self.sku_name.startswith("B_"):
            raise KeyedValueError(
                "sku_name",
                self.sku_name,
                "Burstable (B_) servers cannot run high availability; use a GP_ or MO_ SKU or remove standby_zone",
            )
        return self


class EventHub(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$", description="The event hub's name")
    partition_count: int = Field(ge=1, le=100, description="Partitions: the most consumers of a group reading at once")
    retention_days: int = Field(ge=1, le=90, description="Premium keeps events up to 90 days")
    consumer_groups: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")], ...] = Field(
        default=(), description="Consumer groups besides $Default"
    )


class EventHubsConfig(Section):
    capacity: Literal[1, 2, 4, 8, 16] = Field(description="Premium processing units of each namespace")
    disaster_recovery_alias: str = Field(
        pattern=NAME_RULES["azurerm_eventhub_namespace_disaster_recovery_config"].anchored,
        description="Geo-DR alias pairing the primary with the paired-region namespace; clients connect to it",
    )
    event_hubs: tuple[EventHub, ...] = Field(default=(), description="The event hubs of the primary namespace")
    # Event Hubs Capture: every hub's events archived (Avro) into this container of the application storage
    # account (geo-redundant: the events survive the region, which geo-DR's metadata-only copy does not).
    # None: no capture. Must be one of data.storage.containers.
    capture_container: str | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> EventHubsConfig:
        seen: set[str] = set()
        for index, hub in enumerate(self.event_hubs):
            if hub.name.lower() in seen:
                raise KeyedValueError(
                    f"event_hubs.{index}.name", hub.name, "is declared twice (names are case-insensitive)"
                )
            seen.add(hub.name.lower())
        return self


class DataConfig(Section):
    # `lifecycle { prevent_destroy }` on the stateful resources (vaults, keys, storage, server, namespaces).
    protect_from_destroy: bool
    key_vault: KeyVaultConfig = Field(
        description="The Key Vaults of the HSM customer-managed keys (data, AKS KMS, geo-backup)"
    )
    storage: StorageConfig = Field(description="The application storage account")
    postgres: PostgresConfig = Field(description="The PostgreSQL flexible server")
    event_hubs: EventHubsConfig = Field(description="The Event Hubs Premium namespaces (primary and geo-DR secondary)")

    @model_validator(mode="after")
    def _capture_container_exists(self) -> DataConfig:
        container = self.event_hubs.capture_container
        if container is not None and container not in self.storage.containers:
            raise KeyedValueError(
                "event_hubs.capture_container",
                container,
                f"must be one of data.storage.containers {list(self.storage.containers)}",
            )
        return self
