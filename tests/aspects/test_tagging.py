from __future__ import annotations

import json

from cdktf import Aspects, TerraformStack
from cdktf import Testing as CdktfTesting
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

from constructs.aspects.tagging import RequiredTags

REQUIRED = {"environment": "staging", "owner": "team@example.com"}


def synth(build) -> dict:
    app = CdktfTesting.app()
    stack = TerraformStack(app, "test")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    build(stack)
    Aspects.of(stack).add(RequiredTags(REQUIRED))
    return json.loads(CdktfTesting.synth(stack))


def test_untagged_resource_gets_the_required_tags() -> None:
    out = synth(lambda stack: ResourceGroup(stack, "rg", name="rg", location="eastus"))
    assert out["resource"]["azurerm_resource_group"]["rg"]["tags"] == REQUIRED


def test_own_tags_are_kept_and_required_keys_win() -> None:
    def build(stack):
        ResourceGroup(stack, "rg", name="rg", location="eastus", tags={"network-tier": "hub", "environment": "prod"})

    tags = synth(build)["resource"]["azurerm_resource_group"]["rg"]["tags"]
    assert tags == {**REQUIRED, "network-tier": "hub"}


def test_resources_without_tags_argument_are_left_alone() -> None:
    def build(stack):
        RoleAssignment(stack, "ra", scope="/subscriptions/x", principal_id="p", role_definition_name="Reader")

    assert "tags" not in synth(build)["resource"]["azurerm_role_assignment"]["ra"]
