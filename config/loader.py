"""Discover, merge and validate the environments: config/base.toml + config/<environment>.toml.

Every `*.toml` in the config folder except `base.toml` is an environment; its file name is its name.
An environment file is an overlay on `base.toml`: tables merge key by key, any other value (scalars,
arrays, arrays of tables) replaces the base's. Values derivable from others (config/derive.py) are
computed when neither file sets them. Every failure becomes a ConfigError whose message names the
file that set the bad key (the overlay, or the base), the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.base import KeyedValueError
from config.derive import Unresolved, derive
from config.network import overlapping_environments
from config.schema import ENVIRONMENT_NAME, ENVIRONMENT_NAME_LENGTH, EnvironmentConfig

# ERP_CONFIG_DIR points the app at another folder of <environment>.toml files (tests, previews). The functions
# below read CONFIG_DIR when called (not as a default argument), so a test may point it elsewhere.
CONFIG_DIR = Path(os.environ.get("ERP_CONFIG_DIR") or Path(__file__).resolve().parent)
BASE_FILE = "base.toml"
# Identifiers that differ per organisation may come from the environment instead of the file.
ENV_OVERRIDES = {"subscription_id": "SUBSCRIPTION_ID", "tenant_id": "TENANT_ID"}

Provenance = dict[tuple[str, ...], Path]


class ConfigError(Exception):
    """A config file is missing, unreadable or invalid. The message is meant for the operator."""


def override_variable(environment: str, key: str) -> str:
    return f"ERP_{environment.upper().replace('-', '_')}_{ENV_OVERRIDES[key]}"


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def _record(data: Any, path: Path, prefix: tuple[str, ...], provenance: Provenance) -> None:
    provenance[prefix] = path
    if isinstance(data, dict):
        for key, value in data.items():
            _record(value, path, (*prefix, key), provenance)


def merge(base: dict[str, Any], overlay: dict[str, Any], overlay_path: Path, provenance: Provenance) -> dict[str, Any]:
    """Overlay onto base: tables merge key by key, everything else replaces. `provenance` learns who set what."""

    def walk(mine: dict[str, Any], theirs: dict[str, Any], prefix: tuple[str, ...]) -> dict[str, Any]:
        merged = dict(mine)
        for key, value in theirs.items():
            here = (*prefix, key)
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                provenance[here] = overlay_path
                merged[key] = walk(merged[key], value, here)
            else:
                for stale in [known for known in provenance if known[: len(here)] == here]:
                    del provenance[stale]
                _record(value, overlay_path, here, provenance)
                merged[key] = value
        return merged

    return walk(base, overlay, ())


def blame(provenance: Provenance, location: Sequence[str], default: Path) -> Path:
    """The file that set the key at `location` (its nearest recorded ancestor; `default` when unknown)."""
    for length in range(len(location), 0, -1):
        found = provenance.get(tuple(location[:length]))
        if found is not None:
            return found
    return default


def _describe(
    errors: Sequence[ErrorDetails],
    path: Path,
    provenance: Provenance | None = None,
    unresolved: Unresolved | None = None,
) -> str:
    # A relative address whose address space is itself reported adds nothing: the space is the one to fix.
    reported = {tuple(str(part) for part in error["loc"]) for error in errors}
    errors = [
        error for error in errors if (unresolved or {}).get(tuple(str(part) for part in error["loc"])) not in reported
    ]
    lines = [f"{path}: invalid configuration ({len(errors)} problem{'s' if len(errors) > 1 else ''})"]
    for error in errors:
        location = [str(part) for part in error["loc"]]
        cause = error.get("ctx", {}).get("error")
        keyed = cause if isinstance(cause, KeyedValueError) else None
        if keyed is not None:  # a rule across keys blames one of them
            location = [*location, *keyed.key.split(".")]
        source = blame(provenance or {}, location, path) if error["type"] != "missing" else path
        where = "" if source == path else f" (set in {source})"
        key = ".".join(location) or "(top level)"
        if keyed is not None:
            lines.append(f"  - {key}: {keyed.value!r} is not allowed: {keyed}{where}")
        elif error["type"] == "missing":
            lines.append(f"  - {key}: required key is missing")
        elif error["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key (check the spelling against config/schema.py){where}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"  - {key}: {error['input']!r} is not allowed: {message}{where}")
    return "\n".join(lines)


def _as_tuples(value: Any) -> Any:
    """TOML arrays become tuples: config models are immutable, and strict mode accepts only tuples."""
    if isinstance(value, dict):
        return {key: _as_tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_as_tuples(item) for item in value)
    return value


def parse_environment(
    data: dict[str, Any], path: Path, provenance: Provenance | None = None, unresolved: Unresolved | None = None
) -> EnvironmentConfig:
    """Validate already-merged data; `path` (the overlay), `provenance` and `unresolved` only shape error messages."""
    try:
        return EnvironmentConfig.model_validate(_as_tuples(data))
    except ValidationError as error:
        raise ConfigError(_describe(error.errors(include_url=False), path, provenance, unresolved)) from None


def environment_names(config_dir: Path | None = None) -> tuple[str, ...]:
    """Every environment file's name, in promotion order (config `deploy_after`; ties by name)."""
    config_dir = config_dir or CONFIG_DIR
    names = sorted(path.stem for path in config_dir.glob("*.toml") if path.name != BASE_FILE)
    for name in names:
        shortest, longest = ENVIRONMENT_NAME_LENGTH
        if not re.fullmatch(ENVIRONMENT_NAME, name) or not shortest <= len(name) <= longest:
            raise ConfigError(
                f"{config_dir / (name + '.toml')}: the file name {name!r} is not a valid environment name: "
                f"must match {ENVIRONMENT_NAME} (lowercase letters, digits and single hyphens, at most 20 characters)"
            )
    after = {name: _read(config_dir / f"{name}.toml").get("deploy_after", []) for name in names}
    return _promotion_order(after, config_dir)


def _promotion_order(after: dict[str, Any], config_dir: Path) -> tuple[str, ...]:
    """Kahn's algorithm over deploy_after; ties resolved by name so the order is deterministic."""
    for name, predecessors in after.items():
        unknown = [p for p in predecessors if p not in after] if isinstance(predecessors, list) else []
        if unknown:
            raise ConfigError(
                f"{config_dir / (name + '.toml')}: deploy_after: {unknown[0]!r} is not allowed: "
                f"no such environment; allowed: {', '.join(sorted(set(after) - {name}))}"
            )
    remaining = {name: set(p) if isinstance(p, list) else set() for name, p in after.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, waits in remaining.items() if not waits - set(order))
        if not ready:
            raise ConfigError(
                f"{config_dir}: deploy_after forms a cycle among {', '.join(sorted(remaining))}; "
                "allowed: an order in which every environment deploys after the ones it names"
            )
        order.append(ready[0])
        del remaining[ready[0]]
    return tuple(order)


def _discover_quietly() -> tuple[str, ...]:
    """The environments for tools and tests at import time; a broken folder is reported by load_all instead."""
    try:
        return environment_names()
    except ConfigError:
        return tuple(sorted(path.stem for path in CONFIG_DIR.glob("*.toml") if path.name != BASE_FILE))


ENVIRONMENTS = _discover_quietly()


def raw_environment(environment: str, config_dir: Path | None = None) -> tuple[dict[str, Any], Provenance, Unresolved]:
    """The merged, derived (not yet validated) data of one environment, which file set each key, and the relative
    addresses left unresolved (config/derive.py)."""
    config_dir = config_dir or CONFIG_DIR
    path = config_dir / f"{environment}.toml"
    provenance: Provenance = {}
    base_path = config_dir / BASE_FILE
    base = _read(base_path) if base_path.exists() else {}
    _record(base, base_path, (), provenance)
    del provenance[()]
    data = merge(base, _read(path), path, provenance)
    for key in ENV_OVERRIDES:
        value = os.environ.get(override_variable(environment, key))
        if value:
            data[key] = value
            provenance[(key,)] = Path(f"${override_variable(environment, key)}")
    data.setdefault("name", environment)
    unresolved = derive(data)
    return data, provenance, unresolved


def load_environment(environment: str, config_dir: Path | None = None) -> EnvironmentConfig:
    config_dir = config_dir or CONFIG_DIR
    known = environment_names(config_dir) if config_dir.is_dir() else ()
    path = config_dir / f"{environment}.toml"
    if environment not in known and not path.exists():
        raise ConfigError(f"unknown environment {environment!r}; allowed: {', '.join(known) or '(none)'}")
    data, provenance, unresolved = raw_environment(environment, config_dir)
    config = parse_environment(data, path, provenance, unresolved)
    if config.name != environment:
        raise ConfigError(f"{path}: name: {config.name!r} is not allowed: must be {environment!r} (the file's name)")
    return config


def _unique(configs: Sequence[EnvironmentConfig], config_dir: Path, key: str, value_of: Any) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for config in configs:
        value = value_of(config)
        if value in seen:
            problems.append(
                f"{config_dir / (config.name + '.toml')}: {key}: {value!r} is not allowed: already used by "
                f"{seen[value]} (must be unique across environments)"
            )
        seen.setdefault(value, config.name)
    return problems


def _deployment_networks_apart(configs: Sequence[EnvironmentConfig], config_dir: Path) -> list[str]:
    """Deployment networks are peered with their environment's spoke: none may overlap another environment's ranges."""
    problems = []
    for config in configs:
        mine = ipaddress.IPv4Network(config.deployment.network.address_space)
        for other in configs:
            if other.name == config.name:
                continue
            ranges = {f"network.{key}": value for key, value in other.network.address_spaces().items()}
            if other.name > config.name:
                ranges["deployment.network.address_space"] = other.deployment.network.address_space
            for key, value in ranges.items():
                if mine.overlaps(ipaddress.IPv4Network(value)):
                    problems.append(
                        f"{config_dir / (config.name + '.toml')}: deployment.network.address_space: "
                        f"{config.deployment.network.address_space!r} is not allowed: overlaps "
                        f"{config_dir / (other.name + '.toml')}: {key} {value}"
                    )
    return problems


def load_all(config_dir: Path | None = None) -> list[EnvironmentConfig]:
    config_dir = config_dir or CONFIG_DIR
    names = environment_names(config_dir)
    if not names:
        raise ConfigError(f"{config_dir}: no environment files (<environment>.toml besides {BASE_FILE})")
    configs = [load_environment(environment, config_dir) for environment in names]
    problems = overlapping_environments({config_dir / f"{config.name}.toml": config.network for config in configs})
    holders = [config.name for config in configs if config.deployment.holds_bootstrap_state]
    if len(holders) > 1:
        problems.append(
            f"{config_dir}: deployment.holds_bootstrap_state is true in {', '.join(holders)}; "
            "allowed: true in at most one environment (the bootstrap stack has one state)"
        )
    # Globally unique Azure names (constructs/naming.py) are built from short_name and unique_suffix.
    problems += _unique(configs, config_dir, "short_name", lambda c: c.short_name)
    problems += _unique(configs, config_dir, "unique_suffix", lambda c: c.short_name + c.unique_suffix)
    problems += _unique(
        configs, config_dir, "state_backend.storage_account_name", lambda c: c.state_backend.storage_account_name
    )
    problems += _deployment_networks_apart(configs, config_dir)
    # One GitHub App per environment: a staging key must register no production runner (docs/security-model.md).
    problems += _unique(
        configs, config_dir, "deployment.runner.github_app.app_id", lambda c: str(c.deployment.runner.github_app.app_id)
    )
    for config in configs:
        partner = config.parity_with
        if partner is not None and (partner not in names or partner == config.name):
            problems.append(
                f"{config_dir / (config.name + '.toml')}: parity_with: {partner!r} is not allowed: "
                f"must name another environment; allowed: {', '.join(n for n in names if n != config.name)}"
            )
    if problems:
        raise ConfigError("\n".join(problems))
    return configs


def parity_pairs(configs: Sequence[EnvironmentConfig]) -> list[tuple[str, str]]:
    """The declared (environment, counterpart) parity pairs, in promotion order."""
    return [(config.name, config.parity_with) for config in configs if config.parity_with is not None]
