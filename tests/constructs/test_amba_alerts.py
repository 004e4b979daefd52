"""The Azure Monitor baseline alerts (reference/amba.json): every AMBA alert of a watched resource type exists
in both infra stacks on its resource, with the severity and threshold config resolves (AMBA's unless
overridden), AMBA's aggregation, window and frequency, and the action group of its severity."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from config.loader import load_environment
from config.observability import AMBA_ACTIVITY_ALERTS, AMBA_ALERTS, AmbaAlerts
from constructs.alerts import (
    AMBA_INSTANCES,
    AMBA_TARGETS,
    amba_activity_keys,
    amba_activity_route,
    amba_alert_keys,
    amba_resource_type,
    amba_route,
    amba_scope_suffix,
)
from constructs.naming import Naming
from constructs.notifications import webhook_receiver_ids
from constructs.platform_groups import platform_groups
from tests.conftest import StackJson, resources_of
from tests.constructs.test_alerts import TARGETS, action_groups_by_severity, watched_id
from tools.maintenance.refdata.common import REFERENCE_DIR

TERRAFORM_TYPES: dict[str, str] = json.loads((REFERENCE_DIR / "monitor.json").read_text())["terraform_types"]
# The AMBA targets beyond the platform's own alerts' (one resource each) and the instance kinds: every resource of
# the Terraform type in the stack is watched, so a new public IP or zone without its alerts fails here.
AMBA_ONLY_TARGETS = {"route_table": "azurerm_route_table", "log_analytics": "azurerm_log_analytics_workspace"}
INSTANCE_TYPES = {
    "network_security_group": "azurerm_network_security_group",
    "private_dns_zone": "azurerm_private_dns_zone",
    "public_ip": "azurerm_public_ip",
    "virtual_network": "azurerm_virtual_network",
}


def adapter_workflow_ids(environment: str) -> list[str]:
    """The chat adapters' ids: the alerting stack's workflows, named in infra by their config-derived ids."""
    config = load_environment(environment)
    return sorted(
        webhook_receiver_ids(
            Naming(config.short_name, config.unique_suffix),
            {severity: receiver.webhook_name for severity, receiver in config.observability.receivers.items()},
            config.subscription_id,
            platform_groups(config)["monitoring"].name,
        ).adapter_workflow_ids.values()
    )


def watched_ids(infra: StackJson, environment: str, kind: str) -> list[str]:
    """The ids of the resources an AMBA alert of a target or instance kind watches: every resource of its type (a
    target's peers too: the KMS and geo vaults, the AKS backup account, the DR namespace)."""
    if kind == "chat_adapter":
        return adapter_workflow_ids(environment)
    resource_type = {**INSTANCE_TYPES, **AMBA_ONLY_TARGETS}.get(kind) or TARGETS[kind][0]
    return [f"${{{resource_type}.{address}.id}}" for address in sorted(resources_of(infra, resource_type))]


def unwatched(infra: StackJson, amba: AmbaAlerts) -> list[str]:
    """`<resource>: <AMBA key>` for every resource of a type AMBA has metric alerts for (reference/monitor.json
    `terraform_types`) and every such alert not excluded (reference/amba.json `excluded`, config's `disabled`)
    that no metric alert of the stack, AMBA's or the platform's own, raises on the resource."""
    raised = {
        (body["scopes"][0], _criterion(body)["metric_name"])
        for body in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if "criteria" in body or "dynamic_criteria" in body
    }
    return [
        f"{resource_type}.{address}: {key}"
        for resource_type, arm_type in sorted(TERRAFORM_TYPES.items())
        for address in sorted(resources_of(infra, resource_type))
        for key, definition in sorted(AMBA_ALERTS.items())
        if amba_resource_type(definition["metric_namespace"]) == arm_type
        and key not in amba.disabled
        and (
            f"${{{resource_type}.{address}.id}}" + amba_scope_suffix(definition["metric_namespace"]),
            definition["metric_name"],
        )
        not in raised
    ]


def _criterion(alert: dict) -> dict:
    return alert["dynamic_criteria"] if "dynamic_criteria" in alert else alert["criteria"][0]


def _criterion_problems(key: str, criterion: dict, amba: AmbaAlerts) -> list[str]:
    definition = AMBA_ALERTS[key]
    _, threshold = amba.resolved(key)
    expected = {
        "operator": definition["operator"],
        "aggregation": definition["aggregation"],
        "metric_namespace": definition["metric_namespace"],
        "dimension": definition.get("dimensions"),
    }
    if "dynamic" in definition:
        expected |= {
            "alert_sensitivity": amba.sensitivity(key),
            "evaluation_total_count": definition["dynamic"]["evaluation_total_count"],
            "evaluation_failure_count": definition["dynamic"]["evaluation_failure_count"],
        }
    else:
        expected["threshold"] = threshold
    return [f"{key}: {k} {criterion.get(k)!r} != {v!r}" for k, v in expected.items() if criterion.get(k) != v]


def amba_problems(infra: StackJson, environment: str) -> list[str]:
    """What differs between the stack's metric alerts and the AMBA metric alerts config asks for."""
    config = load_environment(environment)
    amba = config.observability.amba
    groups = action_groups_by_severity(infra, environment)
    alerts = {
        (body["scopes"][0], _criterion(body)["metric_name"]): body
        for body in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if "criteria" in body or "dynamic_criteria" in body
    }
    problems = []
    watched = set(TARGETS) | set(AMBA_ONLY_TARGETS) | set(INSTANCE_TYPES) | {"chat_adapter"}
    for key in amba_alert_keys(watched, amba):
        definition = AMBA_ALERTS[key]
        kind = (
            AMBA_TARGETS.get(amba_resource_type(definition["metric_namespace"]))
            or AMBA_INSTANCES[amba_resource_type(definition["metric_namespace"])]
        )
        for resource_id in watched_ids(infra, environment, kind):
            scope = resource_id + amba_scope_suffix(definition["metric_namespace"])
            alert = alerts.get((scope, definition["metric_name"]))
            if alert is None:
                problems.append(f"{key}: no metric alert on {scope}")
                continue
            problems += _criterion_problems(key, _criterion(alert), amba)
            severity, _ = amba.resolved(key)
            route, azure_severity = amba_route(
                severity, edge=kind == "app_gateway", edge_live=config.app_gateway.edge_live
            )
            if (alert["severity"], alert["window_size"], alert["frequency"]) != (
                azure_severity,
                definition["window_size"],
                definition["frequency"],
            ):
                problems.append(f"{key}: severity/window/frequency differ from AMBA and config")
            if alert.get("action") != [{"action_group_id": group} for group in groups[route]]:
                problems.append(f"{key}: not routed to the {route} action group")
    return problems


def amba_activity_problems(infra: StackJson, environment: str) -> list[str]:
    """What differs between the stack's activity-log alerts and AMBA's for the types the stack has."""
    config = load_environment(environment)
    groups = action_groups_by_severity(infra, environment)
    alerts = {
        body["criteria"].get("operation_name"): body
        for body in resources_of(infra, "azurerm_monitor_activity_log_alert").values()
    }
    kinds = set(TARGETS) | set(AMBA_ONLY_TARGETS) | set(INSTANCE_TYPES) | {"chat_adapter"}
    present = {kind for kind in kinds if watched_ids(infra, environment, kind)}
    problems = []
    for key in amba_activity_keys(present, config.observability.amba):
        definition = AMBA_ACTIVITY_ALERTS[key]
        alert = alerts.get(definition["operation_name"])
        if alert is None:
            problems.append(f"{key}: no activity-log alert")
            continue
        expected = {
            "category": definition["category"],
            "resource_type": definition["resource_type"],
            "statuses": definition["statuses"],
        }
        problems += [
            f"{key}: {k} {alert['criteria'].get(k)!r} != {v!r}"
            for k, v in expected.items()
            if alert["criteria"].get(k) != v
        ]
        if alert["scopes"] != [f"/subscriptions/{config.subscription_id}"]:
            problems.append(f"{key}: not scoped to the subscription")
        if alert.get("action") != [{"action_group_id": group} for group in groups[amba_activity_route(key)]]:
            problems.append(f"{key}: not routed to the {amba_activity_route(key)} action group")
    return problems


def test_every_amba_alert_of_a_watched_type_is_deployed_as_configured(infra: StackJson, environment: str) -> None:
    keys = amba_alert_keys(set(TARGETS), load_environment(environment).observability.amba)
    assert len(keys) >= 20  # AKS, Key Vault and App Gateway alerts beyond the platform's own
    assert amba_problems(infra, environment) == []
    # config/base.toml overrides one AMBA threshold (the Premium registry's storage): the stack carries config's
    (registry_storage,) = [
        body
        for body in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if body["//"]["metadata"]["path"].endswith("/amba-registry-StorageUsed")
    ]
    assert registry_storage["criteria"][0]["threshold"] == 429496729600.0
    assert AMBA_ALERTS["ContainerRegistry/registries/StorageUsed"]["threshold"] == 50000000000.0


def test_every_amba_activity_log_alert_of_a_type_the_stack_has_is_deployed(infra: StackJson, environment: str) -> None:
    assert amba_activity_problems(infra, environment) == []
    operations = {
        body["criteria"].get("operation_name")
        for body in resources_of(infra, "azurerm_monitor_activity_log_alert").values()
    }
    assert {"Microsoft.KeyVault/vaults/delete", "Microsoft.Network/networkSecurityGroups/delete"} <= operations


def test_a_missing_amba_alert_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    alerts = broken["resource"]["azurerm_monitor_metric_alert"]
    (address,) = [
        a
        for a, body in alerts.items()
        if body["//"]["metadata"]["path"].endswith("/amba-aks-node_disk_usage_percentage")
    ]
    del alerts[address]
    assert amba_problems(broken, environment) == [
        f"ContainerService/managedClusters/node_disk_usage_percentage: no metric alert on {watched_id(infra, 'aks')}"
    ]


def _alert_at(stack: StackJson, path_end: str) -> dict:
    (body,) = [
        body
        for body in resources_of(stack, "azurerm_monitor_metric_alert").values()
        if body["//"]["metadata"]["path"].endswith(path_end)
    ]
    return body


def test_a_dropped_dimension_filter_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    del _alert_at(broken, "/amba-app_gateway-ResponseStatus")["criteria"][0]["dimension"]
    assert amba_problems(broken, environment) == [
        "Network/applicationGateways/ResponseStatus: dimension None != "
        "[{'name': 'HttpStatusGroup', 'operator': 'Include', 'values': ['5xx']}]"
    ]


def test_a_dynamic_threshold_not_from_config_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    _alert_at(broken, "/amba-chat_adapter-warning-ActionLatency")["dynamic_criteria"]["alert_sensitivity"] = "High"
    assert amba_problems(broken, environment) == ["Logic/workflows/ActionLatency: alert_sensitivity 'High' != 'Low'"]


def test_a_sub_resource_alert_on_the_account_itself_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    alert = _alert_at(broken, "/amba-storage-blobServices-SuccessE2ELatency")
    alert["scopes"] = [alert["scopes"][0].removesuffix("/blobServices/default")]
    assert amba_problems(broken, environment) == [
        f"Storage/storageAccounts/blobServices/SuccessE2ELatency: no metric alert on "
        f"{watched_id(infra, 'storage')}/blobServices/default"
    ]


def test_a_public_ip_without_its_alerts_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    alerts = broken["resource"]["azurerm_monitor_metric_alert"]
    for address in [a for a, body in alerts.items() if "/amba-public_ip-bastion-" in body["//"]["metadata"]["path"]]:
        del alerts[address]
    problems = amba_problems(broken, environment)
    assert len(problems) == 7  # AMBA's seven public IP alerts
    assert all("azurerm_public_ip.network_bastion-public-ip" in problem for problem in problems)


def test_a_missing_or_misrouted_activity_log_alert_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    alerts = broken["resource"]["azurerm_monitor_activity_log_alert"]
    for address, body in list(alerts.items()):
        operation = body["criteria"].get("operation_name")
        if operation == "Microsoft.KeyVault/vaults/delete":
            del alerts[address]
        elif operation == "Microsoft.Network/azureFirewalls/delete":
            body["action"] = [
                {"action_group_id": group} for group in action_groups_by_severity(infra, environment)["warning"]
            ]
    assert amba_activity_problems(broken, environment) == [
        "KeyVault/vaults/activity/delete: no activity-log alert",
        "Network/azureFirewalls/activity/delete: not routed to the critical action group",
    ]


def test_a_threshold_not_from_config_is_found(infra: StackJson, environment: str) -> None:
    broken = copy.deepcopy(infra)
    for body in broken["resource"]["azurerm_monitor_metric_alert"].values():
        if body["//"]["metadata"]["path"].endswith("/amba-key_vault-SaturationShoebox"):
            body["criteria"][0]["threshold"] = 99
    assert amba_problems(broken, environment) == ["KeyVault/vaults/SaturationShoebox: threshold 99 != 75.0"]


def test_overrides_replace_amba_values_and_disabled_alerts_are_not_created() -> None:
    key = "KeyVault/vaults/SaturationShoebox"
    amba = AmbaAlerts(
        overrides={key: {"severity": 3, "threshold": 60.0}},
        disabled={"Network/applicationGateways/TotalRequests": "no traffic baseline yet"},
    )
    assert amba.resolved(key) == (3, 60.0)
    assert AmbaAlerts().resolved(key) == (AMBA_ALERTS[key]["severity"], AMBA_ALERTS[key]["threshold"])
    assert "Network/applicationGateways/TotalRequests" not in amba_alert_keys(set(TARGETS), amba)
    assert "Network/applicationGateways/TotalRequests" in amba_alert_keys(set(TARGETS), AmbaAlerts())


def test_dynamic_alerts_take_a_sensitivity_and_activity_log_alerts_can_be_disabled() -> None:
    key = "Logic/workflows/ActionLatency"
    amba = AmbaAlerts(
        overrides={key: {"sensitivity": "Medium"}},
        disabled={"Network/routeTables/activity/routes/write": "routes change with every release"},
    )
    assert (amba.sensitivity(key), AmbaAlerts().sensitivity(key)) == ("Medium", "Low")
    assert amba.resolved(key) == (3, None)
    kinds = {"route_table", "chat_adapter"}
    assert "Network/routeTables/activity/routes/write" not in amba_activity_keys(kinds, amba)
    assert "Network/routeTables/activity/routes/write" in amba_activity_keys(kinds, AmbaAlerts())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"overrides": {"KeyVault/vaults/NoSuchMetric": {"threshold": 1.0}}}, "unknown AMBA alerts"),
        ({"overrides": {"KeyVault/vaults/SaturationShoebox": {"severity": 5}}}, "less than or equal to 4"),
        ({"disabled": {"KeyVault/vaults/SaturationShoebox": " "}}, "needs a reason"),
        ({"overrides": {"Logic/workflows/ActionLatency": {"threshold": 5.0}}}, "dynamic threshold"),
        ({"overrides": {"KeyVault/vaults/SaturationShoebox": {"sensitivity": "High"}}}, "static threshold"),
        ({"overrides": {"KeyVault/vaults/SaturationShoebox": {"sensitivity": "Highest"}}}, "'Low', 'Medium' or 'High'"),
        ({"overrides": {"KeyVault/vaults/activity/delete": {"severity": 1}}}, "no severity or threshold"),
    ],
)
def test_invalid_amba_config_is_refused(value: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AmbaAlerts.model_validate(value)


def test_amba_severity_routes_to_the_action_groups() -> None:
    assert amba_route(1, edge=False, edge_live=False) == ("critical", 1)
    assert amba_route(3, edge=False, edge_live=True) == ("warning", 3)
    assert amba_route(0, edge=True, edge_live=False) == ("warning", 2)
    assert amba_route(0, edge=True, edge_live=True) == ("critical", 0)


def test_the_alert_catalogue_lists_every_amba_alert() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    section = text.split("## 2.3 AMBA metric alerts", 1)[1].split("\n## ", 1)[0]
    assert [key for key in AMBA_ALERTS if f"| `{key}` |" not in section] == []


def test_every_resource_of_a_type_amba_covers_has_its_alerts(infra: StackJson, environment: str) -> None:
    assert unwatched(infra, load_environment(environment).observability.amba) == []
    # The guard reads every resource of the types, the target's peers included (three vaults, two accounts).
    assert len(resources_of(infra, "azurerm_key_vault")) == 3
    assert len(resources_of(infra, "azurerm_storage_account")) == 2
    assert len(resources_of(infra, "azurerm_eventhub_namespace")) == 2


def test_a_new_resource_of_a_covered_type_without_alerts_is_found(infra: StackJson, environment: str) -> None:
    planted = copy.deepcopy(infra)
    vaults = planted["resource"]["azurerm_key_vault"]
    vaults["data_audit-key-vault_0A1B2C3D"] = copy.deepcopy(next(iter(vaults.values())))
    assert unwatched(planted, load_environment(environment).observability.amba) == [
        f"azurerm_key_vault.data_audit-key-vault_0A1B2C3D: KeyVault/vaults/{metric}"
        for metric in ("Availability", "SaturationShoebox", "ServiceApiLatency")
    ]


def test_a_peer_without_an_alert_is_found(infra: StackJson, environment: str) -> None:
    planted = copy.deepcopy(infra)
    alerts = planted["resource"]["azurerm_monitor_metric_alert"]
    for address, body in list(alerts.items()):
        if body["//"]["metadata"]["path"].endswith(
            ("/amba-event_hubs-secondary-NamespaceCpuUsage", "/key_vault-kms-Availability")
        ):
            del alerts[address]
    (secondary,) = [a for a in resources_of(infra, "azurerm_eventhub_namespace") if "secondary" in a]
    (kms,) = [a for a in resources_of(infra, "azurerm_key_vault") if "kms" in a]
    assert unwatched(planted, load_environment(environment).observability.amba) == [
        f"azurerm_eventhub_namespace.{secondary}: EventHub/namespaces/NamespaceCpuUsage",
        f"azurerm_key_vault.{kms}: KeyVault/vaults/Availability",
    ]
    assert amba_problems(planted, environment) == [
        f"EventHub/namespaces/NamespaceCpuUsage: no metric alert on ${{azurerm_eventhub_namespace.{secondary}.id}}"
    ]
