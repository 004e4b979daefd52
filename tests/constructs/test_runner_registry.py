"""constructs/runner_registry.py: each environment's runner image lives in a private Premium registry reached
through a private endpoint in the deployment network, pulled by the runners' job with a managed identity holding
AcrPull, under a tag that changes when runner-image/ changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from config.loader import ENVIRONMENTS, load_environment
from constructs.runner_registry import RUNNER_IMAGE_DIR, runner_image_tag
from stacks.app import BOOTSTRAP_STACK
from tests.conftest import resources_of


def _ref(resource_type: str, key: str, attribute: str = "id") -> str:
    return f"${{{resource_type}.{key}.{attribute}}}"


def _registries(bootstrap: dict) -> dict[str, dict]:
    return {
        key: registry
        for key, registry in resources_of(bootstrap, "azurerm_container_registry").items()
        if "runner-registry" in key
    }


def test_one_private_premium_registry_per_environment(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    registries = _registries(bootstrap)
    assert sorted(r["provider"] for r in registries.values()) == sorted(f"azurerm.{e}" for e in ENVIRONMENTS)
    for registry in registries.values():
        config = load_environment(registry["provider"].removeprefix("azurerm."))
        assert registry["name"] == f"{config.short_name}runnersacr{config.unique_suffix}"
        assert registry["sku"] == "Premium"
        assert registry["admin_enabled"] is False
        assert registry["anonymous_pull_enabled"] is False
        assert registry["public_network_access_enabled"] is False
        # ACR Tasks (az acr build) may push over the backbone; nothing else bypasses the network rules
        assert registry["network_rule_bypass_option"] == "AzureServices"
        assert registry["network_rule_bypass_for_tasks_enabled"] is True
        assert registry["data_endpoint_enabled"] is True


def test_the_registry_is_reached_through_a_private_endpoint_in_the_deployment_network(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    subnets = resources_of(bootstrap, "azurerm_subnet")
    zones = resources_of(bootstrap, "azurerm_private_dns_zone")
    links = resources_of(bootstrap, "azurerm_private_dns_zone_virtual_network_link").values()
    endpoints = resources_of(bootstrap, "azurerm_private_endpoint").values()
    for key, registry in _registries(bootstrap).items():
        config = load_environment(registry["provider"].removeprefix("azurerm."))
        [endpoint] = [
            e
            for e in endpoints
            if e["private_service_connection"]["private_connection_resource_id"]
            == _ref("azurerm_container_registry", key)
        ]
        assert endpoint["private_service_connection"]["subresource_names"] == ["registry"]
        subnet_key = endpoint["subnet_id"].split(".")[1]
        assert subnets[subnet_key]["name"] == config.deployment.network.private_endpoints.name
        vnet_key = subnets[subnet_key]["virtual_network_name"].split(".")[1]
        [zone_id] = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
        zone_key = zone_id.split(".")[1]
        assert zones[zone_key]["name"] == "privatelink.azurecr.io"
        assert [
            link
            for link in links
            if link["private_dns_zone_name"] == _ref("azurerm_private_dns_zone", zone_key, "name")
            and link["virtual_network_id"] == _ref("azurerm_virtual_network", vnet_key)
        ], "privatelink.azurecr.io is not linked to the deployment network"


def test_the_job_pulls_its_tagged_image_with_an_identity_holding_acrpull(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    assignments = resources_of(bootstrap, "azurerm_role_assignment")
    jobs = resources_of(bootstrap, "azurerm_container_app_job").values()
    registries = _registries(bootstrap)
    assert len(jobs) == 2 * len(registries) == 2 * len(ENVIRONMENTS)  # a plan and an apply pool per registry
    for job in jobs:
        config = load_environment(job["provider"].removeprefix("azurerm."))
        [(key, _)] = [(k, r) for k, r in registries.items() if r["provider"] == job["provider"]]
        server = _ref("azurerm_container_registry", key, "login_server")
        # the pull identity, and the credential identity (the App key's Key Vault reference)
        identity_id, credential_identity = job["identity"]["identity_ids"]
        assert credential_identity == job["secret"][0]["identity"] != identity_id
        assert job["identity"]["type"] == "UserAssigned"
        assert job["registry"] == [{"server": server, "identity": identity_id}]  # no password, no admin user
        tag = runner_image_tag(config.deployment.runner.version)
        for kind in ("init_container", "container"):
            [container] = job["template"][kind]
            assert container["image"] == f"{server}/github-runner:{tag}"
        principal = identity_id.removesuffix(".id}") + ".principal_id}"
        [(grant_key, pull)] = [(k, a) for k, a in assignments.items() if a["principal_id"] == principal]
        assert (pull["role_definition_name"], pull["scope"]) == ("AcrPull", _ref("azurerm_container_registry", key))
        assert f"azurerm_role_assignment.{grant_key}" in job["depends_on"]


def test_the_runner_registry_holds_nothing_worth_a_delete_lock(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    scopes = {lock["scope"] for lock in resources_of(bootstrap, "azurerm_management_lock").values()}
    assert not any(_ref("azurerm_container_registry", key) in scopes for key in _registries(bootstrap))


def test_the_tag_is_the_runner_version_and_a_hash_of_the_build_context(tmp_path: Path) -> None:
    context = tmp_path / "runner-image"
    shutil.copytree(RUNNER_IMAGE_DIR, context)
    tag = runner_image_tag("2.329.0", context)
    assert tag == runner_image_tag("2.329.0", RUNNER_IMAGE_DIR)  # content, not location
    version, digest = tag.split("-")
    assert version == "2.329.0" and len(digest) == 12
    assert runner_image_tag("2.330.0", context) == f"2.330.0-{digest}"
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("ARG TERRAFORM_VERSION=1.11.4", "ARG TERRAFORM_VERSION=1.12.0")
    )
    assert runner_image_tag("2.329.0", context) != tag  # a changed Dockerfile is a new tag
    (context / "Dockerfile").rename(context / "Containerfile")
    assert runner_image_tag("2.329.0", context) != tag  # so is a renamed file
    with pytest.raises(ValueError, match="has no files"):
        runner_image_tag("2.329.0", tmp_path / "empty")


def test_a_changed_dockerfile_changes_the_job_in_the_bootstrap_synth(tmp_path: Path, monkeypatch) -> None:
    from cdktf import App

    import constructs.runner_registry as runner_registry
    from config.loader import load_all
    from stacks.bootstrap import BootstrapStack

    def images(context: Path, outdir: Path) -> list[str]:
        monkeypatch.setattr(runner_registry.runner_image_tag, "__defaults__", (context,))
        app = App(outdir=str(outdir))
        BootstrapStack(app, BOOTSTRAP_STACK, environments=load_all())
        app.synth()
        stack = json.loads((outdir / "stacks" / BOOTSTRAP_STACK / "cdk.tf.json").read_text())
        return [j["template"]["container"][0]["image"] for j in stack["resource"]["azurerm_container_app_job"].values()]

    context = tmp_path / "runner-image"
    shutil.copytree(RUNNER_IMAGE_DIR, context)
    before = images(context, tmp_path / "before")
    (context / "entrypoint.sh").write_text((context / "entrypoint.sh").read_text() + "\n# changed\n")
    after = images(context, tmp_path / "after")
    assert len(before) == len(after) == 2 * len(ENVIRONMENTS)  # both pools' jobs
    assert all(b != a and b.rsplit("-", 1)[0] == a.rsplit("-", 1)[0] for b, a in zip(before, after, strict=True))
