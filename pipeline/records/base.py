"""The base of every typed record and option section: a pydantic model that refuses unknown keys.

Configs, cached stage results and the published JSON Schema all come from the same type hints, so a field
added to a record is serialised, loaded, validated and documented without a second list of fields.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class Record(BaseModel):
    """Typed data with every field required (defaults live in configs/*.yaml, not in code)."""

    model_config = ConfigDict(extra="forbid")


def doc(text: str, **constraints: Any) -> Any:
    """A required field whose text becomes its description in the JSON Schema; `constraints` are pydantic's
    (ge, gt, le, lt, min_length, pattern, ...) and are checked when the data is loaded."""
    return Field(description=text, **constraints)


def to_dict(obj: Any) -> Any:
    """A record tree as JSON-ready data (field order kept)."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def stable_hash(data: Any, length: int = 16) -> str:
    """Hash of JSON-ready data that does not depend on dict order."""
    text = json.dumps(to_dict(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def describe_error(error: ValidationError, where: str) -> str:
    """pydantic's errors as one line per problem, each naming the dotted key (entities.0.name: ...)."""
    lines = []
    for e in error.errors():
        key = ".".join(str(part) for part in e["loc"])
        message = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        value = f" (got {e['input']!r})" if "input" in e and not isinstance(e["input"], (dict, list)) else ""
        lines.append(f"{where}{':' if where else ''} {key}: {message}{value}".strip())
    return "; ".join(lines)


def from_dict(cls: type[BaseModel], data: Any, where: str = "") -> Any:
    """Build a record from plain data; every problem raises one ValueError naming the key(s)."""
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        raise ValueError(describe_error(e, where)) from None


@functools.cache
def _field_adapter(cls: type[BaseModel], name: str) -> TypeAdapter:
    return TypeAdapter(cls.model_fields[name].annotation)


def field_from_data(cls: type[BaseModel], name: str, value: Any) -> Any:
    """One field of record `cls` from plain data (used to lay cached stage output onto a record)."""
    try:
        return _field_adapter(cls, name).validate_python(value)
    except ValidationError as e:
        raise ValueError(describe_error(e, f"{cls.__name__}.{name}")) from None


def json_schema(cls: type[BaseModel], title: str, schema_id: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a record tree; descriptions come from `doc(...)` and the docstrings."""
    schema = cls.model_json_schema()
    schema.pop("title", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, "title": title, **schema}
