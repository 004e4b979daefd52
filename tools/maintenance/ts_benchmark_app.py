"""Generate the Node CDKTF app of the side-by-side benchmark from the synthesized stacks.

    .venv/bin/python -m tools.maintenance.ts_benchmark_app [--outdir cdktf.out] [--compare <node app's outdir>]

Reads `cdktf.out/stacks/*/cdk.tf.json` (written by `python main.py`) and writes one JavaScript program that
builds the same stacks the way a hand-written TypeScript CDKTF app would: every resource and data source is
an instance of its prebuilt provider class (`@cdktf/provider-azurerm` 14.23.1, `@cdktf/provider-kubernetes`
12.1.1, `@cdktf/provider-github` 15.3.1, imported per resource module as the cdktf docs advise), with
camelCase props, nested blocks as objects and arrays, `${...}` references as strings, at the same construct
path (so cdktf computes the same logical ids; `overrideLogicalId` keeps them where the Python app overrode
one); providers, backends, variables (with their validations), locals, outputs (under the construct ids of
cdktf's record, so cross-stack outputs keep theirs), remote state, `moved` and `import` blocks through their
cdktf API (`moveFromId`, `importFrom`: cdktf validates the Terraform version for each, as for the Python app).
Escape hatches where a prop cannot be expressed (attributes, also nested ones, the bindings lack; the
hashicorp/time and terraform_data resources and the azapi provider, which have no prebuilt class; the azurerm
version pin; `removed` blocks, a stack override in the Python app too) and where the Python app used one (the
attributes cdktf's `//.metadata.overrides` records per type), so the record matches too.

It emits JavaScript (CommonJS), not TypeScript: what runs and is timed is the same `node` process and the
same cdktf/provider JavaScript either way (a TypeScript app runs as `tsc` output), and emitting JS keeps
`typescript` out of the benchmark's install and a compile step out of the loop.

Prop names come from the provider packages themselves: each resource module's `synthesizeAttributes()` and
`<struct>ToTerraform()` functions map every terraform attribute to its prop (`name: cdktf.stringToTerraform(
this._name)`), which also tells maps (keys kept) from blocks (keys converted).

`compare()` (and `--compare <dir>`) reports how many blocks of two outputs are equal after JSON
normalisation and lists the differing ones.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TS_DIR = PROJECT_ROOT / "benchmarks" / "typescript"
DEFAULT_APP = TS_DIR / "generated" / "app.js"
PACKAGES = {
    "azurerm": "@cdktf/provider-azurerm",
    "github": "@cdktf/provider-github",
    "kubernetes": "@cdktf/provider-kubernetes",
}
META_ARGUMENTS = ("//", "depends_on", "provider", "lifecycle", "provisioner", "count", "for_each")
ATTRIBUTE = re.compile(r'^\s+"?([\w-]+)"?: (.+?),?$', re.M)
NESTED = re.compile(r"(?<!cdktf\.)\b(\w+ToTerraform)\b")
PROP = re.compile(r"(?:struct\.|this\._)(\w+)")
FUNCTION = re.compile(r"^function (\w+ToTerraform)\(struct\) \{\n(.*?)^\}", re.M | re.S)
SYNTHESIZE = re.compile(r"^    synthesizeAttributes\(\) \{\n(.*?)^    \}", re.M | re.S)
PROVIDER_VERSION = re.compile(r"providerVersion: '([^']+)'")
CLASS = re.compile(r'^(\w+)\.tfResourceType = "(\w+)";', re.M)


@dataclass
class Field:
    prop: str
    kind: str  # "value" (kept as is), "map" (keys kept), "block" (converted with `nested`)
    nested: str | None = None


@dataclass
class Schema:
    """One resource module: its class, its attributes and its nested block structs."""

    module: str
    class_name: str
    attributes: dict[str, Field]
    structs: dict[str, dict[str, Field]] = field(default_factory=dict)
    provider_version: str | None = None  # a provider class: the version it declares in required_providers


def _fields(body: str) -> dict[str, Field]:
    start = body.find("return {")
    if start < 0:
        return {}
    fields = {}
    for name, expression in ATTRIBUTE.findall(body[start:]):
        prop = PROP.search(expression)
        if not prop:
            continue
        nested = NESTED.findall(expression)
        if "hashMapper" in expression:
            fields[name] = Field(prop[1], "map")
        elif nested:
            fields[name] = Field(prop[1], "block", nested[0])
        else:
            fields[name] = Field(prop[1], "value")
    return fields


def module_of(node_modules: Path, kind: str, tf_type: str) -> tuple[str, Path]:
    provider, _, rest = tf_type.partition("_")
    folder = ("data-" + tf_type if kind == "data" else rest).replace("_", "-")
    if tf_type == provider:  # the provider itself
        folder = "provider"
    module = f"{PACKAGES[provider]}/lib/{folder}"
    return module, node_modules / module


def load_schema(node_modules: Path, kind: str, tf_type: str) -> Schema | None:
    provider = tf_type.partition("_")[0]
    if provider not in PACKAGES:
        return None
    module, folder = module_of(node_modules, kind, tf_type)
    if not folder.is_dir():
        return None
    class_name, attributes, structs, version = None, {}, {}, None
    for source_file in sorted(folder.rglob("*.js")):
        source = source_file.read_text()
        for name, declared in CLASS.findall(source):
            if declared == tf_type:
                class_name = name
        for function, body in FUNCTION.findall(source):
            structs[function] = _fields(body)
        if synthesize := SYNTHESIZE.search(source):
            attributes = _fields(synthesize[1])
        if declared_version := PROVIDER_VERSION.search(source):
            version = declared_version[1]
    if not class_name:
        return None
    return Schema(module, class_name, attributes, structs, version)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def convert(
    value: Any,
    fields: dict[str, Field] | None,
    schema: Schema,
    overrides: dict[str, Any] | None = None,
    path: str = "",
) -> Any:
    """A block's JSON value as props: keys renamed by `fields`. A key the bindings lack goes to `overrides`
    under its dotted path (an escape hatch, as in the Python app) while the path runs through objects only;
    inside a list it is camelCased (a sub-block the parser did not see: the comparison shows it)."""
    if isinstance(value, list):
        return [convert(item, fields, schema) for item in value]
    if not isinstance(value, dict) or fields is None:
        return value
    props = {}
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None and overrides is not None:
            overrides[path + key] = item
        elif spec is None:
            props[camel(key)] = item
        elif spec.kind == "block":
            nested = schema.structs.get(spec.nested or "")
            props[spec.prop] = convert(item, nested, schema, overrides, f"{path}{key}.")
        else:
            props[spec.prop] = item
    return props


def js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class StackProgram:
    name: str
    lines: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # "type.name" -> JS variable
    overridden: dict[str, list[str]] = field(default_factory=dict)  # type -> keys the Python app overrode

    def add(self, line: str) -> None:
        self.lines.append("  " + line)


class Generator:
    def __init__(self, node_modules: Path) -> None:
        self.node_modules = node_modules
        self.schemas: dict[tuple[str, str], Schema | None] = {}
        self.requires: dict[str, str] = {}  # module -> JS name
        self.counter = 0

    def schema(self, kind: str, tf_type: str) -> Schema | None:
        key = (kind, tf_type)
        if key not in self.schemas:
            self.schemas[key] = load_schema(self.node_modules, kind, tf_type)
        return self.schemas[key]

    def class_ref(self, schema: Schema) -> str:
        if schema.module not in self.requires:
            self.requires[schema.module] = f"m{len(self.requires)}"
        return f"{self.requires[schema.module]}.{schema.class_name}"

    def var(self) -> str:
        self.counter += 1
        return f"e{self.counter}"

    def stack(self, name: str, doc: dict[str, Any]) -> StackProgram:
        program = StackProgram(name)
        program.add(f"const stack = new TerraformStack(app, {js(name)});")
        program.add("const scopes = new Map([[" + js(name) + ", stack]]);")
        providers = self.providers(program, doc)
        self.settings(program, doc)
        # What the Python app set by escape hatch (cdktf's record: attribute names per type, in call order), the
        # generated app sets so too, even where a prop exists (e.g. the github environment's `reviewers`, a private
        # endpoint's `depends_on`), in the recorded order: the same JSON, and the same record.
        program.overridden = doc.get("//", {}).get("metadata", {}).get("overrides", {})
        for _, path, kind, tf_type, logical_id, block in elements(name, doc):
            self.element(program, providers, path, kind, tf_type, logical_id, block)
        for moved in doc.get("moved", []):
            program.add(f"{program.variables[moved['to']]}.moveFromId({js(moved['from'])});")
        for imported in doc.get("import", []):
            provider = f", {providers[imported['provider']]}" if "provider" in imported else ""
            program.add(f"{program.variables[imported['to']]}.importFrom({js(imported['id'])}{provider});")
        if "removed" in doc:  # the Python app writes them by a stack override (no cdktf API)
            program.add(f"stack.addOverride('removed', {js(doc['removed'])});")
        outputs(program, doc)
        return program

    def providers(self, program: StackProgram, doc: dict[str, Any]) -> dict[str, str]:
        """The stack's provider blocks (its prebuilt class, or a bare `TerraformProvider`): "type[.alias]" -> JS
        variable."""
        providers: dict[str, str] = {}
        for provider_type, configs in doc.get("provider", {}).items():
            for config in configs:
                variable = self.var()
                alias = config.get("alias")
                providers[f"{provider_type}.{alias}" if alias else provider_type] = variable
                schema = self.schema("provider", provider_type)
                if schema:
                    props = convert(config, schema.attributes, schema)
                    construct_id = js(alias or provider_type)
                    program.add(f"const {variable} = new {self.class_ref(schema)}(stack, {construct_id}, {js(props)});")
                else:
                    required = doc["terraform"]["required_providers"][provider_type]
                    program.add(
                        f"const {variable} = new TerraformProvider(stack, {js(provider_type)}, "
                        f"{{terraformResourceType: {js(provider_type)}, terraformGeneratorMetadata: "
                        f"{{providerName: {js(provider_type)}, providerVersionConstraint: {js(required['version'])}}}, "
                        f"terraformProviderSource: {js(required['source'])}}});"
                    )
                    # No prebuilt class (azapi): the Python app sets its arguments by escape hatch, so this one too.
                    for key, value in config.items():
                        program.add(f"{variable}.addOverride({js(key)}, {js(value)});")
        return providers

    def settings(self, program: StackProgram, doc: dict[str, Any]) -> None:
        """Version pins, the backend, variables (with their validations) and locals."""
        add = program.add
        for provider_type, required in doc["terraform"].get("required_providers", {}).items():
            schema = self.schema("provider", provider_type)
            if schema and schema.provider_version != required["version"]:  # the app pins another (stacks/common.py)
                add(f"pinVersion(stack, {js(provider_type)}, {js(required['version'])});")
        for backend_type, config in doc["terraform"].get("backend", {}).items():
            backend_class = {"azurerm": "AzurermBackend", "local": "LocalBackend"}[backend_type]
            add(f"new {backend_class}(stack, {js({camel(k): v for k, v in config.items()})});")
        for name, config in doc.get("variable", {}).items():
            props = {camel(k): v for k, v in config.items()}
            if "validation" in props:
                props["validation"] = [{camel(k): v for k, v in rule.items()} for rule in props["validation"]]
            add(f"new TerraformVariable(stack, {js(name)}, {js(props)});")
        for name, expression in doc.get("locals", {}).items():
            add(f"new TerraformLocal(stack, {js(name)}, {js(expression)});")

    def element(
        self,
        program: StackProgram,
        providers: dict[str, str],
        path: str,
        kind: str,
        tf_type: str,
        logical_id: str,
        block: dict[str, Any],
    ) -> None:
        add = program.add
        variable = self.var()
        address = f"{tf_type}.{logical_id}" if kind == "resource" else f"data.{tf_type}.{logical_id}"
        program.variables[address] = variable
        parent, _, construct_id = path.rpartition("/")
        scope = f"scope(scopes, {js(parent)})"
        if tf_type == "terraform_remote_state":
            config = {camel(k): v for k, v in block["config"].items()}
            config["workspace"] = block["workspace"]
            remote_class = {"azurerm": "DataTerraformRemoteStateAzurerm"}[block["backend"]]
            add(f"const {variable} = new {remote_class}({scope}, {js(construct_id)}, {js(config)});")
            return
        overridden = program.overridden.get(tf_type, [])
        escaped = {key: value for key, value in block.items() if key in overridden}
        block = {key: value for key, value in block.items() if key not in overridden}
        attributes = {key: value for key, value in block.items() if key not in META_ARGUMENTS}
        schema = self.schema(kind, tf_type)
        meta: dict[str, Any] = {}
        if "provider" in block:
            meta["provider"] = providers[block["provider"]]
        if "lifecycle" in block:
            meta["lifecycle"] = {camel(k): v for k, v in block["lifecycle"].items()}
        if "provisioner" in block:
            meta["provisioners"] = [
                {"type": provisioner_type, **{camel(k): v for k, v in body.items()}}
                for provisioner in block["provisioner"]
                for provisioner_type, body in provisioner.items()
            ]
        overrides: dict[str, Any] = {}
        if schema:
            props = {**convert(attributes, schema.attributes, schema, overrides), **meta}
            add(f"const {variable} = new {self.class_ref(schema)}({scope}, {js(construct_id)}, {props_js(props)});")
        else:  # no prebuilt class (time_sleep, terraform_data): a plain TerraformResource, attributes as overrides
            overrides = dict(attributes)
            add(f"const {variable} = raw({scope}, {js(construct_id)}, {js(tf_type)}, {props_js(meta)});")
        add(f"register(scopes, {js(path)}, {variable}, {js(logical_id)});")
        overrides.update(escaped)
        for key in overrides:
            add(f"{variable}.addOverride({js(key)}, {js(overrides[key])});")
        if "depends_on" in block:
            add(f"{variable}.dependsOn = {js(block['depends_on'])};")

    def program(self, stacks: dict[str, dict[str, Any]]) -> str:
        bodies: list[str] = []
        for name, doc in sorted(stacks.items()):
            stack = self.stack(name, doc)
            bodies.append(f"function stack{len(bodies)}(app) {{\n" + "\n".join(stack.lines) + "\n}")
        requires = "\n".join(f"const {alias} = require({js(module)});" for module, alias in self.requires.items())
        calls = "\n".join(f"stack{index}(app);" for index in range(len(bodies)))
        return f"{PRELUDE}{requires}\n\n" + "\n\n".join(bodies) + f"\n\nconst app = new App();\n{calls}\napp.synth();\n"


def elements(stack: str, doc: dict[str, Any]) -> list[tuple[int, str, str, str, str, dict[str, Any]]]:
    """Every data source and resource as (depth, construct path, kind, type, logical id, block), parents first: a
    construct's scope exists before its children are added to it."""
    found = []
    for kind in ("data", "resource"):
        for tf_type, by_name in doc.get(kind, {}).items():
            for logical_id, block in by_name.items():
                path = block.get("//", {}).get("metadata", {}).get("path", f"{stack}/{logical_id}")
                found.append((path.count("/"), path, kind, tf_type, logical_id, block))
    return sorted(found, key=lambda element: element[:2])


def outputs(program: StackProgram, doc: dict[str, Any]) -> None:
    # cdktf's record of the stack's outputs (construct id -> output name): the Python app's cross-stack outputs
    # have construct ids of their own (`cross-stack-output-<type>.<name>.<attribute>`).
    record = doc.get("//", {}).get("outputs", {}).get(program.name, {})
    construct_ids = {output: construct_id for construct_id, output in record.items() if isinstance(output, str)}
    for output, config in doc.get("output", {}).items():
        construct_id = construct_ids.get(output, output)
        props = js({camel(k): v for k, v in config.items()})
        program.add(f"out(stack, {js(construct_id)}, {js(output)}, {props});")


def props_js(props: dict[str, Any]) -> str:
    """Props as JS: a provider reference is a variable, not a string."""
    if "provider" not in props:
        return js(props)
    rest = {key: value for key, value in props.items() if key != "provider"}
    inner = js(rest)[1:-1]
    return "{" + f"provider:{props['provider']}" + ("," + inner if inner else "") + "}"


PRELUDE = """"use strict";
// Generated by tools/maintenance/ts_benchmark_app.py from cdktf.out: do not edit.
const {
  App, TerraformStack, TerraformProvider, TerraformResource, TerraformVariable, TerraformOutput, TerraformLocal,
  AzurermBackend, LocalBackend, DataTerraformRemoteStateAzurerm,
} = require("cdktf");
const { Construct } = require("constructs");

function scope(scopes, path) {
  let found = scopes.get(path);
  if (!found) {
    const cut = path.lastIndexOf("/");
    found = new Construct(scope(scopes, path.slice(0, cut)), path.slice(cut + 1));
    scopes.set(path, found);
  }
  return found;
}

function register(scopes, path, element, logicalId) {
  scopes.set(path, element);
  if (element.friendlyUniqueId !== logicalId) element.overrideLogicalId(logicalId);
}

function raw(scope, id, type, props) {
  return new TerraformResource(scope, id, {
    terraformResourceType: type,
    terraformGeneratorMetadata: { providerName: type.split("_")[0] },
    ...props,
  });
}

function pinVersion(stack, provider, version) {
  stack.addOverride(`terraform.required_providers.${provider}.version`, version);
}

function out(stack, id, name, config) {
  const output = new TerraformOutput(stack, id, config);
  if (output.friendlyUniqueId !== name) output.overrideLogicalId(name);
  return output;
}

"""


def generate(outdir: Path, app: Path, node_modules: Path) -> str:
    stacks = {
        path.parent.name: json.loads(path.read_text()) for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }
    if not stacks:
        raise SystemExit(f"no stacks in {outdir}: run `python main.py` first")
    source = Generator(node_modules).program(stacks)
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_text(source)
    return source


def blocks(doc: dict[str, Any]) -> dict[str, Any]:
    """A stack's JSON as addressable blocks: `resource.<type>.<name>`, `provider.<type>[<i>]`, `moved[<i>]`, ..."""
    found: dict[str, Any] = {}
    for section, content in doc.items():
        if section in ("resource", "data"):
            for tf_type, by_name in content.items():
                for name, block in by_name.items():
                    found[f"{section}.{tf_type}.{name}"] = block
        elif section == "provider":
            for tf_type, configs in content.items():
                for index, config in enumerate(configs):
                    found[f"provider.{tf_type}[{index}]"] = config
        elif section == "moved":
            for index, moved in enumerate(content):
                found[f"moved[{index}]"] = moved
        elif isinstance(content, dict):
            for name, block in content.items():
                found[f"{section}.{name}"] = block
        else:
            found[section] = content
    return found


def normalised(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def unordered(doc: dict[str, Any]) -> dict[str, Any]:
    """`moved` and `import` blocks and cdktf's records of them and of escape hatches (`//.metadata.moved`,
    `imports`, `overrides`) in a fixed order: cdktf lists them in the order the app created the resources and
    called `moveFromId`, `importFrom` and `addOverride`, which the generated app cannot know from the JSON;
    Terraform reads the blocks as a set and never reads the records."""
    doc = dict(doc)
    for section in ("moved", "import"):
        if section in doc:
            doc[section] = sorted(doc[section], key=normalised)
    metadata = doc.get("//", {}).get("metadata", {})
    for section in ("moved", "imports", "overrides"):
        if section in metadata:
            metadata = {**metadata, section: {key: sorted(ids) for key, ids in metadata[section].items()}}
    if metadata:
        doc["//"] = {**doc["//"], "metadata": metadata}
    return doc


def compare(ours: Path, theirs: Path) -> tuple[int, int, list[str]]:
    """(equal blocks, all blocks, one line per difference) between two cdktf.out folders' stacks."""
    equal = total = 0
    differences = []
    for path in sorted((ours / "stacks").glob("*/cdk.tf.json")):
        stack = path.parent.name
        other_path = theirs / "stacks" / stack / "cdk.tf.json"
        mine = blocks(unordered(json.loads(path.read_text())))
        other = blocks(unordered(json.loads(other_path.read_text()))) if other_path.is_file() else {}
        for address in sorted(set(mine) | set(other)):
            total += 1
            if address not in other:
                differences.append(f"{stack}: {address}: missing from the Node app's output")
            elif address not in mine:
                differences.append(f"{stack}: {address}: only in the Node app's output")
            elif normalised(mine[address]) == normalised(other[address]):
                equal += 1
            else:
                differences.append(f"{stack}: {address}: {describe(mine[address], other[address])}")
    return equal, total, differences


def describe(mine: Any, other: Any, where: str = "") -> str:
    """The first differing key path of two JSON values."""
    if isinstance(mine, dict) and isinstance(other, dict):
        for key in sorted(set(mine) | set(other)):
            if normalised(mine.get(key)) != normalised(other.get(key)):
                return describe(mine.get(key), other.get(key), f"{where}.{key}")
    if isinstance(mine, list) and isinstance(other, list) and len(mine) == len(other):
        for index, (a, b) in enumerate(zip(mine, other, strict=True)):
            if normalised(a) != normalised(b):
                return describe(a, b, f"{where}[{index}]")
    return f"{where or '.'}: python {normalised(mine)[:160]} / node {normalised(other)[:160]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out", help="the Python app's output")
    parser.add_argument("--app", type=Path, default=DEFAULT_APP)
    parser.add_argument("--node-modules", type=Path, default=TS_DIR / "node_modules")
    parser.add_argument("--compare", type=Path, help="a cdktf.out written by the generated app: report differences")
    options = parser.parse_args()
    if options.compare:
        equal, total, differences = compare(options.outdir, options.compare)
        print(f"{equal} of {total} blocks identical after JSON normalisation")
        print("\n".join(differences))
        return 0
    if not options.node_modules.is_dir():
        raise SystemExit(f"{options.node_modules} is missing: npm ci --prefix {TS_DIR.relative_to(PROJECT_ROOT)}")
    generate(options.outdir, options.app, options.node_modules)
    print(f"wrote {options.app}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
