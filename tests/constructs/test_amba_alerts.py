"""The Azure Monitor baseline alerts (reference/amba.json): every AMBA alert of a watched resource type exists
in both infra stacks on its resource, with the severity and threshold config resolves (AMBA's unless
overridden), AMBA's aggregation, window and frequency, and the action group of its severity."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from config.loader import load_environment
from config.observability import AMBA_ALERTS, AmbaAlerts
from constructs.alerts import AMBA_TARGETS, amba_alert_keys, amba_route
from tests.conftest import StackJson, resources_of
from tests.constructs.test_alerts import TARGETS, action_groups_by_severity, watched_id


def amba_problems(infra: StackJson, environment: str) -> list[str]:
    """What differs between the stack's metric alerts and the AMBA alerts config asks for."""
    config = load_environment(environment)
    groups = action_groups_by_severity(infra, environment)
    alerts = {
        (body["scopes"][0], body["criteria"][0]["metric_name"]): body
        for body in resources_of(infra, "azurerm_monitor_metric_alert").values()
        if "criteria" in body
    }
    problems = []
    for key in amba_alert_keys(set(TARGETS), config.observability.amba):
        amba = AMBA_ALERTS[key]
        target = AMBA_TARGETS[amba["metric_namespace"]]
        alert = alerts.get((watched_id(infra, target), amba["metric_name"]))
        if alert is None:
            problems.append(f"{key}: no metric alert on the {target} resource")
            continue
        severity, threshold = config.observability.amba.resolved(key)
        route, azure_severity = amba_route(
            severity, edge=target == "app_gateway", edge_live=config.app_gateway.edge_live
        )
        (criterion,) = alert["criteria"]
        expected = {
            "threshold": threshold,
            "operator": amba["operator"],
            "aggregation": amba["aggregation"],
            "metric_namespace": amba["metric_namespace"],
        }
        problems += [f"{key}: {k} {criterion.get(k)!r} != {v!r}" for k, v in expected.items() if criterion.get(k) != v]
        if (alert["severity"], alert["window_size"], alert["frequency"]) != (
            azure_severity,
            amba["window_size"],
            amba["frequency"],
        ):
            problems.append(f"{key}: severity/window/frequency differ from AMBA and config")
        if alert.get("action") != [{"action_group_id": group} for group in groups[route]]:
            problems.append(f"{key}: not routed to the {route} action group")
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
        "ContainerService/managedClusters/node_disk_usage_percentage: no metric alert on the aks resource"
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


@pytest.mark.parametrize(
    "value",
    [
        {"overrides": {"KeyVault/vaults/NoSuchMetric": {"threshold": 1.0}}},
        {"overrides": {"KeyVault/vaults/SaturationShoebox": {"severity": 5}}},
        {"disabled": {"KeyVault/vaults/SaturationShoebox": " "}},
    ],
)
def test_invalid_amba_config_is_refused(value: dict) -> None:
    with pytest.raises(ValueError):
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
