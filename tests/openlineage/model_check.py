"""Strict check of a received OpenLineage event against the client's generated object model.

The OpenLineage JSON Schema files are not shipped by any package registry reachable here
(PyPI's openlineage-* packages, npm and Maven carry none), so the events cannot be
validated against the schema itself. ``openlineage-python`` does ship
``openlineage.client.generated``: attrs classes generated from that same schema (spec
2-0-2 and every facet schema). :func:`check_run_event` structures a received JSON event
into ``generated.base.RunEvent`` and its facet classes, strictly:

- every key must be a field of the class (unknown keys are refused), every required
  field present, every value of the declared type (``int`` is not ``bool``, a list is a
  list), enums hold one of their values;
- the model's own validators run (``runId`` a UUID, ``eventTime`` an ISO date-time);
- what the JSON Schema requires beyond the model's defaults: ``eventType``,
  ``producer`` and ``schemaURL`` on the event, ``_producer`` and ``_schemaURL`` on every
  facet (URIs), and ``schemaURL``/``_schemaURL`` equal to the model's own;
- a facet is looked up by its ``_schemaURL`` among the generated facet classes and must
  be of the kind its place asks for (a run facet under ``run.facets``, an output facet
  under ``outputFacets``...); a facet the model does not know is refused;
- job and dataset namespaces and names are non-empty.

It reads the JSON independently of the SDK: nothing from ``dataloader_sdk`` is used.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from enum import Enum
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

import attr
from openlineage.client import generated
from openlineage.client.generated import base

__all__ = ["ModelError", "check_run_event"]


class ModelError(AssertionError):
    """The event does not fit the model; the message names the JSON path and the reason."""


def check_run_event(doc: Any) -> base.RunEvent:
    """Structure ``doc`` (a decoded JSON run event) into ``base.RunEvent``, strictly.

    Raises:
        ModelError: the first problem found, naming its path (``event.run.facets...``).
    """
    return _object(doc, base.RunEvent, "event")  # type: ignore[no-any-return]


@cache
def _facet_classes() -> dict[str, type[base.BaseFacet]]:
    """``_schemaURL`` -> facet class, over every module of ``openlineage.client.generated``."""
    found: dict[str, type[base.BaseFacet]] = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, base.BaseFacet)
                    and value.__module__ == module.__name__):
                found.setdefault(value._get_schema(), value)
    return found


def _fail(path: str, why: str) -> ModelError:
    return ModelError(f"{path}: {why}")


def _uri(value: Any, path: str) -> None:
    if not isinstance(value, str) or not value:
        raise _fail(path, f"must be a non-empty URI string, got {value!r}")
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        raise _fail(path, f"must be an absolute URI, got {value!r}")


def _object(value: Any, cls: type, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(path, f"must be an object ({cls.__name__}), got {type(value).__name__}")
    required: set[str] = set()
    if issubclass(cls, base.BaseFacet):
        for key in ("_producer", "_schemaURL"):
            _uri(value.get(key), f"{path}.{key}")
        actual = _facet_classes().get(value["_schemaURL"])
        if actual is None:
            raise _fail(path, f"facet schema {value['_schemaURL']} is not in the client's model")
        if not issubclass(actual, cls):
            raise _fail(path, f"a {actual.__name__} where a {cls.__name__} belongs")
        cls = actual
    if issubclass(cls, base.BaseEvent):
        for key in ("producer", "schemaURL"):
            _uri(value.get(key), f"{path}.{key}")
    if issubclass(cls, base.RunEvent):
        required.add("eventType")
    if issubclass(cls, (base.Dataset, base.Job)):
        for key in ("namespace", "name"):
            if not isinstance(value.get(key), str) or not value[key]:
                raise _fail(f"{path}.{key}", f"must be a non-empty string, got {value.get(key)!r}")
    fields = {f.name: f for f in attr.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _fail(path, f"unknown keys {unknown} for {cls.__name__}")
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in value:
            if field.default is attr.NOTHING or name in required:
                raise _fail(f"{path}.{name}", f"required by {cls.__name__} but missing")
            continue
        checked = _value(value[name], hints[name], f"{path}.{name}")
        if not field.init:  # schemaURL / _schemaURL: fixed by the model
            if checked != cls._get_schema():  # type: ignore[attr-defined]
                raise _fail(f"{path}.{name}", f"{checked!r} is not {cls.__name__}'s schema "
                                              f"{cls._get_schema()!r}")  # type: ignore[attr-defined]
            continue
        kwargs[field.alias] = checked
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # the model's validators (UUID, date-time, ...)
        raise _fail(path, f"{cls.__name__} refuses it: {exc}") from None


def _value(value: Any, tp: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            if len(options) < len(get_args(tp)):
                return None
            raise _fail(path, "must not be null")
        problems = []
        for option in options:
            try:
                return _value(value, option, path)
            except ModelError as exc:
                problems.append(str(exc))
        raise _fail(path, " / ".join(problems)) if len(problems) > 1 else ModelError(problems[0])
    if origin is Literal:
        if value not in get_args(tp):
            raise _fail(path, f"must be one of {get_args(tp)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _fail(path, f"must be an array, got {type(value).__name__}")
        (item,) = get_args(tp)
        return [_value(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(path, f"must be an object, got {type(value).__name__}")
        _, item = get_args(tp)
        return {k: _value(v, item, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        allowed = [e.value for e in tp]
        if value not in allowed:
            raise _fail(path, f"must be one of {allowed}, got {value!r}")
        return tp(value)
    if tp is bool or tp is str:
        if not isinstance(value, tp):
            raise _fail(path, f"must be a {tp.__name__}, got {value!r}")
        return value
    if tp is int or tp is float:
        ok = (int,) if tp is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok):
            raise _fail(path, f"must be a {tp.__name__}, got {value!r}")
        return value
    if isinstance(tp, type) and attr.has(tp):
        return _object(value, tp, path)
    raise _fail(path, f"the checker does not know the model type {tp!r}")  # never wave through
