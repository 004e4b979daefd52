"""Fixtures shared by the data-service construct tests.

Each environment's DataPlatform is synthesized in a stack of its own, with the environment's config,
provider and Aspects, and private DNS zones standing in for the network construct's (the real
subnet and zones come from constructs/network.py once the stack wires them). `app.synth()` runs the
construct validations and fails on Aspect errors, as main.py does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cdktf
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone

from config.schema import EnvironmentConfig
from constructs.data_platform import DataPlatform, DataPlatformProps
from constructs.naming import Naming
from tests.conftest import StackJson, resources_of
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK, synth_per_environment

PRIVATE_DNS_ZONES = {
    "key_vault": "privatelink.vaultcore.azure.net",
    "blob": "privatelink.blob.core.windows.net",
    "postgres": "privatelink.postgres.database.azure.com",
    "eventhub": "privatelink.servicebus.windows.net",
}
ENDPOINT_SUBNET_ID = (
    "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/spoke/subnets/private-endpoints"
)


def synth_data_stacks(outdir: Path) -> dict[str, StackJson]:
    def build(stack: cdktf.TerraformStack, config: EnvironmentConfig, naming: Naming) -> None:
        zones = {
            key: PrivateDnsZone(stack, f"zone-{key}", name=zone, resource_group_name="net").id
            for key, zone in PRIVATE_DNS_ZONES.items()
        }
        DataPlatform(
            stack,
            "data",
            props=DataPlatformProps(
                config=config.data,
                naming=naming,
                tenant_id=config.tenant_id,
                location=config.location,
                paired_location=config.paired_location,
                resource_group_name=naming.name("data", "rg"),
                security_resource_group_name=naming.name("security", "rg"),
                paired_resource_group_name=naming.name("data-dr", "rg"),
                private_endpoint_subnet_id=ENDPOINT_SUBNET_ID,
                private_dns_zone_ids=zones,
                diagnostics=DIAGNOSTICS_SINK,
            ),
        )

    return synth_per_environment(outdir, build)


def reference(stack: StackJson, resource_type: str, address: str, attribute: str = "id") -> str:
    """The `${type.name.attribute}` string a resource's argument holds when it points at another resource."""
    assert address in resources_of(stack, resource_type), f"no {resource_type}.{address}"
    return f"${{{resource_type}.{address}.{attribute}}}"


def addresses_with_path(stack: StackJson, resource_type: str, path_part: str) -> dict[str, dict[str, Any]]:
    """Resources of one type whose construct path contains `path_part` (e.g. '/geo-key-vault/')."""
    return {
        address: body
        for address, body in resources_of(stack, resource_type).items()
        if path_part in body["//"]["metadata"]["path"]
    }


def endpoints_to(stack: StackJson, resource_type: str, address: str) -> list[dict[str, Any]]:
    """The private endpoints whose connection targets the given resource."""
    target = reference(stack, resource_type, address)
    return [
        endpoint
        for endpoint in resources_of(stack, "azurerm_private_endpoint").values()
        if endpoint["private_service_connection"]["private_connection_resource_id"] == target
    ]
