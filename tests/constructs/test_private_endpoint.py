"""PrivateEndpoint: automatic connection to one sub-resource, DNS zone group, names derived from the endpoint."""

from __future__ import annotations

import json
from dataclasses import replace

import cdktf
import pytest

from constructs.private_endpoint import PrivateEndpoint, PrivateEndpointProps

PROPS = PrivateEndpointProps(
    name="stg-vault-pe-001",
    location="eastus",
    resource_group_name="stg-data-rg-001",
    subnet_id="/subscriptions/s/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/private-endpoints",
    resource_id="/subscriptions/s/resourceGroups/d/providers/Microsoft.KeyVault/vaults/stg-app-kv-erp01",
    subresource="vault",
    private_dns_zone_id="/subscriptions/s/resourceGroups/n/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net",
)


def synth_endpoint(props: PrivateEndpointProps) -> dict:
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "test")
    PrivateEndpoint(stack, "pe", props=props)
    return json.loads(cdktf.Testing.synth(stack))["resource"]["azurerm_private_endpoint"]


def test_endpoint_connects_automatically_and_registers_in_the_dns_zone() -> None:
    (endpoint,) = synth_endpoint(PROPS).values()
    assert endpoint["name"] == PROPS.name
    assert endpoint["subnet_id"] == PROPS.subnet_id
    assert endpoint["location"] == "eastus" and endpoint["resource_group_name"] == PROPS.resource_group_name
    assert endpoint["private_service_connection"] == {
        "name": "stg-vault-pe-001-connection",
        "private_connection_resource_id": PROPS.resource_id,
        "subresource_names": ["vault"],
        "is_manual_connection": False,
    }
    assert endpoint["private_dns_zone_group"] == {
        "name": "default",
        "private_dns_zone_ids": [PROPS.private_dns_zone_id],
    }


def test_empty_subresource_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"stg-vault-pe-001.*subresource"):
        synth_endpoint(replace(PROPS, subresource=""))
