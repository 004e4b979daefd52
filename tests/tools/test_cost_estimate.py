"""tools.docgen.cost_estimate: components priced from reference/prices.json by region, unpriced ones listed
(never zero), the budget check on the real output and on a planted too-low budget, the generated page fresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from config.loader import load_environment
from tools.docgen import cost_estimate
from tools.docgen.cost_estimate import BUDGET_TYPE, estimate

PRICES = {
    "firewall-premium-deployment@eastus": {"unitPrice": 1.75, "armRegionName": "eastus"},
    "event-hubs-premium-processing-unit@eastus": {"unitPrice": 1.027, "armRegionName": "eastus"},
}


def stacks(**resources: dict) -> dict:
    return {"staging-infra": {"resource": resources}, "staging-cluster": {}}


def test_hourly_meters_are_priced_for_their_region_only() -> None:
    result = estimate(
        stacks(
            azurerm_firewall={"fw": {"sku_tier": "Premium", "location": "eastus"}},
            azurerm_eventhub_namespace={
                "primary": {"sku": "Premium", "capacity": 2, "location": "eastus"},
                "secondary": {"sku": "Premium", "capacity": 2, "location": "westus"},
            },
        ),
        "staging",
        PRICES,
    )
    priced = {line.component.address: line.monthly for line in result.lines}
    assert priced["staging-infra: azurerm_firewall.fw"] == 1277.5  # 730 h x 1.75
    assert priced["staging-infra: azurerm_eventhub_namespace.primary"] == 1499.42  # 2 units x 730 h x 1.027
    (secondary,) = result.not_priced
    assert secondary.monthly is None and "priced for eastus only" in secondary.why_not
    assert result.total == 2776.92


def test_node_count_comes_from_the_pool_and_unknown_types_are_listed() -> None:
    result = estimate(
        stacks(
            azurerm_kubernetes_cluster={
                "aks": {
                    "location": "eastus",
                    "sku_tier": "Free",
                    "default_node_pool": {"vm_size": "Standard_D4ds_v5", "node_count": 3},
                }
            },
            azurerm_kubernetes_cluster_node_pool={
                "apps": {
                    "kubernetes_cluster_id": "${azurerm_kubernetes_cluster.aks.id}",
                    "vm_size": "Standard_D4ds_v5",
                    "auto_scaling_enabled": True,
                    "min_count": 5,
                    "max_count": 9,
                }
            },
            azurerm_redis_cache={"cache": {"location": "eastus"}},
        ),
        "staging",
        {"vm-linux-standard_d4ds_v5@eastus": {"unitPrice": 0.2}},
    )
    assert [(line.component.rule, line.monthly) for line in result.lines] == [
        ("3 nodes x 730 h", 438.0),
        ("5 min nodes x 730 h", 730.0),
    ]
    assert result.unknown == ("staging-infra: azurerm_redis_cache.cache",)


def test_bootstrap_resources_count_for_the_environment_they_are_named_after() -> None:
    two = {
        "bootstrap": {
            "resource": {
                "azurerm_firewall": {
                    "staging-deployment_firewall": {"sku_tier": "Premium", "location": "eastus"},
                    "production-deployment_firewall": {"sku_tier": "Premium", "location": "eastus"},
                }
            }
        },
        "staging-infra": {},
    }
    result = estimate(two, "staging", PRICES)
    assert [line.component.address for line in result.lines] == [
        "bootstrap: azurerm_firewall.staging-deployment_firewall"
    ]


def test_real_output_is_within_the_configured_budgets(synth_dir: Path) -> None:
    estimates = cost_estimate.estimate_all(synth_dir)
    amounts = cost_estimate.budgets(synth_dir)
    assert set(estimates) == {"production", "staging"} and all(e.total > 0 for e in estimates.values())
    assert cost_estimate.budget_findings(estimates, amounts) == []
    assert cost_estimate.main([str(synth_dir), "--check"]) == 0


def test_check_fails_on_a_planted_budget_below_the_estimate(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fault planted in a copy of the real output: production's config budget set to 1,702 USD (the amount the
    budget had before the estimate existed)."""
    shutil.copytree(synth_dir, tmp_path / "out")
    path = tmp_path / "out" / "stacks" / "production-infra" / "cdk.tf.json"
    infra = json.loads(path.read_text())
    for budget in infra["resource"][BUDGET_TYPE].values():
        budget["amount"] = 1702
    path.write_text(json.dumps(infra))
    assert cost_estimate.main([str(tmp_path / "out"), "--check"]) == 1
    err = capsys.readouterr().err
    assert "production: budget 1,702 USD/month is below the priced estimate" in err
    assert "staging:" not in err


def test_unreadable_synth_is_a_failure(tmp_path: Path) -> None:
    assert cost_estimate.main([str(tmp_path / "missing"), "--check"]) == 2


def test_change_line_shows_each_environment_before_and_after(synth_dir: Path) -> None:
    head = cost_estimate.estimate_all(synth_dir)
    base = cost_estimate.estimate_all(synth_dir, prices={})
    line = cost_estimate.change_line(base, head)
    production = f"{head['production'].total:,.0f}"
    assert f"production 0 → {production} (+{production})" in line
    assert cost_estimate.change_line(head, head).count("(±0)") == 2


def test_checked_in_estimate_is_fresh(synth_dir: Path) -> None:
    expected = cost_estimate.render(
        cost_estimate.estimate_all(synth_dir),
        cost_estimate.budgets(synth_dir),
        json.loads(cost_estimate.PRICES.read_text())["_meta"],
        json.loads(cost_estimate.PRICES.read_text()).get("stand_ins"),
    )
    assert cost_estimate.DOCUMENT.exists() and cost_estimate.DOCUMENT.read_text() == expected, (
        f"{cost_estimate.DOCUMENT} is stale; regenerate with: {cost_estimate.REGENERATE}"
    )


def test_a_stand_in_price_is_used_and_marked_with_its_region(tmp_path: Path) -> None:
    """A meter with no price in its region takes the `stand_ins` entry's price, and the line names that region."""
    reference = {
        "_meta": {},
        "prices": {"private-endpoint@westus": {"unitPrice": 0.01, "armRegionName": "westus"}},
        "stand_ins": {"private-endpoint@eastus": {"use": "private-endpoint@westus", "why": "only westus recorded"}},
    }
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(reference))
    prices = cost_estimate.load_prices(path)
    result = estimate(stacks(azurerm_private_endpoint={"pe": {"location": "eastus"}}), "staging", prices)
    (line,) = result.lines
    assert (line.monthly, line.stand_in) == (7.3, "westus")
    page = cost_estimate.render({"staging": result}, {"staging": 10.0}, {}, reference["stand_ins"])
    assert "7.30 (westus price)" in page and "| `private-endpoint@eastus` | `private-endpoint@westus` |" in page
    # Without the stand-in the same endpoint is not priced: never a silent other-region price.
    assert (
        estimate(stacks(azurerm_private_endpoint={"pe": {"location": "eastus"}}), "staging", reference["prices"]).total
        == 0
    )


def test_defender_plans_count_the_environments_resources() -> None:
    resources = {
        "azurerm_kubernetes_cluster": {
            "aks": {"location": "eastus", "default_node_pool": {"vm_size": "Standard_D4ds_v5", "node_count": 3}}
        },
        "azurerm_key_vault": {"a": {}, "b": {}},
        "azurerm_security_center_subscription_pricing": {
            "containers": {"tier": "Standard", "resource_type": "Containers"},
            "vaults": {"tier": "Standard", "resource_type": "KeyVaults"},
            "storage": {"tier": "Standard", "resource_type": "StorageAccounts", "subplan": "DefenderForStorageV2"},
            "free": {"tier": "Free", "resource_type": "Arm"},
        },
    }
    prices = {
        "defender-containers@Global": {"unitPrice": 6.87, "armRegionName": "Global"},
        "defender-keyvaults@Global": {"unitPrice": 0.25, "armRegionName": "Global"},
    }
    result = estimate(stacks(**resources), "staging", prices)
    by_name = {line.component.name: line for line in result.lines}
    assert by_name["Defender plan Containers"].component.quantity == 12  # 3 nodes x 4 vCPUs
    assert by_name["Defender plan Containers"].monthly == 82.44
    assert by_name["Defender plan KeyVaults"].monthly == 0.5
    assert by_name["Defender plan StorageAccounts"].monthly is None  # the V2 sub-plan's own meter: not priced
    assert "Defender plan Arm" not in by_name  # a Free plan costs nothing


def test_a_registry_geo_replica_is_another_registry_unit() -> None:
    registry = {"sku": "Premium", "location": "eastus", "georeplications": [{"location": "westus"}]}
    prices = {"container-registry-premium@eastus": {"unitPrice": 1.666667, "armRegionName": "eastus"}}
    result = estimate(stacks(azurerm_container_registry={"acr": registry}), "staging", prices)
    assert [line.monthly for line in result.lines] == [50.69, 50.69]  # 730 h = 30.42 days each


def test_an_unpriced_meter_says_why() -> None:
    result = estimate(stacks(azurerm_bastion_host={"b": {"sku": "Standard", "location": "eastus"}}), "staging", {})
    (line,) = result.not_priced
    assert line.why_not.startswith("`bastion-standard`: no recorded price: Infracost prices the Basic meter only")


def test_alert_rules_are_priced_per_time_series_and_per_rule_frequency() -> None:
    """Metric alerts carry no location: they take their resource group's; log alerts by evaluation frequency
    (anything from 15 minutes up is the 15-minute meter)."""
    resources = {
        "azurerm_resource_group": {"rg": {"name": "monitoring", "location": "eastus"}},
        "azurerm_monitor_metric_alert": {
            "cpu": {"resource_group_name": "monitoring", "scopes": ["a", "b"], "criteria": [{}]},
            "dyn": {"resource_group_name": "monitoring", "scopes": ["a"], "dynamic_criteria": {"metric_name": "cpu"}},
        },
        "azurerm_monitor_scheduled_query_rules_alert_v2": {
            "hourly": {"location": "eastus", "evaluation_frequency": "PT1H"},
            "fast": {"location": "eastus", "evaluation_frequency": "PT5M"},
        },
    }
    prices = {
        "metric-alert-time-series@eastus": {"unitPrice": 0.1, "armRegionName": "eastus"},
        "metric-alert-dynamic-threshold@eastus": {"unitPrice": 0.1, "armRegionName": "eastus"},
        "log-alert-rule-15min@eastus": {"unitPrice": 0.5, "armRegionName": "eastus"},
    }
    result = estimate(stacks(**resources), "staging", prices)
    by_address = {(line.component.address.split(".")[-1], line.component.name): line for line in result.lines}
    assert by_address["cpu", "time series"].monthly == 0.2  # 2 scopes x 1 criterion
    assert by_address["dyn", "dynamic threshold"].monthly == 0.1
    assert by_address["hourly", "rule (15 minute frequency)"].monthly == 0.5
    assert by_address["fast", "rule (5 minute frequency)"].monthly is None  # no 5-minute price given


def test_log_ingestion_is_priced_at_the_assumed_volume_for_the_platform_workspace_only() -> None:
    """The infra stack's workspace at config's daily volume; bootstrap's deployment workspace stays usage."""
    resources = {
        "staging-infra": {
            "resource": {"azurerm_log_analytics_workspace": {"ws": {"sku": "PerGB2018", "location": "eastus"}}}
        },
        "bootstrap": {
            "resource": {
                "azurerm_log_analytics_workspace": {"staging-deployment_ws": {"sku": "PerGB2018", "location": "eastus"}}
            }
        },
    }
    prices = {"log-analytics-ingestion-gb@eastus": {"unitPrice": 2.99, "armRegionName": "eastus"}}
    (line,) = estimate(resources, "staging", prices, log_gb_per_day=5).lines
    assert line.component.address == "staging-infra: azurerm_log_analytics_workspace.ws"
    assert line.monthly == 454.73  # 5 GB x 30.42 days x 2.99
    assert line.component.rule.startswith("5 GB/day (config assumed_log_ingestion_gb_per_day)")
    # Without an assumed volume ingestion stays usage: outside the total, never a zero line.
    assert estimate(resources, "staging", prices).lines == ()


def test_the_assumed_volume_is_the_environments_config_over_base(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text("[governance.budget]\nassumed_log_ingestion_gb_per_day = 5\n")
    (tmp_path / "production.toml").write_text("[governance.budget]\nassumed_log_ingestion_gb_per_day = 10\n")
    assert cost_estimate.assumed_ingestion("production", tmp_path) == 10.0
    assert cost_estimate.assumed_ingestion("staging", tmp_path) == 5.0
    (tmp_path / "base.toml").write_text("[governance.budget]\nmonthly_amount = 1\n")
    assert cost_estimate.assumed_ingestion("staging", tmp_path) is None
    # The bare reader agrees with the config models on the shipped files.
    for environment in ("production", "staging"):
        budget = load_environment(environment).governance.budget
        assert cost_estimate.assumed_ingestion(environment) == budget.assumed_log_ingestion_gb_per_day


def test_grafana_zone_redundancy_is_a_meter_of_its_own() -> None:
    grafana = {"sku": "Standard", "location": "eastus", "zone_redundancy_enabled": True}
    prices = {"grafana-standard-zone-redundancy@eastus": {"unitPrice": 0.05343, "armRegionName": "eastus"}}
    result = estimate(stacks(azurerm_dashboard_grafana={"g": grafana}), "staging", prices)
    assert [(line.component.name, line.monthly) for line in result.lines] == [
        ("instance", None),
        ("zone redundancy", 39.0),
    ]
    single = estimate(
        stacks(azurerm_dashboard_grafana={"g": {**grafana, "zone_redundancy_enabled": False}}), "staging", prices
    )
    assert [line.component.name for line in single.lines] == ["instance"]


def test_real_output_prices_the_node_vms_postgres_and_log_ingestion(synth_dir: Path) -> None:
    """The price keys the synthesized sizes ask for (config's vm_size and sku_name) exist in reference/prices.json."""
    for environment, result in cost_estimate.estimate_all(synth_dir).items():
        unpriced = {line.component.price_key for line in result.not_priced}
        assert not {key for key in unpriced if key.startswith(("vm-", "postgres-", "log-analytics-"))}, environment
        keys = {line.component.price_key for line in result.lines if line.monthly}
        assert {"vm-linux-standard_d4ds_v5", "log-analytics-ingestion-gb"} <= keys, environment
