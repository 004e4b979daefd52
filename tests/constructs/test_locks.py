"""constructs/locks.py + interfaces.delete_lock: each construct locks its own stateful resources; LockCoverage
fails the synth when one is forgotten; the locks that the whole-stack walker made keep their state (moved)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cdktf
import pytest
from cdktf_cdktf_provider_azurerm.container_registry import ContainerRegistry
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount

from constructs import Construct
from constructs.interfaces import delete_lock
from constructs.locks import LOCKED_TYPES, LockCoverage, LockCoverageProps, why_locked
from constructs.migrations import LIVE_LOCKS_BEFORE, WORKSPACE_LOCK_BEFORE
from tests.conftest import StackJson, resources_of

# The locks production-infra had before each construct declared its own (the walker's `locks/<path>` ids).
LOCKS_BEFORE = {
    "azurerm_management_lock.locks_aks-backup-storage-account_385CF24B",
    "azurerm_management_lock.locks_backup-vault-vault_6A6495C5",
    "azurerm_management_lock.locks_data-event-hubs-primary_A561C14E",
    "azurerm_management_lock.locks_data-event-hubs-secondary_A43099FE",
    "azurerm_management_lock.locks_data-geo-key-vault-vault_629434C5",
    "azurerm_management_lock.locks_data-key-vault-vault_FAAC1D34",
    "azurerm_management_lock.locks_data-postgres-server_F61F97E5",
    "azurerm_management_lock.locks_data-storage-account_A622EA28",
}


class Account(Construct):
    """A construct owning a stateful resource, which it locks or (the failing example) forgets to."""

    def __init__(self, scope: Construct, id: str, *, locked: bool) -> None:
        super().__init__(scope, id)
        self.account = StorageAccount(
            self,
            "account",
            name="stlocktest001",
            resource_group_name="rg",
            location="eastus",
            account_tier="Standard",
            account_replication_type="ZRS",
        )
        if locked:
            delete_lock(self, "lock", self.account, why=why_locked(self.account))


def synth(tmp_path: Path, *, enabled: bool, locked: bool) -> StackJson:
    app = cdktf.App(outdir=str(tmp_path))
    stack = cdktf.TerraformStack(app, "locks")
    AzurermProvider(stack, "azurerm", features=[{}])
    Account(stack, "data", locked=locked)
    LockCoverage(stack, "locks", props=LockCoverageProps(enabled=enabled))
    app.synth()
    return json.loads((tmp_path / "stacks" / "locks" / "cdk.tf.json").read_text())


def test_a_locked_resource_passes_and_a_new_lock_moves_from_nothing(tmp_path: Path) -> None:
    stack = synth(tmp_path, enabled=True, locked=True)
    (lock,) = resources_of(stack, "azurerm_management_lock").values()
    (account,) = resources_of(stack, "azurerm_storage_account")
    assert lock["scope"] == f"${{azurerm_storage_account.{account}.id}}"
    assert lock["notes"] == f"Delete-protected (data.protect_from_destroy): {LOCKED_TYPES['azurerm_storage_account']}"
    # Only the locks production held under the old walker move (LIVE_LOCKS_BEFORE); a moved block from an
    # address no state has would be noise in every plan review.
    assert "moved" not in stack


def test_the_live_locks_are_cdktfs_ids_of_the_walkers_constructs() -> None:
    """cdktf's id of the walker's construct `locks/<path>`: its components, then the path's MD5 prefix."""
    assert LIVE_LOCKS_BEFORE == LOCKS_BEFORE
    for address in LIVE_LOCKS_BEFORE:
        lock_id, digest = address.removeprefix("azurerm_management_lock.locks_").rsplit("_", 1)
        assert hashlib.md5(f"locks/{lock_id}".encode()).hexdigest()[:8].upper() == digest, address


def test_a_forgotten_lock_fails_the_synth(tmp_path: Path) -> None:
    """Failing example: protection on, a stateful resource whose construct declares no lock."""
    with pytest.raises(
        RuntimeError, match=r"AZ-LOCK-1 azurerm_storage_account 'locks/data/account' has no delete lock"
    ):
        synth(tmp_path, enabled=True, locked=False)


def test_a_lock_while_protection_is_off_fails_the_synth(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"AZ-LOCK-1 .* is locked while data.protect_from_destroy is off"):
        synth(tmp_path, enabled=False, locked=True)


def test_a_new_lock_has_no_moved_block() -> None:
    """Types the walker never locked (registry, workspace) have no old address to move from."""
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    registry = ContainerRegistry(stack, "registry", name="acr", resource_group_name="rg", location="x", sku="Premium")
    delete_lock(stack, "lock", registry, why="images")
    assert "moved" not in json.loads(cdktf.Testing.synth(stack))


def locks_moved(stack: StackJson) -> dict[str, str]:
    return {
        block["from"]: block["to"]
        for block in stack.get("moved", [])
        if block["from"].startswith("azurerm_management_lock.")
    }


def test_production_moves_every_existing_lock_and_adds_workspace_and_registry(stacks: dict[str, StackJson]) -> None:
    production = stacks["production-infra"]
    moved = locks_moved(production)
    # The walker's locks, and the workspace's, whose construct moved out of `observability` (LogAnalytics).
    assert set(moved) == LOCKS_BEFORE | {WORKSPACE_LOCK_BEFORE}, "every lock moves in state, none is re-created"
    locks = resources_of(production, "azurerm_management_lock")
    assert {to.removeprefix("azurerm_management_lock.") for to in moved.values()} <= set(locks)
    scopes = {lock["scope"].split(".")[0] for lock in locks.values()}
    assert {"${azurerm_log_analytics_workspace", "${azurerm_container_registry"} <= scopes
    assert not locks_moved(stacks["staging-infra"]) and not resources_of(
        stacks["staging-infra"], "azurerm_management_lock"
    )
