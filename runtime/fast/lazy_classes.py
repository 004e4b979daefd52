"""Tier lazy-classes (step 4): a provider submodule's classes created when first named, not when it is imported.

A generated submodule defines every class of one resource type (its resource, config, blocks and their output
references: 3,060 classes in the 108 submodules this app imports, of which a synth creates about one in five) and a
type-checking stub per method. Run whole, each class costs its unmarshalled code, its class object and jsii's
registration (~60 MB of Python's peak, 2026-12-06). Here the module runs only its prologue (imports, `check_type`,
`__all__`); each class is compiled apart, with the stubs only it calls, into the module's cache file (next to step
4's bytecode), and is run the first time something names it:
- the module's own code (a base class, a decorator, a method calling a stub or building a block) finds it through
  its globals, a dict whose `__missing__` runs the class's code (CPython looks up a non-dict-exact globals mapping
  with `__getitem__`: checked on the running interpreter, `check_interpreter`);
- an import or attribute (`from ...resource_group import ResourceGroup`) through the module's `__getattr__`;
- jsii, when the kernel hands back an object of a type not registered yet, through its own lazy-submodule hook
  (`_reference_map._try_import_type_module`, wrapped to also create the class of that jsii type).
The module object is what `publication.publish()` would leave: `__all__`'s names (each set once created), a
`_private` module for the rest. Same classes, same code and line numbers; only when they are created differs (and
`typing.cast(T, value)` is compiled as `value`, see `_CastsAsTheirValue`). With step 4's deferred hints, a check of
an unset optional argument does not name its block's class either: a synth creates ~470 of the 3,060 classes.
"""

from __future__ import annotations

import ast
import builtins
import marshal
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runtime.fast.settings import Unverified

SPLIT_RECIPE = "class-pieces-casts-proxies-v2"  # bump when `split` changes: it keys the cached pieces
STUB_PREFIX = "_typecheckingstub__"
PUBLISH = "publication.publish()"
# Prologue statements a generated submodule has besides its classes and stubs (anything else: run it whole).
PROLOGUE_STATEMENTS = (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef, ast.Expr)
_BUILTINS = vars(builtins)


@dataclass(frozen=True)
class Split:
    """A generated submodule cut for lazy creation: the prologue and one piece of code per class."""

    prologue: types.CodeType
    pieces: list[types.CodeType]
    piece_of_name: dict[str, int]  # a class (or a stub not in a class's piece) -> the piece that defines it
    name_of_type: dict[str, str]  # a jsii type (fqn) -> the class name registered for it
    published: list[str]  # `__all__`


def split(source: bytes, filename: str, flags: int) -> Split | None:
    """`source` cut into a prologue and a piece per class (with the stubs only it calls); None if not generated
    as expected (the module then runs whole)."""
    tree = ast.parse(source, filename)
    classes: list[ast.ClassDef] = []
    stubs: dict[str, ast.FunctionDef] = {}
    prologue: list[ast.stmt] = []
    proxies: dict[str, ast.stmt] = {}  # an abstract class or interface -> its jsii proxy assignment
    published = False
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef):
            classes.append(statement)
        elif (owner := _proxy_assignment_of(statement)) is not None:
            proxies[owner] = statement
        elif isinstance(statement, ast.FunctionDef) and statement.name.startswith(STUB_PREFIX):
            stubs[statement.name] = statement
        elif isinstance(statement, ast.Expr) and ast.unparse(statement) == PUBLISH:
            published = True
        elif isinstance(statement, PROLOGUE_STATEMENTS):
            prologue.append(statement)
        else:
            return None
    names = [node.name for node in classes] + list(stubs)
    lazy = set(names)
    public = _all_names(prologue)
    if (
        not published
        or public is None
        or len(lazy) != len(names)
        or _loaded_names(prologue) & lazy
        or not _imports_typing(prologue)
    ):
        return None  # a prologue that names a class would create it at import: nothing to gain, run it whole
    callers: dict[str, list[int]] = {name: [] for name in stubs}
    for index, node in enumerate(classes):
        for name in _loaded_names([node]) & stubs.keys():
            callers[name].append(index)
    if not proxies.keys() <= lazy:
        return None
    bodies: list[list[ast.stmt]] = [
        [_CastsAsTheirValue().visit(node), *([proxies[node.name]] if node.name in proxies else [])] for node in classes
    ]
    # A stub in its class's piece is only called through that class: only classes and the other stubs are named.
    piece_of_name = {node.name: index for index, node in enumerate(classes)}
    for name, stub in stubs.items():
        if len(callers[name]) == 1:
            bodies[callers[name][0]].append(stub)
        else:  # called by no class or by several: a piece of its own
            piece_of_name[name] = len(bodies)
            bodies.append([stub])
    return Split(
        prologue=_compiled(prologue, filename, flags),
        pieces=[_compiled(body, filename, flags) for body in bodies],
        piece_of_name=piece_of_name,
        name_of_type={fqn: node.name for node in classes if (fqn := _jsii_type(node)) is not None},
        published=public,
    )


class _CastsAsTheirValue(ast.NodeTransformer):
    """`typing.cast(T, value)` as `value`, which is what it returns: a struct's getters cast their value to their
    block's class (`typing.Optional[KubernetesClusterAciConnectorLinux]`), and jsii reads every getter to send a
    struct to the kernel, so evaluating T would create each block's class whether the app sets the block or not."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "cast"
            and isinstance(function.value, ast.Name)
            and function.value.id == "typing"
            and len(node.args) == 2
            and not node.keywords
        ):
            return node.args[1]
        return node


def _all_names(prologue: list[ast.stmt]) -> list[str] | None:
    """`__all__` as the module sets it once, to a list of names; None otherwise."""
    values = [
        statement.value
        for statement in prologue
        if isinstance(statement, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in statement.targets)
    ]
    if len(values) != 1 or not isinstance(values[0], ast.List):
        return None
    names = [
        element.value
        for element in values[0].elts
        if isinstance(element, ast.Constant) and isinstance(element.value, str)
    ]
    return names if len(names) == len(values[0].elts) else None


def _proxy_assignment_of(statement: ast.stmt) -> str | None:
    """The class X of `typing.cast(typing.Any, X).__jsii_proxy_class__ = lambda: _XProxy` (jsii's abstract classes
    and interfaces: the proxy jsii makes for an object of that type), else None. Run right after X is created."""
    if not (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(target := statement.targets[0], ast.Attribute)
        and target.attr == "__jsii_proxy_class__"
        and isinstance(statement.value, ast.Lambda)
        and isinstance(cast := target.value, ast.Call)
        and ast.unparse(cast.func) == "typing.cast"
        and len(cast.args) == 2
        and ast.unparse(cast.args[0]) == "typing.Any"
        and isinstance(owner := cast.args[1], ast.Name)
    ):
        return None
    return owner.id


def _imports_typing(prologue: list[ast.stmt]) -> bool:
    """Whether the module binds `typing` to the typing module (`import typing`), as `_CastsAsTheirValue` assumes."""
    return any(
        isinstance(statement, ast.Import)
        and any(alias.name == "typing" and alias.asname is None for alias in statement.names)
        for statement in prologue
    )


def _compiled(body: list[ast.stmt], filename: str, flags: int) -> types.CodeType:
    return compile(ast.Module(body=body, type_ignores=[]), filename, "exec", flags=flags, dont_inherit=True)


def _loaded_names(statements: list[ast.stmt]) -> set[str]:
    return {
        node.id
        for statement in statements
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _jsii_type(node: ast.ClassDef) -> str | None:
    """The fqn jsii registers the class under: `jsii_type=` of its metaclass or of its jsii decorator."""
    keywords = list(node.keywords)
    keywords += [
        keyword
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
        for keyword in decorator.keywords
    ]
    for keyword in keywords:
        if (
            keyword.arg == "jsii_type"
            and isinstance(keyword.value, ast.Constant)
            and isinstance(keyword.value.value, str)
        ):
            return keyword.value.value
    return None


# The cache file of a split module: the header, the length of the index, the index, then each piece marshalled.
def write(split_module: Split | None, header: bytes, out: IO[bytes]) -> None:
    """`split_module` None (a module not generated as expected) is recorded too: it runs whole, without a re-parse."""
    if split_module is None:
        out.write(header + len(whole := marshal.dumps((None, [], {}, {}, []))).to_bytes(8, "little") + whole)
        return
    blobs = [marshal.dumps(piece) for piece in split_module.pieces]
    spans, offset = [], 0
    for blob in blobs:
        spans.append((offset, len(blob)))
        offset += len(blob)
    index = marshal.dumps(
        (split_module.prologue, spans, split_module.piece_of_name, split_module.name_of_type, split_module.published)
    )
    out.write(header + len(index).to_bytes(8, "little") + index)
    for blob in blobs:
        out.write(blob)


@dataclass(frozen=True)
class Cached:
    """A split module as read back from its cache file: the pieces stay on disk until named.

    They are read through the descriptor the index was read from (kept open for the process's life): another process
    may replace the file meanwhile (atomically, with a new compilation whose pieces need not lie at the same offsets).
    """

    descriptor: int
    prologue: types.CodeType | None  # None: run the module whole
    spans: list[tuple[int, int]]  # each piece's offset (from `base`) and length
    base: int
    piece_of_name: dict[str, int]
    name_of_type: dict[str, str]
    published: frozenset[str]

    def piece(self, index: int) -> types.CodeType:
        offset, length = self.spans[index]
        return marshal.loads(os.pread(self.descriptor, length, self.base + offset))


def read(path: Path, header: bytes) -> Cached | None:
    """The cached split module, or None if absent, unreadable or of another header."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        with os.fdopen(os.dup(descriptor), "rb") as file:
            if file.read(len(header)) != header:
                raise ValueError("another header")
            length = int.from_bytes(file.read(8), "little")
            prologue, spans, piece_of_name, name_of_type, published = marshal.loads(file.read(length))
    except (OSError, ValueError, EOFError, TypeError):
        os.close(descriptor)
        return None
    if prologue is None:
        os.close(descriptor)  # a module that runs whole reads no piece
    base = len(header) + 8 + length
    return Cached(descriptor, prologue, spans, base, piece_of_name, name_of_type, frozenset(published))


class LazyGlobals(dict):
    """A generated submodule's globals: a class (with its stubs) is created when first looked up."""

    __slots__ = ("cached", "created", "public")

    def __init__(self, initial: dict, cached: Cached, public: types.ModuleType) -> None:
        super().__init__(initial)
        self.cached, self.public = cached, public
        self.created: set[int] = set()  # the pieces run

    def __missing__(self, name: str) -> object:
        piece = self.cached.piece_of_name.get(name)
        if piece is None or piece in self.created:
            if name in _BUILTINS:  # kept here: the module's functions look their builtins up through this mapping
                value = self[name] = _BUILTINS[name]
                return value
            raise KeyError(name)
        self.created.add(piece)
        code = self.cached.piece(piece)
        exec(code, self)
        for defined in self.cached.published.intersection(code.co_names):  # as publication.publish() sets them
            if defined in self:
                setattr(self.public, defined, dict.__getitem__(self, defined))
        return dict.__getitem__(self, name)


_globals_of_type: dict[str, tuple[LazyGlobals, str]] = {}  # a jsii type -> (its module's globals, its class name)
_globals_of_module: dict[str, LazyGlobals] = {}


def run(module: types.ModuleType, cached: Cached, prologue: types.CodeType) -> None:
    """Run `cached`'s prologue as `module` and leave `module` as publication.publish() would, its classes lazy.

    The module's `__getattr__` is in place before the prologue runs: a submodule it imports (cdktf's
    `from . import testing_matchers`) may name the module's classes."""
    namespace = LazyGlobals(vars(module), cached, module)
    published = cached.published
    vars(module)["__getattr__"] = lambda name: _attribute(namespace, module.__name__, name, published)
    vars(module)["__dir__"] = lambda: sorted(set(vars(module)) | published)
    _globals_of_module[module.__name__] = namespace
    for fqn, name in cached.name_of_type.items():
        _globals_of_type[fqn] = (namespace, name)
    exec(prologue, namespace)
    for name in ("__all__", "__doc__", "__path__"):
        if name in namespace:
            setattr(module, name, namespace[name])
    private = types.ModuleType(module.__name__)
    vars(private)["__getattr__"] = lambda name: _attribute(namespace, module.__name__, name)
    module._private = private  # type: ignore[attr-defined]
    sys.modules[f"{module.__name__}._private"] = private


def generated_globals(module: types.ModuleType) -> dict:
    """Everything a generated submodule defines (for tests and tools that list it): its globals, every class created
    if it runs lazily, else its `_private` module's (publication.publish() hides the rest)."""
    namespace = _globals_of_module.get(module.__name__)
    if namespace is None:
        return vars(getattr(module, "_private", module))
    for name in namespace.cached.piece_of_name:
        namespace[name]
    return namespace


def _attribute(namespace: LazyGlobals, module: str, name: str, published: frozenset[str] | None = None):
    if published is None or name in published:
        try:
            return namespace[name]
        except KeyError:
            pass
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


def create_type(fqn: str) -> bool:
    """Create the class registered for jsii type `fqn` if its module is imported and it is not created yet."""
    found = _globals_of_type.get(fqn)
    if found is None:
        return False
    namespace, name = found
    namespace[name]
    return True


def hook_jsii() -> None:
    """jsii's lazy-submodule lookup also creates the class of the type it looks for (once per process)."""
    from jsii import _reference_map

    original = _reference_map._try_import_type_module
    if getattr(original, "creates_lazy_classes", False):
        return

    def try_import_type_module(class_fqn: str) -> bool:
        imported = original(class_fqn)
        return create_type(class_fqn) or imported

    try_import_type_module.creates_lazy_classes = True  # type: ignore[attr-defined]
    _reference_map._try_import_type_module = try_import_type_module


PROBE = """
def function():
    return Lazy
class Derived(Lazy):
    found = len("x")
at_module_level = Lazy
"""


class _ProbeGlobals(dict):
    def __missing__(self, name: str):
        if name != "Lazy":
            raise KeyError(name)
        value = self[name] = type("Lazy", (), {})
        return value


def check_interpreter() -> None:
    """That this interpreter looks names up through a globals dict subclass's `__missing__` in a function, a class
    body and at module level, and still finds builtins (CPython 3.11 and 3.13 do for a non-dict-exact mapping)."""
    namespace = _ProbeGlobals()
    try:
        exec(compile(PROBE, "<lazy-classes probe>", "exec", dont_inherit=True), namespace)
        lazy = namespace["Lazy"]
    except NameError as error:
        raise Unverified(
            f"lazy-classes: a name was not looked up through a dict subclass's __missing__ ({error})"
        ) from None
    if not (
        namespace["function"]() is lazy
        and namespace["at_module_level"] is lazy
        and namespace["Derived"].__mro__[1] is lazy
        and namespace["Derived"].found == 1
    ):
        raise Unverified("lazy-classes: globals are not looked up through a dict subclass's __missing__")
