"""Scan synthesized output for secrets written as literals.

Usage: python -m tools.checks.secret_scan [SYNTH_DIR]   (default: cdktf.out; exit 1 when anything is found)

Two layers: detect-secrets (PyPI, its own tool venv .cache/tools/detect-secrets, created by
scripts/setup) with its stock plugins, and our own rules for the shapes this platform handles:
Azure storage/Event Hubs keys and connection strings, SAS tokens, Slack webhooks, PagerDuty keys,
private keys and password arguments given a literal instead of a reference. References and
interpolations (`${...}`) are how secrets must arrive, so they never count as a finding.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.synth_output import main_guard, read_stacks

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DETECT_SECRETS = PROJECT_ROOT / ".cache" / "tools" / "detect-secrets" / "bin" / "detect-secrets"


@dataclass(frozen=True)
class SecretRule:
    id: str
    pattern: re.Pattern[str]
    explanation: str


def _rule(rule_id: str, pattern: str, explanation: str) -> SecretRule:
    return SecretRule(rule_id, re.compile(pattern), explanation)


# A JSON string value that is a literal: not empty, and not starting a Terraform interpolation.
_LITERAL = r'"(?!\$\{)(?:[^"\\]|\\.)+"'
OWN_RULES: tuple[SecretRule, ...] = (
    _rule("azure-storage-key", r"AccountKey=[A-Za-z0-9+/=]{20,}", "Azure storage account key in a connection string"),
    _rule("azure-connection-string", r"DefaultEndpointsProtocol=https?;", "Azure storage connection string"),
    _rule(
        "azure-shared-access-key", r"SharedAccessKey=[A-Za-z0-9+/=]{20,}", "Event Hubs / Service Bus shared access key"
    ),
    _rule(
        "azure-sas", r"SharedAccessSignature=|[?&]sig=[A-Za-z0-9%+/=]{20,}", "Azure shared access signature (SAS) token"
    ),
    _rule(
        "slack-webhook",
        r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/",
        "Slack incoming-webhook URL (the URL is the secret)",
    ),
    _rule(
        "pagerduty-key", r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])", "32-hex PagerDuty integration/routing key"
    ),
    _rule("private-key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----", "PEM private key"),
    _rule(
        "literal-password",
        rf'"(?:\w*password|\w*passwd|\w*_secret|secret)"\s*:\s*{_LITERAL}',
        "password/secret argument with a literal value instead of a reference",
    ),
)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    explanation: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.explanation}"


def scan_own_rules(root: Path) -> list[Finding]:
    findings = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = str(path.relative_to(root))
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            findings += [
                Finding(relative, number, rule.id, rule.explanation) for rule in OWN_RULES if rule.pattern.search(line)
            ]
    return findings


# Lines cdktf writes that hold identifiers, not values: logical ids (construct path + hash) as keys or as
# list items (the stack metadata's list of moved resources), `moved` blocks' addresses, the construct
# metadata, and the names of the outputs cdktf generates for cross-stack references. Their length and mixed
# case make detect-secrets' entropy plugins fire.
# Container Apps `secret_name` arguments name a secret (a reference, like `${var.x}`), they never hold one.
SECRET_NAME_LINES = r'^\s*"secret_name": "[a-z0-9][a-z0-9-]{0,252}",?$'
CDKTF_IDENTIFIER_LINES = (
    r'^\s*"[\w.-]+_[0-9A-F]{8}": \{$|^\s*"[\w.-]+_[0-9A-F]{8}",?$'
    r'|^\s*"(from|to)": "[\w-]+\.[\w.-]+_[0-9A-F]{8}",?$|^\s*"(uniqueId|path)": "[^"]*",?$'
    r'|^\s*"cross-stack-output-[\w.-]+": \{$|' + SECRET_NAME_LINES
)


def scan_detect_secrets(root: Path) -> list[Finding]:
    completed = subprocess.run(
        [str(DETECT_SECRETS), "scan", "--all-files", "--exclude-lines", CDKTF_IDENTIFIER_LINES, "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return [
        Finding(file, item["line_number"], f"detect-secrets:{item['type']}", "found by detect-secrets")
        for file, items in sorted(json.loads(completed.stdout)["results"].items())
        for item in items
    ]


def scan(root: Path) -> list[Finding]:
    if not DETECT_SECRETS.exists():
        raise RuntimeError(f"{DETECT_SECRETS} missing: run scripts/setup")
    return scan_detect_secrets(root) + scan_own_rules(root)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else PROJECT_ROOT / "cdktf.out"
    return main_guard(lambda: _report(root), "secret scan")


def _report(root: Path) -> int:
    read_stacks(root)  # a missing or unreadable synth is a failure, not an empty scan
    findings = scan(root)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s) in {root}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
