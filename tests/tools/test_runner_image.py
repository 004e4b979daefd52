"""tools/maintenance/runner_image.py prints the `az acr build` that pushes exactly the image the bootstrap job pulls,
then the lock that makes that tag immutable."""

from __future__ import annotations

import shlex

import pytest

from config.loader import ENVIRONMENTS, load_environment
from constructs.image_pins import digest_of
from stacks.app import BOOTSTRAP_STACK
from tests.conftest import resources_of
from tools.maintenance.runner_image import BASE_IMAGE, base_digest, build_command, lock_command, main


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_command_builds_the_tag_the_job_pulls_into_the_environments_registry(stacks, environment: str) -> None:
    config = load_environment(environment)
    command = build_command(environment)
    assert command[:3] == ["az", "acr", "build"]
    options = dict(zip(command[3:-1:2], command[4:-1:2], strict=True))
    assert command[-1] == "runner-image"  # the build context
    assert options["--subscription"] == config.subscription_id
    version = config.deployment.runner.version
    build_args = [
        value for option, value in zip(command[3:-1:2], command[4:-1:2], strict=True) if option == "--build-arg"
    ]
    # The base by the digest recorded for that version (runner-image/Dockerfile's FROM).
    assert build_args == [f"RUNNER_VERSION={version}", f"RUNNER_DIGEST={digest_of(f'{BASE_IMAGE}:{version}')}"]
    assert build_args[1].startswith("RUNNER_DIGEST=sha256:")
    assert options["--platform"] == "linux/amd64"
    bootstrap = stacks[BOOTSTRAP_STACK]
    [(key, registry)] = [
        (k, r)
        for k, r in resources_of(bootstrap, "azurerm_container_registry").items()
        if r["provider"] == f"azurerm.{environment}"
    ]
    assert options["--registry"] == registry["name"]
    groups = {
        f"${{azurerm_resource_group.{k}.name}}": g["name"]
        for k, g in resources_of(bootstrap, "azurerm_resource_group").items()
    }
    assert options["--resource-group"] == groups[registry["resource_group_name"]]
    jobs = [
        j
        for j in resources_of(bootstrap, "azurerm_container_app_job").values()
        if j["provider"] == registry["provider"]
    ]
    assert len(jobs) == 2  # the plan and the apply pool: both (and their register init containers) pull the tag
    for job in jobs:
        for kind in ("init_container", "container"):
            image = job["template"][kind][0]["image"]
            assert image == f"${{azurerm_container_registry.{key}.login_server}}/{options['--image']}"


def test_a_runner_version_without_a_recorded_base_digest_stops_the_build() -> None:
    with pytest.raises(SystemExit, match=r"records no digest for ghcr.io/actions/actions-runner:2.999.0"):
        base_digest("2.999.0")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_tag_just_built_is_locked_against_overwrite_and_delete(environment: str) -> None:
    build, lock = build_command(environment), lock_command(environment)
    assert lock[:4] == ["az", "acr", "repository", "update"]
    options = dict(zip(lock[4::2], lock[5::2], strict=True))
    assert options["--name"] == build[build.index("--registry") + 1]
    assert options["--image"] == build[build.index("--image") + 1]  # the tag the job pulls (test above)
    assert options["--subscription"] == build[build.index("--subscription") + 1]
    assert options["--write-enabled"] == "false" and options["--delete-enabled"] == "false"


def test_the_cli_prints_one_shell_line_and_refuses_an_unknown_environment(capsys) -> None:
    assert main(["staging"]) == 0
    first, second = capsys.readouterr().out.strip().split(" && ")
    assert shlex.split(first) == build_command("staging")  # the lock runs only after a successful build
    assert shlex.split(second) == lock_command("staging")
    with pytest.raises(SystemExit):
        main(["dev"])
    assert "invalid choice: 'dev'" in capsys.readouterr().err
