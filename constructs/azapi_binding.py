"""Azure/azapi's `azapi_resource`, as minimal hand-written CDKTF classes.

Azure/azapi has no prebuilt CDKTF 0.21 binding on PyPI (and `cdktf get` needs the Terraform registry), so
`AzapiProvider`/`AzapiResource` are `TerraformProvider`/`TerraformResource` subclasses with just what the AKS
vault-tier backup policy needs (azurerm 4.81 accepts only `OperationalStore` for AKS policies). The provider is
declared in `required_providers` at an exact version: azapi validates `type` and `body` against the API schema it
embeds at plan time, so a new version can change what a plan accepts (Renovate proposes updates, renovate.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdktf import TerraformProvider, TerraformProviderGeneratorMetadata, TerraformResource, TerraformStack

from constructs import Construct

AZAPI_PROVIDER_SOURCE = "Azure/azapi"
AZAPI_PROVIDER_VERSION = "2.12.0"
PROVIDER_ID = "azapi"
RESOURCE_TYPE = "azapi_resource"


def _metadata() -> TerraformProviderGeneratorMetadata:
    return TerraformProviderGeneratorMetadata(provider_name="azapi", provider_version_constraint=AZAPI_PROVIDER_VERSION)


class AzapiProvider(TerraformProvider):
    """The Azure/azapi provider: the azurerm provider's subscription and tenant; credentials from the environment.

    Like azurerm, it authenticates with ARM_USE_OIDC/ARM_CLIENT_ID from the workflow (Entra ID workload identity
    federation, no secret in the JSON), and registers no resource providers: bootstrap registers the namespaces
    (constructs/resource_providers.py) and the read-only plan identity cannot.
    """

    def __init__(self, scope: Construct, id: str, *, subscription_id: str, tenant_id: str) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="azapi",
            terraform_generator_metadata=_metadata(),
            terraform_provider_source=AZAPI_PROVIDER_SOURCE,
        )
        # Overrides: jsii does not call a Python override of the protected synthesizeAttributes().
        self.add_override("subscription_id", subscription_id)
        self.add_override("tenant_id", tenant_id)
        self.add_override("skip_provider_registration", True)


def azapi_provider(scope: Construct, *, subscription_id: str, tenant_id: str) -> AzapiProvider:
    """The stack's one azapi provider, created by the first construct that needs it."""
    stack = TerraformStack.of(scope)
    existing = stack.node.try_find_child(PROVIDER_ID)
    if isinstance(existing, AzapiProvider):
        return existing
    return AzapiProvider(stack, PROVIDER_ID, subscription_id=subscription_id, tenant_id=tenant_id)


class AzapiResource(TerraformResource):
    """`azapi_resource`: one ARM resource of `type` ("Namespace/types@api-version") named `name` under `parent_id`.

    `body` is an object (azapi v2 takes a dynamic value, not a JSON string); `id` is the ARM resource ID.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        type: str,
        name: str,
        parent_id: str,
        body: Mapping[str, Any],
        provider: TerraformProvider,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type=RESOURCE_TYPE,
            terraform_generator_metadata=_metadata(),
            provider=provider,
        )
        # Set as overrides: jsii does not call a Python override of the protected synthesizeAttributes().
        self.add_override("type", type)
        self.add_override("name", name)
        self.add_override("parent_id", parent_id)
        self.add_override("body", dict(body))

    @property
    def id(self) -> str:
        return self.get_string_attribute("id")
