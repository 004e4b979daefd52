"""The config's `pattern=` fields compile cheaply in pydantic-core's Rust regex, and the resource group rule (its
length limit moved out of the pattern for that reason, config/azure_limits.py) accepts exactly what it did."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from config.azure_limits import NAME_RULES
from config.loader import load_environment
from config.schema import EnvironmentConfig, StateBackend

# The resource group rule before: pydantic-core compiled it into an 8.5 MB automaton in every synth.
COUNTED_UNICODE_CLASS = r"^[\w().-]{0,89}[\w()-]$"
# What the config's 51 patterns cost together after the change: 1.8 MB, 10.3 with the counted one (2026-12-06).
MAX_COMPILE_MB = 4.0

MEASURE = """
import sys
from pydantic_core import SchemaValidator
def rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
SchemaValidator({"type": "str", "pattern": "^x$"})  # the regex engine's one-time set-up
before = rss_kb()
kept = [SchemaValidator({"type": "str", "pattern": pattern}) for pattern in sys.argv[1:]]
print((rss_kb() - before) / 1024)
"""


def compile_cost_mb(patterns: list[str]) -> float:
    """Resident memory a fresh interpreter grows by when pydantic-core compiles `patterns` (as `pattern=` fields)."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, *patterns], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
    )
    return float(run.stdout)


def config_patterns(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return found.union(*(config_patterns(value) for value in schema.values()))
    if isinstance(schema, list | tuple):
        return set().union(*(config_patterns(value) for value in schema))
    return set()


def test_the_config_patterns_compile_in_little_memory() -> None:
    patterns = sorted(config_patterns(EnvironmentConfig.__pydantic_core_schema__))
    assert len(patterns) > 40  # the walk finds the schema's patterns
    assert compile_cost_mb(patterns) < MAX_COMPILE_MB


def test_the_measure_catches_a_counted_unicode_class() -> None:
    assert compile_cost_mb([COUNTED_UNICODE_CLASS]) > MAX_COMPILE_MB


NAMES = [
    "",
    "a",
    "stg-tfstate-rg",
    "rg(1)_x.y",
    "rg.",
    "rg-",
    ".rg",
    "grüne-gruppe",
    "has space",
    "rg\n",
    "a" * 89 + ".",
    "a" * 90,
    "a" * 91,
    "ä" * 90,
    "ä" * 91,
]


@pytest.mark.parametrize("name", NAMES, ids=[f"{name[:12]!r}-{len(name)}" for name in NAMES])
def test_the_resource_group_rule_accepts_what_the_counted_pattern_did(name: str) -> None:
    before = TypeAdapter(Annotated[str, Field(pattern=COUNTED_UNICODE_CLASS, strict=True)])
    try:
        before.validate_python(name)
        accepted_before = True
    except ValidationError:
        accepted_before = False
    data = {**load_environment("staging").state_backend.model_dump(), "resource_group_name": name}
    try:
        StateBackend.model_validate(data)
        accepted_now = True
    except ValidationError:
        accepted_now = False
    assert accepted_now == accepted_before
    # The Aspect's check (Python's re) agrees with the old pattern too.
    rule = NAME_RULES["azurerm_resource_group"]
    assert (rule.violation(name) is None) == bool(re.fullmatch(COUNTED_UNICODE_CLASS[1:-1], name))
