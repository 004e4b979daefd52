"""CanNotDelete management locks on the stateful resources of a stack, added in ONE place.

`ManagementLocks`, created once at the end of a stack, walks the stack and locks every resource of a
type in `LOCKED_TYPES`, so a stateful resource added later is locked without touching its construct.
It follows the same switch as `lifecycle { prevent_destroy }` (data.protect_from_destroy): Terraform
refuses to plan the destroy, and Azure refuses the delete from anywhere else (portal, CLI, scripts).
A lock also covers the resource's children: removing a container, database or event hub from config fails
while it is on (README "Backup and disaster recovery").
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformStack
from cdktf_cdktf_provider_azurerm.management_lock import ManagementLock

from constructs import Construct
from constructs.interfaces import lock
from constructs.resource_types import resource_type

LOCK_NAME = "cannot-delete"
LOCKED_TYPES = {
    "azurerm_postgresql_flexible_server": "holds the ERP database",
    "azurerm_storage_account": "holds application data or backups",
    "azurerm_key_vault": "holds the customer-managed keys; losing it makes the encrypted data unreadable",
    "azurerm_eventhub_namespace": "holds the event streams and the geo-DR pairing",
    "azurerm_data_protection_backup_vault": "holds the backups",
    "azurerm_log_analytics_workspace": "holds the audit trail (activity log, kube-audit, diagnostics logs)",
    "azurerm_container_registry": "holds the images a cluster rebuild pulls (the DR runbook's step 4)",
}


@dataclass(frozen=True)
class ManagementLocksProps:
    enabled: bool  # data.protect_from_destroy


class ManagementLocks(Construct):
    """Create it after every stateful construct of the stack. Exposes `locks` (construct id → lock)."""

    def __init__(self, scope: Construct, id: str, *, props: ManagementLocksProps) -> None:
        super().__init__(scope, id)
        self.locks: dict[str, ManagementLock] = {}
        if not props.enabled:
            return
        stack = TerraformStack.of(self)
        locked = {node.node.path: node for node in stack.node.find_all() if resource_type(node) in LOCKED_TYPES}
        for path, resource in sorted(locked.items()):
            lock_id = "-".join(path.split("/")[1:])  # stable: the resource's construct path
            self.locks[lock_id] = lock(
                self,
                lock_id,
                resource_id=resource.get_string_attribute("id"),
                name=LOCK_NAME,
                why=f"Delete-protected (data.protect_from_destroy): {LOCKED_TYPES[resource_type(resource)]}",
            )
