"""Workbook and saved-query check: every dashboard tile in the synthesized infra stacks reads something that exists.

Rules (each finding names the stack, resource address, tile and value):

- WB-METRIC    a metric tile's namespace is its resource type, and each metric and aggregation is one Microsoft's
               metric table publishes for that type (reference/monitor.json); a type or metric the table does not
               list is a finding, not a pass
- WB-RESOURCE  every resource a tile names is a Terraform reference (`${azurerm_x.name.id}`) to a resource of this
               stack, of the tile's resource type: a tile cannot show a resource that is not deployed
- WB-TABLE     a KQL tile on the Log Analytics workspace, and every saved search, reads a table the stack sends there
               (tools/docgen/evidence_matrix.py `sent_sources`: diagnostic settings and data collection rules);
               AzureDiagnostics queries must name `ResourceProvider` and `ResourceType`, AzureActivity queries
               `CategoryValue`, so the check knows whose logs they read. A KQL tile on an Application Insights
               component may read `availabilityResults` only when a standard web test writes to that component

    .venv/bin/python -m tools.checks.workbooks cdktf.out      # exit 1 on any finding, 2 when the input is unreadable
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.docgen.evidence_matrix import MONITOR_REFERENCE, Stacks, sent_sources
from tools.synth_output import UnreadableSynth, main_guard, read_stacks

WORKBOOK = "azurerm_application_insights_workbook"
SAVED_SEARCH = "azurerm_log_analytics_saved_search"
WEB_TEST = "azurerm_application_insights_standard_web_test"
WORKSPACE_TYPE = "microsoft.operationalinsights/workspaces"
COMPONENT_TYPE = "microsoft.insights/components"
# The workbook's aggregation codes (constructs/workbooks.py AGGREGATIONS), back to Microsoft's names.
AGGREGATION_NAMES = {1: "Total", 2: "Minimum", 3: "Maximum", 4: "Average", 7: "Count"}
REFERENCE = re.compile(r"^\$\{(azurerm_\w+)\.([\w-]+)\.id\}$")
LEADING_TABLE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\||$)")
# Application Insights tables a component holds when something writes them.
COMPONENT_TABLE_WRITERS = {"availabilityResults": WEB_TEST}


@dataclass(frozen=True)
class Finding:
    rule: str
    stack: str
    address: str
    tile: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.stack} {self.address} [{self.tile}] {self.value}: {self.message}"


def _equals(kql: str, column: str) -> str | None:
    found = re.search(rf"\b{column}\s*==\s*'([^']+)'", kql)
    return found.group(1) if found else None


def query_source(kql: str) -> tuple[str | None, str]:
    """The `sent_sources` entry a query reads (e.g. `AzureDiagnostics:MICROSOFT.KEYVAULT/VAULTS`, `AKSAuditAdmin`),
    or None and why it cannot be told."""
    leading = LEADING_TABLE.match(kql)
    if not leading:
        return None, "the query does not start with the table it reads"
    table = leading.group(1)
    if table == "AzureDiagnostics":
        provider, kind = _equals(kql, "ResourceProvider"), _equals(kql, "ResourceType")
        if not provider or not kind:
            return None, "an AzureDiagnostics query must filter ResourceProvider == '…' and ResourceType == '…'"
        return f"AzureDiagnostics:{provider}/{kind}", ""
    if table == "AzureActivity":
        category = _equals(kql, "CategoryValue")
        if not category:
            return None, "an AzureActivity query must filter CategoryValue == '…'"
        return f"AzureActivity:{category}", ""
    return table, ""


def _items(workbook: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item, groups (type 12) included."""
    for item in workbook.get("items", []):
        yield item
        if isinstance(item.get("content"), dict) and "items" in item["content"]:
            yield from _items(item["content"])


class StackCheck:
    def __init__(self, name: str, stack: dict[str, Any], monitor: dict[str, Any], sent: set[str]) -> None:
        self.name, self.resources = name, stack.get("resource", {})
        self.metric_table: dict[str, dict[str, Any]] = {
            arm.lower(): entry for arm, entry in monitor["resource_types"].items()
        }
        self.arm_types = {tf: arm.lower() for tf, arm in monitor["terraform_types"].items()}
        self.sent = {source.lower() for source in sent}
        self.findings: list[Finding] = []
        self.tiles = 0

    def fail(self, rule: str, address: str, tile: str, value: Any, message: str) -> None:
        self.findings.append(Finding(rule, self.name, address, tile, str(value), message))

    def run(self) -> list[Finding]:
        for name, body in sorted(self.resources.get(WORKBOOK, {}).items()):
            address = f"{WORKBOOK}.{name}"
            try:
                workbook = json.loads(body.get("data_json", ""))
            except json.JSONDecodeError as error:
                self.fail("WB-RESOURCE", address, "data_json", "-", f"not JSON ({error})")
                continue
            for item in _items(workbook):
                content = item.get("content", {})
                tile = str(content.get("title") or item.get("name"))
                self.tiles += item.get("type") in (3, 10)
                if item.get("type") == 10:
                    self.metric_tile(address, tile, content)
                elif item.get("type") == 3:
                    self.query_tile(address, tile, content)
        for name, body in sorted(self.resources.get(SAVED_SEARCH, {}).items()):
            self.table(f"{SAVED_SEARCH}.{name}", str(body.get("name")), str(body.get("query", "")))
        return self.findings

    def resource(self, address: str, tile: str, value: Any, arm_type: str) -> str | None:
        """The referenced resource's address when it exists in this stack with the tile's type."""
        match = REFERENCE.match(str(value))
        if not match:
            self.fail("WB-RESOURCE", address, tile, value, "not a Terraform reference to a resource of this stack")
            return None
        kind, name = match.groups()
        if name not in self.resources.get(kind, {}):
            self.fail("WB-RESOURCE", address, tile, value, f"no {kind}.{name} in this stack")
            return None
        if self.arm_types.get(kind) != arm_type:
            self.fail("WB-RESOURCE", address, tile, value, f"a {kind} is not a {arm_type}")
            return None
        return f"{kind}.{name}"

    def metric_tile(self, address: str, tile: str, content: dict[str, Any]) -> None:
        arm_type = str(content.get("resourceType", "")).lower()
        for value in content.get("resourceIds", []):
            self.resource(address, tile, value, arm_type)
        entry = self.metric_table.get(arm_type)
        if entry is None or not entry.get("metrics"):
            self.fail("WB-METRIC", address, tile, arm_type, "no metric row of this type in reference/monitor.json")
            return
        for metric in content.get("metrics", []):
            namespace, _, name = str(metric.get("metric", "")).partition("--")
            aggregation = AGGREGATION_NAMES.get(metric.get("aggregation"))
            published = entry["metrics"].get(name)
            if str(metric.get("namespace", "")).lower() != arm_type or namespace.lower() != arm_type:
                self.fail("WB-METRIC", address, tile, metric.get("metric"), f"namespace is not {arm_type}")
            elif published is None:
                self.fail("WB-METRIC", address, tile, name, f"{arm_type} does not publish this metric")
            elif aggregation not in published["aggregations"]:
                self.fail(
                    "WB-METRIC",
                    address,
                    tile,
                    f"{name} {aggregation or metric.get('aggregation')}",
                    f"aggregation not among {published['aggregations']}",
                )

    def query_tile(self, address: str, tile: str, content: dict[str, Any]) -> None:
        arm_type = str(content.get("resourceType", "")).lower()
        targets = content.get("crossComponentResources", [])
        found = [self.resource(address, tile, value, arm_type) for value in targets]
        kql = str(content.get("query", ""))
        if arm_type == WORKSPACE_TYPE:
            self.table(address, tile, kql)
        elif arm_type == COMPONENT_TYPE:
            leading = LEADING_TABLE.match(kql)
            table = leading.group(1) if leading else None
            writer = COMPONENT_TABLE_WRITERS.get(table or "")
            written = writer and any(
                f"${{{component}.id}}" == str(test.get("application_insights_id"))
                for component in found
                if component
                for test in self.resources.get(writer, {}).values()
            )
            if not written:
                self.fail("WB-TABLE", address, tile, table, "nothing in this stack writes this table to the component")
        else:
            self.fail("WB-TABLE", address, tile, arm_type, "a query tile reads a workspace or a component")

    def table(self, address: str, tile: str, kql: str) -> None:
        source, why = query_source(kql)
        if source is None:
            self.fail("WB-TABLE", address, tile, kql.split("|")[0].strip(), why)
        elif source.lower() not in self.sent:
            self.fail("WB-TABLE", address, tile, source, "reads a table nothing in the stack sends to the workspace")


def check(stacks: dict[str, dict[str, Any]]) -> tuple[list[Finding], int]:
    """Findings in every environment's infra stack (each with its cluster stack's sources), and the tiles checked."""
    monitor = json.loads(MONITOR_REFERENCE.read_text())
    findings: list[Finding] = []
    tiles = 0
    for name, stack in sorted(stacks.items()):
        if not name.endswith("-infra"):
            continue
        sent = sent_sources(Stacks(stack, stacks.get(name.removesuffix("-infra") + "-cluster", {})))
        checked = StackCheck(name, stack, monitor, sent)
        findings += checked.run()
        tiles += checked.tiles
    return findings, tiles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    args = parser.parse_args(argv)

    def run() -> int:
        stacks = read_stacks(args.synth_dir)
        if not any(name.endswith("-infra") and WORKBOOK in s.get("resource", {}) for name, s in stacks.items()):
            raise UnreadableSynth(f"{args.synth_dir}: no infra stack with workbooks (nothing to check)")
        findings, tiles = check(stacks)
        for finding in findings:
            print(finding)
        print(f"workbooks: {tiles} tiles checked, {len(findings)} findings", file=sys.stderr)
        return 1 if findings else 0

    return main_guard(run, "workbook check")


if __name__ == "__main__":
    sys.exit(main())
