"""Prometheus rule check: every rule of every `azurerm_monitor_alert_prometheus_rule_group` of an infra stack must

- PROM-PARSE   parse as PromQL (promql-parser, Prometheus' grammar);
- PROM-METRIC  read only series that reach the workspace: a metric the managed Prometheus agent keeps, or one a
               recording rule of the stack records. What the agent keeps is the minimal ingestion profile
               (reference/prometheus_alerts.json) of each target the environment's cluster stack enables in the
               agent's settings ConfigMap, plus that ConfigMap's keep-list; a rule on a dropped metric never fires;
- PROM-ACTION  (alert rules) name at least one action group.

An infra stack without a rule to check fails too ("nothing evaluated" is not a pass).

    python -m tools.checks.prometheus_rules SYNTH_DIR
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser

from tools.synth_output import main_guard, read_stacks

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "prometheus_alerts.json"
RULE_GROUP = "azurerm_monitor_alert_prometheus_rule_group"
SETTINGS = "ama-metrics-settings-configmap"
# The scrape job's `job` label → its target in the settings ConfigMap.
JOBS = {
    "kube-state-metrics": "kubestate",
    "kubelet": "kubelet",
    "cadvisor": "cadvisor",
    "node": "nodeexporter",
    "kube-dns": "coredns",
    "kube-proxy": "kubeproxy",
    "kube-apiserver": "apiserver",
}
# A metric without a job selector: the target its name says exports it (else any enabled target may).
PREFIXES = {
    "kube_": "kubestate",
    "kubelet_": "kubelet",
    "container_": "cadvisor",
    "node_": "nodeexporter",
    "coredns_": "coredns",
    "kubeproxy_": "kubeproxy",
    "apiserver_": "apiserver",
}
_CHILDREN = ("lhs", "rhs", "expr", "param", "vector_selector")


def selectors(expression: str) -> Iterator[tuple[str, str | None]]:
    """(metric name, the `job` it selects or None) of every vector selector of a PromQL expression."""
    stack: list[Any] = [promql_parser.parse(expression)]
    while stack:
        node = stack.pop()
        if type(node).__name__ == "VectorSelector":
            if node.name:
                equal = promql_parser.MatchOp.Equal
                jobs = [m.value for m in node.matchers.matchers if m.name == "job" and m.op == equal]
                yield node.name, jobs[0] if jobs else None
            continue
        stack.extend(getattr(node, "args", None) or [])
        stack.extend(child for name in _CHILDREN if (child := getattr(node, name, None)) is not None)


def kept_patterns(cluster: dict[str, Any] | None, reference: dict[str, Any]) -> dict[str, list[str]]:
    """Target → the metric-name patterns the agent keeps for it, per the cluster stack's settings ConfigMap."""
    settings = next(
        (
            c["data"]
            for c in (cluster or {}).get("resource", {}).get("kubernetes_config_map_v1", {}).values()
            if c["metadata"]["name"] == SETTINGS
        ),
        None,
    )
    profile = reference["minimal_ingestion_profile"]
    if settings is None:
        enabled = list(reference["default_targets"])
    else:
        lines = settings.get("default-scrape-settings-enabled", "")
        enabled = re.findall(r"^\s*(\w+)\s*=\s*true\s*$", lines, re.MULTILINE)
    kept = {target: list(profile.get(target, [])) for target in enabled}
    for target, regex in re.findall(
        r'^\s*(\w+)\s*=\s*"([^"]+)"', (settings or {}).get("default-targets-metrics-keep-list", ""), re.MULTILINE
    ):
        if target in kept:
            kept[target].extend(regex.split("|"))
    return kept


def collected(metric: str, job: str | None, kept: dict[str, list[str]]) -> bool:
    target = JOBS.get(job or "") or next((t for p, t in PREFIXES.items() if metric.startswith(p)), None)
    patterns = kept.get(target, []) if target else [p for ps in kept.values() for p in ps]
    return any(re.fullmatch(pattern, metric) for pattern in patterns)


def rules(infra: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`<group address>/<alert or record>`, rule) of every rule of the stack."""
    for address, group in sorted(infra.get("resource", {}).get(RULE_GROUP, {}).items()):
        for rule in group.get("rule", []):
            yield f"{RULE_GROUP}.{address}/{rule.get('alert') or rule.get('record')}", rule


def findings(infra: dict[str, Any], cluster: dict[str, Any] | None, reference: dict[str, Any]) -> list[str]:
    kept = kept_patterns(cluster, reference)
    recorded = {rule["record"] for _, rule in rules(infra) if rule.get("record")}
    problems, checked = [], 0
    for where, rule in rules(infra):
        checked += 1
        try:
            read = sorted(set(selectors(rule["expression"])))
        except (ValueError, RuntimeError) as error:
            problems.append(f"PROM-PARSE {where}: {error}")
            continue
        dropped = sorted({m for m, job in read if m not in recorded and not collected(m, job, kept)})
        if dropped:
            problems.append(f"PROM-METRIC {where}: reads {', '.join(dropped)}, which the agent does not collect")
        if rule.get("alert") and not rule.get("action"):
            problems.append(f"PROM-ACTION {where}: names no action group")
    if not checked:
        problems.append("PROM-NONE: no Prometheus rule to check")
    return problems


def check(synth_dir: Path) -> list[str]:
    stacks = read_stacks(synth_dir)
    reference = json.loads(REFERENCE.read_text())
    problems = []
    for name in sorted(n for n in stacks if n.endswith("-infra")):
        cluster = stacks.get(name.removesuffix("-infra") + "-cluster")
        problems += [f"{name}: {p}" for p in findings(stacks[name], cluster, reference)]
    if not any(n.endswith("-infra") for n in stacks):
        problems.append("no infra stack: nothing evaluated")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path)
    args = parser.parse_args(argv)

    def run() -> int:
        problems = check(args.synth_dir)
        for problem in problems:
            print(problem)
        print(f"prometheus rules: {len(problems)} problem(s)")
        return 1 if problems else 0

    return main_guard(run, "prometheus_rules")


if __name__ == "__main__":
    sys.exit(main())
