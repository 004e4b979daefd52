"""Can the deploy runners actually reach and use what each stack talks to? A model over the synthesized JSON.

For each environment it reads, from the synthesized stacks only:

- **who runs what**: the environment's runner network (the VNet whose subnet hosts the runners' Container Apps
  environment in the bootstrap stack) and its two identities (plan, apply). Every remote-state stack of the
  environment is planned by the plan identity and applied by the apply identity on those runners
  (`workflow_findings` checks the workflows say so).
- **what each stack must reach** through a data plane:
  - the **state blob** of its backend (plan and apply: read + lease/write),
  - in the infra stack, the **Key Vault data plane** of every vault holding keys or certificates Terraform
    writes (apply: create; plan: read),
  - in the cluster stack, the **AKS API** of the environment's private cluster (apply: write; plan: read).
- **that the runners start at all** (`runner_image_findings`): the job's image comes from a bootstrap registry with
  a private endpoint the runners reach, `privatelink.azurecr.io` linked to their VNet, and AcrPull for the job's
  registry identity.
- **for each endpoint, each link of the path**: a private endpoint for the resource (right sub-resource) in a
  VNet the runner reaches (the runner's own, or peered in both directions); the privatelink zone the endpoint
  registers in, linked to the runner's VNet; a role assignment for the identity, at a scope covering the
  resource, whose role grants the data actions needed.

- **runner egress** (`egress_findings`): the runners subnet's default route goes to an Azure Firewall in the
  runner VNet, whose policy allows each host of constructs/egress_hosts.py on HTTPS 443 from the runners subnet,
  has no allow-all rule (`*` host, `*` / 0.0.0.0/0 / Internet destination, `*` port), and nothing goes around it
  (a NAT gateway, default outbound access, a route to Internet).

`findings(stacks)` returns every missing link as a sentence naming the stack, endpoint and link. The test
(tests/assurance/test_deployability.py) asserts there are none and that removing a peering, a zone link or a
role produces the matching finding. Usage: python -m tools.deployability [cdktf.out]
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

StackJson = dict[str, Any]

BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
KEYS_READ = "Microsoft.KeyVault/vaults/keys/read"
KEYS_CREATE = "Microsoft.KeyVault/vaults/keys/create/action"
CERTIFICATES_READ = "Microsoft.KeyVault/vaults/certificates/read"
CERTIFICATES_CREATE = "Microsoft.KeyVault/vaults/certificates/create/action"
# Kubernetes data actions, one representative each: ordinary objects, and RBAC objects (which the built-in
# RBAC Reader and Writer roles exclude).
K8S_READ = "Microsoft.ContainerService/managedClusters/namespaces/read"
K8S_WRITE = "Microsoft.ContainerService/managedClusters/namespaces/write"
K8S_READ_RBAC = "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/read"
K8S_WRITE_RBAC = "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/write"
KNOWN_DATA_ACTIONS = (
    BLOB_READ, BLOB_WRITE, KEYS_READ, KEYS_CREATE, CERTIFICATES_READ, CERTIFICATES_CREATE,
    K8S_READ, K8S_WRITE, K8S_READ_RBAC, K8S_WRITE_RBAC,
)  # fmt: skip
RBAC_KUBERNETES_TYPES = ("kubernetes_role", "kubernetes_cluster_role")  # prefixes: *_v1, *_binding_v1

# Data actions of the built-in roles the model knows (a subset of each role's definition: the ones asked for).
ROLE_DATA_ACTIONS: Mapping[str, frozenset[str]] = {
    "Storage Blob Data Owner": frozenset({BLOB_READ, BLOB_WRITE}),
    "Storage Blob Data Contributor": frozenset({BLOB_READ, BLOB_WRITE}),
    "Storage Blob Data Reader": frozenset({BLOB_READ}),
    "Key Vault Administrator": frozenset({KEYS_READ, KEYS_CREATE, CERTIFICATES_READ, CERTIFICATES_CREATE}),
    "Key Vault Crypto Officer": frozenset({KEYS_READ, KEYS_CREATE}),
    "Key Vault Certificates Officer": frozenset({CERTIFICATES_READ, CERTIFICATES_CREATE}),
    "Key Vault Reader": frozenset({KEYS_READ, CERTIFICATES_READ}),
    "Azure Kubernetes Service RBAC Cluster Admin": frozenset({K8S_READ, K8S_WRITE, K8S_READ_RBAC, K8S_WRITE_RBAC}),
    "Azure Kubernetes Service RBAC Admin": frozenset({K8S_READ, K8S_WRITE, K8S_READ_RBAC, K8S_WRITE_RBAC}),
    "Azure Kubernetes Service RBAC Writer": frozenset({K8S_READ, K8S_WRITE}),
    "Azure Kubernetes Service RBAC Reader": frozenset({K8S_READ}),
}
ROLES = ("plan", "apply")

_REFERENCE = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([a-z0-9_]+))?\}(.*)$")


@dataclass(frozen=True)
class Ref:
    data: bool
    type: str
    name: str
    attribute: str | None
    rest: str


def parse_ref(value: object) -> Ref | None:
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if not match:
        return None
    data, type_, name, attribute, rest = match.groups()
    return Ref(bool(data), type_, name, attribute, rest or "")


def _resources(stack: StackJson, type_: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(type_, {})


def _blocks(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(cast(Iterable[dict[str, Any]], value))


def _literal(stack: StackJson, value: object) -> object:
    """A `${type.name.attr}` reference to a literal attribute replaced by that literal (names, groups)."""
    ref = parse_ref(value)
    if ref is None or ref.data or ref.rest or ref.attribute is None:
        return value
    resource = _resources(stack, ref.type).get(ref.name)
    if resource is None or ref.attribute not in resource:
        return value
    return _literal(stack, resource[ref.attribute])


@dataclass(frozen=True)
class Runner:
    environment: str
    subscription_id: str
    vnet_id: str  # ARM id of the runner VNet (literal)
    labels: tuple[str, ...]
    identities: Mapping[str, str]  # role -> identity name


@dataclass(frozen=True)
class Network:
    """The VNets of one stack by ARM id (literal where names are literal) and the peerings between them."""

    vnets: Mapping[str, str]  # "type.name" reference key or ARM id -> ARM id
    peerings: frozenset[tuple[str, str]]  # (from ARM id, to ARM id)


def vnet_arm_id(subscription_id: str, group: object, name: object) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{name}"


def _vnet_arm_id(stack: StackJson, subscription_id: str, key: str) -> str:
    vnet = _resources(stack, "azurerm_virtual_network")[key]
    return vnet_arm_id(subscription_id, _literal(stack, vnet["resource_group_name"]), _literal(stack, vnet["name"]))


def _vnet_id_of(stack: StackJson, subscription_id: str, value: object) -> str:
    """A VNet id: a literal ARM id, or a reference to a VNet of this stack."""
    ref = parse_ref(value)
    if ref is not None and ref.type == "azurerm_virtual_network":
        return _vnet_arm_id(stack, subscription_id, ref.name)
    return str(value)


def _subnet_vnet(stack: StackJson, subscription_id: str, subnet_value: object) -> str | None:
    """The VNet (ARM id) of a subnet reference, following route-table/NSG associations."""
    ref = parse_ref(subnet_value)
    if ref is None:
        return None
    if ref.type in ("azurerm_subnet_route_table_association", "azurerm_subnet_network_security_group_association"):
        association = _resources(stack, ref.type).get(ref.name)
        return None if association is None else _subnet_vnet(stack, subscription_id, association["subnet_id"])
    subnet = _resources(stack, "azurerm_subnet").get(ref.name) if ref.type == "azurerm_subnet" else None
    if subnet is None:
        return None
    group = _literal(stack, subnet["resource_group_name"])
    vnet = _literal(stack, subnet["virtual_network_name"])
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"


def _peerings(stack: StackJson, subscription_id: str) -> set[tuple[str, str]]:
    found = set()
    for peering in _resources(stack, "azurerm_virtual_network_peering").values():
        if peering.get("allow_virtual_network_access") is False:
            continue
        group = _literal(stack, peering["resource_group_name"])
        source = vnet_arm_id(subscription_id, group, _literal(stack, peering["virtual_network_name"]))
        found.add((source, _vnet_id_of(stack, subscription_id, peering["remote_virtual_network_id"])))
    return found


def _subscription_of(stack: StackJson, provider_alias: str | None = None) -> str:
    for provider in stack.get("provider", {}).get("azurerm", []):
        if provider.get("alias") == provider_alias:
            return provider["subscription_id"]
    raise KeyError(f"no azurerm provider with alias {provider_alias!r}")


def runners(bootstrap: StackJson) -> dict[str, Runner]:
    """The runner of each environment, from the bootstrap stack."""
    found: dict[str, Runner] = {}
    environments = _resources(bootstrap, "azurerm_container_app_environment")
    for job in _resources(bootstrap, "azurerm_container_app_job").values():
        alias = job["provider"].removeprefix("azurerm.")
        subscription = _subscription_of(bootstrap, alias)
        environment = environments[parse_ref(job["container_app_environment_id"]).name]  # type: ignore[union-attr]
        vnet = _subnet_vnet(bootstrap, subscription, environment["infrastructure_subnet_id"])
        labels = tuple(
            label
            for scale in _blocks(job["event_trigger_config"]["scale"])
            for rule in _blocks(scale["rules"])
            for label in rule["metadata"]["labels"].split(",")
        )
        identities = {
            role: identity["name"]
            for identity in _resources(bootstrap, "azurerm_user_assigned_identity").values()
            if identity["provider"] == job["provider"]
            for role in ROLES
            if f"-terraform-{role}-id-" in identity["name"]
        }
        previous = found.get(alias)  # one job per runner pool (plan, apply): the environment's labels are theirs
        if previous is not None:
            labels = (*previous.labels, *labels)
        found[alias] = Runner(alias, subscription, str(vnet), labels, identities)
    return found


@dataclass(frozen=True)
class Endpoint:
    what: str  # e.g. "state blob of stgtfstateerp01"
    stack_json: StackJson  # the stack that declares the resource, its endpoint, zones and roles
    resource_ref: str  # "${type.name.id}" of the resource inside stack_json
    subresource: str | None  # the private endpoint sub-resource; None when Azure creates the endpoint (AKS)
    zone: str  # privatelink zone name the runner must resolve
    needs: Mapping[str, frozenset[str]]  # role (plan/apply) -> data actions


def _private_endpoint_vnets(endpoint: Endpoint, subscription: str) -> tuple[list[str], list[str]]:
    """(VNets holding a private endpoint for the resource, the zone ids those endpoints register in)."""
    stack = endpoint.stack_json
    vnets: list[str] = []
    zones: list[str] = []
    if endpoint.subresource is None:  # AKS: the API server endpoint sits in the default node pool's subnet
        ref = parse_ref(endpoint.resource_ref)
        cluster = _resources(stack, ref.type)[ref.name]  # type: ignore[union-attr]
        pool = _blocks(cluster.get("default_node_pool"))[0]
        vnet = _subnet_vnet(stack, subscription, pool.get("vnet_subnet_id"))
        if vnet and cluster.get("private_cluster_enabled"):
            vnets.append(vnet)
            zones.append(str(cluster.get("private_dns_zone_id")))
        return vnets, zones
    for private_endpoint in _resources(stack, "azurerm_private_endpoint").values():
        for connection in _blocks(private_endpoint.get("private_service_connection")):
            if connection.get("private_connection_resource_id") != endpoint.resource_ref:
                continue
            if endpoint.subresource not in connection.get("subresource_names", []):
                continue
            vnet = _subnet_vnet(stack, subscription, private_endpoint["subnet_id"])
            if vnet:
                vnets.append(vnet)
                for group in _blocks(private_endpoint.get("private_dns_zone_group")):
                    zones.extend(group.get("private_dns_zone_ids", []))
    return vnets, zones


def _zone_linked(stack: StackJson, subscription: str, zone_ids: Iterable[object], zone: str, vnet_id: str) -> bool:
    for zone_id in zone_ids:
        ref = parse_ref(zone_id)
        if ref is None or ref.type != "azurerm_private_dns_zone":
            continue
        zone_resource = _resources(stack, ref.type).get(ref.name, {})
        if zone_resource.get("name") != zone:
            continue
        for link in _resources(stack, "azurerm_private_dns_zone_virtual_network_link").values():
            linked_zone = parse_ref(link["private_dns_zone_name"])
            same_zone = (linked_zone is not None and linked_zone.name == ref.name) or (
                link["private_dns_zone_name"] == zone
            )
            if same_zone and _vnet_id_of(stack, subscription, link["virtual_network_id"]) == vnet_id:
                return True
    return False


def _principal_identity(stack: StackJson, value: object) -> str | None:
    """The name of the user-assigned identity a role assignment's principal_id refers to."""
    ref = parse_ref(value)
    if ref is None or ref.type != "azurerm_user_assigned_identity" or ref.attribute != "principal_id":
        return None
    source = stack.get("data", {}) if ref.data else stack.get("resource", {})
    identity = source.get(ref.type, {}).get(ref.name)
    return None if identity is None else str(_literal(stack, identity.get("name")))


def _scope_covers(scope: str, resource_ref: str, subscription: str) -> bool:
    target = resource_ref.removesuffix("}")
    if scope == resource_ref or scope.startswith(f"{target}/") or scope.startswith(target + "}/"):
        return True
    return scope in (f"/subscriptions/{subscription}", f"/subscriptions/{subscription}/")


def custom_roles(stacks: Mapping[str, StackJson]) -> dict[str, frozenset[str]]:
    """Custom role definitions of every stack: name -> the known data actions their patterns grant."""
    found: dict[str, frozenset[str]] = {}
    for stack in stacks.values():
        for definition in _resources(stack, "azurerm_role_definition").values():
            granted: set[str] = set()
            for permissions in _blocks(definition.get("permissions")):
                allowed = permissions.get("data_actions", [])
                denied = permissions.get("not_data_actions", [])
                granted |= {
                    action
                    for action in KNOWN_DATA_ACTIONS
                    if any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed)
                    and not any(fnmatch.fnmatchcase(action, pattern) for pattern in denied)
                }
            found[str(definition["name"])] = frozenset(granted)
    return found


def _granted(
    stack: StackJson, identity: str, endpoint: Endpoint, subscription: str, roles: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    actions: set[str] = set()
    for assignment in _resources(stack, "azurerm_role_assignment").values():
        if _principal_identity(stack, assignment["principal_id"]) != identity:
            continue
        scope = str(assignment["scope"])
        if endpoint.subresource == "blob":  # the state container scope: "${account.id}/blobServices/default/..."
            covers = scope.startswith(endpoint.resource_ref.removesuffix("}")) or _scope_covers(
                scope, endpoint.resource_ref, subscription
            )
        else:
            covers = _scope_covers(scope, endpoint.resource_ref, subscription)
        if covers:
            actions |= roles.get(assignment.get("role_definition_name", ""), frozenset())
    return frozenset(actions)


def _recorded_for_runner(endpoint: Endpoint, runner: Runner, bootstrap: StackJson | None) -> bool:
    """The endpoint's stack writes an A record for the resource into a zone of bootstrap's, in the runner network's
    resource group, that bootstrap links to the runner network (a VNet links one zone per name: infra's vaults)."""
    if bootstrap is None:
        return False
    ref = parse_ref(endpoint.resource_ref)
    if ref is None:
        return False
    runner_group = runner.vnet_id.split("/resourceGroups/", 1)[-1].split("/", 1)[0]
    recorded = any(
        record.get("name") == f"${{{ref.type}.{ref.name}.name}}"
        and record.get("zone_name") == endpoint.zone
        and record.get("resource_group_name") == runner_group
        for record in _resources(endpoint.stack_json, "azurerm_private_dns_a_record").values()
    )
    if not recorded:
        return False
    for key, zone in _resources(bootstrap, "azurerm_private_dns_zone").items():
        if zone.get("name") != endpoint.zone:
            continue
        zone_id = f"${{azurerm_private_dns_zone.{key}.id}}"
        if _resources(bootstrap, "azurerm_private_dns_zone").get(key) and _zone_linked(
            bootstrap, runner.subscription_id, [zone_id], endpoint.zone, runner.vnet_id
        ):
            group = _literal(bootstrap, zone.get("resource_group_name"))
            if group == runner_group:
                return True
    return False


def _endpoint_findings(
    stack_name: str,
    runner: Runner,
    endpoint: Endpoint,
    peerings: set[tuple[str, str]],
    roles: Mapping[str, frozenset[str]],
    bootstrap: StackJson | None = None,
) -> list[str]:
    problems = []
    subscription = runner.subscription_id
    vnets, zone_ids = _private_endpoint_vnets(endpoint, subscription)
    where = f"{stack_name}: {endpoint.what}"
    if not vnets:
        problems.append(f"{where}: no private endpoint ({endpoint.subresource or 'API server'}) for the resource")
    reachable = [
        vnet for vnet in vnets if vnet == runner.vnet_id or {(runner.vnet_id, vnet), (vnet, runner.vnet_id)} <= peerings
    ]
    if vnets and not reachable:
        missing = [
            f"{a} -> {b}"
            for vnet in vnets
            for a, b in ((runner.vnet_id, vnet), (vnet, runner.vnet_id))
            if (a, b) not in peerings
        ]
        problems.append(
            f"{where}: runner network cannot reach the endpoint's network: missing peering {'; '.join(missing)}"
        )
    if (
        vnets
        and not _zone_linked(endpoint.stack_json, subscription, zone_ids, endpoint.zone, runner.vnet_id)
        and not _recorded_for_runner(endpoint, runner, bootstrap)
    ):
        problems.append(
            f"{where}: private DNS zone {endpoint.zone} is not linked to the runner network {runner.vnet_id}"
        )
    for role, needed in endpoint.needs.items():
        identity = runner.identities.get(role)
        if identity is None:
            problems.append(f"{where}: no {role} identity for environment {runner.environment}")
            continue
        lacking = needed - _granted(endpoint.stack_json, identity, endpoint, subscription, roles)
        if lacking:
            problems.append(f"{where}: {role} identity {identity} lacks data actions {sorted(lacking)}")
    return problems


def _state_endpoint(bootstrap: StackJson, backend: Mapping[str, Any]) -> Endpoint | None:
    for key, account in _resources(bootstrap, "azurerm_storage_account").items():
        if account["name"] == backend["storage_account_name"]:
            return Endpoint(
                f"state blob of {account['name']}",
                bootstrap,
                f"${{azurerm_storage_account.{key}.id}}",
                "blob",
                "privatelink.blob.core.windows.net",
                # Plans run with -lock=false: they read the state and write nothing (no lease either).
                {"plan": frozenset({BLOB_READ}), "apply": frozenset({BLOB_READ, BLOB_WRITE})},
            )
    return None


def _key_vault_endpoints(infra: StackJson) -> list[Endpoint]:
    endpoints = []
    for key, vault in _resources(infra, "azurerm_key_vault").items():
        ref = f"${{azurerm_key_vault.{key}.id}}"
        holds = {
            type_
            for type_ in ("azurerm_key_vault_key", "azurerm_key_vault_certificate")
            for item in _resources(infra, type_).values()
            if item.get("key_vault_id") == ref
        }
        if not holds:
            continue
        apply, plan = set(), set()
        if "azurerm_key_vault_key" in holds:
            apply |= {KEYS_READ, KEYS_CREATE}
            plan.add(KEYS_READ)
        if "azurerm_key_vault_certificate" in holds:
            apply |= {CERTIFICATES_READ, CERTIFICATES_CREATE}
            plan.add(CERTIFICATES_READ)
        endpoints.append(
            Endpoint(
                f"Key Vault data plane of {vault['name']}",
                infra,
                ref,
                "vault",
                "privatelink.vaultcore.azure.net",
                {"plan": frozenset(plan), "apply": frozenset(apply)},
            )
        )
    return endpoints


def _aks_endpoints(infra: StackJson, cluster_stack: StackJson) -> list[Endpoint]:
    """The AKS API: plans read and applies write every kind of object the cluster stack manages."""
    manages_rbac = any(kind.startswith(RBAC_KUBERNETES_TYPES) for kind in cluster_stack.get("resource", {}))
    read = {K8S_READ, K8S_READ_RBAC} if manages_rbac else {K8S_READ}
    write = {K8S_WRITE, K8S_WRITE_RBAC} if manages_rbac else {K8S_WRITE}
    endpoints = []
    for key, cluster in _resources(infra, "azurerm_kubernetes_cluster").items():
        zone_ref = parse_ref(cluster.get("private_dns_zone_id"))
        zones = _resources(infra, "azurerm_private_dns_zone")
        zone = zones.get(zone_ref.name, {}).get("name", "?") if zone_ref else "?"
        endpoints.append(
            Endpoint(
                f"AKS API of {cluster['name']}",
                infra,
                f"${{azurerm_kubernetes_cluster.{key}.id}}",
                None,
                str(zone),
                {"plan": frozenset(read), "apply": frozenset(read | write)},
            )
        )
    return endpoints


# --- Runner egress (README "Runner network and egress") ----------------------------------------------------------
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


def _runner_subnets(bootstrap: StackJson) -> dict[str, str]:
    """Environment (provider alias) -> the `azurerm_subnet` key hosting its runners' Container Apps environment."""
    found = {}
    environments = _resources(bootstrap, "azurerm_container_app_environment")
    for job in _resources(bootstrap, "azurerm_container_app_job").values():
        environment = environments.get(parse_ref(job["container_app_environment_id"]).name, {})  # type: ignore[union-attr]
        ref = parse_ref(environment.get("infrastructure_subnet_id"))
        while ref is not None and ref.type != "azurerm_subnet":  # through a route table / NSG association
            association = _resources(bootstrap, ref.type).get(ref.name, {})
            ref = parse_ref(association.get("subnet_id"))
        if ref is not None and ref.name in _resources(bootstrap, "azurerm_subnet"):
            found[job["provider"].removeprefix("azurerm.")] = ref.name
    return found


def _attached_to(bootstrap: StackJson, association_type: str, subnet_key: str) -> list[dict[str, Any]]:
    subnet_ref = f"${{azurerm_subnet.{subnet_key}.id}}"
    return [a for a in _resources(bootstrap, association_type).values() if a.get("subnet_id") == subnet_ref]


def _routes(bootstrap: StackJson, table_ref: str) -> list[dict[str, Any]]:
    ref = parse_ref(table_ref)
    if ref is None:
        return []
    table = _resources(bootstrap, "azurerm_route_table").get(ref.name, {})
    separate = [
        route
        for route in _resources(bootstrap, "azurerm_route").values()
        if route.get("route_table_name") == f"${{azurerm_route_table.{ref.name}.name}}"
    ]
    return [*_blocks(table.get("route")), *separate]


def _policy_rules(bootstrap: StackJson, policy_ref: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(application rules, network rules) of the policy's Allow collections."""
    application, network = [], []
    for group in _resources(bootstrap, "azurerm_firewall_policy_rule_collection_group").values():
        if group.get("firewall_policy_id") != policy_ref:
            continue
        for collection in _blocks(group.get("application_rule_collection")):
            if collection.get("action") == "Allow":
                application += _blocks(collection.get("rule"))
        for collection in _blocks(group.get("network_rule_collection")):
            if collection.get("action") == "Allow":
                network += _blocks(collection.get("rule"))
    return application, network


def egress_findings(bootstrap: StackJson, required: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """Every broken link of each environment's runner egress; `required` is (host, why), by default the allow list."""
    if required is None:
        from constructs.egress_hosts import RUNNER_EGRESS

        required = [(host.fqdn, host.why) for host in RUNNER_EGRESS]
    required = list(required)
    problems: list[str] = []
    subscriptions = {alias: runner.subscription_id for alias, runner in runners(bootstrap).items()}
    subnets = _runner_subnets(bootstrap)
    for environment in sorted(set(subscriptions) - set(subnets)):
        problems.append(f"bootstrap: {environment} runner egress: the runners' Container Apps subnet is not found")
    for environment, subnet_key in sorted(subnets.items()):
        where = f"bootstrap: {environment} runner egress"
        subnet = _resources(bootstrap, "azurerm_subnet")[subnet_key]
        prefixes = subnet.get("address_prefixes", [])
        subscription = subscriptions.get(environment, "?")
        runner_vnet = _subnet_vnet(bootstrap, subscription, f"${{azurerm_subnet.{subnet_key}.id}}")
        if _attached_to(bootstrap, "azurerm_subnet_nat_gateway_association", subnet_key):
            problems.append(f"{where}: a NAT gateway on the runners subnet {subnet['name']} bypasses the firewall")
        if subnet.get("default_outbound_access_enabled") is not False:
            problems.append(f"{where}: the runners subnet {subnet['name']} keeps Azure's default outbound access")
        tables = _attached_to(bootstrap, "azurerm_subnet_route_table_association", subnet_key)
        routes = [route for table in tables for route in _routes(bootstrap, table["route_table_id"])]
        for route in routes:
            if route.get("next_hop_type") == "Internet":
                problems.append(
                    f"{where}: route {route.get('name')} ({route.get('address_prefix')}) goes to the Internet "
                    "around the firewall"
                )
        default = [route for route in routes if route.get("address_prefix") == "0.0.0.0/0"]
        next_hop = _FIREWALL_IP.match(str(default[0].get("next_hop_in_ip_address"))) if default else None
        if not default:
            problems.append(
                f"{where}: no default route (0.0.0.0/0) on the runners subnet {subnet['name']}: "
                "it leaves straight to the internet, not through a firewall"
            )
            continue
        if default[0].get("next_hop_type") != "VirtualAppliance" or next_hop is None:
            problems.append(f"{where}: the default route does not go to an Azure Firewall's private IP")
            continue
        firewall = _resources(bootstrap, "azurerm_firewall").get(next_hop.group(1), {})
        firewall_vnets = {
            _subnet_vnet(bootstrap, subscription, configuration.get("subnet_id"))
            for configuration in _blocks(firewall.get("ip_configuration"))
        }
        if runner_vnet not in firewall_vnets:
            problems.append(f"{where}: firewall {firewall.get('name')} is not in the runner network {runner_vnet}")
        policy_ref = str(firewall.get("firewall_policy_id"))
        application, network = _policy_rules(bootstrap, policy_ref)
        for rule in application:
            if any(fqdn.strip() == "*" for fqdn in rule.get("destination_fqdns", [])) or rule.get(
                "destination_urls"
            ) == ["*"]:
                problems.append(f"{where}: application rule {rule.get('name')} allows every host ('*')")
        for rule in network:
            destinations = {*rule.get("destination_addresses", []), *rule.get("destination_ip_groups", [])}
            if destinations & ANY_DESTINATION or "*" in rule.get("destination_ports", []):
                problems.append(
                    f"{where}: network rule {rule.get('name')} allows {sorted(destinations)} on ports "
                    f"{rule.get('destination_ports')}: an allow-all around the host names"
                )
        https = [
            rule
            for rule in application
            if _source_covers(rule.get("source_addresses", []), str(prefixes[0]) if prefixes else "")
            and any(p.get("type") == "Https" and p.get("port") == 443 for p in _blocks(rule.get("protocols")))
        ]
        for fqdn, why in required:
            if not any(_fqdn_covers(p, fqdn) for rule in https for p in rule.get("destination_fqdns", [])):
                problems.append(
                    f"{where}: firewall policy of {firewall.get('name')} does not allow {fqdn} on HTTPS 443 "
                    f"from the runners subnet ({why})"
                )
    return problems


def environment_of(stack_name: str) -> str | None:
    """`<environment>-infra` / `<environment>-cluster` → the environment; None for bootstrap."""
    environment, _, kind = stack_name.rpartition("-")
    return environment if environment and kind in ("infra", "cluster") else None


def findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every missing link on the path from each environment's runners to what its stacks reach."""
    bootstrap = stacks["bootstrap"]
    environment_runners = runners(bootstrap)
    roles = {**ROLE_DATA_ACTIONS, **custom_roles(stacks)}
    problems: list[str] = egress_findings(bootstrap)
    for stack_name, stack in sorted(stacks.items()):
        environment = environment_of(stack_name)
        if environment is None:
            continue
        runner = environment_runners.get(environment)
        if runner is None:
            problems.append(f"{stack_name}: no runner for environment {environment} in the bootstrap stack")
            continue
        infra = stacks.get(f"{environment}-infra", {})
        peerings = _peerings(bootstrap, runner.subscription_id) | _peerings(infra, runner.subscription_id)
        endpoints: list[Endpoint] = []
        backend = stack.get("terraform", {}).get("backend", {}).get("azurerm")
        if backend is None:
            problems.append(f"{stack_name}: no azurerm backend (state would be local to the runner)")
        else:
            state = _state_endpoint(bootstrap, backend)
            if state is None:
                problems.append(f"{stack_name}: state account {backend['storage_account_name']} is not in bootstrap")
            else:
                endpoints.append(state)
        if stack_name.endswith("-infra"):
            endpoints += _key_vault_endpoints(stack)
        if stack_name.endswith("-cluster") and "kubernetes" in stack.get("provider", {}):
            aks = _aks_endpoints(infra, stack)
            if not aks:
                problems.append(f"{stack_name}: talks to a cluster but {environment}-infra declares none")
            endpoints += aks
        for endpoint in endpoints:
            problems += _endpoint_findings(stack_name, runner, endpoint, peerings, roles, bootstrap)
    problems += runner_image_findings(bootstrap)  # the runners themselves start: their image is pulled privately
    problems += runner_credential_findings(bootstrap)  # ...and read their GitHub App key from their vault
    return problems


# Roles whose actions include Microsoft.ContainerRegistry/registries/pull/read (the built-ins meant for pulling).
IMAGE_PULL_ROLES = frozenset({"AcrPull", "AcrPush"})
REGISTRY_ZONE = "privatelink.azurecr.io"


def runner_image_findings(bootstrap: StackJson) -> list[str]:
    """Every runner job pulls its image privately: from a registry of the bootstrap stack with a private endpoint
    (`registry`) in a VNet the runners reach, `privatelink.azurecr.io` linked to the runners' VNet, and the job's
    registry identity (one of the job's own identities) holding AcrPull on that registry."""
    problems: list[str] = []
    runner_of = runners(bootstrap)
    for job_key, job in sorted(_resources(bootstrap, "azurerm_container_app_job").items()):
        environment = job["provider"].removeprefix("azurerm.")
        runner = runner_of[environment]
        where = f"bootstrap: runner image of {job.get('name', job_key)}"
        registries = _blocks(job.get("registry"))
        images = [
            container.get("image", "")
            for kind in ("init_container", "container")  # the register init container runs the same image
            for container in _blocks(job["template"].get(kind))
        ]
        if not registries:
            problems.append(f"{where}: the job names no registry (it would pull anonymously from a public one)")
            continue
        for registry in registries:
            server = parse_ref(registry.get("server"))
            if server is None or server.type != "azurerm_container_registry" or server.attribute != "login_server":
                problems.append(
                    f"{where}: pulls from {registry.get('server')!r}, not from a registry of the bootstrap stack "
                    "(no private path to it can be shown)"
                )
                continue
            if not all(str(image).startswith(str(registry["server"]) + "/") for image in images):
                problems.append(f"{where}: images {images} are not in the registry {registry['server']}")
            resource_ref = f"${{azurerm_container_registry.{server.name}.id}}"
            endpoint = Endpoint(f"registry {server.name}", bootstrap, resource_ref, "registry", REGISTRY_ZONE, {})
            peerings = _peerings(bootstrap, runner.subscription_id)
            problems += _endpoint_findings(where, runner, endpoint, peerings, {})
            identity = registry.get("identity")
            job_identities = _blocks(job.get("identity"))
            if not identity or not any(identity in block.get("identity_ids", []) for block in job_identities):
                problems.append(f"{where}: the registry identity {identity!r} is not one of the job's identities")
                continue
            principal = str(identity).removesuffix(".id}") + ".principal_id}"
            held = [
                assignment
                for assignment in _resources(bootstrap, "azurerm_role_assignment").values()
                if assignment["principal_id"] == principal
                and assignment.get("role_definition_name") in IMAGE_PULL_ROLES
                and _scope_covers(str(assignment["scope"]), resource_ref, runner.subscription_id)
            ]
            if not held:
                problems.append(f"{where}: the pull identity {identity} holds no AcrPull on registry {server.name}")
    return problems


# Built-in roles whose data actions include Microsoft.KeyVault/vaults/secrets/getSecret/action.
SECRET_READ_ROLES = frozenset({"Key Vault Secrets User", "Key Vault Secrets Officer", "Key Vault Administrator"})
VAULT_ZONE = "privatelink.vaultcore.azure.net"


def runner_credential_findings(bootstrap: StackJson) -> list[str]:
    """Every runner job's Key Vault reference resolves: the vault is a bootstrap vault with a private endpoint
    (`vault`) the runners reach, `privatelink.vaultcore.azure.net` linked to their VNet, and the reference's identity
    is one of the job's identities and holds a secret-reading role on the vault."""
    problems: list[str] = []
    runner_of = runners(bootstrap)
    for job_key, job in sorted(_resources(bootstrap, "azurerm_container_app_job").items()):
        runner = runner_of[job["provider"].removeprefix("azurerm.")]
        where = f"bootstrap: runner credential of {job.get('name', job_key)}"
        for secret in _blocks(job.get("secret")):
            reference = str(secret.get("key_vault_secret_id") or "")
            if not reference:
                continue  # a secret by value is tools/checks/state_secrets.py's finding
            match = re.match(r"^\$\{azurerm_key_vault\.([A-Za-z0-9_-]+)\.vault_uri\}secrets/", reference)
            if match is None:
                problems.append(f"{where}: {reference!r} is not a secret of a bootstrap vault")
                continue
            resource_ref = f"${{azurerm_key_vault.{match.group(1)}.id}}"
            endpoint = Endpoint(f"vault {match.group(1)}", bootstrap, resource_ref, "vault", VAULT_ZONE, {})
            problems += _endpoint_findings(where, runner, endpoint, _peerings(bootstrap, runner.subscription_id), {})
            identity = secret.get("identity")
            if not identity or not any(identity in b.get("identity_ids", []) for b in _blocks(job.get("identity"))):
                problems.append(f"{where}: the reference's identity {identity!r} is not one of the job's identities")
                continue
            principal = str(identity).removesuffix(".id}") + ".principal_id}"
            if not any(
                assignment["principal_id"] == principal
                and assignment.get("role_definition_name") in SECRET_READ_ROLES
                and _scope_covers(str(assignment["scope"]), resource_ref, runner.subscription_id)
                for assignment in _resources(bootstrap, "azurerm_role_assignment").values()
            ):
                problems.append(f"{where}: the identity {identity} holds no secret-reading role on the vault")
    return problems


def _labels_match(label: str, runner_labels: set[str], environments: Iterable[str]) -> bool:
    """A literal label, a `erp-${{ inputs.environment }}` template or an expression naming the labels."""
    if "${{" not in label:
        return label in runner_labels
    template = re.sub(r"\$\{\{[^}]*\}\}", "{env}", label)
    if template != "{env}" and any(template.replace("{env}", env) in runner_labels for env in environments):
        return True
    return any(runner_label in label for runner_label in runner_labels)


def _value_of(job: Mapping[str, Any], workflow: Mapping[str, Any], value: str) -> str:
    """`${{ env.X }}` replaced by the job's (or workflow's) env X."""
    match = re.fullmatch(r"\$\{\{\s*env\.([A-Z0-9_]+)\s*\}\}", value.strip())
    if not match:
        return value
    return str((job.get("env") or {}).get(match.group(1), (workflow.get("env") or {}).get(match.group(1), value)))


def is_azure_login(step: Mapping[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return uses.startswith("azure/login@") or uses.endswith("/.github/actions/terraform-azure")


def workflow_findings(workflows: Mapping[str, dict[str, Any]], stacks: Mapping[str, StackJson]) -> list[str]:
    """Jobs that run Terraform with Azure credentials run on the environment's runners with the right identity.

    A job that logs in to Azure (azure/login, or the repository's `terraform-azure` action that wraps it) must
    `runs-on` the self-hosted runners' labels and take its client id from a `*PLAN_CLIENT_ID` variable when it
    runs in a `<env>-plan` GitHub environment (plans, drift: the read-only identity) or outside any, and from
    `*APPLY_CLIENT_ID` in the `<env>` environment (applies behind its reviewers).
    """
    environment_runners = runners(stacks["bootstrap"])
    all_labels = {label for runner in environment_runners.values() for label in runner.labels}
    problems = []
    for file_name, workflow in sorted(workflows.items()):
        for job_name, job in (workflow.get("jobs") or {}).items():
            logins = [step for step in job.get("steps", []) if is_azure_login(step)]
            if not logins:
                continue
            runs_on = job.get("runs-on")
            labels = [runs_on] if isinstance(runs_on, str) else [str(label) for label in runs_on or []]
            where = f"{file_name} job {job_name}"
            if "self-hosted" not in labels:
                problems.append(f"{where}: logs in to Azure but runs on {labels}, not the self-hosted runners")
            others = [label for label in labels if label != "self-hosted"]
            if not others or not all(_labels_match(label, all_labels, environment_runners) for label in others):
                problems.append(f"{where}: runs-on {labels} matches no runner label {sorted(all_labels)}")
            environment = str(job.get("environment", ""))
            expected = "APPLY_CLIENT_ID" if environment and not environment.endswith("-plan") else "PLAN_CLIENT_ID"
            for step in logins:
                client_id = _value_of(job, workflow, str((step.get("with") or {}).get("client-id", "")))
                used = set(re.findall(r"vars\.([A-Z0-9_]+)", client_id))
                if not used or not all(name.endswith(expected) for name in used):
                    problems.append(f"{where}: azure/login client-id {client_id!r} is not a vars.*{expected}")
    return problems


def load_stacks(synth_dir: Path) -> dict[str, StackJson]:
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted((synth_dir / "stacks").glob("*/cdk.tf.json"))
    }


def main(argv: list[str]) -> int:
    synth_dir = Path(argv[0]) if argv else Path("cdktf.out")
    problems = findings(load_stacks(synth_dir))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} missing link(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
