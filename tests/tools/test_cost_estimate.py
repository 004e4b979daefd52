"""tools.docgen.cost_estimate: components priced from reference/prices.json by region, unpriced ones listed
(never zero), the budget check on the real output and on a planted too-low budget, the generated page fresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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
    )
    assert cost_estimate.DOCUMENT.exists() and cost_estimate.DOCUMENT.read_text() == expected, (
        f"{cost_estimate.DOCUMENT} is stale; regenerate with: {cost_estimate.REGENERATE}"
    )
