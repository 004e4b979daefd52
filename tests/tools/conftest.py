"""Real Terraform plan JSON for the review tools: Terraform plans a config of built-in `terraform_data`
resources (no provider download), first from empty state, then against applied state with
create/update/replace/delete, and (in another state) with `moved`, `import` and `removed` blocks and a
sensitive value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIRST = """
resource "terraform_data" "kept" { input = "same" }
resource "terraform_data" "updated" { input = "v1" }
resource "terraform_data" "replaced" { triggers_replace = ["v1"] }
resource "terraform_data" "deleted" { input = "gone soon" }
"""
SECOND = """
resource "terraform_data" "kept" { input = "same" }
resource "terraform_data" "updated" { input = "v2" }
resource "terraform_data" "replaced" { triggers_replace = ["v2"] }
resource "terraform_data" "created" { input = "new" }
"""

STATE_FIRST = """
resource "terraform_data" "old_name" { input = "moving" }
resource "terraform_data" "forgotten" { input = "stays in Azure" }
resource "terraform_data" "secret" { input = sensitive("s3cret-v1") }
"""
STATE_SECOND = """
resource "terraform_data" "new_name" { input = "moving" }
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}
removed {
  from = terraform_data.forgotten
  lifecycle {
    destroy = false
  }
}
import {
  to = terraform_data.imported
  id = "existing-id"
}
resource "terraform_data" "imported" { input = "adopted" }
resource "terraform_data" "secret" { input = sensitive("s3cret-v2") }
"""


def terraform(workdir: Path, *args: str) -> str:
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "TF_DATA_DIR": str(workdir / ".terraform-data"),
        "TF_PLUGIN_CACHE_DIR": str(workdir / ".plugin-cache"),
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": os.devnull,
    }
    completed = subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, f"terraform {' '.join(args)} failed:\n{completed.stderr}"
    return completed.stdout


def real_plan(workdir: Path) -> dict:
    terraform(workdir, "plan", "-input=false", "-lock=false", "-out=tfplan")
    return json.loads(terraform(workdir, "show", "-json", "tfplan"))


@pytest.fixture(scope="session")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Paths of `terraform show -json` output: "initial" (4 creates), "changed" (one of each resource
    action) and "state_actions" (a move, an import, a forget and a sensitive update)."""
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH (install Terraform >= 1.5, which has terraform_data)")
    workdir = tmp_path_factory.mktemp("terraform")
    (workdir / ".plugin-cache").mkdir()
    (workdir / "main.tf").write_text(FIRST)
    terraform(workdir, "init", "-input=false", "-backend=false")
    initial = real_plan(workdir)
    terraform(workdir, "apply", "-input=false", "-lock=false", "tfplan")
    (workdir / "main.tf").write_text(SECOND)
    changed = real_plan(workdir)
    state_dir = tmp_path_factory.mktemp("terraform-state-actions")
    (state_dir / ".plugin-cache").mkdir()
    (state_dir / "main.tf").write_text(STATE_FIRST)
    terraform(state_dir, "init", "-input=false", "-backend=false")
    terraform(state_dir, "apply", "-input=false", "-lock=false", "-auto-approve")
    (state_dir / "main.tf").write_text(STATE_SECOND)
    state_actions = real_plan(state_dir)
    paths = {
        "initial": workdir / "initial.json",
        "changed": workdir / "changed.json",
        "state_actions": state_dir / "state_actions.json",
    }
    paths["initial"].write_text(json.dumps(initial))
    paths["changed"].write_text(json.dumps(changed))
    paths["state_actions"].write_text(json.dumps(state_actions))
    return paths
