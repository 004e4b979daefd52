"""config/environment.schema.json: generated from the pydantic models, current, accepts the shipped files and
rejects what the loader rejects per file (an unknown key, a value outside an enumeration)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from config import json_schema

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(json_schema.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_current() -> None:
    assert json_schema.main([]) == 0, "run .venv/bin/python -m config.json_schema --write"


@pytest.mark.parametrize("name", sorted(path.name for path in CONFIG.glob("*.toml")))
def test_every_shipped_file_is_valid(name: str) -> None:
    document = tomllib.loads((CONFIG / name).read_text())
    assert [error.message for error in _validator().iter_errors(document)] == []


def test_an_unknown_key_and_a_bad_enumeration_value_are_errors() -> None:
    document = tomllib.loads((CONFIG / "staging.toml").read_text())
    document["registry"]["untagged_manifest_retention_dayz"] = 7
    document["aks"] = {"sku_tier": "Gold"}
    messages = sorted(error.message for error in _validator().iter_errors(document))
    assert any("untagged_manifest_retention_dayz" in message for message in messages)
    assert any("'Gold'" in message for message in messages)
    assert len(messages) == 2


def test_derived_placeholders_pass_where_a_pattern_would_reject_them() -> None:
    document = {"state_backend": {"storage_account_name": "{short_name}tfstate{unique_suffix}"}}
    assert list(_validator().iter_errors(document)) == []
    document = {"state_backend": {"storage_account_name": "Not_Valid!"}}
    assert list(_validator().iter_errors(document))
