"""Resource names from one convention: `<env>-<workload>-<kind>-<instance>` (Story 3.1's style,
e.g. stg-hub-vnet-001), and a compact form for resources whose names must be globally unique and
alphanumeric (storage accounts, registries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Naming:
    environment: str  # short name, e.g. "stg"
    unique_suffix: str  # e.g. "erp01", keeps global names unique
    instance: str = "001"

    def name(self, workload: str, kind: str) -> str:
        return f"{self.environment}-{workload}-{kind}-{self.instance}"

    def global_name(self, workload: str, kind: str) -> str:
        """Globally unique, hyphenated (key vaults, Event Hubs namespaces, PostgreSQL servers)."""
        return f"{self.environment}-{workload}-{kind}-{self.unique_suffix}"

    def compact(self, workload: str, kind: str) -> str:
        """Globally unique, lowercase alphanumerics only (storage accounts, container registries)."""
        raw = f"{self.environment}{workload}{kind}{self.unique_suffix}"
        return "".join(ch for ch in raw.lower() if ch.isalnum())
