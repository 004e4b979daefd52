"""Mermaid diagram per environment from the synthesized JSON: network → services → cluster.

Virtual networks contain their subnets; a resource that references a subnet (private endpoints, AKS
node pools, firewall, application gateway, bastion) is drawn inside it; peerings are dotted edges
between networks; every other reference between drawn resources, direct or through one undrawn
resource, is an edge (a private endpoint points at its target through `private_connection_resource_id`,
storage at its key vault through the CMK key). The cluster stack's namespaces hang
off the AKS cluster. Output is deterministic (sorted by Terraform address).

    python -m tools.docgen.diagram SYNTH_DIR --environment staging      # print one environment's diagram
    python -m tools.docgen.diagram SYNTH_DIR --write                      # (re)write docs/diagrams/<env>.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from config.loader import ENVIRONMENTS  # discovered from config/<environment>.toml (ERP_CONFIG_DIR)

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "diagrams"
REGENERATE = "scripts/synth && .venv/bin/python -m tools.docgen.diagram cdktf.out --write"

# Drawn resource types → short label. Everything else (identities, DNS records, role assignments...) is
# left out so the picture stays readable.
LAYERS = ("network", "services", "cluster")
SHOWN_TYPES = {  # type → (label, layer)
    "azurerm_virtual_network": ("VNet", "network"),
    "azurerm_subnet": ("subnet", "network"),
    "azurerm_firewall": ("firewall", "network"),
    "azurerm_application_gateway": ("app gateway", "network"),
    "azurerm_bastion_host": ("bastion", "network"),
    "azurerm_virtual_network_gateway": ("VPN/ER gateway", "network"),
    "azurerm_private_endpoint": ("private endpoint", "network"),
    "azurerm_container_registry": ("container registry", "services"),
    "azurerm_key_vault": ("key vault", "services"),
    "azurerm_storage_account": ("storage", "services"),
    "azurerm_postgresql_flexible_server": ("PostgreSQL", "services"),
    "azurerm_eventhub_namespace": ("Event Hubs", "services"),
    "azurerm_log_analytics_workspace": ("Log Analytics", "services"),
    "azurerm_application_insights": ("App Insights", "services"),
    "azurerm_recovery_services_vault": ("backup vault", "services"),
    "azurerm_data_protection_backup_vault": ("backup vault", "services"),
    "azurerm_kubernetes_cluster": ("AKS", "cluster"),
    "azurerm_kubernetes_cluster_node_pool": ("node pool", "cluster"),
}
REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.[a-z0-9_.\[\]]+)?\}")
SUBNET_REFERENCE = re.compile(r"\$\{azurerm_subnet\.([A-Za-z0-9_-]+)\.id\}")


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(attribute key, string) for every string in a JSON value, skipping cdktf's `//` metadata."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            if child_key != "//":
                yield from _strings(child, child_key)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str):
        yield key, value


def one_block(value: Any) -> dict[str, Any]:
    """A nested block as the synthesized JSON holds it: an object, or a one-item list (kubernetes 3.x writes
    `kubernetes_namespace_v1.metadata` as a list: CDK Terrain, docs/cdk-terrain.md)."""
    if isinstance(value, list):
        (block,) = value
        return dict(block)
    return dict(value or {})


def _node_id(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", address)


def _label(resource_type: str, body: dict[str, Any], name: str) -> str:
    display = body.get("name") if isinstance(body.get("name"), str) and "${" not in body["name"] else name
    return f'"{SHOWN_TYPES[resource_type][0]}<br/>{display}"'


def load_stack(synth_dir: Path, stack: str) -> dict[str, Any]:
    path = Path(synth_dir) / "stacks" / stack / "cdk.tf.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: stack {stack} not synthesized (run scripts/synth)")
    return json.loads(path.read_text())


Entry = tuple[str, str, dict[str, Any]]  # (resource type, name, body)


def _references_in(body: Any) -> list[str]:
    return sorted({f"{m.group(1)}.{m.group(2)}" for _, text in _strings(body) for m in REFERENCE.finditer(text)})


def _container(address: str, entry: Entry, targets: list[str], shown: dict[str, Entry]) -> str | None:
    """A subnet's VNet; another resource's first referenced subnet; None at top level."""
    resource_type, _, body = entry
    if resource_type == "azurerm_virtual_network":
        return None
    if resource_type == "azurerm_subnet":
        return next((ref for ref in targets if ref.startswith("azurerm_virtual_network.")), None)
    subnets = [f"azurerm_subnet.{m.group(1)}" for _, text in _strings(body) for m in SUBNET_REFERENCE.finditer(text)]
    return next((subnet for subnet in subnets if subnet in shown), None)


def _containment(shown: dict[str, Entry], references: dict[str, list[str]]) -> dict[str, str]:
    parent = {}
    for address, entry in sorted(shown.items()):
        container = _container(address, entry, [ref for ref in references[address] if ref in shown], shown)
        if container:
            parent[address] = container
    return parent


def _nodes(shown: dict[str, Entry], parent: dict[str, str]) -> list[str]:
    """Subgraphs of containers holding their contents; top-level resources grouped network → services → cluster."""
    children: dict[str, list[str]] = {}
    for child, container in sorted(parent.items()):
        children.setdefault(container, []).append(child)
    lines = []

    def draw(address: str, depth: int) -> None:
        resource_type, name, body = shown[address]
        indent = "  " * depth
        if address in children:
            lines.append(f"{indent}subgraph {_node_id(address)}[{_label(resource_type, body, name)}]")
            for child in children[address]:
                draw(child, depth + 1)
            lines.append(f"{indent}end")
        else:
            lines.append(f"{indent}{_node_id(address)}[{_label(resource_type, body, name)}]")

    for layer in LAYERS:
        top_level = sorted(a for a in shown if a not in parent and SHOWN_TYPES[shown[a][0]][1] == layer)
        if top_level:
            lines.append(f'  subgraph layer_{layer}["{layer}"]')
            for address in top_level:
                draw(address, 2)
            lines.append("  end")
    return lines


def _peering_edges(infra: dict[str, Any]) -> set[str]:
    edges = set()
    for body in infra.get("resource", {}).get("azurerm_virtual_network_peering", {}).values():
        # In the order the body names them (local end first): each side's peering is its own edge.
        ends = [
            ref
            for _, text in _strings(body)
            for m in REFERENCE.finditer(text)
            if (ref := f"{m.group(1)}.{m.group(2)}").startswith("azurerm_virtual_network.")
        ]
        if len(set(ends)) == 2:
            edges.add(f"  {_node_id(ends[0])} -. peering .- {_node_id(ends[1])}")
    return edges


def _reference_edges(shown: dict[str, Entry], references: dict[str, list[str]], parent: dict[str, str]) -> set[str]:
    """Direct references, and references through one undrawn resource (storage → key → key vault)."""
    edges = set()
    for address in shown:
        reached = set(references[address]) | {
            target for hidden in references[address] if hidden not in shown for target in references.get(hidden, [])
        }
        for target in sorted(reached):
            related = target in (address, parent.get(address)) or parent.get(target) == address
            if target in shown and not related:
                edges.add(f"  {_node_id(address)} --> {_node_id(target)}")
    return edges


def _namespaces(cluster: dict[str, Any], shown: dict[str, Entry]) -> tuple[list[str], set[str]]:
    """The cluster stack's namespaces as a subgraph hanging off the AKS cluster."""
    namespaces = sorted(
        one_block(body.get("metadata")).get("name", name)
        for resource_type, by_name in cluster.get("resource", {}).items()
        if resource_type.startswith("kubernetes_namespace")
        for name, body in by_name.items()
    )
    clusters = sorted(address for address, entry in shown.items() if entry[0] == "azurerm_kubernetes_cluster")
    if not (namespaces and clusters):
        return [], set()
    lines = [
        '  subgraph cluster_stack["cluster stack: namespaces"]',
        *(f'    ns_{_node_id(ns)}["{ns}"]' for ns in namespaces),
    ]
    return [*lines, "  end"], {f"  {_node_id(clusters[0])} --> cluster_stack"}


def render(infra: dict[str, Any], cluster: dict[str, Any]) -> str:
    """The Mermaid `flowchart` of one environment's infra stack (and its cluster stack's namespaces)."""
    resources = {
        f"{resource_type}.{name}": (resource_type, name, body)
        for resource_type, by_name in infra.get("resource", {}).items()
        for name, body in by_name.items()
    }
    shown = {address: entry for address, entry in resources.items() if entry[0] in SHOWN_TYPES}
    references = {address: _references_in(body) for address, (_, _, body) in resources.items()}
    parent = _containment(shown, references)
    namespace_lines, namespace_edges = _namespaces(cluster, shown)
    edges = _peering_edges(infra) | _reference_edges(shown, references, parent) | namespace_edges
    return "\n".join(["flowchart LR", *_nodes(shown, parent), *namespace_lines, *sorted(edges)]) + "\n"


def environment_diagram(synth_dir: Path, environment: str) -> str:
    return render(load_stack(synth_dir, f"{environment}-infra"), load_stack(synth_dir, f"{environment}-cluster"))


def document(environment: str, diagram: str) -> str:
    return (
        f"# {environment.capitalize()} architecture\n\n"
        f"<!-- Generated from the synthesized stacks by tools/docgen/diagram.py; do not edit. "
        f"Regenerate: {REGENERATE} -->\n\n"
        f"```mermaid\n{diagram}```\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    parser.add_argument(
        "--environment", choices=ENVIRONMENTS, action="append", help="environment(s) to draw (default: all)"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write {DOCS_DIR.relative_to(DOCS_DIR.parent.parent)}/<env>.md"
    )
    args = parser.parse_args(argv)
    try:
        diagrams = {env: environment_diagram(args.synth_dir, env) for env in args.environment or ENVIRONMENTS}
    except FileNotFoundError as error:
        parser.error(str(error))
    for environment, diagram in diagrams.items():
        if args.write:
            DOCS_DIR.mkdir(parents=True, exist_ok=True)
            (DOCS_DIR / f"{environment}.md").write_text(document(environment, diagram))
        else:
            sys.stdout.write(f"```mermaid\n{diagram}```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
