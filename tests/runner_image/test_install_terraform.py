"""runner-image/install-terraform.sh, run for real against a fake release server on the loopback address.

A release is installed only when its SHA256SUMS carries a valid signature by the key whose PRIMARY fingerprint is
pinned, and the zip's SHA-256 is the one that signed list gives. The test plays HashiCorp with an OpenPGP key it
generates; the failing examples pin another fingerprint, tamper with the zip, and sign with an unpinned key.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "runner-image" / "install-terraform.sh"
VERSION = "1.11.4"


def _gpg(home: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], check=True, capture_output=True, text=True, **kwargs
    )


def _new_key(home: Path, name: str) -> str:
    home.mkdir(mode=0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.com>", "rsa2048", "sign", "never")
    colons = _gpg(home, "--with-colons", "--list-keys").stdout
    return re.search(r"^fpr:+([0-9A-F]{40}):", colons, re.M).group(1)  # type: ignore[union-attr]


class Release:
    """A release folder laid out like releases.hashicorp.com, plus the signing key file."""

    def __init__(self, root: Path, signer_home: Path) -> None:
        self.root, self.signer_home = root, signer_home
        self.folder = root / "terraform" / VERSION
        self.folder.mkdir(parents=True)
        self.zip = self.folder / f"terraform_{VERSION}_linux_amd64.zip"
        with zipfile.ZipFile(self.zip, "w") as archive:
            archive.writestr("terraform", "#!/bin/sh\necho 'Terraform v1.11.4'\n")
        self.sums = self.folder / f"terraform_{VERSION}_SHA256SUMS"
        digest = hashlib.sha256(self.zip.read_bytes()).hexdigest()
        self.sums.write_text(f"{digest}  {self.zip.name}\n{'0' * 64}  terraform_{VERSION}_darwin_arm64.zip\n")
        self.sign(signer_home)
        (root / "pgp-key.txt").write_text(_gpg(signer_home, "--armor", "--export").stdout)

    def sign(self, home: Path) -> None:
        signature = self.folder / f"{self.sums.name}.sig"
        signature.unlink(missing_ok=True)
        _gpg(home, "--detach-sign", "--output", str(signature), str(self.sums))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    base = tmp_path_factory.mktemp("gpg")
    return {name: (base / name, _new_key(base / name, name)) for name in ("hashicorp", "intruder")}


@pytest.fixture
def release(tmp_path: Path, keys: dict[str, tuple[Path, str]]) -> Iterator[tuple[Release, str]]:
    site = Release(tmp_path / "site", keys["hashicorp"][0])
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site.root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined,method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _install(url: str, fingerprint: str, target: Path) -> subprocess.CompletedProcess[str]:
    target.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(target.parent),
        "HASHICORP_RELEASES": url,
        "HASHICORP_KEY_URL": f"{url}/pgp-key.txt",
        "INSTALL_DIR": str(target),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), VERSION, fingerprint], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_release_signed_by_the_pinned_key_is_installed(release, keys, tmp_path: Path) -> None:
    _, url = release
    result = _install(url, keys["hashicorp"][1], tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    assert subprocess.run([tmp_path / "bin" / "terraform"], capture_output=True, text=True).stdout.strip() == (
        "Terraform v1.11.4"
    )
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["terraform"]  # the work folder is gone


def test_another_pinned_fingerprint_refuses_the_release(release, keys, tmp_path: Path) -> None:
    _, url = release
    result = _install(url, keys["intruder"][1], tmp_path / "bin")
    assert result.returncode != 0
    assert f"is signed by {keys['hashicorp'][1]}, not by HashiCorp's pinned key {keys['intruder'][1]}" in (
        result.stderr
    )
    assert not (tmp_path / "bin" / "terraform").exists()


def test_a_tampered_zip_is_refused(release, keys, tmp_path: Path) -> None:
    site, url = release
    with zipfile.ZipFile(site.zip, "a") as archive:
        archive.writestr("backdoor", "x")
    result = _install(url, keys["hashicorp"][1], tmp_path / "bin")
    assert result.returncode != 0
    assert "the signed list says" in result.stderr
    assert not (tmp_path / "bin" / "terraform").exists()


def test_a_list_signed_by_an_unpinned_key_is_refused(release, keys, tmp_path: Path) -> None:
    site, url = release
    site.sign(keys["intruder"][0])  # the published key file still holds only the pinned key
    result = _install(url, keys["hashicorp"][1], tmp_path / "bin")
    assert result.returncode != 0
    assert "has no valid signature by the downloaded key" in result.stderr
