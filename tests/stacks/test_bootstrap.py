"""The bootstrap stack's state storage: one hardened account, container and lock per environment."""

from __future__ import annotations

from config.loader import ENVIRONMENTS, load_environment
from stacks.app import BOOTSTRAP_STACK
from tests.conftest import resources_of


def test_one_state_account_per_environment_in_its_subscription(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    accounts = resources_of(bootstrap, "azurerm_storage_account")
    assert sorted(a["name"] for a in accounts.values()) == sorted(
        load_environment(e).state_backend.storage_account_name for e in ENVIRONMENTS
    )
    providers = {p["alias"]: p["subscription_id"] for p in bootstrap["provider"]["azurerm"]}
    assert providers == {e: load_environment(e).subscription_id for e in ENVIRONMENTS}
    for account in accounts.values():
        environment = account["provider"].removeprefix("azurerm.")
        assert account["name"] == load_environment(environment).state_backend.storage_account_name


def test_every_state_account_is_hardened(stacks) -> None:
    for name, account in resources_of(stacks[BOOTSTRAP_STACK], "azurerm_storage_account").items():
        assert account["account_replication_type"] in {"GZRS", "RAGZRS"}, name
        assert account["min_tls_version"] == "TLS1_2"
        assert account["shared_access_key_enabled"] is False
        assert account["allow_nested_items_to_be_public"] is False
        assert account["network_rules"]["default_action"] == "Deny"
        blob = account["blob_properties"]
        assert blob["versioning_enabled"] is True
        assert blob["delete_retention_policy"]["days"] >= 7
        assert blob["container_delete_retention_policy"]["days"] >= 7


def test_every_state_account_has_a_private_container_and_a_delete_lock(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    accounts = resources_of(bootstrap, "azurerm_storage_account")
    containers = resources_of(bootstrap, "azurerm_storage_container").values()
    locks = resources_of(bootstrap, "azurerm_management_lock").values()
    for account_id in accounts:
        reference = f"${{azurerm_storage_account.{account_id}.id}}"
        assert [c["container_access_type"] for c in containers if c["storage_account_id"] == reference] == ["private"]
        assert [lock["lock_level"] for lock in locks if lock["scope"] == reference] == ["CanNotDelete"]
