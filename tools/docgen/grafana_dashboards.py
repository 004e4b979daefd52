"""Grafana dashboards as code for the managed Grafana instance: JSON models generated from Python data, over the
managed Prometheus data source, reading the recording rules of constructs/recording_rules.py.

No Grafana provider bindings exist for this project's cdktf 0.21 setup (none is installed or locked), so the
dashboards are files (docs/dashboards/*.json) that `--write` regenerates and a test keeps fresh; they are
imported into the instance with `az grafana dashboard import` (docs/operations.md). `missing_recording_rules`
is the guard: a dashboard that reads a recorded series no rule group of the stack records is an empty panel.

    .venv/bin/python -m tools.docgen.grafana_dashboards --write | --check
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "docs" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# A recorded series follows Prometheus' level:metric:operations naming: it contains a colon.
_SERIES = re.compile(r"(?<![\w:\"'])([a-zA-Z_:][a-zA-Z0-9_:]*:[a-zA-Z0-9_:]*)(?=\s*[{(\[)\s]|$)")

PANELS: dict[str, list[tuple[str, str]]] = {
    "kubernetes-capacity": [
        ("Cluster CPU utilisation", 'cluster:node_cpu:ratio_rate5m{cluster="$cluster"}'),
        ("Node memory utilisation", 'instance:node_memory_utilisation:ratio{cluster="$cluster"}'),
        (
            "CPU requests by namespace",
            'namespace_cpu:kube_pod_container_resource_requests:sum{cluster="$cluster"}',
        ),
        (
            "Memory requests by namespace",
            'namespace_memory:kube_pod_container_resource_requests:sum{cluster="$cluster"}',
        ),
        (
            "CPU usage by namespace",
            "sum by (namespace) (node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate"
            '{cluster="$cluster"})',
        ),
        (
            "Working set by namespace",
            'sum by (namespace) (node_namespace_pod_container:container_memory_working_set_bytes{cluster="$cluster"})',
        ),
        (
            "Pod restarts (15 min)",
            'sum by (namespace) (increase(kube_pod_container_status_restarts_total{cluster="$cluster"}[15m]))',
        ),
    ],
}


def dashboard(name: str, panels: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "title": f"ERP platform: {name.replace('-', ' ')}",
        "uid": f"erp-{name}",
        "schemaVersion": 39,
        "editable": False,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "cluster",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": "label_values(up, cluster)",
                },
            ]
        },
        "panels": [
            {
                "id": index,
                "type": "timeseries",
                "title": title,
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "targets": [{"refId": "A", "expr": expr, "datasource": DATASOURCE}],
            }
            for index, (title, expr) in enumerate(panels)
        ],
    }


def dashboards() -> dict[str, dict[str, Any]]:
    return {name: dashboard(name, panels) for name, panels in PANELS.items()}


def referenced_series(board: dict[str, Any]) -> set[str]:
    """Recorded series (names with a colon) the dashboard's queries read."""
    return {
        match
        for panel in board.get("panels", [])
        for target in panel.get("targets", [])
        for match in _SERIES.findall(target.get("expr", ""))
    }


def recorded_in(stack: dict[str, Any]) -> set[str]:
    return {
        rule["record"]
        for group in stack.get("resource", {}).get("azurerm_monitor_alert_prometheus_rule_group", {}).values()
        for rule in group.get("rule", [])
        if rule.get("record")
    }


def missing_recording_rules(board: dict[str, Any], stack: dict[str, Any]) -> list[str]:
    return sorted(referenced_series(board) - recorded_in(stack))


def render(name: str, board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for name, board in dashboards().items():
        path = OUT / f"{name}.json"
        text = render(name, board)
        if args.write:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        print("stale dashboards (run with --write): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
