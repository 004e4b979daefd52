"""The exact commands that build the runner image (runner-image/) into an environment's private registry and then
lock its tag.

    python -m tools.maintenance.runner_image staging
    # prints: az acr build --subscription ... runner-image && az acr repository update ... --write-enabled false

The tag is the one the bootstrap stack's Container Apps job pulls (`constructs/runner_registry.py`
`runner_image_tag`: the runner version from `[deployment.runner] version` and a hash of runner-image/), so after a
change to runner-image/ the operator builds this tag, then applies bootstrap (docs/zero-to-running.md, step 2).
ACR Tasks builds it in Azure: no Docker on the workstation, and the registry keeps public network access off
(Tasks push through the trusted-services bypass that `network_rule_bypass_for_tasks_enabled` allows).

Why a locked tag and not a digest: the job pulls `<registry>/github-runner:<tag>`, and the digest exists only after
this build, which on the first bootstrap runs after the job is created (docs/zero-to-running.md, step 2). A digest in
the synthesized job would need a second commit and apply per build and would fail day one. Instead the tag names the
content (a hash of runner-image/) and `--write-enabled false` makes it immutable in the registry: a push to it, a
rebuild included, is refused and a delete too, so the tag keeps naming the one manifest that was built (unlocking
needs a registry write role, which only the operators hold).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from config.loader import ENVIRONMENTS, load_environment
from runtime.jsii_runtime import use_project_node

use_project_node()  # importing anything under constructs/ loads the constructs library, which starts jsii
from constructs.deployment import deployment_names  # noqa: E402
from constructs.image_pins import digest_of  # noqa: E402
from constructs.naming import Naming  # noqa: E402
from constructs.runner_registry import (  # noqa: E402
    RUNNER_IMAGE_DIR,
    RUNNER_IMAGE_REPOSITORY,
    runner_image_tag,
    runner_registry_name,
)

PLATFORM = "linux/amd64"  # Container Apps runs amd64 images only
BASE_IMAGE = "ghcr.io/actions/actions-runner"  # runner-image/Dockerfile's FROM, at the configured version


def base_digest(version: str) -> str:
    """The digest reference/image_digests.json records for GitHub's runner image at `version`; the build stops
    without one rather than build on whatever the tag names today."""
    digest = digest_of(f"{BASE_IMAGE}:{version}")
    if digest is None:
        raise SystemExit(
            f"reference/image_digests.json records no digest for {BASE_IMAGE}:{version}: add it with its source "
            "(docs/security-model.md 'Supply chain: images by digest'), then build"
        )
    return digest


def build_command(environment: str) -> list[str]:
    config = load_environment(environment)
    naming = Naming(config.short_name, config.unique_suffix)
    version = config.deployment.runner.version
    return [
        "az", "acr", "build",
        "--subscription", config.subscription_id,
        "--resource-group", deployment_names(naming, config.deployment).resource_group,
        "--registry", runner_registry_name(naming),
        "--image", f"{RUNNER_IMAGE_REPOSITORY}:{runner_image_tag(version)}",
        "--build-arg", f"RUNNER_VERSION={version}",
        "--build-arg", f"RUNNER_DIGEST={base_digest(version)}",
        "--platform", PLATFORM,
        RUNNER_IMAGE_DIR.name,  # the build context, relative to the repository root (run it from there)
    ]  # fmt: skip


def lock_command(environment: str) -> list[str]:
    """Makes the tag just built immutable: no push over it, no delete (ACR's per-image write/delete lock)."""
    config = load_environment(environment)
    naming = Naming(config.short_name, config.unique_suffix)
    return [
        "az", "acr", "repository", "update",
        "--subscription", config.subscription_id,
        "--name", runner_registry_name(naming),
        "--image", f"{RUNNER_IMAGE_REPOSITORY}:{runner_image_tag(config.deployment.runner.version)}",
        "--write-enabled", "false",
        "--delete-enabled", "false",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environment", choices=ENVIRONMENTS)
    args = parser.parse_args(argv)
    print(f"{shlex.join(build_command(args.environment))} && {shlex.join(lock_command(args.environment))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
