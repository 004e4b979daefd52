from __future__ import annotations

import pytest
from cdktf import App, Aspects, TerraformStack
from cdktf_cdktf_provider_azurerm.key_vault import KeyVault
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount

from constructs.aspects.naming_rules import NAME_RULES, AzureNamingRules


def synth_with(build, tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "naming")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    build(stack)
    Aspects.of(stack).add(AzureNamingRules())
    app.synth()


def storage(name: str):
    return lambda stack: StorageAccount(
        stack,
        "sa",
        name=name,
        resource_group_name="rg",
        location="eastus",
        account_tier="Standard",
        account_replication_type="ZRS",
    )


def key_vault(name: str):
    return lambda stack: KeyVault(
        stack, "kv", name=name, resource_group_name="rg", location="eastus", sku_name="premium", tenant_id="t"
    )


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (storage("stg-state-erp01"), "name 'stg-state-erp01' breaks Azure's naming rule: 3-24 lowercase"),
        (storage("ab"), "name 'ab'"),
        (storage("a" * 25), "3-24 lowercase letters and digits"),
        (key_vault("1starts-with-digit"), "starting with a letter"),
        (key_vault("stg--kv-erp01"), "must not contain '--'"),
        (key_vault("stg-keyvault-name-too-long-x"), "3-24 letters"),
    ],
)
def test_invalid_names_fail_synth_naming_resource_value_and_rule(tmp_path, build, fragment) -> None:
    with pytest.raises(Exception) as error:
        synth_with(build, tmp_path)
    assert fragment in str(error.value)
    assert "naming/" in str(error.value)  # the construct path of the offending resource


def test_valid_and_unresolved_names_pass(tmp_path) -> None:
    def build(stack):
        group = ResourceGroup(stack, "rg", name="stg-data-rg-001", location="eastus")
        storage("stgdataerp01")(stack)
        KeyVault(
            stack,
            "kv",
            name="stg-kv-erp01",
            resource_group_name=group.name,
            location="eastus",
            sku_name="premium",
            tenant_id="t",
        )
        StorageAccount(
            stack,
            "token",
            name=group.name,
            resource_group_name="rg",
            location="eastus",
            account_tier="Standard",
            account_replication_type="ZRS",
        )

    synth_with(build, tmp_path)


@pytest.mark.parametrize("resource_type", sorted(NAME_RULES))
def test_every_rule_rejects_an_empty_name_and_a_space(resource_type: str) -> None:
    rule = NAME_RULES[resource_type]
    assert rule.violation("") is not None
    assert rule.violation("has space") is not None
