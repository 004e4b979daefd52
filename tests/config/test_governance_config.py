"""Bad governance settings end in a ConfigError naming the key, the value and the rule; both environments
configure the story's plans, initiatives, budget and Gatekeeper effect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.governance import AKS_MANAGED_NAMESPACES
from config.loader import load_environment, parse_environment
from tests.config.test_loader import DELETE, assert_rejected, set_key

STAGING = Path("config/staging.toml")

# (changes to make, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    (
        {"governance.defender_plans.Servers": {}},
        "governance.defender_plans.Servers.[key]",
        "Servers",
        "Input should be",
    ),
    (
        {"governance.defender_plans.StorageAccounts.tier": "Premium"},
        "governance.defender_plans.StorageAccounts.tier",
        "Premium",
        "'Standard' or 'Free'",
    ),
    ({"governance.security_contact.emails": []}, "governance.security_contact.emails", DELETE, "at least 1"),
    ({"governance.security_contact.phone": "555-0100"}, "governance.security_contact.phone", "555-0100", "pattern"),
    (
        {"governance.regulatory_compliance.initiatives": ["soc2_type2", "hipaa"]},
        "governance.regulatory_compliance.initiatives.1",
        "hipaa",
        "Input should be",
    ),
    (
        {"governance.regulatory_compliance.initiatives": ["soc2_type2", "soc2_type2"]},
        "governance.regulatory_compliance.initiatives",
        DELETE,
        "lists an initiative twice",
    ),
    (
        {"governance.regulatory_compliance.enforce": DELETE},
        "governance.regulatory_compliance.enforce",
        DELETE,
        "required key is missing",
    ),
    # The start is the month of the first apply (a time_static), never a config date that a later apply would break.
    ({"governance.budget.start_date": "2026-12-01"}, "governance.budget.start_date", DELETE, "unknown key"),
    ({"governance.budget.monthly_amount": 0}, "governance.budget.monthly_amount", 0, "greater than 0"),
    (
        {"governance.budget.assumed_log_ingestion_gb_per_day": -1},
        "governance.budget.assumed_log_ingestion_gb_per_day",
        -1,
        "greater than or equal to 0",
    ),
    (
        {"governance.budget.forecasted_thresholds_percent": [50, 90, 100, 120]},
        "governance.budget.forecasted_thresholds_percent",
        DELETE,
        "at most 5 budget notifications",
    ),
    (
        {"governance.kubernetes_policy.effect": "warn"},
        "governance.kubernetes_policy.effect",
        "warn",
        "'audit' or 'deny'",
    ),
    (
        {"governance.kubernetes_policy.additional_registries": ["docker.io"]},
        "governance.kubernetes_policy.additional_registries.0",
        "docker.io",
        "pattern",
    ),
    (
        {"governance.kubernetes_policy.required_labels": ["app.kubernetes.io/"]},
        "governance.kubernetes_policy.required_labels.0",
        "app.kubernetes.io/",
        "pattern",
    ),
    # The four namespaces the policies used to spare: the backup extension's and `az aks command invoke`'s pods
    # would be rejected.
    (
        {
            "governance.kubernetes_policy.excluded_namespaces": [
                "kube-system",
                "gatekeeper-system",
                "azure-arc",
                "azure-extensions-usage-system",
            ]
        },
        "governance.kubernetes_policy.excluded_namespaces",
        DELETE,
        "missing kube-node-lease, kube-public, dataprotection-microsoft, aks-command, app-routing-system",
    ),
    (
        {"governance.kubernetes_policy.excluded_namespaces": [*AKS_MANAGED_NAMESPACES, "kube-system"]},
        "governance.kubernetes_policy.excluded_namespaces",
        DELETE,
        "lists a namespace twice",
    ),
    # A namespace the policies exclude: the digest rule would pass everything there without a word.
    (
        {"governance.kubernetes_policy.digest_namespaces": ["monitoring", "kube-system"]},
        "governance.kubernetes_policy.digest_namespaces",
        DELETE,
        "lists excluded namespaces: kube-system",
    ),
]


@pytest.mark.parametrize(
    ("changes", "key", "value", "expected"), BAD_INPUTS, ids=[f"{case[1]}={case[2]!r}" for case in BAD_INPUTS]
)
def test_bad_governance_setting_is_reported_with_key_value_and_rule(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    assert_rejected(raw_config("staging"), changes, key, value, expected)


def test_environments_are_production_like(environment: str) -> None:
    """Story 3.1: staging has production's Defender plans, all four frameworks enforced, Gatekeeper denying."""
    governance = load_environment(environment).governance
    assert sorted(governance.defender_plans) == [
        "Arm",
        "Containers",
        "KeyVaults",
        "OpenSourceRelationalDatabases",
        "StorageAccounts",
    ]
    assert governance.defender_plans["StorageAccounts"].subplan == "DefenderForStorageV2"
    assert sorted(governance.regulatory_compliance.initiatives) == [
        "cis_azure_foundations",
        "nist_sp_800_53_r5",
        "pci_dss_v4",
        "soc2_type2",
    ]
    assert governance.regulatory_compliance.enforce is True
    assert governance.kubernetes_policy.effect == "deny"


def test_budgets_are_the_priced_estimate_plus_a_margin() -> None:
    """Story 0.1.5's ~$1,702/month is below the design's priced cost (docs/cost-estimate.md): each budget is that
    environment's priced estimate plus 25 %, rounded up (tools.docgen.cost_estimate --check keeps it above)."""
    assert load_environment("production").governance.budget.monthly_amount == 9700
    assert load_environment("staging").governance.budget.monthly_amount == 6500


def test_environments_use_different_subscriptions() -> None:
    """Defender plans and initiative assignments are per subscription (AZ-SUB-1): staging has its own."""
    assert load_environment("staging").subscription_id != load_environment("production").subscription_id


def test_config_can_add_excluded_namespaces(raw_config: Callable[[str], dict[str, Any]]) -> None:
    data = raw_config("staging")
    set_key(data, "governance.kubernetes_policy.excluded_namespaces", [*AKS_MANAGED_NAMESPACES, "vendor-agent"])
    excluded = parse_environment(data, STAGING).governance.kubernetes_policy.excluded_namespaces
    assert excluded == (*AKS_MANAGED_NAMESPACES, "vendor-agent")
