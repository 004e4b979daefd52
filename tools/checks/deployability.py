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
  registry identity; and every container's args name a mode `runner-image/entrypoint.sh` implements, one of which
  starts the runner (`runner_mode_findings`).
- **for each endpoint, each link of the path**: a private endpoint for the resource (right sub-resource) in a
  VNet the runner reaches (the runner's own, or peered in both directions); the privatelink zone the endpoint
  registers in, linked to the runner's VNet; a role assignment for the identity, at a scope covering the
  resource, whose role grants the data actions needed.

- **runner egress** (`egress_findings`): the runners subnet's default route goes to an Azure Firewall in the
  runner VNet, whose policy allows each host of constructs/egress_hosts.py on HTTPS 443 from the runners subnet,
  has no allow-all rule (`*` host, `*` / 0.0.0.0/0 / Internet destination, `*` port), and nothing goes around it
  (a NAT gateway, default outbound access, a route to Internet).

- **the NSGs on every data path** (`network_path_findings`, paths and ports from constructs/data_paths.py):
  runners -> state blob, runner registry, Key Vault endpoints, AKS API; nodes -> VNet-integrated API server (443,
  4443). Source subnet outbound, then destination subnet inbound, each in priority order with Azure's default
  rules; `VirtualNetwork` = the NSG's VNet and its peers, `Internet` = outside it, other service tags match no
  subnet; a private endpoint's subnet NSG counts only when its endpoint network policies enable NSGs.
- **job images** (`job_image_findings`): each Job/CronJob command and every command its mounted script calls is in
  the image (constructs/baseline/image_contents.py, sourced per image; the source behind `az acr import`).
- **validity windows** (`validity_findings`): a key pinned by version (AKS KMS) keeps rotated-out versions valid
  PINNED_VERSION_MIN_OVERLAP_DAYS; an auto-renewed certificate is consumed only through its versionless secret id.
- **races** (`ordering_findings`): feature-gated attributes wait for the feature registration; data-plane writes
  wait for the runner peerings; backup instances wait for a time_sleep after their role assignments.
- **what the plan identity reads** (`plan_read_findings`): each Kubernetes kind the cluster stack manages against
  the plan identity's roles on the cluster (data action patterns); azurerm reads beyond Reader.
- **bootstrap's migrated state** (`bootstrap_state_findings`): a blob data role for the operators.
- **tokens** (`token_findings`, over the workflows): minutes from azure/login to the last step that asks the CLI
  for a new token, against the OIDC assertion's lifetime, with estimated minutes per step kind.

`findings(stacks)` returns every missing link as a sentence naming the stack, endpoint and link. The test
(tests/assurance/test_deployability.py) asserts there are none and that removing a peering, a zone link or a
role produces the matching finding. Usage: python -m tools.checks.deployability [cdktf.out]
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

from tools.checks.runner_entrypoint import Mode
from tools.checks.runner_entrypoint import modes as entrypoint_modes

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
    target: str = ""  # the data path's target (constructs/data_paths.py): state, registry, key_vault, aks_api


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
                "state",
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
                "key_vault",
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
                "aks_api",
            )
        )
    return endpoints


# --- Runner egress (docs/zero-to-running.md "Runner network and egress") ------------------------------------------
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
    problems += runner_mode_findings(bootstrap)  # ...and call modes their image's entrypoint implements
    problems += network_path_findings(stacks)  # and the NSGs on the way let every data path through
    problems += job_image_findings(stacks)  # the cluster jobs' images hold what their scripts call
    problems += validity_findings(stacks)  # and no key or certificate version expires under a consumer
    problems += ordering_findings(stacks)  # and the first apply does not race what Azure checks at create time
    problems += plan_read_findings(stacks)  # and the plan identity can refresh everything each stack manages
    problems += bootstrap_state_findings(stacks)  # and the operator can run bootstrap once its state is migrated
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


def runner_mode_findings(bootstrap: StackJson, modes: Mapping[str, Mode] | None = None) -> list[str]:
    """Every container of every runner job calls a mode runner-image/entrypoint.sh implements (its args' first word;
    `modes` defaults to the script's own), and some container of the job runs the runner (a mode that runs jobs)."""
    implemented = entrypoint_modes() if modes is None else modes
    problems: list[str] = []
    for job_key, job in sorted(_resources(bootstrap, "azurerm_container_app_job").items()):
        where = f"bootstrap: runner job {job.get('name', job_key)}"
        called, unknown = [], []
        for kind in ("init_container", "container"):
            for container in _blocks(job["template"].get(kind)):
                args = [str(arg) for arg in container.get("args") or []]
                mode = implemented.get(args[0]) if args else None
                if mode is None:
                    unknown.append(
                        f"{where}: {kind} {container.get('name')} calls runner-entrypoint.sh {' '.join(args)!r}, a "
                        f"mode runner-image/entrypoint.sh does not implement ({', '.join(sorted(implemented))})"
                    )
                else:
                    called.append(mode)
        problems += unknown
        if not unknown and not any(mode.runs_jobs for mode in called):
            problems.append(f"{where}: no container runs the runner (a mode that starts run.sh): it takes no job")
    return problems


# --- Effective NSG rules on every data path (constructs/data_paths.py) ------------------------------------------
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
        association = _resources(stack, ref.type).get(ref.name, {})
        ref = parse_ref(association.get("subnet_id"))
    return ref.name if ref is not None and ref.name in _resources(stack, "azurerm_subnet") else None


def _nsg_rules(stack: StackJson, nsg_key: str) -> tuple[dict[str, Any], ...]:
    group = _resources(stack, "azurerm_network_security_group").get(nsg_key, {})
    rules = [*_blocks(group.get("security_rule"))]
    name_ref = f"${{azurerm_network_security_group.{nsg_key}.name}}"
    rules += [
        rule
        for rule in _resources(stack, "azurerm_network_security_rule").values()
        if rule.get("network_security_group_name") in (name_ref, group.get("name"))
    ]
    return tuple(rules)


def subnet_of(stacks: Mapping[str, StackJson], stack_name: str, value: object, subscription: str) -> Subnet | None:
    stack = stacks[stack_name]
    key = _subnet_key(stack, value)
    if key is None:
        return None
    subnet = _resources(stack, "azurerm_subnet")[key]
    subnet_ref = f"${{azurerm_subnet.{key}.id}}"
    nsg_key = next(
        (
            parse_ref(association["network_security_group_id"]).name  # type: ignore[union-attr]
            for association in _resources(stack, "azurerm_subnet_network_security_group_association").values()
            if association.get("subnet_id") == subnet_ref and parse_ref(association.get("network_security_group_id"))
        ),
        None,
    )
    nsg = _resources(stack, "azurerm_network_security_group").get(nsg_key or "", {})
    return Subnet(
        stack_name,
        key,
        str(subnet.get("name")),
        tuple(str(p) for p in subnet.get("address_prefixes", [])),
        str(_subnet_vnet(stack, subscription, subnet_ref)),
        None if nsg_key is None else str(nsg.get("name", nsg_key)),
        () if nsg_key is None else _nsg_rules(stack, nsg_key),
        subnet.get("private_endpoint_network_policies"),
    )


def vnet_spaces(stacks: Iterable[StackJson], subscription: str) -> dict[str, tuple[str, ...]]:
    """ARM id -> address space of every VNet of the stacks (literal names and groups)."""
    spaces: dict[str, tuple[str, ...]] = {}
    for stack in stacks:
        for key, vnet in _resources(stack, "azurerm_virtual_network").items():
            spaces[_vnet_arm_id(stack, subscription, key)] = tuple(vnet.get("address_space", []))
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
        cluster = _resources(stack, ref.type)[ref.name]  # type: ignore[union-attr]
        profile = _blocks(cluster.get("api_server_access_profile"))
        integrated = profile and profile[0].get("virtual_network_integration_enabled") and profile[0].get("subnet_id")
        value = (
            profile[0]["subnet_id"]
            if integrated
            else _blocks(cluster.get("default_node_pool"))[0].get("vnet_subnet_id")
        )
        subnet = subnet_of(stacks, stack_name, value, subscription)
        return [(subnet, not integrated)] if subnet else []
    for private_endpoint in _resources(stack, "azurerm_private_endpoint").values():
        for connection in _blocks(private_endpoint.get("private_service_connection")):
            if connection.get("private_connection_resource_id") != endpoint.resource_ref:
                continue
            if endpoint.subresource not in connection.get("subresource_names", []):
                continue
            subnet = subnet_of(stacks, stack_name, private_endpoint["subnet_id"], subscription)
            if subnet:
                found.append((subnet, True))
    return found


def _node_subnet_values(infra: StackJson, cluster_key: str) -> list[object]:
    cluster = _resources(infra, "azurerm_kubernetes_cluster")[cluster_key]
    values = [pool.get("vnet_subnet_id") for pool in _blocks(cluster.get("default_node_pool"))]
    cluster_ref = f"${{azurerm_kubernetes_cluster.{cluster_key}.id}}"
    values += [
        pool.get("vnet_subnet_id")
        for pool in _resources(infra, "azurerm_kubernetes_cluster_node_pool").values()
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
    runner_subnets = _runner_subnets(bootstrap)
    for environment, runner in sorted(runners(bootstrap).items()):
        subscription = runner.subscription_id
        infra = stacks.get(f"{environment}-infra", {})
        cluster_stack = stacks.get(f"{environment}-cluster", {})
        peerings = _peerings(bootstrap, subscription) | _peerings(infra, subscription)
        spaces = vnet_spaces((bootstrap, infra), subscription)
        source = subnet_of(
            stacks, "bootstrap", f"${{azurerm_subnet.{runner_subnets.get(environment)}.id}}", subscription
        )
        if source is None:
            problems.append(f"{environment}: the runners' subnet is not found: no network path can be shown")
            continue
        endpoints: list[Endpoint] = []
        for stack_name in (f"{environment}-infra", f"{environment}-cluster"):
            backend = stacks.get(stack_name, {}).get("terraform", {}).get("backend", {}).get("azurerm")
            state = _state_endpoint(bootstrap, backend) if backend else None
            if state is not None and all(e.what != state.what for e in endpoints):
                endpoints.append(state)
        registries = {
            parse_ref(registry.get("server")).name  # type: ignore[union-attr]
            for job in _resources(bootstrap, "azurerm_container_app_job").values()
            if job["provider"] == f"azurerm.{environment}"
            for registry in _blocks(job.get("registry"))
            if parse_ref(registry.get("server"))
        }
        endpoints += [
            Endpoint(f"registry {name}", bootstrap, f"${{azurerm_container_registry.{name}.id}}", "registry",
                     REGISTRY_ZONE, {}, "registry")
            for name in sorted(registries)
        ]  # fmt: skip
        endpoints += _key_vault_endpoints(infra)
        if "kubernetes" in cluster_stack.get("provider", {}):
            endpoints += _aks_endpoints(infra, cluster_stack)
        for endpoint in endpoints:
            where = f"{environment}: runners -> {endpoint.what}"
            ports = ports_of.get(("runners", endpoint.target))
            if ports is None:
                problems.append(f"{where}: no data path runners -> {endpoint.target} in constructs/data_paths.py")
                continue
            for destination, is_endpoint in _endpoint_subnets(stacks, endpoint, subscription):
                problems += path_findings(where, source, destination, ports, spaces, peerings, is_endpoint)
        for key, cluster in sorted(_resources(infra, "azurerm_kubernetes_cluster").items()):
            profile = _blocks(cluster.get("api_server_access_profile"))
            if not (profile and profile[0].get("virtual_network_integration_enabled")):
                continue
            api_subnet = subnet_of(stacks, f"{environment}-infra", profile[0].get("subnet_id"), subscription)
            if api_subnet is None:
                continue
            for value in _node_subnet_values(infra, key):
                nodes = subnet_of(stacks, f"{environment}-infra", value, subscription)
                if nodes is not None:
                    where = f"{environment}: nodes -> API server of {cluster.get('name')}"
                    problems += path_findings(
                        where, nodes, api_subnet, ports_of[("nodes", "aks_api")], spaces, peerings
                    )
    return problems


# --- Job images hold what their commands call (constructs/baseline/image_contents.py) ----------------------------
SHELL_WORDS = frozenset(
    [
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "for",
        "in",
        "do",
        "done",
        "while",
        "until",
        "case",
        "esac",
        "function",
        "return",
        "exit",
        "set",
        "shift",
        "export",
        "local",
        "read",
        "echo",
        "printf",
        "test",
        "[",
        "eval",
        "exec",
        "cd",
        "pwd",
        "true",
        "false",
        ":",
        ".",
        "trap",
        "wait",
        "unset",
        "break",
        "continue",
    ]
)  # POSIX sh keywords and builtins: need no binary
_COMMAND_POSITION = re.compile(
    r"(?:^|[|;&()`]|(?<!\$)\{|\b(?:do|then|else|if|while|until)\b|!)[ \t]*([A-Za-z_][A-Za-z0-9_.-]*|\[)"
    r"(?![A-Za-z0-9_.=-])",
    re.MULTILINE,
)
_FUNCTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)", re.MULTILINE)


def script_commands(script: str) -> set[str]:
    """The external commands a POSIX sh script calls: words in command position (also inside double-quoted
    `eval` strings), less shell keywords, builtins, the script's own functions and variable assignments.
    Single-quoted text is data (jsonpath, patterns) and comments are not code."""
    lines = [line for line in script.replace("\\\n", " ").splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"'[^']*'", "''", "\n".join(lines))
    text = re.sub(r"\s#[^\n]*", "", text).replace('\\"', '"').replace("\\$", "$")
    functions = set(_FUNCTION.findall(text))
    return {word for word in _COMMAND_POSITION.findall(text) if word not in SHELL_WORDS | functions}


def _image_sources(infra: StackJson) -> dict[str, str]:
    """Target repository:tag in the environment's registry -> the public image `az acr import` copied."""
    found = {}
    for data in _resources(infra, "terraform_data").values():
        triggers = data.get("triggers_replace")
        if isinstance(triggers, list) and len(triggers) == 2 and "az acr import" in json.dumps(data):
            found[str(triggers[1])] = str(triggers[0])
    return found


def _pod_specs(stack: StackJson) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for key, job in _resources(stack, "kubernetes_cron_job_v1").items():
        for job_spec in _blocks(job["spec"].get("job_template")):
            for inner in _blocks(job_spec.get("spec")):
                for template in _blocks(inner.get("template")):
                    specs += [(f"CronJob {job['metadata'].get('name', key)}", s) for s in _blocks(template.get("spec"))]
    for key, job in _resources(stack, "kubernetes_job_v1").items():
        for template in _blocks(job["spec"].get("template")):
            specs += [(f"Job {job['metadata'].get('name', key)}", s) for s in _blocks(template.get("spec"))]
    return specs


def _mounted_scripts(stack: StackJson, spec: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, str]:
    """Path -> text of every file a container sees from a ConfigMap volume of the stack."""
    maps = {
        f"${{kubernetes_config_map_v1.{key}.metadata[0].name}}": value.get("data", {})
        for key, value in _resources(stack, "kubernetes_config_map_v1").items()
    }
    maps |= {
        value["metadata"].get("name"): value.get("data", {})
        for value in _resources(stack, "kubernetes_config_map_v1").values()
    }
    volumes = {
        volume["name"]: maps.get(str(config_map.get("name")), {})
        for volume in _blocks(spec.get("volume"))
        for config_map in _blocks(volume.get("config_map"))
    }
    files = {}
    for mount in _blocks(container.get("volume_mount")):
        for name, text in volumes.get(mount.get("name"), {}).items():
            files[f"{mount['mount_path'].rstrip('/')}/{name}"] = str(text)
    return files


def job_image_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every Job/CronJob container of the cluster stacks runs an image of the table whose binaries include its
    command and, when the command is a shell running a mounted script, every command of that script."""
    from constructs.baseline.image_contents import IMAGE_CONTENTS, repository_of

    problems = []
    for stack_name, stack in sorted(stacks.items()):
        if not stack_name.endswith("-cluster"):
            continue
        sources = _image_sources(stacks.get(stack_name.replace("-cluster", "-infra"), {}))
        for what, spec in _pod_specs(stack):
            for container in [*_blocks(spec.get("init_container")), *_blocks(spec.get("container"))]:
                where = f"{stack_name}: {what} container {container.get('name')}"
                image = str(container.get("image", ""))
                in_registry = image.split("/", 1)[1] if "/" in image else image
                source = sources.get(in_registry, image)
                contents = IMAGE_CONTENTS.get(repository_of(source))
                if contents is None:
                    problems.append(f"{where}: image {source} is not in constructs/baseline/image_contents.py")
                    continue
                command = [str(part) for part in container.get("command") or []]
                if not command:
                    continue
                needed = {command[0].rsplit("/", 1)[-1]}
                scripts = _mounted_scripts(stack, spec, container)
                if needed <= {"sh", "ash", "bash"} and len(command) > 1 and command[1] in scripts:
                    needed |= script_commands(scripts[command[1]])
                missing = sorted(needed - contents.binaries)
                if missing:
                    problems.append(
                        f"{where}: runs {' '.join(command)} on {source}, which lacks {', '.join(missing)} "
                        f"({contents.source})"
                    )
    return problems


# --- Key and certificate versions stay valid as long as their consumers use them ---------------------------------
_ISO_DAYS = re.compile(r"^P(\d+)D$")
# Attributes naming ONE version of a key/certificate: a consumer holding one keeps that version after a rotation.
VERSIONED_KEY_ATTRIBUTES = ("id",)
VERSIONED_CERTIFICATE_ATTRIBUTES = ("secret_id", "certificate_data", "certificate_data_base64", "version", "id")


def _iso_days(value: object) -> int | None:
    match = _ISO_DAYS.match(str(value or ""))
    return int(match.group(1)) if match else None


def _references(value: object, type_: str, name: str, attributes: Iterable[str]) -> bool:
    text = json.dumps(value)
    return any(
        f"{type_}.{name}.{attribute}}}" in text or f"{type_}.{name}.{attribute}," in text for attribute in attributes
    )


def validity_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every key or certificate version stays valid while a consumer pinned to it still uses it:

    - a Key Vault key whose versioned `id` a resource consumes (AKS KMS) keeps each rotated-out version valid at
      least PINNED_VERSION_MIN_OVERLAP_DAYS (config/data.py) after its successor appears (`time_before_expiry`, or
      `expire_after - time_after_create`), the window for the apply that moves the consumer;
    - a Key Vault certificate that Key Vault auto-renews is consumed only through its versionless secret id: a
      consumer of one version's data or secret id keeps trusting or serving the old one after the renewal."""
    from config.data import PINNED_VERSION_MIN_OVERLAP_DAYS

    problems = []
    for stack_name, stack in sorted(stacks.items()):
        resources = stack.get("resource", {})
        consumers = [
            (type_, key, body)
            for type_, items in resources.items()
            for key, body in items.items()
            if type_ not in ("azurerm_key_vault_key", "azurerm_key_vault_certificate", "azurerm_role_assignment")
        ]
        for key, item in sorted(_resources(stack, "azurerm_key_vault_key").items()):
            pinned_by = [
                f"{type_}.{name}"
                for type_, name, body in consumers
                if _references(body, "azurerm_key_vault_key", key, VERSIONED_KEY_ATTRIBUTES)
            ]
            if not pinned_by:
                continue
            policy = (_blocks(item.get("rotation_policy")) or [{}])[0]
            automatic = (_blocks(policy.get("automatic")) or [{}])[0]
            expire = _iso_days(policy.get("expire_after"))
            before = _iso_days(automatic.get("time_before_expiry"))
            after_create = _iso_days(automatic.get("time_after_create"))
            overlap = before if before is not None else (expire - after_create if expire and after_create else None)
            if expire is not None and (overlap is None or overlap < PINNED_VERSION_MIN_OVERLAP_DAYS):
                problems.append(
                    f"{stack_name}: key {item.get('name')} is pinned by version ({', '.join(pinned_by)}) but a rotated-"
                    f"out version stays valid only {overlap} day(s) after its successor (expire_after "
                    f"{policy.get('expire_after')}): less than the {PINNED_VERSION_MIN_OVERLAP_DAYS} days an apply "
                    "may take to move the consumer"
                )
        for key, item in sorted(_resources(stack, "azurerm_key_vault_certificate").items()):
            policy = (_blocks(item.get("certificate_policy")) or [{}])[0]
            renews = any(
                (_blocks(action.get("action")) or [{}])[0].get("action_type") == "AutoRenew"
                for action in _blocks(policy.get("lifetime_action"))
            )
            pinned_by = [
                f"{type_}.{name}"
                for type_, name, body in consumers
                if _references(body, "azurerm_key_vault_certificate", key, VERSIONED_CERTIFICATE_ATTRIBUTES)
            ]
            if renews and pinned_by:
                problems.append(
                    f"{stack_name}: certificate {item.get('name')} is renewed by Key Vault (AutoRenew) but "
                    f"{', '.join(pinned_by)} uses one version of it (not versionless_secret_id): after the renewal it "
                    "keeps the old certificate until the next apply"
                )
    return problems


# --- Races: what Azure checks at create time is created first -----------------------------------------------------
# Subscription features a resource attribute needs Registered (constructs/resource_providers.py REQUIRED_FEATURES).
FEATURE_OF_ATTRIBUTE = {"host_encryption_enabled": ("Microsoft.Compute", "EncryptionAtHost")}
BACKUP_INSTANCE_PREFIX = "azurerm_data_protection_backup_instance_"


def _uses_attribute(body: object, attribute: str) -> bool:
    if isinstance(body, dict):
        return body.get(attribute) is True or any(_uses_attribute(v, attribute) for v in body.values())
    if isinstance(body, list):
        return any(_uses_attribute(v, attribute) for v in body)
    return False


def ordering_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Races of a first apply, per environment:

    - a resource using a feature-gated attribute (host encryption) depends on that feature's registration;
    - every Key Vault key and certificate (written through the data plane from the runner) depends on every peering
      between the runner network and the environment's networks, not only on the endpoint and its DNS;
    - every backup instance depends on a `time_sleep` that starts after all the role assignments it depends on
      (Azure validates the vault's permissions when the instance is created)."""
    problems = []
    bootstrap = stacks["bootstrap"]
    environment_runners = runners(bootstrap)
    for stack_name, stack in sorted(stacks.items()):
        resources = stack.get("resource", {})
        registrations = {
            (body.get("provider_name"), body.get("name")): f"azurerm_resource_provider_feature_registration.{key}"
            for key, body in _resources(stack, "azurerm_resource_provider_feature_registration").items()
        }
        for type_, items in sorted(resources.items()):
            for key, body in sorted(items.items()):
                for attribute, feature in FEATURE_OF_ATTRIBUTE.items():
                    if _uses_attribute(body, attribute) and registrations.get(feature) not in body.get(
                        "depends_on", []
                    ):
                        problems.append(
                            f"{stack_name}: {type_}.{key} sets {attribute} but does not wait for the registration of "
                            f"the subscription feature {'/'.join(feature)}"
                        )
        environment = environment_of(stack_name)
        runner = environment_runners.get(environment or "")
        if runner is not None and stack_name.endswith("-infra"):
            runner_peerings = sorted(
                f"azurerm_virtual_network_peering.{key}"
                for key, peering in _resources(stack, "azurerm_virtual_network_peering").items()
                if runner.vnet_id
                in (
                    _vnet_id_of(stack, runner.subscription_id, peering.get("remote_virtual_network_id")),
                    vnet_arm_id(
                        runner.subscription_id,
                        _literal(stack, peering.get("resource_group_name")),
                        _literal(stack, peering.get("virtual_network_name")),
                    ),
                )
            )
            for type_ in ("azurerm_key_vault_key", "azurerm_key_vault_certificate"):
                for key, body in sorted(_resources(stack, type_).items()):
                    missing = [p for p in runner_peerings if p not in body.get("depends_on", [])]
                    if missing:
                        problems.append(
                            f"{stack_name}: {type_}.{key} ({body.get('name')}) is written from the runner through the "
                            f"vault's data plane but does not wait for the runner network's peering(s) {missing}"
                        )
        sleeps = _resources(stack, "time_sleep")
        for type_, items in sorted(resources.items()):
            if not type_.startswith(BACKUP_INSTANCE_PREFIX):
                continue
            for key, body in sorted(items.items()):
                depends = body.get("depends_on", [])
                grants = {d for d in depends if d.startswith("azurerm_role_assignment.")}
                waited = any(
                    d.startswith("time_sleep.")
                    and grants <= set(sleeps.get(d.split(".", 1)[1], {}).get("depends_on", []))
                    for d in depends
                )
                if grants and not waited:
                    problems.append(
                        f"{stack_name}: {type_}.{key} is created right after its {len(grants)} role assignment(s), "
                        "which Azure checks at create time: no time_sleep waits for their propagation"
                    )
    return problems


# --- The plan identity reads everything each stack manages ------------------------------------------------------
# Kubernetes: a plan refreshes every object the cluster stack manages, one GET per object; Azure RBAC for Kubernetes
# authorises it as the data action `Microsoft.ContainerService/managedClusters/<group>/<resource>/read` (core group:
# no group segment; learn.microsoft.com "Azure RBAC for Kubernetes Authorization", the built-in roles' dataActions).
KUBERNETES_TYPE_RESOURCES: Mapping[str, str] = {
    "kubernetes_namespace_v1": "namespaces",
    "kubernetes_secret_v1": "secrets",
    "kubernetes_config_map_v1": "configmaps",
    "kubernetes_service_account_v1": "serviceaccounts",
    "kubernetes_persistent_volume_claim_v1": "persistentvolumeclaims",
    "kubernetes_limit_range_v1": "limitranges",
    "kubernetes_resource_quota_v1": "resourcequotas",
    "kubernetes_service_v1": "services",
    "kubernetes_cron_job_v1": "batch/cronjobs",
    "kubernetes_job_v1": "batch/jobs",
    "kubernetes_deployment_v1": "apps/deployments",
    "kubernetes_network_policy_v1": "networking.k8s.io/networkpolicies",
    "kubernetes_cluster_role_v1": "rbac.authorization.k8s.io/clusterroles",
    "kubernetes_cluster_role_binding_v1": "rbac.authorization.k8s.io/clusterrolebindings",
    "kubernetes_role_v1": "rbac.authorization.k8s.io/roles",
    "kubernetes_role_binding_v1": "rbac.authorization.k8s.io/rolebindings",
}
# Built-in roles as (dataActions, notDataActions) patterns (Microsoft's built-in roles reference).
_MC = "Microsoft.ContainerService/managedClusters/"
BUILTIN_KUBERNETES_ROLE_PATTERNS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Azure Kubernetes Service RBAC Cluster Admin": ((f"{_MC}*",), ()),
    # Reads most namespaced objects; neither Secrets nor RBAC objects nor custom resources.
    "Azure Kubernetes Service RBAC Reader": (
        tuple(
            f"{_MC}{resource}/read"
            for resource in (
                "apps/controllerrevisions",
                "apps/daemonsets",
                "apps/deployments",
                "apps/replicasets",
                "apps/statefulsets",
                "autoscaling/horizontalpodautoscalers",
                "batch/cronjobs",
                "batch/jobs",
                "configmaps",
                "discovery.k8s.io/endpointslices",
                "endpoints",
                "events.k8s.io/events",
                "events",
                "limitranges",
                "namespaces",
                "networking.k8s.io/ingresses",
                "networking.k8s.io/networkpolicies",
                "persistentvolumeclaims",
                "pods",
                "policy/poddisruptionbudgets",
                "replicationcontrollers",
                "resourcequotas",
                "serviceaccounts",
                "services",
            )
        ),
        (),
    ),
}
# Azure Resource Manager: Reader (`*/read`) refreshes every azurerm resource, except reads that call a POST action.
ARM_READ_ACTIONS: Mapping[str, tuple[str, str]] = {
    # Reading an azurerm_kubernetes_cluster lists the user credentials (kube_config).
    "azurerm_kubernetes_cluster": (
        "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        "Azure Kubernetes Service Cluster User Role",
    ),
}


def kubernetes_read_action(type_: str, body: Mapping[str, Any]) -> str | None:
    """The data action a plan needs to refresh one managed Kubernetes object (None: not a Kubernetes object)."""
    prefix = "Microsoft.ContainerService/managedClusters"
    if type_ == "kubernetes_manifest":
        manifest = body.get("manifest", {})
        group = str(manifest.get("apiVersion", "")).rpartition("/")[0]
        kind = str(manifest.get("kind", "")).lower()
        plural = kind[:-1] + "ies" if kind.endswith("y") else kind + ("es" if kind.endswith("s") else "s")
        return f"{prefix}/{group + '/' if group else ''}{plural}/read"
    resource = KUBERNETES_TYPE_RESOURCES.get(type_)
    if resource is None:
        return f"{prefix}/?{type_}/read" if type_.startswith("kubernetes_") else None
    return f"{prefix}/{resource}/read"


def _role_patterns(stacks: Mapping[str, StackJson]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    patterns = dict(BUILTIN_KUBERNETES_ROLE_PATTERNS)
    for stack in stacks.values():
        for definition in _resources(stack, "azurerm_role_definition").values():
            allowed: list[str] = []
            denied: list[str] = []
            for permissions in _blocks(definition.get("permissions")):
                allowed += permissions.get("data_actions", [])
                denied += permissions.get("not_data_actions", [])
            patterns[str(definition["name"])] = (tuple(allowed), tuple(denied))
    return patterns


def _allows(patterns: tuple[tuple[str, ...], tuple[str, ...]], action: str) -> bool:
    allowed, denied = patterns
    matches = lambda globs: any(fnmatch.fnmatchcase(action.lower(), g.lower()) for g in globs)  # noqa: E731
    return matches(allowed) and not matches(denied)


def plan_read_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every kind of object each cluster stack manages is readable by the plan identity's roles on the cluster, and
    every azurerm type whose refresh calls a POST action has the role that grants it."""
    problems: list[str] = []
    patterns = _role_patterns(stacks)
    environment_runners = runners(stacks["bootstrap"])
    for stack_name, stack in sorted(stacks.items()):
        environment = environment_of(stack_name)
        runner = environment_runners.get(environment or "")
        if runner is None or "plan" not in runner.identities:
            continue
        identity = runner.identities["plan"]
        infra = stacks.get(f"{environment}-infra", {})
        assignments = [
            a
            for a in _resources(infra, "azurerm_role_assignment").values()
            if _principal_identity(infra, a["principal_id"]) == identity
        ]
        if stack_name.endswith("-cluster"):
            for key in sorted(_resources(infra, "azurerm_kubernetes_cluster")):
                cluster_ref = f"${{azurerm_kubernetes_cluster.{key}.id}}"
                roles = [
                    str(a.get("role_definition_name"))
                    for a in assignments
                    if _scope_covers(str(a["scope"]), cluster_ref, runner.subscription_id)
                ]
                needed: dict[str, list[str]] = {}
                for type_, items in sorted(stack.get("resource", {}).items()):
                    for name, body in sorted(items.items()):
                        action = kubernetes_read_action(type_, body)
                        if action is not None:
                            needed.setdefault(action, []).append(f"{type_}.{name}")
                for action, addresses in sorted(needed.items()):
                    if not any(_allows(patterns[role], action) for role in roles if role in patterns):
                        problems.append(
                            f"{stack_name}: plan identity {identity} cannot read {action} (roles on the cluster: "
                            f"{sorted(roles)}), which refreshing {', '.join(addresses)} needs: every plan after the "
                            "first apply fails with 403"
                        )
        for type_, (action, role) in sorted(ARM_READ_ACTIONS.items()):
            for key in sorted(_resources(stack, type_)):
                ref = f"${{{type_}.{key}.id}}"
                if not any(
                    a.get("role_definition_name") == role
                    and _scope_covers(str(a["scope"]), ref, runner.subscription_id)
                    for a in assignments
                ):
                    problems.append(
                        f"{stack_name}: plan identity {identity} lacks {role} on {type_}.{key}: refreshing it calls "
                        f"{action}, which Reader does not grant"
                    )
    return problems


# --- Token lifetime against the job's steps -----------------------------------------------------------------------
# azure/login signs the Azure CLI in with the job's GitHub OIDC token as a federated client assertion. The CLI keeps
# that assertion and presents it again whenever it needs a token for a new audience (kubelogin `--login azurecli`
# asks it for the AKS server application's token when Terraform configures the kubernetes provider). The assertion
# expires 5 minutes after it was issued (issue #27; Entra ID then answers AADSTS700024 "Client assertion is not within
# its valid time range") and the CLI cannot renew it. azurerm and the azurerm backend with ARM_USE_OIDC request a
# fresh OIDC token themselves and are not affected.
OIDC_ASSERTION_MINUTES = 5.0
# Estimated minutes per step kind on a fresh ephemeral runner (first match wins; default 0.1 for a short `run`).
STEP_MINUTES: tuple[tuple[str, float, str], ...] = (
    (r"^uses:actions/checkout@", 0.5, "checkout"),
    (r"^uses:actions/setup-python@", 0.5, "Python from the tool cache or a download"),
    (r"^uses:hashicorp/setup-terraform@", 0.3, "Terraform download"),
    (r"^uses:azure/use-kubelogin@", 0.2, "kubelogin download"),
    (r"^uses:azure/login@", 0.2, "az login with the OIDC token"),
    (r"^uses:actions/(upload|download)-artifact@", 0.5, "artifact transfer"),
    (r"scripts/synth", 4.0, "scripts/setup on a fresh runner (hashed pip install, npm ci, checker venvs) + synth"),
    (r"scripts/setup", 3.5, "hashed pip install, npm ci, checker venvs"),
    (r"terraform init", 1.0, "provider downloads"),
    (r"terraform (plan|apply|refresh|import)", 3.0, "refresh of a few hundred resources"),
)
CLI_TOKEN_COMMANDS = re.compile(r"(^|[\s;&|(])(az|kubectl|kubelogin)\s")


def _step_key(step: Mapping[str, Any]) -> str:
    return f"uses:{step['uses']}".lower() if "uses" in step else str(step.get("run", ""))


def step_minutes(step: Mapping[str, Any]) -> float:
    key = _step_key(step)
    for pattern, minutes, _why in STEP_MINUTES:
        if re.search(pattern, key, re.IGNORECASE):
            return minutes
    return 0.1


def _expand(steps: Iterable[Mapping[str, Any]], actions: Mapping[str, list[dict[str, Any]]]) -> list[Mapping[str, Any]]:
    """Steps with the repository's composite actions (`$/…` or `./…`) replaced by their own steps."""
    expanded: list[Mapping[str, Any]] = []
    for step in steps:
        uses = str(step.get("uses", ""))
        local = uses.removeprefix("$/").removeprefix("./").rstrip("/")
        if local in actions:
            expanded += _expand(actions[local], actions)
        else:
            expanded.append(step)
    return expanded


def _terraform_needs_cli_token(stacks: Mapping[str, StackJson]) -> bool:
    """A kubernetes provider of a stack gets its token from the Azure CLI (kubelogin `--login azurecli`)."""
    for stack in stacks.values():
        for provider in stack.get("provider", {}).get("kubernetes", []):
            for exec_ in _blocks(provider.get("exec")):
                args = [str(a) for a in exec_.get("args", [])]
                if "--login" in args and args[args.index("--login") + 1 : args.index("--login") + 2] == ["azurecli"]:
                    return True
    return False


def token_findings(
    workflows: Mapping[str, dict[str, Any]],
    stacks: Mapping[str, StackJson],
    actions: Mapping[str, list[dict[str, Any]]] | None = None,
) -> list[str]:
    """Jobs where a step asks the Azure CLI for a new token after the OIDC assertion azure/login gave it expired:
    the estimated minutes from the start of azure/login (when the OIDC token is issued) to the start of that step
    exceed OIDC_ASSERTION_MINUTES."""
    actions = actions if actions is not None else load_actions(Path(".github/actions"))
    terraform_uses_cli = _terraform_needs_cli_token(stacks)
    problems = []
    for file_name, workflow in sorted(workflows.items()):
        for job_name, job in (workflow.get("jobs") or {}).items():
            elapsed, login_end = 0.0, None
            for step in _expand(job.get("steps", []), actions):
                run = str(step.get("run", ""))
                needs_cli = bool(CLI_TOKEN_COMMANDS.search(run)) or (
                    terraform_uses_cli and re.search(r"terraform (plan|apply|refresh|import)", run) is not None
                )
                if login_end is not None and needs_cli and elapsed - login_end > OIDC_ASSERTION_MINUTES:
                    problems.append(
                        f"{file_name} job {job_name}: step '{step.get('name', run.splitlines()[0] if run else '?')}' "
                        f"asks the Azure CLI for a new token ~{elapsed - login_end:.1f} min after azure/login; the "
                        f"OIDC assertion it holds lives {OIDC_ASSERTION_MINUTES:.0f} min (AADSTS700024)"
                    )
                if str(step.get("uses", "")).lower().startswith("azure/login@"):
                    login_end = elapsed  # the OIDC token is requested as the step starts
                elapsed += step_minutes(step)
    return problems


def load_actions(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """`.github/actions/<name>` -> the composite action's steps."""
    from ruamel.yaml import YAML

    found = {}
    for path in sorted(directory.glob("*/action.y*ml")):
        action = YAML(typ="safe").load(path.read_text())
        found[f".github/actions/{path.parent.name}"] = list((action.get("runs") or {}).get("steps") or [])
    return found


def load_workflows(directory: Path) -> dict[str, dict[str, Any]]:
    from ruamel.yaml import YAML

    return {path.name: YAML(typ="safe").load(path.read_text()) for path in sorted(directory.glob("*.yml"))}


# --- Bootstrap's own state, once migrated into a state account (docs/zero-to-running.md, step 8) ---------------
BLOB_DATA_WRITERS = frozenset({"Storage Blob Data Owner", "Storage Blob Data Contributor"})


def bootstrap_state_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """When bootstrap's backend is azurerm (Entra ID auth), someone other than the pipeline identities may write that
    state blob: the operator who runs bootstrap holds Owner, which has no data actions, so `terraform init
    -migrate-state` and every later bootstrap run would get 403 without a blob data role for the operators."""
    bootstrap = stacks["bootstrap"]
    backend = bootstrap.get("terraform", {}).get("backend", {}).get("azurerm")
    if backend is None:
        return []
    state = _state_endpoint(bootstrap, backend)
    if state is None:
        return [f"bootstrap: its state account {backend.get('storage_account_name')} is not in the bootstrap stack"]
    pipeline = {name for runner in runners(bootstrap).values() for name in runner.identities.values()}
    writers = [
        assignment
        for assignment in _resources(bootstrap, "azurerm_role_assignment").values()
        if assignment.get("role_definition_name") in BLOB_DATA_WRITERS
        and str(assignment["scope"]).startswith(state.resource_ref.removesuffix("}"))
        and _principal_identity(bootstrap, assignment["principal_id"]) not in pipeline
    ]
    if not writers:
        return [
            f"bootstrap: its state ({backend.get('key')}) lives in {backend.get('storage_account_name')} with Entra ID "
            "auth, but only the pipeline identities hold a blob data role there: the Owner operator who runs "
            "bootstrap gets 403 (Owner has no data actions)"
        ]
    return []


def _substitute(value: str, context: Mapping[str, str]) -> str:
    """`${{ matrix.x }}` / `${{ inputs.x }}` replaced by the variant's value (the rest left as written)."""
    return re.sub(
        r"\$\{\{\s*(?:matrix|inputs)\.([A-Za-z0-9_-]+)\s*\}\}",
        lambda match: str(context.get(match.group(1), match.group(0))),
        value,
    )


def _value_of(job: Mapping[str, Any], workflow: Mapping[str, Any], value: str) -> str:
    """`${{ env.X }}` replaced by the job's (or workflow's) env X."""
    match = re.fullmatch(r"\$\{\{\s*env\.([A-Z0-9_]+)\s*\}\}", value.strip())
    if not match:
        return value
    return str((job.get("env") or {}).get(match.group(1), (workflow.get("env") or {}).get(match.group(1), value)))


def is_azure_login(step: Mapping[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return uses.startswith("azure/login@") or uses.endswith("/.github/actions/terraform-azure")


def _variants(file_name: str, job: Mapping[str, Any], workflows: Mapping[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The values a job runs with: one per matrix row, or per caller (`uses: $/.github/workflows/<file>`'s `with`)
    of a reusable workflow; `{}` when it has neither."""
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    rows = matrix.get("include") or []
    if rows:
        return [{str(k): str(v) for k, v in row.items()} for row in rows]
    if isinstance(matrix, dict) and "environment" in matrix:  # a computed list of environments: each may run
        from config.loader import ENVIRONMENTS

        return [{"environment": environment} for environment in ENVIRONMENTS]
    callers = [
        {str(k): str(v) for k, v in (caller.get("with") or {}).items()}
        for workflow in workflows.values()
        for caller in (workflow.get("jobs") or {}).values()
        if str(caller.get("uses", "")).endswith(f".github/workflows/{file_name}")
    ]
    return callers or [{}]


def workflow_findings(workflows: Mapping[str, dict[str, Any]], stacks: Mapping[str, StackJson]) -> list[str]:
    """Jobs that run Terraform with Azure credentials run on their environment's pool with the right identity.

    A job that signs in to Azure (azure/login, or the repository's `terraform-azure` action) must `runs-on`
    `[self-hosted, erp-<env>-plan]` with a `*PLAN_CLIENT_ID` variable when it runs in a `<env>-plan` GitHub
    environment (deploy plans, drift) or outside any (pull-request plans: the read-only identity), and
    `[self-hosted, erp-<env>-apply]` with `*APPLY_CLIENT_ID` in the `<env>` environment (applies behind its
    reviewers). Matrix rows and the callers of a reusable workflow are resolved: each variant is checked.
    (Whether bootstrap registers both pools: `runner_pool_findings`.)
    """
    from tools.maintenance.workflow_matrix import runner_labels

    del stacks  # the pools themselves: runner_pool_findings
    problems = []
    for file_name, workflow in sorted(workflows.items()):
        for job_name, job in (workflow.get("jobs") or {}).items():
            logins = [step for step in job.get("steps", []) if is_azure_login(step)]
            if not logins:
                continue
            for context in _variants(file_name, job, workflows):
                runs_on = job.get("runs-on")
                labels = [runs_on] if isinstance(runs_on, str) else [str(label) for label in runs_on or []]
                labels = [_substitute(label, context) for label in labels]
                environment = _substitute(str(job.get("environment", "")), context)
                target = context.get("environment") or environment.removesuffix("-plan")
                where = f"{file_name} job {job_name}" + (f" ({context.get('stack', target)})" if context else "")
                if "self-hosted" not in labels:
                    problems.append(f"{where}: logs in to Azure but runs on {labels}, not the self-hosted runners")
                role = "apply" if environment and not environment.endswith("-plan") else "plan"
                drills = environment.endswith("-drills")  # the restore drills' own identity (constructs/drills.py)
                target = target.removesuffix("-drills")
                wanted = runner_labels(target)[role] if target else None
                others = [label for label in labels if label != "self-hosted"]
                if others != [wanted]:
                    problems.append(f"{where}: runs-on {labels}, not the {role} pool [self-hosted, {wanted}]")
                expected = "DRILLS_CLIENT_ID" if drills else f"{role.upper()}_CLIENT_ID"
                for step in logins:
                    raw = _value_of(job, workflow, str((step.get("with") or {}).get("client-id", "")))
                    client_id = _substitute(raw, context)
                    used = set(re.findall(r"vars\.([A-Z0-9_]+)", client_id))
                    if not used or not all(name.endswith(expected) for name in used):
                        problems.append(f"{where}: azure/login client-id {client_id!r} is not a vars.*{expected}")
    return problems


def runner_pool_findings(bootstrap: StackJson, environments: Iterable[str]) -> list[str]:
    """Each environment's plan and apply pools are registered by bootstrap, each with its own label (and so never
    one runner for both: a pull request's code must not run where an apply runs)."""
    from tools.maintenance.workflow_matrix import runner_labels

    registered = {label for runner in runners(bootstrap).values() for label in runner.labels}
    problems = []
    for environment in sorted(environments):
        for role, label in runner_labels(environment).items():
            if label not in registered:
                problems.append(f"{environment}: no runner pool registers the {role} label {label!r}")
    for job in _resources(bootstrap, "azurerm_container_app_job").values():  # each job is one pool
        labels = [
            label
            for scale in _blocks(job["event_trigger_config"]["scale"])
            for rule in _blocks(scale["rules"])
            for label in rule["metadata"]["labels"].split(",")
        ]
        roles = [label for label in labels if label.endswith(("-plan", "-apply"))]
        if len(roles) > 1:
            problems.append(f"{job['provider'].removeprefix('azurerm.')}: one runner pool takes both {roles}")
    return problems


def load_stacks(synth_dir: Path) -> dict[str, StackJson]:
    from tools.synth_output import UnreadableSynth, read_stacks

    stacks = read_stacks(synth_dir)  # raises UnreadableSynth: a missing stack is not a deployable one
    if "bootstrap" not in stacks:
        raise UnreadableSynth(f"{synth_dir}: no bootstrap stack, so no runners to model")
    return stacks


def main(argv: list[str]) -> int:
    """Every check over `cdktf.out` (or argv[0]) and the workflows; exit 1 on a finding no other branch fixes, 2 when
    the input cannot be read."""
    from tools.synth_output import main_guard

    synth_dir = Path(argv[0]) if argv else Path("cdktf.out")
    return main_guard(lambda: _report(synth_dir), "deployability")


def _report(synth_dir: Path) -> int:
    stacks = load_stacks(synth_dir)
    workflows = load_workflows(Path(".github/workflows"))
    problems = findings(stacks) + workflow_findings(workflows, stacks) + token_findings(workflows, stacks)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} missing link(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
