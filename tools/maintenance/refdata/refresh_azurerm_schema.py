"""reference/azurerm_schema.json.gz: every azurerm resource and data source type of the provider version the
synthesized JSON targets (stacks/common.py AZURERM_VERSION), with its arguments (required or optional) and
nested blocks, recursively.

Source: the CDK Terrain bindings `cdktn-provider-azurerm` on PyPI, generated from that provider version's
schema. The wheel holds a jsii tarball whose `.jsii` assembly describes every resource's config struct: each
property's Terraform name is the anchor of its registry link (`.../docs/resources/container_registry#sku`),
a property whose type is another struct of the assembly is a nested block.

    .venv/bin/pip download --no-deps cdktn-provider-azurerm==17.0.0 -d /tmp/azurerm-wheel
    .venv/bin/python -m tools.maintenance.refdata.refresh_azurerm_schema \
        /tmp/azurerm-wheel/cdktn_provider_azurerm-17.0.0-py3-none-any.whl
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from tools.maintenance.refdata.common import meta, write

PACKAGE = "cdktn-provider-azurerm"
_TYPE_LINK = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/azurerm/([0-9.]+)/docs/(resources|data-sources)/(\w+) (azurerm_\w+)"
)
_ANCHOR = re.compile(r"/docs/(?:resources|data-sources)/\w+#(\w+) ")


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def struct_fqns(type_ref: dict[str, Any]) -> list[str]:
    """Struct types a property's type refers to (through unions and collections)."""
    if "fqn" in type_ref:
        return [type_ref["fqn"]]
    if "union" in type_ref:
        return [fqn for member in type_ref["union"]["types"] for fqn in struct_fqns(member)]
    if "collection" in type_ref:
        return struct_fqns(type_ref["collection"]["elementtype"])
    return []


def describe(types: dict[str, Any], fqn: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """{"arguments": {name: "required"|"optional"}, "blocks": {name: {...}}} of one config struct."""
    arguments: dict[str, str] = {}
    blocks: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        anchor = _ANCHOR.search(prop.get("docs", {}).get("summary", ""))
        name = anchor.group(1) if anchor else snake(prop["name"])
        nested = [
            ref for ref in struct_fqns(prop["type"]) if ref in types and types[ref].get("datatype") and ref not in seen
        ]
        if nested:
            blocks[name] = describe(types, nested[0], (*seen, fqn))
        else:
            arguments[name] = "optional" if prop.get("optional") else "required"
    return {"arguments": dict(sorted(arguments.items())), "blocks": dict(sorted(blocks.items()))}


def extract(assembly: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    types = assembly["types"]
    version = ""
    schema: dict[str, dict[str, Any]] = {"resources": {}, "data_sources": {}, "provider": {}}
    for fqn, spec in types.items():
        if spec.get("kind") != "class":
            continue
        if fqn.endswith(".provider.AzurermProvider"):
            schema["provider"] = describe(types, f"{fqn}Config")
            continue
        link = _TYPE_LINK.search(spec.get("docs", {}).get("summary", ""))
        config = f"{fqn}Config"
        if not link or config not in types:
            continue
        version = link.group(1)
        kind = "resources" if link.group(2) == "resources" else "data_sources"
        schema[kind][link.group(4)] = describe(types, config)
    return version, {
        kind: entries if kind == "provider" else dict(sorted(entries.items())) for kind, entries in schema.items()
    }


def read_assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(archive.read(name)), mode="r:gz") as tarball:
            member = tarball.extractfile("package/.jsii")
            assert member is not None
            return json.load(member)


def main(argv: list[str]) -> int:
    wheel = Path(argv[0])
    assembly = read_assembly(wheel)
    version, schema = extract(assembly)
    sources = [
        {
            "package": f"pypi:{PACKAGE}=={assembly['version']}",
            "file": wheel.name,
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        }
    ]
    data = {
        "_meta": meta(
            sources=sources,
            script="tools.maintenance.refdata.refresh_azurerm_schema <wheel>",
            note="Terraform meta-arguments (count, depends_on, for_each, lifecycle, provider) and 'timeouts' are "
            "not listed per type.",
        ),
        "provider_version": version,
        **schema,
    }
    path = write("azurerm_schema.json.gz", data)
    print(
        f"{path}: azurerm {version}, {len(schema['resources'])} resources, {len(schema['data_sources'])} data sources"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
