"""Azure's limits the project checks, in one place: naming rules per resource type (Microsoft's "Naming rules
and restrictions for Azure resources"). The config models validate names with them at load time and the
`AzureNamingRules` Aspect (constructs/aspects/naming_rules.py) checks every synthesized name. Standard library
only: config loads before the jsii kernel is up."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    pattern: str
    explanation: str
    forbidden: str | None = None  # a substring Azure rejects even when the pattern matches
    # A length limit kept out of the pattern: a counted repetition of a Unicode class (`[\w().-]{0,89}`) costs
    # pydantic-core's Rust regex 8.5 MB to compile, `[\w().-]*` and this check 0.5 MB (docs/performance.md).
    max_length: int | None = None

    @property
    def anchored(self) -> str:
        """The pattern for a config field (pydantic searches, so it needs the anchors)."""
        return f"^{self.pattern}$"

    def violation(self, name: str) -> str | None:
        if not re.fullmatch(self.pattern, name) or (self.max_length is not None and len(name) > self.max_length):
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
        r"[\w().-]*[\w()-]", "1-90 word characters, '.', '(', ')' and '-', not ending in '.'", max_length=90
    ),
    "azurerm_log_analytics_workspace": NameRule(
        r"[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]", "4-63 letters, digits and hyphens, alphanumeric at both ends"
    ),
    "azurerm_virtual_network": NameRule(r"[a-zA-Z0-9][\w.-]{0,62}[\w]", "2-64 word characters, '.' and '-'"),
    "azurerm_user_assigned_identity": NameRule(r"[a-zA-Z0-9][\w-]{2,127}", "3-128 word characters and '-'"),
}
# An Event Hubs geo-DR alias follows the namespace's rule (it becomes a DNS name like the namespace's).
NAME_RULES["azurerm_eventhub_namespace_disaster_recovery_config"] = NAME_RULES["azurerm_eventhub_namespace"]
