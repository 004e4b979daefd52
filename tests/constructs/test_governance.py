"""Subscription governance in each environment's infra stack: Defender plans and security contact from config,
the regulatory initiatives with verified built-in ids, the activity log export and the monthly budget."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from config.loader import load_environment
from config.schema import EnvironmentConfig
from constructs.governance import ACTIVITY_LOG_CATEGORIES, REGULATORY_INITIATIVES, Governance, GovernanceProps
from constructs.naming import Naming
from tests.assurance.test_azure_rules import SUBSCRIPTION, synth_with
from tests.conftest import StackJson, only_resource, resources_of

BUILT_IN_SET = re.compile(
    r"^/providers/Microsoft\.Authorization/policySetDefinitions/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)


def test_one_standard_defender_plan_per_configured_resource_type(infra: StackJson, config: EnvironmentConfig) -> None:
    plans = {
        plan["resource_type"]: plan
        for plan in resources_of(infra, "azurerm_security_center_subscription_pricing").values()
    }
    assert sorted(plans) == sorted(config.governance.defender_plans)
    for resource_type, plan in plans.items():
        assert plan["tier"] == "Standard"
        assert plan.get("subplan") == config.governance.defender_plans[resource_type].subplan
    assert plans["StorageAccounts"]["subplan"] == "DefenderForStorageV2"


def test_security_contact_gets_alerts(infra: StackJson, config: EnvironmentConfig) -> None:
    contact = only_resource(infra, "azurerm_security_center_contact")
    assert contact["email"].split(";") == list(config.governance.security_contact.emails)
    assert contact["phone"] == config.governance.security_contact.phone
    assert contact["alert_notifications"] is True and contact["alerts_to_admins"] is True


def test_every_configured_initiative_is_assigned_with_identity_and_location(
    infra: StackJson, config: EnvironmentConfig
) -> None:
    assignments = list(resources_of(infra, "azurerm_subscription_policy_assignment").values())
    expected = sorted(
        REGULATORY_INITIATIVES[key].policy_set_definition_id
        for key in config.governance.regulatory_compliance.initiatives
    )
    assert sorted(a["policy_definition_id"] for a in assignments) == expected
    for assignment in assignments:
        assert assignment["subscription_id"] == f"/subscriptions/{config.subscription_id}"
        assert assignment["identity"] == {"type": "SystemAssigned"}  # DeployIfNotExists/Modify need an identity
        assert assignment["location"] == config.location
        assert assignment["enforce"] is config.governance.regulatory_compliance.enforce
        assert assignment["non_compliance_message"][0]["content"]
        assert len(assignment["name"]) <= 64


def test_soc2_assignment_supplies_the_parameters_without_default(infra: StackJson, config: EnvironmentConfig) -> None:
    """Issue #15: the SOC 2 Type 2 initiative has three parameters without a default (reference/policy_definitions
    .json); without them Azure rejects the assignment. The image regex admits only this registry and MCR."""
    (soc2,) = [
        a
        for a in resources_of(infra, "azurerm_subscription_policy_assignment").values()
        if a["policy_definition_id"] == REGULATORY_INITIATIVES["soc2_type2"].policy_set_definition_id
    ]
    values = {name: wrapped["value"] for name, wrapped in json.loads(soc2["parameters"]).items()}
    assert sorted(values) == [
        "allowedContainerImagesRegex-febd0533-8e55-448f-b837-bd0e06f16469",
        "cpuLimit-e345eecc-fa47-480f-9e88-67dcc122b164",
        "memoryLimit-e345eecc-fa47-480f-9e88-67dcc122b164",
    ]
    registry = only_resource(infra, "azurerm_container_registry")["name"]
    regex = re.compile(values["allowedContainerImagesRegex-febd0533-8e55-448f-b837-bd0e06f16469"])
    assert regex.match(f"{registry}.azurecr.io/erp/api:1.2.3") and regex.match("mcr.microsoft.com/oss/nginx:1")
    assert not regex.match("docker.io/library/nginx") and not regex.match(f"{registry}.azurecr.io.evil.com/x")
    compliance = config.governance.regulatory_compliance
    assert values["cpuLimit-e345eecc-fa47-480f-9e88-67dcc122b164"] == compliance.max_container_cpu_limit
    assert values["memoryLimit-e345eecc-fa47-480f-9e88-67dcc122b164"] == compliance.max_container_memory_limit


def test_initiative_table_holds_distinct_built_in_ids() -> None:
    ids = [initiative.policy_set_definition_id for initiative in REGULATORY_INITIATIVES.values()]
    assert all(BUILT_IN_SET.match(i) for i in ids) and len(set(ids)) == len(ids)


def test_activity_log_goes_to_the_workspace(infra: StackJson, config: EnvironmentConfig) -> None:
    exports = [
        s
        for s in resources_of(infra, "azurerm_monitor_diagnostic_setting").values()
        if s["target_resource_id"] == f"/subscriptions/{config.subscription_id}"
    ]
    assert len(exports) == 1
    (export,) = exports
    assert re.fullmatch(r"\$\{azurerm_log_analytics_workspace\.[\w-]+\.id\}", export["log_analytics_workspace_id"])
    assert sorted(log["category"] for log in export["enabled_log"]) == sorted(ACTIVITY_LOG_CATEGORIES)
    assert {"Administrative", "Security", "Policy"} <= set(ACTIVITY_LOG_CATEGORIES)


def test_budget_notifies_at_actual_80_100_and_forecast_100(infra: StackJson, config: EnvironmentConfig) -> None:
    budget = only_resource(infra, "azurerm_consumption_budget_subscription")
    expected = config.governance.budget
    assert budget["amount"] == expected.monthly_amount
    assert budget["subscription_id"] == f"/subscriptions/{config.subscription_id}"
    assert budget["time_grain"] == "Monthly"
    # The first of the month of the first apply: plantimestamp() kept in state by a terraform_data that ignores
    # later timestamps, not timestamp() alone (it would move on every plan) and not a literal month (Azure refuses
    # a past month at a later first apply).
    [(key, first_apply)] = [
        (k, v) for k, v in infra["resource"]["terraform_data"].items() if v.get("input") == "${plantimestamp()}"
    ]
    assert first_apply["lifecycle"] == {"ignore_changes": ["input"]}
    assert (
        budget["time_period"]["start_date"]
        == f"${{formatdate(\"YYYY-MM-01'T00:00:00Z'\", terraform_data.{key}.output)}}"
    )
    assert budget["lifecycle"]["ignore_changes"] == ["time_period"]
    notifications = sorted((n["threshold_type"], n["threshold"]) for n in budget["notification"])
    assert notifications == [("Actual", 80), ("Actual", 100), ("Forecasted", 100)]
    assert all(n["contact_emails"] == list(expected.contact_emails) and n["enabled"] for n in budget["notification"])


def test_a_second_governance_in_the_same_subscription_fails_synth(tmp_path) -> None:
    """AZ-SUB-1: Defender plans and initiative assignments exist once per subscription, so declaring the
    governance construct twice (e.g. two stacks sharing a subscription) is caught at synth."""
    config = load_environment("staging")

    def twice(stack) -> None:
        for id in ("governance", "governance-again"):
            Governance(
                stack,
                id,
                props=GovernanceProps(
                    config=config.governance,
                    naming=Naming(config.short_name, config.unique_suffix),
                    subscription_id=SUBSCRIPTION,
                    location=config.location,
                    log_analytics_workspace_id="/subscriptions/s/w",
                ),
            )

    with pytest.raises(
        RuntimeError, match="AZ-SUB-1 azurerm_security_center_subscription_pricing 'rules/governance/defender-Arm'"
    ):
        synth_with(twice, tmp_path)


ROLE_IDS: dict[str, str] = json.loads(Path("reference/roles.json").read_text())["roles"]


def remediation_gaps(stack: StackJson, reference: dict) -> list[str]:
    """Initiative assignments whose identity lacks a role its deployIfNotExists/modify members name (reference)."""
    gaps = []
    grants = resources_of(stack, "azurerm_role_assignment").values()
    for key, assignment in resources_of(stack, "azurerm_subscription_policy_assignment").items():
        needed = set(reference[assignment["policy_definition_id"]].get("remediation_role_definition_ids", []))
        principal = f"${{azurerm_subscription_policy_assignment.{key}.identity[0].principal_id}}"
        held = {
            ROLE_IDS.get(str(g.get("role_definition_name")), str(g.get("role_definition_id", "")).rsplit("/", 1)[-1])
            for g in grants
            if g["principal_id"] == principal and g["scope"] == assignment["subscription_id"]
        }
        gaps += [f"{assignment['name']}: no role {guid}" for guid in sorted(needed - held)]
    return gaps


def test_remediating_initiatives_hold_the_roles_their_members_name(infra: StackJson) -> None:
    reference = json.loads(Path("reference/policy_definitions.json").read_text())["definitions"]
    assert remediation_gaps(infra, reference) == []
    # The table in constructs/governance.py is the reference's, not a second opinion.
    for initiative in REGULATORY_INITIATIVES.values():
        expected = reference[initiative.policy_set_definition_id]["remediation_role_definition_ids"]
        assert sorted(ROLE_IDS[role] for role in initiative.remediation_roles) == expected, initiative.display_name
    assert any(i.remediation_roles for i in REGULATORY_INITIATIVES.values())  # not vacuous: NIST and PCI remediate
    # Failing example: PCI's Network Contributor grant removed.
    broken = copy.deepcopy(infra)
    grants = broken["resource"]["azurerm_role_assignment"]
    for key in [k for k, g in grants.items() if "pci" in k and g.get("role_definition_name") == "Network Contributor"]:
        del grants[key]
    [gap] = remediation_gaps(broken, reference)
    assert gap.endswith("no role 4d97b98b-1d4f-4787-a291-c67834d212e7")
