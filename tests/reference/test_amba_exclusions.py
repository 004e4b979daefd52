"""The AMBA exclusions that rest on the platform ("the platform creates no file shares") hold for the synthesized
stacks: a stack that adds a file share, a queue or a virtual machine must bring the excluded alerts in."""

from __future__ import annotations

import copy

from tests.conftest import StackJson
from tools.maintenance.refdata.refresh_amba import NOT_APPLICABLE


def broken_exclusions(stacks: dict[str, StackJson]) -> list[str]:
    """`<namespace>: <stack> has <type>` for each exclusion a stack's resources contradict."""
    return [
        f"{namespace}: {name} has {resource_type}"
        for namespace, (_, absent) in sorted(NOT_APPLICABLE.items())
        for name, stack in sorted(stacks.items())
        for resource_type in absent
        if stack.get("resource", {}).get(resource_type)
    ]


def test_every_not_applicable_exclusion_holds(stacks: dict[str, StackJson]) -> None:
    assert broken_exclusions(stacks) == []


def test_a_file_share_in_a_stack_breaks_the_file_service_exclusion(stacks: dict[str, StackJson]) -> None:
    planted = copy.deepcopy(stacks)
    planted["production-infra"]["resource"]["azurerm_storage_share"] = {"share": {"name": "exports", "quota": 50}}
    assert broken_exclusions(planted) == [
        "Microsoft.Storage/storageAccounts/fileServices: production-infra has azurerm_storage_share"
    ]
