"""Runner egress (docs/zero-to-running.md "Runner network and egress")."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from tools.checks.deployability.model import StackJson, blocks, parse_ref, resources_of, runners, subnet_vnet

# Per environment: the runners subnet's default route goes to a firewall in the same VNet, whose policy allows every
# host of the allow list (constructs/egress_hosts.py) on HTTPS 443 from the runners subnet, allows nothing to
# everywhere, and nothing (NAT gateway, default outbound access, a route to Internet) lets traffic around it.
ANY_DESTINATION = frozenset({"*", "0.0.0.0/0", "Internet", "any"})
_FIREWALL_IP = re.compile(r"^\$\{azurerm_firewall\.([A-Za-z0-9_-]+)\.ip_configuration\[0\]\.private_ip_address\}$")


def _fqdn_covers(pattern: str, fqdn: str) -> bool:
    """Azure Firewall's match: an exact name, or `*.domain` for the domain's subnames (and the same wildcard)."""
    pattern, fqdn = pattern.lower(), fqdn.lower()
    if pattern == fqdn:
        return True
    return pattern.startswith("*.") and fqdn.endswith(pattern[1:])


def _source_covers(sources: Iterable[str], prefix: str) -> bool:
    for source in sources:
        if source == "*":
            return True
        try:
            if ipaddress.ip_network(prefix).subnet_of(ipaddress.ip_network(source)):  # type: ignore[arg-type]
                return True
        except ValueError:
            continue
    return False


def runner_subnet_keys(bootstrap: StackJson) -> dict[str, str]:
    """Environment (provider alias) -> the `azurerm_subnet` key hosting its runners' Container Apps environment."""
    found = {}
    environments = resources_of(bootstrap, "azurerm_container_app_environment")
    for job in resources_of(bootstrap, "azurerm_container_app_job").values():
        environment = environments.get(parse_ref(job["container_app_environment_id"]).name, {})  # type: ignore[union-attr]
        ref = parse_ref(environment.get("infrastructure_subnet_id"))
        while ref is not None and ref.type != "azurerm_subnet":  # through a route table / NSG association
            association = resources_of(bootstrap, ref.type).get(ref.name, {})
            ref = parse_ref(association.get("subnet_id"))
        if ref is not None and ref.name in resources_of(bootstrap, "azurerm_subnet"):
            found[job["provider"].removeprefix("azurerm.")] = ref.name
    return found


def _attached_to(bootstrap: StackJson, association_type: str, subnet_key: str) -> list[dict[str, Any]]:
    subnet_ref = f"${{azurerm_subnet.{subnet_key}.id}}"
    return [a for a in resources_of(bootstrap, association_type).values() if a.get("subnet_id") == subnet_ref]


def _routes(bootstrap: StackJson, table_ref: str) -> list[dict[str, Any]]:
    ref = parse_ref(table_ref)
    if ref is None:
        return []
    table = resources_of(bootstrap, "azurerm_route_table").get(ref.name, {})
    separate = [
        route
        for route in resources_of(bootstrap, "azurerm_route").values()
        if route.get("route_table_name") == f"${{azurerm_route_table.{ref.name}.name}}"
    ]
    return [*blocks(table.get("route")), *separate]


def _policy_rules(bootstrap: StackJson, policy_ref: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(application rules, network rules) of the policy's Allow collections."""
    application, network = [], []
    for group in resources_of(bootstrap, "azurerm_firewall_policy_rule_collection_group").values():
        if group.get("firewall_policy_id") != policy_ref:
            continue
        for collection in blocks(group.get("application_rule_collection")):
            if collection.get("action") == "Allow":
                application += blocks(collection.get("rule"))
        for collection in blocks(group.get("network_rule_collection")):
            if collection.get("action") == "Allow":
                network += blocks(collection.get("rule"))
    return application, network


def egress_findings(bootstrap: StackJson, required: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """Every broken link of each environment's runner egress; `required` is (host, why), by default the allow list."""
    if required is None:
        from constructs.egress_hosts import RUNNER_EGRESS

        required = [(host.fqdn, host.why) for host in RUNNER_EGRESS]
    required = list(required)
    subscriptions = {alias: runner.subscription_id for alias, runner in runners(bootstrap).items()}
    subnets = runner_subnet_keys(bootstrap)
    problems = [
        f"bootstrap: {environment} runner egress: the runners' Container Apps subnet is not found"
        for environment in sorted(set(subscriptions) - set(subnets))
    ]
    for environment, subnet_key in sorted(subnets.items()):
        subscription = subscriptions.get(environment, "?")
        problems += _environment_egress(bootstrap, environment, subnet_key, subscription, required)
    return problems


def _environment_egress(
    bootstrap: StackJson, environment: str, subnet_key: str, subscription: str, required: list[tuple[str, str]]
) -> list[str]:
    where = f"bootstrap: {environment} runner egress"
    subnet = resources_of(bootstrap, "azurerm_subnet")[subnet_key]
    problems, routes = _bypasses(bootstrap, where, subnet_key)
    default = [route for route in routes if route.get("address_prefix") == "0.0.0.0/0"]
    if not default:
        return [
            *problems,
            f"{where}: no default route (0.0.0.0/0) on the runners subnet {subnet['name']}: "
            "it leaves straight to the internet, not through a firewall",
        ]
    next_hop = _FIREWALL_IP.match(str(default[0].get("next_hop_in_ip_address")))
    if default[0].get("next_hop_type") != "VirtualAppliance" or next_hop is None:
        return [*problems, f"{where}: the default route does not go to an Azure Firewall's private IP"]
    firewall = resources_of(bootstrap, "azurerm_firewall").get(next_hop.group(1), {})
    firewall_vnets = {
        subnet_vnet(bootstrap, subscription, configuration.get("subnet_id"))
        for configuration in blocks(firewall.get("ip_configuration"))
    }
    runner_vnet = subnet_vnet(bootstrap, subscription, f"${{azurerm_subnet.{subnet_key}.id}}")
    if runner_vnet not in firewall_vnets:
        problems.append(f"{where}: firewall {firewall.get('name')} is not in the runner network {runner_vnet}")
    application, network = _policy_rules(bootstrap, str(firewall.get("firewall_policy_id")))
    problems += _allow_all_rules(where, application, network)
    prefixes = subnet.get("address_prefixes", [])
    source = str(prefixes[0]) if prefixes else ""
    return problems + _missing_hosts(where, str(firewall.get("name")), application, source, required)


def _bypasses(bootstrap: StackJson, where: str, subnet_key: str) -> tuple[list[str], list[dict[str, Any]]]:
    """What lets the runners subnet's traffic around a firewall (NAT gateway, default outbound access, a route to
    Internet), and the subnet's routes."""
    subnet = resources_of(bootstrap, "azurerm_subnet")[subnet_key]
    problems = []
    if _attached_to(bootstrap, "azurerm_subnet_nat_gateway_association", subnet_key):
        problems.append(f"{where}: a NAT gateway on the runners subnet {subnet['name']} bypasses the firewall")
    if subnet.get("default_outbound_access_enabled") is not False:
        problems.append(f"{where}: the runners subnet {subnet['name']} keeps Azure's default outbound access")
    tables = _attached_to(bootstrap, "azurerm_subnet_route_table_association", subnet_key)
    routes = [route for table in tables for route in _routes(bootstrap, table["route_table_id"])]
    problems += [
        f"{where}: route {route.get('name')} ({route.get('address_prefix')}) goes to the Internet around the firewall"
        for route in routes
        if route.get("next_hop_type") == "Internet"
    ]
    return problems, routes


def _allow_all_rules(where: str, application: list[dict[str, Any]], network: list[dict[str, Any]]) -> list[str]:
    problems = [
        f"{where}: application rule {rule.get('name')} allows every host ('*')"
        for rule in application
        if any(fqdn.strip() == "*" for fqdn in rule.get("destination_fqdns", []))
        or rule.get("destination_urls") == ["*"]
    ]
    for rule in network:
        destinations = {*rule.get("destination_addresses", []), *rule.get("destination_ip_groups", [])}
        if destinations & ANY_DESTINATION or "*" in rule.get("destination_ports", []):
            problems.append(
                f"{where}: network rule {rule.get('name')} allows {sorted(destinations)} on ports "
                f"{rule.get('destination_ports')}: an allow-all around the host names"
            )
    return problems


def _missing_hosts(
    where: str, firewall: str, application: list[dict[str, Any]], source: str, required: list[tuple[str, str]]
) -> list[str]:
    """Each required host no HTTPS 443 application rule from the runners subnet allows."""
    https = [
        rule
        for rule in application
        if _source_covers(rule.get("source_addresses", []), source)
        and any(p.get("type") == "Https" and p.get("port") == 443 for p in blocks(rule.get("protocols")))
    ]
    return [
        f"{where}: firewall policy of {firewall} does not allow {fqdn} on HTTPS 443 from the runners subnet ({why})"
        for fqdn, why in required
        if not any(_fqdn_covers(p, fqdn) for rule in https for p in rule.get("destination_fqdns", []))
    ]
