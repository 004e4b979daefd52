"""Key Vault: premium, RBAC, purge-protected, private; RSA-HSM keys with rotation, each usable by exactly one
user-assigned identity; a disk encryption set for AKS; the geo-backup vault in the paired region."""

from __future__ import annotations

import json
import re

import cdktf
import pytest

from config.data import PINNED_VERSION_MIN_OVERLAP_DAYS
from config.loader import load_environment
from config.schema import EnvironmentConfig
from constructs.key_vault import KEY_ADMIN_ROLE, KEY_USER_ROLE, KeyVault, KeyVaultProps
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement
from tests.conftest import StackJson, only_resource, resources_of, waited_dependencies
from tests.constructs.data_stacks import addresses_with_path, endpoints_to, reference
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK

VAULT = "azurerm_key_vault"
KEY = "azurerm_key_vault_key"
ROLE = "azurerm_role_assignment"
IDENTITY = "azurerm_user_assigned_identity"
EXPECTED_KEYS = {"storage-cmk", "postgres-cmk", "disks-cmk", "postgres-geo-backup-cmk", "etcd-cmk"}
# Keys whose consumer brings its own identity and uses encrypt/decrypt (AKS KMS), not a CMK identity.
ENCRYPTION_KEYS = {"etcd-cmk"}


def days(duration: str) -> int:
    match = re.fullmatch(r"P(\d+)D", duration)
    assert match, f"duration {duration!r} is not in whole days"
    return int(match.group(1))


def test_every_vault_is_premium_rbac_purge_protected_and_closed_to_public_networks(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    vaults = resources_of(data_stack, VAULT)
    assert len(vaults) == 3, "the data vault, the AKS KMS vault and the PostgreSQL geo-backup vault"
    for address, vault in vaults.items():
        assert vault["sku_name"] == config.data.key_vault.sku == "premium", address
        assert vault["rbac_authorization_enabled"] is True, address
        assert "access_policy" not in vault and "enable_rbac_authorization" not in vault, address
        assert vault["purge_protection_enabled"] is True, address
        assert vault["soft_delete_retention_days"] == 90, address
        assert vault["public_network_access_enabled"] is False, address
        assert vault["network_acls"]["default_action"] == "Deny", address
        # With public access off, only the private endpoint and trusted services (Storage, PostgreSQL and disk
        # encryption reading their CMKs with managed identities) get through.
        assert vault["network_acls"]["bypass"] == "AzureServices", address
        assert not vault["network_acls"].get("ip_rules") and not vault["network_acls"].get("virtual_network_subnet_ids")
        assert vault["tenant_id"] == config.tenant_id
        assert vault["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy, address


def test_data_vault_is_in_the_primary_region_and_geo_backup_vault_in_the_paired_one(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    (primary,) = addresses_with_path(data_stack, VAULT, "/key-vault/").values()
    (geo,) = addresses_with_path(data_stack, VAULT, "/geo-key-vault/").values()
    assert primary["location"] == config.location
    assert geo["location"] == config.paired_location


def test_every_vault_has_a_private_endpoint_in_the_key_vault_zone(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    zones = resources_of(data_stack, "azurerm_private_dns_zone")
    for address in resources_of(data_stack, VAULT):
        (endpoint,) = endpoints_to(data_stack, VAULT, address)
        assert endpoint["private_service_connection"]["subresource_names"] == ["vault"]
        assert endpoint["private_service_connection"]["is_manual_connection"] is False
        assert endpoint["location"] == config.location, "endpoints live in the environment's virtual network"
        (zone_id,) = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
        zone_address = zone_id.removeprefix("${azurerm_private_dns_zone.").removesuffix(".id}")
        assert zones[zone_address]["name"] == "privatelink.vaultcore.azure.net"


def test_every_key_is_rsa_hsm_with_a_rotation_policy_from_config(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    keys = resources_of(data_stack, KEY)
    assert {key["name"] for key in keys.values()} == EXPECTED_KEYS
    rotation = config.data.key_vault.rotation
    for address, key in keys.items():
        assert key["key_type"] == "RSA-HSM", address
        assert key["key_size"] == config.data.key_vault.key_size and key["key_size"] >= 3072, address
        if key["name"] in ENCRYPTION_KEYS:
            assert set(key["key_opts"]) == {"encrypt", "decrypt", "wrapKey", "unwrapKey"}, address
        else:
            assert set(key["key_opts"]) == {"wrapKey", "unwrapKey"}, address
        policy = key["rotation_policy"]
        assert days(policy["expire_after"]) == rotation.expire_after_days >= 28, address
        # A key whose consumer pins its version (AKS KMS) keeps each rotated-out version valid for the apply that
        # moves the consumer; the others rotate shortly before expiry (their consumers follow the versionless id).
        before_expiry = days(policy["automatic"]["time_before_expiry"])
        if key["name"] in ENCRYPTION_KEYS:
            assert before_expiry == rotation.pinned_version_overlap_days >= PINNED_VERSION_MIN_OVERLAP_DAYS, address
        else:
            assert before_expiry == rotation.rotate_before_expiry_days >= 7, address
        assert days(policy["notify_before_expiry"]) == rotation.notify_before_expiry_days >= 7, address
        assert key["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy, address
        # The first version expires too (rotation triggers relative to expiry); rotations then move the date.
        assert key["expiration_date"] == f'${{timeadd(plantimestamp(), "{rotation.expire_after_days * 24}h")}}'
        assert key["lifecycle"]["ignore_changes"] == ["expiration_date"], address


def test_terraform_may_create_keys_in_every_vault_before_it_does(data_stack: StackJson) -> None:
    admins = {
        address: role
        for address, role in resources_of(data_stack, ROLE).items()
        if role["role_definition_name"] == KEY_ADMIN_ROLE
    }
    assert len(admins) == len(resources_of(data_stack, VAULT))
    admin_scopes = {role["scope"]: f"azurerm_role_assignment.{address}" for address, role in admins.items()}
    for address, key in resources_of(data_stack, KEY).items():
        assert key["key_vault_id"] in admin_scopes, address
        admin, wait = key["depends_on"]  # the grant, then the propagation wait after it (after_access)
        assert admin == admin_scopes[key["key_vault_id"]], address
        assert wait.startswith("time_sleep.") and resources_of(data_stack, "time_sleep")[
            wait.removeprefix("time_sleep.")
        ]["depends_on"] == [admin], address
    for role in admins.values():
        assert role["principal_id"].startswith("${data.azurerm_client_config.")


def test_every_key_is_usable_by_exactly_one_user_assigned_identity_and_nothing_more(data_stack: StackJson) -> None:
    users = [role for role in resources_of(data_stack, ROLE).values() if role["role_definition_name"] == KEY_USER_ROLE]
    key_scopes = {
        reference(data_stack, KEY, address, "resource_versionless_id")
        for address, key in resources_of(data_stack, KEY).items()
        if key["name"] not in ENCRYPTION_KEYS
    }
    assert sorted(role["scope"] for role in users) == sorted(key_scopes), "one grant per key, scoped to the key"
    identities = {
        reference(data_stack, IDENTITY, address, "principal_id") for address in resources_of(data_stack, IDENTITY)
    }
    grantees = [role["principal_id"] for role in users]
    assert len(set(grantees)) == len(grantees) and set(grantees) <= identities
    assert all(role["principal_type"] == "ServicePrincipal" for role in users)


def test_disk_encryption_set_for_aks_uses_the_disks_key_and_follows_rotation(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    des = only_resource(data_stack, "azurerm_disk_encryption_set")
    (disks_key,) = [address for address, key in resources_of(data_stack, KEY).items() if key["name"] == "disks-cmk"]
    assert des["key_vault_key_id"] == reference(data_stack, KEY, disks_key, "versionless_id")
    assert des["auto_key_rotation_enabled"] is True
    assert des["encryption_type"] == "EncryptionAtRestWithCustomerKey"
    assert des["location"] == config.location
    (identity,) = des["identity"]["identity_ids"]
    assert des["identity"]["type"] == "UserAssigned"
    grant = next(
        address
        for address, role in resources_of(data_stack, ROLE).items()
        if role["scope"] == reference(data_stack, KEY, disks_key, "resource_versionless_id")
    )
    assert identity.replace(".id}", ".principal_id}") == resources_of(data_stack, ROLE)[grant]["principal_id"]
    assert waited_dependencies(data_stack, des) == [f"azurerm_role_assignment.{grant}"], (
        "the set must not exist before it may read the key"
    )


@pytest.fixture(scope="module")
def staging() -> EnvironmentConfig:
    return load_environment("staging")


def vault_props(config: EnvironmentConfig, **overrides: object) -> KeyVaultProps:
    settings: dict = dict(
        config=config.data.key_vault,
        naming=Naming(config.short_name, config.unique_suffix),
        workload="data",
        location=config.location,
        resource_group_name="rg",
        tenant_id=config.tenant_id,
        private_endpoint=PrivateEndpointPlacement("subnet", config.location, "rg"),
        private_dns_zone_id="zone",
        key_names=("storage",),
        diagnostics=DIAGNOSTICS_SINK,
    )
    return KeyVaultProps(**{**settings, **overrides})


def synth_vault(props: KeyVaultProps) -> tuple[KeyVault, StackJson]:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    vault = KeyVault(stack, "kv", props=props)
    return vault, json.loads(cdktf.Testing.synth(stack))


def test_vault_without_disk_key_has_no_disk_encryption_set_and_exposes_its_keys(staging: EnvironmentConfig) -> None:
    vault, stack = synth_vault(vault_props(staging))
    assert vault.disk_encryption_set_id is None
    assert list(vault.key_ids) == ["storage"] and list(vault.customer_managed_keys) == ["storage"]
    assert "azurerm_disk_encryption_set" not in stack["resource"]
    assert "lifecycle" in only_resource(stack, VAULT), "prevent_destroy is the default"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key_names": ("storage", "storage")}, r"key vault 'data': key names \('storage', 'storage'\) repeat a name"),
        (
            {"encryption_key_names": ("storage",)},
            r"key vault 'data': key names \('storage', 'storage'\) repeat a name",
        ),
        ({"disk_encryption_key": "disks"}, r"key vault 'data': disk_encryption_key 'disks' is not one of key_names"),
    ],
)
def test_inconsistent_key_names_are_rejected(staging: EnvironmentConfig, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synth_vault(vault_props(staging, **overrides))


def test_an_encryption_key_has_no_identity_of_its_own_and_allows_encrypt_decrypt(staging: EnvironmentConfig) -> None:
    """AKS KMS brings the control plane's identity and encrypts/decrypts with the key (no wrap-only CMK)."""
    vault, stack = synth_vault(vault_props(staging, encryption_key_names=("etcd",)))
    assert list(vault.encryption_keys) == ["etcd"] and list(vault.customer_managed_keys) == ["storage"]
    keys = {k["name"]: a for a, k in resources_of(stack, KEY).items()}
    assert {"encrypt", "decrypt"} <= set(resources_of(stack, KEY)[keys["etcd-cmk"]]["key_opts"])
    users = [r["scope"] for r in resources_of(stack, ROLE).values() if r["role_definition_name"] == KEY_USER_ROLE]
    assert users == [f"${{azurerm_key_vault_key.{keys['storage-cmk']}.resource_versionless_id}}"]
    assert len(resources_of(stack, IDENTITY)) == 1
