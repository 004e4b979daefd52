"""The interface every construct uses to declare cross-cutting resources for its OWN resources.

Azure Verified Modules give every module the same interface fields (`role_assignments`, `lock`, ...); here
they are one shape each, used everywhere, so a reviewer reads a grant or a lock the same way in every file:

- `RoleGrant` + `grant()`: one role assignment, always with its reason (the assignment's description) and
  the principal's type where it is known (Azure then skips the directory lookup that fails for a principal
  created seconds earlier). `Grants` collects the grants something must wait for (`depends_on=grants.all`).
- `lock()`: one `CanNotDelete` management lock with its reason.

A construct only grants on, and locks, resources it owns or is handed by id in its props; it never edits
another construct's resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable, TerraformProvider
from cdktf_cdktf_provider_azurerm.management_lock import ManagementLock
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

from constructs import Construct

SERVICE_PRINCIPAL = "ServicePrincipal"  # managed identities and applications
GROUP = "Group"
RUNNER = None  # the identity running Terraform: a user locally, a service principal in CI


@dataclass(frozen=True)
class RoleGrant:
    """`principal_id` holds the built-in `role` on the resource `scope`, because of `why`."""

    scope: str
    role: str
    principal_id: str
    why: str
    principal_type: str | None = SERVICE_PRINCIPAL
    # An Azure ABAC condition (version 2.0) narrowing the grant, e.g. which roles a delegated admin may assign.
    condition: str | None = None


def grant(
    owner: Construct, id: str, role_grant: RoleGrant, *, provider: TerraformProvider | None = None
) -> RoleAssignment:
    """Declare one role assignment under `owner` (its construct id is part of the Terraform address)."""
    return RoleAssignment(
        owner,
        id,
        scope=role_grant.scope,
        role_definition_name=role_grant.role,
        principal_id=role_grant.principal_id,
        principal_type=role_grant.principal_type,
        description=role_grant.why,
        condition=role_grant.condition,
        condition_version="2.0" if role_grant.condition else None,
        provider=provider,
    )


class Grants(Construct):
    """Role assignments that a resource must wait for: pass `all` as its `depends_on`."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.all: list[ITerraformDependable] = []

    def add(self, id: str, role_grant: RoleGrant) -> RoleAssignment:
        assignment = grant(self, id, role_grant)
        self.all.append(assignment)
        return assignment


def lock(
    owner: Construct,
    id: str,
    *,
    resource_id: str,
    name: str,
    why: str,
    provider: TerraformProvider | None = None,
) -> ManagementLock:
    """Declare a `CanNotDelete` lock on `resource_id`: Azure refuses its delete from anywhere (portal, CLI)."""
    return ManagementLock(
        owner,
        id,
        name=name,
        scope=resource_id,
        lock_level="CanNotDelete",
        notes=why,
        provider=provider,
    )
