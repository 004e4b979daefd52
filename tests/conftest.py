"""Shared fixtures: the whole app is synthesized once per test session and read back as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from runtime import fast_import, framework
from runtime.jsii_runtime import use_project_node

use_project_node()  # before the first cdktf import starts the jsii kernel
framework.use_selected()  # cdktf, or CDK Terrain with ERP_FRAMEWORK=cdktn (docs/cdk-terrain.md)
fast_import.enable()  # provider submodules imported on first use (docs/performance.md)

from config.loader import ENVIRONMENTS, load_environment, raw_environment  # noqa: E402
from config.schema import EnvironmentConfig  # noqa: E402
from tests import run_cache  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

StackJson = dict[str, Any]


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole app's output: synthesized here, or by an earlier step of the `scripts/test ci` run from the same
    inputs (tests/run_cache.py; that step proved the Python 3.13 synth byte-identical to it)."""
    key = run_cache.synth_key(framework.selected())
    if (stored := run_cache.cached_tree(key)) is not None:
        return stored
    from stacks.app import build_app  # imports the framework and providers: only when synthesizing

    outdir = tmp_path_factory.mktemp("cdktf.out")
    build_app(outdir=outdir).synth()
    run_cache.offer_tree(key, outdir)
    return outdir


@pytest.fixture(scope="session", autouse=True)
def _checker_reports_once() -> Iterator[None]:
    """checkov and detect-secrets run once per input: the same stack bytes are scanned by the checkov tests, the
    guard table's cases and every step of `scripts/test ci` (tests/run_cache.py)."""
    from tools.checks import checkov_gate, secret_scan

    def lock(tool: str) -> str:
        return (ROOT / "requirements-tools" / f"{tool}.lock").read_text()

    run_checkov, types_with_checks = checkov_gate.run_checkov, checkov_gate.types_with_checks
    scan_detect_secrets = secret_scan.scan_detect_secrets

    def checkov_list() -> list[str]:
        return sorted(types_with_checks())

    def checkov(stack_file: Path) -> dict[str, Any]:
        inputs = ["checkov", lock("checkov"), checkov_gate.CONFIG_FILE.read_text(), stack_file.read_bytes()]
        return run_cache.cached(run_cache.digest(inputs), lambda: run_checkov(stack_file))

    def checked_types() -> frozenset[str]:
        return frozenset(run_cache.cached(run_cache.digest(["checkov --list", lock("checkov")]), checkov_list))

    def detect_secrets(root: Path) -> list[secret_scan.Finding]:
        inputs = [
            "detect-secrets",
            lock("detect-secrets"),
            secret_scan.CDKTF_IDENTIFIER_LINES,
            run_cache.folder_digest(root),
        ]
        found = run_cache.cached(run_cache.digest(inputs), lambda: [asdict(f) for f in scan_detect_secrets(root)])
        return [secret_scan.Finding(**finding) for finding in found]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkov_gate, "run_checkov", checkov)
        patch.setattr(checkov_gate, "types_with_checks", checked_types)
        patch.setattr(secret_scan, "scan_detect_secrets", detect_secrets)
        yield


@pytest.fixture(scope="session")
def stacks(synth_dir: Path) -> dict[str, StackJson]:
    """Every synthesized stack's cdk.tf.json, by stack name."""
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted((synth_dir / "stacks").glob("*/cdk.tf.json"))
    }


def resources_of(stack: StackJson, resource_type: str) -> dict[str, dict[str, Any]]:
    """All resources of one type in a synthesized stack (empty dict when there are none)."""
    return stack.get("resource", {}).get(resource_type, {})


def waited_dependencies(stack: StackJson, resource: dict[str, Any]) -> list[str]:
    """`resource`'s depends_on without its propagation wait, after checking the wait (`after_access`) starts after
    exactly the role assignments the resource depends on."""
    depends_on = resource.get("depends_on", [])
    grants = sorted(d for d in depends_on if d.startswith("azurerm_role_assignment."))
    [wait] = [d.removeprefix("time_sleep.") for d in depends_on if d.startswith("time_sleep.")]
    assert sorted(resources_of(stack, "time_sleep")[wait]["depends_on"]) == grants
    return [d for d in depends_on if not d.startswith("time_sleep.")]


def only_resource(stack: StackJson, resource_type: str) -> dict[str, Any]:
    found = resources_of(stack, resource_type)
    assert len(found) == 1, f"expected exactly one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


@pytest.fixture
def raw_config() -> Callable[[str], dict[str, Any]]:
    """A fresh, mutable copy of an environment's merged data (config/base.toml + overlay), for bad-input tests."""

    def load(environment: str) -> dict[str, Any]:
        return raw_environment(environment)[0]

    return load


@pytest.fixture(params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def config(environment: str) -> EnvironmentConfig:
    """The environment's validated config."""
    return load_environment(environment)


@pytest.fixture
def infra(stacks: dict[str, StackJson], environment: str) -> StackJson:
    """The environment's synthesized infra stack (`<environment>-infra`) from the whole app."""
    return stacks[f"{environment}-infra"]
