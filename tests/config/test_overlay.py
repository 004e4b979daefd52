"""config/base.toml + config/<environment>.toml: discovery, merge, derived values, cross-environment rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.derive import relative_address
from config.loader import ConfigError, environment_names, load_all, load_environment, raw_environment
from tools.maintenance import workflow_matrix

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "four-environments"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for source in (PROJECT_ROOT / "config").glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def test_environments_are_the_files_besides_base_in_promotion_order() -> None:
    names = environment_names()
    assert sorted(names) == sorted(p.stem for p in (PROJECT_ROOT / "config").glob("*.toml") if p.stem != "base")
    assert names.index("staging") < names.index("production")  # production: deploy_after = ["staging"]


def test_overlays_hold_only_differences() -> None:
    """A shipped overlay restates no value the base already has."""
    import tomllib

    base = tomllib.loads((PROJECT_ROOT / "config" / "base.toml").read_text())

    def same(overlay: dict, under: dict, prefix: str = "") -> list[str]:
        found = []
        for key, value in overlay.items():
            if isinstance(value, dict) and isinstance(under.get(key), dict):
                found += same(value, under[key], f"{prefix}{key}.")
            elif under.get(key) == value:
                found.append(prefix + key)
        return found

    for name in environment_names():
        overlay = tomllib.loads((PROJECT_ROOT / "config" / f"{name}.toml").read_text())
        assert same(overlay, base) == [], name


def test_derived_values() -> None:
    staging = load_environment("staging")
    assert staging.state_backend.storage_account_name == "stgtfstateerp01"
    assert staging.network.hub.firewall.address_prefix == "10.241.1.0/26"
    assert staging.network.spoke.api_server.address_prefix == "10.242.5.0/28"
    assert staging.deployment.network.private_endpoints.address_prefix == "10.240.0.192/27"
    assert staging.deployment.network.firewall_management.address_prefix == "10.240.0.128/26"
    assert staging.app_gateway.ingress_ip_address == "10.242.2.250"
    assert staging.baseline.api_server_cidrs == ("10.242.5.0/28", "172.16.0.0/16")
    assert (staging.deployment.runner.plan.label, staging.deployment.runner.apply.label) == (
        "erp-staging-plan",
        "erp-staging-apply",
    )
    assert staging.app_gateway.backend_host_name == "ingress.staging.erp.internal.example.com"
    assert (
        staging.deployment.apply_requires_approval,
        load_environment("production").deployment.apply_requires_approval,
    ) == (
        False,
        True,
    )  # the handbook's "(required reviewers)" follows config, not the name "production"
    assert relative_address("x.x.1.0/26", "10.9.0.0/16") == "10.9.1.0/26"
    assert relative_address("x.x.1.0/26", "not-a-network") == "x.x.1.0/26"  # left for validation to name


def test_overlay_tables_merge_and_arrays_replace() -> None:
    data, provenance, _ = raw_environment("staging")
    assert data["aks"]["auto_upgrade_window"] == {"day_of_week": "Sunday", "start_time": "02:00", "duration_hours": 4}
    assert len(data["aks"]["user_pools"]) == 1 and data["aks"]["user_pools"][0]["max_count"] == 5
    assert provenance[("aks", "auto_upgrade_window", "start_time")].name == "staging.toml"
    assert provenance[("aks", "auto_upgrade_window", "day_of_week")].name == "base.toml"


def test_a_bad_overlay_value_names_the_overlay(config_dir: Path) -> None:
    overlay = config_dir / "staging.toml"
    overlay.write_text(
        overlay.read_text().replace("untagged_manifest_retention_days = 7", 'untagged_manifest_retention_days = "7"')
    )
    with pytest.raises(ConfigError) as error:
        load_environment("staging", config_dir)
    message = str(error.value)
    assert message.startswith(f"{config_dir / 'staging.toml'}: invalid configuration")
    assert "  - registry.untagged_manifest_retention_days: '7' is not allowed" in message
    assert "(set in" not in message


def test_a_bad_base_value_names_the_base(config_dir: Path) -> None:
    base = config_dir / "base.toml"
    base.write_text(base.read_text().replace('sku_tier = "Standard"', 'sku_tier = "Gold"'))
    with pytest.raises(ConfigError) as error:
        load_environment("production", config_dir)
    line = base.read_text().splitlines().index('sku_tier = "Gold"') + 1
    assert (
        f"  - aks.sku_tier: 'Gold' is not allowed: Input should be 'Free', 'Standard' or 'Premium' "
        f"(set in {base}:{line})" in str(error.value)
    )


def test_a_missing_environment_value_names_the_overlay(config_dir: Path) -> None:
    overlay = config_dir / "production.toml"
    overlay.write_text(overlay.read_text().replace('short_name = "prd"\n', ""))
    with pytest.raises(ConfigError, match=r"production.toml: invalid configuration.*\n  - short_name: required key"):
        load_environment("production", config_dir)


def test_an_invalid_address_space_is_reported_once(config_dir: Path) -> None:
    """The base's relative subnets cannot resolve against it: only the overlay's address space is reported."""
    overlay = config_dir / "staging.toml"
    overlay.write_text(overlay.read_text().replace('"10.241.0.0/16"', '"10.241.0.0/33"'))
    with pytest.raises(ConfigError) as error:
        load_environment("staging", config_dir)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{overlay}: invalid configuration (1 problem)"
    assert lines[1].startswith("  - network.hub.address_space: '10.241.0.0/33' is not allowed: must be an IPv4")


def test_environment_file_names_are_validated(config_dir: Path) -> None:
    shutil.copy(config_dir / "staging.toml", config_dir / "Dev_1.toml")
    with pytest.raises(ConfigError, match=r"Dev_1.toml: the file name 'Dev_1' is not a valid environment name"):
        load_all(config_dir)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ('deploy_after = ["prod"]', r"production.toml: deploy_after: 'prod' is not allowed: no such environment"),
        (
            'parity_with = "nowhere"',
            r"staging.toml: parity_with: 'nowhere' is not allowed: must name another environment",
        ),
    ],
)
def test_references_to_other_environments_must_exist(config_dir: Path, edit: str, expected: str) -> None:
    target = config_dir / ("production.toml" if edit.startswith("deploy") else "staging.toml")
    key = edit.split(" ")[0]
    target.write_text("\n".join(line for line in target.read_text().splitlines() if not line.startswith(key)))
    target.write_text(edit + "\n" + target.read_text())
    with pytest.raises(ConfigError, match=expected):
        load_all(config_dir)


def test_promotion_cycle_is_rejected(config_dir: Path) -> None:
    staging = config_dir / "staging.toml"
    staging.write_text('deploy_after = ["production"]\n' + staging.read_text())
    # Environments that deploy after the cycle are stuck too, and named with it.
    with pytest.raises(
        ConfigError, match=r"deploy_after forms a cycle among ([\w-]+, )*production, ([\w-]+, )*staging"
    ):
        load_all(config_dir)


def test_a_new_environment_must_not_reuse_global_names_or_ranges(config_dir: Path) -> None:
    """The fixture's dev.toml with staging's short name and deployment range: both are named."""
    text = (FIXTURE / "dev.toml").read_text()
    text = text.replace('short_name = "dev"', 'short_name = "stg"').replace('"10.210.0.0/24"', '"10.240.0.0/24"')
    (config_dir / "dev.toml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_all(config_dir)
    message = str(error.value)
    dev_line = text.splitlines().index('short_name = "stg"') + 1
    assert (
        f"{config_dir / 'staging.toml'}:4: short_name: 'stg' is not allowed: already used by dev "
        f"({config_dir / 'dev.toml'}:{dev_line})" in message
    )  # both places that set it, with their lines
    assert "storage_account_name" not in message  # derived from the short name: the same mistake, reported once
    assert f"{config_dir / 'dev.toml'}: deployment.network.address_space: '10.240.0.0/24' is not allowed: overlaps" in (
        message
    )


def test_shipped_workflows_agree_with_config() -> None:
    """tools/maintenance/workflow_matrix.py --write regenerates them.

    tests/stacks/test_four_environments.py has the stale case."""
    assert workflow_matrix.main([]) == 0
