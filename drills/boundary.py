"""The one place drills reach Azure: the `az` and `kubectl` command lines, a clock and a sleep.

`Cloud` is what drills call; `CommandLineCloud` runs the real tools. Tests pass a fake that records every
call (so they can assert the teardown ran after a failure) and answers from a script.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any, Protocol


class CloudError(RuntimeError):
    """A cloud command failed (non-zero exit): the command and its error output."""


def azure_time(text: str) -> datetime.datetime:
    """A timestamp as Azure and Kubernetes print it (`...Z` or `...+00:00`), timezone-aware."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def unless_gone(step: Callable[[], object], *markers: str) -> None:
    """Run a delete; an error naming one of `markers` (already gone: the create may have failed first) is done."""
    try:
        step()
    except CloudError as error:
        if not any(marker in str(error) for marker in markers):
            raise


class Cloud(Protocol):
    def az(self, *args: str) -> Any:
        """Run `az ARGS --output json` and return the parsed output (None when it prints nothing)."""

    def kubectl(self, *args: str) -> Any:
        """Run `kubectl ARGS --output json` and return the parsed output (None when it prints nothing)."""

    def kube_credentials(self, cluster_id: str) -> None:
        """Point `kubectl` at the cluster as the signed-in identity (Entra ID through kubelogin)."""

    def now(self) -> datetime.datetime:
        """The current time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None: ...


def _run(command: list[str]) -> Any:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise CloudError(f"{' '.join(command)}: exit {completed.returncode}: {completed.stderr.strip()}")
    return json.loads(completed.stdout) if completed.stdout.strip() else None


class CommandLineCloud:
    """The real boundary: `az` signed in as the drill identity (OIDC in the workflow), `kubectl` with the
    kubeconfig `az aks get-credentials` wrote (kubelogin, Entra ID)."""

    def az(self, *args: str) -> Any:
        return _run(["az", *args, "--only-show-errors", "--output", "json"])

    def kubectl(self, *args: str) -> Any:
        return _run(["kubectl", *args, "--output", "json"])

    def kube_credentials(self, cluster_id: str) -> None:
        resource_group, name = cluster_id.split("/")[4], cluster_id.split("/")[-1]
        self.az("aks", "get-credentials", "--resource-group", resource_group, "--name", name, "--overwrite-existing")
        _run(["kubelogin", "convert-kubeconfig", "--login", "azurecli"])

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
