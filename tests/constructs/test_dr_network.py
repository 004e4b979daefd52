"""The disaster-recovery landing zone in the paired region (synthesized app, both environments): a network
that stands before the primary region fails, holding the endpoints of the paired-region resources."""

from __future__ import annotations

import json
import re

from config.loader import load_environment
from constructs.network import private_dns_zones
from tests.conftest import StackJson, resources_of

PAIRED_ENDPOINTS = ("-events-dr-pe-", "-datageo-kv-pe-")


def address_of(stack: StackJson, resource_type: str, path_suffix: str) -> str:
    (address,) = [
        a
        for a, body in resources_of(stack, resource_type).items()
        if body["//"]["metadata"]["path"].endswith(path_suffix)
    ]
    return address


def dr_problems(infra: StackJson, paired_location: str) -> list[str]:
    """Why the DR runbook could not run with the primary region down (empty: the landing zone stands)."""
    vnets = [v for v in resources_of(infra, "azurerm_virtual_network").values() if v["location"] == paired_location]
    if len(vnets) != 1:
        return [f"expected one VNet in {paired_location}, found {len(vnets)}"]
    dr_subnets = {
        f"${{azurerm_subnet.{address}.id}}": body
        for address, body in resources_of(infra, "azurerm_subnet").items()
        if "/dr-landing-zone/" in body["//"]["metadata"]["path"]
    }
    problems = []
    for endpoint in resources_of(infra, "azurerm_private_endpoint").values():
        if any(marker in endpoint["name"] for marker in PAIRED_ENDPOINTS) and (
            endpoint["subnet_id"] not in dr_subnets or endpoint["location"] != paired_location
        ):
            problems.append(f"{endpoint['name']} is not in the paired region's endpoint subnet")
    return problems


def test_paired_region_endpoints_sit_in_the_dr_landing_zone(stacks: dict[str, StackJson], environment: str) -> None:
    config = load_environment(environment)
    infra = stacks[f"{environment}-infra"]
    assert dr_problems(infra, config.paired_location) == []
    endpoints = [
        e
        for e in resources_of(infra, "azurerm_private_endpoint").values()
        if any(marker in e["name"] for marker in PAIRED_ENDPOINTS)
    ]
    assert len(endpoints) == 2
    pe_subnet = address_of(infra, "azurerm_subnet", "/dr-landing-zone/private_endpoints-subnet")
    assert {e["subnet_id"] for e in endpoints} == {f"${{azurerm_subnet.{pe_subnet}.id}}"}
    # Failing example: the former placement in the primary region's spoke.
    spoke_subnet = address_of(infra, "azurerm_subnet", "/network/spoke-private_endpoints-subnet")
    broken = json.loads(json.dumps(infra))
    for endpoint in resources_of(broken, "azurerm_private_endpoint").values():
        if any(marker in endpoint["name"] for marker in PAIRED_ENDPOINTS):
            endpoint.update(subnet_id=f"${{azurerm_subnet.{spoke_subnet}.id}}", location=config.location)
    assert len(dr_problems(broken, config.paired_location)) == 2
    assert dr_problems({"resource": {}}, config.paired_location) != []  # no landing zone at all


def test_the_dr_network_follows_config_with_reserved_subnets(stacks: dict[str, StackJson], environment: str) -> None:
    config = load_environment(environment)
    infra = stacks[f"{environment}-infra"]
    plan = config.network.dr
    (vnet,) = [
        v for v in resources_of(infra, "azurerm_virtual_network").values() if v["location"] == config.paired_location
    ]
    assert vnet["address_space"] == [plan.address_space] and vnet["name"] == f"{config.short_name}-dr-vnet-001"
    subnets = {
        body["//"]["metadata"]["path"].rsplit("/", 1)[1].removesuffix("-subnet"): body
        for body in resources_of(infra, "azurerm_subnet").values()
        if "/dr-landing-zone/" in body["//"]["metadata"]["path"]
    }
    assert {key: s["address_prefixes"] for key, s in subnets.items()} == {
        key: [subnet.address_prefix] for key, subnet in plan.subnets().items()
    }
    (delegation,) = subnets["postgres"]["delegation"]
    assert delegation["service_delegation"]["name"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert all("delegation" not in s for key, s in subnets.items() if key != "postgres")
    assert subnets["private_endpoints"]["private_endpoint_network_policies"] == "Disabled"
    assert all(s["default_outbound_access_enabled"] is False for s in subnets.values())
    # Every DR subnet has an NSG that ends in DenyAllInbound.
    associations = [
        a
        for a in resources_of(infra, "azurerm_subnet_network_security_group_association").values()
        if "/dr-landing-zone/" in a["//"]["metadata"]["path"]
    ]
    assert len(associations) == len(subnets)
    denies = [
        r
        for r in resources_of(infra, "azurerm_network_security_rule").values()
        if "/dr-landing-zone/" in r["//"]["metadata"]["path"] and r["name"] == "DenyAllInbound"
    ]
    assert len(denies) == len(subnets) and all(r["priority"] == 4096 and r["access"] == "Deny" for r in denies)


def test_the_dr_network_resolves_privatelink_and_is_peered_with_the_hub(
    stacks: dict[str, StackJson], environment: str
) -> None:
    config = load_environment(environment)
    infra = stacks[f"{environment}-infra"]
    dr_vnet = f"${{azurerm_virtual_network.{address_of(infra, 'azurerm_virtual_network', '/dr-landing-zone/vnet')}.id}}"
    hub_vnet = f"${{azurerm_virtual_network.{address_of(infra, 'azurerm_virtual_network', '/network/hub-vnet')}.id}}"
    links = [
        link
        for link in resources_of(infra, "azurerm_private_dns_zone_virtual_network_link").values()
        if link["virtual_network_id"] == dr_vnet
    ]
    zone_names = {address: zone["name"] for address, zone in resources_of(infra, "azurerm_private_dns_zone").items()}
    linked = {
        zone_names[re.search(r"azurerm_private_dns_zone\.([\w-]+)\.id", link["private_dns_zone_name"])[1]]
        for link in links
    }
    zones = private_dns_zones(config.location)
    assert linked == set(zones.values()) - {zones["aks"]}  # the AKS zone is regional
    assert all(link["registration_enabled"] is False for link in links)
    peerings = {
        p["name"]: p
        for p in resources_of(infra, "azurerm_virtual_network_peering").values()
        if "/dr-landing-zone/" in p["//"]["metadata"]["path"]
    }
    assert peerings["dr-to-hub-peering"]["remote_virtual_network_id"] == hub_vnet
    assert peerings["hub-to-dr-peering"]["remote_virtual_network_id"] == dr_vnet
    assert "azurerm_virtual_network." in peerings["hub-to-dr-peering"]["virtual_network_name"]  # waits for the hub
    assert all(p["allow_virtual_network_access"] and p["allow_forwarded_traffic"] for p in peerings.values())
