"""The environment's platform resource groups: created by bootstrap (the operator, Owner), used by name by the
infra stack. The apply identity holds Contributor on these groups only, never on the subscription, so it has no
write on the deployment resource group that holds its own identity and its federated credentials
(docs/security-model.md "The apply identity's own identity").

Until this design the infra stack created the groups: an environment that already has them adopts them with
Terraform `import` blocks here (`[deployment] adopt_platform_groups = true`) while the infra stack forgets them with
`removed { lifecycle { destroy = false } }` blocks (`forget_platform_groups`, addresses in constructs/migrations.py),
so nothing is destroyed. A new environment has nothing to adopt (`false`): bootstrap creates the groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider, TerraformStack
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup

from config.schema import EnvironmentConfig
from constructs import Construct
from constructs.migrations import PLATFORM_GROUPS_BEFORE
from constructs.naming import Naming


@dataclass(frozen=True)
class PlatformGroup:
    name: str
    location: str

    def id(self, subscription_id: str) -> str:
        return f"/subscriptions/{subscription_id}/resourceGroups/{self.name}"


def platform_groups(config: EnvironmentConfig) -> dict[str, PlatformGroup]:
    """Key -> group: every resource group the infra stack puts resources in, from config only."""
    naming = Naming(config.short_name, config.unique_suffix)
    here, paired = config.location, config.paired_location
    groups = {  # key: (naming workload, location)
        "workloads": ("workloads", here),
        "networking": ("networking", here),
        "monitoring": ("monitoring", here),
        "data": ("data", here),
        "security": ("security", here),
        "data-dr": ("data-dr", paired),  # geo-DR and geo-backup resources live in the paired region
        "dr-networking": ("dr-networking", paired),
        "backup": ("backup", here),
        "aks-snapshots": ("aks-snapshots", here),
        "drill": ("dr-drill", here),  # restore drills' scratch groups
        "drill-dr": ("dr-drill-dr", paired),
    }
    return {key: PlatformGroup(naming.name(workload, "rg"), location) for key, (workload, location) in groups.items()}


@dataclass(frozen=True)
class PlatformGroupsProps:
    groups: dict[str, PlatformGroup]
    subscription_id: str
    adopt: bool  # import the groups an earlier infra stack created (config `deployment.adopt_platform_groups`)
    provider: TerraformProvider


class PlatformGroups(Construct):
    """Exposes `ids` (key -> the group's id, a reference: role assignments on it wait for it)."""

    def __init__(self, scope: Construct, id: str, *, props: PlatformGroupsProps) -> None:
        super().__init__(scope, id)
        self.ids: dict[str, str] = {}
        for key, group in props.groups.items():
            resource = ResourceGroup(self, key, name=group.name, location=group.location, provider=props.provider)
            if props.adopt:
                resource.import_from(group.id(props.subscription_id), props.provider)
            self.ids[key] = resource.id


def forget_platform_groups(stack: TerraformStack, groups: dict[str, PlatformGroup]) -> None:
    """`removed` blocks for the groups this stack created before bootstrap took them over: Terraform forgets them
    (no destroy). Keep them until every environment has applied them; an address no state holds is a no-op."""
    if set(groups) != set(PLATFORM_GROUPS_BEFORE):
        raise ValueError(f"platform groups {sorted(groups)} differ from the migrated {sorted(PLATFORM_GROUPS_BEFORE)}")
    stack.add_override(
        "removed",
        [{"from": address, "lifecycle": {"destroy": False}} for _, address in sorted(PLATFORM_GROUPS_BEFORE.items())],
    )
