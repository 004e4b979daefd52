"""Compliance evidence matrix: for each control, the resources and settings that implement it, per environment,
found by querying the synthesized Terraform JSON (so the matrix cannot drift from the code).

A piece of evidence is a query over one environment's infra and cluster stacks that returns a short finding
("2/2 key vaults") or None when the evidence is absent; absent evidence shows as MISSING.

    python -m tools.docgen.evidence_matrix SYNTH_DIR            # print the matrix
    python -m tools.docgen.evidence_matrix SYNTH_DIR --check    # exit 1 when any evidence is MISSING
    python -m tools.docgen.evidence_matrix SYNTH_DIR --write    # (re)write docs/compliance-evidence.md
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.docgen.diagram import ENVIRONMENTS, load_stack

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "compliance-evidence.md"
REGENERATE = "scripts/synth && .venv/bin/python -m tools.docgen.evidence_matrix cdktf.out --write"
MISSING = "MISSING"
Stack = dict[str, Any]


@dataclass(frozen=True)
class Stacks:
    infra: Stack
    cluster: Stack

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        stack = self.cluster if resource_type.startswith("kubernetes_") else self.infra
        found = stack.get("resource", {}).get(resource_type, {})
        return [found[name] for name in sorted(found)]


Query = Callable[[Stacks], "str | None"]


@dataclass(frozen=True)
class Evidence:
    description: str
    query: Query


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    evidence: tuple[Evidence, ...]


def _first(value: Any) -> dict[str, Any]:
    """A nested block as synthesized: a dict, or a one-item list of dicts."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value if isinstance(value, dict) else {}


def all_of(noun: str, types: tuple[str, ...], holds: Callable[[dict[str, Any]], bool]) -> Query:
    """Evidence when at least one resource of the types exists and every one of them satisfies `holds`."""

    def query(stacks: Stacks) -> str | None:
        resources = [resource for resource_type in types for resource in stacks.of_type(resource_type)]
        if not resources or not all(holds(resource) for resource in resources):
            return None
        return f"{len(resources)}/{len(resources)} {noun}"

    return query


def count_of(noun: str, types: tuple[str, ...], holds: Callable[[dict[str, Any]], bool] = lambda _: True) -> Query:
    """Evidence when at least one resource of the types satisfies `holds`."""

    def query(stacks: Stacks) -> str | None:
        count = sum(1 for resource_type in types for resource in stacks.of_type(resource_type) if holds(resource))
        return f"{noun}: {count}" if count else None

    return query


def names_of(resource_type: str, attribute: str, holds: Callable[[dict[str, Any]], bool] = lambda _: True) -> Query:
    """Evidence listing an attribute of every matching resource (e.g. Defender plan names)."""

    def query(stacks: Stacks) -> str | None:
        names = sorted(str(resource.get(attribute)) for resource in stacks.of_type(resource_type) if holds(resource))
        return ", ".join(names) or None

    return query


def backend(stacks: Stacks) -> str | None:
    return (
        "azurerm backend (Entra ID auth)" if "azurerm" in stacks.infra.get("terraform", {}).get("backend", {}) else None
    )


def _postgres_setting(name: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda resource: resource.get("name") == name and resource.get("value") == value


PUBLIC_ACCESS_TYPES = (
    "azurerm_key_vault",
    "azurerm_storage_account",
    "azurerm_postgresql_flexible_server",
    "azurerm_eventhub_namespace",
    "azurerm_container_registry",
)
GEO_REPLICATION = ("GRS", "RAGRS", "GZRS", "RAGZRS")
ALERT_TYPES = (
    "azurerm_monitor_metric_alert",
    "azurerm_monitor_scheduled_query_rules_alert_v2",
    "azurerm_monitor_activity_log_alert",
    "azurerm_monitor_alert_prometheus_rule_group",
)
BACKUP_INSTANCE_TYPES = (
    "azurerm_data_protection_backup_instance_kubernetes_cluster",
    "azurerm_data_protection_backup_instance_blob_storage",
    "azurerm_data_protection_backup_instance_postgresql_flexible_server",
)

CONTROLS: tuple[Control, ...] = (
    Control(
        "SOC 2 CC6.1",
        "Logical access control",
        (
            Evidence(
                "AKS: Entra ID with Azure RBAC, local accounts disabled",
                all_of(
                    "clusters",
                    ("azurerm_kubernetes_cluster",),
                    lambda r: (
                        _first(r.get("azure_active_directory_role_based_access_control")).get("azure_rbac_enabled")
                        is True
                        and r.get("local_account_disabled") is True
                    ),
                ),
            ),
            Evidence(
                "Key Vault: RBAC authorization, purge protection",
                all_of(
                    "key vaults",
                    ("azurerm_key_vault",),
                    lambda r: r.get("rbac_authorization_enabled") is True and r.get("purge_protection_enabled") is True,
                ),
            ),
            Evidence(
                "Storage: shared keys disabled (Entra ID only)",
                all_of(
                    "storage accounts",
                    ("azurerm_storage_account",),
                    lambda r: r.get("shared_access_key_enabled") is False,
                ),
            ),
            Evidence(
                "Event Hubs: SAS (local) authentication disabled",
                all_of(
                    "namespaces",
                    ("azurerm_eventhub_namespace",),
                    lambda r: r.get("local_authentication_enabled") is False,
                ),
            ),
        ),
    ),
    Control(
        "SOC 2 CC6.6",
        "Network boundaries",
        (
            Evidence("Azure Firewall on the hub", count_of("firewalls", ("azurerm_firewall",))),
            Evidence(
                "Private endpoints for PaaS services", count_of("private endpoints", ("azurerm_private_endpoint",))
            ),
            Evidence(
                "Public network access off (Key Vault, Storage, PostgreSQL, Event Hubs, ACR)",
                all_of("resources", PUBLIC_ACCESS_TYPES, lambda r: r.get("public_network_access_enabled") is False),
            ),
            Evidence(
                "AKS private API server",
                all_of("clusters", ("azurerm_kubernetes_cluster",), lambda r: r.get("private_cluster_enabled") is True),
            ),
            Evidence(
                "Kubernetes NetworkPolicies",
                count_of(
                    "network policies",
                    ("kubernetes_network_policy_v1", "kubernetes_manifest"),
                    # NetworkPolicies, and the CiliumNetworkPolicies (custom resources) on Cilium clusters.
                    lambda r: "manifest" not in r or r["manifest"].get("kind") == "CiliumNetworkPolicy",
                ),
            ),
        ),
    ),
    Control(
        "SOC 2 CC6.7",
        "Encryption in transit and at rest",
        (
            Evidence(
                "Storage: TLS 1.2 minimum",
                all_of(
                    "storage accounts", ("azurerm_storage_account",), lambda r: r.get("min_tls_version") == "TLS1_2"
                ),
            ),
            Evidence(
                "Event Hubs: TLS 1.2 minimum",
                all_of("namespaces", ("azurerm_eventhub_namespace",), lambda r: r.get("minimum_tls_version") == "1.2"),
            ),
            Evidence(
                "PostgreSQL: TLS 1.2 minimum",
                count_of(
                    "server settings",
                    ("azurerm_postgresql_flexible_server_configuration",),
                    _postgres_setting("ssl_min_protocol_version", "TLSv1.2"),
                ),
            ),
            Evidence(
                "Customer-managed keys: Storage",
                all_of("storage accounts", ("azurerm_storage_account",), lambda r: bool(r.get("customer_managed_key"))),
            ),
            Evidence(
                "Customer-managed keys: PostgreSQL",
                all_of(
                    "servers", ("azurerm_postgresql_flexible_server",), lambda r: bool(r.get("customer_managed_key"))
                ),
            ),
            Evidence(
                "Customer-managed keys: AKS node disks",
                all_of("clusters", ("azurerm_kubernetes_cluster",), lambda r: bool(r.get("disk_encryption_set_id"))),
            ),
        ),
    ),
    Control(
        "SOC 2 CC7.1 / CC7.2",
        "Monitoring and threat detection",
        (
            Evidence(
                "Diagnostic settings to Log Analytics",
                count_of("diagnostic settings", ("azurerm_monitor_diagnostic_setting",)),
            ),
            Evidence(
                "Activity log exported",
                count_of(
                    "subscription exports",
                    ("azurerm_monitor_diagnostic_setting",),
                    lambda r: str(r.get("target_resource_id", "")).startswith("/subscriptions/"),
                ),
            ),
            Evidence("Alert rules", count_of("alert rules", ALERT_TYPES)),
            Evidence(
                "Defender for Cloud plans (Standard)",
                names_of(
                    "azurerm_security_center_subscription_pricing",
                    "resource_type",
                    lambda r: r.get("tier") == "Standard",
                ),
            ),
            Evidence(
                "Security contact for Defender alerts",
                count_of(
                    "contacts", ("azurerm_security_center_contact",), lambda r: r.get("alert_notifications") is True
                ),
            ),
        ),
    ),
    Control(
        "SOC 2 A1.2",
        "Backup and disaster recovery",
        (
            Evidence(
                "PostgreSQL geo-redundant backup",
                all_of(
                    "servers",
                    ("azurerm_postgresql_flexible_server",),
                    lambda r: r.get("geo_redundant_backup_enabled") is True,
                ),
            ),
            Evidence(
                "Storage geo-replication",
                all_of(
                    "storage accounts",
                    ("azurerm_storage_account",),
                    lambda r: r.get("account_replication_type") in GEO_REPLICATION,
                ),
            ),
            Evidence(
                "Event Hubs geo-DR pairing",
                count_of("pairings", ("azurerm_eventhub_namespace_disaster_recovery_config",)),
            ),
            Evidence("Azure Backup instances", count_of("protected resources", BACKUP_INSTANCE_TYPES)),
        ),
    ),
    Control(
        "SOC 2 CC8.1",
        "Change management and policy enforcement",
        (
            Evidence(
                "Regulatory compliance initiatives assigned",
                names_of("azurerm_subscription_policy_assignment", "display_name"),
            ),
            Evidence(
                "Gatekeeper and pod security policies on AKS",
                count_of(
                    "cluster assignments",
                    ("azurerm_resource_policy_assignment",),
                    lambda r: "azurerm_kubernetes_cluster." in str(r.get("resource_id")),
                ),
            ),
            Evidence("Infrastructure state in a remote backend", backend),
        ),
    ),
)


def environment_findings(synth_dir: Path, environment: str) -> list[list[str]]:
    """One finding (or MISSING) per evidence row of CONTROLS, in order."""
    stacks = Stacks(load_stack(synth_dir, f"{environment}-infra"), load_stack(synth_dir, f"{environment}-cluster"))
    return [[evidence.query(stacks) or MISSING for evidence in control.evidence] for control in CONTROLS]


def render(findings: dict[str, list[list[str]]]) -> str:
    environments = list(findings)  # all_findings builds it in promotion order
    lines = [
        "# Compliance evidence matrix",
        "",
        "Generated from the synthesized Terraform JSON by `tools/docgen/evidence_matrix.py`; do not edit. "
        "Regenerate with",
        f"`{REGENERATE}`. A row says MISSING when the synthesized code has no evidence for it.",
        "",
        f"| Control | Evidence | {' | '.join(environments)} |",
        f"|---|---|{'---|' * len(environments)}",
    ]
    for index, control in enumerate(CONTROLS):
        for row, evidence in enumerate(control.evidence):
            label = f"{control.id} {control.title}" if row == 0 else ""
            cells = [findings[environment][index][row] for environment in environments]
            lines.append(f"| {label} | {evidence.description} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def all_findings(synth_dir: Path) -> dict[str, list[list[str]]]:
    return {environment: environment_findings(synth_dir, environment) for environment in ENVIRONMENTS}


def missing_count(findings: dict[str, list[list[str]]]) -> int:
    return sum(row.count(MISSING) for rows in findings.values() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when any evidence is MISSING")
    mode.add_argument("--write", action="store_true", help=f"write {DOCUMENT.relative_to(DOCUMENT.parent.parent)}")
    args = parser.parse_args(argv)
    try:
        findings = all_findings(args.synth_dir)
    except FileNotFoundError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    if args.write:
        DOCUMENT.write_text(render(findings))
        return 0
    sys.stdout.write(render(findings))
    missing = missing_count(findings)
    if args.check and missing:
        sys.stderr.write(f"evidence MISSING in {missing} cell(s)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
