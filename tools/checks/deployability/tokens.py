"""Token lifetime against the job's steps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools.checks.deployability.model import StackJson, blocks
from tools.checks.deployability.workflows import load_actions

# azure/login signs the Azure CLI in with the job's GitHub OIDC token as a federated client assertion. The CLI keeps
# that assertion and presents it again whenever it needs a token for a new audience (kubelogin `--login azurecli`
# asks it for the AKS server application's token when Terraform configures the kubernetes provider). The assertion
# expires 5 minutes after it was issued (issue #27; Entra ID then answers AADSTS700024 "Client assertion is not within
# its valid time range") and the CLI cannot renew it. azurerm and the azurerm backend with ARM_USE_OIDC request a
# fresh OIDC token themselves and are not affected.
OIDC_ASSERTION_MINUTES = 5.0
# Estimated minutes per step kind on a fresh ephemeral runner (first match wins; default 0.1 for a short `run`).
STEP_MINUTES: tuple[tuple[str, float, str], ...] = (
    (r"^uses:actions/checkout@", 0.5, "checkout"),
    (r"^uses:actions/setup-python@", 0.5, "Python from the tool cache or a download"),
    (r"^uses:hashicorp/setup-terraform@", 0.3, "Terraform download"),
    (r"^uses:azure/use-kubelogin@", 0.2, "kubelogin download"),
    (r"^uses:azure/login@", 0.2, "az login with the OIDC token"),
    (r"^uses:actions/(upload|download)-artifact@", 0.5, "artifact transfer"),
    (r"scripts/synth", 4.0, "scripts/setup on a fresh runner (hashed pip install, npm ci, checker venvs) + synth"),
    (r"scripts/setup", 3.5, "hashed pip install, npm ci, checker venvs"),
    (r"terraform init", 1.0, "provider downloads"),
    (r"terraform (plan|apply|refresh|import)", 3.0, "refresh of a few hundred resources"),
)
CLI_TOKEN_COMMANDS = re.compile(r"(^|[\s;&|(])(az|kubectl|kubelogin)\s")


def _step_key(step: Mapping[str, Any]) -> str:
    return f"uses:{step['uses']}".lower() if "uses" in step else str(step.get("run", ""))


def step_minutes(step: Mapping[str, Any]) -> float:
    key = _step_key(step)
    for pattern, minutes, _why in STEP_MINUTES:
        if re.search(pattern, key, re.IGNORECASE):
            return minutes
    return 0.1


def _expand(steps: Iterable[Mapping[str, Any]], actions: Mapping[str, list[dict[str, Any]]]) -> list[Mapping[str, Any]]:
    """Steps with the repository's composite actions (`$/…` or `./…`) replaced by their own steps."""
    expanded: list[Mapping[str, Any]] = []
    for step in steps:
        uses = str(step.get("uses", ""))
        local = uses.removeprefix("$/").removeprefix("./").rstrip("/")
        if local in actions:
            expanded += _expand(actions[local], actions)
        else:
            expanded.append(step)
    return expanded


def _terraform_needs_cli_token(stacks: Mapping[str, StackJson]) -> bool:
    """A kubernetes provider of a stack gets its token from the Azure CLI (kubelogin `--login azurecli`)."""
    for stack in stacks.values():
        for provider in stack.get("provider", {}).get("kubernetes", []):
            for exec_ in blocks(provider.get("exec")):
                args = [str(a) for a in exec_.get("args", [])]
                if "--login" in args and args[args.index("--login") + 1 : args.index("--login") + 2] == ["azurecli"]:
                    return True
    return False


def token_findings(
    workflows: Mapping[str, dict[str, Any]],
    stacks: Mapping[str, StackJson],
    actions: Mapping[str, list[dict[str, Any]]] | None = None,
) -> list[str]:
    """Jobs where a step asks the Azure CLI for a new token after the OIDC assertion azure/login gave it expired:
    the estimated minutes from the start of azure/login (when the OIDC token is issued) to the start of that step
    exceed OIDC_ASSERTION_MINUTES."""
    actions = actions if actions is not None else load_actions(Path(".github/actions"))
    terraform_uses_cli = _terraform_needs_cli_token(stacks)
    problems = []
    for file_name, workflow in sorted(workflows.items()):
        for job_name, job in (workflow.get("jobs") or {}).items():
            elapsed, login_end = 0.0, None
            for step in _expand(job.get("steps", []), actions):
                run = str(step.get("run", ""))
                needs_cli = bool(CLI_TOKEN_COMMANDS.search(run)) or (
                    terraform_uses_cli and re.search(r"terraform (plan|apply|refresh|import)", run) is not None
                )
                if login_end is not None and needs_cli and elapsed - login_end > OIDC_ASSERTION_MINUTES:
                    problems.append(
                        f"{file_name} job {job_name}: step '{step.get('name', run.splitlines()[0] if run else '?')}' "
                        f"asks the Azure CLI for a new token ~{elapsed - login_end:.1f} min after azure/login; the "
                        f"OIDC assertion it holds lives {OIDC_ASSERTION_MINUTES:.0f} min (AADSTS700024)"
                    )
                if str(step.get("uses", "")).lower().startswith("azure/login@"):
                    login_end = elapsed  # the OIDC token is requested as the step starts
                elapsed += step_minutes(step)
    return problems
