"""reference/prometheus_alerts.json: Microsoft's recommended Prometheus alert rules for AKS and the metrics the
managed Prometheus agent collects by default (its minimal ingestion profile).

Sources, both in Azure/prometheus-collector:

- `GeneratedMonitoringArtifacts/Default/recommendedMetricAlerts.json`: the ARM template of the recommended alert
  rules (cluster, node and pod level groups) that the portal's "recommended alerts" and the Bicep/Terraform
  templates deploy; each rule's alert, expression, `for`, severity and resolution, verbatim.
- `otelcollector/shared/configmap/mp/tomlparser-default-targets-metrics-keep-list.go`: per default scrape target
  (kubelet, cadvisor, kubestate, ...), the metric-name regex the agent keeps while the minimal ingestion profile is
  on (its default); `tomlparser-default-scrape-settings.go`: the targets on when the settings ConfigMap names none.

A rule whose expression ends in one comparison with a number records it as `threshold` (config can override it);
one with several comparisons (e.g. KubeQuotaAlmostFull's `> 0.9 < 1`) records none.

    git clone --filter=blob:none https://github.com/Azure/prometheus-collector pc
    python -m tools.maintenance.refdata.refresh_prometheus_alerts pc/.git 39583fd50b2f828f83cc18fc0cece9e3074f56db
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from tools.maintenance.refdata.common import git_commit, git_show, meta, write

REPO = "Azure/prometheus-collector"
ALERTS = "GeneratedMonitoringArtifacts/Default/recommendedMetricAlerts.json"
KEEP_LIST = "otelcollector/shared/configmap/mp/tomlparser-default-targets-metrics-keep-list.go"
DEFAULTS = "otelcollector/shared/configmap/mp/tomlparser-default-scrape-settings.go"
# The group name's suffix in the template → the key the platform uses.
GROUPS = {"Cluster-level": "cluster", "Node-level": "node", "Pod-level": "pod"}
# The Go variable prefix of a target's minimal keep-list → the target's name in the settings ConfigMap.
TARGETS = {
    "kubelet": "kubelet",
    "coreDNS": "coredns",
    "cadvisor": "cadvisor",
    "kubeproxy": "kubeproxy",
    "apiserver": "apiserver",
    "kubestate": "kubestate",
    "nodeexporter": "nodeexporter",
}
_COMPARISON = re.compile(r"(>=|<=|==|!=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+))")


def _threshold(expression: str) -> dict[str, Any] | None:
    """The expression's one trailing `<op> <number>`, if that is its only comparison with a number."""
    found = list(_COMPARISON.finditer(expression))
    if len(found) != 1 or expression[found[0].end() :].strip():
        return None
    return {"operator": found[0].group(1), "value": float(found[0].group(2))}


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    resolve = rule.get("resolveConfiguration", {})
    data: dict[str, Any] = {
        "alert": rule["alert"],
        "expression": rule["expression"],
        "for": rule["for"],
        "severity": rule["severity"],
        "description": rule["annotations"]["description"],
        "time_to_resolve": resolve.get("timeToResolve", "PT10M"),
    }
    threshold = _threshold(rule["expression"])
    if threshold is not None:
        data["threshold"] = threshold
    return data


def alert_groups(template: dict[str, Any]) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    for resource in template["resources"]:
        (suffix,) = [s for s in GROUPS if resource["name"].endswith(f"-{s}')]")]
        props = resource["properties"]
        groups[GROUPS[suffix]] = {
            "template_name": f"KubernetesAlert-RecommendedMetricAlerts<cluster>-{suffix}",
            "interval": props["interval"],
            "rules": [_rule(rule) for rule in props["rules"]],
        }
    return groups


def minimal_profile(go: str) -> dict[str, list[str]]:
    """Target → the metric-name patterns (regex alternatives) its minimal keep-list holds, as published."""
    profile = {}
    for prefix, target in TARGETS.items():
        (regex,) = re.findall(rf'\b{prefix}Regex_minimal_mac\s*=\s*"([^"]*)"', go)
        profile[target] = sorted(set(regex.split("|")))
    return profile


def default_targets(go: str) -> list[str]:
    """The targets the agent scrapes when the settings ConfigMap enables none (the first defaults block)."""
    block = go.split("}", 1)[0]
    on = re.findall(r'config\["([^"]+)"\]\s*=\s*"true"', block)
    return sorted(t for t in on if t in TARGETS.values())


def main(argv: list[str]) -> int:
    git_dir = Path(argv[0])
    commit, date = git_commit(git_dir, argv[1] if len(argv) > 1 else "HEAD")
    template = json.loads(git_show(git_dir, commit, ALERTS))
    keep_list, defaults = git_show(git_dir, commit, KEEP_LIST), git_show(git_dir, commit, DEFAULTS)
    data = {
        "_meta": meta(
            sources=[
                {"repo": REPO, "path": path, "commit": commit, "date": date} for path in (ALERTS, KEEP_LIST, DEFAULTS)
            ],
            script="tools.maintenance.refdata.refresh_prometheus_alerts",
            note="Microsoft's recommended AKS Prometheus alert rules, verbatim; the minimal ingestion profile's "
            "keep-list per default scrape target and the targets on by default",
        ),
        "groups": alert_groups(template),
        "minimal_ingestion_profile": minimal_profile(keep_list),
        "default_targets": default_targets(defaults),
    }
    print(write("prometheus_alerts.json", data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
