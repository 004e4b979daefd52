"""Provider currency: every azurerm stack requires azurerm 4.81.0 (the newest 4.x) while building with the 4.55
bindings, and every resource type, argument and nested block the synthesized JSON uses exists in 4.81.0's schema
(reference/azurerm_schema.json.gz, extracted from cdktn-provider-azurerm 17.0.0)."""

from __future__ import annotations

import copy
from typing import Any

from config.loader import ENVIRONMENTS
from stacks.common import AZURERM_VERSION
from tests.conftest import StackJson
from tools.checks.reference_check import Reference, check_stack

REF = Reference.load()


def azurerm_stacks(stacks: dict[str, StackJson]) -> dict[str, StackJson]:
    return {name: stack for name, stack in stacks.items() if "azurerm" in stack["terraform"]["required_providers"]}


def test_every_azurerm_stack_requires_the_newest_4x(stacks: dict[str, StackJson]) -> None:
    found = azurerm_stacks(stacks)
    assert sorted(found) == sorted(
        ["bootstrap", *(f"{environment}-{kind}" for environment in ENVIRONMENTS for kind in ("alerting", "infra"))]
    )
    for stack in found.values():
        assert stack["terraform"]["required_providers"]["azurerm"] == {"source": "azurerm", "version": AZURERM_VERSION}
    assert AZURERM_VERSION == "4.81.0"


def test_every_type_and_attribute_exists_in_the_target_schema(stacks: dict[str, StackJson]) -> None:
    for name, stack in azurerm_stacks(stacks).items():
        result = check_stack(name, stack, REF)
        assert result.checked["schema"] > 0
        schema_findings = [str(f) for f in result.findings if f.rule == "REF-SCHEMA"]
        assert not schema_findings, "\n".join(schema_findings)


def test_a_renamed_attribute_on_a_real_resource_fails(stacks: dict[str, StackJson]) -> None:
    stack: dict[str, Any] = copy.deepcopy(stacks["staging-infra"])
    (name, registry), *_ = stack["resource"]["azurerm_container_registry"].items()
    registry["zone_redundant"] = registry.pop("zone_redundancy_enabled")  # the 2.x spelling
    findings = [(f.rule, f.address, f.attribute) for f in check_stack("staging-infra", stack, REF).findings]
    assert ("REF-SCHEMA", f"azurerm_container_registry.{name}", "zone_redundant") in findings
