"""The workflows run each stack's plan and apply on the environment's runners with its own identities; one pool
per role (a pull request's code never runs where an apply runs); loaders of the workflows and composite actions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools.checks.deployability.model import StackJson, blocks, resources_of, runners


def load_actions(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """`.github/actions/<name>` -> the composite action's steps."""
    from ruamel.yaml import YAML

    found = {}
    for path in sorted(directory.glob("*/action.y*ml")):
        action = YAML(typ="safe").load(path.read_text())
        found[f".github/actions/{path.parent.name}"] = list((action.get("runs") or {}).get("steps") or [])
    return found


def load_workflows(directory: Path) -> dict[str, dict[str, Any]]:
    from ruamel.yaml import YAML

    return {path.name: YAML(typ="safe").load(path.read_text()) for path in sorted(directory.glob("*.yml"))}


def _substitute(value: str, context: Mapping[str, str]) -> str:
    """`${{ matrix.x }}` / `${{ inputs.x }}` replaced by the variant's value (the rest left as written)."""
    return re.sub(
        r"\$\{\{\s*(?:matrix|inputs)\.([A-Za-z0-9_-]+)\s*\}\}",
        lambda match: str(context.get(match.group(1), match.group(0))),
        value,
    )


def _value_of(job: Mapping[str, Any], workflow: Mapping[str, Any], value: str) -> str:
    """`${{ env.X }}` replaced by the job's (or workflow's) env X."""
    match = re.fullmatch(r"\$\{\{\s*env\.([A-Z0-9_]+)\s*\}\}", value.strip())
    if not match:
        return value
    return str((job.get("env") or {}).get(match.group(1), (workflow.get("env") or {}).get(match.group(1), value)))


def is_azure_login(step: Mapping[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return uses.startswith("azure/login@") or uses.endswith("/.github/actions/terraform-azure")


def _variants(file_name: str, job: Mapping[str, Any], workflows: Mapping[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The values a job runs with: one per matrix row, or per caller (`uses: $/.github/workflows/<file>`'s `with`)
    of a reusable workflow; `{}` when it has neither."""
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    rows = matrix.get("include") or []
    if rows:
        return [{str(k): str(v) for k, v in row.items()} for row in rows]
    if isinstance(matrix, dict) and "environment" in matrix:  # a computed list of environments: each may run
        from config.loader import ENVIRONMENTS

        return [{"environment": environment} for environment in ENVIRONMENTS]
    callers = [
        {str(k): str(v) for k, v in (caller.get("with") or {}).items()}
        for workflow in workflows.values()
        for caller in (workflow.get("jobs") or {}).values()
        if str(caller.get("uses", "")).endswith(f".github/workflows/{file_name}")
    ]
    return callers or [{}]


def workflow_findings(workflows: Mapping[str, dict[str, Any]], stacks: Mapping[str, StackJson]) -> list[str]:
    """Jobs that run Terraform with Azure credentials run on their environment's pool with the right identity.

    A job that signs in to Azure (azure/login, or the repository's `terraform-azure` action) must `runs-on`
    `[self-hosted, erp-<env>-plan]` with a `*PLAN_CLIENT_ID` variable when it runs in a `<env>-plan` GitHub
    environment (deploy plans, drift) or outside any (pull-request plans: the read-only identity), and
    `[self-hosted, erp-<env>-apply]` with `*APPLY_CLIENT_ID` in the `<env>` environment (applies behind its
    reviewers). Matrix rows and the callers of a reusable workflow are resolved: each variant is checked.
    (Whether bootstrap registers both pools: `runner_pool_findings`.)
    """
    del stacks  # the pools themselves: runner_pool_findings
    problems = []
    for file_name, workflow in sorted(workflows.items()):
        for job_name, job in (workflow.get("jobs") or {}).items():
            logins = [step for step in job.get("steps", []) if is_azure_login(step)]
            if not logins:
                continue
            for context in _variants(file_name, job, workflows):
                problems += _variant_findings(f"{file_name} job {job_name}", job, workflow, logins, context)
    return problems


def _variant_findings(
    job_where: str,
    job: Mapping[str, Any],
    workflow: Mapping[str, Any],
    logins: list[Mapping[str, Any]],
    context: Mapping[str, str],
) -> list[str]:
    """One variant (matrix row, caller) of a job that signs in: its pool, and each login's client id variable."""
    from tools.maintenance.workflow_matrix import runner_labels

    runs_on = job.get("runs-on")
    labels = [runs_on] if isinstance(runs_on, str) else [str(label) for label in runs_on or []]
    labels = [_substitute(label, context) for label in labels]
    environment = _substitute(str(job.get("environment", "")), context)
    target = context.get("environment") or environment.removesuffix("-plan")
    where = job_where + (f" ({context.get('stack', target)})" if context else "")
    problems = []
    if "self-hosted" not in labels:
        problems.append(f"{where}: logs in to Azure but runs on {labels}, not the self-hosted runners")
    role = "apply" if environment and not environment.endswith("-plan") else "plan"
    target = target.removesuffix("-drills")
    wanted = runner_labels(target)[role] if target else None
    if [label for label in labels if label != "self-hosted"] != [wanted]:
        problems.append(f"{where}: runs-on {labels}, not the {role} pool [self-hosted, {wanted}]")
    # the restore drills sign in with their own identity (constructs/drills.py)
    expected = "DRILLS_CLIENT_ID" if environment.endswith("-drills") else f"{role.upper()}_CLIENT_ID"
    for step in logins:
        raw = _value_of(job, workflow, str((step.get("with") or {}).get("client-id", "")))
        client_id = _substitute(raw, context)
        used = set(re.findall(r"vars\.([A-Z0-9_]+)", client_id))
        if not used or not all(name.endswith(expected) for name in used):
            problems.append(f"{where}: azure/login client-id {client_id!r} is not a vars.*{expected}")
    return problems


def runner_pool_findings(bootstrap: StackJson, environments: Iterable[str]) -> list[str]:
    """Each environment's plan and apply pools are registered by bootstrap, each with its own label (and so never
    one runner for both: a pull request's code must not run where an apply runs)."""
    from tools.maintenance.workflow_matrix import runner_labels

    registered = {label for runner in runners(bootstrap).values() for label in runner.labels}
    problems = []
    for environment in sorted(environments):
        for role, label in runner_labels(environment).items():
            if label not in registered:
                problems.append(f"{environment}: no runner pool registers the {role} label {label!r}")
    for job in resources_of(bootstrap, "azurerm_container_app_job").values():  # each job is one pool
        labels = [
            label
            for scale in blocks(job["event_trigger_config"]["scale"])
            for rule in blocks(scale["rules"])
            for label in rule["metadata"]["labels"].split(",")
        ]
        roles = [label for label in labels if label.endswith(("-plan", "-apply"))]
        if len(roles) > 1:
            problems.append(f"{job['provider'].removeprefix('azurerm.')}: one runner pool takes both {roles}")
    return problems
