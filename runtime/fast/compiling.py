"""Tier compile (step 4): the provider submodules (and cdktf's root module) compiled as current jsii-pacmak generates
bindings.

aws/jsii #5134 and #5177, which the archived bindings predate: annotations kept as strings (PEP 563) instead of
~10,000 `typing` expressions evaluated per module at import, and each type-checking stub's hints resolved once
(an annotation string shared by many stubs is evaluated once) instead of by `typing.get_type_hints` on every call.
The generated `check_type` first lets None through where the expected type is Optional (`none_passes_check`: what
typeguard concludes after trying every member), and each argument's hint is resolved there, when first needed
(`stub_hints`): an unset optional block argument never makes its struct class exist (tier lazy-classes). Same
checks, same errors; typeguard's version is read once per process, not once per module (115 reads of its metadata);
the bytecode is cached in `.cache/jsii-fast/bytecode/<cache tag>/` (one folder per interpreter, e.g. cpython-311
and cpython-313 side by side), keyed like Python's own (magic number, source size and mtime) plus
`COMPILE_RECIPE`. What this relies on is checked on the running interpreter each time (`check_interpreter`).
"""

from __future__ import annotations
import __future__

import functools
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import marshal
import os
import platform
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

from runtime.fast import lazy_classes, settings
from runtime.fast.settings import Unverified, atomic_file, tier_on

# Bump when the compiling (step 4) changes: it keys the bytecode (with this module's path, which the code imports).
COMPILE_RECIPE = f"pep563-deferred-hints-none-version-once-v2 {__name__}"


# What compiling a generated provider submodule changes (step 4).
STRING_ANNOTATIONS = __future__.annotations.compiler_flag
IMPORT_JSII = b"\nimport jsii\n"
IMPORT_JSII_AND_HELPERS = (
    b"\nimport jsii; from runtime.fast.compiling import stub_type_hints as _fast_stub_type_hints, "
    b"stub_hints as _fast_stub_hints, none_passes_check as _fast_none_passes_check, "
    b"resolved_hint as _fast_resolved_hint, typeguard_major_version as _fast_typeguard_major_version\n"
)
# Each generated module reads typeguard's installed version (its metadata files) at import: read once per process.
TYPEGUARD_VERSION_READ = b"int(_metadata_package_version('typeguard').split('.')[0])"
TYPEGUARD_VERSION_ONCE = b"_fast_typeguard_major_version()"
UNCACHED_HINTS = b"typing.get_type_hints(_typecheckingstub__"
CACHED_HINTS = b"_fast_stub_type_hints(_typecheckingstub__"
DEFERRED_HINTS = b"_fast_stub_hints(_typecheckingstub__"  # where every `type_hints[...]` goes to check_type
HINT_READ = b"type_hints["
HINT_READ_BY_CHECK_TYPE = b"expected_type=type_hints["
# The generated check_type's first lines (with the blank line before it), and as compiled: the same number of lines,
# so that every line number (tracebacks, co_firstlineno) stays the source file's.
CHECK_TYPE = b"""

def check_type(argname: str, value: object, expected_type: typing.Any) -> typing.Any:
    if TYPEGUARD_MAJOR_VERSION <= 2:
"""
CHECK_TYPE_NONE_FIRST = b"""
def check_type(argname: str, value: object, expected_type: typing.Any) -> typing.Any:
    if value is None and _fast_none_passes_check(expected_type): return None
    if [expected_type := _fast_resolved_hint(expected_type)] and TYPEGUARD_MAJOR_VERSION <= 2:
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
    deferred = stub_hints(stub)
    if {name: none_passes_check(deferred[name]) for name in verdicts} != {
        name: none_passes_check(hints[name]) for name in verdicts
    } or any(resolved_hint(deferred[name]) != hints[name] for name in hints):
        raise Unverified(f"{where}: a hint resolved when needed differs from typing.get_type_hints")


class ProviderSubmoduleFinder(importlib.abc.MetaPathFinder):
    """Finds the provider submodules (not `_jsii`) and cdktf's root module, which the same jsii-pacmak generated
    (218 classes, ~60 used by a synth: tier lazy-classes), and gives them the compiling loader below."""

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
    bound = tuple(_bound(namespace, name) for name in FREE_NAME.findall(annotation))
    key = (annotation, tuple(map(id, bound)))
    found = _resolved_annotations.get(key)
    if found is None:
        # The evaluation get_type_hints(stub) makes of each annotation: same globals, same ForwardRef flags.
        holder = types.SimpleNamespace(__annotations__={"_": annotation}, __globals__=namespace)
        found = _resolved_annotations[key] = (typing.get_type_hints(holder)["_"], bound)
    return found[0]


def _bound(namespace: dict, name: str) -> object:
    """What `name` is bound to in a module's globals: looked up as the module's code would (a lazily created class
    is created, runtime/fast/lazy_classes.py), not with `dict.get`."""
    try:
        return namespace[name]
    except KeyError:
        return _UNBOUND


@functools.cache
def typeguard_major_version() -> int:
    """What each generated module computes as TYPEGUARD_MAJOR_VERSION, from the installed distribution's metadata."""
    return int(importlib.metadata.version("typeguard").split(".")[0])


class DeferredHint:
    """A stub's hint of one argument, as generated code hands it to its `check_type` (`type_hints["name"]`)."""

    __slots__ = ("name", "stub")

    def __init__(self, stub: types.FunctionType, name: str) -> None:
        self.stub, self.name = stub, name


class StubHints:
    """What `type_hints` is in generated code compiled with `DEFERRED_HINTS`: each read a `DeferredHint`."""

    __slots__ = ("stub",)

    def __init__(self, stub: types.FunctionType) -> None:
        self.stub = stub

    def __getitem__(self, name: str) -> DeferredHint:
        return DeferredHint(self.stub, name)


_stub_hints: dict[types.FunctionType, StubHints] = {}
_hint_of_argument: dict[tuple[types.FunctionType, str], object] = {}
OPTIONAL_PREFIX = "typing.Optional["


def stub_hints(stub: types.FunctionType) -> StubHints:
    if (hints := _stub_hints.get(stub)) is None:
        hints = _stub_hints[stub] = StubHints(stub)
    return hints


def resolved_hint(expected_type: Any) -> Any:
    """The type `check_type` checks against: a deferred hint resolved (once) as `typing.get_type_hints(stub)` would."""
    if type(expected_type) is not DeferredHint:
        return expected_type
    key = (expected_type.stub, expected_type.name)
    if (hint := _hint_of_argument.get(key)) is None:
        stub = expected_type.stub
        hint = _hint_of_argument[key] = _resolved_annotation(stub.__annotations__[expected_type.name], stub.__globals__)
    return hint


def none_passes_check(expected_type: Any) -> bool:
    """Whether typeguard's check of None against `expected_type` passes without trying its members.

    True for a Union with None among its members (every `typing.Optional[...]`): typeguard tries the members
    in order, each other member rejects None with a TypeError it catches, and NoneType accepts it. Six in
    ten checks a synth makes are of None (unset optional arguments), each ~7 µs in typeguard 2. A deferred
    hint is judged by its annotation, unresolved: `typing.Optional[...]` whole, in a module where `typing` is typing.
    """
    if type(expected_type) is DeferredHint:
        stub = expected_type.stub
        return _optional(stub.__annotations__[expected_type.name]) and stub.__globals__.get("typing") is typing
    return getattr(expected_type, "__origin__", None) is typing.Union and NONE_TYPE in expected_type.__args__


def _optional(annotation: object) -> bool:
    """Whether an annotation string is `typing.Optional[<one expression>]` (its first bracket closes at its end)."""
    if not isinstance(annotation, str) or not annotation.startswith(OPTIONAL_PREFIX) or not annotation.endswith("]"):
        return False
    depth = 0
    for position in range(len(OPTIONAL_PREFIX) - 1, len(annotation)):
        depth += {"[": 1, "]": -1}.get(annotation[position], 0)
        if depth == 0:
            return position == len(annotation) - 1
    return False


class CurrentJsiiBindingLoader(importlib.machinery.SourceFileLoader):
    """Compiles a generated submodule with string annotations, hints resolved once and None checks first (step 4);
    with tier lazy-classes, runs it with each class created when first named (runtime/fast/lazy_classes.py)."""

    def get_code(self, fullname: str) -> types.CodeType:
        cached = self._cache_file(fullname, ".pyc")
        header = self._header(fullname)
        try:
            data = cached.read_bytes()
            if data.startswith(header):
                return marshal.loads(memoryview(data)[len(header) :])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # absent or unreadable: compiled again below
        code = compile(
            self._current_source(fullname),
            self.get_filename(fullname),
            "exec",
            flags=STRING_ANNOTATIONS,
            dont_inherit=True,
        )
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(cached) as out:
            out.write(header + marshal.dumps(code))
        return code

    def exec_module(self, module: types.ModuleType) -> None:
        split = self._split(module.__name__) if tier_on("lazy-classes") else None
        if split is None or split.prologue is None:
            super().exec_module(module)
        else:
            lazy_classes.run(module, split, split.prologue)

    def _split(self, fullname: str) -> lazy_classes.Cached | None:
        """The module cut into its prologue and a piece per class, from the cache or cut now; None: run it whole."""
        cached = self._cache_file(fullname, ".split")
        header = self._header(fullname, lazy_classes.SPLIT_RECIPE)
        found = lazy_classes.read(cached, header)
        if found is None:
            cut = lazy_classes.split(self._current_source(fullname), self.get_filename(fullname), STRING_ANNOTATIONS)
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(cached) as out:
                lazy_classes.write(cut, header, out)
            found = lazy_classes.read(cached, header)
        return found

    def _header(self, fullname: str, *recipes: str) -> bytes:
        stat = os.stat(self.get_filename(fullname))
        recipe = " ".join((COMPILE_RECIPE, *recipes))
        return importlib.util.MAGIC_NUMBER + f"{recipe} {stat.st_size} {stat.st_mtime_ns}\n".encode()

    @staticmethod
    def _cache_file(fullname: str, suffix: str) -> Path:
        return settings.CACHE_DIR / "bytecode" / sys.implementation.cache_tag / f"{fullname}{suffix}"

    def _current_source(self, fullname: str) -> bytes:
        source = self.get_data(self.get_filename(fullname))
        if source.count(IMPORT_JSII):  # each change only where the generated code is exactly as expected
            source = source.replace(IMPORT_JSII, IMPORT_JSII_AND_HELPERS, 1)
            if source.count(TYPEGUARD_VERSION_READ) == 1:
                source = source.replace(TYPEGUARD_VERSION_READ, TYPEGUARD_VERSION_ONCE)
            check_type_replaced = source.count(CHECK_TYPE) == 1
            if check_type_replaced:
                source = source.replace(CHECK_TYPE, CHECK_TYPE_NONE_FIRST)
            if source.count(UNCACHED_HINTS) == source.count(b"get_type_hints("):
                deferrable = check_type_replaced and source.count(HINT_READ) == source.count(HINT_READ_BY_CHECK_TYPE)
                source = source.replace(UNCACHED_HINTS, DEFERRED_HINTS if deferrable else CACHED_HINTS)
        return source
