"""The sign-in action's scripts (.github/actions/terraform-azure), run the way the action runs them (`bash <script>`
with the step's environment) against a fake GitHub OIDC token endpoint and fake tools on PATH."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ACTION = Path(__file__).resolve().parents[2] / ".github" / "actions" / "terraform-azure"
AUDIENCE = "api://AzureADTokenExchange"


@pytest.fixture
def token_endpoint() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """GitHub's ID token endpoint: answers {"value": "token-<n>"} to the bearer `request-token`, records requests."""
    requests: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            ok = self.headers.get("Authorization") == "Bearer request-token"
            body = json.dumps({"value": f"token-{len(requests)}"} if ok else {"message": "bad"}).encode()
            self.send_response(200 if ok else 401)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/token?api-version=2.0", requests
    server.shutdown()


def environment(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "ACTIONS_ID_TOKEN_REQUEST_URL": url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
        **extra,
    }


def test_once_writes_a_private_token_file_for_the_azure_audience(tmp_path: Path, token_endpoint) -> None:
    url, requests = token_endpoint
    result = subprocess.run(
        ["bash", str(ACTION / "federated-token.sh"), "once"],
        env=environment(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    token = tmp_path / "azure-federated-token"
    assert token.read_text() == "token-1" and stat.S_IMODE(token.stat().st_mode) == 0o600
    assert requests[0]["path"].endswith(f"&audience={AUDIENCE}")
    assert "token-1" not in result.stdout + result.stderr  # never printed


def test_start_exports_the_sign_in_and_keeps_the_token_fresh(tmp_path: Path, token_endpoint) -> None:
    url, requests = token_endpoint
    github_env = tmp_path / "github_env"
    process = subprocess.Popen(
        ["bash", str(ACTION / "federated-token.sh"), "start"],
        env=environment(
            tmp_path,
            url,
            CLIENT_ID="11111111-1111-1111-1111-111111111111",
            TENANT_ID="22222222-2222-2222-2222-222222222222",
            SUBSCRIPTION_ID="33333333-3333-3333-3333-333333333333",
            GITHUB_ENV=str(github_env),
            REFRESH_SECONDS="1",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the refresher stays in this session: killed below
    )
    try:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
        exported = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
        assert (
            exported["ARM_USE_OIDC"] == "true" and exported["ARM_CLIENT_ID"] == "11111111-1111-1111-1111-111111111111"
        )
        assert exported["AZURE_FEDERATED_TOKEN_FILE"] == str(tmp_path / "azure-federated-token")
        assert exported["AZURE_CLIENT_ID"] == exported["ARM_CLIENT_ID"]
        assert exported["AZURE_AUTHORITY_HOST"] == "https://login.microsoftonline.com/"
        deadline = time.monotonic() + 20
        while len(requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(requests) >= 3, "the refresher did not request fresh assertions"
        assert (tmp_path / "azure-federated-token").read_text() != "token-1"  # rewritten after the step ended
    finally:
        os.killpg(process.pid, signal.SIGTERM)


def test_without_the_id_token_permission_it_fails_and_says_why(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(ACTION / "federated-token.sh"), "once"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "id-token: write" in result.stderr


def test_a_refused_request_token_fails(tmp_path: Path, token_endpoint) -> None:
    url, _ = token_endpoint
    env = environment(tmp_path, url, ACTIONS_ID_TOKEN_REQUEST_TOKEN="stolen")
    result = subprocess.run(
        ["bash", str(ACTION / "federated-token.sh"), "once"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and not (tmp_path / "azure-federated-token").exists()


def fake_tools(tmp_path: Path, terraform_version: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "terraform": f'echo \'{{"terraform_version": "{terraform_version}"}}\'',
        "kubelogin": "echo kubelogin version v0.2.18",
        "node": "echo v22.23.2",
        "python3.11": 'exec python3 "$@"',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


def test_check_tools_accepts_the_image_s_terraform(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ACTION / "check-tools.sh")],
        env={"PATH": fake_tools(tmp_path, "1.11.4")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "terraform 1.11.4" in result.stdout


def test_check_tools_refuses_another_terraform_or_a_missing_tool(tmp_path: Path) -> None:
    path = fake_tools(tmp_path, "1.9.0")
    result = subprocess.run(
        ["bash", str(ACTION / "check-tools.sh")], env={"PATH": path}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "terraform is 1.9.0, the runner image pins 1.11.4" in result.stderr
    (tmp_path / "bin" / "kubelogin").unlink()
    result = subprocess.run(
        ["bash", str(ACTION / "check-tools.sh")], env={"PATH": path}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "kubelogin is not on PATH" in result.stderr


# --- The token path of the cluster stacks: kubelogin reads what the action keeps fresh --------------------------

WORKLOAD_IDENTITY_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
)


def token_path_findings(cluster_stack: dict, script: str) -> list[str]:
    """Why kubelogin would exchange an expired assertion (AADSTS700024) in a cluster plan, if it would."""
    problems = []
    for name, provider in enumerate(cluster_stack["provider"]["kubernetes"]):
        for exec_block in provider.get("exec", []):
            args = exec_block["args"]
            login = args[args.index("--login") + 1]
            if login != "workloadidentity":
                problems.append(
                    f"kubernetes provider {name}: kubelogin --login {login} exchanges one assertion taken at sign-in "
                    "(5 minutes), not the file the action refreshes"
                )
    exported = set(re.findall(r'echo "([A-Z_]+)=', script))
    problems += [f"the action does not export {v}" for v in WORKLOAD_IDENTITY_VARIABLES if v not in exported]
    if "sleep" not in script:
        problems.append("the action does not refresh the assertion")
    return problems


def test_cluster_plans_use_the_refreshed_assertion(stacks) -> None:
    script = (ACTION / "federated-token.sh").read_text()
    for environment in ("staging", "production"):
        assert token_path_findings(stacks[f"{environment}-cluster"], script) == []


def test_a_cluster_stack_on_the_cli_login_is_named(stacks) -> None:
    """Planted in the real staging-cluster JSON: kubelogin back on azurecli (the day-one fault of issue #27)."""
    import copy

    broken = copy.deepcopy(stacks["staging-cluster"])
    args = broken["provider"]["kubernetes"][0]["exec"][0]["args"]
    args[args.index("--login") + 1] = "azurecli"
    script = (ACTION / "federated-token.sh").read_text()
    assert token_path_findings(broken, script) == [
        "kubernetes provider 0: kubelogin --login azurecli exchanges one assertion taken at sign-in (5 minutes), "
        "not the file the action refreshes"
    ]
    assert token_path_findings(stacks["staging-cluster"], script.replace('echo "AZURE_FEDERATED_TOKEN_FILE=', "")) == [
        "the action does not export AZURE_FEDERATED_TOKEN_FILE"
    ]
