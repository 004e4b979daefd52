"""Step 3 (core): each provider package registered without running its `__init__`, which imports every submodule.

Each package is a module with its real `__path__` whose `__init__` is not run: `from
cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup` imports only that submodule, unchanged (same
classes, type hints and runtime type checks). Attribute access (`cdktf_cdktf_provider_azurerm.resource_group`)
imports a submodule on demand, and jsii's own lazy-submodule lookup is given the type -> submodule map.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

from runtime.fast import lazy_classes
from runtime.fast.compiling import ProviderSubmoduleFinder
from runtime.fast.derive import Derived
from runtime.fast.kernel import KernelLaunch, kernel_without_wrapper
from runtime.fast.settings import Unverified, tier_on

CDKTF_ROOT = "cdktf"  # generated like a provider submodule: compiled and run alike


def prepare_imports(derived: list[Derived], launch: KernelLaunch) -> None:
    """Before jsii's first request: our kernel process class, the provider packages and their submodule loader."""
    from jsii import _reference_map
    from jsii._kernel.providers import process

    process._NodeProcess = kernel_without_wrapper(process._NodeProcess, launch)  # type: ignore[misc,assignment]
    if tier_on("compile"):
        submodules = {
            f"{item.provider.package}.{name}" for item in derived for name in item.submodules if name != "_jsii"
        } | {CDKTF_ROOT}
        sys.meta_path.insert(0, ProviderSubmoduleFinder(submodules))
        if tier_on("lazy-classes"):
            lazy_classes.hook_jsii()
    for item in derived:
        sys.modules[item.provider.package] = _package_without_init(item)
        _reference_map._submodule_fqn_map.update(item.submodule_of_namespace)


def _package_without_init(item: Derived) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        item.provider.package,
        item.directory / "__init__.py",
        submodule_search_locations=[str(item.directory)],
    )
    if spec is None:
        raise Unverified(f"{item.provider.package}: no import spec for {item.directory / '__init__.py'}")
    package = importlib.util.module_from_spec(spec)  # attributes set, __init__ not executed
    attributes = vars(package)
    attributes["__all__"] = list(item.submodules)
    known = frozenset(item.submodules)

    def __getattr__(name: str) -> types.ModuleType:
        if name in known:
            return importlib.import_module(f"{item.provider.package}.{name}")
        raise AttributeError(f"module {item.provider.package!r} has no attribute {name!r}")

    attributes["__getattr__"] = __getattr__
    attributes["__dir__"] = lambda: sorted(set(attributes) | known)
    return package
