"""The container registry of each environment: Premium, private, Entra ID-only, zone-redundant and
replicated from config, named by Azure's registry rule."""

from __future__ import annotations

import pytest
from cdktf import App, Aspects, TerraformStack
from cdktf_cdktf_provider_azurerm.container_registry import ContainerRegistry
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

from config.schema import EnvironmentConfig
from constructs.aspects.naming_rules import NAME_RULES, AzureNamingRules
from tests.conftest import StackJson, only_resource, resources_of
from tests.constructs.services_stacks import SUBNET_IDS, ref

REGISTRY = "azurerm_container_registry"


def test_registry_is_premium_private_and_entra_id_only(services: StackJson, config: EnvironmentConfig) -> None:
    registry = only_resource(services, REGISTRY)
    assert registry["sku"] == "Premium"
    assert registry["admin_enabled"] is False
    assert registry["anonymous_pull_enabled"] is False
    assert registry["public_network_access_enabled"] is False
    assert registry["export_policy_enabled"] is False
    assert registry["data_endpoint_enabled"] is True
    assert registry["network_rule_bypass_option"] == "AzureServices"
    assert registry["retention_policy_in_days"] == config.registry.untagged_manifest_retention_days


def test_no_content_trust_or_quarantine(services: StackJson) -> None:
    """Deliberately off (checkov CKV_AZURE_164/166 skipped): Azure refuses Docker Content Trust on new
    registries since 31 May 2026, and quarantine blocks every pull until a scanner releases the image."""
    registry = only_resource(services, REGISTRY)
    assert "trust_policy_enabled" not in registry and "quarantine_policy_enabled" not in registry


def test_zone_redundancy_and_geo_replica_follow_config(services: StackJson, config: EnvironmentConfig) -> None:
    registry = only_resource(services, REGISTRY)
    assert registry["zone_redundancy_enabled"] is config.registry.zone_redundancy_enabled
    expected = (
        [
            {
                "location": config.paired_location,
                "zone_redundancy_enabled": config.registry.replica_zone_redundancy_enabled,
                "regional_endpoint_enabled": True,
            }
        ]
        if config.registry.replicate_to_paired_region
        else None
    )
    assert registry.get("georeplications") == expected
    if config.name == "production":
        assert registry["zone_redundancy_enabled"] is True and expected
    # Issue #15: the replica lives in westus, which has no availability zones.
    for replica in registry.get("georeplications") or []:
        assert replica["location"] != "westus" or replica["zone_redundancy_enabled"] is False


def test_registry_is_reached_through_its_private_endpoint(services: StackJson) -> None:
    target = ref(services, REGISTRY, "/registry/registry")
    (endpoint,) = [
        endpoint
        for endpoint in resources_of(services, "azurerm_private_endpoint").values()
        if endpoint["private_service_connection"]["private_connection_resource_id"] == target
    ]
    assert endpoint["subnet_id"] == SUBNET_IDS["private_endpoints"]
    assert endpoint["private_service_connection"]["subresource_names"] == ["registry"]
    assert endpoint["private_dns_zone_group"]["private_dns_zone_ids"] == [
        ref(services, "azurerm_private_dns_zone", "/zone-acr")
    ]


def test_registry_name_is_compact_and_globally_unique(services: StackJson, config: EnvironmentConfig) -> None:
    name = only_resource(services, REGISTRY)["name"]
    assert name == f"{config.short_name}workloadsacr{config.unique_suffix}"
    assert NAME_RULES[REGISTRY].violation(name) is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("stg-workloads-acr", "5-50 letters and digits"), ("acr1", "name 'acr1'"), ("a" * 51, "5-50 letters and digits")],
)
def test_bad_registry_name_fails_synth(tmp_path, name: str, fragment: str) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "naming")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    ContainerRegistry(stack, "acr", name=name, resource_group_name="rg", location="eastus", sku="Premium")
    Aspects.of(stack).add(AzureNamingRules())
    with pytest.raises(Exception) as error:
        app.synth()
    assert fragment in str(error.value) and "naming/acr" in str(error.value)
