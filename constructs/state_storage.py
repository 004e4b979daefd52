"""Remote-state storage for one environment: GZRS/RA-GZRS account, private container, delete lock.

The account is reachable only privately: public network access is off (no IP rule, no exception) and a blob
private endpoint sits in the environment's deployment network, registered in its privatelink blob zone, so
the runners there (and nothing else) reach the state. Shared keys are off: the backends use Entra ID.
"""

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
from constructs.interfaces import DiagnosticsSink, RoleGrant, diagnostics, grant, lock
from constructs.private_endpoint import PrivateEndpointPlacement

# The bootstrap stack's own state (once migrated, README step 8): its own container, whose only data role is the
# operators' group's. No pipeline identity has a role on it (theirs are on the environment container only).
BOOTSTRAP_CONTAINER = "bootstrap-tfstate"
OPERATOR_STATE_ROLE = "Storage Blob Data Contributor"
# The `<env>-alerting` stack's state (it holds the alert webhook addresses): only the apply identity holds a data role
# on it (constructs/deployment.py), so neither a pull request's plan nor the drift run reads it.
ALERTING_CONTAINER = "alerting-tfstate"


@dataclass(frozen=True)
class StateStorageProps:
    backend: StateBackend
    location: str
    provider: TerraformProvider
    private_endpoint: PrivateEndpointPlacement  # the deployment network's private-endpoints subnet
    private_dns_zone_id: str  # privatelink.blob.core.windows.net, linked to the deployment network
    # The deployment network's workspace: every read and write of a state blob, by whom (StorageBlobLogs).
    diagnostics: DiagnosticsSink
    # The operators' Entra group: the only principal with a data role on the bootstrap container.
    operators_group_object_id: str = ""
    soft_delete_days: int = 30  # time to recover a deleted or overwritten state file


class StateStorage(Construct):
    def __init__(self, scope: Construct, id: str, *, props: StateStorageProps) -> None:
        super().__init__(scope, id)
        backend = props.backend
        group = ResourceGroup(
            self,
            "resource-group",
            name=backend.resource_group_name,
            location=props.location,
            provider=props.provider,
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
            public_network_access_enabled=False,  # only the private endpoint below reaches it
            network_rules=StorageAccountNetworkRules(default_action="Deny", bypass=["AzureServices"]),
            blob_properties=StorageAccountBlobProperties(
                versioning_enabled=True,
                change_feed_enabled=True,
                delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(days=retention),
                container_delete_retention_policy=StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(
                    days=retention
                ),
            ),
        )
        diagnostics(self, "diagnostics", self.account, props.diagnostics, provider=props.provider)
        self.private_endpoint = props.private_endpoint.connect(
            self,
            "blob-endpoint",
            name=f"{backend.storage_account_name}-blob-pep",
            resource_id=self.account.id,
            subresource="blob",
            private_dns_zone_id=props.private_dns_zone_id,
        )
        # Each container's ARM id is the scope of its blob data roles (deploy identities, operators).
        self.container, self.container_scope = self._container("container", backend.container_name, props.provider)
        self.bootstrap_container, self.bootstrap_container_scope = self._container(
            "bootstrap-container", BOOTSTRAP_CONTAINER, props.provider
        )
        self.alerting_container, self.alerting_container_scope = self._container(
            "alerting-container", ALERTING_CONTAINER, props.provider
        )
        if not props.operators_group_object_id:
            raise ValueError("state storage: operators_group_object_id is required (the bootstrap container's reader)")
        # The migration of README step 8 (`terraform init -migrate-state`) and every later bootstrap run read and
        # write here with Entra ID: Owner alone has no data role (403).
        self.operator_grant = grant(
            self,
            "operators-bootstrap-state",
            RoleGrant(
                scope=self.bootstrap_container_scope,
                role=OPERATOR_STATE_ROLE,
                principal_id=props.operators_group_object_id,
                why="Operators run bootstrap: they read and write its state and lease (no pipeline identity can).",
                principal_type="Group",
            ),
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

    def _container(self, id: str, name: str, provider: TerraformProvider) -> tuple[StorageContainer, str]:
        """A private container of the state account and its ARM id."""
        container = StorageContainer(
            self, id, name=name, storage_account_id=self.account.id, container_access_type="private", provider=provider
        )
        return container, f"{self.account.id}/blobServices/default/containers/{name}"
