"""Remote-state storage for one environment: GZRS/RA-GZRS account, private container, delete lock."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from cdktf_cdktf_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy,
    StorageAccountBlobPropertiesDeleteRetentionPolicy,
    StorageAccountNetworkRules,
)
from cdktf_cdktf_provider_azurerm.storage_container import StorageContainer

from config.schema import StateBackend
from constructs import Construct
from constructs.interfaces import lock


@dataclass(frozen=True)
class StateStorageProps:
    backend: StateBackend
    location: str
    provider: TerraformProvider
    soft_delete_days: int = 30  # time to recover a deleted or overwritten state file


class StateStorage(Construct):
    def __init__(self, scope: Construct, id: str, *, props: StateStorageProps) -> None:
        super().__init__(scope, id)
        backend = props.backend
        group = ResourceGroup(
            self, "resource-group", name=backend.resource_group_name, location=props.location, provider=props.provider
        )
        retention = props.soft_delete_days
        self.account = StorageAccount(
            self,
            "account",
            name=backend.storage_account_name,
            resource_group_name=group.name,
            location=props.location,
            provider=props.provider,
            account_tier="Standard",
            account_replication_type=backend.replication,
            account_kind="StorageV2",
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            allow_nested_items_to_be_public=False,
            shared_access_key_enabled=False,  # Entra ID only: the backends use use_azuread_auth
            default_to_oauth_authentication=True,
            infrastructure_encryption_enabled=True,
            cross_tenant_replication_enabled=False,
            network_rules=StorageAccountNetworkRules(
                default_action="Deny",
                bypass=["AzureServices"],
                ip_rules=list(backend.allowed_ip_ranges),
            ),
            blob_properties=StorageAccountBlobProperties(
                versioning_enabled=True,
                change_feed_enabled=True,
                delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(days=retention),
                container_delete_retention_policy=StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(
                    days=retention
                ),
            ),
        )
        self.container = StorageContainer(
            self,
            "container",
            name=backend.container_name,
            storage_account_id=self.account.id,
            container_access_type="private",
            provider=props.provider,
        )
        lock(
            self,
            "delete-lock",
            resource_id=self.account.id,
            name="terraform-state-cannot-delete",
            why="Holds Terraform state for every stack of this environment.",
            provider=props.provider,
        )
