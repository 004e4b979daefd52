"""The Terraform type of a resource, read once per binding class.

Every property read on a construct is a round trip to the jsii kernel (~0.3 ms); Aspects and whole-stack
passes ask each of ~600 resources for its type several times, which cost seconds per synth. A generated
provider class always has the same type, so the first answer per class is kept.
"""

from __future__ import annotations

from typing import overload

from cdktf import TerraformResource

from constructs import IConstruct

_TYPE_OF_CLASS: dict[type, str] = {}


@overload
def resource_type(node: TerraformResource) -> str: ...
@overload
def resource_type(node: IConstruct) -> str | None: ...
def resource_type(node: IConstruct) -> str | None:
    """The resource's Terraform type (e.g. "azurerm_storage_account"); None for anything but a resource."""
    if not isinstance(node, TerraformResource):
        return None
    cls = type(node)
    if cls is TerraformResource:  # a plain resource: the type is per instance
        return node.terraform_resource_type
    if cls not in _TYPE_OF_CLASS:
        _TYPE_OF_CLASS[cls] = node.terraform_resource_type
    return _TYPE_OF_CLASS[cls]


def address(node: TerraformResource) -> str:
    """`type.name`, the form `depends_on` takes (e.g. "azurerm_virtual_network_peering.deployer-access_x_1A2B3C4D")."""
    return f"{resource_type(node)}.{node.friendly_unique_id}"
