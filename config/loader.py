"""Discover, merge and validate the environments: config/base.toml + config/<environment>.toml.

Every `*.toml` in the config folder except `base.toml` is an environment; its file name is its name.
An environment file is an overlay on `base.toml`: tables merge key by key, any other value (scalars,
arrays, arrays of tables) replaces the base's. Values derivable from others (config/derive.py) are
computed when neither file sets them. Every failure becomes a ConfigError whose message names the
file that set the bad key (the overlay, or the base), the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.base import KeyedValueError
from config.derive import Unresolved, derive
from config.locate import key_line
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


def _fields_at(location: Sequence[str]) -> list[str]:
    """The keys the schema allows in the table at `location` (empty when it is not a table of a model)."""
    model: Any = EnvironmentConfig
    for part in location:
        if part.isdigit():
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
    return sorted(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation (`Model`, `Model | None`, `tuple[Model, ...]`, `dict[str, Model]`)."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_of(argument)
        if found is not None:
            return found
    return None


def _where(source: Path, path: Path, location: Sequence[str]) -> str:
    """` (file:line)` for the overlay itself, ` (set in file:line)` for another file (the base, a variable)."""
    line = key_line(source, tuple(location))
    place = f"{source}:{line}" if line else str(source)
    if source == path:
        return f" ({place})" if line else ""
    return f" (set in {place})"


def _loc(error: ErrorDetails) -> tuple[str, ...]:
    return tuple(str(part) for part in error["loc"])


def _one_per_mistake(errors: Sequence[ErrorDetails], unresolved: Unresolved | None) -> list[ErrorDetails]:
    """Drop the errors that only repeat another: a relative address whose address space is reported (the space
    is the one to fix), and a value derived from a reported key (`{short_name}-...` left unresolved)."""
    reported = {_loc(error) for error in errors}
    return [
        error
        for error in errors
        if (unresolved or {}).get(_loc(error)) not in reported
        and not (
            isinstance(error.get("input"), str)
            and any((name,) in reported for name in re.findall(r"\{(\w+)\}", error["input"]))
        )
    ]


def _suggestions(errors: Sequence[ErrorDetails]) -> tuple[dict[tuple[str, ...], str], set[tuple[str, ...]]]:
    """For each unknown key, the closest allowed key; and the `missing` errors such a typo explains (a misspelt
    required key is one mistake: reported as the unknown key with its suggestion)."""
    suggestions: dict[tuple[str, ...], str] = {}
    explained: set[tuple[str, ...]] = set()
    missing = {_loc(error) for error in errors if error["type"] == "missing"}
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        location = _loc(error)
        candidates = _fields_at(location[:-1])
        absent = [name for name in candidates if (*location[:-1], name) in missing]
        close = difflib.get_close_matches(location[-1], absent or candidates, n=1, cutoff=0.6)
        if close:
            suggestions[location] = close[0]
            if close[0] in absent:
                explained.add((*location[:-1], close[0]))
    return suggestions, explained


def _problem(error: ErrorDetails, path: Path, provenance: Provenance, suggestion: str | None) -> str:
    location = list(_loc(error))
    cause = error.get("ctx", {}).get("error")
    keyed = cause if isinstance(cause, KeyedValueError) else None
    if keyed is not None:  # a rule across keys blames one of them
        location = [*location, *keyed.key.split(".")]
    key = ".".join(location) or "(top level)"
    if error["type"] == "missing":  # the overlay is where an environment must add it
        return f"  - {key}: required key is missing{_where(path, path, location[:-1]) if location[:-1] else ''}"
    where = _where(blame(provenance, location, path), path, location)
    if keyed is not None:
        return f"  - {key}: {keyed.value!r} is not allowed: {keyed}{where}"
    if error["type"] == "extra_forbidden":
        allowed = _fields_at(location[:-1])
        if suggestion:
            return f"  - {key}: unknown key (did you mean {suggestion!r}?){where}"
        listed = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"  - {key}: unknown key (check the spelling against config/schema.py{listed}){where}"
    return f"  - {key}: {error['input']!r} is not allowed: {error['msg'].removeprefix('Value error, ')}{where}"


def _describe(
    errors: Sequence[ErrorDetails],
    path: Path,
    provenance: Provenance | None = None,
    unresolved: Unresolved | None = None,
) -> str:
    errors = _one_per_mistake(errors, unresolved)
    suggestions, explained = _suggestions(errors)
    errors = [error for error in errors if _loc(error) not in explained]
    lines = [f"{path}: invalid configuration ({len(errors)} problem{'s' if len(errors) > 1 else ''})"]
    lines += [_problem(error, path, provenance or {}, suggestions.get(_loc(error))) for error in errors]
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


def set_at(environment: str, location: Sequence[str], config_dir: Path) -> str:
    """`file:line` of the file that sets `location` for `environment` (its overlay, the base or a variable)."""
    _data, provenance, _unresolved = raw_environment(environment, config_dir)
    source = blame(provenance, location, config_dir / f"{environment}.toml")
    line = key_line(source, tuple(location))
    return f"{source}:{line}" if line else str(source)


def _unique(
    configs: Sequence[EnvironmentConfig], config_dir: Path, key: str, value_of: Any, clashed: set[frozenset[str]]
) -> list[str]:
    """A clash names both places that set the value: which one to change is the user's call, not the order's.
    A pair of environments is reported once (`clashed`): names derived from a clashing short_name clash too."""
    seen: dict[str, str] = {}
    problems = []
    location = key.split(".")
    for config in configs:
        value = value_of(config)
        if value in seen and frozenset((config.name, seen[value])) not in clashed:
            clashed.add(frozenset((config.name, seen[value])))
            problems.append(
                f"{set_at(config.name, location, config_dir)}: {key}: {value!r} is not allowed: already used by "
                f"{seen[value]} ({set_at(seen[value], location, config_dir)}); must be unique across environments"
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
    clashed: set[frozenset[str]] = set()
    problems += _unique(configs, config_dir, "short_name", lambda c: c.short_name, clashed)
    problems += _unique(configs, config_dir, "unique_suffix", lambda c: c.short_name + c.unique_suffix, clashed)
    problems += _unique(
        configs,
        config_dir,
        "state_backend.storage_account_name",
        lambda c: c.state_backend.storage_account_name,
        clashed,
    )
    problems += _deployment_networks_apart(configs, config_dir)
    # One GitHub App per environment: a staging key must register no production runner (docs/security-model.md).
    problems += _unique(
        configs,
        config_dir,
        "deployment.runner.github_app.app_id",
        lambda c: str(c.deployment.runner.github_app.app_id),
        set(),  # not derived from the short name: its own mistake
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
