"""Dataclass <-> plain data, and JSON Schema from dataclasses.

One small module so that configs, cached stage results and the published schema all come from the same type
hints: a field added to a record is serialised, loaded and documented without a second list of fields.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from typing import Any, Literal, Union


def doc(text: str) -> Any:
    """A required dataclass field whose text becomes its description in the JSON Schema."""
    return dataclasses.field(metadata={"doc": text})


def to_dict(obj: Any) -> Any:
    """A dataclass tree as JSON-ready data (dicts keep field order)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def stable_hash(data: Any, length: int = 16) -> str:
    """Hash of JSON-ready data that does not depend on dict order."""
    text = json.dumps(to_dict(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_optional(tp: Any) -> tuple[bool, Any]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return True, rest[0] if len(rest) == 1 else Union[tuple(rest)]
    return False, tp


def from_dict(cls: type, data: Any, where: str = "") -> Any:
    """Build a dataclass (recursively) from plain data; unknown or missing keys raise ValueError naming the key."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where or cls.__name__}: unknown key(s) {', '.join(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = f"{where}.{f.name}" if where else f.name
        if f.name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise ValueError(f"missing key {key}")
        kwargs[f.name] = _convert(hints[f.name], data[f.name], key)
    return cls(**kwargs)


def field_from_data(cls: type, name: str, value: Any) -> Any:
    """One field of dataclass `cls` from plain data (used to lay cached stage output onto a record)."""
    return _convert(_hints(cls)[name], value, f"{cls.__name__}.{name}")


def _convert(tp: Any, value: Any, where: str) -> Any:
    optional, inner = _is_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ValueError(f"{where}: must not be null")
    tp = inner
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {str(k): _convert(item, v, f"{where}.{k}") for k, v in value.items()}
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ValueError(f"{where}: {value!r} is not one of {list(typing.get_args(tp))}")
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and not isinstance(value, tp):
        raise ValueError(f"{where}: expected {tp.__name__}, got {value!r}")
    if tp is int and isinstance(value, bool):
        raise ValueError(f"{where}: expected int, got {value!r}")
    return value


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def json_schema(cls: type, title: str, schema_id: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for a dataclass tree; field descriptions come from `doc(...)`."""
    defs: dict[str, Any] = {}
    _schema_for(cls, defs)
    root = defs.pop(cls.__name__)  # the root object inline, its parts under $defs
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _schema_for(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    optional, inner = _is_optional(tp)
    if optional:
        return {"anyOf": [_schema_for(inner, defs), {"type": "null"}]}
    if tp is Any:
        return {}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = _hints(tp)
            props = {}
            for f in dataclasses.fields(tp):
                prop = _schema_for(hints[f.name], defs)
                if f.metadata.get("doc"):
                    prop = {"description": f.metadata["doc"], **prop}
                props[f.name] = prop
            defs[name] = {
                "type": "object",
                "description": (tp.__doc__ or "").strip().split("\n")[0],
                "properties": props,
                "required": [f.name for f in dataclasses.fields(tp)],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{name}"}
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _schema_for(item, defs)}
    if origin is dict:
        _, item = typing.get_args(tp)
        return {"type": "object", "additionalProperties": _schema_for(item, defs)}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}
    raise TypeError(f"no JSON Schema mapping for {tp!r}")
