"""The published JSON Schemas (schema/*.schema.json), generated from the record classes (`pipeline schema`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.records.alert import AlertRecord
from pipeline.records.base import json_schema
from pipeline.records.episode import SCHEMA_VERSION, Episode
from pipeline.records.turn import TurnRecord

SCHEMA_DIR = Path(__file__).resolve().parent.parent.parent / "schema"
SCHEMA_PATH = SCHEMA_DIR / "episode.schema.json"
TURN_SCHEMA_PATH = SCHEMA_DIR / "turn.schema.json"
ALERT_SCHEMA_PATH = SCHEMA_DIR / "alert.schema.json"


def _schema(cls: type, name: str) -> dict[str, Any]:
    schema = json_schema(cls, title=f"{name} v{SCHEMA_VERSION}", schema_id=f"broadcast-pipeline/{name}.schema.json")
    schema["properties"]["schema_version"]["const"] = SCHEMA_VERSION
    return schema


def episode_schema() -> dict[str, Any]:
    return _schema(Episode, "episode")


def turn_schema() -> dict[str, Any]:
    return _schema(TurnRecord, "turn")


def alert_schema() -> dict[str, Any]:
    return _schema(AlertRecord, "alert")


def schema_texts() -> dict[Path, str]:
    """Each committed schema file and the text the code generates for it."""
    return {
        path: json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
        for path, schema in ((SCHEMA_PATH, episode_schema()), (TURN_SCHEMA_PATH, turn_schema()),
                             (ALERT_SCHEMA_PATH, alert_schema()))
    }
