"""The infrastructure stacks wire the data platform to the network construct: every private endpoint
sits in the private-endpoints subnet and registers in one of the network's private DNS zones."""

from __future__ import annotations

import json

from config.loader import ENVIRONMENTS, load_environment
from tests.conftest import StackJson, resources_of

DATA_RESOURCE_TYPES = (
    "azurerm_key_vault",
    "azurerm_storage_account",
    "azurerm_postgresql_flexible_server",
    "azurerm_eventhub_namespace",
    "azurerm_eventhub_namespace_disaster_recovery_config",
    "azurerm_disk_encryption_set",
)


def test_data_services_are_in_every_infrastructure_stack(stacks: dict[str, StackJson]) -> None:
    for environment in ENVIRONMENTS:
        stack = stacks[f"{environment}-infra"]
        for resource_type in DATA_RESOURCE_TYPES:
            assert resources_of(stack, resource_type), f"{environment}-infra lacks {resource_type}"


def test_every_private_endpoint_uses_the_network_subnet_and_a_network_dns_zone(stacks: dict[str, StackJson]) -> None:
    for environment in ENVIRONMENTS:
        stack = stacks[f"{environment}-infra"]
        subnets = {
            f"${{azurerm_subnet.{address}.id}}": subnet["name"]
            for address, subnet in resources_of(stack, "azurerm_subnet").items()
        }
        zones = {
            f"${{azurerm_private_dns_zone.{address}.id}}" for address in resources_of(stack, "azurerm_private_dns_zone")
        }
        endpoints = resources_of(stack, "azurerm_private_endpoint")
        assert endpoints
        for address, endpoint in endpoints.items():
            assert endpoint["subnet_id"] in subnets, f"{address}: subnet {endpoint['subnet_id']}"
            assert "endpoint" in subnets[endpoint["subnet_id"]], (
                f"{address} is in subnet {subnets[endpoint['subnet_id']]}"
            )
            assert set(endpoint["private_dns_zone_group"]["private_dns_zone_ids"]) <= zones, address
            # Endpoints of paired-region resources sit in the DR landing zone, in the paired region.
            config = load_environment(environment)
            in_dr = "/dr-landing-zone/" in json.dumps(
                [
                    s
                    for a, s in resources_of(stack, "azurerm_subnet").items()
                    if endpoint["subnet_id"] == f"${{azurerm_subnet.{a}.id}}"
                ]
            )
            assert endpoint["location"] == (config.paired_location if in_dr else config.location), address
