"""The model's shared parts: reading the stack JSON (references, blocks, literals), the runners of each
environment and their networks (VNets, peerings), the data actions of the built-in roles."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


def resources_of(stack: StackJson, type_: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(type_, {})


def blocks(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(cast(Iterable[dict[str, Any]], value))


def literal_value(stack: StackJson, value: object) -> object:
    """A `${type.name.attr}` reference to a literal attribute replaced by that literal (names, groups)."""
    ref = parse_ref(value)
    if ref is None or ref.data or ref.rest or ref.attribute is None:
        return value
    resource = resources_of(stack, ref.type).get(ref.name)
    if resource is None or ref.attribute not in resource:
        return value
    return literal_value(stack, resource[ref.attribute])


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


def stack_vnet_arm_id(stack: StackJson, subscription_id: str, key: str) -> str:
    vnet = resources_of(stack, "azurerm_virtual_network")[key]
    return vnet_arm_id(
        subscription_id, literal_value(stack, vnet["resource_group_name"]), literal_value(stack, vnet["name"])
    )


def vnet_id_of(stack: StackJson, subscription_id: str, value: object) -> str:
    """A VNet id: a literal ARM id, or a reference to a VNet of this stack."""
    ref = parse_ref(value)
    if ref is not None and ref.type == "azurerm_virtual_network":
        return stack_vnet_arm_id(stack, subscription_id, ref.name)
    return str(value)


def subnet_vnet(stack: StackJson, subscription_id: str, subnet_value: object) -> str | None:
    """The VNet (ARM id) of a subnet reference, following route-table/NSG associations."""
    ref = parse_ref(subnet_value)
    if ref is None:
        return None
    if ref.type in ("azurerm_subnet_route_table_association", "azurerm_subnet_network_security_group_association"):
        association = resources_of(stack, ref.type).get(ref.name)
        return None if association is None else subnet_vnet(stack, subscription_id, association["subnet_id"])
    subnet = resources_of(stack, "azurerm_subnet").get(ref.name) if ref.type == "azurerm_subnet" else None
    if subnet is None:
        return None
    group = literal_value(stack, subnet["resource_group_name"])
    vnet = literal_value(stack, subnet["virtual_network_name"])
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"


def peerings_of(stack: StackJson, subscription_id: str) -> set[tuple[str, str]]:
    found = set()
    for peering in resources_of(stack, "azurerm_virtual_network_peering").values():
        if peering.get("allow_virtual_network_access") is False:
            continue
        group = literal_value(stack, peering["resource_group_name"])
        source = vnet_arm_id(subscription_id, group, literal_value(stack, peering["virtual_network_name"]))
        found.add((source, vnet_id_of(stack, subscription_id, peering["remote_virtual_network_id"])))
    return found


def _subscription_of(stack: StackJson, provider_alias: str | None = None) -> str:
    for provider in stack.get("provider", {}).get("azurerm", []):
        if provider.get("alias") == provider_alias:
            return provider["subscription_id"]
    raise KeyError(f"no azurerm provider with alias {provider_alias!r}")


def runners(bootstrap: StackJson) -> dict[str, Runner]:
    """The runner of each environment, from the bootstrap stack."""
    found: dict[str, Runner] = {}
    environments = resources_of(bootstrap, "azurerm_container_app_environment")
    for job in resources_of(bootstrap, "azurerm_container_app_job").values():
        alias = job["provider"].removeprefix("azurerm.")
        subscription = _subscription_of(bootstrap, alias)
        environment = environments[parse_ref(job["container_app_environment_id"]).name]  # type: ignore[union-attr]
        vnet = subnet_vnet(bootstrap, subscription, environment["infrastructure_subnet_id"])
        labels = tuple(
            label
            for scale in blocks(job["event_trigger_config"]["scale"])
            for rule in blocks(scale["rules"])
            for label in rule["metadata"]["labels"].split(",")
        )
        identities = {
            role: identity["name"]
            for identity in resources_of(bootstrap, "azurerm_user_assigned_identity").values()
            if identity["provider"] == job["provider"]
            for role in ROLES
            if f"-terraform-{role}-id-" in identity["name"]
        }
        previous = found.get(alias)  # one job per runner pool (plan, apply): the environment's labels are theirs
        if previous is not None:
            labels = (*previous.labels, *labels)
        found[alias] = Runner(alias, subscription, str(vnet), labels, identities)
    return found


# An environment's stacks in apply order (stacks/app.py environment_stacks): the alerting stack's action groups exist
# before the infra stack's alerts name them by id.
APPLY_ORDER = ("alerting", "infra", "cluster")
# The stack planned and applied by the apply identity only (its state holds the alert webhook addresses).
PLANNED_BY_APPLY = "alerting"


def environment_of(stack_name: str) -> str | None:
    """`<environment>-alerting` / `-infra` / `-cluster` → the environment; None for bootstrap."""
    environment, _, kind = stack_name.rpartition("-")
    return environment if environment and kind in APPLY_ORDER else None
