"""reference/image_digests.json: every digest has the source that pins it for the exact tag, the file is what its
refresh writes, synth reads it, and Renovate's own regex extractor finds every entry (digest updates, pinning)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from constructs.image_pins import DIGESTS_FILE, digest_of, import_source, open_images, pinned, registry_copy
from tests.tools.test_dependency_updates import RENOVATE, RENOVATE_DIR, matched, patterns, run_renovate_js
from tools.maintenance.refdata.refresh_image_digests import canonical, problems

ROOT = Path(__file__).resolve().parents[2]
DATA = json.loads(DIGESTS_FILE.read_text())
KUBECTL = "docker.io/alpine/k8s:1.36.5"
PROXY = (
    "mcr.microsoft.com/azuremonitor/auth-proxy/prod/aad-auth-proxy/images/aad-auth-proxy:0.1.0-main-04-10-2024-7067ac84"
)


def test_every_entry_is_sound_and_counted() -> None:
    assert problems(DATA["images"]) == []
    assert canonical(DATA["images"]) == DATA["images"]
    pinned_entries = [entry for entry in DATA["images"].values() if "@" in entry["pinned"]]
    assert len(pinned_entries) == 3 and all(entry["independent_repositories"] >= 1 for entry in pinned_entries)
    meta_sources = {(s["repo"], s["path"], s["commit"]) for s in DATA["_meta"]["sources"]}
    for entry in pinned_entries:  # each commit is recorded, as the index served it
        assert {(s["repo"], s["path"], s["commit"]) for s in entry["sources"]} <= meta_sources


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e[KUBECTL]["sources"][0].update(digest="sha256:" + "0" * 64), "pins another digest"),
        (lambda e: e[KUBECTL].update(sources=[]), "a digest without a source"),
        (lambda e: e[KUBECTL].update(pinned=KUBECTL + "@sha256:abc"), "is not sha256:<64 hex>"),
        (lambda e: e[KUBECTL].update(pinned="docker.io/alpine/k8s:1.36.4@" + digest_of(KUBECTL)), "not this tag"),
        (lambda e: e[PROXY].pop("open"), "no digest and no `open` reason"),
    ],
    ids=["source-disagrees", "no-source", "malformed-digest", "other-tag", "open-without-reason"],
)
def test_a_planted_problem_is_reported(change, expected: str) -> None:
    images = copy.deepcopy(DATA["images"])
    change(images)
    assert any(expected in problem for problem in problems(images)), problems(images)


def test_synth_pins_by_digest_and_keeps_an_open_item_by_tag() -> None:
    digest = digest_of(KUBECTL)
    assert digest and digest.startswith("sha256:")
    assert pinned(KUBECTL) == f"{KUBECTL}@{digest}"
    assert import_source(KUBECTL) == f"docker.io/alpine/k8s@{digest}"  # ImportSource: a tag or a digest
    assert registry_copy("acr.azurecr.io/platform/kubectl:1.36.5", KUBECTL).endswith(f":1.36.5@{digest}")
    assert open_images() == (PROXY,)
    assert pinned(PROXY) == PROXY and import_source(PROXY) == PROXY
    assert pinned("docker.io/library/unknown:1") == "docker.io/library/unknown:1"  # not recorded: the tag


def test_renovate_manages_every_entry_digests_only() -> None:
    [manager] = [m for m in RENOVATE["customManagers"] if "image_digests" in "".join(m["managerFilePatterns"])]
    assert manager["datasourceTemplate"] == "docker"
    assert matched([DIGESTS_FILE], patterns(manager["managerFilePatterns"])) == ["reference/image_digests.json"]
    rules = [r for r in RENOVATE["packageRules"] if r.get("matchFileNames") == ["reference/image_digests.json"]]
    assert any(r.get("pinDigests") is True for r in rules)
    assert any(r.get("enabled") is False and set(r["matchUpdateTypes"]) == {"major", "minor", "patch"} for r in rules)


EXTRACT = """
import { extractPackageFile } from '%s';
import { readFileSync } from 'node:fs';
const config = JSON.parse(process.argv[1]);
const result = extractPackageFile(readFileSync(process.argv[2], 'utf8'), process.argv[2], config);
console.log('RESULT ' + JSON.stringify(result ? result.deps : []));
"""


def renovate_deps(manager: dict, path: Path) -> list[dict]:
    module = RENOVATE_DIR / "renovate" / "dist" / "modules" / "manager" / "custom" / "regex" / "index.js"
    completed = run_renovate_js(EXTRACT % module, json.dumps(manager), str(path))
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, completed.stdout + completed.stderr
    return json.loads(lines[0].removeprefix("RESULT "))


def test_renovates_own_extractor_finds_every_image_with_its_digest(tmp_path: Path) -> None:
    [manager] = [m for m in RENOVATE["customManagers"] if "image_digests" in "".join(m["managerFilePatterns"])]
    deps = renovate_deps(manager, DIGESTS_FILE)
    found = {(d["depName"], d["currentValue"], d.get("currentDigest")) for d in deps}
    expected = {(*image.rsplit(":", 1), digest_of(image)) for image in DATA["images"]}
    assert found == expected
    assert all(d["datasource"] == "docker" for d in deps)
    # Failing example: an entry written with the digest before the tag is not an image Renovate can update.
    broken = tmp_path / "image_digests.json"
    broken.write_text(
        DIGESTS_FILE.read_text()
        .replace(f"{KUBECTL}@", "docker.io/alpine/k8s@")
        .replace(f'{digest_of(KUBECTL)}"', f'{digest_of(KUBECTL)}:1.36.5"', 1)
    )
    assert len(renovate_deps(manager, broken)) == len(expected) - 1
