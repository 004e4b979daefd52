"""The hub-spoke network of each environment, synthesized on its own from the environment's config."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import cdktf
import pytest

from config.loader import ENVIRONMENTS, load_environment
from config.schema import EnvironmentConfig
from constructs.naming import Naming
from constructs.network import Network, NetworkProps
from constructs.platform_groups import platform_groups
from tests.conftest import StackJson, only_resource, resources_of
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK, synth_per_environment

STAGING_PREFIXES = {
    "AzureFirewallSubnet": "10.241.1.0/26",
    "GatewaySubnet": "10.241.2.0/27",
    "AzureBastionSubnet": "10.241.3.0/26",
    "SharedServicesSubnet": "10.241.4.0/24",
    "aks-system-subnet": "10.242.1.0/24",
    "aks-user-subnet": "10.242.2.0/24",
    "private-endpoints-subnet": "10.242.3.0/24",
    "app-gateway-subnet": "10.242.4.0/24",
    "aks-api-server-subnet": "10.242.5.0/28",
}
# (IDPS, threat intelligence) per environment.
FIREWALL_MODES = ("Deny", "Deny")  # every environment blocks: staging is production-like
EXPOSED = (
    "subnet_ids",
    "private_dns_zone_ids",
    "firewall_private_ip",
    "firewall_id",
    "hub_vnet_id",
    "spoke_vnet_id",
    "route_table_id",
)
WORKLOAD_SUBNETS = {
    "AzureBastionSubnet",
    "SharedServicesSubnet",
    "aks-system-subnet",
    "aks-user-subnet",
    "private-endpoints-subnet",
    "app-gateway-subnet",
    "aks-api-server-subnet",
}


@pytest.fixture(scope="session")
def network_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackJson]:
    def build(stack: cdktf.TerraformStack, config: EnvironmentConfig, naming: Naming) -> None:
        network = Network(
            stack,
            "network",
            props=NetworkProps(
                config=config.network,
                naming=naming,
                location=config.location,
                hub_resource_group_name=naming.name("networking", "rg"),
                spoke_resource_group_name=naming.name("workloads", "rg"),
                diagnostics=DIAGNOSTICS_SINK,
            ),
        )
        for attribute in EXPOSED:  # outputs show the attributes other constructs consume as references
            cdktf.TerraformOutput(stack, f"exposed-{attribute}", value=getattr(network, attribute))

    return synth_per_environment(tmp_path_factory.mktemp("network"), build)


def by_name(stack: StackJson, resource_type: str) -> dict[str, dict[str, Any]]:
    return {resource["name"]: resource for resource in resources_of(stack, resource_type).values()}


def reference_to(stack: StackJson, resource_type: str, name: str, attribute: str = "id") -> str:
    [address] = [key for key, value in resources_of(stack, resource_type).items() if value["name"] == name]
    return f"${{{resource_type}.{address}.{attribute}}}"


def test_staging_carries_the_story_address_plan(network_stacks: dict[str, StackJson]) -> None:
    stack = network_stacks["staging"]
    vnets = by_name(stack, "azurerm_virtual_network")
    assert vnets["stg-hub-vnet-001"]["address_space"] == ["10.241.0.0/16"]
    assert vnets["stg-aks-vnet-001"]["address_space"] == ["10.242.0.0/16"]
    assert vnets["stg-hub-vnet-001"]["resource_group_name"] == "stg-networking-rg-001"
    assert vnets["stg-aks-vnet-001"]["resource_group_name"] == "stg-workloads-rg-001"
    subnets = {name: s["address_prefixes"] for name, s in by_name(stack, "azurerm_subnet").items()}
    assert subnets == {name: [prefix] for name, prefix in STAGING_PREFIXES.items()}


def test_production_has_its_own_non_overlapping_plan(network_stacks: dict[str, StackJson]) -> None:
    production = network_stacks["production"]
    vnets = by_name(production, "azurerm_virtual_network")
    assert vnets["prd-hub-vnet-001"]["address_space"] == ["10.251.0.0/16"]
    assert vnets["prd-aks-vnet-001"]["address_space"] == ["10.252.0.0/16"]
    staging_spaces = [
        ipaddress.ip_network(space)
        for vnet in by_name(network_stacks["staging"], "azurerm_virtual_network").values()
        for space in vnet["address_space"]
    ]
    for subnet in by_name(production, "azurerm_subnet").values():
        prefix = ipaddress.ip_network(subnet["address_prefixes"][0])
        assert not any(prefix.overlaps(space) for space in staging_spaces), subnet["name"]
    assert set(by_name(production, "azurerm_subnet")) == set(STAGING_PREFIXES)


def test_private_endpoint_network_policies_disabled_only_where_asked(network_stacks: dict[str, StackJson]) -> None:
    for stack in network_stacks.values():
        subnets = by_name(stack, "azurerm_subnet")
        assert subnets["private-endpoints-subnet"]["private_endpoint_network_policies"] == "Disabled"
        for name in WORKLOAD_SUBNETS - {"AzureBastionSubnet"}:
            assert subnets[name]["default_outbound_access_enabled"] is False, name


def test_peering_both_ways_with_the_story_flags(network_stacks: dict[str, StackJson]) -> None:
    for environment, stack in network_stacks.items():
        peerings = by_name(stack, "azurerm_virtual_network_peering")
        assert set(peerings) == {"hub-to-aks-peering", "aks-to-hub-peering"}
        prefix = load_environment(environment).short_name
        hub_to_spoke, spoke_to_hub = peerings["hub-to-aks-peering"], peerings["aks-to-hub-peering"]
        assert hub_to_spoke["remote_virtual_network_id"] == reference_to(
            stack, "azurerm_virtual_network", f"{prefix}-aks-vnet-001"
        )
        assert spoke_to_hub["remote_virtual_network_id"] == reference_to(
            stack, "azurerm_virtual_network", f"{prefix}-hub-vnet-001"
        )
        assert (
            hub_to_spoke["allow_virtual_network_access"],
            hub_to_spoke["allow_forwarded_traffic"],
            hub_to_spoke["allow_gateway_transit"],
            hub_to_spoke["use_remote_gateways"],
        ) == (True, True, True, False)
        assert (
            spoke_to_hub["allow_forwarded_traffic"],
            spoke_to_hub["use_remote_gateways"],
            spoke_to_hub["allow_gateway_transit"],
        ) == (True, False, False)


def test_firewall_premium_zone_redundant_with_premium_policy(network_stacks: dict[str, StackJson]) -> None:
    for environment, stack in network_stacks.items():
        config = load_environment(environment).network.firewall
        firewall = only_resource(stack, "azurerm_firewall")
        policy = only_resource(stack, "azurerm_firewall_policy")
        assert (firewall["sku_name"], firewall["sku_tier"]) == ("AZFW_VNet", "Premium")
        assert firewall["zones"] == list(config.zones) == ["1", "2", "3"]
        assert firewall["firewall_policy_id"].startswith("${azurerm_firewall_policy.")
        assert policy["sku"] == "Premium"
        assert (policy["intrusion_detection"]["mode"], policy["threat_intelligence_mode"]) == FIREWALL_MODES
        assert policy["dns"]["proxy_enabled"] is True
        [ip_configuration] = firewall["ip_configuration"]
        assert ip_configuration["subnet_id"] == reference_to(stack, "azurerm_subnet", "AzureFirewallSubnet")
        public_ips = by_name(stack, "azurerm_public_ip")
        for public_ip in public_ips.values():
            assert (public_ip["sku"], public_ip["allocation_method"]) == ("Standard", "Static")
        firewall_ip = f"{load_environment(environment).short_name}-firewall-pip-001"
        assert ip_configuration["public_ip_address_id"] == reference_to(stack, "azurerm_public_ip", firewall_ip)
        assert public_ips[firewall_ip]["zones"] == ["1", "2", "3"]


def test_firewall_rules_carry_the_story_and_aks_egress(network_stacks: dict[str, StackJson]) -> None:
    for environment, stack in network_stacks.items():
        config = load_environment(environment)
        group = only_resource(stack, "azurerm_firewall_policy_rule_collection_group")
        [network_collection] = group["network_rule_collection"]
        [application_collection] = group["application_rule_collection"]
        spoke = [config.network.spoke.address_space]
        network_rules = {rule["name"]: rule for rule in network_collection["rule"]}
        application_rules = {rule["name"]: rule for rule in application_collection["rule"]}
        for rule in (*network_rules.values(), *application_rules.values()):
            assert rule["source_addresses"] == spoke, rule["name"]
        assert sorted(network_rules) == ["AKSTimeSync", "AKSToUbuntuRepos"]
        assert set(network_rules["AKSToUbuntuRepos"]["destination_fqdns"]) >= {
            "security.ubuntu.com",
            "azure.archive.ubuntu.com",
        }
        assert network_rules["AKSToUbuntuRepos"]["destination_ports"] == ["80", "443"]
        assert network_rules["AKSTimeSync"]["destination_fqdns"] == ["ntp.ubuntu.com"]
        registries = application_rules["ContainerRegistries"]
        assert {
            "*.azurecr.io",
            "mcr.microsoft.com",
            "*.docker.io",
            config.network.firewall.company_registry_fqdn,
        } <= set(registries["destination_fqdns"])
        assert registries["protocols"] == [{"type": "Https", "port": 443}]
        assert application_rules["AKSRequiredEndpoints"]["destination_fqdn_tags"] == ["AzureKubernetesService"]
        fqdns = {rule: set(body.get("destination_fqdns") or ()) for rule, body in application_rules.items()}
        assert fqdns["AzureMonitor"] >= {
            "*.ods.opinsights.azure.com",
            "*.oms.opinsights.azure.com",
            "*.monitoring.azure.com",
            "*.ingest.monitor.azure.com",
            "*.handler.control.monitor.azure.com",
            "global.handler.control.monitor.azure.com",
        }
        assert fqdns["AzurePolicy"] == {"data.policy.core.windows.net", "store.policy.core.windows.net"}
        assert fqdns["MicrosoftDefender"] == {"*.cloud.defender.microsoft.com"}
        assert fqdns["EntraId"] == {"login.microsoftonline.com"}
        assert {f"{config.location}.dp.kubernetesconfiguration.azure.com", "arcmktplaceprod.azurecr.io"} <= fqdns[
            "ClusterExtensions"
        ]
        for rule in application_rules.values():
            assert rule["protocols"][-1] == {"type": "Https", "port": 443}, rule["name"]
        assert broad_network_rules(stack, spoke) == []


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def broad_network_rules(stack: StackJson, cluster_sources: list[str]) -> list[str]:
    """Network rules that let the cluster reach a whole service tag (AzureCloud, Storage, Internet, ...) or any
    address on a web port: they are evaluated before the FQDN application rules, so they open every endpoint
    behind the tag (anyone's storage account) however narrow the application rules are."""
    found = []
    for group in resources_of(stack, "azurerm_firewall_policy_rule_collection_group").values():
        for collection in group.get("network_rule_collection", []):
            if collection["action"] != "Allow":
                continue
            for rule in collection["rule"]:
                sources = set(rule.get("source_addresses", []))
                if not sources & {*cluster_sources, "*"}:
                    continue
                ports = set(rule["destination_ports"])
                if not ports & {"443", "80", "*"}:
                    continue
                broad = [a for a in rule.get("destination_addresses") or () if a == "*" or not _is_address(a)]
                if broad:
                    found.append(f"{rule['name']}: {', '.join(broad)} on {', '.join(sorted(ports))}")
    return found


def test_broad_network_rule_check_rejects_story_azurecloud_rule(network_stacks: dict[str, StackJson]) -> None:
    """Failing example: Story 3.1's AKSToAzureServices rule (AzureCloud TCP 443/53) as it was."""
    for environment, stack in network_stacks.items():
        spoke = [load_environment(environment).network.spoke.address_space]
        broken = copy.deepcopy(stack)
        group = only_resource(broken, "azurerm_firewall_policy_rule_collection_group")
        group["network_rule_collection"][0]["rule"].append(
            {
                "name": "AKSToAzureServices",
                "protocols": ["TCP"],
                "destination_ports": ["443", "53"],
                "source_addresses": spoke,
                "destination_addresses": ["AzureCloud"],
            }
        )
        assert broad_network_rules(broken, spoke) == ["AKSToAzureServices: AzureCloud on 443, 53"]
        narrow = copy.deepcopy(stack)
        only_resource(narrow, "azurerm_firewall_policy_rule_collection_group")["network_rule_collection"][0][
            "rule"
        ].append(
            {
                "name": "Tunnel",
                "protocols": ["UDP"],
                "destination_ports": ["1194"],
                "source_addresses": spoke,
                "destination_addresses": ["AzureCloud.eastus"],
            }
        )
        assert broad_network_rules(narrow, spoke) == []


def test_aks_subnets_send_all_egress_to_the_firewall(network_stacks: dict[str, StackJson]) -> None:
    for stack in network_stacks.values():
        route_table = only_resource(stack, "azurerm_route_table")
        assert route_table["bgp_route_propagation_enabled"] is False
        [route] = route_table["route"]
        firewall_address = next(iter(resources_of(stack, "azurerm_firewall")))
        assert route == {
            "name": "default-via-firewall",
            "address_prefix": "0.0.0.0/0",
            "next_hop_type": "VirtualAppliance",
            "next_hop_in_ip_address": (
                f"${{azurerm_firewall.{firewall_address}.ip_configuration[0].private_ip_address}}"
            ),
        }
        associated = {a["subnet_id"] for a in resources_of(stack, "azurerm_subnet_route_table_association").values()}
        assert associated == {
            reference_to(stack, "azurerm_subnet", name) for name in ("aks-system-subnet", "aks-user-subnet")
        }
        spoke = next(v for v in by_name(stack, "azurerm_virtual_network").values() if "aks" in v["name"])
        assert spoke["dns_servers"] == [route["next_hop_in_ip_address"]]


def test_every_workload_subnet_has_a_deny_by_default_nsg(network_stacks: dict[str, StackJson]) -> None:
    for stack in network_stacks.values():
        groups = resources_of(stack, "azurerm_network_security_group")
        associations = {
            a["subnet_id"]: a["network_security_group_id"]
            for a in resources_of(stack, "azurerm_subnet_network_security_group_association").values()
        }
        assert set(associations) == {reference_to(stack, "azurerm_subnet", name) for name in WORKLOAD_SUBNETS}
        assert len(groups) == len(WORKLOAD_SUBNETS)
        rules = list(resources_of(stack, "azurerm_network_security_rule").values())
        for address, group in groups.items():
            own = [
                r
                for r in rules
                if r["network_security_group_name"] == f"${{azurerm_network_security_group.{address}.name}}"
            ]
            deny = [r for r in own if r["name"] == "DenyAllInbound"]
            assert len(deny) == 1 and deny[0]["priority"] == 4096 and deny[0]["access"] == "Deny", group["name"]
            assert deny[0]["source_address_prefix"] == "*" and deny[0]["destination_port_range"] == "*"
            assert all(r["access"] == "Allow" for r in own if r is not deny[0]), group["name"]
            priorities = [(r["direction"], r["priority"]) for r in own]
            assert len(priorities) == len(set(priorities)), group["name"]


def test_app_gateway_subnet_allows_gateway_manager(network_stacks: dict[str, StackJson]) -> None:
    for stack in network_stacks.values():
        group = next(
            a for a, g in resources_of(stack, "azurerm_network_security_group").items() if "app-gateway" in g["name"]
        )
        rules = {
            r["name"]: r
            for r in resources_of(stack, "azurerm_network_security_rule").values()
            if r["network_security_group_name"] == f"${{azurerm_network_security_group.{group}.name}}"
        }
        manager = rules["AllowGatewayManagerInbound"]
        assert (
            manager["source_address_prefix"],
            manager["destination_port_range"],
            manager["protocol"],
            manager["direction"],
        ) == ("GatewayManager", "65200-65535", "Tcp", "Inbound")
        assert rules["AllowAzureLoadBalancerInbound"]["source_address_prefix"] == "AzureLoadBalancer"


def test_bastion_standard_in_its_subnet(network_stacks: dict[str, StackJson]) -> None:
    for stack in network_stacks.values():
        bastion = only_resource(stack, "azurerm_bastion_host")
        assert bastion["sku"] == "Standard"
        assert bastion["ip_configuration"]["subnet_id"] == reference_to(stack, "azurerm_subnet", "AzureBastionSubnet")


def test_private_dns_zones_linked_to_hub_and_spoke(network_stacks: dict[str, StackJson]) -> None:
    for environment, stack in network_stacks.items():
        location = load_environment(environment).location
        zones = resources_of(stack, "azurerm_private_dns_zone")
        assert {z["name"] for z in zones.values()} == {
            f"privatelink.{location}.azmk8s.io",
            "privatelink.vaultcore.azure.net",
            "privatelink.blob.core.windows.net",
            "privatelink.servicebus.windows.net",
            "privatelink.postgres.database.azure.com",
            "privatelink.azurecr.io",
        }
        links = resources_of(stack, "azurerm_private_dns_zone_virtual_network_link").values()
        vnets = {f"${{azurerm_virtual_network.{a}.id}}" for a in resources_of(stack, "azurerm_virtual_network")}
        for address in zones:
            linked = {
                link["virtual_network_id"]
                for link in links
                if link["private_dns_zone_name"] == f"${{azurerm_private_dns_zone.{address}.name}}"
            }
            assert linked == vnets, address
        assert all(link["registration_enabled"] is False for link in links)


def test_aks_subnets_admit_the_spoke_and_overlay_pods(network_stacks: dict[str, StackJson]) -> None:
    for environment, stack in network_stacks.items():
        network = load_environment(environment).network
        groups = [a for a, g in resources_of(stack, "azurerm_network_security_group").items() if "-aks-" in g["name"]]
        assert len(groups) == 2
        for group in groups:
            [cluster] = [
                r
                for r in resources_of(stack, "azurerm_network_security_rule").values()
                if r["network_security_group_name"] == f"${{azurerm_network_security_group.{group}.name}}"
                and r["name"] == "AllowClusterInbound"
            ]
            assert cluster["source_address_prefixes"] == [network.spoke.address_space, network.aks_pod_cidr]


def test_infra_stacks_place_the_hub_in_the_networking_group(stacks: dict[str, StackJson]) -> None:
    for environment in ENVIRONMENTS:
        stack = stacks[f"{environment}-infra"]
        config = load_environment(environment)
        short_name, groups = config.short_name, platform_groups(config)  # bootstrap's groups, used by name
        vnets = by_name(stack, "azurerm_virtual_network")
        for vnet, group in ((f"{short_name}-hub-vnet-001", "networking"), (f"{short_name}-aks-vnet-001", "workloads")):
            assert groups[group].name == f"{short_name}-{group}-rg-001"
            assert vnets[vnet]["resource_group_name"] == groups[group].name, vnet


def test_exposed_attributes_follow_the_contract(network_stacks: dict[str, StackJson]) -> None:
    for stack in network_stacks.values():
        exposed = {attribute: stack["output"][f"exposed-{attribute}"]["value"] for attribute in EXPOSED}
        assert set(exposed["subnet_ids"]) == {
            "firewall",
            "gateway",
            "bastion",
            "shared_services",
            "aks_system",
            "aks_user",
            "private_endpoints",
            "app_gateway",
            "api_server",
        }
        assert set(exposed["private_dns_zone_ids"]) == {"aks", "key_vault", "blob", "eventhub", "postgres", "acr"}
        # AKS subnets are handed out through their route-table association, so the cluster waits for the route.
        for key in ("aks_system", "aks_user"):
            assert exposed["subnet_ids"][key].startswith("${azurerm_subnet_route_table_association."), key
        assert exposed["subnet_ids"]["private_endpoints"].startswith("${azurerm_subnet.")
        assert exposed["firewall_private_ip"].endswith(".ip_configuration[0].private_ip_address}")
        for key in ("firewall_id", "hub_vnet_id", "spoke_vnet_id", "route_table_id"):
            assert exposed[key].startswith("${azurerm_") and exposed[key].endswith(".id}"), key


def test_api_server_subnet_is_delegated_to_aks_without_forced_egress(network_stacks: dict[str, StackJson]) -> None:
    """API server VNet integration: the subnet is delegated to AKS and holds the API's internal load balancer;
    nodes (the spoke) and operators reach it on 443."""
    for environment, stack in network_stacks.items():
        network = load_environment(environment).network
        (subnet,) = [
            s for s in resources_of(stack, "azurerm_subnet").values() if s["name"] == network.spoke.api_server.name
        ]
        assert subnet["address_prefixes"] == [network.spoke.api_server.address_prefix]
        assert subnet["delegation"] == [
            {
                "name": "api_server",
                "service_delegation": {
                    "name": "Microsoft.ContainerService/managedClusters",
                    "actions": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
                },
            }
        ]
        routed = {a["subnet_id"] for a in resources_of(stack, "azurerm_subnet_route_table_association").values()}
        assert reference_to(stack, "azurerm_subnet", network.spoke.api_server.name) not in routed


def test_data_paths_ending_in_the_spoke_get_their_nsg_rules(network_stacks: dict[str, StackJson]) -> None:
    """constructs/data_paths.py is the one list: nodes -> API server on 443 and 4443 comes from it; the runners'
    rules need their subnet's prefix (peer_sources), which only the infra stack passes (tests/assurance checks)."""
    from constructs.data_paths import DATA_PATHS
    from constructs.network import SPOKE_TARGET_SUBNETS, data_path_rules

    for environment, stack in network_stacks.items():
        network = load_environment(environment).network
        rules = {r["name"]: r for r in resources_of(stack, "azurerm_network_security_rule").values()}
        nodes = rules["AllowNodesToAksApiInbound"]
        assert nodes["destination_port_ranges"] == ["443", "4443"]
        assert nodes["source_address_prefixes"] == [
            network.spoke.aks_system.address_prefix,
            network.spoke.aks_user.address_prefix,
        ]
        assert "AllowRunnersToAksApiInbound" not in rules  # no peer_sources given here
        derived = data_path_rules(network, {"runners": "10.0.0.0/26"})
        expected = {p.rule_name for p in DATA_PATHS if p.target in SPOKE_TARGET_SUBNETS}
        assert {rule.name for subnet_rules in derived.values() for rule in subnet_rules} == expected
        priorities = [rule.priority for rule in derived["api_server"]]
        assert len(set(priorities)) == len(priorities) and all(110 < p < 300 for p in priorities)
