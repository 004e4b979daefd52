"""Monthly cost estimate per environment: the synthesized stacks (read through `tools.synth_output`) priced
with the dated, sourced list prices of `reference/prices.json`. Standard library only: the pull-request
comment (`tools/review/pr_comment.py`, a bare Python) shows the estimate's change.

Each cost-bearing resource gives components (a meter, a monthly quantity, the rule that gave it: 730 hours,
x capacity units, x node count from config). A component whose meter has no price for the resource's region
is listed as *not priced* with the price key it needs, never counted as zero; a resource type the estimate
does not know is listed too. The priced total is therefore a lower bound, and says so.

    python -m tools.docgen.cost_estimate SYNTH_DIR            # print the estimate
    python -m tools.docgen.cost_estimate SYNTH_DIR --write    # (re)write docs/cost-estimate.md
    python -m tools.docgen.cost_estimate SYNTH_DIR --check    # exit 1 when an environment's budget (config
                                                              # governance.budget.monthly_amount) is below it
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.synth_output import main_guard, read_json, read_stacks

ROOT = Path(__file__).resolve().parents[2]
PRICES = ROOT / "reference" / "prices.json"
CONFIG = ROOT / "config"
INGESTION_KEY = "assumed_log_ingestion_gb_per_day"  # [governance.budget]: the volume Log Analytics is priced at
DOCUMENT = ROOT / "docs" / "cost-estimate.md"
REGENERATE = "scripts/synth && .venv/bin/python -m tools.docgen.cost_estimate cdktf.out --write"
HOURS_PER_MONTH = 730  # Azure's (and the Retail Prices API's) monthly basis for hourly meters
BUDGET_TYPE = "azurerm_consumption_budget_subscription"
Resource = dict[str, Any]


@dataclass(frozen=True)
class Component:
    address: str  # <stack>: <type>.<name>
    name: str
    price_key: str  # the entry of reference/prices.json it needs
    region: str
    quantity: float  # per month, in the price's unit
    rule: str  # how the quantity was found


@dataclass(frozen=True)
class Line:
    component: Component
    monthly: float | None  # None: not priced
    why_not: str = ""
    stand_in: str = ""  # the region whose price was used, when not the resource's own (prices.json `stand_ins`)


@dataclass(frozen=True)
class Estimate:
    environment: str
    lines: tuple[Line, ...]
    unknown: tuple[str, ...]  # addresses of resource types the estimate does not know

    @property
    def total(self) -> float:
        return round(sum(line.monthly for line in self.lines if line.monthly is not None), 2)

    @property
    def not_priced(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.monthly is None)


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else {}
    return value if isinstance(value, dict) else {}


def _hours(address: str, name: str, key: str, region: str, count: float = 1, what: str = "") -> Component:
    rule = f"{count:g} {what} x {HOURS_PER_MONTH} h" if what else f"{HOURS_PER_MONTH} h"
    return Component(address, name, key, region, count * HOURS_PER_MONTH, rule)


def _firewall(address: str, resource: Resource) -> list[Component]:
    tier = str(resource.get("sku_tier", "Standard"))
    return [_hours(address, f"deployment ({tier})", f"firewall-{tier.lower()}-deployment", resource["location"])]


def _app_gateway(address: str, resource: Resource) -> list[Component]:
    tier = str(_first(resource.get("sku")).get("tier", ""))
    key = tier.lower().replace("_", "-")
    minimum = _first(resource.get("autoscale_configuration")).get("min_capacity")
    capacity = minimum if minimum is not None else _first(resource.get("sku")).get("capacity", 0)
    location = resource["location"]
    return [
        _hours(address, f"gateway ({tier})", f"app-gateway-{key}-fixed", location),
        # Autoscaling above the floor depends on traffic: usage, not in the estimate.
        _hours(address, "capacity units (the autoscale floor)", f"app-gateway-{key}-capacity-unit", location,
               capacity, "min capacity units"),
    ]  # fmt: skip


def _pool_nodes(pool: Resource) -> int:
    return int((pool.get("min_count") if pool.get("auto_scaling_enabled") else pool.get("node_count")) or 0)


def _node_pool(address: str, name: str, pool: Resource, location: str) -> Component:
    size = str(pool.get("vm_size", ""))
    what = "min nodes" if pool.get("auto_scaling_enabled") else "nodes"
    return _hours(address, f"{name} ({size}, Linux)", f"vm-linux-{size.lower()}", location, _pool_nodes(pool), what)


def _vcpus(size: str) -> int:
    """vCPUs from an Azure size name (`Standard_D4ds_v5`: the number after the family letters)."""
    match = re.match(r"(?:Standard_)?[A-Za-z]+(\d+)", size)
    return int(match.group(1)) if match else 0


def _cluster(address: str, resource: Resource) -> list[Component]:
    location = resource["location"]
    parts = [_node_pool(address, "system nodes", _first(resource.get("default_node_pool")), location)]
    if resource.get("sku_tier") in ("Standard", "Premium"):
        parts.append(_hours(address, "uptime SLA (Standard tier)", "aks-standard-uptime-sla", location))
    return parts


def _cluster_pool(address: str, resource: Resource, location: str) -> list[Component]:
    return [_node_pool(address, "user nodes", resource, location)]


def _event_hubs(address: str, resource: Resource) -> list[Component]:
    sku = str(resource.get("sku", ""))
    unit = "processing-unit" if sku == "Premium" else "throughput-unit"
    units = resource.get("capacity", 1)
    key = f"event-hubs-{sku.lower()}-{unit}"
    return [_hours(address, f"capacity ({sku})", key, resource["location"], units, f"{unit.replace('-', ' ')}s")]


def _public_ip(address: str, resource: Resource) -> list[Component]:
    sku = str(resource.get("sku", "Standard"))
    method = str(resource.get("allocation_method", "Static")).lower()
    return [_hours(address, f"IP address ({sku}, {method})", f"public-ip-{sku.lower()}-{method}", resource["location"])]


def _postgres(address: str, resource: Resource) -> list[Component]:
    sku = str(resource.get("sku_name", ""))
    ha = _first(resource.get("high_availability")).get("mode")
    servers = 2 if ha else 1  # a high-availability standby is billed as a second server
    what = f"servers (primary + {ha} standby)" if ha else "servers"
    location = resource["location"]
    storage_gb = int(resource.get("storage_mb", 0)) / 1024
    return [
        _hours(address, f"compute ({sku})", f"postgres-flexible-{sku.lower()}", location, servers, what),
        Component(address, "storage", "postgres-flexible-storage-gb", location, storage_gb * servers,
                  f"{storage_gb:g} GB x {servers} servers"),
    ]  # fmt: skip


def _registry(address: str, resource: Resource) -> list[Component]:
    sku = str(resource.get("sku", "")).lower()
    location = resource.get("location", "")
    days = HOURS_PER_MONTH / 24  # the meter is per day: the month's 730 hours in days
    replicas = len(resource.get("georeplications") or [])
    parts = [Component(address, "registry unit", f"container-registry-{sku}", location, days, f"{days:.2f} days")]
    if replicas:  # a geo-replica is billed as another registry unit at the registry's regional price
        parts.append(Component(address, f"geo-replication ({replicas} location)", f"container-registry-{sku}",
                               location, days * replicas, f"{replicas} x {days:.2f} days"))  # fmt: skip
    return parts


# Defender plan -> what it is billed per, and the resource types counted in the environment's subscription.
DEFENDER_UNITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Arm": ("subscription", ()),
    "KeyVaults": ("key vault", ("azurerm_key_vault",)),
    "StorageAccounts": ("storage account", ("azurerm_storage_account",)),
    "OpenSourceRelationalDatabases": ("server", ("azurerm_postgresql_flexible_server",)),
    "Containers": ("node vCPU (min nodes)", ()),
}


def _defender(address: str, resource: Resource, counts: dict[str, int], vcores: int) -> list[Component]:
    plan = str(resource.get("resource_type", ""))
    if resource.get("tier") != "Standard":
        return []
    unit, types = DEFENDER_UNITS.get(plan, ("", ()))
    quantity = vcores if plan == "Containers" else 1 if plan == "Arm" else sum(counts.get(t, 0) for t in types)
    subplan = f"-{resource['subplan'].lower()}" if resource.get("subplan") else ""
    key = f"defender-{plan.lower()}{subplan}"
    return [Component(address, f"Defender plan {plan}", key, "Global", quantity, f"{quantity} {unit or 'units'}")]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _metric_alert(address: str, resource: Resource) -> list[Component]:
    """One time series per scope and criterion (a dimension split adds more: not counted); the first 10 time series
    of a subscription are free: not deducted, so the estimate errs high by at most 1 USD."""
    scopes = max(len(_listed(resource.get("scopes"))), 1)
    static, dynamic = len(_listed(resource.get("criteria"))), len(_listed(resource.get("dynamic_criteria")))
    series = scopes * max(static + dynamic, 1)
    location = resource.get("location", "")
    parts = [Component(address, "time series", "metric-alert-time-series", location, series, f"{series} time series")]
    if dynamic:
        parts.append(Component(address, "dynamic threshold", "metric-alert-dynamic-threshold", location,
                               scopes * dynamic, f"{scopes * dynamic} time series"))  # fmt: skip
    return parts


def _minutes(duration: str) -> int:
    """An ISO 8601 duration (`PT5M`, `PT1H`, `P1D`) in minutes."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", duration)
    days, hours, minutes = (int(group or 0) for group in match.groups()) if match else (0, 0, 0)
    return days * 1440 + hours * 60 + minutes


def _log_alert(address: str, resource: Resource) -> list[Component]:
    """Billed per rule by its evaluation frequency: 1, 5, 10 or 15 minutes (and anything longer)."""
    minutes = _minutes(str(resource.get("evaluation_frequency", "")))
    tier = max((tier for tier in (1, 5, 10, 15) if tier <= minutes), default=1)
    key = f"log-alert-rule-{tier}min"
    return [Component(address, f"rule ({tier} minute frequency)", key, resource.get("location", ""), 1, "1 rule")]


def _grafana(address: str, resource: Resource) -> list[Component]:
    sku = str(resource.get("sku", "")).lower()
    location = resource.get("location", "")
    parts = [_hours(address, "instance", f"grafana-{sku}", location)]
    if resource.get("zone_redundancy_enabled"):  # a meter of its own, billed per hour on top of the instance
        parts.append(_hours(address, "zone redundancy", f"grafana-{sku}-zone-redundancy", location))
    return parts


def _log_ingestion(address: str, resource: Resource, gb_per_day: float) -> list[Component]:
    """The volume is config's assumption (nothing in the JSON says it); the billing account's first 5 GB a month
    are free: not deducted, so the estimate errs high by at most 5 GB's price."""
    sku = str(resource.get("sku", "PerGB2018"))
    key = "log-analytics-ingestion-gb" if sku == "PerGB2018" else f"log-analytics-{sku.lower()}-ingestion-gb"
    days = HOURS_PER_MONTH / 24
    rule = f"{gb_per_day:g} GB/day (config {INGESTION_KEY}) x {days:.2f} days"
    name = f"data ingestion ({sku}, assumed volume)"
    return [Component(address, name, key, resource.get("location", ""), gb_per_day * days, rule)]


def _fixed(name: str, key: Callable[[Resource], str]) -> Callable[[str, Resource], list[Component]]:
    return lambda address, resource: [_hours(address, name, key(resource), resource.get("location", ""))]


# Resource type -> its components. A type missing here and from FREE is listed as not assessed.
RULES: dict[str, Callable[[str, Resource], list[Component]]] = {
    "azurerm_firewall": _firewall,
    "azurerm_application_gateway": _app_gateway,
    "azurerm_kubernetes_cluster": _cluster,
    "azurerm_eventhub_namespace": _event_hubs,
    "azurerm_public_ip": _public_ip,
    "azurerm_postgresql_flexible_server": _postgres,
    "azurerm_bastion_host": _fixed("host", lambda r: f"bastion-{str(r.get('sku', 'Basic')).lower()}"),
    "azurerm_dashboard_grafana": _grafana,
    "azurerm_container_registry": _registry,
    "azurerm_private_endpoint": _fixed("endpoint", lambda _: "private-endpoint"),
    "azurerm_monitor_metric_alert": _metric_alert,
    "azurerm_monitor_scheduled_query_rules_alert_v2": _log_alert,
}
# Billed by use (GB ingested or stored, operations, executions, protected instances): no monthly quantity can
# be read from the JSON, so they are listed as usage, outside the total.
USAGE: dict[str, str] = {
    "azurerm_log_analytics_workspace": "GB ingested (the infra stack's workspace: priced at config's assumed volume) "
    "and retained beyond the included period",
    "azurerm_storage_account": "GB stored, operations, geo-replication traffic",
    "azurerm_application_insights": "GB ingested",
    "azurerm_application_insights_standard_web_test": "test executions",
    "azurerm_monitor_workspace": "metric samples ingested and queried",
    "azurerm_monitor_activity_log_alert": "free",
    "azurerm_key_vault": "operations and HSM-protected key versions",
    "azurerm_key_vault_key": "HSM-protected key versions (per key per month)",
    "azurerm_data_protection_backup_instance_kubernetes_cluster": "protected instances and snapshot storage",
    "azurerm_data_protection_backup_instance_blob_storage": "protected instances and backup storage",
    "azurerm_container_app_job": "vCPU and memory seconds of the runner jobs",
    "azurerm_container_app_environment": "the jobs' consumption (no fixed charge on the Consumption profile)",
    "azurerm_logic_app_workflow": "action executions",
    "azurerm_private_dns_zone": "hosted zones and queries",
    "azurerm_private_dns_zone_virtual_network_link": "per link beyond the included number",
    "azurerm_virtual_network_peering": "GB transferred between peered networks",
    "azurerm_monitor_data_collection_rule": "GB ingested through the rule",
    "azurerm_eventhub": "included in the namespace's units",
    "azurerm_firewall_policy": "included with the firewall (one firewall per policy)",
    "azurerm_web_application_firewall_policy": "included with the WAF_v2 gateway",
    "azurerm_disk_encryption_set": "the key's operations",
    "azurerm_managed_disk": "GB provisioned",
}


def _is_free(resource_type: str) -> bool:
    """Control-plane objects with no meter of their own: identities, access, policy, wiring, settings."""
    free_prefixes = (
        "azurerm_role_", "azurerm_pim_", "azurerm_policy_", "azurerm_subscription_policy_",
        "azurerm_resource_policy_", "azurerm_management_lock", "azurerm_resource_group", "azurerm_subnet",
        "azurerm_network_security_", "azurerm_route_table", "azurerm_virtual_network", "azurerm_user_assigned_",
        "azurerm_federated_identity_", "azurerm_monitor_diagnostic_setting", "azurerm_monitor_action_group",
        "azurerm_monitor_alert_", "azurerm_monitor_data_collection_endpoint",
        "azurerm_monitor_data_collection_rule_association", "azurerm_monitor_private_link_",
        "azurerm_storage_container", "azurerm_storage_management_policy", "azurerm_private_dns_a_record",
        "azurerm_consumption_budget_", "azurerm_cost_anomaly_alert", "azurerm_security_center_contact",
        "azurerm_resource_provider_", "azurerm_kubernetes_cluster_extension",
        "azurerm_kubernetes_cluster_trusted_access_", "azurerm_eventhub_consumer_group",
        "azurerm_eventhub_namespace_disaster_recovery_config", "azurerm_postgresql_flexible_server_",
        "azurerm_data_protection_backup_policy_", "azurerm_data_protection_backup_vault",
        "azurerm_log_analytics_saved_search", "azurerm_log_analytics_workspace_table_",
        "azurerm_logic_app_action_", "azurerm_logic_app_trigger_", "azurerm_application_insights_workbook",
        "azurerm_key_vault_certificate", "azurerm_firewall_policy_rule_collection_group",
    )  # fmt: skip
    return resource_type.startswith(free_prefixes) and resource_type not in RULES and resource_type not in USAGE


def load_prices(path: Path = PRICES) -> dict[str, dict[str, Any]]:
    """The prices by `<meter>@<region>`, plus each stand-in (`stand_ins`): another region's recorded entry, marked
    with its region and the reason it is used."""
    data = read_json(path)
    prices = dict(data["prices"])
    for key, stand_in in data.get("stand_ins", {}).items():
        prices[key] = {**prices[stand_in["use"]], "standIn": stand_in}
    return prices


def environments(stacks: dict[str, dict[str, Any]]) -> list[str]:
    """The environments of a synth folder: every `<env>-infra` stack (no config models: this runs bare)."""
    return sorted(name.removesuffix("-infra") for name in stacks if name.endswith("-infra"))


def _resources(stacks: dict[str, dict[str, Any]], environment: str) -> Iterator[tuple[str, str, str, Resource]]:
    """(stack, type, name, body) of the environment's stacks, and of bootstrap's resources for it (their
    construct ids start with the environment's name: its deployment network, runners and registry)."""
    for stack_name, stack in sorted(stacks.items()):
        mine = stack_name.startswith(f"{environment}-")
        for resource_type, by_name in sorted(stack.get("resource", {}).items()):
            for name, body in sorted(by_name.items()):
                if mine or (stack_name == "bootstrap" and name.startswith(f"{environment}-")):
                    yield stack_name, resource_type, name, body


def assumed_ingestion(environment: str, config_dir: Path = CONFIG) -> float | None:
    """`[governance.budget] assumed_log_ingestion_gb_per_day` of config/<environment>.toml over config/base.toml, read
    with tomllib (not the config models: this runs bare); None when neither sets it."""
    value = None
    for name in ("base", environment):
        path = config_dir / f"{name}.toml"
        if path.exists():
            value = tomllib.loads(path.read_text()).get("governance", {}).get("budget", {}).get(INGESTION_KEY, value)
    return float(value) if isinstance(value, int | float) else None


def estimate(
    stacks: dict[str, dict[str, Any]],
    environment: str,
    prices: dict[str, dict[str, Any]],
    log_gb_per_day: float | None = None,
) -> Estimate:
    """`log_gb_per_day`: the platform workspace's assumed ingestion (None: listed as usage, outside the total)."""
    lines: list[Line] = []
    unknown: list[str] = []
    everything = list(_resources(stacks, environment))
    cluster_location = {name: body.get("location", "") for _, rtype, name, body in everything
                        if rtype == "azurerm_kubernetes_cluster"}  # fmt: skip
    counts: dict[str, int] = {}
    for _, rtype, _, _ in everything:
        counts[rtype] = counts.get(rtype, 0) + 1
    pools = [_first(body.get("default_node_pool")) for _, rtype, _, body in everything
             if rtype == "azurerm_kubernetes_cluster"]  # fmt: skip
    pools += [body for _, rtype, _, body in everything if rtype == "azurerm_kubernetes_cluster_node_pool"]
    vcores = sum(_pool_nodes(pool) * _vcpus(str(pool.get("vm_size", ""))) for pool in pools)
    # A resource without a location of its own (metric alerts are global) is priced in its resource group's region.
    group_location = {body.get("name"): body.get("location", "") for _, rtype, _, body in everything
                      if rtype == "azurerm_resource_group"}  # fmt: skip
    for stack, resource_type, name, body in everything:
        address = f"{stack}: {resource_type}.{name}"
        if "location" not in body and body.get("resource_group_name") in group_location:
            body = {**body, "location": group_location[body["resource_group_name"]]}
        if resource_type == "azurerm_security_center_subscription_pricing":
            components = _defender(address, body, counts, vcores)
        elif (
            resource_type == "azurerm_log_analytics_workspace"
            and stack == f"{environment}-infra"
            and log_gb_per_day is not None
        ):
            components = _log_ingestion(address, body, log_gb_per_day)
        elif resource_type == "azurerm_kubernetes_cluster_node_pool":
            cluster = str(body.get("kubernetes_cluster_id", "")).split(".")[1:2]
            components = _cluster_pool(address, body, cluster_location.get(cluster[0], "") if cluster else "")
        elif resource_type in RULES:
            components = RULES[resource_type](address, body)
        else:
            if resource_type.startswith("azurerm_") and resource_type not in USAGE and not _is_free(resource_type):
                unknown.append(address)
            continue
        for component in components:
            lines.append(_price(component, prices))
    return Estimate(environment, tuple(lines), tuple(unknown))


# Why a meter has no price: prices.json `not_recorded` (read once: the estimate runs many times per test session).
NOT_RECORDED: dict[str, str] = dict(read_json(PRICES).get("not_recorded", {}))


def _price(component: Component, prices: dict[str, dict[str, Any]]) -> Line:
    """Prices are keyed `<meter>@<region>`: a meter priced in another region only is not priced here."""
    entry = prices.get(f"{component.price_key}@{component.region}")
    if entry is not None:
        stand_in = str(entry["armRegionName"]) if "standIn" in entry else ""
        return Line(component, round(component.quantity * float(entry["unitPrice"]), 2), stand_in=stand_in)
    elsewhere = sorted(key.split("@")[1] for key in prices if key.split("@")[0] == component.price_key)
    if elsewhere:
        return Line(component, None, f"`{component.price_key}` priced for {', '.join(elsewhere)} only")
    reason = NOT_RECORDED.get(component.price_key, "no price in reference/prices.json")
    return Line(component, None, f"`{component.price_key}`: {reason}")


def estimate_all(synth_dir: Path, prices: dict[str, dict[str, Any]] | None = None) -> dict[str, Estimate]:
    stacks = read_stacks(synth_dir)
    prices = load_prices() if prices is None else prices
    return {
        environment: estimate(stacks, environment, prices, assumed_ingestion(environment))
        for environment in environments(stacks)
    }


def budgets(synth_dir: Path) -> dict[str, float | None]:
    """Environment -> the monthly budget its infra stack synthesizes (config governance.budget.monthly_amount)."""
    stacks = read_stacks(synth_dir)
    found: dict[str, float | None] = {}
    for environment in environments(stacks):
        amounts = [
            float(body["amount"])
            for body in stacks[f"{environment}-infra"].get("resource", {}).get(BUDGET_TYPE, {}).values()
            if isinstance(body.get("amount"), int | float)
        ]
        found[environment] = min(amounts) if amounts else None
    return found


def budget_findings(estimates: dict[str, Estimate], amounts: dict[str, float | None]) -> list[str]:
    findings = []
    for environment, estimate_ in estimates.items():
        amount = amounts.get(environment)
        if amount is None:
            findings.append(f"{environment}: no subscription budget in the synthesized stack")
        elif amount < estimate_.total:
            findings.append(
                f"{environment}: budget {amount:,.0f} USD/month is below the priced estimate "
                f"{estimate_.total:,.2f} USD/month (set governance.budget.monthly_amount in config/{environment}.toml)"
            )
    return findings


def _money(value: float) -> str:
    return f"{value:,.2f}"


def render(
    estimates: dict[str, Estimate],
    amounts: dict[str, float | None],
    prices_meta: dict[str, Any],
    stand_ins: dict[str, dict[str, str]] | None = None,
) -> str:
    lines = [
        "# Cost estimate per environment",
        "",
        "Generated from the synthesized stacks and `reference/prices.json` by `tools/docgen/cost_estimate.py`; do not "
        f"edit. Regenerate with `{REGENERATE}`.",
        "",
        f"Prices: list prices in USD, taken {prices_meta.get('retrieved', '?')}; every entry names its source and "
        "date (`reference/prices.json`, refreshed by `tools/maintenance/refdata/refresh_prices.py`). Monthly = "
        f"{HOURS_PER_MONTH} hours. **The total is a lower bound**: components without a price for their region are "
        "listed as *not priced* (never counted as zero), and usage-billed resources (ingestion, storage, operations) "
        "are outside it, except the platform workspace's Log Analytics ingestion, priced at the daily volume config "
        f"assumes (`[governance.budget] {INGESTION_KEY}`: an assumption, not a measurement). A cost marked "
        "*(<region> price)* uses another region's recorded price, for the reason listed under *Prices from another "
        "region*.",
        "",
        "| environment | priced, USD/month | not priced | budget (config), USD/month |",
        "|---|---|---|---|",
    ]
    for environment, estimate_ in estimates.items():
        amount = amounts.get(environment)
        budget = "none" if amount is None else f"{amount:,.0f}" + (" (below)" if amount < estimate_.total else "")
        lines.append(
            f"| {environment} | {_money(estimate_.total)} | {len(estimate_.not_priced)} components | {budget} |"
        )
    for environment, estimate_ in estimates.items():
        lines += ["", f"## {environment}", "", "| resource | component | rule | USD/month |", "|---|---|---|---|"]
        for line in estimate_.lines:
            c = line.component
            cost = _money(line.monthly) if line.monthly is not None else f"not priced: {line.why_not}"
            cost += f" ({line.stand_in} price)" if line.stand_in else ""
            lines.append(f"| `{c.address}` | {c.name} | {c.rule} | {cost} |")
        if estimate_.unknown:
            lines += ["", "Resource types the estimate does not assess (not priced): "]
            lines += [f"- `{address}`" for address in estimate_.unknown]
    if stand_ins:
        lines += ["", "## Prices from another region", "", "| meter and region | price used | why |", "|---|---|---|"]
        lines += [f"| `{key}` | `{entry['use']}` | {entry['why']} |" for key, entry in sorted(stand_ins.items())]
    return "\n".join(lines) + "\n"


def change_line(base: dict[str, Estimate], head: dict[str, Estimate]) -> str:
    """One line for the pull-request comment: the priced estimate per environment, base → head."""
    parts = []
    for environment in sorted(set(base) | set(head)):
        before = base[environment].total if environment in base else 0.0
        after = head[environment].total if environment in head else 0.0
        delta = after - before
        sign = "+" if delta > 0 else "-" if delta < 0 else "±"
        parts.append(f"{environment} {before:,.0f} → {after:,.0f} ({sign}{abs(delta):,.0f})")
    return "Cost estimate, priced part (USD/month, docs/cost-estimate.md): " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when a budget is below the priced estimate")
    mode.add_argument("--write", action="store_true", help=f"write {DOCUMENT.relative_to(ROOT)}")
    args = parser.parse_args(argv)

    def run() -> int:
        estimates = estimate_all(args.synth_dir)
        amounts = budgets(args.synth_dir)
        reference = read_json(PRICES)
        text = render(estimates, amounts, reference["_meta"], reference.get("stand_ins"))
        if args.write:
            DOCUMENT.write_text(text)
            return 0
        findings = budget_findings(estimates, amounts)
        if args.check:
            for finding in findings:
                print(f"cost_estimate: {finding}", file=sys.stderr)
            return 1 if findings else 0
        sys.stdout.write(text)
        return 0

    return main_guard(run, "cost_estimate")


if __name__ == "__main__":
    sys.exit(main())
