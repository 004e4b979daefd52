"""Real plan JSON from the installed Terraform, with no provider download: configurations of Terraform's built-in
`terraform_data` resource are applied to local state, changed and planned, and the plan shown with
`terraform show -json`. Tests of the plan summary and the pull-request comment read these instead of
hand-written JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

TERRAFORM = shutil.which("terraform")


def _terraform(workdir: Path, *args: str) -> str:
    assert TERRAFORM, "terraform is not installed (scripts/setup documents the version)"
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": os.devnull,
        "TF_DATA_DIR": str(workdir / ".terraform-data"),
    }
    completed = subprocess.run(
        [TERRAFORM, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, f"terraform {' '.join(args)}: {completed.stderr}"
    return completed.stdout


def plan_json(workdir: Path, before: str, after: str) -> dict[str, Any]:
    """Apply `before` (HCL), then plan `after` against that state: the plan's `terraform show -json` output."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(before)
    _terraform(workdir, "init", "-input=false")
    if before.strip():
        _terraform(workdir, "apply", "-auto-approve", "-input=false")
    (workdir / "main.tf").write_text(after)
    _terraform(workdir, "plan", "-input=false", "-out=tfplan")
    return json.loads(_terraform(workdir, "show", "-json", "tfplan"))


# A stack before and after a change that updates, replaces, deletes and creates resources and changes outputs.
BEFORE = """
resource "terraform_data" "kept" { input = "a" }
resource "terraform_data" "changed" { input = "v1" }
resource "terraform_data" "replaced" {
  input            = "x"
  triggers_replace = "r1"
}
resource "terraform_data" "deleted" { input = "d" }
output "aks_host" { value = "https://aks-1.example" }
output "retired" { value = "old" }
"""
AFTER = """
resource "terraform_data" "kept" { input = "a" }
resource "terraform_data" "changed" { input = "v2" }
resource "terraform_data" "replaced" {
  input            = "x"
  triggers_replace = "r2"
}
resource "terraform_data" "created" { input = "n" }
output "aks_host" { value = "https://aks-2.example" }
output "added" { value = "new" }
"""


def changing_plan(workdir: Path) -> dict[str, Any]:
    return plan_json(workdir, BEFORE, AFTER)


def drifted_plan(workdir: Path) -> dict[str, Any]:
    """A real plan whose `terraform_data.changed` also changed outside Terraform.

    terraform_data's refresh never differs from state, and no other provider is reachable offline, so Terraform
    cannot produce `resource_drift` here. Terraform's JSON output format documents `resource_drift` as the same
    representation as `resource_changes`; the drift entry is the real plan's own update of that resource.
    """
    plan = changing_plan(workdir)
    [update] = [change for change in plan["resource_changes"] if change["address"] == "terraform_data.changed"]
    plan["resource_drift"] = [json.loads(json.dumps(update))]
    return plan
