"""The application's blob storage: private, Entra ID-only, CMK-encrypted, recoverable, tiered by age."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy,
    StorageAccountBlobPropertiesDeleteRetentionPolicy,
    StorageAccountBlobPropertiesRestorePolicy,
    StorageAccountCustomerManagedKey,
    StorageAccountIdentity,
    StorageAccountNetworkRules,
)
from cdktf_cdktf_provider_azurerm.storage_container import StorageContainer
from cdktf_cdktf_provider_azurerm.storage_management_policy import (
    StorageManagementPolicy,
    StorageManagementPolicyRule,
    StorageManagementPolicyRuleActions,
    StorageManagementPolicyRuleActionsBaseBlob,
    StorageManagementPolicyRuleActionsSnapshot,
    StorageManagementPolicyRuleActionsVersion,
    StorageManagementPolicyRuleFilters,
)

from config.data import LifecycleRule, StorageConfig
from constructs import Construct
from constructs.interfaces import DiagnosticsSink, after_access, delete_lock, diagnostics
from constructs.key_vault import CustomerManagedKey
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement


@dataclass(frozen=True)
class StorageProps:
    config: StorageConfig
    naming: Naming
    location: str
    resource_group_name: str
    customer_managed_key: CustomerManagedKey
    private_endpoint: PrivateEndpointPlacement
    private_dns_zone_id: str  # privatelink.blob.core.windows.net
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    protect_from_destroy: bool = True
    # Point-in-time restore window in days: operational blob backup (constructs/backup.py BlobBackup) turns it on
    # in the account, so the account declares it (else the next apply would switch it off). None: off.
    point_in_time_restore_days: int | None = None
    workload: str = "app"  # part of the names: <env><workload>st<suffix>, <env>-<workload>-blob-pe-001


def lifecycle_actions(rule: LifecycleRule) -> StorageManagementPolicyRuleActions:
    """Base blobs move by days since last modification; old versions and snapshots by days since creation."""
    return StorageManagementPolicyRuleActions(
        base_blob=StorageManagementPolicyRuleActionsBaseBlob(
            tier_to_cool_after_days_since_modification_greater_than=rule.cool_after_days,
            tier_to_cold_after_days_since_modification_greater_than=rule.cold_after_days,
            tier_to_archive_after_days_since_modification_greater_than=rule.archive_after_days,
            delete_after_days_since_modification_greater_than=rule.delete_after_days,
        ),
        version=StorageManagementPolicyRuleActionsVersion(
            delete_after_days_since_creation=rule.delete_versions_after_days
        )
        if rule.delete_versions_after_days
        else None,
        snapshot=StorageManagementPolicyRuleActionsSnapshot(
            delete_after_days_since_creation_greater_than=rule.delete_snapshots_after_days
        )
        if rule.delete_snapshots_after_days
        else None,
    )


class Storage(Construct):
    """Exposes `account`, `storage_account_id`, `containers` (by name) and `point_in_time_restore_days`."""

    def __init__(self, scope: Construct, id: str, *, props: StorageProps) -> None:
        super().__init__(scope, id)
        config = props.config
        key = props.customer_managed_key
        self.account = StorageAccount(
            self,
            "account",
            name=props.naming.compact(props.workload, "st"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            account_kind="StorageV2",
            account_tier="Standard",  # tiering and geo-zone replication need Standard (see docs/platform/data.md)
            account_replication_type=config.replication,
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            shared_access_key_enabled=False,  # Entra ID only (the provider sets storage_use_azuread)
            default_to_oauth_authentication=True,
            public_network_access_enabled=False,
            allow_nested_items_to_be_public=False,
            cross_tenant_replication_enabled=False,
            local_user_enabled=False,  # no SFTP/local users: they would bypass Entra ID
            infrastructure_encryption_enabled=True,
            # Queues and tables use the account key (the CMK) too, not a Microsoft-managed service key.
            queue_encryption_key_type="Account",
            table_encryption_key_type="Account",
            network_rules=StorageAccountNetworkRules(default_action="Deny", bypass=["AzureServices"]),
            identity=StorageAccountIdentity(type="UserAssigned", identity_ids=[key.identity_id]),
            customer_managed_key=StorageAccountCustomerManagedKey(
                key_vault_key_id=key.key_id, user_assigned_identity_id=key.identity_id
            ),
            blob_properties=StorageAccountBlobProperties(
                versioning_enabled=True,
                change_feed_enabled=True,
                change_feed_retention_in_days=config.change_feed_retention_days,
                delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(
                    days=config.blob_soft_delete_days
                ),
                container_delete_retention_policy=StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(
                    days=config.container_soft_delete_days
                ),
                restore_policy=StorageAccountBlobPropertiesRestorePolicy(days=props.point_in_time_restore_days)
                if props.point_in_time_restore_days
                else None,
            ),
            depends_on=after_access(self, "rbac-wait", [key.access]),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_from_destroy),
        )
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.account, why=why_locked(self.account))
        diagnostics(self, "diagnostics", self.account, props.diagnostics)  # and one per storage service
        self.storage_account_id = self.account.id
        self.point_in_time_restore_days = props.point_in_time_restore_days
        props.private_endpoint.connect(
            self,
            "blob-private-endpoint",
            name=props.naming.name(f"{props.workload}-blob", "pe"),
            resource_id=self.account.id,
            subresource="blob",
            private_dns_zone_id=props.private_dns_zone_id,
        )
        self.containers: dict[str, StorageContainer] = {}
        for container in config.containers:
            # Created through Azure Resource Manager (storage_account_id), so no data-plane access is needed.
            self.containers[container] = StorageContainer(
                self,
                f"container-{container}",
                name=container,
                storage_account_id=self.account.id,
                container_access_type="private",
            )
        if config.lifecycle_rules:
            StorageManagementPolicy(
                self,
                "lifecycle-policy",
                storage_account_id=self.account.id,
                rule=[
                    StorageManagementPolicyRule(
                        name=rule.name,
                        enabled=True,
                        filters=StorageManagementPolicyRuleFilters(
                            blob_types=["blockBlob"], prefix_match=list(rule.prefixes) or None
                        ),
                        actions=lifecycle_actions(rule),
                    )
                    for rule in config.lifecycle_rules
                ],
            )
