"""Application storage: replication from config, recoverable blobs, Entra ID only, private, CMK-encrypted,
lifecycle policy from config. (The bootstrap stack's state account is tested in tests/stacks.)"""

from __future__ import annotations

from config.data import ZONE_REDUNDANT_REPLICATION
from config.schema import EnvironmentConfig
from tests.conftest import StackJson, only_resource, resources_of, waited_dependencies
from tests.constructs.data_stacks import endpoints_to, reference

ACCOUNT = "azurerm_storage_account"


def test_every_account_is_private_entra_only_and_recoverable(data_stack: StackJson, config: EnvironmentConfig) -> None:
    accounts = resources_of(data_stack, ACCOUNT)
    assert accounts, "the application storage account"
    storage = config.data.storage
    for address, account in accounts.items():
        assert account["account_tier"] == "Standard" and account["account_kind"] == "StorageV2", address
        assert account["account_replication_type"] == storage.replication, address
        assert account["shared_access_key_enabled"] is False, address
        assert account["default_to_oauth_authentication"] is True, address
        assert account["public_network_access_enabled"] is False, address
        assert account["network_rules"]["default_action"] == "Deny", address
        assert account["allow_nested_items_to_be_public"] is False, address
        assert account["min_tls_version"] == "TLS1_2" and account["https_traffic_only_enabled"] is True, address
        assert account["infrastructure_encryption_enabled"] is True, address
        assert account["queue_encryption_key_type"] == account["table_encryption_key_type"] == "Account", address
        assert account["cross_tenant_replication_enabled"] is False and account["local_user_enabled"] is False
        blobs = account["blob_properties"]
        assert blobs["versioning_enabled"] is True, address
        assert blobs["change_feed_enabled"] is True, address
        assert blobs["change_feed_retention_in_days"] == storage.change_feed_retention_days
        assert blobs["delete_retention_policy"]["days"] == storage.blob_soft_delete_days
        assert blobs["container_delete_retention_policy"]["days"] == storage.container_soft_delete_days
        assert account["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy, address


def test_replication_is_zone_redundant_and_cross_region_in_production(
    data_stack: StackJson, config: EnvironmentConfig
) -> None:
    (account,) = resources_of(data_stack, ACCOUNT).values()
    assert account["account_replication_type"] in ZONE_REDUNDANT_REPLICATION
    if config.name == "production":  # Story 0.1.5: "zone-redundant storage with cross-region replication"
        assert account["account_replication_type"] in {"GZRS", "RAGZRS"}


def test_account_is_encrypted_with_the_storage_key_through_its_own_identity(data_stack: StackJson) -> None:
    (_address, account) = next(iter(resources_of(data_stack, ACCOUNT).items()))
    keys = {key["name"]: name for name, key in resources_of(data_stack, "azurerm_key_vault_key").items()}
    key = account["customer_managed_key"]
    assert key["key_vault_key_id"] == reference(
        data_stack, "azurerm_key_vault_key", keys["storage-cmk"], "versionless_id"
    )
    assert account["identity"] == {"type": "UserAssigned", "identity_ids": [key["user_assigned_identity_id"]]}
    (grant,) = [
        name
        for name, role in resources_of(data_stack, "azurerm_role_assignment").items()
        if role["principal_id"] == key["user_assigned_identity_id"].replace(".id}", ".principal_id}")
    ]
    assert waited_dependencies(data_stack, account) == [f"azurerm_role_assignment.{grant}"]


def test_blob_is_reached_through_a_private_endpoint(data_stack: StackJson) -> None:
    zones = resources_of(data_stack, "azurerm_private_dns_zone")
    for address in resources_of(data_stack, ACCOUNT):
        (endpoint,) = endpoints_to(data_stack, ACCOUNT, address)
        assert endpoint["private_service_connection"]["subresource_names"] == ["blob"]
        (zone_id,) = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
        zone = zones[zone_id.removeprefix("${azurerm_private_dns_zone.").removesuffix(".id}")]
        assert zone["name"] == "privatelink.blob.core.windows.net"


def test_containers_from_config_are_private(data_stack: StackJson, config: EnvironmentConfig) -> None:
    containers = resources_of(data_stack, "azurerm_storage_container").values()
    assert sorted(container["name"] for container in containers) == sorted(config.data.storage.containers)
    assert all(container["container_access_type"] == "private" for container in containers)


def test_lifecycle_policy_follows_config(data_stack: StackJson, config: EnvironmentConfig) -> None:
    policy = only_resource(data_stack, "azurerm_storage_management_policy")
    (account,) = resources_of(data_stack, ACCOUNT)
    assert policy["storage_account_id"] == reference(data_stack, ACCOUNT, account)
    rules = config.data.storage.lifecycle_rules
    assert [rule["name"] for rule in policy["rule"]] == [rule.name for rule in rules]
    for synthesized, expected in zip(policy["rule"], rules, strict=True):
        assert synthesized["enabled"] is True
        assert synthesized["filters"]["blob_types"] == ["blockBlob"]
        assert synthesized["filters"].get("prefix_match", []) == list(expected.prefixes)
        base = synthesized["actions"]["base_blob"]
        assert base.get("tier_to_cool_after_days_since_modification_greater_than") == expected.cool_after_days
        assert base.get("tier_to_cold_after_days_since_modification_greater_than") == expected.cold_after_days
        assert base.get("tier_to_archive_after_days_since_modification_greater_than") == expected.archive_after_days
        assert base.get("delete_after_days_since_modification_greater_than") == expected.delete_after_days
        versions = synthesized["actions"].get("version", {})
        assert versions.get("delete_after_days_since_creation") == expected.delete_versions_after_days
        snapshots = synthesized["actions"].get("snapshot", {})
        assert snapshots.get("delete_after_days_since_creation_greater_than") == expected.delete_snapshots_after_days
        if config.data.storage.replication in ZONE_REDUNDANT_REPLICATION:
            assert "tier_to_archive_after_days_since_modification_greater_than" not in base, "no archive tier on ZRS"
