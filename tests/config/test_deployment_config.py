"""Bad deployment settings end in a ConfigError naming the key, the value and the rule (config/deployment.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import ENVIRONMENTS, ConfigError, load_all
from tests.config.test_loader import DELETE, staging_rejection

# (key under [deployment] or a top-level key, bad value, words the message must contain)
BAD_INPUTS = [
    ("deployment.repository.owner", "-org", "pattern"),
    ("deployment.repository.name", "erp platform", "pattern"),
    ("deployment.repository", DELETE, "required key is missing"),
    ("deployment.network.address_space", "10.240.0.0/13", "overlaps network.hub.address_space 10.241.0.0/16"),
    ("deployment.network.runners.address_prefix", "10.240.0.0/28", "must be /27 or larger"),
    ("deployment.network.runners.address_prefix", "10.99.0.0/25", "must lie inside the address space"),
    ("deployment.network.private_endpoints.address_prefix", "10.240.0.0/27", "overlaps runners.address_prefix"),
    # the runners' firewall (Azure Firewall Basic): names fixed by Azure, /26 or larger each
    ("deployment.network.firewall.name", "firewall-subnet", "named exactly 'AzureFirewallSubnet'"),
    ("deployment.network.firewall_management.name", "mgmt", "named exactly 'AzureFirewallManagementSubnet'"),
    ("deployment.network.firewall.address_prefix", "10.240.0.64/27", "AzureFirewallSubnet must be /26 or larger"),
    (
        "deployment.network.firewall_management.address_prefix",
        "10.240.0.128/27",
        "AzureFirewallManagementSubnet must be /26 or larger",
    ),
    ("deployment.network.firewall_management.address_prefix", "10.240.0.0/26", "overlaps runners.address_prefix"),
    ("deployment.network.firewall_management", DELETE, "required key is missing"),
    ("deployment.network.runners.name", "AzureFirewallManagementSubnet", "reserved by Azure"),
    ("deployment.runner.version", "latest", "should match pattern '^[0-9]+\\.[0-9]+\\.[0-9]+$'"),
    ("deployment.runner.version", "2.329", "should match pattern"),
    ("deployment.runner.version", 2.329, "valid string"),
    ("deployment.runner.image", "registry.company.com/platform/github-actions-runner:2.329.0-1", "unknown key"),
    ("deployment.runner.github_app", DELETE, "required key is missing"),
    ("deployment.runner.github_app.app_id", 0, "greater than or equal to 1"),
    ("deployment.runner.github_app.app_id", "1000001", "valid integer"),
    ("deployment.runner.github_app.installation_id", DELETE, "required key is missing"),
    ("deployment.runner.github_app.installation_id", -5, "greater than or equal to 1"),
    ("deployment.runner.github_app.private_key", "-----BEGIN RSA PRIVATE KEY-----", "unknown key"),  # never in config
    ("deployment.runner.labels", ["erp-staging"], "unknown key"),  # one label per pool now
    ("deployment.runner.plan", DELETE, "required key is missing"),
    ("deployment.runner.apply.label", "erp staging", "should match pattern"),
    ("deployment.runner.apply.label", "erp-staging-plan", "must differ from plan.label"),
    ("deployment.runner.plan.max_executions", 0, "greater than or equal to 1"),
    ("deployment.runner.apply.cpu_cores", 8, "less than or equal to 4"),
    ("deployment.runner.plan.timeout_minutes", "60", "valid integer"),
    ("deployment.runner.github_app.key_secret_name", "a/b", "should match pattern"),
    ("deployment.operators_group_object_id", "operators", "lowercase GUID"),
    ("deployment.operators_group_object_id", DELETE, "required key is missing"),
    ("deployment.holds_bootstrap_state", "yes", "valid boolean"),
    # who guards the repository (the github stack)
    ("deployment.repository.approver_teams", [], "at least 1"),
    ("deployment.repository.approver_teams", ["a", "b", "c", "d", "e", "f", "g"], "at most 6"),
    ("deployment.repository.approver_teams", ["Release Approvers"], "must be a team slug"),
    ("deployment.repository.approver_teams", ["ops", "ops"], "must not repeat a team"),
    ("deployment.repository.approver_teams", DELETE, "required key is missing"),
    ("deployment.repository.code_owner_team", "@example-org/platform", "should match pattern"),
    ("deployment.repository.required_approvals", 0, "greater than or equal to 1"),
    ("deployment.secret_token", "x", "unknown key"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_INPUTS, ids=[f"{k}={v!r}" for k, v, _ in BAD_INPUTS])
def test_bad_deployment_value_is_reported(
    raw_config: Callable[[str], dict[str, Any]], key: str, value: Any, expected: str
) -> None:
    staging_rejection(raw_config, key, value, expected)


def test_both_files_are_valid_and_runners_scale_from_zero(raw_config: Callable[[str], dict[str, Any]]) -> None:
    for config in load_all():
        assert config.deployment.runner.plan.label == f"erp-{config.name}-plan"
        assert config.deployment.runner.apply.label == f"erp-{config.name}-apply"
        assert config.deployment.holds_bootstrap_state is False  # the documented first run keeps it local


def test_only_one_environment_may_hold_bootstrap_state(tmp_path: Path) -> None:
    for path in Path("config").glob("*.toml"):
        text = path.read_text()
        (tmp_path / path.name).write_text(text.replace("holds_bootstrap_state = false", "holds_bootstrap_state = true"))
    with pytest.raises(
        ConfigError, match=rf"holds_bootstrap_state is true in {', '.join(ENVIRONMENTS)}; allowed: true in at most one"
    ):
        load_all(tmp_path)


def test_one_holder_is_fine(tmp_path: Path) -> None:
    for source in Path("config").glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    path = tmp_path / "production.toml"  # an overlay: it sets only its own difference
    text = path.read_text()
    assert text.count("[deployment]\n") == 1  # the overlay's own table: add the key there (TOML: one table, once)
    path.write_text(text.replace("[deployment]\n", "[deployment]\nholds_bootstrap_state = true\n"))
    assert [c.name for c in load_all(tmp_path) if c.deployment.holds_bootstrap_state] == ["production"]
