"""Staging ↔ production parity report from the synthesized stacks (Story 3.1: staging proves production).

Resources are matched across environments by construct path without the stack name's environment
(`staging-infra/aks/cluster` and `production-infra/aks/cluster` are both `infra/aks/cluster`). Reports:
(a) resource types in one environment only, and resources without a counterpart;
(b) security-relevant settings that differ, and security resources (diagnostic settings, role
    assignments, private endpoints, policy, locks, network policies) present in one environment only;
(c) sizing differences (SKUs, capacity, counts, retention, zones, replication): expected, reported only.
Any (b) finding not matched by an entry of the allowlist (parity-allowlist.toml) fails with exit 1.

    python -m tools.parity SYNTH_DIR [--allowlist parity-allowlist.toml] [--format markdown|text]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.synth_diff import MISSING, differences, strip_metadata

ENVIRONMENTS = ("staging", "production")
STACK_KINDS = ("infra", "cluster")
DEFAULT_ALLOWLIST = Path(__file__).resolve().parent.parent / "parity-allowlist.toml"

# Attribute paths (list indices removed) whose differences weaken or change security posture.
SECURITY_ATTRIBUTE = re.compile(
    r"public_network_access|network_rules|network_acls|network_rule_set|default_action|ip_rules|"
    r"shared_access_key|local_auth|local_account|local_user|password_auth|active_directory|azure_active_directory|"
    r"rbac|authentication|oauth|admin_enabled|anonymous|tls|ssl|secure_transport|https|"
    r"encryption|customer_managed_key|key_vault_key|cmk|purge_protection|soft_delete|"
    r"allow_nested_items_to_be_public|cross_tenant|private_cluster_enabled|api_server_access|authorized_ip|"
    r"azure_policy|enforce|policy_definition|pod-security|threat|intrusion|defender|"
    r"workload_identity|role_definition|trusted_services|run_command|automatic_upgrade|prevent_destroy"
)
# Attribute paths that size an environment: differences are expected and only reported.
SIZING_ATTRIBUTE = re.compile(
    r"(^|\.)(sku|sku_name|sku_tier|tier|capacity|node_count|min_count|max_count|vm_size|zones?|"
    r"standby_availability_zone|high_availability|storage_mb|storage_tier|auto_grow|account_replication_type|"
    r"[a-z_]*retention[a-z_]*|[a-z_]*_days|daily_quota_gb|max_size_gb|partition_count|amount|"
    r"maximum_throughput_units|instance_count|min_capacity|max_capacity|autoscale)"
)
# Environment-specific values that are not posture: ids of tenants/groups/subscriptions and env names.
ENVIRONMENT_SPECIFIC = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<![a-z0-9])(staging|production|stg|prd)(?![a-z0-9])"
)
# Resource types that are security controls in themselves: present in one environment only is a finding.
SECURITY_TYPE = re.compile(
    r"diagnostic_setting|role_assignment|private_endpoint|network_security|policy_assignment|"
    r"policy_exemption|management_lock|security_center|network_policy|firewall_policy|key_vault_access_policy"
)


@dataclass(frozen=True)
class Finding:
    path: str  # construct path without the environment, e.g. infra/aks/cluster
    resource_type: str
    attribute: str  # attribute path, or "(resource)" when a resource exists in one environment only
    staging: Any
    production: Any

    def describe(self) -> str:
        return (
            f"{self.path} ({self.resource_type}) {self.attribute}:"
            f" staging={_show(self.staging)} production={_show(self.production)}"
        )


@dataclass(frozen=True)
class AllowEntry:
    path: str
    attribute: str
    reason: str

    def allows(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.path, self.path) and fnmatch.fnmatchcase(finding.attribute, self.attribute)


@dataclass
class ParityReport:
    types_only_in: dict[str, list[str]] = field(default_factory=dict)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    security: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, AllowEntry]] = field(default_factory=list)
    sizing: list[Finding] = field(default_factory=list)
    unused_allow_entries: list[AllowEntry] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.security)


def _show(value: Any) -> str:
    return "(absent)" if value is MISSING else json.dumps(value, sort_keys=True)


def environment_resources(synth_dir: Path, environment: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Construct path without the environment → (resource type, body) over the environment's stacks."""
    resources: dict[str, tuple[str, dict[str, Any]]] = {}
    for kind in STACK_KINDS:
        stack = f"{environment}-{kind}"
        file = Path(synth_dir) / "stacks" / stack / "cdk.tf.json"
        if not file.exists():
            raise FileNotFoundError(f"{file}: stack {stack} not synthesized (run scripts/synth)")
        for resource_type, by_name in json.loads(file.read_text()).get("resource", {}).items():
            for name, body in by_name.items():
                construct_path = body.get("//", {}).get("metadata", {}).get("path", f"{stack}/{name}")
                key = kind + construct_path.removeprefix(stack)
                resources[key] = (resource_type, strip_metadata(body))
    return resources


def _normalised(value: Any) -> str:
    """The value with environment-specific parts (ids, environment names) replaced, for security comparisons."""
    return ENVIRONMENT_SPECIFIC.sub("<env>", json.dumps(value, sort_keys=True, default=repr))


def load_allowlist(path: Path) -> list[AllowEntry]:
    if not path.exists():
        return []
    entries = []
    for index, raw in enumerate(tomllib.loads(path.read_text()).get("allow", [])):
        missing = {"path", "attribute", "reason"} - raw.keys()
        if missing or not str(raw.get("reason", "")).strip():
            raise ValueError(
                f"{path}: allow[{index}] needs non-empty path, attribute and reason"
                f" (missing {sorted(missing) or ['reason']})"
            )
        entries.append(AllowEntry(raw["path"], raw["attribute"], raw["reason"]))
    return entries


def compare(
    staging: dict[str, tuple[str, dict[str, Any]]],
    production: dict[str, tuple[str, dict[str, Any]]],
    allowlist: list[AllowEntry],
) -> ParityReport:
    report = ParityReport()
    types = {
        env: {t for t, _ in resources.values()} for env, resources in (("staging", staging), ("production", production))
    }
    report.types_only_in = {
        "staging": sorted(types["staging"] - types["production"]),
        "production": sorted(types["production"] - types["staging"]),
    }
    candidates: list[Finding] = []
    for env, mine, other in (("staging", staging, production), ("production", production, staging)):
        only_here = sorted(path for path in mine if path not in other)
        report.unmatched[env] = [f"{path} ({mine[path][0]})" for path in only_here]
        for path in only_here:
            if SECURITY_TYPE.search(mine[path][0]):
                values = ("present", MISSING) if env == "staging" else (MISSING, "present")
                candidates.append(Finding(path, mine[path][0], "(resource)", *values))
    for path in sorted(staging.keys() & production.keys()):
        staging_type, staging_body = staging[path]
        production_type, production_body = production[path]
        if staging_type != production_type:
            candidates.append(
                Finding(path, f"{staging_type}/{production_type}", "(resource)", staging_type, production_type)
            )
            continue
        for attribute, staging_value, production_value in differences(staging_body, production_body):
            generic = re.sub(r"\[\d+\]", "", attribute)
            finding = Finding(path, staging_type, attribute, staging_value, production_value)
            if SECURITY_ATTRIBUTE.search(generic) and _normalised(staging_value) != _normalised(production_value):
                candidates.append(finding)
            elif SIZING_ATTRIBUTE.search(generic):
                report.sizing.append(finding)
    used: set[AllowEntry] = set()
    for finding in candidates:
        entry = next((entry for entry in allowlist if entry.allows(finding)), None)
        if entry is None:
            report.security.append(finding)
        else:
            report.allowed.append((finding, entry))
            used.add(entry)
    report.unused_allow_entries = [entry for entry in allowlist if entry not in used]
    return report


def render_markdown(report: ParityReport) -> str:
    status = (
        ":x: security differences found" if report.failed else ":white_check_mark: no unexplained security differences"
    )
    lines = ["### Staging ↔ production parity", "", status, ""]
    if report.security:
        lines += (
            ["**Security differences (not allowlisted):**", ""]
            + [f"- `{f.describe()}`" for f in report.security]
            + [""]
        )
    if report.allowed:
        lines += ["**Allowlisted differences:**", ""]
        by_entry: dict[AllowEntry, list[Finding]] = {}
        for finding, entry in report.allowed:
            by_entry.setdefault(entry, []).append(finding)
        for entry, findings in by_entry.items():
            lines.append(
                f"- `{entry.attribute}` on {len(findings)} resource(s) matching `{entry.path}`: {entry.reason}"
            )
            lines += [f"  - `{f.describe()}`" for f in findings]
        lines.append("")
    for env in ENVIRONMENTS:
        if report.types_only_in.get(env):
            lines.append(f"Resource types only in {env}: " + ", ".join(f"`{t}`" for t in report.types_only_in[env]))
    if report.sizing:
        lines += ["", "<details><summary>sizing differences (expected)</summary>", ""]
        lines += [f"- `{f.describe()}`" for f in report.sizing] + ["", "</details>"]
    unmatched = [(env, item) for env in ENVIRONMENTS for item in report.unmatched.get(env, [])]
    if unmatched:
        lines += ["", "<details><summary>resources without a counterpart</summary>", ""]
        lines += [f"- {env} only: `{item}`" for env, item in unmatched] + ["", "</details>"]
    lines += [f"- unused allowlist entry: `{e.path}` `{e.attribute}`" for e in report.unused_allow_entries]
    return "\n".join(lines) + "\n"


def render_text(report: ParityReport) -> str:
    lines = [f"FAIL security: {f.describe()}" for f in report.security]
    lines += [f"allowed: {f.describe()} ({entry.reason})" for f, entry in report.allowed]
    lines += [
        f"types only in {env}: {', '.join(report.types_only_in[env])}"
        for env in ENVIRONMENTS
        if report.types_only_in.get(env)
    ]
    lines += [f"sizing: {f.describe()}" for f in report.sizing]
    lines += [f"{env} only: {item}" for env in ENVIRONMENTS for item in report.unmatched.get(env, [])]
    lines += [f"warning: unused allowlist entry {e.path} {e.attribute}" for e in report.unused_allow_entries]
    lines.append(
        "parity: FAILED (security differences above; fix them or add an allowlist entry with a reason)"
        if report.failed
        else "parity: ok"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, nargs="?", default=Path("cdktf.out"))
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    parser.add_argument("--format", choices=("markdown", "text"), default="text")
    args = parser.parse_args(argv)
    try:
        report = compare(
            environment_resources(args.synth_dir, "staging"),
            environment_resources(args.synth_dir, "production"),
            load_allowlist(args.allowlist),
        )
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    sys.stdout.write(render_markdown(report) if args.format == "markdown" else render_text(report))
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
