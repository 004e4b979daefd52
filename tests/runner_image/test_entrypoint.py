"""runner-image/entrypoint.sh's two modes, run for real under bash against a fake GitHub API on the loopback address.

`jit-config`: the fake API verifies what GitHub verifies: the JWT's RS256 signature with the App's PUBLIC key (a key
pair made by the test), its `iss` (the App id), `iat` and `exp` (issued in the past, not expired, at most 10
minutes); then it hands out an installation token, and answers `generate-jitconfig` only when that installation
token is presented. `run-jit`: `run.sh` is a stand-in for GitHub's runner (it records its arguments and
environment). Failing examples: another key (401), a non-PEM key, a missing or malformed setting, an App not
installed (403), another app id (iss), a clock an hour behind (exp), an unknown mode, run-jit without the file.
The constructs' side of the contract (the jobs' args are modes implemented here) is checked by
tools/checks/deployability/runner_modes.py `runner_mode_findings`.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
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
ENCODED_JIT_CONFIG = "eyJydW5uZXIiOiJqaXQtY29uZmlnLWZvci10aGUtdGVzdCJ9"
RUNNER_ID = 4242


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
        if path == f"/repos/{REPOSITORY}/actions/runners/generate-jitconfig":
            if credential != INSTALLATION_TOKEN:
                return 401, {"message": "Bad credentials"}
            if REPOSITORY.split("/")[1] not in self.installed_repositories:
                return 403, {"message": "Resource not accessible by integration"}
            runner = {"id": RUNNER_ID, "name": body["name"], "labels": [{"name": n} for n in body["labels"]]}
            return 201, {"runner": runner, "encoded_jit_config": ENCODED_JIT_CONFIG}
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


# Every command the entrypoint calls, and where the image gets it: the tests run the script with a PATH holding
# these only, so a command missing here (and from the image) fails them.
IMAGE_TOOLS = {
    "openssl": "apt",  # the JWT's RS256 signature, base64
    "curl": "apt",
    "jq": "apt",
    "bash": "base",  # GitHub's runner image (Ubuntu): bash, coreutils, hostname
    "cat": "base",
    "date": "base",
    "hostname": "base",
    "rm": "base",
    "tr": "base",
}


def test_the_image_installs_every_tool_the_entrypoint_calls() -> None:
    dockerfile = (ROOT / "runner-image" / "Dockerfile").read_text()
    [install] = re.findall(r"apt-get install -y --no-install-recommends ([^\n&]*)", dockerfile)[:1]
    assert {tool for tool, source in IMAGE_TOOLS.items() if source == "apt"} <= set(install.split())


def _image_path(cwd: Path) -> str:
    tools = cwd / "image-tools"
    if not tools.exists():
        tools.mkdir()
        for tool in IMAGE_TOOLS:
            found = shutil.which(tool)
            assert found, f"{tool} is not on this machine's PATH"
            (tools / tool).symlink_to(found)
    return str(tools)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": _image_path(cwd), "HOME": str(cwd), "TMPDIR": str(cwd)}
    return subprocess.run(
        ["bash", str(ENTRYPOINT), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _settings(api: str, private_key: Path, jit_file: Path) -> dict[str, str]:
    return {
        "APP_ID": APP_ID,
        "APP_INSTALLATION_ID": INSTALLATION_ID,
        "APP_PRIVATE_KEY": private_key.read_text(),
        "REPOSITORY": REPOSITORY,
        "RUNNER_LABELS": "erp-staging-plan",
        "RUNNER_JITCONFIG_FILE": str(jit_file),
        "RUNNER_NAME": "erp-staging-plan-job-abc12",
        "GITHUB_API_URL": api,
    }


def _jit_config(api: str, tmp_path: Path, key: str = "app.pem", **changes: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "shared").mkdir(exist_ok=True)
    settings = {**_settings(api, tmp_path / key, tmp_path / "shared" / "jitconfig"), **changes}
    return _run(["jit-config"], settings, tmp_path)


def _files_holding(directory: Path, text: str, but: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and p != but and text in p.read_text(errors="replace")]


def test_jit_config_signs_a_jwt_github_accepts_and_writes_one_runners_configuration(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    fake, api = github
    result = _jit_config(api, tmp_path)
    assert result.returncode == 0, result.stderr
    [access, generate] = fake.calls
    assert access["path"] == f"/app/installations/{INSTALLATION_ID}/access_tokens"
    assert access["scheme"] == "Bearer" and fake.jwt_problem(access["credential"]) is None
    # the installation token is narrowed to the one repository and the one permission runners need
    assert access["body"] == {"repositories": ["erp-platform"], "permissions": {"administration": "write"}}
    assert generate["path"] == f"/repos/{REPOSITORY}/actions/runners/generate-jitconfig"
    assert (generate["scheme"], generate["credential"]) == ("Bearer", INSTALLATION_TOKEN)
    assert generate["body"] == {
        "name": "erp-staging-plan-job-abc12",
        "runner_group_id": 1,
        "labels": ["erp-staging-plan"],  # exactly the pool's label: the runner cannot take another pool's jobs
        "work_folder": "_work",
    }
    written = tmp_path / "shared" / "jitconfig"
    assert written.read_text() == ENCODED_JIT_CONFIG
    assert written.stat().st_mode & 0o777 == 0o600
    assert f"runner erp-staging-plan-job-abc12 (id {RUNNER_ID}) configured" in result.stdout
    for secret in (INSTALLATION_TOKEN, ENCODED_JIT_CONFIG):
        assert secret not in result.stdout + result.stderr


def test_jit_config_writes_the_key_nowhere_and_prints_it_nowhere(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    _, api = github
    key_line = (tmp_path / "app.pem").read_text().splitlines()[1]  # a line of the key's body: as distinctive
    result = _jit_config(api, tmp_path)
    assert result.returncode == 0, result.stderr
    assert key_line not in result.stdout + result.stderr
    # HOME and TMPDIR are tmp_path: no file there (or on the shared volume) holds the key but the test's own copy
    assert _files_holding(tmp_path, key_line, but=tmp_path / "app.pem") == []


def test_a_label_list_becomes_a_list_of_labels_and_the_name_defaults_to_the_host(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    fake, api = github
    result = _jit_config(api, tmp_path, RUNNER_LABELS="erp-staging-plan,linux", RUNNER_NAME="")
    assert result.returncode == 0, result.stderr
    assert fake.calls[-1]["body"]["labels"] == ["erp-staging-plan", "linux"]
    assert fake.calls[-1]["body"]["name"] == socket.gethostname()  # unique per Container Apps replica


def test_run_jit_runs_the_runner_from_the_file_and_removes_it(tmp_path: Path) -> None:
    home = tmp_path / "runner"
    home.mkdir()
    record = tmp_path / "record"
    run = home / "run.sh"  # a stand-in for GitHub's runner: records its arguments and what its environment holds
    run.write_text(
        f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" >> "{record}"\n'
        f'printf "APP_PRIVATE_KEY=%s\\n" "${{APP_PRIVATE_KEY:-unset}}" >> "{record}"\n'
    )
    run.chmod(0o755)
    jit_file = tmp_path / "jitconfig"
    jit_file.write_text(ENCODED_JIT_CONFIG)
    env = {"RUNNER_JITCONFIG_FILE": str(jit_file), "RUNNER_HOME": str(home)}
    result = _run(["run-jit"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert record.read_text().splitlines() == ["--jitconfig", ENCODED_JIT_CONFIG, "APP_PRIVATE_KEY=unset"]
    assert not jit_file.exists()  # one runner's credential: the job's steps do not find it
    assert ENCODED_JIT_CONFIG not in result.stdout + result.stderr


def test_run_jit_without_the_file_fails_with_the_step_named(tmp_path: Path) -> None:
    result = _run(["run-jit"], {"RUNNER_JITCONFIG_FILE": str(tmp_path / "missing")}, tmp_path)
    assert result.returncode != 0
    assert "no JIT configuration in RUNNER_JITCONFIG_FILE" in result.stderr and "did the jit-config step run?" in (
        result.stderr
    )


@pytest.mark.parametrize("mode", ["", "registration-token", "run"])
def test_a_mode_the_entrypoint_lacks_fails_with_the_usage(tmp_path: Path, mode: str) -> None:
    result = _run([mode] if mode else [], {}, tmp_path)
    assert result.returncode != 0
    assert "usage:" in result.stderr and "jit-config | run-jit" in result.stderr


def test_another_key_is_refused_with_a_clear_message(github: tuple[FakeGitHub, str], tmp_path: Path) -> None:
    fake, api = github
    _key_pair(tmp_path, "other")
    result = _jit_config(api, tmp_path, key="other.pem")
    assert result.returncode != 0
    assert "access_tokens returned HTTP 401: A JSON web token could not be decoded" in result.stderr
    assert "Check APP_ID and APP_PRIVATE_KEY" in result.stderr
    assert [call["path"] for call in fake.calls] == [f"/app/installations/{INSTALLATION_ID}/access_tokens"]
    assert result.stdout == ""
    assert not (tmp_path / "shared" / "jitconfig").exists()


def test_a_key_that_is_not_pem_fails_before_calling_github(github: tuple[FakeGitHub, str], tmp_path: Path) -> None:
    fake, api = github
    (tmp_path / "bad.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
    result = _jit_config(api, tmp_path, key="bad.pem")
    assert result.returncode != 0
    assert "APP_PRIVATE_KEY is not a usable PEM private key" in result.stderr
    assert fake.calls == []


def test_an_app_not_installed_on_the_repository_is_named(github: tuple[FakeGitHub, str], tmp_path: Path) -> None:
    fake, api = github
    fake.installed_repositories = ("another-repository",)
    result = _jit_config(api, tmp_path)
    assert result.returncode != 0
    assert "generate-jitconfig returned HTTP 403: Resource not accessible by integration" in result.stderr
    assert "Administration: read and write" in result.stderr
    assert not (tmp_path / "shared" / "jitconfig").exists()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("APP_INSTALLATION_ID", "", "APP_INSTALLATION_ID is not set"),
        ("APP_PRIVATE_KEY", "", "APP_PRIVATE_KEY is not set"),
        ("RUNNER_JITCONFIG_FILE", "", "RUNNER_JITCONFIG_FILE is not set"),
        ("RUNNER_LABELS", "", "RUNNER_LABELS is not set"),
        ("RUNNER_LABELS", "erp staging", "RUNNER_LABELS must be comma-separated labels"),
        ("APP_ID", "my-app", "APP_ID must be the GitHub App's numeric id"),
        ("REPOSITORY", "erp-platform", "REPOSITORY must be owner/name"),
        ("RUNNER_GROUP_ID", "default", "RUNNER_GROUP_ID must be numeric"),
        ("GITHUB_API_URL", "http://api.github.com", "GITHUB_API_URL must be an https:// URL"),
    ],
)
def test_bad_settings_fail_with_the_setting_named(
    github: tuple[FakeGitHub, str], tmp_path: Path, key: str, value: str, message: str
) -> None:
    fake, api = github
    result = _jit_config(api, tmp_path, **{key: value})
    assert result.returncode != 0
    assert message in result.stderr
    assert fake.calls == []


def test_the_fake_checks_the_issuer_a_jwt_for_another_app_is_refused(
    github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    _, api = github
    result = _jit_config(api, tmp_path, APP_ID="42")
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
    result = _jit_config(api, tmp_path, PATH=f"{bin_dir}:{_image_path(tmp_path)}")
    assert result.returncode != 0
    assert "HTTP 401: 'Expiration time' claim ('exp') is in the past" in result.stderr
