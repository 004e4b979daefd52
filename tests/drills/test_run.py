"""`python -m drills.run`: the names it reads from the real synthesized stacks, which drills it runs where,
and that results are published (and the exit code says failure) even when every drill fails."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.loader import load_environment
from drills import run
from drills.boundary import CloudError
from drills.results import STREAM
from tests.conftest import StackJson
from tests.drills.conftest import FakeCloud, option


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_targets_are_literal_names_read_from_the_synthesized_stack(
    stacks: dict[str, StackJson], environment: str
) -> None:
    config = load_environment(environment)
    found = run.targets(config, stacks[f"{environment}-infra"])
    text = strings(json.loads(json.dumps(found, default=lambda o: o.__dict__ if hasattr(o, "__dict__") else str(o))))
    assert text and not [s for s in text if "${" in s]
    assert found.postgres.scratch_resource_group.endswith("dr-drill-rg-001")
    assert found.postgres.geo_endpoint_subnet_id.split("/resourceGroups/")[1].startswith(
        f"{config.short_name}-dr-networking-rg"
    )
    assert found.postgres.geo_key_id and found.postgres.geo_key_id.startswith("https://")
    assert found.blobs.container == config.data.storage.containers[0]
    assert found.aks.sample_namespace in {ns for ns in config.baseline.namespaces}  # a namespace that exists
    assert found.results_rule_name.startswith(f"{config.short_name}-dr-drills")
    assert found.capture is not None and found.capture.container == config.data.event_hubs.capture_container
    assert found.capture.account_name == f"{config.short_name}appst{config.unique_suffix}"  # the geo-redundant one
    assert found.capture.hubs == tuple((h.name, h.partition_count) for h in config.data.event_hubs.event_hubs)
    assert found.capture.namespace.startswith(f"{config.short_name}-") and "secondary" not in found.capture.namespace
    assert found.capture.rpo_target.total_seconds() == config.recovery.rpo_hours * 3600


def test_production_refuses_the_failover_without_an_approval_and_runs_it_with_one() -> None:
    production, staging = load_environment("production"), load_environment("staging")
    assert run.selected(production, [], None) == list(production.recovery.drills.enabled)
    assert "event_hubs_failover" not in run.selected(production, [], None)
    with pytest.raises(SystemExit, match="event_hubs_failover disrupts production"):
        run.selected(production, ["event_hubs_failover"], None)
    assert run.selected(production, ["event_hubs_failover"], "CHG-1 (jane)") == ["event_hubs_failover"]
    assert "event_hubs_failover" in run.selected(staging, [], None)
    with pytest.raises(SystemExit, match="unknown drill"):
        run.selected(staging, ["postgres_pitr"], None)


def test_results_are_published_even_when_every_drill_fails(stacks: dict[str, StackJson], tmp_path: Any) -> None:
    cloud = FakeCloud()

    def broken(args: tuple[str, ...]) -> Any:
        raise CloudError("az: exit 1: (AuthorizationFailed)")

    for prefix in ("az account", "az storage", "az dataprotection", "az keyvault", "az eventhubs"):
        cloud.handlers[prefix] = broken
    cloud.handlers["az monitor data-collection endpoint show"] = lambda args: {
        "logsIngestion": {"endpoint": "https://dce.eastus-1.ingest.monitor.azure.com"}
    }
    cloud.handlers["az monitor data-collection rule show"] = lambda args: {"immutableId": "dcr-0123"}
    synth = tmp_path / "stacks" / "staging-infra"
    synth.mkdir(parents=True)
    (synth / "cdk.tf.json").write_text(json.dumps(stacks["staging-infra"]))
    code = run.main(["--environment", "staging", "--synth", str(tmp_path), "--run-id", "t1"], cloud=cloud)
    assert code == 1
    (post,) = [cloud.calls[i] for i in cloud.called("az rest --method post")]
    assert option(post, "--url") == (
        f"https://dce.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123/streams/{STREAM}"
        "?api-version=2023-01-01"
    )
    rows = json.loads(option(post, "--body"))
    assert [r["Drill"] for r in rows] == list(load_environment("staging").recovery.drills.enabled)
    assert all(r["Succeeded"] is False and r["RunId"] == "t1" for r in rows)
