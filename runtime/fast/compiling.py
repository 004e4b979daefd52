"""Tier compile (step 4): the provider submodules compiled as current jsii-pacmak generates bindings.

aws/jsii #5134 and #5177, which the archived bindings predate: annotations kept as strings (PEP 563) instead of
~10,000 `typing` expressions evaluated per module at import, and each type-checking stub's hints resolved once
(`stub_type_hints`; an annotation string shared by many stubs is evaluated once) instead of by
`typing.get_type_hints` on every call. The generated `check_type` first lets None through where the expected type
is Optional (`none_passes_check`: what typeguard concludes after trying every member). Same checks, same errors;
the bytecode is cached in `.cache/jsii-fast/bytecode/<cache tag>/` (one folder per interpreter, e.g. cpython-311
and cpython-313 side by side), keyed like Python's own (magic number, source size and mtime) plus
`COMPILE_RECIPE`. What this relies on is checked on the running interpreter each time (`check_interpreter`).
"""

from __future__ import annotations
import __future__

import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import platform
import re
import sys
import types
import typing
from typing import Any

from runtime.fast import settings
from runtime.fast.settings import Unverified, atomic_file

# Bump when the compiling (step 4) changes: it keys the bytecode (with this module's path, which the code imports).
COMPILE_RECIPE = f"pep563-shared-hints-none-v1 {__name__}"


# What compiling a generated provider submodule changes (step 4).
STRING_ANNOTATIONS = __future__.annotations.compiler_flag
IMPORT_JSII = b"\nimport jsii\n"
IMPORT_JSII_AND_HELPERS = (
    b"\nimport jsii; from runtime.fast.compiling import stub_type_hints as _fast_stub_type_hints, "
    b"none_passes_check as _fast_none_passes_check\n"
)
UNCACHED_HINTS = b"typing.get_type_hints(_typecheckingstub__"
CACHED_HINTS = b"_fast_stub_type_hints(_typecheckingstub__"
CHECK_TYPE = b"""
def check_type(argname: str, value: object, expected_type: typing.Any) -> typing.Any:
    if TYPEGUARD_MAJOR_VERSION <= 2:
"""
CHECK_TYPE_NONE_FIRST = b"""
def check_type(argname: str, value: object, expected_type: typing.Any) -> typing.Any:
    if value is None and _fast_none_passes_check(expected_type):
        return None
    if TYPEGUARD_MAJOR_VERSION <= 2:
"""


# A generated type-checking stub in miniature, compiled as step 4 compiles the provider submodules.
INTERPRETER_PROBE = b"""import builtins
import typing
def _typecheckingstub__probe(optional: typing.Optional[builtins.str], union: typing.Union[builtins.int, builtins.str],
                             nested: typing.Sequence[typing.Optional[builtins.str]]) -> None: ...
"""


def check_interpreter() -> None:
    """What this tier relies on, checked on the running interpreter and typeguard (whether the tier is on or not).

    String annotations under the PEP 563 compiler flag; `stub_type_hints` equal to `typing.get_type_hints`;
    `none_passes_check` agreeing with typeguard's own verdict (None passes Optional, fails a Union
    without None).
    """
    where = f"Python {platform.python_version()}"
    namespace: dict = {}
    exec(
        compile(INTERPRETER_PROBE, "<fast-path probe>", "exec", flags=STRING_ANNOTATIONS, dont_inherit=True), namespace
    )
    stub = namespace["_typecheckingstub__probe"]
    if not all(isinstance(annotation, str) for annotation in stub.__annotations__.values()):
        raise Unverified(f"{where}: the annotations compiler flag no longer keeps annotations as strings")
    hints = typing.get_type_hints(stub)
    if stub_type_hints(stub) != hints:
        raise Unverified(f"{where}: hints resolved once differ from typing.get_type_hints")
    import typeguard

    verdicts = {}
    for name in ("optional", "union", "nested"):
        try:
            typeguard.check_type(name, None, hints[name])
            verdicts[name] = True
        except TypeError:
            verdicts[name] = False
        if none_passes_check(hints[name]) and not verdicts[name]:
            raise Unverified(f"{where}: typeguard rejects None for {hints[name]}, the None-first check lets it through")
    if verdicts != {"optional": True, "union": False, "nested": False} or not none_passes_check(hints["optional"]):
        raise Unverified(f"{where}: typeguard's or typing's treatment of Optional differs ({verdicts})")


class ProviderSubmoduleFinder(importlib.abc.MetaPathFinder):
    """Finds the provider submodules (not `_jsii`) and gives them the compiling loader below."""

    def __init__(self, submodules: set[str]) -> None:
        self._submodules = submodules  # full names, e.g. "cdktf_cdktf_provider_azurerm.resource_group"

    def find_spec(self, fullname: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._submodules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.origin is not None:
            spec.loader = CurrentJsiiBindingLoader(fullname, spec.origin)
        return spec


_hints_of_stub: dict[types.FunctionType, dict[str, object]] = {}
# (annotation, ids of the objects its names are bound to) -> (resolved type, those objects, kept alive for the ids)
_resolved_annotations: dict[tuple, tuple[object, tuple]] = {}
FREE_NAME = re.compile(r"(?<![\w.])(?!\d)\w+")  # a name not after a dot: looked up in the module's globals
_UNBOUND = object()  # a name the module does not bind (a builtin such as None, or a string inside Literal[...])
NONE_TYPE = type(None)


def stub_type_hints(stub: types.FunctionType) -> dict[str, object]:
    """`typing.get_type_hints(stub)` for a generated type-checking stub, resolved once per process.

    Like jsii's own `cached_type_hints` (current jsii-pacmak), and also across stubs: the same annotation
    string ("typing.Optional[builtins.str]", ~9 of 10 of them repeats) is evaluated once for all modules
    whose globals bind its names to the same objects, as `get_type_hints` would evaluate it in each.
    """
    hints = _hints_of_stub.get(stub)
    if hints is None:
        hints = _hints_of_stub[stub] = {
            name: _resolved_annotation(annotation, stub.__globals__)
            for name, annotation in stub.__annotations__.items()
        }
    return hints


def _resolved_annotation(annotation: object, namespace: dict) -> object:
    if not isinstance(annotation, str):
        return typing.get_type_hints(types.SimpleNamespace(__annotations__={"_": annotation}, __globals__=namespace))[
            "_"
        ]
    bound = tuple(namespace.get(name, _UNBOUND) for name in FREE_NAME.findall(annotation))
    key = (annotation, tuple(map(id, bound)))
    found = _resolved_annotations.get(key)
    if found is None:
        # The evaluation get_type_hints(stub) makes of each annotation: same globals, same ForwardRef flags.
        holder = types.SimpleNamespace(__annotations__={"_": annotation}, __globals__=namespace)
        found = _resolved_annotations[key] = (typing.get_type_hints(holder)["_"], bound)
    return found[0]


def none_passes_check(expected_type: Any) -> bool:
    """Whether typeguard's check of None against `expected_type` passes without trying its members.

    True for a Union with None among its members (every `typing.Optional[...]`): typeguard tries the members
    in order, each other member rejects None with a TypeError it catches, and NoneType accepts it. Six in
    ten checks a synth makes are of None (unset optional arguments), each ~7 µs in typeguard 2.
    """
    return getattr(expected_type, "__origin__", None) is typing.Union and NONE_TYPE in expected_type.__args__


class CurrentJsiiBindingLoader(importlib.machinery.SourceFileLoader):
    """Compiles a generated submodule with string annotations, hints resolved once and None checks first (step 4)."""

    def get_code(self, fullname: str) -> types.CodeType:
        source_path = self.get_filename(fullname)
        stat = os.stat(source_path)
        header = importlib.util.MAGIC_NUMBER + f"{COMPILE_RECIPE} {stat.st_size} {stat.st_mtime_ns}\n".encode()
        cached = settings.CACHE_DIR / "bytecode" / sys.implementation.cache_tag / f"{fullname}.pyc"
        try:
            data = cached.read_bytes()
            if data.startswith(header):
                return marshal.loads(memoryview(data)[len(header) :])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # absent or unreadable: compiled again below
        source = self.get_data(source_path)
        if source.count(IMPORT_JSII):  # each change only where the generated code is exactly as expected
            source = source.replace(IMPORT_JSII, IMPORT_JSII_AND_HELPERS, 1)
            if source.count(UNCACHED_HINTS) == source.count(b"get_type_hints("):
                source = source.replace(UNCACHED_HINTS, CACHED_HINTS)
            if source.count(CHECK_TYPE) == 1:
                source = source.replace(CHECK_TYPE, CHECK_TYPE_NONE_FIRST)
        code = compile(source, source_path, "exec", flags=STRING_ANNOTATIONS, dont_inherit=True)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(cached) as out:
            out.write(header + marshal.dumps(code))
        return code
