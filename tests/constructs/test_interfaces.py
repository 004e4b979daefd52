"""constructs/interfaces.py: one shape for role assignments and locks, used by every construct."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cdktf

from constructs.interfaces import GROUP, RUNNER, Grants, RoleGrant, grant, lock

CONSTRUCTS = Path(__file__).resolve().parents[2] / "constructs"
# A direct instantiation of the provider classes bypasses the interface (no reason, no principal type).
DIRECT = re.compile(r"\b(RoleAssignment|ManagementLock)\(")


def synth(build) -> dict:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    build(stack)
    return json.loads(cdktf.Testing.synth(stack))["resource"]


def test_a_grant_carries_its_reason_and_principal_type() -> None:
    resources = synth(lambda stack: grant(stack, "reader", RoleGrant("/scope", "Reader", "principal", "reads it")))
    assert resources["azurerm_role_assignment"]["reader"] == {
        "description": "reads it",
        "principal_id": "principal",
        "principal_type": "ServicePrincipal",
        "role_definition_name": "Reader",
        "scope": "/scope",
    }


def test_group_and_runner_principal_types() -> None:
    def build(stack: cdktf.TerraformStack) -> None:
        grant(stack, "admins", RoleGrant("/s", "Grafana Admin", "group", "why", principal_type=GROUP))
        grant(stack, "runner", RoleGrant("/s", "Key Vault Crypto Officer", "me", "why", principal_type=RUNNER))

    assignments = synth(build)["azurerm_role_assignment"]
    assert assignments["admins"]["principal_type"] == "Group"
    # The runner is a user locally and a service principal in CI: Azure looks the type up.
    assert "principal_type" not in assignments["runner"]


def test_grants_collects_what_a_resource_waits_for() -> None:
    holder: list[Grants] = []

    def build(stack: cdktf.TerraformStack) -> None:
        grants = Grants(stack, "grants")
        grants.add("a", RoleGrant("/s", "Reader", "p", "why"))
        grants.add("b", RoleGrant("/s", "Contributor", "p", "why"))
        holder.append(grants)

    assert len(synth(build)["azurerm_role_assignment"]) == 2
    assert len(holder[0].all) == 2


def test_a_lock_is_cannot_delete_with_its_reason() -> None:
    resources = synth(lambda stack: lock(stack, "lock", resource_id="/db", name="cannot-delete", why="holds data"))
    assert resources["azurerm_management_lock"]["lock"] == {
        "lock_level": "CanNotDelete",
        "name": "cannot-delete",
        "notes": "holds data",
        "scope": "/db",
    }


def test_no_construct_creates_role_assignments_or_locks_directly() -> None:
    offenders = [
        f"{path.relative_to(CONSTRUCTS.parent)}:{number}: {line.strip()}"
        for path in sorted(CONSTRUCTS.rglob("*.py"))
        if path.name != "interfaces.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DIRECT.search(line)
    ]
    assert not offenders, "use constructs/interfaces.py (grant/Grants/lock):\n" + "\n".join(offenders)


# The one module that writes each cross-cutting resource type: diagnostic settings in interfaces.py (`diagnostics`),
# private endpoints in private_endpoint.py (`PrivateEndpointPlacement.connect`). Anyone else importing the
# provider class bypasses the interface.
WRITTEN_ONLY_BY = {
    "cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting": "interfaces.py",
    "cdktf_cdktf_provider_azurerm.private_endpoint": "private_endpoint.py",
}


# Importers that write no resource setting, each with its reason.
ALLOWED_IMPORTERS = {
    ("diagnostics.py", "cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting"): "a type cast: the coverage check "
    "reads settings back",
    ("governance.py", "cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting"): "the subscription's activity-log "
    "export: a subscription-level setting with activity-log categories, not a resource profile of DIAGNOSTICS",
}


def direct_writers(folder: Path) -> list[str]:
    return [
        f"{path.name}:{number}: {line.strip()} (only constructs/{owner} may)"
        for path in sorted(folder.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for module, owner in WRITTEN_ONLY_BY.items()
        if path.name != owner
        and (path.name, module) not in ALLOWED_IMPORTERS
        and re.match(rf"\s*from {re.escape(module)} import", line)
    ]


def test_no_construct_writes_diagnostic_settings_or_private_endpoints_directly() -> None:
    assert direct_writers(CONSTRUCTS) == []


def test_a_construct_importing_the_private_endpoint_class_is_named(tmp_path: Path) -> None:
    """Failing example: the state account's endpoint as it was written before it used the placement."""
    (tmp_path / "state_storage.py").write_text(
        "from cdktf_cdktf_provider_azurerm.private_endpoint import (\n    PrivateEndpoint,\n)\n"
    )
    (tmp_path / "private_endpoint.py").write_text("from cdktf_cdktf_provider_azurerm.private_endpoint import X\n")
    assert direct_writers(tmp_path) == [
        "state_storage.py:1: from cdktf_cdktf_provider_azurerm.private_endpoint import ( "
        "(only constructs/private_endpoint.py may)"
    ]


def test_a_conditional_grant_carries_its_abac_condition_version() -> None:
    condition = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})))"
    resources = synth(
        lambda stack: grant(
            stack, "delegate", RoleGrant("/scope", "User Access Administrator", "p", "why", condition=condition)
        )
    )
    assignment = resources["azurerm_role_assignment"]["delegate"]
    assert assignment["condition"] == condition
    assert assignment["condition_version"] == "2.0"
    plain = synth(lambda stack: grant(stack, "plain", RoleGrant("/scope", "Reader", "p", "why")))
    assert "condition" not in plain["azurerm_role_assignment"]["plain"]
    assert "condition_version" not in plain["azurerm_role_assignment"]["plain"]
