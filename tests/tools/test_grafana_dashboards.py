"""Dashboards as code: the generated Grafana dashboards are fresh, and every recorded series a dashboard reads is
recorded by a rule group of each infra stack (Microsoft's default recording rules, constructs/recording_rules.py);
a typo or a missing rule group is reported."""

from __future__ import annotations

import copy

import pytest

from config.loader import load_environment
from constructs.recording_rules import GROUP_NAMES, RULE_GROUPS, recorded_series
from tests.conftest import StackJson, resources_of
from tools.docgen import grafana_dashboards
from tools.docgen.grafana_dashboards import dashboards, missing_recording_rules, referenced_series


def test_checked_in_dashboards_are_fresh() -> None:
    assert grafana_dashboards.main(["--check"]) == 0, "run: .venv/bin/python -m tools.docgen.grafana_dashboards --write"


def test_every_dashboard_reads_only_recorded_series_that_exist(infra: StackJson) -> None:
    for name, board in dashboards().items():
        assert referenced_series(board), name  # the dashboard does read recording rules
        assert missing_recording_rules(board, infra) == [], name


def test_a_recording_rule_a_dashboard_reads_but_nobody_records_is_reported(infra: StackJson) -> None:
    board = copy.deepcopy(dashboards()["kubernetes-capacity"])
    board["panels"][0]["targets"][0]["expr"] = 'cluster:node_cpu:ratio_rate1m{cluster="$cluster"}'
    assert missing_recording_rules(board, infra) == ["cluster:node_cpu:ratio_rate1m"]
    # ...and removing the node rule group from the stack leaves the node series unrecorded.
    broken = copy.deepcopy(infra)
    groups = broken["resource"]["azurerm_monitor_alert_prometheus_rule_group"]
    for address in [a for a, g in groups.items() if g["name"].startswith(GROUP_NAMES["node"])]:
        del groups[address]
    assert missing_recording_rules(dashboards()["kubernetes-capacity"], broken) == [
        "instance:node_memory_utilisation:ratio"
    ]


def test_recording_rule_groups_are_microsofts_defaults_scoped_to_the_cluster(
    infra: StackJson, environment: str
) -> None:
    label = load_environment(environment).prometheus_cluster_label
    groups = {
        g["name"]: g
        for g in resources_of(infra, "azurerm_monitor_alert_prometheus_rule_group").values()
        if "RecordingRules" in g["name"]
    }
    assert sorted(groups) == sorted(f"{name}-{label}" for name in GROUP_NAMES.values())
    for key, name in GROUP_NAMES.items():
        group = groups[f"{name}-{label}"]
        assert group["cluster_name"] == label and group["interval"] == "PT1M"
        assert [r["record"] for r in group["rule"]] == [record for record, _, _ in RULE_GROUPS[key]]
        assert all("action" not in r and "severity" not in r for r in group["rule"])
    assert [len(RULE_GROUPS[key]) for key in ("node", "kubernetes")] == [11, 19]  # as in Microsoft's template
    assert len(recorded_series()) == 27  # the Kubernetes relabel record is written by 4 rules


@pytest.mark.parametrize(
    ("expr", "series"),
    [
        (
            'sum(namespace_cpu:kube_pod_container_resource_requests:sum{cluster="x"})',
            {"namespace_cpu:kube_pod_container_resource_requests:sum"},
        ),
        ('rate(node_cpu_seconds_total{mode="idle"}[5m])', set()),
        ('up{job="a:b"}', set()),  # a colon inside a label value is not a series
    ],
)
def test_recorded_series_are_found_in_queries(expr: str, series: set[str]) -> None:
    assert referenced_series({"panels": [{"targets": [{"expr": expr}]}]}) == series
