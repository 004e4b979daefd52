"""Azure apply-time rules, checked at synth (cdk-nag style) so a violation fails here, not at apply.

`terraform plan` accepts all of these; Azure rejects them only when the resource is created. Each rule
is a small pure function of a resource (and, for rules across resources, of its stack) that returns
COMPLIANT, NOT_APPLICABLE or a Violation. Values that are still tokens (known only at apply time)
make a rule NOT_APPLICABLE: only literals can be checked. Naming rules live in naming_rules.py.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsii
from cdktf import (
    Annotations,
    DefaultTokenResolver,
    IAspect,
    StringConcat,
    TerraformProvider,
    TerraformResource,
    TerraformStack,
    Tokenization,
)

from constructs import IConstruct
from constructs.resource_types import resource_type
from constructs.tokens import is_unresolved


class Outcome(enum.Enum):
    COMPLIANT = "compliant"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Violation:
    attribute: str
    value: object


Verdict = Outcome | Violation


def literal(value: Any) -> Any:
    """The value when it is known at synth; None when unset or still a token."""
    if value is None or (isinstance(value, str | list | int | float) and is_unresolved(value)):
        return None
    return value


def attribute(resource: Any, name: str) -> Any:
    """A literal argument of a resource (`<name>_input`) or of a nested block struct (`<name>`)."""
    if isinstance(resource, TerraformResource):
        return literal(getattr(resource, f"{name}_input", None))
    return literal(getattr(resource, name, None))


def blocks(value: Any) -> list[Any]:
    """A nested block argument as a list of structs (a single block, a list, or nothing)."""
    value = literal(value)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class StackView:
    """What rules across resources need from the resource's stack: its resources and references.

    Every attribute read is a round trip to the jsii kernel, so what is read is read once, and only
    when a rule asks for it.
    """

    def __init__(self, stack: TerraformStack) -> None:
        self.stack = stack
        self._by_type: dict[str, list[TerraformResource]] = {}
        for node in stack.node.find_all():
            if isinstance(node, TerraformResource):
                self._by_type.setdefault(resource_type(node), []).append(node)
        self._by_address: dict[str, dict[str, TerraformResource]] = {}  # per type, filled on first reference
        self._memo: dict[Any, Any] = {}

    def of_type(self, resource_type: str) -> list[TerraformResource]:
        return self._by_type.get(resource_type, [])

    def referenced(self, value: Any) -> TerraformResource | None:
        """The resource in this stack that a reference token (e.g. `account.id`) points at."""
        if not isinstance(value, str) or not is_unresolved(value):
            return None
        resolved = Tokenization.resolve(
            value, scope=self.stack, preparing=False, resolver=DefaultTokenResolver(StringConcat())
        )
        match = re.fullmatch(r"\$\{((\w+)\.[\w-]+)\.\w+\}", str(resolved))
        if not match:
            return None
        kind = match.group(2)
        if kind not in self._by_address:
            self._by_address[kind] = {f"{kind}.{self.stack.get_logical_id(node)}": node for node in self.of_type(kind)}
        return self._by_address[kind].get(match.group(1))

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, once per key and stack (for what rules read about many resources at once)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def subscription_of(self, resource: TerraformResource) -> str | None:
        """The literal subscription id of the provider that deploys the resource (default provider if none set)."""
        provider = resource.provider or self.memo(
            "default azurerm provider",
            lambda: next(
                (p for p in self.stack.all_providers() if p.terraform_resource_type == "azurerm" and not p.alias), None
            ),
        )
        if not isinstance(provider, TerraformProvider):
            return None
        return self.memo(("subscription", provider), lambda: attribute(provider, "subscription_id"))


Check = Callable[[TerraformResource, StackView], Verdict]


@dataclass(frozen=True)
class AzureRule:
    id: str
    resource_type: str
    explanation: str
    check: Check


def _verdict(ok: bool, attribute_name: str, value: object) -> Verdict:
    return Outcome.COMPLIANT if ok else Violation(attribute_name, value)


# --- subnets ---------------------------------------------------------------------------------------
# Azure's reserved subnet names and the largest prefix length Azure accepts for each.
RESERVED_SUBNET_MAX_PREFIX = {
    "AzureFirewallSubnet": 26,
    "AzureFirewallManagementSubnet": 26,
    "AzureBastionSubnet": 26,
    "GatewaySubnet": 27,
}


def reserved_subnet_size(subnet: TerraformResource, _: StackView) -> Verdict:
    max_prefix = RESERVED_SUBNET_MAX_PREFIX.get(attribute(subnet, "name"))
    prefixes = [literal(p) for p in attribute(subnet, "address_prefixes") or []]
    if max_prefix is None or not prefixes or None in prefixes:
        return Outcome.NOT_APPLICABLE
    too_small = [p for p in prefixes if ipaddress.ip_network(p, strict=False).prefixlen > max_prefix]
    return _verdict(not too_small, "address_prefixes", too_small)


# --- PostgreSQL flexible server --------------------------------------------------------------------
def _zone_redundant(server: TerraformResource) -> Any:
    return next(
        (b for b in blocks(attribute(server, "high_availability")) if attribute(b, "mode") == "ZoneRedundant"), None
    )


def postgres_ha_sku(server: TerraformResource, _: StackView) -> Verdict:
    sku = attribute(server, "sku_name")
    if _zone_redundant(server) is None or sku is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(not sku.startswith("B_"), "sku_name", sku)


def postgres_standby_zone(server: TerraformResource, _: StackView) -> Verdict:
    high_availability = _zone_redundant(server)
    zone = attribute(server, "zone")
    standby = attribute(high_availability, "standby_availability_zone") if high_availability else None
    if zone is None or standby is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(standby != zone, "high_availability.standby_availability_zone", standby)


def postgres_backup_retention(server: TerraformResource, _: StackView) -> Verdict:
    days = attribute(server, "backup_retention_days")
    if days is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(7 <= days <= 35, "backup_retention_days", days)


# --- Event Hubs ------------------------------------------------------------------------------------
EVENTHUB_PREMIUM_CAPACITIES = (1, 2, 4, 8, 16)


def eventhub_premium_capacity(namespace: TerraformResource, _: StackView) -> Verdict:
    capacity = attribute(namespace, "capacity")
    if attribute(namespace, "sku") != "Premium" or capacity is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(capacity in EVENTHUB_PREMIUM_CAPACITIES, "capacity", capacity)


def _geo_dr_pair(
    config: TerraformResource, view: StackView
) -> tuple[TerraformResource | None, TerraformResource | None]:
    """(primary, partner) namespaces of a geo-DR pairing, when both are declared in this stack."""
    partner = view.referenced(getattr(config, "partner_namespace_id_input", None))
    primary_name = getattr(config, "namespace_name_input", None)
    primary = view.referenced(primary_name) or next(
        (
            n
            for n in view.of_type("azurerm_eventhub_namespace")
            if literal(primary_name) and attribute(n, "name") == primary_name
        ),
        None,
    )
    return primary, partner


def geo_dr_partner_region(config: TerraformResource, view: StackView) -> Verdict:
    primary, partner = _geo_dr_pair(config, view)
    regions = (attribute(primary, "location") if primary else None, attribute(partner, "location") if partner else None)
    if None in regions:
        return Outcome.NOT_APPLICABLE
    return _verdict(regions[0] != regions[1], "partner_namespace_id (location)", regions[1])


def geo_dr_partner_sku(config: TerraformResource, view: StackView) -> Verdict:
    primary, partner = _geo_dr_pair(config, view)
    skus = (attribute(primary, "sku") if primary else None, attribute(partner, "sku") if partner else None)
    if None in skus:
        return Outcome.NOT_APPLICABLE
    return _verdict(skus[0] == skus[1], "partner_namespace_id (sku)", skus[1])


def geo_dr_partner_empty(config: TerraformResource, view: StackView) -> Verdict:
    _, partner = _geo_dr_pair(config, view)
    if partner is None:
        return Outcome.NOT_APPLICABLE
    on_partner = [
        hub.node.path
        for hub in view.of_type("azurerm_eventhub")
        if view.referenced(getattr(hub, "namespace_id_input", None)) is partner
        or view.referenced(getattr(hub, "namespace_name_input", None)) is partner
    ]
    return _verdict(not on_partner, "partner_namespace_id (event hubs on it)", on_partner)


# --- Application Insights --------------------------------------------------------------------------
APP_INSIGHTS_RETENTION_DAYS = (30, 60, 90, 120, 180, 270, 365, 550, 730)


def app_insights_retention(component: TerraformResource, _: StackView) -> Verdict:
    days = attribute(component, "retention_in_days")
    if days is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(days in APP_INSIGHTS_RETENTION_DAYS, "retention_in_days", days)


# --- Key Vault keys --------------------------------------------------------------------------------
def hsm_key_needs_premium_vault(key: TerraformResource, view: StackView) -> Verdict:
    key_type = attribute(key, "key_type")
    vault = view.referenced(getattr(key, "key_vault_id_input", None))
    sku = attribute(vault, "sku_name") if vault else None
    if key_type is None or not key_type.endswith("-HSM") or sku is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(sku == "premium", "key_vault_id (sku_name)", sku)


_ISO_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")


def duration_days(duration: str) -> int | None:
    """Whole days of an ISO 8601 date duration (months as 28 days, years as 365: the shortest case)."""
    match = _ISO_DURATION.fullmatch(duration)
    if not match or duration == "P":
        return None
    years, months, weeks, days = (int(part or 0) for part in match.groups())
    return years * 365 + months * 28 + weeks * 7 + days


def key_rotation_expiry(key: TerraformResource, _: StackView) -> Verdict:
    policies = blocks(attribute(key, "rotation_policy"))
    expire_after = attribute(policies[0], "expire_after") if policies else None
    if expire_after is None:
        return Outcome.NOT_APPLICABLE
    days = duration_days(expire_after)
    return _verdict(days is not None and days >= 28, "rotation_policy.expire_after", expire_after)


# --- Storage lifecycle -----------------------------------------------------------------------------
ARCHIVE_UNSUPPORTED_REPLICATION = ("ZRS", "GZRS", "RAGZRS")


def _archives(policy: TerraformResource) -> bool:
    for rule in blocks(attribute(policy, "rule")):
        for actions in blocks(attribute(rule, "actions")):
            for target in ("base_blob", "snapshot", "version"):
                for action in blocks(attribute(actions, target)):
                    if any(
                        literal(getattr(action, name)) is not None for name in dir(type(action)) if "archive" in name
                    ):
                        return True
    return False


def archive_tier_replication(policy: TerraformResource, view: StackView) -> Verdict:
    account = view.referenced(getattr(policy, "storage_account_id_input", None))
    replication = attribute(account, "account_replication_type") if account else None
    if replication is None or not _archives(policy):
        return Outcome.NOT_APPLICABLE
    return _verdict(
        replication not in ARCHIVE_UNSUPPORTED_REPLICATION, "storage_account_id (account_replication_type)", replication
    )


# --- AKS system node pool --------------------------------------------------------------------------
def _system_pool(cluster: TerraformResource) -> Any:
    pools = blocks(attribute(cluster, "default_node_pool"))
    return pools[0] if pools else None


def aks_system_pool_nodes(cluster: TerraformResource, _: StackView) -> Verdict:
    pool = _system_pool(cluster)
    counts = {name: attribute(pool, name) for name in ("node_count", "min_count")} if pool else {}
    too_few = {name: count for name, count in counts.items() if count is not None and count < 2}
    if not any(count is not None for count in counts.values()):
        return Outcome.NOT_APPLICABLE
    name, count = next(iter(too_few.items()), ("", None))
    return _verdict(not too_few, f"default_node_pool.{name}", count)


def aks_system_pool_vm_size(cluster: TerraformResource, _: StackView) -> Verdict:
    pool = _system_pool(cluster)
    vm_size = attribute(pool, "vm_size") if pool else None
    if vm_size is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(not re.match(r"Standard_B\d", vm_size, re.IGNORECASE), "default_node_pool.vm_size", vm_size)


def aks_system_pool_max_pods(cluster: TerraformResource, _: StackView) -> Verdict:
    pool = _system_pool(cluster)
    max_pods = attribute(pool, "max_pods") if pool else None
    if max_pods is None:
        return Outcome.NOT_APPLICABLE
    return _verdict(max_pods >= 30, "default_node_pool.max_pods", max_pods)


# --- Subscription-level singletons -----------------------------------------------------------------
def _singleton_key(resource: TerraformResource, view: StackView) -> tuple | None:
    if resource_type(resource) == "azurerm_security_center_subscription_pricing":
        discriminator = attribute(resource, "resource_type") or "VirtualMachines"  # the provider's default
        subscription = view.subscription_of(resource)
    else:
        discriminator = attribute(resource, "name")
        subscription = attribute(resource, "subscription_id")
    if discriminator is None or subscription is None:
        return None
    return (resource_type(resource), subscription, discriminator)


def subscription_singleton(resource: TerraformResource, view: StackView) -> Verdict:
    key = _singleton_key(resource, view)
    if key is None:
        return Outcome.NOT_APPLICABLE
    keys = view.memo(
        ("singleton keys", key[0]), lambda: [(other, _singleton_key(other, view)) for other in view.of_type(key[0])]
    )
    twins = [other.node.path for other, other_key in keys if other is not resource and other_key == key]
    return _verdict(not twins, f"{key[2]!r} in subscription {key[1]} (also declared by)", twins)


def _rule(rule_id: str, resource_types: str | Iterable[str], explanation: str, check: Check) -> list[AzureRule]:
    types = [resource_types] if isinstance(resource_types, str) else resource_types
    return [AzureRule(rule_id, resource_type, explanation, check) for resource_type in types]


AZURE_RULES: tuple[AzureRule, ...] = tuple(
    rule
    for group in [
        _rule(
            "AZ-NET-1",
            "azurerm_subnet",
            "reserved subnets need at least /26 (AzureFirewallSubnet, "
            "AzureFirewallManagementSubnet, AzureBastionSubnet) or /27 (GatewaySubnet)",
            reserved_subnet_size,
        ),
        _rule(
            "AZ-PG-1",
            "azurerm_postgresql_flexible_server",
            "zone-redundant HA needs a General Purpose or Memory Optimized SKU, not Burstable (B_)",
            postgres_ha_sku,
        ),
        _rule(
            "AZ-PG-2",
            "azurerm_postgresql_flexible_server",
            "the HA standby zone must differ from the primary zone",
            postgres_standby_zone,
        ),
        _rule(
            "AZ-PG-3",
            "azurerm_postgresql_flexible_server",
            "backup retention must be 7 to 35 days",
            postgres_backup_retention,
        ),
        _rule(
            "AZ-EH-1",
            "azurerm_eventhub_namespace",
            "Premium capacity (processing units) must be 1, 2, 4, 8 or 16",
            eventhub_premium_capacity,
        ),
        _rule(
            "AZ-EH-2",
            "azurerm_eventhub_namespace_disaster_recovery_config",
            "the geo-DR partner namespace must be in another region than the primary",
            geo_dr_partner_region,
        ),
        _rule(
            "AZ-EH-3",
            "azurerm_eventhub_namespace_disaster_recovery_config",
            "the geo-DR partner namespace must have the same SKU as the primary",
            geo_dr_partner_sku,
        ),
        _rule(
            "AZ-EH-4",
            "azurerm_eventhub_namespace_disaster_recovery_config",
            "the geo-DR partner namespace must be empty: pairing replicates the primary's event hubs onto it",
            geo_dr_partner_empty,
        ),
        _rule(
            "AZ-AI-1",
            "azurerm_application_insights",
            "retention_in_days must be one of " + ", ".join(map(str, APP_INSIGHTS_RETENTION_DAYS)),
            app_insights_retention,
        ),
        _rule(
            "AZ-KV-1",
            "azurerm_key_vault_key",
            "HSM-protected key types (*-HSM) need a premium key vault",
            hsm_key_needs_premium_vault,
        ),
        _rule(
            "AZ-KV-2",
            "azurerm_key_vault_key",
            "a rotation policy's expire_after must be at least 28 days",
            key_rotation_expiry,
        ),
        _rule(
            "AZ-ST-1",
            "azurerm_storage_management_policy",
            "the archive tier is not supported on ZRS, GZRS or RA-GZRS accounts",
            archive_tier_replication,
        ),
        _rule(
            "AZ-AKS-1",
            "azurerm_kubernetes_cluster",
            "the system node pool needs at least 2 nodes (node_count and min_count)",
            aks_system_pool_nodes,
        ),
        _rule(
            "AZ-AKS-2",
            "azurerm_kubernetes_cluster",
            "the system node pool must not use B-series (burstable) VMs",
            aks_system_pool_vm_size,
        ),
        _rule(
            "AZ-AKS-3",
            "azurerm_kubernetes_cluster",
            "the system node pool needs max_pods of at least 30",
            aks_system_pool_max_pods,
        ),
        _rule(
            "AZ-SUB-1",
            ("azurerm_security_center_subscription_pricing", "azurerm_subscription_policy_assignment"),
            "a subscription-level singleton (Defender plan per resource type, policy assignment per name) may be "
            "declared only once per subscription",
            subscription_singleton,
        ),
    ]
    for rule in group
)

RULES_BY_TYPE: dict[str, list[AzureRule]] = {}
for _azure_rule in AZURE_RULES:
    RULES_BY_TYPE.setdefault(_azure_rule.resource_type, []).append(_azure_rule)


def violations(resource: TerraformResource, view: StackView) -> list[tuple[AzureRule, Violation]]:
    found = []
    for rule in RULES_BY_TYPE.get(resource_type(resource), []):
        verdict = rule.check(resource, view)
        if isinstance(verdict, Violation):
            found.append((rule, verdict))
    return found


@jsii.implements(IAspect)
class AzureApplyTimeRules:
    """Adds a synth error to every resource that breaks one of AZURE_RULES, naming resource, value and rule."""

    def __init__(self) -> None:
        self._views: dict[TerraformStack, StackView] = {}  # one per stack: aspects run after the tree is complete

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or resource_type(node) not in RULES_BY_TYPE:
            return
        stack = TerraformStack.of(node)
        view = self._views.get(stack)
        if view is None:
            view = self._views[stack] = StackView(stack)
        for rule, violation in violations(node, view):
            Annotations.of(node).add_error(
                f"{rule.id} {resource_type(node)} '{node.node.path}': {violation.attribute} = "
                f"{violation.value!r} breaks Azure's rule: {rule.explanation}"
            )
