"""Load and validate config/<environment>.toml into an EnvironmentConfig.

Every failure becomes a ConfigError whose message names the file, the key path, the bad value and
what is allowed, so main.py can print it and exit non-zero without a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.base import KeyedValueError
from config.network import overlapping_environments
from config.schema import EnvironmentConfig

# ERP_CONFIG_DIR points the app at another folder of <environment>.toml files (tests, previews).
CONFIG_DIR = Path(os.environ.get("ERP_CONFIG_DIR") or Path(__file__).resolve().parent)
ENVIRONMENTS = ("staging", "production")
# Identifiers that differ per organisation may come from the environment instead of the file.
ENV_OVERRIDES = {"subscription_id": "SUBSCRIPTION_ID", "tenant_id": "TENANT_ID"}


class ConfigError(Exception):
    """A config file is missing, unreadable or invalid. The message is meant for the operator."""


def override_variable(environment: str, key: str) -> str:
    return f"ERP_{environment.upper()}_{ENV_OVERRIDES[key]}"


def _describe(errors: Sequence[ErrorDetails], path: Path) -> str:
    lines = [f"{path}: invalid configuration ({len(errors)} problem{'s' if len(errors) > 1 else ''})"]
    for error in errors:
        location = [str(part) for part in error["loc"]]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, KeyedValueError):  # a rule across keys blames one of them
            key = ".".join([*location, cause.key])
            lines.append(f"  - {key}: {cause.value!r} is not allowed: {cause}")
            continue
        key = ".".join(location) or "(top level)"
        if error["type"] == "missing":
            lines.append(f"  - {key}: required key is missing")
            continue
        if error["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key (check the spelling against config/schema.py)")
            continue
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  - {key}: {error['input']!r} is not allowed: {message}")
    return "\n".join(lines)


def _as_tuples(value: Any) -> Any:
    """TOML arrays become tuples: config models are immutable, and strict mode accepts only tuples."""
    if isinstance(value, dict):
        return {key: _as_tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_as_tuples(item) for item in value)
    return value


def parse_environment(data: dict[str, Any], path: Path) -> EnvironmentConfig:
    """Validate already-parsed TOML data; `path` is only used in error messages."""
    try:
        return EnvironmentConfig.model_validate(_as_tuples(data))
    except ValidationError as error:
        raise ConfigError(_describe(error.errors(include_url=False), path)) from None


def load_environment(environment: str, config_dir: Path = CONFIG_DIR) -> EnvironmentConfig:
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {environment!r}; allowed: {', '.join(ENVIRONMENTS)}")
    path = config_dir / f"{environment}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    for key in ENV_OVERRIDES:
        value = os.environ.get(override_variable(environment, key))
        if value:
            data[key] = value
    config = parse_environment(data, path)
    if config.name != environment:
        raise ConfigError(f"{path}: name: {config.name!r} is not allowed: must be {environment!r} (the file's name)")
    return config


def load_all(config_dir: Path = CONFIG_DIR) -> list[EnvironmentConfig]:
    configs = [load_environment(environment, config_dir) for environment in ENVIRONMENTS]
    problems = overlapping_environments({config_dir / f"{config.name}.toml": config.network for config in configs})
    holders = [config.name for config in configs if config.deployment.holds_bootstrap_state]
    if len(holders) > 1:
        problems.append(
            f"{config_dir}: deployment.holds_bootstrap_state is true in {', '.join(holders)}; "
            "allowed: true in at most one environment (the bootstrap stack has one state)"
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return configs
