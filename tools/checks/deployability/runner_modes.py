"""The runners take jobs: every container of a runner job calls a mode runner-image/entrypoint.sh implements, and
one of them starts the runner."""

from __future__ import annotations

from collections.abc import Mapping

from tools.checks.deployability.model import StackJson, blocks, resources_of
from tools.checks.runner_entrypoint import Mode
from tools.checks.runner_entrypoint import modes as entrypoint_modes


def runner_mode_findings(bootstrap: StackJson, modes: Mapping[str, Mode] | None = None) -> list[str]:
    """Every container of every runner job calls a mode runner-image/entrypoint.sh implements (its args' first word;
    `modes` defaults to the script's own), and some container of the job runs the runner (a mode that runs jobs)."""
    implemented = entrypoint_modes() if modes is None else modes
    problems: list[str] = []
    for job_key, job in sorted(resources_of(bootstrap, "azurerm_container_app_job").items()):
        where = f"bootstrap: runner job {job.get('name', job_key)}"
        called, unknown = [], []
        for kind in ("init_container", "container"):
            for container in blocks(job["template"].get(kind)):
                args = [str(arg) for arg in container.get("args") or []]
                mode = implemented.get(args[0]) if args else None
                if mode is None:
                    unknown.append(
                        f"{where}: {kind} {container.get('name')} calls runner-entrypoint.sh {' '.join(args)!r}, a "
                        f"mode runner-image/entrypoint.sh does not implement ({', '.join(sorted(implemented))})"
                    )
                else:
                    called.append(mode)
        problems += unknown
        if not unknown and not any(mode.runs_jobs for mode in called):
            problems.append(f"{where}: no container runs the runner (a mode that starts run.sh): it takes no job")
    return problems
