"""Effective NSG rules on every data path (constructs/data_paths.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tools.checks.deployability.egress import runner_subnet_keys
from tools.checks.deployability.endpoints import (
    Endpoint,
    aks_endpoints,
    key_vault_endpoints,
    private_endpoints_of,
    state_endpoint,
)
from tools.checks.deployability.model import (
    Runner,
    StackJson,
    blocks,
    parse_ref,
    peerings_of,
    resources_of,
    runners,
    stack_vnet_arm_id,
    subnet_vnet,
)
from tools.checks.deployability.runner_image import REGISTRY_ZONE

# Azure evaluates the source subnet's NSG outbound, then the destination subnet's inbound, each in priority order
# (lowest first, first match wins) and ending in its default rules. Service tags: `VirtualNetwork` is the NSG's own
# VNet plus every VNet it is peered with; `Internet` is what lies outside it; `*` is everything; any other tag
# (AzureLoadBalancer, GatewayManager, AzureCloud...) names Azure's own addresses, never a subnet of ours. A private
# endpoint is filtered by its subnet's NSG only when the subnet's endpoint network policies enable NSGs.
DEFAULT_RULES: Mapping[str, tuple[dict[str, Any], ...]] = {
    "Inbound": (
        {"name": "AllowVnetInBound", "priority": 65000, "access": "Allow", "protocol": "*",
         "source_address_prefix": "VirtualNetwork", "destination_address_prefix": "VirtualNetwork",
         "destination_port_range": "*"},
        {"name": "AllowAzureLoadBalancerInBound", "priority": 65001, "access": "Allow", "protocol": "*",
         "source_address_prefix": "AzureLoadBalancer", "destination_address_prefix": "*",
         "destination_port_range": "*"},
        {"name": "DenyAllInBound", "priority": 65500, "access": "Deny", "protocol": "*",
         "source_address_prefix": "*", "destination_address_prefix": "*", "destination_port_range": "*"},
    ),
    "Outbound": (
        {"name": "AllowVnetOutBound", "priority": 65000, "access": "Allow", "protocol": "*",
         "source_address_prefix": "VirtualNetwork", "destination_address_prefix": "VirtualNetwork",
         "destination_port_range": "*"},
        {"name": "AllowInternetOutBound", "priority": 65001, "access": "Allow", "protocol": "*",
         "source_address_prefix": "*", "destination_address_prefix": "Internet", "destination_port_range": "*"},
        {"name": "DenyAllOutBound", "priority": 65500, "access": "Deny", "protocol": "*",
         "source_address_prefix": "*", "destination_address_prefix": "*", "destination_port_range": "*"},
    ),
}  # fmt: skip
NSG_ENFORCED_ON_ENDPOINTS = frozenset({"Enabled", "NetworkSecurityGroupEnabled"})


@dataclass(frozen=True)
class Subnet:
    """A subnet of one stack, with what the NSG evaluation needs."""

    stack_name: str
    key: str  # azurerm_subnet key
    name: str
    prefixes: tuple[str, ...]
    vnet_id: str
    nsg: str | None  # the associated NSG's name (None: no NSG)
    rules: tuple[dict[str, Any], ...]  # its rules (both directions)
    endpoint_policies: str | None  # private_endpoint_network_policies


def _subnet_key(stack: StackJson, value: object) -> str | None:
    """The `azurerm_subnet` key a subnet id refers to, through route-table/NSG/NAT associations."""
    ref = parse_ref(value)
    while ref is not None and ref.type != "azurerm_subnet":
        association = resources_of(stack, ref.type).get(ref.name, {})
        ref = parse_ref(association.get("subnet_id"))
    return ref.name if ref is not None and ref.name in resources_of(stack, "azurerm_subnet") else None


def _nsg_rules(stack: StackJson, nsg_key: str) -> tuple[dict[str, Any], ...]:
    group = resources_of(stack, "azurerm_network_security_group").get(nsg_key, {})
    rules = [*blocks(group.get("security_rule"))]
    name_ref = f"${{azurerm_network_security_group.{nsg_key}.name}}"
    rules += [
        rule
        for rule in resources_of(stack, "azurerm_network_security_rule").values()
        if rule.get("network_security_group_name") in (name_ref, group.get("name"))
    ]
    return tuple(rules)


def subnet_of(stacks: Mapping[str, StackJson], stack_name: str, value: object, subscription: str) -> Subnet | None:
    stack = stacks[stack_name]
    key = _subnet_key(stack, value)
    if key is None:
        return None
    subnet = resources_of(stack, "azurerm_subnet")[key]
    subnet_ref = f"${{azurerm_subnet.{key}.id}}"
    nsg_key = next(
        (
            parse_ref(association["network_security_group_id"]).name  # type: ignore[union-attr]
            for association in resources_of(stack, "azurerm_subnet_network_security_group_association").values()
            if association.get("subnet_id") == subnet_ref and parse_ref(association.get("network_security_group_id"))
        ),
        None,
    )
    nsg = resources_of(stack, "azurerm_network_security_group").get(nsg_key or "", {})
    return Subnet(
        stack_name,
        key,
        str(subnet.get("name")),
        tuple(str(p) for p in subnet.get("address_prefixes", [])),
        str(subnet_vnet(stack, subscription, subnet_ref)),
        None if nsg_key is None else str(nsg.get("name", nsg_key)),
        () if nsg_key is None else _nsg_rules(stack, nsg_key),
        subnet.get("private_endpoint_network_policies"),
    )


def vnet_spaces(stacks: Iterable[StackJson], subscription: str) -> dict[str, tuple[str, ...]]:
    """ARM id -> address space of every VNet of the stacks (literal names and groups)."""
    spaces: dict[str, tuple[str, ...]] = {}
    for stack in stacks:
        for key, vnet in resources_of(stack, "azurerm_virtual_network").items():
            spaces[stack_vnet_arm_id(stack, subscription, key)] = tuple(vnet.get("address_space", []))
    return spaces


def virtual_network_tag(
    vnet_id: str, spaces: Mapping[str, tuple[str, ...]], peerings: set[tuple[str, str]]
) -> tuple[str, ...]:
    """The prefixes `VirtualNetwork` stands for in an NSG of `vnet_id`: its space and its peers' spaces."""
    peers = sorted({remote for local, remote in peerings if local == vnet_id})
    return tuple(p for vnet in (vnet_id, *peers) for p in spaces.get(vnet, ()))


def _values(rule: Mapping[str, Any], singular: str) -> list[str]:
    plural = f"{singular}es" if singular.endswith("prefix") else f"{singular}s"
    value = rule.get(singular)
    return [str(value)] if value not in (None, "") else [str(v) for v in rule.get(plural) or []]


def _address_matches(patterns: Iterable[str], prefixes: Iterable[str], tag: tuple[str, ...], partial: bool) -> bool:
    """Whether a rule's address patterns match the prefixes: all of them (an allow), or any part (a deny)."""
    networks = [ipaddress.ip_network(p, strict=False) for p in prefixes]
    tag_networks = [ipaddress.ip_network(p, strict=False) for p in tag]
    covered: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    outside_tag = [n for n in networks if not any(n.subnet_of(t) for t in tag_networks)]  # type: ignore[arg-type]
    for pattern in patterns:
        if pattern in ("*", "Any", "any", "0.0.0.0/0"):
            return True
        if pattern == "VirtualNetwork":
            covered += tag_networks
        elif pattern == "Internet":
            if outside_tag and (partial or len(outside_tag) == len(networks)):
                return True
        else:
            try:
                covered.append(ipaddress.ip_network(pattern, strict=False))
            except ValueError:
                continue  # AzureLoadBalancer, GatewayManager, AzureCloud...: none of our subnets
    if partial:
        return any(n.overlaps(c) for n in networks for c in covered)
    return all(any(n.subnet_of(c) for c in covered) for n in networks)  # type: ignore[arg-type]


def _port_matches(ranges: Iterable[str], port: int) -> bool:
    for value in ranges:
        if value == "*":
            return True
        low, _, high = value.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def nsg_verdict(
    subnet: Subnet,
    direction: str,
    source: tuple[str, ...],
    destination: tuple[str, ...],
    port: int,
    tag: tuple[str, ...],
) -> dict[str, Any] | None:
    """The rule deciding TCP `port` from `source` to `destination` in the subnet's NSG (None: no NSG)."""
    if subnet.nsg is None:
        return None
    rules = [r for r in subnet.rules if r.get("direction") == direction] + list(DEFAULT_RULES[direction])
    for rule in sorted(rules, key=lambda r: int(r.get("priority", 0))):
        if str(rule.get("protocol", "*")).lower() not in ("*", "tcp"):
            continue
        if not _port_matches(_values(rule, "destination_port_range"), port):
            continue
        partial = rule.get("access") == "Deny"
        if not _address_matches(_values(rule, "source_address_prefix"), source, tag, partial):
            continue
        if not _address_matches(_values(rule, "destination_address_prefix"), destination, tag, partial):
            continue
        return rule
    return None


def path_findings(
    where: str,
    source: Subnet,
    destination: Subnet,
    ports: Iterable[str],
    spaces: Mapping[str, tuple[str, ...]],
    peerings: set[tuple[str, str]],
    private_endpoint: bool = False,
) -> list[str]:
    """Every port of the path an NSG denies, naming the NSG, the rule and its priority."""
    problems = []
    checks = [("Outbound", source, source.vnet_id)]
    if not private_endpoint or destination.endpoint_policies in NSG_ENFORCED_ON_ENDPOINTS:
        checks.append(("Inbound", destination, destination.vnet_id))
    for port in ports:
        for direction, subnet, vnet in checks:
            tag = virtual_network_tag(vnet, spaces, peerings)
            rule = nsg_verdict(subnet, direction, source.prefixes, destination.prefixes, int(port), tag)
            if rule is not None and rule.get("access") != "Allow":
                problems.append(
                    f"{where}: NSG {subnet.nsg} of subnet {subnet.name} ({', '.join(subnet.prefixes)}) denies "
                    f"{direction.lower()} TCP {port} from {source.name} ({', '.join(source.prefixes)}) to "
                    f"{destination.name} ({', '.join(destination.prefixes)}): rule {rule.get('name')} "
                    f"(priority {rule.get('priority')})"
                )
    return problems


def _stack_name_of(stacks: Mapping[str, StackJson], stack: StackJson) -> str:
    return next(name for name, candidate in stacks.items() if candidate is stack)


def _endpoint_subnets(
    stacks: Mapping[str, StackJson], endpoint: Endpoint, subscription: str
) -> list[tuple[Subnet, bool]]:
    """The subnets the endpoint's traffic ends in, and whether each is a private endpoint's."""
    stack = endpoint.stack_json
    stack_name = _stack_name_of(stacks, stack)
    found: list[tuple[Subnet, bool]] = []
    if endpoint.subresource is None:  # AKS: the API server's ILB (VNet integration) or its endpoint in the node subnet
        ref = parse_ref(endpoint.resource_ref)
        cluster = resources_of(stack, ref.type)[ref.name]  # type: ignore[union-attr]
        profile = blocks(cluster.get("api_server_access_profile"))
        integrated = profile and profile[0].get("virtual_network_integration_enabled") and profile[0].get("subnet_id")
        value = (
            profile[0]["subnet_id"] if integrated else blocks(cluster.get("default_node_pool"))[0].get("vnet_subnet_id")
        )
        subnet = subnet_of(stacks, stack_name, value, subscription)
        return [(subnet, not integrated)] if subnet else []
    for private_endpoint in private_endpoints_of(endpoint):
        subnet = subnet_of(stacks, stack_name, private_endpoint["subnet_id"], subscription)
        if subnet:
            found.append((subnet, True))
    return found


def _node_subnet_values(infra: StackJson, cluster_key: str) -> list[object]:
    cluster = resources_of(infra, "azurerm_kubernetes_cluster")[cluster_key]
    values = [pool.get("vnet_subnet_id") for pool in blocks(cluster.get("default_node_pool"))]
    cluster_ref = f"${{azurerm_kubernetes_cluster.{cluster_key}.id}}"
    values += [
        pool.get("vnet_subnet_id")
        for pool in resources_of(infra, "azurerm_kubernetes_cluster_node_pool").values()
        if pool.get("kubernetes_cluster_id") == cluster_ref
    ]
    return values


def network_path_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every data path of constructs/data_paths.py the stacks use, checked against the effective NSG rules:
    each environment's runners to the state blob, the runner registry, the Key Vault data planes and the AKS API,
    and every node pool to its VNet-integrated API server."""
    from constructs.data_paths import DATA_PATHS

    ports_of = {(p.source, p.target): p.ports for p in DATA_PATHS}
    bootstrap = stacks["bootstrap"]
    problems: list[str] = []
    runner_subnets = runner_subnet_keys(bootstrap)
    for environment, runner in sorted(runners(bootstrap).items()):
        problems += _environment_paths(stacks, environment, runner, runner_subnets.get(environment), ports_of)
    return problems


def _environment_paths(
    stacks: Mapping[str, StackJson],
    environment: str,
    runner: Runner,
    runner_subnet: str | None,
    ports_of: Mapping[tuple[str, str], Iterable[str]],
) -> list[str]:
    bootstrap, subscription = stacks["bootstrap"], runner.subscription_id
    infra = stacks.get(f"{environment}-infra", {})
    peerings = peerings_of(bootstrap, subscription) | peerings_of(infra, subscription)
    spaces = vnet_spaces((bootstrap, infra), subscription)
    source = subnet_of(stacks, "bootstrap", f"${{azurerm_subnet.{runner_subnet}.id}}", subscription)
    if source is None:
        return [f"{environment}: the runners' subnet is not found: no network path can be shown"]
    problems = []
    for endpoint in _runner_endpoints(stacks, environment):
        where = f"{environment}: runners -> {endpoint.what}"
        ports = ports_of.get(("runners", endpoint.target))
        if ports is None:
            problems.append(f"{where}: no data path runners -> {endpoint.target} in constructs/data_paths.py")
            continue
        for destination, is_endpoint in _endpoint_subnets(stacks, endpoint, subscription):
            problems += path_findings(where, source, destination, ports, spaces, peerings, is_endpoint)
    node_ports = ports_of[("nodes", "aks_api")]
    return problems + _node_paths(stacks, environment, subscription, node_ports, spaces, peerings)


def _runner_endpoints(stacks: Mapping[str, StackJson], environment: str) -> list[Endpoint]:
    """What the environment's runners reach: the state blob, their registry, the Key Vaults, the AKS API."""
    bootstrap = stacks["bootstrap"]
    infra = stacks.get(f"{environment}-infra", {})
    cluster_stack = stacks.get(f"{environment}-cluster", {})
    endpoints: list[Endpoint] = []
    for stack_name in (f"{environment}-infra", f"{environment}-cluster"):
        backend = stacks.get(stack_name, {}).get("terraform", {}).get("backend", {}).get("azurerm")
        state = state_endpoint(bootstrap, backend) if backend else None
        if state is not None and all(e.what != state.what for e in endpoints):
            endpoints.append(state)
    registries = {
        parse_ref(registry.get("server")).name  # type: ignore[union-attr]
        for job in resources_of(bootstrap, "azurerm_container_app_job").values()
        if job["provider"] == f"azurerm.{environment}"
        for registry in blocks(job.get("registry"))
        if parse_ref(registry.get("server"))
    }
    endpoints += [
        Endpoint(f"registry {name}", bootstrap, f"${{azurerm_container_registry.{name}.id}}", "registry",
                 REGISTRY_ZONE, {}, "registry")
        for name in sorted(registries)
    ]  # fmt: skip
    endpoints += key_vault_endpoints(infra)
    if "kubernetes" in cluster_stack.get("provider", {}):
        endpoints += aks_endpoints(infra, cluster_stack)
    return endpoints


def _node_paths(
    stacks: Mapping[str, StackJson],
    environment: str,
    subscription: str,
    ports: Iterable[str],
    spaces: Mapping[str, tuple[str, ...]],
    peerings: set[tuple[str, str]],
) -> list[str]:
    """Every node pool to its cluster's VNet-integrated API server."""
    infra_name = f"{environment}-infra"
    infra = stacks.get(infra_name, {})
    problems = []
    for key, cluster in sorted(resources_of(infra, "azurerm_kubernetes_cluster").items()):
        profile = blocks(cluster.get("api_server_access_profile"))
        if not (profile and profile[0].get("virtual_network_integration_enabled")):
            continue
        api_subnet = subnet_of(stacks, infra_name, profile[0].get("subnet_id"), subscription)
        if api_subnet is None:
            continue
        for value in _node_subnet_values(infra, key):
            nodes = subnet_of(stacks, infra_name, value, subscription)
            if nodes is not None:
                where = f"{environment}: nodes -> API server of {cluster.get('name')}"
                problems += path_findings(where, nodes, api_subnet, ports, spaces, peerings)
    return problems
