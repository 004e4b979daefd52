"""Config fuzzing: any mutation of a valid environment file ends in a ConfigError or a valid config,
never another exception; a mutated config that is still valid synthesizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from config.loader import ENVIRONMENTS, ConfigError, parse_environment, raw_environment

FUZZ_FILE = Path("fuzzed.toml")
# Bounded and reproducible in CI: the same examples every run, no example database on disk.
BOUNDED = settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

KeyPath = tuple[Any, ...]

# Every value TOML can produce, nested.
toml_scalars = st.one_of(
    st.text(max_size=20), st.integers(), st.floats(), st.booleans(), st.datetimes(), st.dates(), st.times()
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=6,
)
out_of_range_numbers = st.integers(min_value=-(2**64), max_value=2**64) | st.sampled_from([0, -1, 2**31, 2**63, 10**9])
bad_cidrs = st.sampled_from(
    ["10.0.0.1/16", "10.0.0.0/33", "300.1.0.0/16", "10.0.0.0", "::/0", "", "10.0.0.0/-1", " 10.0.0.0/16", "a.b.c.d/8"]
)
unknown_keys = st.text(min_size=1, max_size=12)


def raw(environment: str) -> dict[str, Any]:
    return raw_environment(environment)[0]


def paths(node: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """Every key path into nested tables and arrays, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = []
    for key, value in items:
        found.append((*prefix, key))
        found += paths(value, (*prefix, key))
    return found


def parent_of(data: dict[str, Any], path: KeyPath) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def mutate(data: dict[str, Any], draw: st.DataObject) -> None:
    path = draw.draw(st.sampled_from(paths(data)), label="path")
    parent, key = parent_of(data, path), path[-1]
    kind = draw.draw(st.sampled_from(["delete", "replace", "number", "cidr", "unknown_key"]), label="kind")
    if kind == "delete":
        del parent[key]
    elif kind == "replace":
        parent[key] = draw.draw(toml_values, label="value")
    elif kind == "number":
        parent[key] = draw.draw(out_of_range_numbers, label="number")
    elif kind == "cidr":
        parent[key] = draw.draw(bad_cidrs, label="cidr")
    else:
        table = parent[key] if isinstance(parent[key], dict) else data
        table[draw.draw(unknown_keys, label="unknown key")] = draw.draw(toml_values, label="value")


def outcome(data: dict[str, Any]) -> str:
    """'valid' or 'invalid'; any exception other than ConfigError fails the test."""
    try:
        parse_environment(data, FUZZ_FILE)
    except ConfigError as error:
        assert str(FUZZ_FILE) in str(error)
        return "invalid"
    return "valid"


@BOUNDED
@given(environment=st.sampled_from(ENVIRONMENTS), mutations=st.integers(min_value=1, max_value=3), draw=st.data())
def test_any_mutation_is_a_config_error_or_a_valid_config(
    environment: str, mutations: int, draw: st.DataObject
) -> None:
    data = raw(environment)
    for _ in range(mutations):
        if not paths(data):
            break
        mutate(data, draw)
    assert outcome(data) in {"valid", "invalid"}


def test_the_fuzzer_produces_both_outcomes() -> None:
    """Guards against a fuzzer whose mutations are all rejected early (or all ignored)."""
    assert outcome(raw("staging")) == "valid"
    data = raw("staging")
    data["tags"]["owner"] = 42
    assert outcome(data) == "invalid"


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(environment=st.sampled_from(ENVIRONMENTS), draw=st.data())
def test_a_mutated_config_that_stays_valid_synthesizes(tmp_path_factory, environment: str, draw: st.DataObject) -> None:
    from stacks.app import build_app

    data = raw(environment)
    del_path = draw.draw(st.sampled_from(paths(data)), label="optional key to delete")
    del parent_of(data, del_path)[del_path[-1]]
    try:
        config = parse_environment(data, FUZZ_FILE)
    except ConfigError:
        assume(False)  # only configs that stay valid are synthesized
    outdir = tmp_path_factory.mktemp("fuzz-synth")
    build_app(outdir=outdir, environments=[config]).synth()
    assert list((outdir / "stacks").glob("*/cdk.tf.json"))
