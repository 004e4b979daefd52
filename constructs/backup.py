"""Azure Backup: one Backup vault per environment, protecting the AKS cluster and the application blobs.

`BackupVault` is the vault (system identity, soft delete, immutability, redundancy from config).
`AksBackup` installs the backup extension in the cluster (writing to its own blob container), lets the
vault reach the cluster (trusted access) and the snapshot resource group, and creates the daily backup
instance. `BlobBackup` protects the application storage account continuously (operational tier: point-in-time
restore inside the account) and daily (vaulted copies). Each backup instance depends on every role
assignment it needs, and on a wait for their propagation (`after_access` in constructs/interfaces.py), because
Azure validates the permissions when the instance is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.data_protection_backup_instance_blob_storage import (
    DataProtectionBackupInstanceBlobStorage,
)
from cdktf_cdktf_provider_azurerm.data_protection_backup_instance_kubernetes_cluster import (
    DataProtectionBackupInstanceKubernetesCluster,
    DataProtectionBackupInstanceKubernetesClusterBackupDatasourceParameters,
)
from cdktf_cdktf_provider_azurerm.data_protection_backup_policy_blob_storage import (
    DataProtectionBackupPolicyBlobStorage,
)
from cdktf_cdktf_provider_azurerm.data_protection_backup_vault import (
    DataProtectionBackupVault,
    DataProtectionBackupVaultIdentity,
)
from cdktf_cdktf_provider_azurerm.kubernetes_cluster_extension import KubernetesClusterExtension
from cdktf_cdktf_provider_azurerm.kubernetes_cluster_trusted_access_role_binding import (
    KubernetesClusterTrustedAccessRoleBinding,
)

from config.recovery import AksBackupConfig, BackupVaultConfig, BlobBackupConfig
from constructs import Construct
from constructs.azapi_binding import AzapiResource, azapi_provider
from constructs.interfaces import DiagnosticsSink, Grants, RoleGrant, after_access, delete_lock, diagnostics
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.storage import Storage

EXTENSION_TYPE = "microsoft.dataprotection.kubernetes"
EXTENSION_NAMESPACE = "dataprotection-microsoft"
TRUSTED_ACCESS_ROLE = "Microsoft.DataProtection/backupVaults/backup-operator"
# Fixed anchor date of the ISO 8601 schedules: only the time of day matters, and synth stays deterministic.
SCHEDULE_ANCHOR = "2024-01-01"
# AKS-managed namespaces: recreated by AKS itself in any new cluster, so restoring them would only conflict.
EXCLUDED_NAMESPACES = ("kube-node-lease", "kube-public", "kube-system", EXTENSION_NAMESPACE)


def daily_schedule(backup_time_utc: str) -> list[str]:
    """The ISO 8601 repeating interval of a daily backup at HH:MM UTC."""
    return [f"R/{SCHEDULE_ANCHOR}T{backup_time_utc}:00+00:00/P1D"]


def days(count: int) -> str:
    return f"P{count}D"


# Microsoft.DataProtection stable API of the spec excerpt in reference/dataprotection_backup_policy.json.
AKS_POLICY_TYPE = "Microsoft.DataProtection/backupVaults/backupPolicies@2025-07-01"
AKS_DATASOURCE_TYPE = "Microsoft.ContainerService/managedClusters"
VAULT_COPY_TAG = "Daily"  # the retention tag of the first backup of each day: the one copied to the vault tier


def _store(kind: str) -> dict[str, str]:
    return {"objectType": "DataStoreInfoBase", "dataStoreType": kind}


def _delete_after(count: int) -> dict[str, str]:
    return {"objectType": "AbsoluteDeleteOption", "duration": days(count)}


def aks_vault_tier_policy_body(*, backup_time_utc: str, operational_days: int, vault_days: int) -> dict[str, Any]:
    """The ARM body of an AKS backup policy: a daily incremental backup kept `operational_days` as snapshots, and
    its first backup of each day also copied at once to the vault tier and kept there `vault_days`."""
    operational = {"sourceDataStore": _store("OperationalStore"), "deleteAfter": _delete_after(operational_days)}
    return {
        "properties": {
            "objectType": "BackupPolicy",
            "datasourceTypes": [AKS_DATASOURCE_TYPE],
            "policyRules": [
                {
                    "name": "BackupDaily",
                    "objectType": "AzureBackupRule",
                    "backupParameters": {"objectType": "AzureBackupParams", "backupType": "Incremental"},
                    "dataStore": _store("OperationalStore"),
                    "trigger": {
                        "objectType": "ScheduleBasedTriggerContext",
                        "schedule": {"repeatingTimeIntervals": daily_schedule(backup_time_utc), "timeZone": "UTC"},
                        "taggingCriteria": [
                            {"isDefault": True, "taggingPriority": 99, "tagInfo": {"tagName": "Default"}},
                            {
                                "isDefault": False,
                                "taggingPriority": 20,
                                "tagInfo": {"tagName": VAULT_COPY_TAG},
                                "criteria": [
                                    {"objectType": "ScheduleBasedBackupCriteria", "absoluteCriteria": ["FirstOfDay"]}
                                ],
                            },
                        ],
                    },
                },
                {"name": "Default", "objectType": "AzureRetentionRule", "isDefault": True, "lifecycles": [operational]},
                {
                    "name": VAULT_COPY_TAG,
                    "objectType": "AzureRetentionRule",
                    "isDefault": False,
                    "lifecycles": [
                        operational
                        | {
                            "targetDataStoreCopySettings": [
                                {"copyAfter": {"objectType": "ImmediateCopyOption"}, "dataStore": _store("VaultStore")}
                            ]
                        },
                        {"sourceDataStore": _store("VaultStore"), "deleteAfter": _delete_after(vault_days)},
                    ],
                },
            ],
        }
    }


@dataclass(frozen=True)
class BackupVaultProps:
    config: BackupVaultConfig
    naming: Naming
    location: str  # the vault must be in the region of what it protects
    resource_group_name: str
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    protect_from_destroy: bool = True


class BackupVault(Construct):
    """Exposes `vault`, `vault_id`, `name`, `location`, `resource_group_name`, `principal_id` (system identity)."""

    def __init__(self, scope: Construct, id: str, *, props: BackupVaultProps) -> None:
        super().__init__(scope, id)
        config = props.config
        self.vault = DataProtectionBackupVault(
            self,
            "vault",
            name=props.naming.name("backup", "bvault"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            datastore_type="VaultStore",
            redundancy=config.redundancy,
            # Azure allows cross-region restore on geo-redundant vaults only (and never turns it off again).
            cross_region_restore_enabled=True if config.redundancy == "GeoRedundant" else None,
            soft_delete="On",
            retention_duration_in_days=config.soft_delete_retention_days,
            immutability=config.immutability,
            identity=DataProtectionBackupVaultIdentity(type="SystemAssigned"),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_from_destroy),
        )
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.vault, why=why_locked(self.vault))
        diagnostics(self, "diagnostics", self.vault, props.diagnostics)
        self.vault_id = self.vault.id
        self.name = self.vault.name
        self.location = props.location
        self.resource_group_name = props.resource_group_name
        self.principal_id = self.vault.identity.principal_id


@dataclass(frozen=True)
class AksBackupProps:
    config: AksBackupConfig
    naming: Naming
    backup_time_utc: str  # HH:MM, daily
    vault: BackupVault
    cluster_id: str
    cluster_identity_principal_id: str  # the control plane's identity: creates the disk snapshots
    snapshot_resource_group_id: str
    snapshot_resource_group_name: str
    storage: Storage  # the extension's account; its one container (config.storage.containers) holds the backups
    subscription_id: str
    tenant_id: str


class AksBackup(Construct):
    """Exposes `extension`, `policy_id`, `instance_id` and `container_name`."""

    def __init__(self, scope: Construct, id: str, *, props: AksBackupProps) -> None:
        super().__init__(scope, id)
        vault, account = props.vault, props.storage.account
        (self.container_name,) = props.config.storage.containers
        container = props.storage.containers[self.container_name]
        self.extension = KubernetesClusterExtension(
            self,
            "extension",
            name="azure-aks-backup",
            cluster_id=props.cluster_id,
            extension_type=EXTENSION_TYPE,
            release_train="stable",
            release_namespace=EXTENSION_NAMESPACE,
            configuration_settings={
                "configuration.backupStorageLocation.bucket": container.name,
                "configuration.backupStorageLocation.config.resourceGroup": account.resource_group_name,
                "configuration.backupStorageLocation.config.storageAccount": account.name,
                "configuration.backupStorageLocation.config.subscriptionId": props.subscription_id,
                # The account's shared keys are off: Velero's Azure plugin must authenticate with the
                # extension's managed identity (Entra ID) at the blob endpoint, or every backup fails.
                "configuration.backupStorageLocation.config.useAAD": "true",
                "configuration.backupStorageLocation.config.storageAccountURI": account.primary_blob_endpoint,
                "credentials.tenantId": props.tenant_id,
            },
        )
        trusted_access = KubernetesClusterTrustedAccessRoleBinding(
            self,
            "trusted-access",
            name="backup-vault",
            kubernetes_cluster_id=props.cluster_id,
            roles=[TRUSTED_ACCESS_ROLE],
            source_resource_id=vault.vault_id,
        )
        grants = Grants(self, "grants")
        snapshots = props.snapshot_resource_group_id
        grants.add(
            "extension-blob-writer",
            RoleGrant(
                account.id,
                "Storage Blob Data Contributor",
                self.extension.aks_assigned_identity.get(0).principal_id,
                "The AKS backup extension writes backups to its blob container",
            ),
        )
        grants.add(
            "vault-cluster-reader",
            RoleGrant(props.cluster_id, "Reader", vault.principal_id, "The backup vault reads the cluster it protects"),
        )
        grants.add(
            "vault-snapshot-reader",
            RoleGrant(snapshots, "Reader", vault.principal_id, "The backup vault reads the volume snapshots"),
        )
        grants.add(
            "vault-snapshot-contributor",
            RoleGrant(
                snapshots,
                "Disk Snapshot Contributor",
                vault.principal_id,
                "The backup vault manages the volume snapshots",
            ),
        )
        grants.add(
            "vault-disk-data-operator",
            RoleGrant(
                snapshots,
                "Data Operator for Managed Disks",
                vault.principal_id,
                "The backup vault reads snapshot data for restores",
            ),
        )
        grants.add(
            "vault-blob-reader",
            RoleGrant(
                account.id,
                "Storage Blob Data Contributor",
                vault.principal_id,
                "The backup vault reads and expires the extension's backups",
            ),
        )
        grants.add(
            "cluster-snapshot-contributor",
            RoleGrant(
                snapshots,
                "Contributor",
                props.cluster_identity_principal_id,
                "AKS creates volume snapshots in the snapshot resource group",
            ),
        )
        # azurerm 4.81 configures only OperationalStore for AKS: the policy with the vault-tier copy goes through azapi.
        policy = AzapiResource(
            self,
            "policy",
            type=AKS_POLICY_TYPE,
            # A new name: the azurerm-managed policy it replaces is deleted in the same apply, and azapi refuses to
            # create over an existing resource.
            name=props.naming.name("aksvault", "bkpol"),
            parent_id=vault.vault_id,
            body=aks_vault_tier_policy_body(
                backup_time_utc=props.backup_time_utc,
                operational_days=props.config.retention_days,
                vault_days=props.config.vault_retention_days,
            ),
            provider=azapi_provider(self, subscription_id=props.subscription_id, tenant_id=props.tenant_id),
        )
        self.policy_id = policy.id
        instance = DataProtectionBackupInstanceKubernetesCluster(
            self,
            "instance",
            name=props.naming.name("aks", "bkinst"),
            location=vault.location,
            vault_id=vault.vault_id,
            kubernetes_cluster_id=props.cluster_id,
            snapshot_resource_group_name=props.snapshot_resource_group_name,
            backup_policy_id=policy.id,
            backup_datasource_parameters=DataProtectionBackupInstanceKubernetesClusterBackupDatasourceParameters(
                cluster_scoped_resources_enabled=True,
                volume_snapshot_enabled=True,
                excluded_namespaces=list(EXCLUDED_NAMESPACES),
            ),
            # Azure checks the vault's roles when the instance is created: wait until they have propagated.
            depends_on=[*after_access(self, "rbac-wait", grants.all), trusted_access, self.extension],
        )
        self.instance_id = instance.id


@dataclass(frozen=True)
class BlobBackupProps:
    config: BlobBackupConfig
    naming: Naming
    backup_time_utc: str  # HH:MM, daily vaulted copy
    vault: BackupVault
    storage: Storage  # the protected account; all its containers get vaulted copies


class BlobBackup(Construct):
    """Exposes `policy_id` and `instance_id`."""

    def __init__(self, scope: Construct, id: str, *, props: BlobBackupProps) -> None:
        super().__init__(scope, id)
        config, vault, storage = props.config, props.vault, props.storage
        restore_days = config.operational_retention_days  # shorter than soft delete (config/schema.py)
        # Operational backup turns on point-in-time restore in the account; the account must declare the same
        # window (StorageProps.point_in_time_restore_days), or Terraform switches it off on the next apply.
        if storage.point_in_time_restore_days != restore_days:
            raise ValueError(
                f"blob backup: the storage account declares a point-in-time restore window of "
                f"{storage.point_in_time_restore_days} days, operational backup keeps {restore_days}: pass "
                "recovery.blobs.operational_retention_days as its point_in_time_restore_days"
            )
        grants = Grants(self, "grants")
        grants.add(
            "vault-account-backup",
            RoleGrant(
                storage.storage_account_id,
                "Storage Account Backup Contributor",
                vault.principal_id,
                "The backup vault protects the application blobs",
            ),
        )
        policy = DataProtectionBackupPolicyBlobStorage(
            self,
            "policy",
            name=props.naming.name("blobs", "bkpol"),
            vault_id=vault.vault_id,
            operational_default_retention_duration=days(restore_days),
            vault_default_retention_duration=days(config.vault_retention_days),
            backup_repeating_time_intervals=daily_schedule(props.backup_time_utc),
        )
        self.policy_id = policy.id
        containers = sorted(storage.containers)
        instance = DataProtectionBackupInstanceBlobStorage(
            self,
            "instance",
            name=props.naming.name("blobs", "bkinst"),
            location=vault.location,
            vault_id=vault.vault_id,
            storage_account_id=storage.storage_account_id,
            backup_policy_id=policy.id,
            storage_account_container_names=containers or None,
            depends_on=[
                *after_access(self, "rbac-wait", grants.all),
                *(storage.containers[name] for name in containers),
            ],
        )
        self.instance_id = instance.id
