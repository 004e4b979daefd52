"""The platform resource groups moved from the infra stacks to bootstrap (constructs/platform_groups.py): bootstrap
creates them (importing the ones an environment already has), the infra stacks forget theirs without destroying
them, and Terraform itself agrees that the `removed` blocks as synthesized forget rather than destroy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cdktf import App, TerraformStack
from cdktf import Testing as CdktfTesting
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider

from config.loader import ENVIRONMENTS, load_environment
from constructs.migrations import PLATFORM_GROUPS_BEFORE
from constructs.platform_groups import PlatformGroups, PlatformGroupsProps, platform_groups
from tests.conftest import resources_of

TERRAFORM = shutil.which("terraform")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_bootstrap_owns_the_groups_and_adopts_the_existing_ones(stacks, environment: str) -> None:
    config = load_environment(environment)
    bootstrap = stacks["bootstrap"]
    prefix = f"{environment}-platform-groups_"
    created = {k: g for k, g in resources_of(bootstrap, "azurerm_resource_group").items() if k.startswith(prefix)}
    expected = platform_groups(config)
    assert {(g["name"], g["location"]) for g in created.values()} == {(g.name, g.location) for g in expected.values()}
    imports = {block["to"]: block["id"] for block in bootstrap.get("import", []) if prefix in block["to"]}
    assert config.deployment.adopt_platform_groups  # both environments existed before the move
    assert imports == {
        f"azurerm_resource_group.{k}": f"/subscriptions/{config.subscription_id}/resourceGroups/{g['name']}"
        for k, g in created.items()
    }
    assert all(block["provider"] == f"azurerm.{environment}" for block in bootstrap["import"] if prefix in block["to"])


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_infra_stack_forgets_its_old_groups_and_uses_bootstraps_by_name(stacks, environment: str) -> None:
    infra = stacks[f"{environment}-infra"]
    assert "azurerm_resource_group" not in infra["resource"]
    assert infra["removed"] == [
        {"from": address, "lifecycle": {"destroy": False}} for _, address in sorted(PLATFORM_GROUPS_BEFORE.items())
    ]
    names = {g.name for g in platform_groups(load_environment(environment)).values()}
    used = {
        str(body["resource_group_name"])
        for bodies in infra["resource"].values()
        for body in bodies.values()
        if "resource_group_name" in body and not str(body["resource_group_name"]).startswith("${")
    }
    deployment_group = f"{load_environment(environment).short_name}-deployment-rg-001"
    assert used - {deployment_group} <= names  # every literal group is bootstrap's (or the runners', for peering)
    assert "azurerm_resource_group" not in json.dumps(infra["resource"])  # no reference to a group it lost


def _construct_json(adopt: bool) -> dict:
    config = load_environment("staging")
    stack = TerraformStack(App(), "groups")
    provider = AzurermProvider(stack, "azurerm", features=[{}])
    PlatformGroups(
        stack,
        "groups",
        props=PlatformGroupsProps(
            groups=platform_groups(config), subscription_id=config.subscription_id, adopt=adopt, provider=provider
        ),
    )
    return json.loads(CdktfTesting.synth(stack))


def test_a_new_environment_creates_its_groups_without_import_blocks() -> None:
    new, adopting = _construct_json(adopt=False), _construct_json(adopt=True)
    assert "import" not in new  # an import of a group that does not exist would fail the first bootstrap
    assert len(new["resource"]["azurerm_resource_group"]) == len(adopting["import"]) == len(PLATFORM_GROUPS_BEFORE)


def _terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_DATA_DIR": str(workdir / ".tf"), "PATH": "/usr/bin"}
    return subprocess.run([str(TERRAFORM), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)


def test_terraform_forgets_the_removed_addresses_and_destroys_nothing(stacks, tmp_path: Path) -> None:
    """The infra stack's `removed` blocks, as synthesized, run through the installed Terraform against a state that
    holds the old addresses (Terraform's built-in `terraform_data` stands in for azurerm: no provider download)."""
    if TERRAFORM is None:  # a proof that cannot run fails, as the other Terraform-backed tests do
        pytest.fail("terraform (>= 1.7, for `removed` blocks) must be on PATH (docs/development.md)")
    blocks = stacks["staging-infra"]["removed"]
    stand_in = [{**b, "from": b["from"].replace("azurerm_resource_group.", "terraform_data.")} for b in blocks]
    before = {"resource": {"terraform_data": {b["from"].split(".", 1)[1]: {"input": "group"} for b in stand_in}}}
    config = tmp_path / "main.tf.json"
    config.write_text(json.dumps(before))
    for args in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        assert _terraform(tmp_path, *args).returncode == 0
    config.write_text(json.dumps({"removed": stand_in}))
    planned = _terraform(tmp_path, "plan", "-input=false", "-out=tfplan")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(_terraform(tmp_path, "show", "-json", "tfplan").stdout)
    actions = {change["address"]: change["change"]["actions"] for change in plan["resource_changes"]}
    assert actions == {b["from"]: ["forget"] for b in stand_in}
    # the failing example: the same blocks with destroy = true would delete every group
    config.write_text(json.dumps({"removed": [{**b, "lifecycle": {"destroy": True}} for b in stand_in]}))
    assert _terraform(tmp_path, "plan", "-input=false", "-out=tfplan").returncode == 0
    plan = json.loads(_terraform(tmp_path, "show", "-json", "tfplan").stdout)
    assert {tuple(c["change"]["actions"]) for c in plan["resource_changes"]} == {("delete",)}
