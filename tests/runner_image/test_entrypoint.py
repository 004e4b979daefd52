"""runner-image/entrypoint.sh's GitHub App flow, run for real against a fake GitHub API on the loopback address.

The fake API verifies what GitHub verifies: the JWT's RS256 signature with the App's PUBLIC key (a key pair made
by the test), its `iss` (the App id), `iat` and `exp` (issued in the past, not expired, at most 10 minutes); then
it hands out an installation token, and answers the registration-token call only when that installation token is
presented. `config.sh` and `run.sh` are stand-ins for GitHub's runner (they record their arguments and
environment). Failing examples: another key, a non-PEM key, a missing setting, an App not installed, another
app id (iss), a clock an hour behind (exp).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "runner-image" / "entrypoint.sh"
APP_ID = "123456"
INSTALLATION_ID = "987654"
REPOSITORY = "example-org/erp-platform"
INSTALLATION_TOKEN = "ghs_installation-token-for-the-test"
REGISTRATION_TOKEN = "AREGISTRATIONTOKENFORTHETEST"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(private)],
        check=True,
        capture_output=True,
    )
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True)
    return private, public


@dataclass
class FakeGitHub:
    public_key: Path
    work: Path
    installed_repositories: tuple[str, ...] = ("erp-platform",)
    calls: list[dict] = field(default_factory=list)

    def jwt_problem(self, token: str) -> str | None:
        """None when `token` is a JWT GitHub would accept for this App, else why not."""
        parts = token.split(".")
        if len(parts) != 3:
            return "A JSON web token could not be decoded"
        header, payload = json.loads(_b64url_decode(parts[0])), json.loads(_b64url_decode(parts[1]))
        if header.get("alg") != "RS256":
            return f"alg {header.get('alg')} is not RS256"
        signed, signature = self.work / "signed", self.work / "signature"
        signed.write_bytes(f"{parts[0]}.{parts[1]}".encode())
        signature.write_bytes(_b64url_decode(parts[2]))
        verified = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", str(self.public_key), "-signature", str(signature), str(signed)],
            capture_output=True,
        )
        if verified.returncode != 0:
            return "A JSON web token could not be decoded"  # GitHub's answer to a signature by another key
        now = time.time()
        if str(payload.get("iss")) != APP_ID:
            return f"'Issuer' claim ('iss') must be the App id, got {payload.get('iss')!r}"
        if not payload["iat"] <= now < payload["exp"]:
            return "'Expiration time' claim ('exp') is in the past or 'iat' in the future"
        if payload["exp"] - payload["iat"] > 600:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    def answer(self, path: str, authorization: str, body: dict) -> tuple[int, dict]:
        scheme, _, credential = authorization.partition(" ")
        self.calls.append({"path": path, "scheme": scheme, "credential": credential, "body": body})
        if path == f"/app/installations/{INSTALLATION_ID}/access_tokens":
            problem = self.jwt_problem(credential) if scheme == "Bearer" else "no bearer JWT"
            if problem:
                return 401, {"message": problem}
            return 201, {"token": INSTALLATION_TOKEN, "expires_at": "2026-12-02T10:00:00Z"}
        if path == f"/repos/{REPOSITORY}/actions/runners/registration-token":
            if credential != INSTALLATION_TOKEN:
                return 401, {"message": "Bad credentials"}
            if REPOSITORY.split("/")[1] not in self.installed_repositories:
                return 403, {"message": "Resource not accessible by integration"}
            return 201, {"token": REGISTRATION_TOKEN, "expires_at": "2026-12-02T10:00:00Z"}
        return 404, {"message": "Not Found"}


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[FakeGitHub, str]]:
    _, public = _key_pair(tmp_path, "app")
    (tmp_path / "fake").mkdir()
    fake = FakeGitHub(public_key=public, work=tmp_path / "fake")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            status, answer = fake.answer(self.path, self.headers.get("Authorization", ""), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "TMPDIR": str(cwd)}
    return subprocess.run(
        ["bash", str(ENTRYPOINT), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _settings(api: str, private_key: Path) -> dict[str, str]:
    return {
        "APP_ID": APP_ID,
        "APP_INSTALLATION_ID": INSTALLATION_ID,
        "APP_PRIVATE_KEY": private_key.read_text(),
        "REPOSITORY": REPOSITORY,
        "RUNNER_LABELS": "erp-staging",
        "GITHUB_API_URL": api,
    }


def test_the_token_step_signs_a_jwt_github_accepts_and_registers_with_the_installation_token(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    fake, api = github
    result = _run(["registration-token"], _settings(api, tmp_path / "app.pem"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REGISTRATION_TOKEN
    [access, registration] = fake.calls
    assert access["path"] == f"/app/installations/{INSTALLATION_ID}/access_tokens"
    assert access["scheme"] == "Bearer" and fake.jwt_problem(access["credential"]) is None
    # the installation token is narrowed to the one repository and the one permission runners need
    assert access["body"] == {"repositories": ["erp-platform"], "permissions": {"administration": "write"}}
    assert registration["path"] == f"/repos/{REPOSITORY}/actions/runners/registration-token"
    assert (registration["scheme"], registration["credential"]) == ("Bearer", INSTALLATION_TOKEN)
    assert INSTALLATION_TOKEN not in result.stdout + result.stderr


def test_the_runner_is_configured_ephemeral_and_run_without_the_apps_key(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    _, api = github
    home = tmp_path / "runner"
    home.mkdir()
    record = tmp_path / "fake" / "record"
    for script in ("config.sh", "run.sh"):  # stand-ins for GitHub's runner: record arguments and environment
        path = home / script
        path.write_text(
            f'#!/usr/bin/env bash\nprintf "%s\\n" "{script}" "$@" >> "{record}"\n'
            f'printf "APP_PRIVATE_KEY=%s\\n" "${{APP_PRIVATE_KEY:-unset}}" >> "{record}"\n'
        )
        path.chmod(0o755)
    result = _run([], {**_settings(api, tmp_path / "app.pem"), "RUNNER_HOME": str(home), "RUNNER_NAME": "r1"}, home)
    assert result.returncode == 0, result.stderr
    lines = record.read_text().splitlines()
    config = lines[: lines.index("run.sh")]
    assert config[0] == "config.sh"
    for flag in ("--unattended", "--ephemeral", "--disableupdate"):
        assert flag in config
    assert config[config.index("--token") + 1] == REGISTRATION_TOKEN
    assert config[config.index("--url") + 1] == f"https://github.com/{REPOSITORY}"
    assert config[config.index("--labels") + 1] == "erp-staging"
    assert config[config.index("--name") + 1] == "r1"
    assert lines[lines.index("run.sh") + 1] == "APP_PRIVATE_KEY=unset"  # the jobs never see the App's key
    # the key passed through a pipe only: nothing was written (or removed) in the runner's home or the working dir
    assert sorted(p.name for p in home.iterdir()) == ["config.sh", "run.sh"]


def test_another_key_is_refused_with_a_clear_message(github: tuple[FakeGitHub, str], tmp_path: Path) -> None:
    fake, api = github
    other, _ = _key_pair(tmp_path, "other")
    result = _run(["registration-token"], _settings(api, other), tmp_path)
    assert result.returncode != 0
    assert "access_tokens returned HTTP 401: A JSON web token could not be decoded" in result.stderr
    assert "Check APP_ID and APP_PRIVATE_KEY" in result.stderr
    assert [call["path"] for call in fake.calls] == [f"/app/installations/{INSTALLATION_ID}/access_tokens"]
    assert result.stdout == ""


def test_a_key_that_is_not_pem_fails_before_calling_github(github: tuple[FakeGitHub, str], tmp_path: Path) -> None:
    fake, api = github
    (tmp_path / "bad.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
    result = _run(["registration-token"], _settings(api, tmp_path / "bad.pem"), tmp_path)
    assert result.returncode != 0
    assert "APP_PRIVATE_KEY is not a usable PEM private key" in result.stderr
    assert fake.calls == []


def test_an_app_not_installed_on_the_repository_is_named(github: tuple[FakeGitHub, str], tmp_path: Path) -> None:
    fake, api = github
    fake.installed_repositories = ("another-repository",)
    result = _run(["registration-token"], _settings(api, tmp_path / "app.pem"), tmp_path)
    assert result.returncode != 0
    assert "registration-token returned HTTP 403: Resource not accessible by integration" in result.stderr
    assert "Administration: read and write" in result.stderr


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("APP_INSTALLATION_ID", "", "APP_INSTALLATION_ID is not set"),
        ("APP_ID", "my-app", "APP_ID must be the GitHub App's numeric id"),
        ("REPOSITORY", "erp-platform", "REPOSITORY must be owner/name"),
        ("GITHUB_API_URL", "http://api.github.com", "GITHUB_API_URL must be an https:// URL"),
    ],
)
def test_bad_settings_fail_with_the_setting_named(
    github: tuple[FakeGitHub, str], tmp_path: Path, key: str, value: str, message: str
) -> None:
    fake, api = github
    result = _run(["registration-token"], {**_settings(api, tmp_path / "app.pem"), key: value}, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert fake.calls == []


def test_the_fake_checks_the_issuer_a_jwt_for_another_app_is_refused(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    _, api = github
    result = _run(["registration-token"], {**_settings(api, tmp_path / "app.pem"), "APP_ID": "42"}, tmp_path)
    assert result.returncode != 0
    assert "HTTP 401: 'Issuer' claim ('iss') must be the App id, got '42'" in result.stderr


def test_the_fake_checks_the_times_a_jwt_from_a_clock_an_hour_behind_is_refused(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    _, api = github
    bin_dir = tmp_path / "slow-clock"
    bin_dir.mkdir()
    fake_date = bin_dir / "date"  # `date +%s` an hour in the past; everything else is the real date
    fake_date.write_text(f'#!/bin/sh\n[ "$1" = "+%s" ] && echo $(( $({shutil.which("date")} +%s) - 3600 )) && exit 0\n')
    fake_date.chmod(0o755)
    settings = {**_settings(api, tmp_path / "app.pem"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = _run(["registration-token"], settings, tmp_path)
    assert result.returncode != 0
    assert "HTTP 401: 'Expiration time' claim ('exp') is in the past" in result.stderr
