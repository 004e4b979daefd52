"""Nothing forgotten: every stateful resource of a stack carries its construct's `cannot-delete` lock.

Each construct declares the lock on its own stateful resources (`delete_lock()` in constructs/interfaces.py)
from its `protect_from_destroy` prop, the same switch as its `lifecycle { prevent_destroy }`
(data.protect_from_destroy): Terraform refuses to plan the destroy, and Azure refuses the delete from
anywhere else (portal, CLI, scripts). A lock also covers the resource's children: removing a container,
database or event hub from config fails while it is on (docs/platform/backup-dr.md).

`LockCoverage`, added once per stack, is the check: with protection on, a resource of a type in
`LOCKED_TYPES` without its construct's lock fails the synth (AZ-LOCK-1); with protection off, a lock does.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from cdktf import TerraformResource, TerraformStack

from constructs import Construct, IValidation
from constructs.interfaces import LOCK_NAME, is_delete_locked
from constructs.resource_types import resource_type

__all__ = ["LOCKED_TYPES", "LOCK_NAME", "LockCoverage", "LockCoverageProps"]

LOCKED_TYPES = {
    "azurerm_postgresql_flexible_server": "holds the ERP database",
    "azurerm_storage_account": "holds application data or backups",
    "azurerm_key_vault": "holds the customer-managed keys; losing it makes the encrypted data unreadable",
    "azurerm_eventhub_namespace": "holds the event streams and the geo-DR pairing",
    "azurerm_data_protection_backup_vault": "holds the backups",
    "azurerm_log_analytics_workspace": "holds the audit trail (activity, sign-in and resource logs)",
    "azurerm_container_registry": "holds the images a rebuild of the clusters deploys",
}


def why_locked(resource: TerraformResource) -> str:
    """The lock's note: the switch and what the resource holds."""
    return f"Delete-protected (data.protect_from_destroy): {LOCKED_TYPES[resource_type(resource)]}"


@dataclass(frozen=True)
class LockCoverageProps:
    enabled: bool  # data.protect_from_destroy


class LockCoverage(Construct):
    """Adds the AZ-LOCK-1 validation to the stack; creates nothing."""

    def __init__(self, scope: Construct, id: str, *, props: LockCoverageProps) -> None:
        super().__init__(scope, id)
        TerraformStack.of(self).node.add_validation(_LocksDeclared(TerraformStack.of(self), props.enabled))


def lock_problems(stack: TerraformStack, enabled: bool) -> list[str]:
    problems = []
    for node in stack.node.find_all():
        if not isinstance(node, TerraformResource) or resource_type(node) not in LOCKED_TYPES:
            continue
        if enabled and not is_delete_locked(node):
            problems.append(
                f"AZ-LOCK-1 {resource_type(node)} '{node.node.path}' has no delete lock: its construct must "
                "declare delete_lock() (constructs/interfaces.py) when protect_from_destroy is on"
            )
        elif not enabled and is_delete_locked(node):
            problems.append(
                f"AZ-LOCK-1 {resource_type(node)} '{node.node.path}' is locked while data.protect_from_destroy is off"
            )
    return problems


@jsii.implements(IValidation)
class _LocksDeclared:
    def __init__(self, stack: TerraformStack, enabled: bool) -> None:
        self._stack = stack
        self._enabled = enabled

    def validate(self) -> list[str]:
        return lock_problems(self._stack, self._enabled)
