"""Emit: episode records as JSONL, and the JSON Schema they follow (generated from pipeline/records.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.config import PROJECT_ROOT, OutputOptions
from pipeline.fileio import atomic_write_jsonl
from pipeline.records import SCHEMA_VERSION, Episode
from pipeline.typed import json_schema, to_dict

SCHEMA_PATH = PROJECT_ROOT / "schema" / "episode.schema.json"
EPISODES_FILE = "episodes.jsonl"


def episode_schema() -> dict[str, Any]:
    schema = json_schema(
        Episode, title=f"Episode record v{SCHEMA_VERSION}", schema_id="broadcast-pipeline/episode.schema.json"
    )
    schema["properties"]["schema_version"]["const"] = SCHEMA_VERSION
    return schema


def schema_text() -> str:
    return json.dumps(episode_schema(), ensure_ascii=False, indent=2) + "\n"


def episode_record(episode: Episode, options: OutputOptions) -> dict[str, Any]:
    record = to_dict(episode)
    if not options.include_words:
        for segment in record["segments"]:
            segment["words"] = []
    return record


def write_episodes(output_dir: Path, episodes: list[Episode], options: OutputOptions) -> Path:
    path = output_dir / EPISODES_FILE
    atomic_write_jsonl(path, (episode_record(e, options) for e in episodes))
    return path
