"""tools.docgen.config_reference: docs/configuration-reference.md is current, lists every key the shipped files set
with the files that set it, and reads a key's allowed values and default from the models."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from tools.docgen import config_reference

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _leaf_paths(document: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            paths |= _leaf_paths(value, path)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                paths |= _leaf_paths(item, path + config_reference.ITEM)
        else:
            paths.add(path)
    return paths


def test_the_committed_page_is_current() -> None:
    assert config_reference.main([]) == 0, "run .venv/bin/python -m tools.docgen.config_reference --write"


def test_a_stale_page_fails(tmp_path: Path, monkeypatch) -> None:
    page = tmp_path / "configuration-reference.md"
    page.write_text(config_reference.DOCUMENT.read_text().replace("| base |", "| base, staging |", 1))
    monkeypatch.setattr(config_reference, "DOCUMENT", page)
    assert config_reference.main([]) == 1
    assert config_reference.main(["--write"]) == 0
    assert config_reference.main([]) == 0


def _row_of(key: str, listed: set[str]) -> str:
    """The row a set key falls under: free keys of a table are <key>; a table of scalars is one row."""
    row = ""
    for step in key.split("."):
        for candidate in (step, config_reference.ANY_KEY):
            path = f"{row}.{candidate}" if row else candidate
            if any(listed_path == path or listed_path.startswith((path + ".", path + "[")) for listed_path in listed):
                row = path
                break
        else:
            return row
    return row


def test_every_key_a_shipped_file_sets_has_a_row_naming_that_file() -> None:
    table, set_in = config_reference.keys(CONFIG)
    listed = {key.path for key in table}
    for path in sorted(CONFIG.glob("*.toml")):
        for key in _leaf_paths(tomllib.loads(path.read_text())):
            row = _row_of(key, listed)
            assert row in listed, key
            assert path.stem in set_in[row], (key, path.stem)


def test_allowed_values_range_and_default_come_from_the_models() -> None:
    rows = {key.path: key for key in config_reference.keys(CONFIG)[0]}
    assert rows["aks.sku_tier"].allowed == '`"Free"`, `"Standard"`, `"Premium"`'
    assert rows["aks.image_cleaner_interval_hours"].allowed == "≥ 24; ≤ 2160"
    assert rows["aks.image_cleaner_interval_hours"].default == "`48`"
    assert rows["aks.user_pools[].name"].kind == "string"
    assert "Cilium" in rows["aks.network_policy"].description  # the comment above the field in config/services.py


def test_a_third_environment_shows_where_it_sets_a_key(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "qa.toml").write_text('short_name = "qa"\n[registry]\nuntagged_manifest_retention_days = 3\n')
    _, set_in = config_reference.keys(config)
    assert set_in["registry.untagged_manifest_retention_days"] == ["base", "qa", "staging"]
    assert "qa" not in set_in["aks.sku_tier"]


# Every key has a description; a new key comes with one (Field(description=...), or a comment above its field in
# config/*.py).
def test_every_key_has_a_description() -> None:
    assert config_reference.undocumented(config_reference.keys(CONFIG)[0]) == []


def test_a_key_without_a_description_is_counted() -> None:
    described = config_reference.Key("a.b", "string", "", "", "What it does")
    assert config_reference.undocumented([described, config_reference.Key("a.c", "string", "", "", " ")]) == ["a.c"]
