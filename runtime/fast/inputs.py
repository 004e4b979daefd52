"""Tier inputs: a provider resource's `<name>_input` of a string or a string map answered from what Python gave it.

The prebuilt providers' JavaScript keeps each argument as Python passed it (`this._<name>`, set by the constructor,
the setter and `reset_<name>`), and `<name>Input` returns exactly that; blocks are other objects and are not
answered here. So while Python records what it passes, the rules' reads back (`tags_input` for the tagging Aspect,
`resource_group_name_input` for the deployment checks: ~1,100 of ~8,100 kernel messages per synth, 2026-12-06) need
no kernel round trip. Answered only for the getters typed as a string or a string map; a map with a key that
JavaScript would order first (an array index) is left to the kernel.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any

import jsii

_RECORD = "_fast_inputs"  # on each resource: {argument name: its value, None when unset} for the answered names
_PROVIDER_PREFIX = "cdktf_cdktf_provider_"
# A getter's return annotation: as compiled by tier compile (strings), or as the ordinary bindings hold it.
_SIMPLE_TYPES = {
    "builtins.str",
    "typing.Optional[builtins.str]",
    "typing.Mapping[builtins.str, builtins.str]",
    "typing.Optional[typing.Mapping[builtins.str, builtins.str]]",
    str,
    typing.Optional[str],  # noqa: UP045 (the object the bindings' annotation evaluates to)
    typing.Mapping[str, str],
    typing.Optional[typing.Mapping[str, str]],  # noqa: UP045
}


_PATCHED: dict[type, frozenset[str]] = {}  # a provider class -> the names of its own getters answered
_ANSWERED_OF_CLASS: dict[type, frozenset[str]] = {}  # a created class -> the names answered for it (its MRO's)


def record_inputs() -> None:
    """Record the arguments of every provider resource created from now on (the caller checks the tier)."""
    create = jsii.create

    def create_and_record(klass: type, obj: Any, args: list | None = None) -> Any:
        result = create(klass, obj, args)
        answered = _answered_names(klass)
        config = args[2] if answered and args is not None and len(args) == 3 else None
        values = getattr(config, "_values", None)
        if isinstance(values, dict):
            obj.__dict__[_RECORD] = {name: _simple(values.get(name)) for name in answered}
        return result

    jsii.create = create_and_record


class _Unknown:
    """A recorded value the kernel must be asked for."""


UNKNOWN = _Unknown()


def _simple(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(
        isinstance(key, str) and isinstance(item, str) and not _array_index(key) for key, item in value.items()
    ):
        return dict(value)
    return UNKNOWN


def _array_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1


def _answered_names(klass: type) -> frozenset[str]:
    """The names whose `<name>_input` the record answers; the provider classes in `klass`'s MRO are patched once."""
    if (answered := _ANSWERED_OF_CLASS.get(klass)) is None:
        answered = _ANSWERED_OF_CLASS[klass] = frozenset(
            name for owner in klass.__mro__ if owner.__module__.startswith(_PROVIDER_PREFIX) for name in _patch(owner)
        )
    return answered


def _patch(owner: type) -> frozenset[str]:
    if (patched := _PATCHED.get(owner)) is not None:
        return patched
    names = set()
    for attribute, value in list(vars(owner).items()):
        name = attribute.removesuffix("_input")
        setter = vars(owner).get(name)
        if (
            attribute == name
            or not isinstance(value, property)
            or not isinstance(setter, property)
            or setter.fset is None
            or value.fget.__annotations__.get("return") not in _SIMPLE_TYPES
        ):
            continue
        names.add(name)
        setattr(owner, attribute, property(_recorded_getter(name, value.fget), doc=value.__doc__))
        setattr(owner, name, setter.setter(_recording_setter(name, setter.fset)))
        if callable(reset := vars(owner).get(f"reset_{name}")):
            setattr(owner, f"reset_{name}", _recording_reset(name, reset))
    patched = _PATCHED[owner] = frozenset(names)
    return patched


def _recorded_getter(name: str, getter: Any) -> Any:
    @functools.wraps(getter)
    def get(self: Any) -> Any:
        value = self.__dict__.get(_RECORD, {}).get(name, UNKNOWN)
        if value is UNKNOWN:
            return getter(self)
        return dict(value) if isinstance(value, dict) else value

    return get


def _recording_setter(name: str, setter: Any) -> Any:
    @functools.wraps(setter)
    def set_(self: Any, value: Any) -> None:
        setter(self, value)
        if (record := self.__dict__.get(_RECORD)) is not None:
            record[name] = _simple(value)

    return set_


def _recording_reset(name: str, reset: Any) -> Any:
    @functools.wraps(reset)
    def reset_(self: Any) -> None:
        reset(self)
        if (record := self.__dict__.get(_RECORD)) is not None:
            record[name] = None

    return reset_
