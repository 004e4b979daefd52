"""The run cache (tests/run_cache.py) reuses a result only for the same input bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import run_cache


def _project(root: Path) -> Path:
    for name, text in {
        "main.py": "print()\n",
        "config/base.toml": "a = 1\n",
        "stacks/app.py": "x = 1\n",
        "docs/page.md": "doc\n",
        "tests/test_x.py": "t\n",
        "node_modules/pkg/index.js": "js\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_synth_key_follows_every_input_and_only_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "project")
    monkeypatch.setattr("config.loader.CONFIG_DIR", root / "config")
    monkeypatch.delenv("ERP_STAGING_SUBSCRIPTION_ID", raising=False)
    key = run_cache.synth_key("cdktf", root)
    assert run_cache.synth_key("cdktn", root) != key
    for not_an_input in ("docs/page.md", "tests/test_x.py", "node_modules/pkg/index.js"):
        (root / not_an_input).write_text("changed\n")
    assert run_cache.synth_key("cdktf", root) == key
    monkeypatch.setenv("ERP_STAGING_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000001")
    assert run_cache.synth_key("cdktf", root) != key
    monkeypatch.delenv("ERP_STAGING_SUBSCRIPTION_ID")
    for an_input in ("config/base.toml", "stacks/app.py", "main.py"):
        original = (root / an_input).read_text()
        (root / an_input).write_text(original + " ")
        assert run_cache.synth_key("cdktf", root) != key, an_input
        (root / an_input).write_text(original)
    (root / "stacks" / "new.py").write_text("")
    assert run_cache.synth_key("cdktf", root) != key, "a new file is an input"


def test_a_result_is_computed_once_per_run_and_again_for_other_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(run_cache.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    monkeypatch.setattr(run_cache, "_memory", {})
    calls: list[str] = []

    def compute(value: str) -> dict[str, str]:
        calls.append(value)
        return {"report": value}

    key = run_cache.digest(["checker", b"bytes"])
    assert run_cache.cached(key, lambda: compute("first")) == {"report": "first"}
    monkeypatch.setattr(run_cache, "_memory", {})  # another step: a new process, the same folder
    assert run_cache.cached(key, lambda: compute("second")) == {"report": "first"}
    other = run_cache.digest(["checker", b"other bytes"])
    assert run_cache.cached(other, lambda: compute("third")) == {"report": "third"}
    assert calls == ["first", "third"]


def test_a_tree_is_offered_once_and_found_only_under_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _project(tmp_path / "out")
    monkeypatch.delenv(run_cache.CACHE_ENV, raising=False)
    run_cache.offer_tree("k", source)
    assert run_cache.cached_tree("k") is None, "without a run cache nothing is stored"
    monkeypatch.setenv(run_cache.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    run_cache.offer_tree("k", source)
    stored = run_cache.cached_tree("k")
    assert stored is not None and run_cache.folder_digest(stored) == run_cache.folder_digest(source)
    shutil.rmtree(source / "docs")
    run_cache.offer_tree("k", source)  # the first writer wins
    assert (stored / "docs" / "page.md").is_file()
    assert run_cache.cached_tree("other") is None
