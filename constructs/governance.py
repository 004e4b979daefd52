"""Subscription governance: Defender for Cloud plans and security contact, regulatory compliance initiatives,
the activity log export to Log Analytics and the monthly cost budget.

Everything here is a subscription-level singleton (rule AZ-SUB-1): create it once per subscription.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cdktf import Fn, TerraformResource, TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.consumption_budget_subscription import (
    ConsumptionBudgetSubscription,
    ConsumptionBudgetSubscriptionNotification,
    ConsumptionBudgetSubscriptionTimePeriod,
)
from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
)
from cdktf_cdktf_provider_azurerm.security_center_contact import SecurityCenterContact
from cdktf_cdktf_provider_azurerm.security_center_subscription_pricing import SecurityCenterSubscriptionPricing
from cdktf_cdktf_provider_azurerm.subscription_policy_assignment import (
    SubscriptionPolicyAssignment,
    SubscriptionPolicyAssignmentIdentity,
    SubscriptionPolicyAssignmentNonComplianceMessage,
)

from config.governance import GovernanceConfig
from constructs import Construct
from constructs.interfaces import RoleGrant, grant
from constructs.naming import Naming


@dataclass(frozen=True)
class BuiltInInitiative:
    display_name: str
    policy_set_definition_id: str
    # Values for the initiative's parameters that have no default (Azure rejects the assignment without them);
    # reference/policy_initiatives.json lists them and tools/checks/reference_check.py proves every one is supplied.
    parameters: Callable[[GovernanceProps], dict[str, object]] = field(default=lambda props: {})
    # The built-in roles its deployIfNotExists/modify members name in `roleDefinitionIds`: the assignment's identity
    # holds each at the subscription so remediation works (reference/policy_definitions.json
    # `remediation_role_definition_ids`, by id; tests/constructs/test_governance.py keeps the two equal).
    remediation_roles: tuple[str, ...] = ()


def built_in(guid: str) -> str:
    return f"/providers/Microsoft.Authorization/policySetDefinitions/{guid}"


# Built-in regulatory compliance initiatives. Ids verified against the initiative definitions published by
# Microsoft in https://github.com/Azure/azure-policy/tree/master/built-in-policies/policySetDefinitions/Regulatory%20Compliance
# (SOC_2.json, NIST_SP_800-53_R5.json, CIS_Azure_Foundations_v3.0.0.json, PCI_DSS_v4.0.1.json); index:
# https://learn.microsoft.com/azure/governance/policy/samples/built-in-initiatives#regulatory-compliance
def image_regex(prefixes: tuple[str, ...]) -> str:
    """An anchored regex matching images under any of the registry prefixes (each ends in "/")."""
    return "^(" + "|".join(re.escape(prefix) for prefix in prefixes) + ").+$"


def _soc2_parameters(props: GovernanceProps) -> dict[str, object]:
    compliance = props.config.regulatory_compliance
    return {
        # "Kubernetes cluster containers should only use allowed images" (febd0533-...)
        "allowedContainerImagesRegex-febd0533-8e55-448f-b837-bd0e06f16469": image_regex(props.allowed_image_prefixes),
        # "Kubernetes cluster containers CPU and memory resource limits should not exceed the specified limits"
        "cpuLimit-e345eecc-fa47-480f-9e88-67dcc122b164": compliance.max_container_cpu_limit,
        "memoryLimit-e345eecc-fa47-480f-9e88-67dcc122b164": compliance.max_container_memory_limit,
    }


REGULATORY_INITIATIVES: dict[str, BuiltInInitiative] = {
    "soc2_type2": BuiltInInitiative(
        "SOC 2 Type 2", built_in("4054785f-702b-4a98-9215-009cbd58b141"), parameters=_soc2_parameters
    ),
    "nist_sp_800_53_r5": BuiltInInitiative(
        "NIST SP 800-53 Rev. 5",
        built_in("179d1daa-458f-4e47-8086-2a68d0d6c38f"),
        remediation_roles=("Contributor",),
    ),
    # The latest CIS benchmark built in (v3.0.0); v2.1.0 and older remain as separate initiatives.
    "cis_azure_foundations": BuiltInInitiative(
        "CIS Azure Foundations v3.0.0", built_in("470a962c-86a0-433b-803a-3c176b5ce79c")
    ),
    # PCI DSS v4.0.1 supersedes v4.0 (c676748e-...) and the story's v3.2.1, both retired by the PCI SSC.
    "pci_dss_v4": BuiltInInitiative(
        "PCI DSS v4.0.1",
        built_in("a06d5deb-24aa-4991-9d58-fa7563154e31"),
        remediation_roles=("Contributor", "Network Contributor", "Virtual Machine Contributor"),
    ),
}

# Every activity log category: control-plane writes, security alerts, policy evaluations, service and
# resource health, advisor recommendations and autoscale events.
ACTIVITY_LOG_CATEGORIES = (
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
)


# The budget starts on the first day of the month of its first apply: Azure refuses a monthly budget whose start is
# a past month (a literal month in config would be refused by any later first apply) or more than 12 months ahead.
BUDGET_START_FORMAT = "YYYY-MM-01'T00:00:00Z'"  # formatdate: quoted text is literal


def first_apply_time(scope: Construct, id: str) -> str:
    """The time of the first apply, stable afterwards: Terraform's built-in `terraform_data` stores
    `plantimestamp()` at create and ignores the new timestamp of every later plan (no provider needed)."""
    data = TerraformResource(scope, id, terraform_resource_type="terraform_data")
    data.add_override("input", Fn.plantimestamp())
    data.add_override("lifecycle", {"ignore_changes": ["input"]})
    return data.get_string_attribute("output")


@dataclass(frozen=True)
class GovernanceProps:
    config: GovernanceConfig
    naming: Naming
    subscription_id: str
    location: str  # where the initiatives' managed identities live (DeployIfNotExists/Modify need one)
    log_analytics_workspace_id: str
    # Image prefixes (each ending in "/") the SOC 2 initiative's allowed-images policy accepts: the
    # environment's registry and the Gatekeeper policies' additional registries.
    allowed_image_prefixes: tuple[str, ...] = ()
    # Action groups the budget notifies besides its e-mail list (the warning group: the same people and channels
    # as every other alert, docs/operations.md).
    budget_action_group_ids: tuple[str, ...] = ()


class Governance(Construct):
    """Exposes `defender_plans` (resource type → pricing), `initiative_assignments` (key → assignment),
    `activity_log_export` and `budget`."""

    def __init__(self, scope: Construct, id: str, *, props: GovernanceProps) -> None:
        super().__init__(scope, id)
        config = props.config
        scope_id = f"/subscriptions/{props.subscription_id}"
        self.defender_plans = {
            resource_type: SecurityCenterSubscriptionPricing(
                self, f"defender-{resource_type}", resource_type=resource_type, tier=plan.tier, subplan=plan.subplan
            )
            for resource_type, plan in sorted(config.defender_plans.items())
        }
        contact = config.security_contact
        SecurityCenterContact(
            self,
            "security-contact",
            name="default",  # one contact per subscription; Azure names it "default"
            email=";".join(contact.emails),
            phone=contact.phone,
            alert_notifications=contact.alert_notifications,
            alerts_to_admins=contact.alerts_to_admins,
        )
        self.initiative_assignments = {
            key: self._assign(key, REGULATORY_INITIATIVES[key], props, scope_id)
            for key in sorted(config.regulatory_compliance.initiatives)
        }
        # DeployIfNotExists/modify members remediate as the assignment's identity: it holds the roles they name.
        self.remediation_grants = [
            grant(
                self,
                f"initiative-{key}-remediation-{role.lower().replace(' ', '-')}",
                RoleGrant(
                    scope_id,
                    role,
                    assignment.identity.principal_id,
                    f"{REGULATORY_INITIATIVES[key].display_name}: its deployIfNotExists/modify policies remediate as "
                    "this assignment's identity",
                ),
            )
            for key, assignment in self.initiative_assignments.items()
            for role in REGULATORY_INITIATIVES[key].remediation_roles
        ]
        self.activity_log_export = MonitorDiagnosticSetting(
            self,
            "activity-log",
            name="activity-log-to-log-analytics",
            target_resource_id=scope_id,
            log_analytics_workspace_id=props.log_analytics_workspace_id,
            enabled_log=[MonitorDiagnosticSettingEnabledLog(category=category) for category in ACTIVITY_LOG_CATEGORIES],
        )
        budget = config.budget
        first_apply = first_apply_time(self, "budget-start")
        notifications = [
            ConsumptionBudgetSubscriptionNotification(
                operator="GreaterThanOrEqualTo",
                threshold=threshold,
                threshold_type=threshold_type,
                contact_emails=list(budget.contact_emails),
                contact_groups=list(props.budget_action_group_ids) or None,
                enabled=True,
            )
            for threshold_type, thresholds in (
                ("Actual", budget.actual_thresholds_percent),
                ("Forecasted", budget.forecasted_thresholds_percent),
            )
            for threshold in thresholds
        ]
        self.budget = ConsumptionBudgetSubscription(
            self,
            "budget",
            name=props.naming.name("monthly", "budget"),
            subscription_id=scope_id,
            amount=budget.monthly_amount,
            time_grain="Monthly",
            time_period=ConsumptionBudgetSubscriptionTimePeriod(
                start_date=Fn.formatdate(BUDGET_START_FORMAT, first_apply)
            ),
            notification=notifications,
            # Azure may report the period back normalised; the start never needs to move once the budget exists.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["time_period"]),
        )

    def _assign(
        self, key: str, initiative: BuiltInInitiative, props: GovernanceProps, scope_id: str
    ) -> SubscriptionPolicyAssignment:
        enforce = props.config.regulatory_compliance.enforce
        values = initiative.parameters(props)
        # Remediation of DeployIfNotExists/Modify runs as this identity: Governance grants it the roles the members
        # name (`remediation_roles`); a remediation task (docs/platform/governance.md) then fixes what existed before
        # the assignment.
        return SubscriptionPolicyAssignment(
            self,
            f"initiative-{key}",
            name=props.naming.name(key.replace("_", "-"), "policy"),
            display_name=f"{initiative.display_name} ({props.naming.environment})",
            policy_definition_id=initiative.policy_set_definition_id,
            subscription_id=scope_id,
            location=props.location,
            enforce=enforce,
            identity=SubscriptionPolicyAssignmentIdentity(type="SystemAssigned"),
            parameters=json.dumps({name: {"value": value} for name, value in sorted(values.items())})
            if values
            else None,
            non_compliance_message=[
                SubscriptionPolicyAssignmentNonComplianceMessage(
                    content=f"Not compliant with {initiative.display_name}: see the Regulatory compliance dashboard in "
                    "Microsoft Defender for Cloud and docs/platform/governance.md."
                )
            ],
        )
