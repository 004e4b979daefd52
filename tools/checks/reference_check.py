"""Reference check: every Azure name, id, version and capability in the synthesized stacks resolves in the
dated extracts of Microsoft's published data in `reference/` (docs/assurance.md "Reference data").

Rules (each finding names the stack, resource address, attribute, value and the reference file):

- REF-SCHEMA   every azurerm resource/data source type, argument and nested block exists in the schema of the
               azurerm version the JSON targets (reference/azurerm_schema.json.gz)
- REF-POLICY   built-in policy (set) definition ids exist; assignments supply every parameter without a default,
               pass no unknown parameter and only allowed values (reference/policy_definitions.json)
- REF-METRIC   metric alerts: namespace = the scope's resource type, metric name, aggregation and dimensions
               exist; frequency and window size are values Azure accepts (reference/monitor.json)
- REF-DIAG     diagnostic settings: log categories / category groups exist for the target type, metrics only
               where the type has exportable metrics (reference/monitor.json)
- REF-ROLE     role_definition_name is a built-in role (reference/roles.json)
- REF-ZONE     zones, zone redundancy and zone-redundant HA only in regions with availability zones
               (reference/regions.json)
- REF-VERSION  AKS, Grafana and PostgreSQL versions are in support on the data's date (reference/versions.json)
- REF-DURATION ISO-8601 durations Azure accepts (Prometheus rule `for`, group interval, resolve time)
- REF-DNS      private endpoints' and AKS's private DNS zones match the zone Azure uses for that resource type
               and subresource (reference/private_dns_zones.json)
- REF-AZAPI    every azapi_resource's ARM type has a REST API spec excerpt in reference/ (ARM_SPEC_FILES) at the
               API version it names, and its body satisfies it (tools/checks/arm_schema.py)
- REF-IMAGE    every container image is referenced by digest, and every `az acr import` copies by the digest
               reference/image_digests.json records for that tag. Not failed but named as open items: an image the
               file lists without a digest, and the runners' `github-runner:<version>-<hash>` (a tag locked at build,
               tools/maintenance/runner_image.py, which the JSON cannot show)

Targets are found through the JSON itself: `${azurerm_x.name.id}` in `scopes` / `target_resource_id` /
`private_connection_resource_id` gives the Terraform type, which `terraform_types` maps to the ARM type.
A reference the data cannot decide (a row not read, a location that is a token) is counted as unverified,
never as passed; an open item is also printed by name. Acknowledged findings live in reference/acknowledged.toml,
each with a reason.

    .venv/bin/python -m tools.checks.reference_check cdktf.out          # exit 1 on any unacknowledged finding
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import gzip
import json
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.checks.arm_schema import violations
from tools.synth_output import main_guard, read_stacks

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"
META_ARGUMENTS = {"//", "count", "depends_on", "for_each", "lifecycle", "provider", "provisioner", "connection"}
_REF = re.compile(r"^\$\{(azurerm_\w+)\.([\w-]+)\.(id|name|location)\}(/.*)?$")
_DURATION = re.compile(r"^P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
# REST API spec excerpts (refreshed by tools/maintenance/refdata) for the ARM types written through azapi.
ARM_SPEC_FILES = ("dataprotection_backup_policy.json",)
_BUILT_IN = re.compile(r"^/providers/Microsoft\.Authorization/policy(Set)?Definitions/[0-9a-f-]{36}$")
_BY_DIGEST = re.compile(r"@(sha256:[a-f0-9]{64})$")
# The runners' image in a bootstrap registry: `<version>-<12 hex of runner-image/>` (constructs/runner_registry.py).
_RUNNER_IMAGE = re.compile(
    r"^\$\{azurerm_container_registry\.[\w-]+\.login_server\}/github-runner:[0-9.]+-[0-9a-f]{12}$"
)
_ACR_IMPORT = re.compile(r"\baz acr import\b.*?--source (\S+) --image (\S+)")


@dataclass(frozen=True, order=True)
class Finding:
    rule: str
    stack: str
    address: str
    attribute: str
    value: str
    message: str
    source: str

    def __str__(self) -> str:
        return (
            f"{self.rule} {self.stack}: {self.address} {self.attribute} = {self.value!r}: {self.message} "
            f"(reference/{self.source})"
        )


@dataclass
class Reference:
    schema: dict[str, Any]
    policy: dict[str, Any]
    monitor: dict[str, Any]
    roles: dict[str, Any]
    regions: dict[str, Any]
    versions: dict[str, Any]
    dns: dict[str, Any]
    acknowledged: list[dict[str, str]] = field(default_factory=list)
    arm_specs: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARM type -> spec excerpt
    images: dict[str, dict[str, Any]] = field(default_factory=dict)  # <repository>:<tag> -> pinned, sources

    @classmethod
    def load(cls, directory: Path = REFERENCE_DIR) -> Reference:
        def read(name: str) -> dict[str, Any]:
            path = directory / name
            text = gzip.decompress(path.read_bytes()).decode() if name.endswith(".gz") else path.read_text()
            return json.loads(text)

        acknowledged_path = directory / "acknowledged.toml"
        acknowledged = (
            tomllib.loads(acknowledged_path.read_text()).get("finding", []) if acknowledged_path.exists() else []
        )
        return cls(
            schema=read("azurerm_schema.json.gz"),
            policy=read("policy_definitions.json"),
            monitor=read("monitor.json"),
            roles=read("roles.json"),
            regions=read("regions.json"),
            versions=read("versions.json"),
            dns=read("private_dns_zones.json"),
            acknowledged=acknowledged,
            arm_specs={
                spec["arm_type"]: spec | {"file": name} for name, spec in ((n, read(n)) for n in ARM_SPEC_FILES)
            },
            images=read("image_digests.json")["images"],
        )

    @property
    def versions_date(self) -> datetime.date:
        return datetime.date.fromisoformat(self.versions["_meta"]["retrieved"])

    def acknowledges(self, finding: Finding) -> str | None:
        for entry in self.acknowledged:
            if (
                entry["rule"] == finding.rule
                and fnmatch.fnmatch(finding.address, entry["address"])
                and fnmatch.fnmatch(finding.attribute, entry.get("attribute", "*"))
            ):
                return entry["reason"]
        return None


def minutes(duration: str) -> float | None:
    """ISO-8601 duration (days, hours, minutes, seconds) in minutes; None when it is not one."""
    match = _DURATION.match(duration) if isinstance(duration, str) else None
    if not match:
        return None
    days, hours, mins, secs = (int(part or 0) for part in match.groups())
    return days * 1440 + hours * 60 + mins + secs / 60


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as synthesized: one object or a list of objects."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _value_at(body: dict[str, Any], path: str) -> Any:
    """The value at a violation's path ("body.properties.policyRules[2].name"), or "(missing)"."""
    node: Any = body
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return "(missing)"
    return node


class StackCheck:
    """All rules over one synthesized stack (cdk.tf.json)."""

    def __init__(
        self, name: str, stack: dict[str, Any], ref: Reference, custom_roles: frozenset[str] = frozenset()
    ) -> None:
        self.name, self.stack, self.ref = name, stack, ref
        self.custom_roles = custom_roles  # role definitions the app creates (any stack), assigned by name
        self.findings: list[Finding] = []
        self.checked: Counter[str] = Counter()
        self.unverified: Counter[str] = Counter()
        self.open: list[str] = []  # named open items (REF-IMAGE): not findings, never passed silently
        self.types: dict[str, str] = ref.monitor["terraform_types"]

    # -- helpers -------------------------------------------------------------------------------------------
    def resources(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for resource_type, entries in sorted(self.stack.get("resource", {}).items()):
            if types and resource_type not in types:
                continue
            for name, body in sorted(entries.items()):
                yield f"{resource_type}.{name}", body

    def body(self, resource_type: str, name: str) -> dict[str, Any]:
        return self.stack.get("resource", {}).get(resource_type, {}).get(name, {})

    def fail(self, rule: str, address: str, attribute: str, value: Any, message: str, source: str) -> None:
        self.findings.append(Finding(rule, self.name, address, attribute, str(value), message, source))

    def target(self, value: Any) -> tuple[str, str, str] | None:
        """`${azurerm_x.name.id}/suffix` → (terraform type, name, suffix)."""
        match = _REF.match(value) if isinstance(value, str) else None
        return (match.group(1), match.group(2), match.group(4) or "") if match else None

    def arm_type(self, value: Any) -> str | None:
        found = self.target(value)
        if not found or found[0] not in self.types:
            return None
        arm = self.types[found[0]]
        suffix = found[2].strip("/").split("/")
        return f"{arm}/{suffix[0]}" if suffix[0] else arm

    def location(self, resource_type: str, body: dict[str, Any], depth: int = 0) -> str | None:
        """The literal region of a resource: its `location`, its resource group's, or its parent's."""
        value = body.get("location")
        if isinstance(value, str) and not value.startswith("${"):
            return value.replace(" ", "").lower()
        found = _REF.match(value) if isinstance(value, str) else None
        if found and depth < 4:
            return self.location(found.group(1), self.body(found.group(1), found.group(2)), depth + 1)
        for key, other in sorted(body.items()):
            parent = self.target(other) if key.endswith("_id") else None
            if parent and depth < 4 and "location" in self.body(parent[0], parent[1]):
                return self.location(parent[0], self.body(parent[0], parent[1]), depth + 1)
        return None

    # -- rules ---------------------------------------------------------------------------------------------
    def run(self) -> StackCheck:
        for rule in (self.schema, self.policy, self.metrics, self.diagnostics, self.roles, self.zones):
            rule()
        for rule in (self.versions, self.durations, self.private_dns, self.azapi, self.images):
            rule()
        return self

    def schema(self) -> None:
        source = "azurerm_schema.json.gz"
        for kind, section in (("resource", "resources"), ("data", "data_sources")):
            for resource_type, entries in sorted(self.stack.get(kind, {}).items()):
                if not resource_type.startswith("azurerm_"):
                    continue
                for name, body in sorted(entries.items()):
                    address = f"{'data.' if kind == 'data' else ''}{resource_type}.{name}"
                    self.checked["schema"] += 1
                    spec = self.ref.schema[section].get(resource_type)
                    if spec is None:
                        self.fail(
                            "REF-SCHEMA",
                            address,
                            "(type)",
                            resource_type,
                            f"not a type of azurerm {self.ref.schema['provider_version']}",
                            source,
                        )
                        continue
                    self._walk(address, "", body, spec, source)
        for name, config in sorted(self.stack.get("provider", {}).items()):
            if name == "azurerm":
                for index, body in enumerate(blocks(config)):
                    self.checked["schema"] += 1
                    self._walk(f"provider.azurerm[{index}]", "", body, self.ref.schema["provider"], source)

    def _walk(self, address: str, prefix: str, body: dict[str, Any], spec: dict[str, Any], source: str) -> None:
        for key, value in sorted(body.items()):
            if (not prefix and key in META_ARGUMENTS) or key == "timeouts":
                continue
            path = f"{prefix}{key}"
            if key in spec["arguments"]:
                continue
            if key in spec["blocks"]:
                for item in blocks(value):
                    self._walk(address, f"{path}.", item, spec["blocks"][key], source)
                continue
            self.fail(
                "REF-SCHEMA",
                address,
                path,
                "(set)",
                f"no such argument or block in azurerm {self.ref.schema['provider_version']}",
                source,
            )
        for key, required in sorted(spec["arguments"].items()):
            if required == "required" and key not in body and key != "id":
                self.fail("REF-SCHEMA", address, f"{prefix}{key}", "(missing)", "required argument not set", source)

    def policy(self) -> None:
        source, definitions = "policy_definitions.json", self.ref.policy["definitions"]
        for address, body in self.resources(
            "azurerm_subscription_policy_assignment",
            "azurerm_resource_policy_assignment",
            "azurerm_resource_group_policy_assignment",
            "azurerm_management_group_policy_assignment",
        ):
            definition_id = body.get("policy_definition_id", "")
            if not _BUILT_IN.match(str(definition_id)):
                continue  # a custom definition of this stack
            self.checked["policy"] += 1
            definition = definitions.get(definition_id)
            if definition is None:
                self.fail("REF-POLICY", address, "policy_definition_id", definition_id, "no such built-in", source)
                continue
            supplied = json.loads(body.get("parameters") or "{}")
            for name, param in sorted(definition["parameters"].items()):
                self.checked["policy"] += 1
                if "default" not in param and name not in supplied:
                    self.fail(
                        "REF-POLICY",
                        address,
                        f"parameters.{name}",
                        "(missing)",
                        f"'{definition['display_name']}' has no default for it",
                        source,
                    )
            for name, wrapped in sorted(supplied.items()):
                param = definition["parameters"].get(name)
                if param is None:
                    self.fail(
                        "REF-POLICY",
                        address,
                        f"parameters.{name}",
                        wrapped,
                        f"not a parameter of '{definition['display_name']}'",
                        source,
                    )
                    continue
                value = wrapped.get("value") if isinstance(wrapped, dict) else wrapped
                allowed = param.get("allowed")
                if allowed and isinstance(value, str) and value.lower() not in {str(a).lower() for a in allowed}:
                    self.fail("REF-POLICY", address, f"parameters.{name}", value, f"allowed: {allowed}", source)
        for address, body in self.resources("azurerm_policy_set_definition"):
            for index, reference in enumerate(blocks(body.get("policy_definition_reference"))):
                definition_id = reference.get("policy_definition_id", "")
                if _BUILT_IN.match(str(definition_id)):
                    self.checked["policy"] += 1
                    if definition_id not in definitions:
                        self.fail(
                            "REF-POLICY",
                            address,
                            f"policy_definition_reference[{index}]",
                            definition_id,
                            "no such built-in",
                            source,
                        )

    def metrics(self) -> None:
        for address, body in self.resources("azurerm_monitor_metric_alert"):
            self._alert_durations(address, body)
            scope_types = {self.arm_type(scope) for scope in body.get("scopes", [])}
            for index, criterion in enumerate(blocks(body.get("criteria")) + blocks(body.get("dynamic_criteria"))):
                self._metric_criterion(address, f"criteria[{index}]", criterion, scope_types)

    def _alert_durations(self, address: str, body: dict[str, Any]) -> None:
        source, monitor = "monitor.json", self.ref.monitor
        for attribute in ("frequency", "window_size"):
            if attribute in body:
                self.checked["duration"] += 1
                if body[attribute] not in monitor["metric_alert"][attribute]:
                    self.fail(
                        "REF-DURATION",
                        address,
                        attribute,
                        body[attribute],
                        f"Azure accepts {monitor['metric_alert'][attribute]}",
                        source,
                    )
        if minutes(body.get("window_size", "PT5M")) < minutes(body.get("frequency", "PT1M")):  # type: ignore[operator]
            self.fail("REF-DURATION", address, "window_size", body["window_size"], "shorter than frequency", source)

    def _metric_criterion(self, address: str, at: str, criterion: dict[str, Any], scope_types: set[str | None]) -> None:
        source, monitor = "monitor.json", self.ref.monitor
        namespace = criterion.get("metric_namespace", "")
        self.checked["metric"] += 1
        if None not in scope_types and namespace.lower() not in {t.lower() for t in scope_types if t}:
            self.fail(
                "REF-METRIC",
                address,
                f"{at}.metric_namespace",
                namespace,
                f"the scope is {sorted(t for t in scope_types if t)}",
                source,
            )
        entry = next((v for k, v in monitor["resource_types"].items() if k.lower() == namespace.lower()), None)
        name = criterion.get("metric_name")
        metric = (entry or {}).get("metrics", {}).get(name)
        if metric is None:
            self.fail(
                "REF-METRIC",
                address,
                f"{at}.metric_name",
                name,
                f"not a metric of {namespace} in the data (refresh it if Azure added it)",
                source,
            )
            return
        if criterion.get("aggregation") not in metric["aggregations"]:
            self.fail(
                "REF-METRIC",
                address,
                f"{at}.aggregation",
                criterion.get("aggregation"),
                f"{name} supports {metric['aggregations']}",
                source,
            )
        for dimension in blocks(criterion.get("dimension")):
            if dimension.get("name") not in metric["dimensions"]:
                self.fail(
                    "REF-METRIC",
                    address,
                    f"{at}.dimension.name",
                    dimension.get("name"),
                    f"{name} has {metric['dimensions']}",
                    source,
                )

    def diagnostics(self) -> None:
        monitor = self.ref.monitor
        for address, body in self.resources("azurerm_monitor_diagnostic_setting"):
            target = body.get("target_resource_id", "")
            if isinstance(target, str) and re.fullmatch(r"/subscriptions/[0-9a-f-]+", target):
                self._activity_log_categories(address, body)
                continue
            arm = self.arm_type(target)
            entry = next((v for k, v in monitor["resource_types"].items() if arm and k.lower() == arm.lower()), None)
            if entry is None:
                self.unverified["diagnostic"] += 1
                continue
            for log in blocks(body.get("enabled_log")):
                self._log_category(address, log, entry, arm)
            for metric in blocks(body.get("enabled_metric")) + blocks(body.get("metric")):
                self._exported_metric(address, metric, entry, arm)

    def _activity_log_categories(self, address: str, body: dict[str, Any]) -> None:
        for log in blocks(body.get("enabled_log")):
            self.checked["diagnostic"] += 1
            if log.get("category") not in self.ref.monitor["subscription_log_categories"]:
                self.fail(
                    "REF-DIAG",
                    address,
                    "enabled_log.category",
                    log.get("category"),
                    "not an activity log category",
                    "monitor.json",
                )

    def _log_category(self, address: str, log: dict[str, Any], entry: dict[str, Any], arm: str | None) -> None:
        source = "monitor.json"
        self.checked["diagnostic"] += 1
        categories = entry["log_categories"]
        if "category_group" in log:
            group = log["category_group"]
            if group not in self.ref.monitor["category_groups"]:
                self.fail("REF-DIAG", address, "enabled_log.category_group", group, "no such group", source)
            elif categories is None:
                self.unverified["diagnostic"] += 1
            elif not categories:
                self.fail(
                    "REF-DIAG",
                    address,
                    "enabled_log.category_group",
                    group,
                    f"{arm} has no resource log categories",
                    source,
                )
        elif categories is None:
            self.unverified["diagnostic"] += 1
        elif log.get("category") not in categories:
            self.fail(
                "REF-DIAG",
                address,
                "enabled_log.category",
                log.get("category"),
                f"{arm} has {categories}",
                source,
            )

    def _exported_metric(self, address: str, metric: dict[str, Any], entry: dict[str, Any], arm: str | None) -> None:
        source = "monitor.json"
        self.checked["diagnostic"] += 1
        if entry["metrics_exportable"] is None:
            self.unverified["diagnostic"] += 1
        elif not entry["metrics_exportable"]:
            self.fail(
                "REF-DIAG",
                address,
                "enabled_metric.category",
                metric.get("category"),
                f"{arm} has no metric exportable through diagnostic settings",
                source,
            )
        elif metric.get("category") not in entry.get("metric_categories", ["AllMetrics"]):
            self.fail(
                "REF-DIAG",
                address,
                "enabled_metric.category",
                metric.get("category"),
                f"{arm} accepts the metric categories {entry.get('metric_categories', ['AllMetrics'])}",
                source,
            )

    def roles(self) -> None:
        for address, body in self.resources("azurerm_role_assignment"):
            name = body.get("role_definition_name")
            if isinstance(name, str) and not name.startswith("${"):
                self.checked["role"] += 1
                if name not in self.ref.roles["roles"] and name not in self.custom_roles:
                    self.fail(
                        "REF-ROLE",
                        address,
                        "role_definition_name",
                        name,
                        "neither a built-in role nor a custom role the app defines",
                        "roles.json",
                    )

    def zones(self) -> None:
        with_zones = set(self.ref.regions["regions_with_availability_zones"])

        def need(address: str, attribute: str, value: Any, region: str | None) -> None:
            self.checked["zone"] += 1
            if region is None:
                self.unverified["zone"] += 1
            elif region not in with_zones:
                self.fail(
                    "REF-ZONE",
                    address,
                    attribute,
                    value,
                    f"region '{region}' has no availability zones",
                    "regions.json",
                )

        for address, body in self.resources():
            resource_type = address.split(".")[0]
            if not resource_type.startswith("azurerm_"):
                continue
            region = self.location(resource_type, body)
            for attribute in ("zones", "zone"):
                if body.get(attribute):
                    need(address, attribute, body[attribute], region)
            if body.get("zone_redundancy_enabled") is True:
                need(address, "zone_redundancy_enabled", True, region)
            for ha in blocks(body.get("high_availability")):
                if ha.get("mode") == "ZoneRedundant":
                    need(address, "high_availability.mode", "ZoneRedundant", region)
            for pool in blocks(body.get("default_node_pool")):
                if pool.get("zones"):
                    need(address, "default_node_pool.zones", pool["zones"], region)
            for replica in blocks(body.get("georeplications")):
                if replica.get("zone_redundancy_enabled") is True:
                    need(
                        address,
                        "georeplications.zone_redundancy_enabled",
                        True,
                        str(replica.get("location", "")).replace(" ", "").lower() or None,
                    )

    def versions(self) -> None:
        source, versions, today = "versions.json", self.ref.versions, self.ref.versions_date.isoformat()

        def aks(address: str, attribute: str, value: Any, lts: bool) -> None:
            if not isinstance(value, str):
                return
            self.checked["version"] += 1
            minor = ".".join(value.split(".")[:2])
            entry = versions["aks"].get(minor)
            end = entry and (entry.get("lts_end_of_life") if lts else entry.get("end_of_life"))
            if not entry or not end or end < today or (entry.get("ga") or "") > today:
                self.fail(
                    "REF-VERSION",
                    address,
                    attribute,
                    value,
                    f"not in AKS {'LTS ' if lts else ''}support on {today} (end of life {end})",
                    source,
                )

        for address, body in self.resources("azurerm_kubernetes_cluster"):
            lts = body.get("support_plan") == "AKSLongTermSupport"
            aks(address, "kubernetes_version", body.get("kubernetes_version"), lts)
            for pool in blocks(body.get("default_node_pool")):
                aks(address, "default_node_pool.orchestrator_version", pool.get("orchestrator_version"), lts)
        for address, body in self.resources("azurerm_kubernetes_cluster_node_pool"):
            aks(address, "orchestrator_version", body.get("orchestrator_version"), False)
        for address, body in self.resources("azurerm_dashboard_grafana"):
            value = body.get("grafana_major_version")
            self.checked["version"] += 1
            entry = versions["grafana"].get(str(value))
            if not entry or entry["retired"] or (entry["end_of_support"] or "9999") < today:
                self.fail(
                    "REF-VERSION",
                    address,
                    "grafana_major_version",
                    value,
                    f"not a supported Azure Managed Grafana version on {today}",
                    source,
                )
        for address, body in self.resources("azurerm_postgresql_flexible_server"):
            value = body.get("version")
            self.checked["version"] += 1
            entry = versions["postgresql"].get(str(value))
            if not entry or entry["end_of_support"] < today:
                self.fail(
                    "REF-VERSION",
                    address,
                    "version",
                    value,
                    f"PostgreSQL {value} not in Azure standard support on {today}",
                    source,
                )

    def durations(self) -> None:
        source, limits = "monitor.json", self.ref.monitor["prometheus_rule_group"]
        low, high, for_min = (minutes(limits[k]) for k in ("interval_min", "interval_max", "for_min"))
        for address, body in self.resources("azurerm_monitor_alert_prometheus_rule_group"):
            if "interval" in body:
                self.checked["duration"] += 1
                value = minutes(body["interval"])
                if value is None or not low <= value <= high:  # type: ignore[operator]
                    self.fail(
                        "REF-DURATION",
                        address,
                        "interval",
                        body["interval"],
                        f"must be {limits['interval_min']}..{limits['interval_max']}",
                        source,
                    )
            for index, rule in enumerate(blocks(body.get("rule"))):
                if "for" in rule:
                    self.checked["duration"] += 1
                    value = minutes(rule["for"])
                    if value is None or value < for_min:  # type: ignore[operator]
                        self.fail(
                            "REF-DURATION",
                            address,
                            f"rule[{index}].for",
                            rule["for"],
                            f"Azure requires an ISO-8601 duration of at least {limits['for_min']}",
                            source,
                        )
                for resolution in blocks(rule.get("alert_resolution")):
                    if "time_to_resolve" in resolution:
                        self.checked["duration"] += 1
                        if minutes(resolution["time_to_resolve"]) is None:
                            self.fail(
                                "REF-DURATION",
                                address,
                                f"rule[{index}].alert_resolution.time_to_resolve",
                                resolution["time_to_resolve"],
                                "not an ISO-8601 duration",
                                source,
                            )

    def azapi(self) -> None:
        for address, body in self.resources("azapi_resource"):
            arm_type, _, api_version = str(body.get("type", "")).partition("@")
            spec = self.ref.arm_specs.get(arm_type)
            if spec is None:
                self.fail("REF-AZAPI", address, "type", body.get("type"), "no REST API spec excerpt for it", "")
                continue
            source = spec["file"]
            self.checked["azapi"] += 1
            if api_version != spec["api_version"]:
                message = f"the spec excerpt is of API {spec['api_version']}: refresh it for {api_version or '(none)'}"
                self.fail("REF-AZAPI", address, "type", body["type"], message, source)
                continue
            for problem in violations(body.get("body"), spec["definitions"], spec["root"]):
                at, _, message = problem.partition(": ")
                self.fail("REF-AZAPI", address, at, _value_at(body, at), message, source)

    def images(self) -> None:
        source = "image_digests.json"
        open_items = {image for image, entry in self.ref.images.items() if not _BY_DIGEST.search(entry["pinned"])}

        def tag_only(address: str, attribute: str, image: str, why: str) -> None:
            self.unverified["image"] += 1
            self.open.append(f"REF-IMAGE {self.name}: {address} {attribute} = {image!r}: by tag only, {why}")

        for address, body in self.resources():
            for attribute, image in _images_in(body):
                self.checked["image"] += 1
                if _BY_DIGEST.search(image):
                    continue
                if image in open_items:
                    tag_only(address, attribute, image, f"an open item of reference/{source}")
                elif _RUNNER_IMAGE.match(image):
                    tag_only(
                        address, attribute, image, "the runner tag locked at build (tools/maintenance/runner_image.py)"
                    )
                else:
                    message = f"referenced by tag only: record its digest (or list it as an open item) in {source}"
                    self.fail("REF-IMAGE", address, attribute, image, message, source)
            for attribute, command in _commands_in(body):
                for copied, target in _ACR_IMPORT.findall(command):
                    self.checked["image"] += 1
                    digest = _BY_DIGEST.search(copied)
                    tagged = f"{copied.split('@', 1)[0]}:{target.rsplit(':', 1)[-1]}" if digest else copied
                    recorded = _BY_DIGEST.search(self.ref.images.get(tagged, {}).get("pinned", ""))
                    if digest and recorded and digest.group(1) == recorded.group(1):
                        continue
                    if not digest and copied in open_items:
                        tag_only(address, attribute, copied, f"an open item of reference/{source}")
                        continue
                    expected = recorded.group(1) if recorded else "none recorded"
                    message = f"imports {tagged} not by the digest {source} records for it ({expected})"
                    self.fail("REF-IMAGE", address, attribute, copied, message, source)

    def private_dns(self) -> None:
        source, zones = "private_dns_zones.json", self.ref.dns["zones"]

        def zone_name(value: Any) -> str | None:
            found = self.target(value)
            if found and found[0] == "azurerm_private_dns_zone":
                name = self.body(found[0], found[1]).get("name")
                return name if isinstance(name, str) else None
            return None

        for address, body in self.resources("azurerm_private_endpoint"):
            for connection in blocks(body.get("private_service_connection")):
                arm = self.arm_type(connection.get("private_connection_resource_id"))
                subresources = connection.get("subresource_names") or []
                expected = (zones.get(arm or "") or {}).get(subresources[0]) if subresources else None
                for group in blocks(body.get("private_dns_zone_group")):
                    for zone_id in group.get("private_dns_zone_ids", []):
                        self.checked["dns"] += 1
                        actual = zone_name(zone_id)
                        if expected is None or actual is None:
                            self.unverified["dns"] += 1
                        elif actual != expected:
                            self.fail(
                                "REF-DNS",
                                address,
                                "private_dns_zone_group.private_dns_zone_ids",
                                actual,
                                f"{arm} '{subresources[0]}' uses {expected}",
                                source,
                            )
        template = zones.get("Microsoft.ContainerService/managedClusters", {}).get("management")
        for address, body in self.resources("azurerm_kubernetes_cluster"):
            actual = zone_name(body.get("private_dns_zone_id"))
            region = self.location("azurerm_kubernetes_cluster", body)
            if actual is None or template is None:
                continue
            self.checked["dns"] += 1
            expected = template.replace("{regionName}", region or "")
            if region is None:
                self.unverified["dns"] += 1
            elif actual != expected and not actual.endswith(f".{expected}"):
                self.fail(
                    "REF-DNS",
                    address,
                    "private_dns_zone_id",
                    actual,
                    f"AKS in {region} uses {expected} (or <subzone>.<that>)",
                    source,
                )


@dataclass
class Report:
    findings: list[Finding]
    acknowledged: list[tuple[Finding, str]]
    checked: Counter[str]
    unverified: Counter[str]
    open_items: list[str] = field(default_factory=list)


def _images_in(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(attribute path, value) of every `image` string anywhere in a resource body."""
    if isinstance(node, dict):
        for key, value in sorted(node.items()):
            at = f"{path}.{key}" if path else key
            if key == "image" and isinstance(value, str):
                yield at, value
            else:
                yield from _images_in(value, at)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _images_in(value, f"{path}[{index}]")


def _commands_in(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(attribute path, command) of every local-exec provisioner."""
    for index, provisioner in enumerate(body.get("provisioner") or []):
        command = (provisioner.get("local-exec") or {}).get("command") if isinstance(provisioner, dict) else None
        if isinstance(command, str):
            yield f"provisioner[{index}].local-exec.command", command


def check_stack(
    name: str, stack: dict[str, Any], ref: Reference, custom_roles: frozenset[str] = frozenset()
) -> StackCheck:
    return StackCheck(name, stack, ref, custom_roles).run()


def custom_role_names(stacks: dict[str, dict[str, Any]]) -> frozenset[str]:
    """Literal names of the role definitions the app creates (e.g. bootstrap's Kubernetes plan reader)."""
    return frozenset(
        body["name"]
        for stack in stacks.values()
        for body in stack.get("resource", {}).get("azurerm_role_definition", {}).values()
        if isinstance(body.get("name"), str) and not body["name"].startswith("${")
    )


def check_app(outdir: Path, ref: Reference | None = None) -> Report:
    ref = ref or Reference.load()
    findings: list[Finding] = []
    acknowledged: list[tuple[Finding, str]] = []
    checked: Counter[str] = Counter()
    unverified: Counter[str] = Counter()
    open_items: list[str] = []
    stacks = read_stacks(outdir)  # raises UnreadableSynth: a missing stack is not a clean one
    custom_roles = custom_role_names(stacks)
    for name, stack in stacks.items():
        result = check_stack(name, stack, ref, custom_roles)
        checked.update(result.checked)
        unverified.update(result.unverified)
        open_items += result.open
        for finding in sorted(result.findings):
            reason = ref.acknowledges(finding)
            if reason:
                acknowledged.append((finding, reason))
            else:
                findings.append(finding)
    return Report(findings, acknowledged, checked, unverified, open_items)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="the synthesized app (cdktf.out)")
    args = parser.parse_args(argv)
    return main_guard(lambda: _report(args.outdir), "reference check")


def _report(outdir: Path) -> int:
    report = check_app(outdir)
    for finding in report.findings:
        print(finding)
    for finding, reason in report.acknowledged:
        print(f"acknowledged: {finding} -- {reason}")
    for item in report.open_items:
        print(f"open: {item}")
    counts = ", ".join(f"{k} {report.checked[k]}" for k in sorted(report.checked))
    unverified = ", ".join(f"{k} {report.unverified[k]}" for k in sorted(report.unverified)) or "none"
    print(f"references checked: {counts}; unverified: {unverified}; findings: {len(report.findings)}")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
