"""Azure's naming rules, checked at synth so a bad name fails here instead of at apply time."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jsii
from cdktf import Annotations, IAspect, TerraformResource

from constructs import IConstruct
from constructs.resource_types import resource_type
from constructs.tokens import is_unresolved


@dataclass(frozen=True)
class NameRule:
    pattern: str
    explanation: str
    forbidden: str | None = None  # a substring Azure rejects even when the pattern matches

    def violation(self, name: str) -> str | None:
        if not re.fullmatch(self.pattern, name):
            return self.explanation
        if self.forbidden and self.forbidden in name:
            return f"{self.explanation}; must not contain '{self.forbidden}'"
        return None


NAME_RULES: dict[str, NameRule] = {
    "azurerm_storage_account": NameRule(r"[a-z0-9]{3,24}", "3-24 lowercase letters and digits"),
    "azurerm_key_vault": NameRule(
        r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
        "3-24 letters, digits and hyphens, starting with a letter and ending with a letter or digit",
        forbidden="--",
    ),
    "azurerm_container_registry": NameRule(r"[a-zA-Z0-9]{5,50}", "5-50 letters and digits"),
    "azurerm_kubernetes_cluster": NameRule(
        r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9]", "1-63 letters, digits, '_' and '-', alphanumeric at both ends"
    ),
    "azurerm_postgresql_flexible_server": NameRule(
        r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", "3-63 lowercase letters, digits and hyphens, alphanumeric at both ends"
    ),
    "azurerm_eventhub_namespace": NameRule(
        r"[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]",
        "6-50 letters, digits and hyphens, starting with a letter and ending with a letter or digit",
    ),
    "azurerm_resource_group": NameRule(
        r"[\w().-]{0,89}[\w()-]", "1-90 word characters, '.', '(', ')' and '-', not ending in '.'"
    ),
    "azurerm_log_analytics_workspace": NameRule(
        r"[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]", "4-63 letters, digits and hyphens, alphanumeric at both ends"
    ),
    "azurerm_virtual_network": NameRule(r"[a-zA-Z0-9][\w.-]{0,62}[\w]", "2-64 word characters, '.' and '-'"),
    "azurerm_user_assigned_identity": NameRule(r"[a-zA-Z0-9][\w-]{2,127}", "3-128 word characters and '-'"),
}


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
