"""Waits a construct puts before its own resources when Azure checks something at create time that a new role
assignment only grants once it has propagated (learn.microsoft.com: up to ~10 minutes, usually one or two).

`rbac_wait(scope, id, grants)` returns a hashicorp/time `time_sleep` that starts after exactly `grants` and is
replaced (so waits again) when one of them is replaced. The construct owning the waiting resource adds it to that
resource's `depends_on`. The sleeps use one aliased `time` provider per stack (`time.waits`), so they never clash
with another unaliased `time` provider the stack declares.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable, TerraformResource, TerraformStack

from constructs import Construct
from constructs.apply_order import RBAC_PROPAGATION, TimeProvider, TimeSleep
from constructs.resource_types import address

WAITS_PROVIDER_ID = "time-waits"
WAITS_ALIAS = "waits"


def _waits_provider(scope: Construct) -> TimeProvider:
    stack = TerraformStack.of(scope)
    existing = stack.node.try_find_child(WAITS_PROVIDER_ID)
    if isinstance(existing, TimeProvider):
        return existing
    provider = TimeProvider(stack, WAITS_PROVIDER_ID)
    provider.add_override("alias", WAITS_ALIAS)  # the hand-written binding takes no alias argument
    return provider


def rbac_wait(scope: Construct, id: str, grants: Sequence[ITerraformDependable]) -> TimeSleep:
    resources = [grant for grant in grants if isinstance(grant, TerraformResource)]
    sleep = TimeSleep(scope, id, create_duration=RBAC_PROPAGATION, depends_on=grants, provider=_waits_provider(scope))
    sleep.add_override("provider", f"time.{WAITS_ALIAS}")
    sleep.add_override("triggers", {grant.friendly_unique_id: f"${{{address(grant)}.id}}" for grant in resources})
    return sleep
