"""What each stack reaches through a data plane (state blob, Key Vault, AKS API) and each link of the runners' path
to it: private endpoint in a reachable VNet, privatelink zone linked, a role granting the data actions."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tools.checks.deployability.model import (
    BLOB_READ,
    BLOB_WRITE,
    CERTIFICATES_CREATE,
    CERTIFICATES_READ,
    K8S_READ,
    K8S_READ_RBAC,
    K8S_WRITE,
    K8S_WRITE_RBAC,
    KEYS_CREATE,
    KEYS_READ,
    KNOWN_DATA_ACTIONS,
    RBAC_KUBERNETES_TYPES,
    Runner,
    StackJson,
    blocks,
    literal_value,
    parse_ref,
    resources_of,
    subnet_vnet,
    vnet_id_of,
)


@dataclass(frozen=True)
class Endpoint:
    what: str  # e.g. "state blob of stgtfstateerp01"
    stack_json: StackJson  # the stack that declares the resource, its endpoint, zones and roles
    resource_ref: str  # "${type.name.id}" of the resource inside stack_json
    subresource: str | None  # the private endpoint sub-resource; None when Azure creates the endpoint (AKS)
    zone: str  # privatelink zone name the runner must resolve
    needs: Mapping[str, frozenset[str]]  # role (plan/apply) -> data actions
    target: str = ""  # the data path's target (constructs/data_paths.py): state, registry, key_vault, aks_api
    container: str = ""  # a state endpoint's container: a role on another container of the account does not count


def private_endpoints_of(endpoint: Endpoint) -> list[dict[str, Any]]:
    """The private endpoints connected to the endpoint's resource and sub-resource, one per matching connection."""
    return [
        private_endpoint
        for private_endpoint in resources_of(endpoint.stack_json, "azurerm_private_endpoint").values()
        for connection in blocks(private_endpoint.get("private_service_connection"))
        if connection.get("private_connection_resource_id") == endpoint.resource_ref
        and endpoint.subresource in connection.get("subresource_names", [])
    ]


def _private_endpoint_vnets(endpoint: Endpoint, subscription: str) -> tuple[list[str], list[str]]:
    """(VNets holding a private endpoint for the resource, the zone ids those endpoints register in)."""
    stack = endpoint.stack_json
    vnets: list[str] = []
    zones: list[str] = []
    if endpoint.subresource is None:  # AKS: the API server endpoint sits in the default node pool's subnet
        ref = parse_ref(endpoint.resource_ref)
        cluster = resources_of(stack, ref.type)[ref.name]  # type: ignore[union-attr]
        pool = blocks(cluster.get("default_node_pool"))[0]
        vnet = subnet_vnet(stack, subscription, pool.get("vnet_subnet_id"))
        if vnet and cluster.get("private_cluster_enabled"):
            vnets.append(vnet)
            zones.append(str(cluster.get("private_dns_zone_id")))
        return vnets, zones
    for private_endpoint in private_endpoints_of(endpoint):
        vnet = subnet_vnet(stack, subscription, private_endpoint["subnet_id"])
        if vnet:
            vnets.append(vnet)
            for group in blocks(private_endpoint.get("private_dns_zone_group")):
                zones.extend(group.get("private_dns_zone_ids", []))
    return vnets, zones


def _zone_linked(stack: StackJson, subscription: str, zone_ids: Iterable[object], zone: str, vnet_id: str) -> bool:
    for zone_id in zone_ids:
        ref = parse_ref(zone_id)
        if ref is None or ref.type != "azurerm_private_dns_zone":
            continue
        zone_resource = resources_of(stack, ref.type).get(ref.name, {})
        if zone_resource.get("name") != zone:
            continue
        for link in resources_of(stack, "azurerm_private_dns_zone_virtual_network_link").values():
            linked_zone = parse_ref(link["private_dns_zone_name"])
            same_zone = (linked_zone is not None and linked_zone.name == ref.name) or (
                link["private_dns_zone_name"] == zone
            )
            if same_zone and vnet_id_of(stack, subscription, link["virtual_network_id"]) == vnet_id:
                return True
    return False


def principal_identity(stack: StackJson, value: object) -> str | None:
    """The name of the user-assigned identity a role assignment's principal_id refers to."""
    ref = parse_ref(value)
    if ref is None or ref.type != "azurerm_user_assigned_identity" or ref.attribute != "principal_id":
        return None
    source = stack.get("data", {}) if ref.data else stack.get("resource", {})
    identity = source.get(ref.type, {}).get(ref.name)
    return None if identity is None else str(literal_value(stack, identity.get("name")))


def scope_covers(scope: str, resource_ref: str, subscription: str) -> bool:
    target = resource_ref.removesuffix("}")
    if scope == resource_ref or scope.startswith(f"{target}/") or scope.startswith(target + "}/"):
        return True
    return scope in (f"/subscriptions/{subscription}", f"/subscriptions/{subscription}/")


def custom_roles(stacks: Mapping[str, StackJson]) -> dict[str, frozenset[str]]:
    """Custom role definitions of every stack: name -> the known data actions their patterns grant."""
    found: dict[str, frozenset[str]] = {}
    for stack in stacks.values():
        for definition in resources_of(stack, "azurerm_role_definition").values():
            granted: set[str] = set()
            for permissions in blocks(definition.get("permissions")):
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
    for assignment in resources_of(stack, "azurerm_role_assignment").values():
        if principal_identity(stack, assignment["principal_id"]) != identity:
            continue
        scope = str(assignment["scope"])
        if endpoint.subresource == "blob":  # the state container scope: "${account.id}/blobServices/default/..."
            in_account = scope.startswith(endpoint.resource_ref.removesuffix("}"))
            other_container = "/containers/" in scope and not scope.endswith(f"/containers/{endpoint.container}")
            covers = (in_account and not other_container) or scope in (
                f"/subscriptions/{subscription}",
                f"/subscriptions/{subscription}/",
            )
        else:
            covers = scope_covers(scope, endpoint.resource_ref, subscription)
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
        for record in resources_of(endpoint.stack_json, "azurerm_private_dns_a_record").values()
    )
    if not recorded:
        return False
    for key, zone in resources_of(bootstrap, "azurerm_private_dns_zone").items():
        if zone.get("name") != endpoint.zone:
            continue
        zone_id = f"${{azurerm_private_dns_zone.{key}.id}}"
        if resources_of(bootstrap, "azurerm_private_dns_zone").get(key) and _zone_linked(
            bootstrap, runner.subscription_id, [zone_id], endpoint.zone, runner.vnet_id
        ):
            group = literal_value(bootstrap, zone.get("resource_group_name"))
            if group == runner_group:
                return True
    return False


def endpoint_findings(
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


def state_endpoint(
    bootstrap: StackJson, backend: Mapping[str, Any], *, planned_by_apply: bool = False
) -> Endpoint | None:
    """`planned_by_apply`: the stack is planned by the apply identity too (the alerting stack), so the plan identity
    needs nothing on its container (and must have nothing: tools/checks/state_secrets.py)."""
    # Plans run with -lock=false: they read the state and write nothing (no lease either).
    needs = {"apply": frozenset({BLOB_READ, BLOB_WRITE})}
    if not planned_by_apply:
        needs["plan"] = frozenset({BLOB_READ})
    for key, account in resources_of(bootstrap, "azurerm_storage_account").items():
        if account["name"] == backend["storage_account_name"]:
            return Endpoint(
                f"state blob of {account['name']}",
                bootstrap,
                f"${{azurerm_storage_account.{key}.id}}",
                "blob",
                "privatelink.blob.core.windows.net",
                needs,
                "state",
                str(backend.get("container_name", "")),
            )
    return None


def key_vault_endpoints(infra: StackJson) -> list[Endpoint]:
    endpoints = []
    for key, vault in resources_of(infra, "azurerm_key_vault").items():
        ref = f"${{azurerm_key_vault.{key}.id}}"
        holds = {
            type_
            for type_ in ("azurerm_key_vault_key", "azurerm_key_vault_certificate")
            for item in resources_of(infra, type_).values()
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
                "key_vault",
            )
        )
    return endpoints


def aks_endpoints(infra: StackJson, cluster_stack: StackJson) -> list[Endpoint]:
    """The AKS API: plans read and applies write every kind of object the cluster stack manages."""
    manages_rbac = any(kind.startswith(RBAC_KUBERNETES_TYPES) for kind in cluster_stack.get("resource", {}))
    read = {K8S_READ, K8S_READ_RBAC} if manages_rbac else {K8S_READ}
    write = {K8S_WRITE, K8S_WRITE_RBAC} if manages_rbac else {K8S_WRITE}
    endpoints = []
    for key, cluster in resources_of(infra, "azurerm_kubernetes_cluster").items():
        zone_ref = parse_ref(cluster.get("private_dns_zone_id"))
        zones = resources_of(infra, "azurerm_private_dns_zone")
        zone = zones.get(zone_ref.name, {}).get("name", "?") if zone_ref else "?"
        endpoints.append(
            Endpoint(
                f"AKS API of {cluster['name']}",
                infra,
                f"${{azurerm_kubernetes_cluster.{key}.id}}",
                None,
                str(zone),
                {"plan": frozenset(read), "apply": frozenset(read | write)},
                "aks_api",
            )
        )
    return endpoints
