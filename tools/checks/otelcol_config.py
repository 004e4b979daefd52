"""Validates an OpenTelemetry Collector configuration against the collector's published component schemas
(tools/checks/otelcol_components.json), since no collector binary (`otelcol validate`) is obtainable here.

What it checks, as the collector does at start-up: the top-level sections; every component id is
`type[/name]` of a known component type of its section; every key of a component is in that component's
config.schema.yaml, with the schema's type (duration strings included) and enum; `service.pipelines` names
known pipeline types, has receivers and exporters, and references only components that are defined. A config
that is empty, not a mapping, or has no pipeline is a problem too ("nothing evaluated" is never a pass).

    python -m tools.checks.otelcol_config cdktf.out/stacks/*-cluster/cdk.tf.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).with_name("otelcol_components.json")
DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
CONFIG_KEY = "config.yaml"
PIPELINE_PARTS = ("receivers", "processors", "exporters")


def load_reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


def _type_ok(value: Any, schema: dict[str, Any]) -> bool:
    expected = schema.get("type")
    if expected == "string":
        if not isinstance(value, str):
            return False
        return schema.get("format") != "duration" or bool(DURATION.match(value)) or value.startswith("${env:")
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    return True


def _check_keys(where: str, body: Any, schema: dict[str, Any]) -> list[str]:
    if body is None:
        return []  # `otlp:` with no settings takes the defaults
    if not isinstance(body, dict):
        return [f"{where}: must be a mapping"]
    problems = []
    for key, value in sorted(body.items()):
        if key not in schema:
            problems.append(f"{where}: unknown key {key!r} (known: {sorted(schema)})")
            continue
        rule = schema[key]
        if not _type_ok(value, rule):
            problems.append(f"{where}.{key}: {value!r} is not a {rule.get('format') or rule.get('type')}")
        elif "enum" in rule and value not in rule["enum"]:
            problems.append(f"{where}.{key}: {value!r} is not one of {rule['enum']}")
        elif "properties" in rule:
            problems.extend(_check_keys(f"{where}.{key}", value, rule["properties"]))
    return problems


def _component_problems(config: dict[str, Any], reference: dict[str, Any]) -> tuple[list[str], dict[str, set[str]]]:
    """Problems of the receivers, processors, exporters and extensions, and the ids each section defines."""
    found = []
    defined: dict[str, set[str]] = {}
    for section, known in reference["components"].items():
        defined[section] = set()
        for component_id, body in sorted((config.get(section) or {}).items()):
            kind = component_id.split("/", 1)[0]
            if kind not in known:
                found.append(f"{section}.{component_id}: unknown component type {kind!r} (known: {sorted(known)})")
                continue
            defined[section].add(component_id)
            found.extend(_check_keys(f"{section}.{component_id}", body, known[kind]))
    return found, defined


def _pipeline_problems(name: str, pipeline: dict[str, Any], defined: dict[str, set[str]], types: Any) -> list[str]:
    found = [] if name.split("/", 1)[0] in types else [f"service.pipelines.{name}: unknown pipeline type"]
    for part in PIPELINE_PARTS:
        refs = pipeline.get(part) or []
        if part != "processors" and not refs:
            found.append(f"service.pipelines.{name}.{part}: at least one is required")
        found.extend(
            f"service.pipelines.{name}.{part}: {ref!r} is not defined in {part}"
            for ref in refs
            if ref not in defined[part]
        )
    return found


def _service_problems(service: dict[str, Any], defined: dict[str, set[str]], reference: dict[str, Any]) -> list[str]:
    found = [
        f"service: unknown key {k!r}" for k in sorted(service) if k not in ("extensions", "pipelines", "telemetry")
    ]
    found.extend(
        f"service.extensions: {extension!r} is not defined"
        for extension in service.get("extensions", [])
        if extension not in defined["extensions"]
    )
    for name, pipeline in sorted(service["pipelines"].items()):
        found.extend(_pipeline_problems(name, pipeline, defined, reference["pipeline_types"]))
    return found


def problems(config: Any, reference: dict[str, Any] | None = None) -> list[str]:
    """Every way `config` (the parsed collector configuration) would be refused; [] when it is valid."""
    reference = reference or load_reference()
    if not isinstance(config, dict) or not config:
        return ["the configuration is empty or not a mapping: nothing to evaluate"]
    found = [f"unknown top-level section {k!r}" for k in sorted(config) if k not in reference["sections"]]
    components, defined = _component_problems(config, reference)
    found.extend(components)
    service = config.get("service")
    if not isinstance(service, dict) or not service.get("pipelines"):
        return [*found, "service.pipelines: no pipeline is defined"]
    return [*found, *_service_problems(service, defined, reference)]


def collector_configs(stack: dict[str, Any]) -> dict[str, Any]:
    """The collector configurations a synthesized stack declares (ConfigMaps with a `config.yaml` key), by
    ConfigMap name; the YAML is written as JSON, which YAML parsers read unchanged. Terraform's `$${` escape
    is undone: the collector sees `${env:...}`."""
    return {
        config_map["metadata"]["name"]: json.loads(config_map["data"][CONFIG_KEY].replace("$${", "${"))
        for config_map in stack.get("resource", {}).get("kubernetes_config_map_v1", {}).values()
        if CONFIG_KEY in config_map.get("data", {})
    }


def main(argv: list[str]) -> int:
    failed = checked = 0
    for path in argv:
        for name, config in collector_configs(json.loads(Path(path).read_text())).items():
            checked += 1
            for problem in problems(config):
                failed += 1
                print(f"{path}: {name}: {problem}")
    if not checked:
        print("no collector configuration found: nothing evaluated")
        return 1
    print(f"{checked} collector configurations checked, {failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
