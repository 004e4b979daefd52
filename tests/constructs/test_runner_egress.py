"""The runners' allow list (constructs/egress_hosts.py): one entry per host, each with a reason, valid Azure
Firewall names, the docs/zero-to-running.md copy fresh; and the firewall built from it (constructs/runner_egress.py)."""

from __future__ import annotations

import re
from pathlib import Path

from constructs.egress_hosts import RUNNER_EGRESS, egress_groups, markdown_table

ZERO_TO_RUNNING = Path("docs/zero-to-running.md")
# Azure Firewall application rules: a host name, or a leading `*.` wildcard (never `*` alone or a mid wildcard).
FQDN = re.compile(r"^(\*\.)?([a-z0-9-]+\.)+[a-z]{2,}$")


def test_every_host_is_listed_once_with_a_reason() -> None:
    names = [host.fqdn for host in RUNNER_EGRESS]
    assert len(names) == len(set(names))
    assert all(FQDN.match(name) for name in names), [n for n in names if not FQDN.match(n)]
    assert all(len(host.why) > 20 for host in RUNNER_EGRESS)
    assert sum(len(fqdns) for fqdns in egress_groups().values()) == len(names)


def test_what_the_jobs_and_the_platform_need_is_in_the_list() -> None:
    names = {host.fqdn for host in RUNNER_EGRESS}
    assert {"github.com", "api.github.com", "*.actions.githubusercontent.com", "codeload.github.com"} <= names
    assert {"pypi.org", "files.pythonhosted.org", "registry.terraform.io", "releases.hashicorp.com"} <= names
    assert {"management.azure.com", "login.microsoftonline.com"} <= names
    assert {"mcr.microsoft.com", "*.data.mcr.microsoft.com"} <= names  # Container Apps with a UDR, all scenarios
    assert "graph.microsoft.com" not in names and "*" not in names


def test_zero_to_running_prints_the_current_list() -> None:
    text = ZERO_TO_RUNNING.read_text()
    section = text.split("<!-- runner-egress:begin -->\n", 1)[1].split("\n<!-- runner-egress:end -->", 1)[0]
    assert section == markdown_table(), "regenerate it: .venv/bin/python -m constructs.egress_hosts"
