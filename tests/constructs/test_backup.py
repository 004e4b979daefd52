"""Azure Backup in each environment's synthesized infra stack: the vault, AKS backup (extension, trusted
access, roles, policy, instance), blob backup, and the CanNotDelete locks that follow data.protect_from_destroy."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import cdktf
import pytest

from config.schema import EnvironmentConfig
from constructs.backup import (
    EXCLUDED_NAMESPACES,
    TRUSTED_ACCESS_ROLE,
    BackupVault,
    BlobBackup,
    BlobBackupProps,
)
from constructs.locks import LOCK_NAME, LOCKED_TYPES
from constructs.naming import Naming
from constructs.platform_groups import platform_groups
from constructs.storage import Storage
from tests.conftest import StackJson, only_resource, resources_of

VAULT = "azurerm_data_protection_backup_vault"


def ref(stack: StackJson, resource_type: str, body: dict[str, Any], attribute: str = "id") -> str:
    (address,) = [name for name, candidate in resources_of(stack, resource_type).items() if candidate is body]
    return f"${{{resource_type}.{address}.{attribute}}}"


def grants_to(stack: StackJson, principal: str) -> set[tuple[str, str]]:
    """(role, scope) of every role assignment to one principal."""
    return {
        (grant["role_definition_name"], grant["scope"])
        for grant in resources_of(stack, "azurerm_role_assignment").values()
        if grant["principal_id"] == principal
    }


def account_named(stack: StackJson, prefix: str) -> dict[str, Any]:
    (account,) = [a for a in resources_of(stack, "azurerm_storage_account").values() if a["name"].startswith(prefix)]
    return account


ENTRA_ID_SETTINGS = ("useAAD", "storageAccountURI", "storageAccount", "resourceGroup", "subscriptionId")


def extension_entra_id_problems(extension: dict[str, Any], account: dict[str, Any]) -> list[str]:
    """Why Velero's Azure plugin would fall back to account keys (or find no account): an account whose
    shared keys are off needs `useAAD = "true"` and the blob endpoint, plus the account's coordinates."""
    settings = extension.get("configuration_settings", {})
    prefix = "configuration.backupStorageLocation.config."
    problems = [f"{prefix}{key} missing" for key in ENTRA_ID_SETTINGS if not settings.get(prefix + key)]
    if account.get("shared_access_key_enabled") is False and settings.get(prefix + "useAAD") not in (None, "true"):
        problems.append(f"{prefix}useAAD is {settings[prefix + 'useAAD']!r}, not 'true', with shared keys off")
    if not settings.get("configuration.backupStorageLocation.bucket"):
        problems.append("configuration.backupStorageLocation.bucket missing")
    return problems


def test_extension_check_rejects_account_key_mode(infra: StackJson, config: EnvironmentConfig) -> None:
    """Failing examples: the extension as it was (no useAAD, no blob endpoint) and useAAD = "false"."""
    extension = only_resource(infra, "azurerm_kubernetes_cluster_extension")
    account = account_named(infra, f"{config.short_name}aksbkp")
    prefix = "configuration.backupStorageLocation.config."
    settings = dict(extension["configuration_settings"])
    del settings[prefix + "useAAD"], settings[prefix + "storageAccountURI"]
    assert extension_entra_id_problems({"configuration_settings": settings}, account) == [
        f"{prefix}useAAD missing",
        f"{prefix}storageAccountURI missing",
    ]
    settings = {**extension["configuration_settings"], prefix + "useAAD": "false"}
    assert extension_entra_id_problems({"configuration_settings": settings}, account) == [
        f"{prefix}useAAD is 'false', not 'true', with shared keys off"
    ]


def test_vault_settings_follow_config(infra: StackJson, config: EnvironmentConfig) -> None:
    vault = only_resource(infra, VAULT)
    settings = config.recovery.vault
    assert vault["datastore_type"] == "VaultStore"
    assert vault["redundancy"] == settings.redundancy
    assert vault.get("cross_region_restore_enabled") is (True if settings.redundancy == "GeoRedundant" else None)
    assert vault["soft_delete"] == "On" and vault["retention_duration_in_days"] == settings.soft_delete_retention_days
    assert vault["immutability"] == settings.immutability
    assert vault["identity"] == {"type": "SystemAssigned"}
    assert vault["location"] == config.location
    assert vault["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy


def test_aks_policy_runs_daily_at_the_backup_time_with_configured_retention(
    infra: StackJson, config: EnvironmentConfig
) -> None:
    policy = only_resource(infra, "azapi_resource")
    assert policy["type"] == "Microsoft.DataProtection/backupVaults/backupPolicies@2025-07-01"
    assert policy["parent_id"] == ref(infra, VAULT, only_resource(infra, VAULT))
    backup_rule, default, daily = policy["body"]["properties"]["policyRules"]
    (interval,) = backup_rule["trigger"]["schedule"]["repeatingTimeIntervals"]
    assert interval.endswith(f"T{config.recovery.backup_time_utc}:00+00:00/P1D"), interval
    operational = {"OperationalStore": f"P{config.recovery.aks.retention_days}D"}
    assert {lc["sourceDataStore"]["dataStoreType"]: lc["deleteAfter"]["duration"] for lc in default["lifecycles"]} == (
        operational
    )
    assert {lc["sourceDataStore"]["dataStoreType"]: lc["deleteAfter"]["duration"] for lc in daily["lifecycles"]} == (
        operational | {"VaultStore": f"P{config.recovery.aks.vault_retention_days}D"}
    )


def test_aks_backup_instance_uses_the_vault_tier_policy(infra: StackJson) -> None:
    instance = only_resource(infra, "azurerm_data_protection_backup_instance_kubernetes_cluster")
    assert instance["backup_policy_id"] == ref(infra, "azapi_resource", only_resource(infra, "azapi_resource"))
    assert not resources_of(infra, "azurerm_data_protection_backup_policy_kubernetes_cluster")


def test_extension_writes_to_its_own_private_account_container(infra: StackJson, config: EnvironmentConfig) -> None:
    extension = only_resource(infra, "azurerm_kubernetes_cluster_extension")
    cluster = only_resource(infra, "azurerm_kubernetes_cluster")
    account = account_named(infra, f"{config.short_name}aksbkp")
    (container_name,) = config.recovery.aks.storage.containers
    (container,) = [
        c
        for c in resources_of(infra, "azurerm_storage_container").values()
        if c["storage_account_id"] == ref(infra, "azurerm_storage_account", account)
    ]
    assert container["name"] == container_name == "aks-backups" and container["container_access_type"] == "private"
    assert extension["extension_type"] == "microsoft.dataprotection.kubernetes"
    assert extension["cluster_id"] == ref(infra, "azurerm_kubernetes_cluster", cluster)
    assert extension["configuration_settings"] == {
        "configuration.backupStorageLocation.bucket": ref(infra, "azurerm_storage_container", container, "name"),
        "configuration.backupStorageLocation.config.resourceGroup": ref(
            infra, "azurerm_storage_account", account, "resource_group_name"
        ),
        "configuration.backupStorageLocation.config.storageAccount": ref(
            infra, "azurerm_storage_account", account, "name"
        ),
        "configuration.backupStorageLocation.config.subscriptionId": config.subscription_id,
        "configuration.backupStorageLocation.config.useAAD": "true",
        "configuration.backupStorageLocation.config.storageAccountURI": ref(
            infra, "azurerm_storage_account", account, "primary_blob_endpoint"
        ),
        "credentials.tenantId": config.tenant_id,
    }
    assert extension_entra_id_problems(extension, account) == []
    # Built by the project's Storage construct: private, Entra ID only, CMK, replication from config.
    assert account["account_replication_type"] == config.recovery.aks.storage.replication
    assert account["public_network_access_enabled"] is False and account["shared_access_key_enabled"] is False
    assert "customer_managed_key" in account
    assert account["lifecycle"]["prevent_destroy"] is config.data.protect_from_destroy


def test_vault_extension_and_cluster_hold_exactly_the_backup_roles(infra: StackJson, config: EnvironmentConfig) -> None:
    vault = only_resource(infra, VAULT)
    extension = only_resource(infra, "azurerm_kubernetes_cluster_extension")
    cluster = only_resource(infra, "azurerm_kubernetes_cluster")
    instance = only_resource(infra, "azurerm_data_protection_backup_instance_kubernetes_cluster")
    snapshots = platform_groups(config)["aks-snapshots"]  # bootstrap's group, by name
    snapshots_id = snapshots.id(config.subscription_id)
    assert instance["snapshot_resource_group_name"] == snapshots.name
    backup_account = ref(infra, "azurerm_storage_account", account_named(infra, f"{config.short_name}aksbkp"))
    data_account = ref(infra, "azurerm_storage_account", account_named(infra, f"{config.short_name}appst"))
    cluster_id = ref(infra, "azurerm_kubernetes_cluster", cluster)
    vault_principal = ref(infra, VAULT, vault, "identity[0].principal_id")
    assert grants_to(infra, vault_principal) == {
        ("Reader", cluster_id),
        ("Reader", snapshots_id),
        ("Disk Snapshot Contributor", snapshots_id),
        ("Data Operator for Managed Disks", snapshots_id),
        ("Storage Blob Data Contributor", backup_account),
        ("Storage Account Backup Contributor", data_account),
    }
    extension_principal = ref(
        infra, "azurerm_kubernetes_cluster_extension", extension, "aks_assigned_identity[0].principal_id"
    )
    assert grants_to(infra, extension_principal) == {("Storage Blob Data Contributor", backup_account)}
    control_plane = cluster["identity"]["identity_ids"][0].replace(".id}", ".principal_id}")
    assert ("Contributor", snapshots_id) in grants_to(infra, control_plane)


def test_aks_instance_waits_for_every_role_trusted_access_and_extension(infra: StackJson) -> None:
    instance = only_resource(infra, "azurerm_data_protection_backup_instance_kubernetes_cluster")
    binding = only_resource(infra, "azurerm_kubernetes_cluster_trusted_access_role_binding")
    vault = only_resource(infra, VAULT)
    assert binding["roles"] == [TRUSTED_ACCESS_ROLE]
    assert binding["source_resource_id"] == ref(infra, VAULT, vault)
    assert binding["kubernetes_cluster_id"] == instance["kubernetes_cluster_id"]
    backup_grants = {
        f"azurerm_role_assignment.{address}"
        for address, grant in resources_of(infra, "azurerm_role_assignment").items()
        if grant["//"]["metadata"]["path"].split("/")[1] == "aks-backup"
    }
    assert len(backup_grants) == 7
    [wait] = [d for d in instance["depends_on"] if d.startswith("time_sleep.")]  # the grants' propagation
    assert set(resources_of(infra, "time_sleep")[wait.split(".", 1)[1]]["depends_on"]) == backup_grants
    assert set(instance["depends_on"]) == backup_grants | {
        wait,
        ref(infra, "azurerm_kubernetes_cluster_trusted_access_role_binding", binding)
        .removeprefix("${")
        .removesuffix(".id}"),
        ref(infra, "azurerm_kubernetes_cluster_extension", only_resource(infra, "azurerm_kubernetes_cluster_extension"))
        .removeprefix("${")
        .removesuffix(".id}"),
    }
    parameters = instance["backup_datasource_parameters"]
    assert parameters["volume_snapshot_enabled"] is True and parameters["cluster_scoped_resources_enabled"] is True
    assert parameters["excluded_namespaces"] == list(EXCLUDED_NAMESPACES)


def test_blob_backup_protects_the_data_account_continuously_and_daily(
    infra: StackJson, config: EnvironmentConfig
) -> None:
    policy = only_resource(infra, "azurerm_data_protection_backup_policy_blob_storage")
    instance = only_resource(infra, "azurerm_data_protection_backup_instance_blob_storage")
    data_account = account_named(infra, f"{config.short_name}appst")
    blobs = config.recovery.blobs
    assert policy["operational_default_retention_duration"] == f"P{blobs.operational_retention_days}D"
    assert policy["vault_default_retention_duration"] == f"P{blobs.vault_retention_days}D"
    assert policy["backup_repeating_time_intervals"][0].endswith(f"T{config.recovery.backup_time_utc}:00+00:00/P1D")
    assert instance["storage_account_id"] == ref(infra, "azurerm_storage_account", data_account)
    assert instance["storage_account_container_names"] == sorted(config.data.storage.containers)
    grant = next(
        address
        for address, g in resources_of(infra, "azurerm_role_assignment").items()
        if g["role_definition_name"] == "Storage Account Backup Contributor"
    )
    assert f"azurerm_role_assignment.{grant}" in instance["depends_on"]
    # Operational backup's point-in-time restore, declared so Terraform does not remove it again.
    restore_days = data_account["blob_properties"]["restore_policy"]["days"]
    assert restore_days == blobs.operational_retention_days
    assert restore_days < data_account["blob_properties"]["delete_retention_policy"]["days"]


def test_blob_backup_never_edits_the_storage_account_it_protects(infra: StackJson, config: EnvironmentConfig) -> None:
    """The account declares its own restore window; the backup construct only checks it (no override)."""
    assert "azurerm_storage_account" not in infra["//"]["metadata"].get("overrides", {})  # cdktf lists overrides
    # Failing example: an account without the window; the construct refuses instead of patching it.
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "blob-backup")
    props = BlobBackupProps(
        config=config.recovery.blobs,
        naming=Naming(config.short_name, config.unique_suffix),
        backup_time_utc=config.recovery.backup_time_utc,
        vault=cast(BackupVault, SimpleNamespace()),
        storage=cast(Storage, SimpleNamespace(point_in_time_restore_days=None)),
    )
    with pytest.raises(ValueError, match="point-in-time restore window of None days"):
        BlobBackup(stack, "blob-backup", props=props)


def test_every_stateful_resource_is_locked_when_protection_is_on(infra: StackJson, config: EnvironmentConfig) -> None:
    locks = resources_of(infra, "azurerm_management_lock").values()
    stateful = [
        ref(infra, resource_type, body)
        for resource_type in LOCKED_TYPES
        for body in resources_of(infra, resource_type).values()
    ]
    if not config.data.protect_from_destroy:
        assert not locks
        return
    assert {lock["lock_level"] for lock in locks} == {"CanNotDelete"}
    assert {lock["name"] for lock in locks} == {LOCK_NAME}
    assert sorted(lock["scope"] for lock in locks) == sorted(stateful)  # each exactly once, nothing else
    assert len(stateful) >= len(LOCKED_TYPES)  # every type is present in the stack


def unlocked(stack: StackJson, resource_types: tuple[str, ...]) -> list[str]:
    scopes = {lock["scope"] for lock in resources_of(stack, "azurerm_management_lock").values()}
    return [
        f"{resource_type}.{address}"
        for resource_type in resource_types
        for address in resources_of(stack, resource_type)
        if f"${{{resource_type}.{address}.id}}" not in scopes
    ]


def test_the_audit_trail_and_the_rebuild_images_are_delete_locked(infra: StackJson, config: EnvironmentConfig) -> None:
    types = ("azurerm_log_analytics_workspace", "azurerm_container_registry")
    assert all(resources_of(infra, t) for t in types)
    if not config.data.protect_from_destroy:
        return
    assert unlocked(infra, types) == []
    # Failing example: the former lock set (neither type locked).
    broken = json.loads(json.dumps(infra))
    broken["resource"]["azurerm_management_lock"] = {
        address: lock
        for address, lock in resources_of(broken, "azurerm_management_lock").items()
        if not any(f"${{{t}." in lock["scope"] for t in types)
    }
    assert len(unlocked(broken, types)) == 2
