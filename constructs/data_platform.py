"""The data services of one environment, wired to each other: the key vaults whose HSM keys encrypt
Storage, PostgreSQL and the AKS disks, and the Event Hubs geo-DR pair. One call from the stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from config.data import DataConfig
from constructs import Construct
from constructs.event_hubs import EventHubs, EventHubsCapture, EventHubsProps
from constructs.interfaces import DiagnosticsSink
from constructs.key_vault import KeyVault, KeyVaultProps
from constructs.naming import Naming
from constructs.postgres import Postgres, PostgresProps
from constructs.private_endpoint import PrivateEndpointPlacement
from constructs.storage import Storage, StorageProps

# Customer-managed keys of the primary vault, by consumer.
STORAGE_KEY, POSTGRES_KEY, DISKS_KEY = "storage", "postgres", "disks"
# PostgreSQL encrypts geo-redundant backups with a key and identity in the paired region.
POSTGRES_GEO_BACKUP_KEY = "postgres-geo-backup"
# AKS KMS (etcd encryption) key, alone in its own vault: AKS needs Key Vault Contributor on a private vault.
ETCD_KEY = "etcd"
# Keys of `private_dns_zone_ids` (the network construct's contract) this construct needs.
DNS_ZONES = ("key_vault", "blob", "postgres", "eventhub")


@dataclass(frozen=True)
class DataPlatformProps:
    config: DataConfig
    naming: Naming
    tenant_id: str
    location: str
    paired_location: str
    resource_group_name: str  # data services (storage, server, primary namespace)
    security_resource_group_name: str  # key vault, keys, CMK identities, disk encryption set
    paired_resource_group_name: str  # in the paired region: Event Hubs secondary, geo-backup key vault
    private_endpoint_subnet_id: str
    private_dns_zone_ids: Mapping[str, str]  # needs the keys in DNS_ZONES
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    key_administrator_principal_id: str | None = None  # the apply identity (KeyVaultProps.administrator_principal_id)
    # Endpoints of the paired-region resources (Event Hubs secondary, geo key vault): the DR landing zone's
    # endpoint subnet, so they stay reachable when the primary region is down. None: the primary's subnet.
    paired_private_endpoints: PrivateEndpointPlacement | None = None
    # The application account's point-in-time restore window (StorageProps.point_in_time_restore_days).
    point_in_time_restore_days: int | None = None


class DataPlatform(Construct):
    """Exposes `key_vault` (with `disk_encryption_set_id` for AKS), `kms_key_vault` (the AKS etcd key),
    `geo_key_vault`, `storage`, `postgres` and `event_hubs`."""

    def __init__(self, scope: Construct, id: str, *, props: DataPlatformProps) -> None:
        super().__init__(scope, id)
        missing = [zone for zone in DNS_ZONES if zone not in props.private_dns_zone_ids]
        if missing:
            raise ValueError(f"data platform: private_dns_zone_ids lacks {missing} (needs {list(DNS_ZONES)})")
        config = props.config
        zones = props.private_dns_zone_ids
        protect = config.protect_from_destroy
        # Endpoints live in the environment's virtual network (primary region), whatever the resource's region.
        endpoints = PrivateEndpointPlacement(
            subnet_id=props.private_endpoint_subnet_id,
            location=props.location,
            resource_group_name=props.resource_group_name,
        )
        paired_endpoints = props.paired_private_endpoints or endpoints
        data_vault = KeyVaultProps(
            config=config.key_vault,
            naming=props.naming,
            workload="data",
            location=props.location,
            resource_group_name=props.security_resource_group_name,
            tenant_id=props.tenant_id,
            private_endpoint=endpoints,
            private_dns_zone_id=zones["key_vault"],
            key_names=(STORAGE_KEY, POSTGRES_KEY, DISKS_KEY),
            diagnostics=props.diagnostics,
            disk_encryption_key=DISKS_KEY,
            protect_from_destroy=protect,
            administrator_principal_id=props.key_administrator_principal_id,
        )
        self.key_vault = KeyVault(self, "key-vault", props=data_vault)
        # AKS creates its own private endpoint to a private KMS vault, so its identity needs Key Vault Contributor
        # on the vault: a vault of its own keeps that grant away from the data keys.
        self.kms_key_vault = KeyVault(
            self,
            "kms-key-vault",
            props=replace(
                data_vault, workload="kms", key_names=(), disk_encryption_key=None, encryption_key_names=(ETCD_KEY,)
            ),
        )
        if self.key_vault.disk_encryption_set_id is None:  # disk_encryption_key is set just above
            raise AssertionError("the data Key Vault must create the disk encryption set of the AKS nodes")
        self.disk_encryption_set_id: str = self.key_vault.disk_encryption_set_id
        self.geo_key_vault = (
            KeyVault(
                self,
                "geo-key-vault",
                props=replace(
                    data_vault,
                    workload="datageo",
                    location=props.paired_location,
                    resource_group_name=props.paired_resource_group_name,
                    key_names=(POSTGRES_GEO_BACKUP_KEY,),
                    disk_encryption_key=None,
                    private_endpoint=paired_endpoints,
                ),
            )
            if config.postgres.geo_redundant_backup
            else None
        )
        self.storage = Storage(
            self,
            "storage",
            props=StorageProps(
                config=config.storage,
                naming=props.naming,
                location=props.location,
                resource_group_name=props.resource_group_name,
                customer_managed_key=self.key_vault.customer_managed_keys[STORAGE_KEY],
                private_endpoint=endpoints,
                private_dns_zone_id=zones["blob"],
                diagnostics=props.diagnostics,
                protect_from_destroy=protect,
                point_in_time_restore_days=props.point_in_time_restore_days,
            ),
        )
        self.postgres = Postgres(
            self,
            "postgres",
            props=PostgresProps(
                config=config.postgres,
                naming=props.naming,
                location=props.location,
                resource_group_name=props.resource_group_name,
                tenant_id=props.tenant_id,
                customer_managed_key=self.key_vault.customer_managed_keys[POSTGRES_KEY],
                geo_backup_customer_managed_key=self.geo_key_vault.customer_managed_keys[POSTGRES_GEO_BACKUP_KEY]
                if self.geo_key_vault
                else None,
                private_endpoint=endpoints,
                private_dns_zone_id=zones["postgres"],
                diagnostics=props.diagnostics,
                protect_from_destroy=protect,
            ),
        )
        self.event_hubs = EventHubs(
            self,
            "event-hubs",
            props=EventHubsProps(
                config=config.event_hubs,
                naming=props.naming,
                location=props.location,
                resource_group_name=props.resource_group_name,
                secondary_location=props.paired_location,
                secondary_resource_group_name=props.paired_resource_group_name,
                private_endpoint=endpoints,
                secondary_private_endpoint=paired_endpoints,
                capture=EventHubsCapture(
                    storage_account_id=self.storage.storage_account_id,
                    container_name=config.event_hubs.capture_container,
                    container_id=self.storage.containers[config.event_hubs.capture_container].resource_manager_id,
                )
                if config.event_hubs.capture_container is not None
                else None,
                private_dns_zone_id=zones["eventhub"],
                diagnostics=props.diagnostics,
                protect_from_destroy=protect,
            ),
        )
