"""Just-in-time human access for one environment (issue #26, "Build" 6; docs/security-model.md "Break-glass (logged)").

Nobody holds a standing administrative role: the clusters' Entra admin groups (config `aks.admin_group_object_ids`)
and the operators' group (config `deployment.operators_group_object_id`) are *eligible* (Privileged Identity
Management) for the roles below on the environment's subscription, and activate them for a few hours with a
justification (`az role assignment` is not how: Azure portal > PIM > My roles, or the `roleAssignmentScheduleRequests`
API). Activations are logged in the tenant's audit log and the subscription's activity log. The clusters keep no
`admin_group_object_ids` (constructs/cluster.py): cluster-admin is the activated Azure RBAC role, not a group
binding that is always on.

Created by bootstrap, i.e. by the Owner operator: the apply identity's Role Based Access Control Administrator
cannot write eligibility schedules (`Microsoft.Authorization/roleEligibilityScheduleRequests/write` is not in it).
The eligibility is permanent (no `schedule.expiration`): it grants nothing until activated, and an expiring
eligibility would silently remove break-glass access a year later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import TerraformProvider
from cdktf_cdktf_provider_azurerm.pim_eligible_role_assignment import PimEligibleRoleAssignment

from constructs import Construct

ROLES_REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "roles.json"
# What the clusters' admins activate: cluster-admin through Azure RBAC, and the user kubeconfig (Entra exec).
CLUSTER_ADMIN_ROLES = ("Azure Kubernetes Service RBAC Cluster Admin", "Azure Kubernetes Service Cluster User Role")
# What the operators activate to run bootstrap (docs/zero-to-running.md) or to repair the deploy path.
OPERATOR_ROLES = ("Owner",)


@dataclass(frozen=True)
class EligibleAccessProps:
    subscription_id: str
    cluster_admin_group_ids: Sequence[str]
    operators_group_id: str
    provider: TerraformProvider


def role_definition_id(subscription_id: str, role: str) -> str:
    """The subscription-scoped ARM id of a built-in role (reference/roles.json), as PIM requires."""
    guid = json.loads(ROLES_REFERENCE.read_text(encoding="utf-8"))["roles"][role]
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


class EligibleAccess(Construct):
    """Exposes `assignments` (the eligible role assignments)."""

    def __init__(self, scope: Construct, id: str, *, props: EligibleAccessProps) -> None:
        super().__init__(scope, id)
        subscription = f"/subscriptions/{props.subscription_id}"
        grants = [
            (f"cluster-admins-{index}-{role_index}", group, role)
            for index, group in enumerate(props.cluster_admin_group_ids)
            for role_index, role in enumerate(CLUSTER_ADMIN_ROLES)
        ] + [(f"operators-{index}", props.operators_group_id, role) for index, role in enumerate(OPERATOR_ROLES)]
        self.assignments = [
            PimEligibleRoleAssignment(
                self,
                key,
                scope=subscription,
                principal_id=principal,
                role_definition_id=role_definition_id(props.subscription_id, role),
                justification=f"Just-in-time {role} (docs/security-model.md, 'Human access'); no standing grant.",
                provider=props.provider,
            )
            for key, principal, role in grants
        ]
