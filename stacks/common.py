"""What every environment stack shares: the azurerm provider, the remote backend and the Aspects."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import Aspects, AzurermBackend, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import (
    AzurermProvider,
    AzurermProviderFeatures,
    AzurermProviderFeaturesStorage,
)

from config.schema import EnvironmentConfig
from constructs import IConstruct
from constructs.aspects.azure_rules import AzureApplyTimeRules
from constructs.aspects.group import AspectGroup
from constructs.aspects.naming_rules import AzureNamingRules
from constructs.aspects.tagging import RequiredTags


def required_tags(config: EnvironmentConfig) -> dict[str, str]:
    return {
        "environment": config.name,
        "owner": config.tags.owner,
        "cost-center": config.tags.cost_center,
        "data-classification": config.tags.data_classification,
        "managed-by": "terraform-cdktf",
    }


def use_remote_state(
    stack: TerraformStack, config: EnvironmentConfig, *, container_name: str | None = None
) -> AzurermBackend:
    """State per stack (its own key) in the environment's own storage account, with Entra ID auth; in the
    environment's state container unless `container_name` (the alerting stack's, which only the apply identity reads).
    """
    backend = config.state_backend
    return AzurermBackend(
        stack,
        resource_group_name=backend.resource_group_name,
        storage_account_name=backend.storage_account_name,
        container_name=container_name or backend.container_name,
        key=f"{stack.node.id}.tfstate",
        subscription_id=config.subscription_id,
        tenant_id=config.tenant_id,
        use_azuread_auth=True,
    )


# The azurerm version the synthesized JSON targets: the newest 4.x. The Python bindings stay at 4.55.0 (their
# classes build the JSON); tests/reference/test_provider_schema.py proves every resource type and attribute the
# JSON uses exists in this version's schema (reference/azurerm_schema.json.gz).
AZURERM_VERSION = "4.81.0"


def azurerm_provider(
    stack: TerraformStack, config: EnvironmentConfig, *, alias: str | None = None, register: Sequence[str] = ()
) -> AzurermProvider:
    """`register`: namespaces this provider registers at start (bootstrap only; everyone else registers none)."""
    stack.add_override("terraform.required_providers.azurerm.version", AZURERM_VERSION)
    return AzurermProvider(
        stack,
        f"azurerm-{alias}" if alias else "azurerm",
        alias=alias,
        subscription_id=config.subscription_id,
        tenant_id=config.tenant_id,
        storage_use_azuread=True,  # storage accounts have shared keys disabled
        # No automatic set: bootstrap's providers register exactly the namespaces the stacks use
        # (constructs/resource_providers.py required_resource_providers); the read-only plan identity cannot register.
        resource_provider_registrations="none",
        resource_providers_to_register=list(register) or None,
        # Storage accounts are private: the runner cannot reach their data plane, so the provider must not
        # try (no queue/static-website properties are managed; containers go through ARM).
        features=[AzurermProviderFeatures(storage=[AzurermProviderFeaturesStorage(data_plane_available=False)])],
    )


def apply_environment_aspects(stack: IConstruct, config: EnvironmentConfig) -> None:
    """The cross-cutting rules, added once per stack (bootstrap: per state storage), in this order."""
    Aspects.of(stack).add(AspectGroup(RequiredTags(required_tags(config)), AzureNamingRules(), AzureApplyTimeRules()))
