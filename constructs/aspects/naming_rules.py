"""Azure's naming rules, checked at synth so a bad name fails here instead of at apply time."""

from __future__ import annotations

import jsii
from cdktf import Annotations, IAspect, TerraformResource

from config.azure_limits import NAME_RULES
from constructs import IConstruct
from constructs.resource_types import resource_type
from constructs.tokens import is_unresolved


@jsii.implements(IAspect)
class AzureNamingRules:
    """Adds a synth error to every resource whose literal name breaks Azure's rule for its type.

    Names that are still tokens (computed at apply time) are skipped: only literals can be checked.
    """

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource):
            return
        rule = NAME_RULES.get(resource_type(node))
        name = getattr(node, "name_input", None) if rule else None
        if rule is None or not isinstance(name, str) or is_unresolved(name):
            return
        problem = rule.violation(name)
        if problem:
            Annotations.of(node).add_error(
                f"AZ-NAME {resource_type(node)} '{node.node.path}': name '{name}' breaks Azure's naming rule: {problem}"
            )
