"""Config files load, and bad input ends in a ConfigError naming the file, key, value and rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import ENVIRONMENTS, ConfigError, load_environment, override_variable, parse_environment

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def copy_config(target: Path) -> None:
    """The shipped config folder (base + overlays), to edit in a test."""
    for source in (PROJECT_ROOT / "config").glob("*.toml"):
        shutil.copy(source, target / source.name)


STAGING = Path("config/staging.toml")


def test_every_environment_file_is_valid(environment: str) -> None:
    config = load_environment(environment)
    assert config.name == environment


def test_environments_use_separate_subscriptions_and_state_accounts() -> None:
    configs = [load_environment(name) for name in ENVIRONMENTS]
    assert len({config.subscription_id for config in configs}) == len(configs)
    assert len({config.state_backend.storage_account_name for config in configs}) == len(configs)


def test_subscription_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    guid = "12345678-1234-1234-1234-123456789abc"
    monkeypatch.setenv(override_variable("staging", "subscription_id"), guid)
    assert load_environment("staging").subscription_id == guid


def set_key(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set (or with DELETE remove) a dotted key; numeric parts index arrays ("aks.user_pools.0.min_count")."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    if value is DELETE:
        del data[leaf]
    else:
        data[leaf] = value


class _Delete:
    """Sentinel: remove the key. Its repr is part of test ids, so it must not be a memory address."""

    def __repr__(self) -> str:
        return "<deleted>"


DELETE = _Delete()


def assert_rejected(data: dict[str, Any], changes: dict[str, Any], key: str, value: Any, expected: str) -> None:
    """Applying `changes` makes the config invalid with a message that blames `key`, shows `value` and says why."""
    for dotted, new_value in changes.items():
        set_key(data, dotted, new_value)
    with pytest.raises(ConfigError) as error:
        parse_environment(data, Path("config/test.toml"))
    message = str(error.value)
    assert f"  - {key}" in message, message
    assert expected in message, message
    if value is not DELETE:
        assert f"{value!r} is not allowed" in message, message


def staging_rejection(raw_config: Callable[[str], dict[str, Any]], key: str, value: Any, expected: str) -> str:
    """staging.toml with `key` set to `value` fails to load, naming the file, then the key, and saying `expected`;
    returns the message for further checks."""
    data = raw_config("staging")
    set_key(data, key, value)
    with pytest.raises(ConfigError) as error:
        parse_environment(data, STAGING)
    message = str(error.value)
    assert message.startswith(f"{STAGING}: invalid configuration")
    assert f"  - {key}" in message  # the file, then the key
    assert expected in message
    return message


BAD_INPUTS = [
    # (key, bad value, words the message must contain)
    ("name", "Prod", "pattern"),
    ("deploy_after", "staging", "valid tuple"),
    ("parity_with", 7, "valid string"),
    ("location", "mars-north", "Input should be"),
    ("paired_location", "eastus", "must differ from location"),
    ("subscription_id", "not-a-guid", "GUID"),
    ("tenant_id", 42, "valid string"),
    ("short_name", "STAGING", "pattern"),
    ("unique_suffix", "x", "pattern"),
    ("tags.owner", "nobody", "pattern"),
    ("tags.data_classification", "secret", "'public', 'internal', 'confidential' or 'restricted'"),
    ("tags.cost_center", DELETE, "required key is missing"),
    ("state_backend.storage_account_name", "Has-Capitals", "pattern"),
    ("state_backend.replication", "LRS", "'GZRS' or 'RAGZRS'"),
    ("state_backend.allowed_ip_ranges", ["10.0.0.0/8"], "unknown key"),  # no public exception to the state
    ("state_backend.unknown_setting", True, "unknown key"),
    ("aks.system_pool.node_count", 2, "greater than or equal to 3"),
    ("aks.system_pool.node_count", "3", "valid integer"),
    ("aks.admin_group_object_ids", [], "at least 1"),
    ("aks.admin_group_object_ids", ["not-a-guid"], "GUID"),
    ("aks.sku_tier", "Gold", "'Free', 'Standard' or 'Premium'"),
    ("cluster_access.kubelogin_login", "devicecode", "'azurecli', 'workloadidentity' or 'msi'"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_INPUTS, ids=[f"{k}={v!r}" for k, v, _ in BAD_INPUTS])
def test_bad_value_is_reported_with_file_key_and_rule(
    raw_config: Callable[[str], dict[str, Any]], key: str, value: Any, expected: str
) -> None:
    message = staging_rejection(raw_config, key, value, expected)
    if value is not DELETE and key not in ("state_backend.unknown_setting", "state_backend.allowed_ip_ranges"):
        shown = value[0] if isinstance(value, list) and value else value
        assert repr(tuple(shown) if isinstance(shown, list) else shown) in message


def test_all_problems_are_reported_at_once(raw_config: Callable[[str], dict[str, Any]]) -> None:
    data = raw_config("production")
    data["location"] = "nowhere"
    data["tags"]["owner"] = "x"
    with pytest.raises(ConfigError, match=r"\(2 problems\)"):
        parse_environment(data, STAGING)


def test_unknown_environment_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match="allowed: staging, production"):
        load_environment("dev")


def test_file_name_and_environment_name_must_agree(tmp_path: Path) -> None:
    copy_config(tmp_path)
    (tmp_path / "staging.toml").write_text('name = "production"\n' + (tmp_path / "staging.toml").read_text())
    with pytest.raises(ConfigError, match="must be 'staging'"):
        load_environment("staging", tmp_path)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'staging'; allowed: \(none\)"):
        load_environment("staging", tmp_path)
    (tmp_path / "staging.toml").write_text("name = [unclosed")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_environment("staging", tmp_path)


def test_main_exits_non_zero_without_traceback_on_bad_config(tmp_path: Path) -> None:
    copy_config(tmp_path)
    base = tmp_path / "base.toml"
    base.write_text(base.read_text().replace('location = "eastus"', 'location = "atlantis"'))
    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=PROJECT_ROOT,
        env={"ERP_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{tmp_path}/staging.toml" in result.stderr and "location: 'atlantis'" in result.stderr
    assert f"(set in {tmp_path}/base.toml:" in result.stderr  # the bad value is the base's: the message says so
