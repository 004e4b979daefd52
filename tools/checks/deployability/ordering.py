"""Races: what Azure checks at create time is created first."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tools.checks.deployability.model import (
    APPLY_ORDER,
    Runner,
    StackJson,
    environment_of,
    literal_value,
    resources_of,
    runners,
    vnet_arm_id,
    vnet_id_of,
)

# Subscription features a resource attribute needs Registered (constructs/resource_providers.py REQUIRED_FEATURES).
FEATURE_OF_ATTRIBUTE = {"host_encryption_enabled": ("Microsoft.Compute", "EncryptionAtHost")}
BACKUP_INSTANCE_PREFIX = "azurerm_data_protection_backup_instance_"
# ARM types a stack names by a literal, config-derived id (no reference, so Terraform orders nothing): the alerting
# stack's action groups and chat adapters, named by the infra stack's alerts and diagnostic settings.
ID_TYPES = {
    "microsoft.insights/actiongroups": "azurerm_monitor_action_group",
    "microsoft.logic/workflows": ("azurerm_logic_app_workflow"),
}
_ARM_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/(?P<group>[^/]+)/providers/(?P<kind>[^/]+/[^/]+)/(?P<name>[^/]+)", re.I
)


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
      (Azure validates the vault's permissions when the instance is created);
    - every log search alert whose query reads a custom table the stack creates depends on that table (Azure
      validates the query when the alert is created: an unknown table fails it)."""
    problems = []
    environment_runners = runners(stacks["bootstrap"])
    for stack_name, stack in sorted(stacks.items()):
        problems += _feature_races(stack_name, stack)
        runner = environment_runners.get(environment_of(stack_name) or "")
        if runner is not None and stack_name.endswith("-infra"):
            problems += _peering_races(stack_name, stack, runner)
        problems += _backup_races(stack_name, stack)
        problems += _custom_table_races(stack_name, stack)
    problems += _literal_id_races(stacks)
    return problems


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() if key != "//" for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def _literal_id_races(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every literal id of an `ID_TYPES` resource an environment stack names is created by a stack of the same
    environment applied before it (`APPLY_ORDER`): else the apply that names it fails (a missing action group)."""
    created: dict[tuple[str, str, str, str], str] = {}  # (environment, type, group, name) -> stack
    for stack_name, stack in stacks.items():
        for type_ in ID_TYPES.values():
            for body in resources_of(stack, type_).values():
                key = (environment_of(stack_name) or "", type_, str(body.get("resource_group_name")).lower())
                created[(*key, str(body.get("name")).lower())] = stack_name
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        environment = environment_of(stack_name)
        if environment is None:
            continue
        position = APPLY_ORDER.index(stack_name.rsplit("-", 1)[1])
        for type_, items in sorted(stack.get("resource", {}).items()):
            for key, body in sorted(items.items()):
                for value in _strings(body):
                    match = _ARM_ID.fullmatch(value)
                    kind = ID_TYPES.get(match.group("kind").lower()) if match else None
                    if match is None or kind is None:
                        continue
                    owner = created.get((environment, kind, match.group("group").lower(), match.group("name").lower()))
                    if owner is None:
                        problems.append(
                            f"{stack_name}: {type_}.{key} names {value}, which no stack of {environment} creates"
                        )
                    elif APPLY_ORDER.index(owner.rsplit("-", 1)[1]) >= position:
                        problems.append(
                            f"{stack_name}: {type_}.{key} names {value} by id, created by {owner}, which is not "
                            f"applied before it ({' -> '.join(APPLY_ORDER)})"
                        )
    return problems


def _feature_races(stack_name: str, stack: StackJson) -> list[str]:
    registrations = {
        (body.get("provider_name"), body.get("name")): f"azurerm_resource_provider_feature_registration.{key}"
        for key, body in resources_of(stack, "azurerm_resource_provider_feature_registration").items()
    }
    return [
        f"{stack_name}: {type_}.{key} sets {attribute} but does not wait for the registration of "
        f"the subscription feature {'/'.join(feature)}"
        for type_, items in sorted(stack.get("resource", {}).items())
        for key, body in sorted(items.items())
        for attribute, feature in FEATURE_OF_ATTRIBUTE.items()
        if _uses_attribute(body, attribute) and registrations.get(feature) not in body.get("depends_on", [])
    ]


def _peering_races(stack_name: str, stack: StackJson, runner: Runner) -> list[str]:
    runner_peerings = sorted(
        f"azurerm_virtual_network_peering.{key}"
        for key, peering in resources_of(stack, "azurerm_virtual_network_peering").items()
        if runner.vnet_id
        in (
            vnet_id_of(stack, runner.subscription_id, peering.get("remote_virtual_network_id")),
            vnet_arm_id(
                runner.subscription_id,
                literal_value(stack, peering.get("resource_group_name")),
                literal_value(stack, peering.get("virtual_network_name")),
            ),
        )
    )
    problems = []
    for type_ in ("azurerm_key_vault_key", "azurerm_key_vault_certificate"):
        for key, body in sorted(resources_of(stack, type_).items()):
            missing = [p for p in runner_peerings if p not in body.get("depends_on", [])]
            if missing:
                problems.append(
                    f"{stack_name}: {type_}.{key} ({body.get('name')}) is written from the runner through the "
                    f"vault's data plane but does not wait for the runner network's peering(s) {missing}"
                )
    return problems


def _backup_races(stack_name: str, stack: StackJson) -> list[str]:
    sleeps = resources_of(stack, "time_sleep")
    problems = []
    for type_, items in sorted(stack.get("resource", {}).items()):
        if not type_.startswith(BACKUP_INSTANCE_PREFIX):
            continue
        for key, body in sorted(items.items()):
            depends = body.get("depends_on", [])
            grants = {d for d in depends if d.startswith("azurerm_role_assignment.")}
            waited = any(
                d.startswith("time_sleep.") and grants <= set(sleeps.get(d.split(".", 1)[1], {}).get("depends_on", []))
                for d in depends
            )
            if grants and not waited:
                problems.append(
                    f"{stack_name}: {type_}.{key} is created right after its {len(grants)} role assignment(s), "
                    "which Azure checks at create time: no time_sleep waits for their propagation"
                )
    return problems


def _custom_table_races(stack_name: str, stack: StackJson) -> list[str]:
    tables = {
        body["name"]: f"azurerm_log_analytics_workspace_table_custom_log.{key}"
        for key, body in resources_of(stack, "azurerm_log_analytics_workspace_table_custom_log").items()
    }
    problems = []
    for key, body in sorted(resources_of(stack, "azurerm_monitor_scheduled_query_rules_alert_v2").items()):
        queries = " ".join(str(c.get("query", "")) for c in body.get("criteria") or [])
        for table, address in sorted(tables.items()):
            if re.search(rf"\b{re.escape(table)}\b", queries) and address not in body.get("depends_on", []):
                problems.append(
                    f"{stack_name}: azurerm_monitor_scheduled_query_rules_alert_v2.{key} ({body.get('name')}) "
                    f"queries {table} but does not wait for the table, which Azure needs when it validates the query"
                )
    return problems
