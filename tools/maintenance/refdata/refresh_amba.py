"""reference/amba.json: the Azure Monitor baseline alerts (AMBA) the platform deploys: metric alerts and activity-log
alerts.

Source: Azure/azure-monitor-baseline-alerts `services/<Provider>/<type>/alerts.yaml`. Selected: alerts of a type in
TYPES that AMBA marks `visible: true`:

- metric alerts (static or dynamic thresholds, with or without dimension filters) on the resource itself or on a
  sub-resource in SUB_RESOURCES (its `<type>/<service>/default` scope), whose metric, aggregation and dimensions are
  in the published metric table (reference/monitor.json);
- activity-log alerts (`ActivityLog`: an operation on a resource of the type).

Every other alert of those types is listed under `excluded` with the reason. AMBA defines no log (scheduled query)
alert for these types at the recorded commit. Needs PyYAML (not a project dependency: `pip install pyyaml` in a
scratch environment):

    git clone --filter=blob:none https://github.com/Azure/azure-monitor-baseline-alerts amba
    python -m tools.maintenance.refdata.refresh_amba amba/.git b772e9f93427cb3e08ed4be305bd9f929a0ceb01

The commit is optional (default HEAD); name the recorded one (reference/amba.json `_meta.sources`) to re-derive
the selection without moving the data.
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
    "Microsoft.Logic/workflows",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/bastionHosts",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Storage/storageAccounts",
)
# Sub-resources the platform uses: a metric alert on one is scoped to `<resource id>/<service>/default`.
SUB_RESOURCES = ("Microsoft.Storage/storageAccounts/blobServices",)
# Why the metric alerts on the other sub-resources, or of a whole type, do not apply here: (reason, the Terraform
# types whose absence from every stack makes it hold; tests/reference/test_amba_exclusions.py checks that).
_VMS = (
    "azurerm_linux_virtual_machine",
    "azurerm_linux_virtual_machine_scale_set",
    "azurerm_virtual_machine",
    "azurerm_virtual_machine_extension",
    "azurerm_windows_virtual_machine",
    "azurerm_windows_virtual_machine_scale_set",
)
NOT_APPLICABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "Microsoft.Storage/storageAccounts/fileServices": (
        "the platform creates no file shares (no azurerm_storage_share)",
        ("azurerm_storage_share",),
    ),
    "Microsoft.Storage/storageAccounts/queueServices": (
        "the platform creates no queues (no azurerm_storage_queue)",
        ("azurerm_storage_queue",),
    ),
    "Microsoft.OperationalInsights/workspaces": (
        "a metric of a VM agent's performance counters (Perf, Heartbeat, Event) in the workspace: "
        "no virtual machine reports to it (no azurerm virtual machine, scale set or VM extension)",
        _VMS,
    ),
}
# Dimension filters that name AMBA's sample entity rather than a rule for every resource.
SAMPLE_DIMENSIONS = ("EntityName",)


def alerts_path(arm_type: str) -> str:
    return "services/" + arm_type.removeprefix("Microsoft.") + "/alerts.yaml"


def _exclusion(arm_type: str, alert: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """Why an AMBA metric alert is not deployed; None: it is."""
    p = alert["properties"]
    namespace = p.get("metricNamespace", "")
    dimensions = p.get("dimensions") or []
    if not alert.get("visible"):
        return "not visible in AMBA"
    if namespace in NOT_APPLICABLE or arm_type in NOT_APPLICABLE:
        return NOT_APPLICABLE.get(namespace, NOT_APPLICABLE.get(arm_type, ("", ())))[0]
    if namespace.lower() != arm_type.lower() and namespace not in SUB_RESOURCES:
        return f"on a sub-resource ({namespace})"
    if p.get("criterionType") not in ("StaticThresholdCriterion", "DynamicThresholdCriterion"):
        return f"criterion {p.get('criterionType')}"
    metric = metrics.get(p["metricName"])
    if metric is None:
        return "metric not in the published metric table"
    if p["timeAggregation"] not in metric["aggregations"]:
        return f"aggregation {p['timeAggregation']} not published for the metric"
    sample = [d["name"] for d in dimensions if d["name"] in SAMPLE_DIMENSIONS]
    if sample:
        return f"filters {sample[0]} on AMBA's sample value {dimensions[0]['values']}, not an entity of the platform"
    unknown = sorted(d["name"] for d in dimensions if d["name"] not in metric["dimensions"])
    if unknown:
        return f"dimension {unknown} not published for the metric"
    return None


def _metric_alert(alert: dict[str, Any]) -> dict[str, Any]:
    p = alert["properties"]
    definition: dict[str, Any] = {
        "name": alert["name"],
        "description": alert.get("description", ""),
        "metric_namespace": p["metricNamespace"],
        "metric_name": p["metricName"],
        "operator": p["operator"],
        "threshold": None if p.get("threshold") is None else float(p["threshold"]),
        "aggregation": p["timeAggregation"],
        "window_size": p["windowSize"],
        "frequency": p["evaluationFrequency"],
        "severity": int(p["severity"]),
        "guid": alert.get("guid", ""),
    }
    if p.get("dimensions"):
        definition["dimensions"] = [
            {"name": d["name"], "operator": d["operator"].capitalize(), "values": list(d["values"])}
            for d in p["dimensions"]
        ]
    if p["criterionType"] == "DynamicThresholdCriterion":
        periods = p.get("failingPeriods") or {}
        definition["dynamic"] = {
            "alert_sensitivity": p["alertSensitivity"],
            "evaluation_total_count": int(periods.get("numberOfEvaluationPeriods", 4)),
            "evaluation_failure_count": int(periods.get("minFailingPeriodsToAlert", 4)),
        }
    return definition


def alert_key(arm_type: str, namespace: str, metric: str) -> str:
    """`<Provider>/<type>[/<service>]/<metric>`: AMBA's services/ path, plus a sub-resource alert's service."""
    suffix = namespace[len(arm_type) :].strip("/") if namespace.lower().startswith(arm_type.lower() + "/") else ""
    return "/".join(part for part in (arm_type.removeprefix("Microsoft."), suffix, metric) if part)


def activity_key(arm_type: str, operation: str) -> str:
    """`<Provider>/<type>/activity/<operation after the type>`, e.g. `KeyVault/vaults/activity/delete`."""
    return f"{arm_type.removeprefix('Microsoft.')}/activity/{operation[len(arm_type) + 1 :]}"


def select(arm_type: str, alerts: list[dict[str, Any]], metrics: dict[str, Any]) -> tuple[dict, dict, dict]:
    """(metric alert key → definition, activity-log alert key → definition, excluded alert key → reason) of one
    type's AMBA alerts; `metrics`: ARM type (the type's and its sub-resources') → its published metrics."""
    metrics = {namespace.lower(): published for namespace, published in metrics.items()}
    chosen: dict[str, Any] = {}
    activity: dict[str, Any] = {}
    excluded: dict[str, str] = {}
    for alert in alerts:
        p = alert.get("properties", {})
        if alert.get("type") == "ActivityLog":
            key = activity_key(arm_type, p["operationName"])
            if not alert.get("visible"):
                excluded[f"{key} ({alert['name']})"] = "not visible in AMBA"
                continue
            activity[key] = {
                "name": alert["name"],
                "description": alert.get("description", ""),
                "category": p["category"],
                "operation_name": p["operationName"],
                "resource_type": arm_type,
                "statuses": sorted(s.capitalize() for s in p.get("status", [])),
                "guid": alert.get("guid", ""),
            }
            continue
        if alert.get("type") != "Metric":
            excluded[f"{arm_type.removeprefix('Microsoft.')}/{alert['name']}"] = f"alert type {alert.get('type')}"
            continue
        key = alert_key(arm_type, p.get("metricNamespace", arm_type), p["metricName"])
        reason = _exclusion(arm_type, alert, metrics.get(p.get("metricNamespace", arm_type).lower(), {}))
        if reason is None and key in chosen:
            reason = "second AMBA definition of the same metric"
        if reason is None:
            chosen[key] = _metric_alert(alert)
        else:
            excluded.setdefault(f"{key} ({alert['name']})", reason)
    return chosen, activity, excluded


def main(argv: list[str]) -> int:
    import yaml  # type: ignore[import-untyped]  # only the refresh needs it

    git_dir = Path(argv[0])
    commit, date = git_commit(git_dir, argv[1] if len(argv) > 1 else "HEAD")
    monitor = json.loads((REFERENCE_DIR / "monitor.json").read_text())["resource_types"]
    metrics = {arm_type: entry.get("metrics", {}) for arm_type, entry in monitor.items()}
    alerts: dict[str, Any] = {}
    activity: dict[str, Any] = {}
    excluded: dict[str, str] = {}
    for arm_type in TYPES:
        chosen, logged, skipped = select(
            arm_type, yaml.safe_load(git_show(git_dir, commit, alerts_path(arm_type))) or [], metrics
        )
        alerts.update(chosen)
        activity.update(logged)
        excluded.update(skipped)
    data = {
        "_meta": meta(
            sources=[
                {"repo": "Azure/azure-monitor-baseline-alerts", "path": alerts_path(t), "commit": commit, "date": date}
                for t in TYPES
            ],
            script="tools.maintenance.refdata.refresh_amba <azure-monitor-baseline-alerts git dir> [commit]",
            note="Selection: see the module docstring of the refresh script.",
        ),
        "alerts": dict(sorted(alerts.items())),
        "activity_log": dict(sorted(activity.items())),
        "excluded": dict(sorted(excluded.items())),
    }
    print(write("amba.json", data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
