"""Config errors read like a linter's: `file:line`, one error per mistake, a suggestion for a misspelt key, and
the file that set the value (both files for a clash between environments)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.loader import ConfigError, load_all, load_environment
from config.locate import key_line

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for source in (PROJECT_ROOT / "config").glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def _replace(path: Path, old: str, new: str) -> int:
    """Replace the line `old` in `path`; returns its (1-based) line number."""
    lines = path.read_text().splitlines()
    number = lines.index(old)
    lines[number] = new
    path.write_text("\n".join(lines) + "\n")
    return number + 1


def _problems(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [line for line in str(error.value).splitlines() if line.startswith("  - ")]


def test_a_misspelt_required_key_is_one_error_with_a_suggestion_and_its_line(config_dir: Path) -> None:
    line = _replace(config_dir / "staging.toml", 'short_name = "stg"', 'shortname = "stg"')
    with pytest.raises(ConfigError) as error:
        load_environment("staging", config_dir)
    # Not also "short_name: required key is missing", nor the names derived from {short_name}.
    assert _problems(error) == [
        f"  - shortname: unknown key (did you mean 'short_name'?) ({config_dir / 'staging.toml'}:{line})"
    ]


def test_a_misspelt_key_in_the_base_is_blamed_on_the_base_with_its_line(config_dir: Path) -> None:
    line = _replace(config_dir / "base.toml", 'sku_tier = "Standard"', 'sku_tierr = "Standard"')
    with pytest.raises(ConfigError) as error:
        load_environment("production", config_dir)
    assert _problems(error) == [
        f"  - aks.sku_tierr: unknown key (did you mean 'sku_tier'?) (set in {config_dir / 'base.toml'}:{line})"
    ]


def test_an_unknown_key_without_a_close_match_lists_the_allowed_keys(config_dir: Path) -> None:
    path = config_dir / "staging.toml"
    path.write_text(path.read_text().replace("[registry]\n", "[registry]\nflux_capacitor = 1\n"))
    with pytest.raises(ConfigError) as error:
        load_environment("staging", config_dir)
    [problem] = _problems(error)
    assert problem.startswith("  - registry.flux_capacitor: unknown key (check the spelling against config/schema.py")
    assert "allowed: " in problem and "untagged_manifest_retention_days" in problem


def test_a_clash_between_environments_names_both_files_and_lines(config_dir: Path) -> None:
    line = _replace(config_dir / "staging.toml", 'short_name = "stg"', 'short_name = "prd"')
    production_line = key_line(config_dir / "production.toml", ("short_name",))
    with pytest.raises(ConfigError) as error:
        load_all(config_dir)
    assert str(error.value).splitlines() == [
        f"{config_dir / 'production.toml'}:{production_line}: short_name: 'prd' is not allowed: already used by "
        f"staging ({config_dir / 'staging.toml'}:{line}); must be unique across environments"
    ]


def test_key_line_finds_keys_tables_and_arrays_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        'top = 1\nlist = [\n  "a = 1",\n]\n[table]\n"quoted.key" = 2\ndotted.key = 3\n[[pools]]\nname = "a"\n'
    )
    assert key_line(path, ("top",)) == 1
    assert key_line(path, ("table", "quoted.key")) == 6
    assert key_line(path, ("table", "dotted", "key")) == 7
    assert key_line(path, ("pools", 0, "name")) == 9
    assert key_line(path, ("table", "absent")) == 5  # the enclosing table
    assert key_line(path, ("a",)) is None  # inside a multi-line array: not a key
