"""The drills workflow: its schedule is the config's, it runs as the drill identity's GitHub environment on
the environment's runners with least permissions and a timeout, and its command runs as the workflow runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from config.loader import load_all, load_environment
from config.recovery import DRILLS
from constructs.drills import oidc_subject
from tools.maintenance import workflow_matrix

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "dr-drills.yml"


def workflow() -> dict:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def schedule_mismatches(crons: list[str], environments: tuple[str, ...] = ("staging", "production")) -> list[str]:
    return [
        f"{name}: recovery.drills runs at '{load_environment(name).recovery.drills.cron}', the workflow at {crons}"
        for name in environments
        if load_environment(name).recovery.drills.cron not in crons
    ]


def test_the_schedule_is_the_configured_weekly_start() -> None:
    crons = [entry["cron"] for entry in workflow()["on"]["schedule"]]
    assert schedule_mismatches(crons) == []
    assert schedule_mismatches(["0 3 * * 1"]) == [
        "staging: recovery.drills runs at '30 5 * * 2', the workflow at ['0 3 * * 1']",
        "production: recovery.drills runs at '30 5 * * 2', the workflow at ['0 3 * * 1']",
    ]


def test_the_job_runs_as_the_drill_identity_on_the_environments_runners_with_least_permissions() -> None:
    flow = workflow()
    assert flow["permissions"] == {}
    (job,) = flow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["environment"] == "${{ matrix.environment }}-drills"
    assert oidc_subject(load_environment("staging").deployment.repository, "staging").endswith(
        ":environment:staging-drills"
    )
    assert job["runs-on"] == ["self-hosted", "erp-${{ matrix.environment }}-apply"]  # deployability checks the label
    assert 0 < job["timeout-minutes"] <= 360
    assert job["strategy"]["max-parallel"] == 1  # staging before production, never both at once
    login = next(step for step in job["steps"] if step.get("uses", "").endswith("terraform-azure"))
    assert login["with"]["client-id"] == "${{ vars.AZURE_DRILLS_CLIENT_ID }}"  # not the plan or apply identity
    options = flow["on"]["workflow_dispatch"]["inputs"]["drill"]["options"]
    assert options == ["", *DRILLS]


def test_the_drill_command_runs_as_the_workflow_runs_it() -> None:
    (job,) = workflow()["jobs"].values()
    command = job["steps"][-1]["run"].replace("--synth cdktf.out", "--synth cdktf.out --help")
    for drill in ("", "aks_restore"):
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env={"ENVIRONMENT": "production", "DRILL": drill, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "--approved-by" in result.stdout


def test_the_environments_come_from_config_and_a_stale_workflow_fails(tmp_path: Path) -> None:
    """The schedule, the scheduled matrix and the manual choices are generated (workflow_matrix --write)."""
    flow = workflow()
    names = [config.name for config in load_all()]
    assert flow["on"]["workflow_dispatch"]["inputs"]["environment"]["options"] == names
    (job,) = flow["jobs"].values()
    assert f"'{json.dumps(names, separators=(',', ':'))}'" in job["strategy"]["matrix"]["environment"]
    workflows = tmp_path / "workflows"
    shutil.copytree(WORKFLOW.parent, workflows)
    stale = workflows / WORKFLOW.name
    stale.write_text(WORKFLOW.read_text().replace('\'["staging","production"]\'', "'[\"staging\"]'"))
    assert workflow_matrix.main(["--workflows-dir", str(workflows)]) == 1  # production would never be drilled
    assert workflow_matrix.main(["--workflows-dir", str(workflows), "--write"]) == 0
    assert stale.read_text() == WORKFLOW.read_text()


def test_environments_with_different_weekly_starts_get_a_cron_each_and_drill_only_when_theirs_fires() -> None:
    staging, production = (load_environment(name) for name in ("staging", "production"))
    drills = production.recovery.drills.model_copy(update={"weekday": "thursday", "time_utc": "06:15"})
    production = production.model_copy(update={"recovery": production.recovery.model_copy(update={"drills": drills})})
    assert workflow_matrix.drill_schedules([staging, production], "") == (
        '- cron: "30 5 * * 2" # staging: recovery.drills weekday/time_utc\n'
        '- cron: "15 6 * * 4" # production: recovery.drills weekday/time_utc\n'
    )
    assert workflow_matrix.drill_matrix([staging, production], "") == (
        "environment: ${{ fromJSON(github.event_name == 'schedule' && (github.event.schedule == '30 5 * * 2' && "
        "'[\"staging\"]' || '[\"production\"]') || format('[\"{0}\"]', inputs.environment)) }}\n"
    )
