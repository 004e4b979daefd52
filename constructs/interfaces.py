"""The interface every construct uses to declare cross-cutting resources for its OWN resources.

Azure Verified Modules give every module the same interface fields (`role_assignments`, `lock`, ...); here
they are one shape each, used everywhere, so a reviewer reads a grant or a lock the same way in every file:

- `RoleGrant` + `grant()`: one role assignment, always with its reason (the assignment's description) and
  the principal's type where it is known (Azure then skips the directory lookup that fails for a principal
  created seconds earlier). `Grants` collects the grants something must wait for (`depends_on=grants.all`).
- `lock()`: one `CanNotDelete` management lock with its reason. `delete_lock()`: a construct's lock on one
  of its own stateful resources, switched by its `protect_from_destroy` prop; `constructs/locks.py` checks
  at synth that no stateful resource of the stack was left without one.
- `DiagnosticsSink` + `diagnostics()`: the diagnostic setting(s) of one of a construct's own resources, from
  its type's profile in `constructs/diagnostics.py` (`DIAGNOSTICS`), to the sink the construct's props carry
  (the Log Analytics workspace); `DiagnosticsCoverage` there checks at synth that none was forgotten.
- Private endpoints: `PrivateEndpointPlacement.connect()` in `constructs/private_endpoint.py`.
- `after_access()`: the `depends_on` of a resource Azure checks an access right for at create time: the grants
  and a wait (`time_sleep`) that starts after exactly them, since a new role assignment can take minutes to reach
  the data plane. Each construct orders its own resources with it; nothing walks the stack to add waits.

A construct only grants on, locks, and declares diagnostic settings for resources it owns or is handed by id in
its props; it never edits another construct's resources.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable, TerraformProvider, TerraformResource
from cdktf_cdktf_provider_azurerm.management_lock import ManagementLock
from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

from constructs import Construct
from constructs.diagnostics import (
    CATEGORY_GROUPS,
    DIAGNOSTICS,
    SETTING_NAME,
    SETTING_TYPE,
    DiagnosticProfile,
    record_setting,
)
from constructs.migrations import LIVE_LOCKS_BEFORE, SETTINGS_BEFORE
from constructs.resource_types import resource_type
from constructs.time_binding import TimeSleep, time_provider

SERVICE_PRINCIPAL = "ServicePrincipal"  # managed identities and applications
GROUP = "Group"
RUNNER = None  # the identity running Terraform: a user locally, a service principal in CI
LOCK_NAME = "cannot-delete"
_delete_locked: weakref.WeakSet[TerraformResource] = weakref.WeakSet()
_owner_paths: weakref.WeakKeyDictionary[Construct, str] = weakref.WeakKeyDictionary()


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
    # A custom role defined in the same stack: its resource id (`role_definition_resource_id`), which also orders
    # the assignment after the definition; `role` is then only its name, for the reader.
    role_id: str | None = None


def grant(
    owner: Construct, id: str, role_grant: RoleGrant, *, provider: TerraformProvider | None = None
) -> RoleAssignment:
    """Declare one role assignment under `owner` (its construct id is part of the Terraform address)."""
    return RoleAssignment(
        owner,
        id,
        scope=role_grant.scope,
        role_definition_name=None if role_grant.role_id else role_grant.role,
        role_definition_id=role_grant.role_id,
        principal_id=role_grant.principal_id,
        principal_type=role_grant.principal_type,
        description=role_grant.why,
        condition=role_grant.condition,
        condition_version="2.0" if role_grant.condition else None,
        provider=provider,
    )


class Grants(Construct):
    """Role assignments that a resource must wait for: pass `after_access(owner, id, grants.all)` as its
    `depends_on`."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.all: list[RoleAssignment] = []

    def add(self, id: str, role_grant: RoleGrant) -> RoleAssignment:
        assignment = grant(self, id, role_grant)
        self.all.append(assignment)
        return assignment


# Azure documents up to ~10 minutes for role assignment changes in the worst case; new assignments to a
# principal that holds no cached token typically apply within one to two minutes. A retry loop is not available
# to Terraform, and a provisioner `sleep` would need a shell on every runner and hide in no plan.
RBAC_PROPAGATION = "120s"
# What Azure (or Terraform's own data-plane call) checks at create time: each such resource waits after its grants.
CREATE_TIME_ACCESS_CHECKS: dict[str, str] = {
    "azurerm_storage_account": "validates its customer-managed key at create",
    "azurerm_storage_account_customer_managed_key": "validates its customer-managed key",
    "azurerm_postgresql_flexible_server": "validates its customer-managed keys at create",
    "azurerm_disk_encryption_set": "validates its key at create",
    "azurerm_application_gateway": "reads its listener certificate from Key Vault at create",
    "azurerm_kubernetes_cluster": "validates its identity's rights on subnets, route table and DNS zone",
    "azurerm_key_vault_key": "Terraform writes it through the data plane right after its own data role",
    "azurerm_key_vault_certificate": "Terraform writes it through the data plane right after its own data role",
    "azurerm_data_protection_backup_instance_kubernetes_cluster": "the Backup vault checks its roles at create",
    "azurerm_data_protection_backup_instance_blob_storage": "the Backup vault checks its roles at create",
}


def after_access(owner: Construct, id: str, grants: Sequence[RoleAssignment]) -> list[ITerraformDependable]:
    """`depends_on` for one of `owner`'s resources that Azure checks `grants` for at create time: the grants, and a
    `time_sleep` of RBAC_PROPAGATION that starts after exactly them. Resources waiting on the same grants share
    the wait: create it once (same `id`) and pass the returned list to each."""
    sleep = TimeSleep(owner, id, create_duration=RBAC_PROPAGATION, depends_on=grants, provider=time_provider(owner))
    # A replaced assignment (new id) replaces the sleep too, so the wait happens again.
    sleep.add_override("triggers", {assignment.friendly_unique_id: assignment.id for assignment in grants})
    return [*grants, sleep]


def lock(
    owner: Construct,
    id: str,
    *,
    resource_id: str,
    name: str,
    why: str,
    level: str = "CanNotDelete",
    depends_on: Sequence[ITerraformDependable] | None = None,
    provider: TerraformProvider | None = None,
) -> ManagementLock:
    """Declare a `CanNotDelete` lock on `resource_id`: Azure refuses its delete from anywhere (portal, CLI); or
    a `ReadOnly` one: Azure refuses every write too, its child resources' included."""
    return ManagementLock(
        owner,
        id,
        name=name,
        scope=resource_id,
        lock_level=level,
        notes=why,
        depends_on=list(depends_on) if depends_on else None,
        provider=provider,
    )


def delete_lock(owner: Construct, id: str, resource: TerraformResource, *, why: str) -> ManagementLock:
    """Declare the `cannot-delete` lock on `resource`, one of `owner`'s own stateful resources.

    Call it when the construct's `protect_from_destroy` prop is on. `constructs/locks.py` (`LockCoverage`) fails
    the synth when a stateful resource of the stack has no such lock.
    """
    created = lock(owner, id, resource_id=resource.get_string_attribute("id"), name=LOCK_NAME, why=why)
    before = stack_lock_address_before(resource)
    if before in LIVE_LOCKS_BEFORE:
        created.move_from_id(before)
    _delete_locked.add(resource)
    return created


def is_delete_locked(resource: TerraformResource) -> bool:
    """Whether a construct declared `delete_lock()` on `resource`."""
    return resource in _delete_locked


def stack_lock_address_before(resource: TerraformResource) -> str:
    """The address the whole-stack walker gave the lock on `resource`: construct `<stack>/locks/<path-joined>`."""
    lock_id = "-".join(resource.node.path.split("/")[1:])
    return walker_address("azurerm_management_lock", "locks", lock_id)


def walker_address(kind: str, walker: str, child: str) -> str:
    """The address of a resource a whole-stack walker created as construct `<stack>/<walker>/<child>`.

    cdktf's logical id of a construct path below the stack: the components joined by "_", then "_" and the
    first 8 hex digits (upper case) of the MD5 of the components joined by "/".
    """
    digest = hashlib.md5(f"{walker}/{child}".encode(), usedforsecurity=False).hexdigest()[:8].upper()
    return f"{kind}.{walker}_{child}_{digest}"


@dataclass(frozen=True)
class DiagnosticsSink:
    """Where a construct's diagnostic settings send resource logs and metrics: the environment's Log Analytics
    workspace (`LogAnalytics.sink` in constructs/observability.py). Every construct with a diagnosable resource
    takes one in its props as `diagnostics`."""

    log_analytics_workspace_id: str


def diagnostics(
    owner: Construct,
    id: str,
    resource: TerraformResource,
    sink: DiagnosticsSink,
    *,
    path_before: str | None = None,
    provider: TerraformProvider | None = None,
) -> list[MonitorDiagnosticSetting]:
    """Declare the diagnostic settings of `resource`, one of `owner`'s own resources, from its type's profile in
    `DIAGNOSTICS`: construct `id` on the resource, and `<id>-<service>` on each sub-resource (storage:
    `<id>-blobServices` on `<account id>/blobServices/default`, ...).

    Settings the whole-stack walker created before (`SETTINGS_BEFORE`) move in state from its address
    (`walker_address`, from the resource's construct path below the stack, or `path_before` for a resource
    that moved itself): Azure races a delete and a create of a setting with the same name on the same
    resource. A setting for a resource the walker never saw gets no moved block.
    """
    kind = resource_type(resource)
    profile = DIAGNOSTICS.get(kind)
    if profile is None:
        raise ValueError(f"diagnostics: {kind} has no profile in DIAGNOSTICS (constructs/diagnostics.py)")
    path = resource.node.path
    owner_path = _owner_paths.get(owner)
    if owner_path is None:  # each path read is two kernel round trips: once per owner
        owner_path = _owner_paths[owner] = owner.node.path
    if not path.startswith(f"{owner_path}/"):
        raise ValueError(
            f"diagnostics: '{path}' is not a resource of '{owner_path}': declare its settings in its own construct"
        )
    walker_id = "-".join((path_before or path.split("/", 1)[1]).split("/"))
    resource_id = resource.get_string_attribute("id")
    targets: list[tuple[str | None, DiagnosticProfile]] = [(None, profile), *profile.sub_resources.items()]
    settings = []
    for sub_resource, target_profile in targets:
        service = sub_resource.split("/")[0] if sub_resource else None
        setting = _setting(
            owner,
            f"{id}-{service}" if service else id,
            f"{resource_id}/{sub_resource}" if sub_resource else resource_id,
            target_profile,
            sink,
            provider,
        )
        record_setting(setting, resource, sub_resource)
        before = walker_address(SETTING_TYPE, "diagnostics", f"{walker_id}-{service}" if service else walker_id)
        if before in SETTINGS_BEFORE:
            setting.move_from_id(before)
        settings.append(setting)
    return settings


def diagnostics_of_id(owner: Construct, id: str, kind: str, resource_id: str, sink: DiagnosticsSink) -> None:
    """Declare the diagnostic settings of a resource of type `kind` that another stack manages, by its config-derived
    id: the alerting stack's chat adapters are applied before the workspace they log to exists (docs/architecture.md
    "Deployment order"). No sub-resources: such a type has none in `DIAGNOSTICS`."""
    profile = DIAGNOSTICS.get(kind)
    if profile is None or profile.sub_resources:
        raise ValueError(f"diagnostics: {kind} needs a profile without sub-resources in DIAGNOSTICS to be set by id")
    _setting(owner, id, resource_id, profile, sink, None)


def _setting(
    owner: Construct,
    id: str,
    target: str,
    profile: DiagnosticProfile,
    sink: DiagnosticsSink,
    provider: TerraformProvider | None,
) -> MonitorDiagnosticSetting:
    return MonitorDiagnosticSetting(
        owner,
        id,
        name=SETTING_NAME,
        target_resource_id=target,
        log_analytics_workspace_id=sink.log_analytics_workspace_id,
        log_analytics_destination_type="Dedicated" if profile.dedicated_tables and profile.logs else None,
        enabled_log=[
            MonitorDiagnosticSettingEnabledLog(category_group=log)
            if log in CATEGORY_GROUPS
            else MonitorDiagnosticSettingEnabledLog(category=log)
            for log in profile.logs
        ]
        or None,
        enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category=c) for c in profile.metric_categories]
        if profile.metrics
        else None,
        provider=provider,
    )
