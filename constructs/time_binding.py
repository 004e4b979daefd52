"""The hashicorp/time provider's `time_sleep`, as minimal hand-written CDKTF classes.

hashicorp/time has no prebuilt CDKTF binding offline, so `TimeProvider`/`TimeSleep` are `TerraformProvider`/
`TerraformResource` subclasses with just what the waits need; the provider is declared in `required_providers`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import (
    ITerraformDependable,
    TerraformProvider,
    TerraformProviderGeneratorMetadata,
    TerraformResource,
    TerraformStack,
)

from constructs import Construct

TIME_PROVIDER_SOURCE = "hashicorp/time"
TIME_PROVIDER_VERSION = "~> 0.13"
PROVIDER_ID = "time"


class TimeProvider(TerraformProvider):
    """The hashicorp/time provider (no arguments)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="time",
            terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                provider_name="time", provider_version_constraint=TIME_PROVIDER_VERSION
            ),
            terraform_provider_source=TIME_PROVIDER_SOURCE,
        )


def time_provider(scope: Construct) -> TimeProvider:
    """The stack's one time provider, created by the first construct that needs it."""
    stack = TerraformStack.of(scope)
    existing = stack.node.try_find_child(PROVIDER_ID)
    if isinstance(existing, TimeProvider):
        return existing
    return TimeProvider(stack, PROVIDER_ID)


class TimeSleep(TerraformResource):
    """`time_sleep`: waits `create_duration` once, when created (after everything it depends on)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        create_duration: str,
        depends_on: Sequence[ITerraformDependable],
        provider: TerraformProvider,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="time_sleep",
            terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                provider_name="time", provider_version_constraint=TIME_PROVIDER_VERSION
            ),
            depends_on=list(depends_on) or None,
            provider=provider,
        )
        # Set as an override: jsii does not call a Python override of the protected synthesizeAttributes().
        self.add_override("create_duration", create_duration)
