"""reference/amba.json: the Azure Monitor baseline alerts (AMBA) the platform deploys as metric alerts.

Source: Azure/azure-monitor-baseline-alerts `services/<Provider>/<type>/alerts.yaml`. Selected: alerts of a
type in TYPES that AMBA marks `visible: true`, of type Metric with a static threshold, on the resource itself
(namespace = the type: sub-resource alerts such as blobServices need their own scope) and without a dimension
filter, whose metric and aggregation are in the published metric table (reference/monitor.json). Every other
metric alert of those types is listed under `excluded` with the reason. Needs PyYAML (not a project
dependency: `pip install pyyaml` in a scratch environment):

    git clone --filter=blob:none https://github.com/Azure/azure-monitor-baseline-alerts amba
    python -m tools.maintenance.refdata.refresh_amba amba/.git
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tools.maintenance.refdata.common import REFERENCE_DIR, git_commit, git_show, meta, write

# The deployed types whose published metric table was read into reference/monitor.json.
TYPES = (
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.EventHub/namespaces",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/bastionHosts",
    "Microsoft.Storage/storageAccounts",
)


def alerts_path(arm_type: str) -> str:
    return "services/" + arm_type.removeprefix("Microsoft.") + "/alerts.yaml"


def select(arm_type: str, alerts: list[dict[str, Any]], metrics: dict[str, Any]) -> tuple[dict, dict]:
    """(selected alert key → definition, excluded alert key → reason) of one type's AMBA metric alerts."""
    chosen: dict[str, Any] = {}
    excluded: dict[str, str] = {}
    for alert in alerts:
        if alert.get("type") != "Metric":
            continue
        p = alert["properties"]
        key = f"{arm_type.removeprefix('Microsoft.')}/{p['metricName']}"
        if not alert.get("visible"):
            reason = "not visible in AMBA"
        elif p.get("criterionType") != "StaticThresholdCriterion":
            reason = "dynamic threshold"
        elif p.get("metricNamespace", "").lower() != arm_type.lower():
            reason = f"on a sub-resource ({p.get('metricNamespace')})"
        elif p.get("dimensions"):
            reason = "filters on dimensions"
        elif p["metricName"] not in metrics:
            reason = "metric not in the published metric table"
        elif p["timeAggregation"] not in metrics[p["metricName"]]["aggregations"]:
            reason = f"aggregation {p['timeAggregation']} not published for the metric"
        elif key in chosen:
            reason = "second AMBA definition of the same metric"
        else:
            chosen[key] = {
                "name": alert["name"],
                "description": alert.get("description", ""),
                "metric_namespace": arm_type,
                "metric_name": p["metricName"],
                "operator": p["operator"],
                "threshold": float(p["threshold"]),
                "aggregation": p["timeAggregation"],
                "window_size": p["windowSize"],
                "frequency": p["evaluationFrequency"],
                "severity": int(p["severity"]),
                "guid": alert.get("guid", ""),
            }
            continue
        excluded.setdefault(f"{key} ({alert['name']})", reason)
    return chosen, excluded


def main(argv: list[str]) -> int:
    import yaml  # type: ignore[import-untyped]  # only the refresh needs it

    git_dir = Path(argv[0])
    commit, date = git_commit(git_dir)
    monitor = json.loads((REFERENCE_DIR / "monitor.json").read_text())["resource_types"]
    alerts: dict[str, Any] = {}
    excluded: dict[str, str] = {}
    for arm_type in TYPES:
        chosen, skipped = select(
            arm_type, yaml.safe_load(git_show(git_dir, commit, alerts_path(arm_type))), monitor[arm_type]["metrics"]
        )
        alerts.update(chosen)
        excluded.update(skipped)
    data = {
        "_meta": meta(
            sources=[
                {"repo": "Azure/azure-monitor-baseline-alerts", "path": alerts_path(t), "commit": commit, "date": date}
                for t in TYPES
            ],
            script="tools.maintenance.refdata.refresh_amba <azure-monitor-baseline-alerts git dir>",
            note="Selection: see the module docstring of the refresh script.",
        ),
        "alerts": alerts,
        "excluded": excluded,
    }
    print(write("amba.json", data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
