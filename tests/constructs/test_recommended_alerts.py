"""Microsoft's recommended Prometheus alerts (constructs/recommended_alerts.py) and the Prometheus rule check
(tools/checks/prometheus_rules.py): on the real synthesized output, and on copies with faults planted in it."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import cdktf
import promql_parser
import pytest
from pydantic import ValidationError

from config.prometheus_alerts import RECOMMENDED_RULES, PrometheusAlerts
from constructs.recommended_alerts import (
    EXCLUDED,
    RecommendedAlerts,
    RecommendedAlertsProps,
    minutes,
    route,
    with_threshold,
)
from tests.conftest import StackJson, resources_of
from tests.constructs.test_alerts import action_groups_by_severity, alert_rule_group
from tools.checks import prometheus_rules
from tools.checks.prometheus_rules import check, findings

RULE_GROUP = "azurerm_monitor_alert_prometheus_rule_group"
REFERENCE = json.loads(prometheus_rules.REFERENCE.read_text())


def recommended_groups(infra: StackJson) -> dict[str, dict[str, Any]]:
    return {a: g for a, g in resources_of(infra, RULE_GROUP).items() if "RecommendedMetricAlerts" in g["name"]}


def recommended(infra: StackJson) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in recommended_groups(infra).values() for rule in group["rule"]}


def numbers(expression: str) -> list[float]:
    """Every number literal of a parsed expression."""
    found, stack = [], [promql_parser.parse(expression)]
    while stack:
        node = stack.pop()
        if type(node).__name__ == "NumberLiteral":
            found.append(node.val)
        stack.extend(getattr(node, "args", None) or [])
        stack.extend(c for n in ("lhs", "rhs", "expr", "param") if (c := getattr(node, n, None)) is not None)
    return sorted(found)


def test_every_recommended_rule_is_created_or_excluded_with_a_reason(infra: StackJson, config: Any) -> None:
    created = set(recommended(infra))
    skipped = set(EXCLUDED) | set(config.observability.prometheus_alerts.disabled)
    assert created | skipped == set(RECOMMENDED_RULES)
    assert not created & skipped
    assert all(reason.strip() for reason in EXCLUDED.values())
    assert len(RECOMMENDED_RULES) == 30 and len(created) == 30 - len(skipped)


def test_duplicates_are_left_out_for_story_rules_that_exist(infra: StackJson) -> None:
    story = {rule["alert"] for rule in alert_rule_group(infra)["rule"]}
    duplicates = {name: reason for name, reason in EXCLUDED.items() if reason.startswith("duplicate")}
    assert sorted(duplicates) == ["KubePodContainerRestart", "KubePodNotReadyByController"]
    for reason in duplicates.values():
        assert any(f"story 3.1's {name} " in reason for name in story), reason


def test_recommended_rules_keep_microsofts_values_and_reach_both_groups_of_their_severity(
    infra: StackJson, environment: str, config: Any
) -> None:
    groups = action_groups_by_severity(infra, environment)
    overrides = config.observability.prometheus_alerts.overrides
    for name, rule in recommended(infra).items():
        reference = RECOMMENDED_RULES[name][1]
        if name not in overrides:
            assert rule["expression"] == reference["expression"]
            assert rule["severity"] == reference["severity"]
            assert rule["for"] == f"PT{int(reference['for'].removeprefix('PT').removesuffix('M'))}M"
        severity = route(rule["severity"])
        assert rule["labels"] == {"severity": severity}
        assert len(groups[severity]) == 2  # the person channels' group and the webhook's
        assert rule["action"] == [{"action_group_id": group} for group in groups[severity]], name
        assert rule["alert_resolution"] == {"auto_resolved": True, "time_to_resolve": reference["time_to_resolve"]}


def test_recommended_groups_are_scoped_to_the_workspace_and_the_cluster(infra: StackJson, config: Any) -> None:
    (workspace,) = resources_of(infra, "azurerm_monitor_workspace")
    (cluster,) = resources_of(infra, "azurerm_kubernetes_cluster")
    groups = recommended_groups(infra)
    assert sorted(g["name"].rsplit("-", 2)[-2] for g in groups.values()) == ["Cluster", "Node", "Pod"]
    for group in groups.values():
        assert group["cluster_name"] == config.prometheus_cluster_label
        assert group["scopes"] == [
            f"${{azurerm_monitor_workspace.{workspace}.id}}",
            f"${{azurerm_kubernetes_cluster.{cluster}.id}}",
        ]


def test_every_prometheus_rule_expression_parses(infra: StackJson) -> None:
    """Every rule of every group (story 3.1's, the recording rules, the recommended ones) under PromQL's grammar."""
    expressions = [rule["expression"] for group in resources_of(infra, RULE_GROUP).values() for rule in group["rule"]]
    assert len(expressions) == 3 + 30 + len(recommended(infra))
    for expression in expressions:
        assert promql_parser.parse(expression).prettify(), expression


def test_the_parser_rejects_a_broken_expression() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse(RECOMMENDED_RULES["KubeJobFailed"][1]["expression"].replace("}", "", 1))


def test_a_threshold_override_replaces_only_the_recorded_threshold() -> None:
    overridable = {name: rule for name, (_, rule) in RECOMMENDED_RULES.items() if "threshold" in rule}
    assert "KubePVUsageHigh" in overridable and "KubeQuotaAlmostFull" not in overridable
    for name, rule in overridable.items():
        before = numbers(rule["expression"])
        after = numbers(with_threshold(rule["expression"], 42.5))
        before.remove(rule["threshold"]["value"])
        assert after == sorted([*before, 42.5]), name


def test_config_overrides_reach_the_rule(tmp_path: Path) -> None:
    stack = cdktf.TerraformStack(cdktf.App(outdir=str(tmp_path)), "recommended")
    config = PrometheusAlerts.model_validate(
        {
            "overrides": {"KubePVUsageHigh": {"severity": 1, "threshold": 0.9, "for_minutes": 30}},
            "disabled": {"KubeHpaMaxedOut": "the platform runs no HPA at its maximum by design"},
        }
    )
    RecommendedAlerts(
        stack,
        "recommended",
        props=RecommendedAlertsProps(
            config=config,
            location="westeurope",
            resource_group_name="rg",
            cluster_id="cluster-id",
            prometheus_cluster_label="alias",
            monitor_workspace_id="workspace-id",
            action_group_ids={"critical": ("pager", "critical-chat"), "warning": ("mail", "warning-chat")},
        ),
    )
    rules = recommended(json.loads(cdktf.Testing.synth(stack)))
    assert "KubeHpaMaxedOut" not in rules and len(rules) == 30 - len(EXCLUDED) - 1
    pv = rules["KubePVUsageHigh"]
    assert pv["expression"].endswith("> 0.9") and numbers(pv["expression"])[-1] == 0.9
    assert (pv["severity"], pv["for"], pv["labels"]) == (1, "PT30M", {"severity": "critical"})
    assert pv["action"] == [{"action_group_id": "pager"}, {"action_group_id": "critical-chat"}]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"overrides": {"KubeNoSuchRule": {"severity": 1}}}, "unknown recommended Prometheus rules"),
        ({"overrides": {"KubeQuotaAlmostFull": {"threshold": 0.8}}}, "no single threshold"),
        ({"disabled": {"KubeJobFailed": " "}}, "needs a reason"),
        ({"overrides": {"KubeJobFailed": {"for_minutes": 0}}}, "greater than or equal to 1"),
        ({"overrides": {"KubeJobFailed": {"severity": 5}}}, "less than or equal to 4"),
    ],
)
def test_config_rejects_bad_overrides(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PrometheusAlerts.model_validate(values)


# --- the rule check, on the real output and on planted faults ---------------------------------------------------


def test_the_rule_check_passes_the_real_output(synth_dir: Path) -> None:
    assert check(synth_dir) == []


def test_excluded_rules_are_exactly_those_the_check_finds_reading_dropped_metrics(
    stacks: dict[str, StackJson], environment: str
) -> None:
    """Planted: every recommended rule, verbatim, in the real pod-level group: the check names the rules EXCLUDED
    says are not collected, and no other."""
    infra, cluster = copy.deepcopy(stacks[f"{environment}-infra"]), stacks[f"{environment}-cluster"]
    group = next(g for g in recommended_groups(infra).values() if g["name"].endswith("Pod-level"))
    group["rule"] = [{**r, "action": [{"action_group_id": "x"}]} for _, r in RECOMMENDED_RULES.values()]
    flagged = {p.split("/")[1].split(":")[0] for p in findings(infra, cluster, REFERENCE)}
    assert flagged == {name for name, reason in EXCLUDED.items() if reason.startswith("not collected")}


def _planted(stacks: dict[str, StackJson], environment: str) -> tuple[StackJson, StackJson, dict[str, Any]]:
    infra, cluster = copy.deepcopy(stacks[f"{environment}-infra"]), copy.deepcopy(stacks[f"{environment}-cluster"])
    return infra, cluster, {r["alert"]: r for g in recommended_groups(infra).values() for r in g["rule"]}


def test_the_rule_check_fails_on_a_rule_reading_a_dropped_metric(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra, cluster, rules = _planted(stacks, environment)
    rules["KubeJobFailed"]["expression"] = 'kube_persistentvolume_status_phase{phase="Failed"} > 0'
    (problem,) = findings(infra, cluster, REFERENCE)
    assert problem.startswith("PROM-METRIC ") and "/KubeJobFailed: reads kube_persistentvolume_status_phase," in problem


def test_the_rule_check_follows_the_targets_the_cluster_enables(stacks: dict[str, StackJson], environment: str) -> None:
    """Planted: kube-state-metrics turned off in the agent's settings ConfigMap; enabling the metric through
    the ConfigMap's keep-list makes a rule on it pass."""
    infra, cluster, _ = _planted(stacks, environment)
    (settings,) = [
        c
        for c in resources_of(cluster, "kubernetes_config_map_v1").values()
        if c["metadata"]["name"] == prometheus_rules.SETTINGS
    ]
    data = settings["data"]
    data["default-scrape-settings-enabled"] = data["default-scrape-settings-enabled"].replace(
        "kubestate = true", "kubestate = false"
    )
    problems = findings(infra, cluster, REFERENCE)
    assert any("/KubeNodeNotReady: reads kube_node_status_condition," in p for p in problems)
    assert any("/KubeJobFailed: reads kube_job_failed," in p for p in problems)
    infra, cluster, rules = _planted(stacks, environment)
    rules["KubeJobFailed"]["expression"] = 'kube_persistentvolume_status_phase{phase="Failed"} > 0'
    (settings,) = [
        c
        for c in resources_of(cluster, "kubernetes_config_map_v1").values()
        if c["metadata"]["name"] == prometheus_rules.SETTINGS
    ]
    settings["data"]["default-targets-metrics-keep-list"] = 'kubestate = "kube_persistentvolume_status_phase"'
    assert findings(infra, cluster, REFERENCE) == []


def test_the_rule_check_fails_on_a_rule_without_an_action_group(stacks: dict[str, StackJson], environment: str) -> None:
    infra, cluster, rules = _planted(stacks, environment)
    rules["KubeHpaMaxedOut"]["action"] = []
    (problem,) = findings(infra, cluster, REFERENCE)
    assert problem.startswith("PROM-ACTION ") and problem.endswith("/KubeHpaMaxedOut: names no action group")


def test_the_rule_check_fails_on_an_expression_that_does_not_parse(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra, cluster, rules = _planted(stacks, environment)
    rules["KubeNodeDiskUsageHigh"]["expression"] = rules["KubeNodeDiskUsageHigh"]["expression"].replace(")", "", 1)
    (problem,) = findings(infra, cluster, REFERENCE)
    assert problem.startswith("PROM-PARSE ") and "/KubeNodeDiskUsageHigh: " in problem


def test_the_rule_check_fails_when_there_is_nothing_to_check(
    stacks: dict[str, StackJson], environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infra, cluster, _ = _planted(stacks, environment)
    del infra["resource"][RULE_GROUP]
    assert findings(infra, cluster, REFERENCE) == ["PROM-NONE: no Prometheus rule to check"]
    folder = tmp_path / "synth"
    for name, stack in {f"{environment}-infra": infra, f"{environment}-cluster": cluster}.items():
        (folder / "stacks" / name).mkdir(parents=True)
        (folder / "stacks" / name / "cdk.tf.json").write_text(json.dumps(stack))
    assert prometheus_rules.main([str(folder)]) == 1
    assert prometheus_rules.main([str(tmp_path / "missing")]) == 2
    assert "could not read its input" in capsys.readouterr().err


def test_the_operations_page_lists_every_recommended_rule_and_every_exclusion() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    section = text.split("## 2.4 Recommended Prometheus alerts", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(Kube\w+)` \| (\w+) \| (\d+) min \| (\d) → (\w+) \|", section, re.MULTILINE)
    expected = [
        (name, group, str(minutes(rule["for"])), str(rule["severity"]), route(rule["severity"]))
        for name, (group, rule) in RECOMMENDED_RULES.items()
        if name not in EXCLUDED
    ]
    assert listed == expected
    left_out = dict(re.findall(r"^\| `(Kube\w+)` \| ([^|]+) \|$", section, re.MULTILINE))
    assert left_out == EXCLUDED
