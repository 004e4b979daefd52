"""Required tags on every taggable azurerm resource, merged with the resource's own tags."""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from cdktf import IAspect, TerraformResource

from constructs import IConstruct
from constructs.resource_types import resource_type


@jsii.implements(IAspect)
class RequiredTags:
    """Adds `tags` to every azurerm resource that has a tags argument.

    Resource-specific tags are kept; the required keys (environment, owner, ...) win on conflict so
    no construct can mislabel its environment or cost centre.
    """

    def __init__(self, tags: Mapping[str, str]) -> None:
        self._tags = dict(sorted(tags.items()))

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource):
            return
        # Asked of the class: on an instance, hasattr would read the property through the kernel.
        if not resource_type(node).startswith("azurerm_") or not hasattr(type(node), "tags_input"):
            return
        node.tags = {**(node.tags_input or {}), **self._tags}  # type: ignore[attr-defined]
