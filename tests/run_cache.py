"""Results the suite computes more than once from the same input bytes, computed once per `scripts/test ci` run.

`scripts/test ci` points ERP_TEST_CACHE at a fresh folder, shared by its three steps, and removes it at the end;
without it (`scripts/test quick`, a single file) a result is shared only within one pytest process. A key hashes
every input byte of the computation, so a hit is the same computation on the same bytes:
- the app's synthesized output, by framework and the app's sources and config (`synth_key`): step 1 proves the
  Python 3.13 synth byte-identical and offers its CDK Terrain synth, steps 2 and 3 read them instead of
  synthesizing again;
- an external checker's report (checkov, detect-secrets), by the checker's lock, its configuration and the scanned
  bytes: the checkers run in their own tool venvs (scripts/tool-venv), the same interpreter in every step.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE_ENV = "ERP_TEST_CACHE"
# Not read by synth: the tests, the docs, outputs, caches, installed packages.
NOT_SYNTH_INPUTS = frozenset(
    {".git", ".cache", "cdktf.out", "docs", "tests", "benchmarks", ".hypothesis", ".pytest_cache", ".ruff_cache"}
)
SKIPPED_ANYWHERE = frozenset({"__pycache__", "node_modules"})

_memory: dict[str, Any] = {}


def digest(parts: Iterable[bytes | str]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        sha.update(len(data).to_bytes(8, "big") + data)
    return sha.hexdigest()[:32]


def tree_files(root: Path, skip_top: frozenset[str] = frozenset()) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(root):
        top = Path(folder) == root
        subfolders[:] = [
            name
            for name in subfolders
            if name not in SKIPPED_ANYWHERE and not (top and (name in skip_top or name.startswith(".venv")))
        ]
        found += [Path(folder, name) for name in files]
    return sorted(found)


def tree_digest(root: Path, skip_top: frozenset[str] = frozenset()) -> str:
    return digest(
        part for path in tree_files(root, skip_top) for part in (str(path.relative_to(root)), path.read_bytes())
    )


def folder_digest(root: Path) -> str:
    """Every file under `root`, nothing skipped (a checker's input folder)."""
    files = sorted(path for path in root.rglob("*") if path.is_file())
    return digest(part for path in files for part in (str(path.relative_to(root)), path.read_bytes()))


def synth_key(framework_name: str, root: Path = ROOT) -> str:
    """The app's synth inputs: the framework, every source and data file of the project, the config folder
    (ERP_CONFIG_DIR may point outside) and the environment overrides the loader reads."""
    from config.loader import CONFIG_DIR, ENV_OVERRIDES

    overrides = sorted(
        f"{name}={value}"
        for name, value in os.environ.items()
        if name.startswith("ERP_") and name.endswith(tuple(f"_{suffix}" for suffix in ENV_OVERRIDES.values()))
    )
    return digest(["synth", framework_name, tree_digest(root, NOT_SYNTH_INPUTS), tree_digest(CONFIG_DIR), *overrides])


def _folder() -> Path | None:
    value = os.environ.get(CACHE_ENV)
    return Path(value) if value else None


def cached_tree(key: str) -> Path | None:
    """A folder stored under `key` by this run, if any."""
    folder = _folder()
    found = folder / key if folder else None
    return found if found and found.is_dir() else None


def offer_tree(key: str, source: Path) -> None:
    """Store a copy of `source` under `key` for the run's later steps (first writer wins)."""
    folder = _folder()
    if folder is None or (folder / key).exists():
        return
    partial = Path(tempfile.mkdtemp(dir=folder, prefix=f"{key}."))
    shutil.copytree(source, partial, dirs_exist_ok=True)
    try:
        partial.rename(folder / key)
    except OSError:  # another process stored it meanwhile
        shutil.rmtree(partial)


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """compute()'s JSON result, computed once per process, or once per run under ERP_TEST_CACHE."""
    if key in _memory:
        return json.loads(_memory[key])
    folder = _folder()
    stored = folder / f"{key}.json" if folder else None
    if stored and stored.is_file():
        text = stored.read_text()
    else:
        text = json.dumps(compute())
        if stored:
            partial = stored.with_suffix(f".{os.getpid()}")
            partial.write_text(text)
            partial.replace(stored)
    _memory[key] = text
    return json.loads(text)  # a fresh copy for each caller
