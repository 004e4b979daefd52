"""Adding an environment is one config file: the shipped config plus dev.toml and qa.toml (tests/fixtures/
four-environments) synthesizes four environments that pass the whole-app checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from config.loader import load_all, parity_pairs
from tools.checks import deployability, parity, reference_check, secret_scan
from tools.docgen import diagram, dr_runbook, evidence_matrix, handbook
from tools.maintenance import workflow_matrix

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "four-environments"
FOUR = ["dev", "qa", "staging", "production"]


def four_environment_config(target: Path) -> Path:
    """The shipped config/ (base + staging + production) and the fixture's two new overlay files."""
    target.mkdir(parents=True, exist_ok=True)
    for source in [*(PROJECT_ROOT / "config").glob("*.toml"), *FIXTURE.glob("*.toml")]:
        shutil.copy(source, target / source.name)
    return target


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from stacks.app import build_app

    config_dir = four_environment_config(tmp_path_factory.mktemp("config"))
    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(outdir=outdir, environments=load_all(config_dir)).synth()
    return config_dir, outdir


def test_environments_are_discovered_in_promotion_order(four: tuple[Path, Path]) -> None:
    config_dir, outdir = four
    configs = load_all(config_dir)
    assert [config.name for config in configs] == FOUR  # qa after dev; production after staging
    assert parity_pairs(configs) == [("qa", "production"), ("staging", "production")]
    stacks = sorted(path.name for path in (outdir / "stacks").iterdir())
    assert stacks == sorted(
        ["bootstrap", "github", *(f"{env}-{kind}" for env in FOUR for kind in ("alerting", "infra", "cluster"))]
    )


def test_each_environment_has_its_own_region_names_and_state(four: tuple[Path, Path]) -> None:
    _, outdir = four
    bootstrap = json.loads((outdir / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
    groups = [
        g for k, g in bootstrap["resource"]["azurerm_resource_group"].items() if k.startswith("qa-platform-groups")
    ]
    assert groups and {group["location"] for group in groups} <= {"westeurope", "northeurope"}
    backends = {
        env: json.loads((outdir / "stacks" / f"{env}-infra" / "cdk.tf.json").read_text())["terraform"]["backend"]
        for env in FOUR
    }
    accounts = [next(iter(backend.values()))["storage_account_name"] for backend in backends.values()]
    assert accounts == ["devtfstateerp01", "qatfstateerp01", "stgtfstateerp01", "prdtfstateerp01"]


def test_whole_app_checks_pass(four: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, outdir = four
    assert reference_check.main([str(outdir)]) == 0
    assert deployability.main([str(outdir)]) == 0
    assert secret_scan.main([str(outdir)]) == 0
    assert parity.main([str(outdir), "--pair", "qa:production", "--pair", "staging:production"]) == 0
    out = capsys.readouterr().out
    assert "parity qa ↔ production: ok" in out and "parity staging ↔ production: ok" in out


def test_workflows_follow_the_four_environments(four: tuple[Path, Path], tmp_path: Path) -> None:
    config_dir, _ = four
    workflows = tmp_path / "workflows"
    shutil.copytree(PROJECT_ROOT / ".github" / "workflows", workflows)
    # The shipped workflows list two environments: checked against four, they are stale (the failing example).
    assert workflow_matrix.main(["--config-dir", str(config_dir), "--workflows-dir", str(workflows)]) == 1
    assert workflow_matrix.main(["--config-dir", str(config_dir), "--workflows-dir", str(workflows), "--write"]) == 0
    assert workflow_matrix.main(["--config-dir", str(config_dir), "--workflows-dir", str(workflows)]) == 0
    jobs = YAML(typ="safe").load((workflows / "deploy.yml").read_text())["jobs"]
    assert jobs["dev-alerting"]["needs"] == "changes" and jobs["staging-alerting"]["needs"] == "changes"
    assert jobs["qa-alerting"]["needs"] == ["changes", "dev-cluster"]
    assert jobs["production-alerting"]["needs"] == ["changes", "staging-cluster"]
    assert jobs["qa-infra"]["needs"] == ["changes", "qa-alerting"]
    assert jobs["qa-cluster"]["needs"] == ["changes", "qa-infra"]
    matrix = YAML(typ="safe").load((workflows / "drift.yml").read_text())["jobs"]["plan"]["strategy"]["matrix"][
        "include"
    ]
    assert [row["stack"] for row in matrix] == [f"{env}-{kind}" for env in FOUR for kind in ("infra", "cluster")]


def test_generated_documents_cover_every_environment(four: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Diagrams, DR runbooks, handbooks and the evidence matrix render for the new environments too."""
    config_dir, outdir = four
    monkeypatch.setattr("config.loader.CONFIG_DIR", config_dir)  # as ERP_CONFIG_DIR would
    for environment in FOUR:
        assert diagram.environment_diagram(outdir, environment).startswith("flowchart")
        assert dr_runbook.environment_runbook(outdir, environment).strip()
        assert environment in handbook.environment_handbook(outdir, environment)
    findings = {environment: evidence_matrix.environment_findings(outdir, environment) for environment in FOUR}
    assert evidence_matrix.missing_count(findings) == 0
    assert f"| Control | Evidence | {' | '.join(FOUR)} |" in evidence_matrix.render(findings)
