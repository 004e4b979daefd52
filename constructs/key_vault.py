"""A Key Vault holding HSM-backed customer-managed keys, one per consuming service.

The vault is private (public network access off, private endpoint), RBAC-authorized and
purge-protected. Every key is RSA-HSM with a rotation policy and comes with its own user-assigned
identity that may use only that key, so a service (Storage, PostgreSQL, disks) is given a
`CustomerManagedKey` and never a broader permission. Optionally a disk encryption set wraps one of
the keys for AKS node and data disks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktf_cdktf_provider_azurerm.disk_encryption_set import DiskEncryptionSet, DiskEncryptionSetIdentity
from cdktf_cdktf_provider_azurerm.key_vault import KeyVault as AzureKeyVault
from cdktf_cdktf_provider_azurerm.key_vault import KeyVaultNetworkAcls
from cdktf_cdktf_provider_azurerm.key_vault_key import (
    KeyVaultKey,
    KeyVaultKeyRotationPolicy,
    KeyVaultKeyRotationPolicyAutomatic,
)
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from config.data import KeyVaultConfig
from constructs import Construct
from constructs.interfaces import RUNNER, SERVICE_PRINCIPAL, DiagnosticsSink, RoleGrant, delete_lock, diagnostics, grant
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement

KEY_TYPE = "RSA-HSM"
# Wrapping a data encryption key is all that Storage, PostgreSQL and disk encryption sets do with a CMK.
KEY_OPERATIONS = ["wrapKey", "unwrapKey"]
# Lets Terraform create keys and their rotation policies in an RBAC vault (data-plane role).
KEY_ADMIN_ROLE = "Key Vault Crypto Officer"
# Get/wrap/unwrap on one key: what a service's identity needs for customer-managed-key encryption.
KEY_USER_ROLE = "Key Vault Crypto Service Encryption User"
# AKS KMS (etcd encryption): the plugin encrypts and decrypts the data encryption keys with the key itself
# (Azure/kubernetes-kms), so the key must allow encrypt/decrypt, not only wrap/unwrap.
ENCRYPTION_KEY_OPERATIONS = ["encrypt", "decrypt", "wrapKey", "unwrapKey"]


@dataclass(frozen=True)
class EncryptionKey:
    """A key whose consumer brings its own identity (AKS KMS: the control plane's) and grants it itself.

    `key_id` is versioned (AKS KMS pins a version): after Key Vault rotates the key, the next apply moves
    the consumer to the new version, which must happen before the old version expires.
    """

    key_id: str
    key_resource_id: str  # versionless resource id: the scope of the consumer's role assignment
    key_vault_id: str


@dataclass(frozen=True)
class CustomerManagedKey:
    """A key and the user-assigned identity that may use it: what a service needs for CMK encryption.

    `key_id` is versionless, so services follow rotation to the newest key version by themselves.
    Depend on `access` so a service is never created before its identity may read the key.
    """

    key_id: str
    identity_id: str
    identity_principal_id: str
    access: RoleAssignment


@dataclass(frozen=True)
class KeyVaultProps:
    config: KeyVaultConfig
    naming: Naming
    workload: str  # part of every name, e.g. "data" → stg-data-kv-erp01
    location: str
    resource_group_name: str
    tenant_id: str
    private_endpoint: PrivateEndpointPlacement
    private_dns_zone_id: str  # privatelink.vaultcore.azure.net
    key_names: tuple[str, ...]  # one HSM key (and identity) per consumer, e.g. ("storage", "postgres")
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    disk_encryption_key: str | None = None  # one of key_names: also create a disk encryption set with it
    # Keys used with encrypt/decrypt by a consumer that brings its own identity (no identity created here).
    encryption_key_names: tuple[str, ...] = ()
    protect_from_destroy: bool = True  # losing a CMK vault or key makes the data it encrypts unreadable
    # The deploy (apply) identity that creates and rotates the keys; None: whoever runs Terraform (local runs).
    administrator_principal_id: str | None = None


class KeyVault(Construct):
    """Exposes `key_vault_id`, `uri`, `key_ids` (versionless, by key name), `customer_managed_keys`,
    `encryption_keys` and `disk_encryption_set_id` (None unless `disk_encryption_key` is set)."""

    def __init__(self, scope: Construct, id: str, *, props: KeyVaultProps) -> None:
        super().__init__(scope, id)
        all_keys = (*props.key_names, *props.encryption_key_names)
        if len(set(all_keys)) != len(all_keys):
            raise ValueError(f"key vault '{props.workload}': key names {all_keys} repeat a name")
        if props.disk_encryption_key is not None and props.disk_encryption_key not in props.key_names:
            raise ValueError(
                f"key vault '{props.workload}': disk_encryption_key '{props.disk_encryption_key}' "
                f"is not one of key_names {props.key_names}"
            )
        config = props.config
        naming = props.naming
        self.vault = AzureKeyVault(
            self,
            "vault",
            name=naming.global_name(props.workload, "kv"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            tenant_id=props.tenant_id,
            sku_name=config.sku,
            rbac_authorization_enabled=True,
            purge_protection_enabled=True,
            soft_delete_retention_days=config.soft_delete_retention_days,
            public_network_access_enabled=False,
            # Trusted Azure services (Storage, PostgreSQL, disk encryption) reach the keys through the
            # Azure backbone with their managed identities; everything else needs the private endpoint.
            network_acls=KeyVaultNetworkAcls(default_action="Deny", bypass="AzureServices"),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_from_destroy),
        )
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.vault, why=why_locked(self.vault))
        diagnostics(self, "diagnostics", self.vault, props.diagnostics)
        self.key_vault_id = vault_id = self.vault.id  # each read is a kernel round trip
        self.uri = self.vault.vault_uri
        self.private_endpoint = props.private_endpoint.connect(
            self,
            "private-endpoint",
            name=naming.name(f"{props.workload}-kv", "pe"),
            resource_id=vault_id,
            subresource="vault",
            private_dns_zone_id=props.private_dns_zone_id,
        )
        administrator = props.administrator_principal_id
        key_admin = grant(
            self,
            "terraform-runner-key-admin",
            RoleGrant(
                vault_id,
                KEY_ADMIN_ROLE,
                administrator or DataAzurermClientConfig(self, "terraform-runner").object_id,
                "Terraform creates and rotates the customer-managed keys of this vault",
                principal_type=SERVICE_PRINCIPAL if administrator else RUNNER,
            ),
        )
        rotation = config.rotation

        def hsm_key(key_name: str, operations: list[str]) -> KeyVaultKey:
            return KeyVaultKey(
                self,
                f"{key_name}-key",
                name=f"{key_name}-cmk",
                key_vault_id=vault_id,
                key_type=KEY_TYPE,
                key_size=config.key_size,
                key_opts=operations,
                # The policy's expiry applies to rotated versions only; "rotate before expiry" needs the first
                # version to expire too. Azure moves the date on each rotation, so Terraform keeps its hands off.
                expiration_date=Fn.timeadd(Fn.plantimestamp(), f"{rotation.expire_after_days * 24}h"),
                rotation_policy=KeyVaultKeyRotationPolicy(
                    expire_after=f"P{rotation.expire_after_days}D",
                    notify_before_expiry=f"P{rotation.notify_before_expiry_days}D",
                    automatic=KeyVaultKeyRotationPolicyAutomatic(
                        time_before_expiry=f"P{rotation.rotate_before_expiry_days}D"
                    ),
                ),
                depends_on=[key_admin],
                lifecycle=TerraformResourceLifecycle(
                    prevent_destroy=props.protect_from_destroy, ignore_changes=["expiration_date"]
                ),
            )

        keys: dict[str, CustomerManagedKey] = {}
        for key_name in props.key_names:
            key = hsm_key(key_name, KEY_OPERATIONS)
            identity = UserAssignedIdentity(
                self,
                f"{key_name}-identity",
                name=naming.name(f"{key_name}-cmk", "id"),
                location=props.location,
                resource_group_name=props.resource_group_name,
            )
            principal_id = identity.principal_id
            access = grant(
                self,
                f"{key_name}-key-user",
                RoleGrant(
                    key.resource_versionless_id,
                    KEY_USER_ROLE,
                    principal_id,
                    f"Encrypt with the {key_name} customer-managed key",
                ),
            )
            keys[key_name] = CustomerManagedKey(
                key_id=key.versionless_id,
                identity_id=identity.id,
                identity_principal_id=principal_id,
                access=access,
            )
        self.customer_managed_keys: Mapping[str, CustomerManagedKey] = keys
        encryption_keys: dict[str, EncryptionKey] = {}
        for key_name in props.encryption_key_names:
            key = hsm_key(key_name, ENCRYPTION_KEY_OPERATIONS)
            encryption_keys[key_name] = EncryptionKey(
                key_id=key.id, key_resource_id=key.resource_versionless_id, key_vault_id=vault_id
            )
        self.encryption_keys: Mapping[str, EncryptionKey] = encryption_keys
        self.key_ids: Mapping[str, str] = {name: key.key_id for name, key in keys.items()}
        self.disk_encryption_set_id: str | None = None
        if props.disk_encryption_key is not None:
            disks_key = keys[props.disk_encryption_key]
            self.disk_encryption_set = DiskEncryptionSet(
                self,
                "disk-encryption-set",
                name=naming.name(props.disk_encryption_key, "des"),
                location=props.location,
                resource_group_name=props.resource_group_name,
                key_vault_key_id=disks_key.key_id,
                auto_key_rotation_enabled=True,  # follows the key's automatic rotation
                encryption_type="EncryptionAtRestWithCustomerKey",
                identity=DiskEncryptionSetIdentity(type="UserAssigned", identity_ids=[disks_key.identity_id]),
                depends_on=[disks_key.access],
            )
            self.disk_encryption_set_id = self.disk_encryption_set.id
