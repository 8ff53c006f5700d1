"""Emit: episode records as JSONL, and the JSON Schema they follow (generated from pipeline/records.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.config import PROJECT_ROOT, OutputOptions
from pipeline.fileio import atomic_write_jsonl
from pipeline.figures import Figure
from pipeline.records import SCHEMA_VERSION, Episode, TurnEntity, TurnRecord
from pipeline.typed import json_schema, to_dict

SCHEMA_DIR = PROJECT_ROOT / "schema"
SCHEMA_PATH = SCHEMA_DIR / "episode.schema.json"
TURN_SCHEMA_PATH = SCHEMA_DIR / "turn.schema.json"
EPISODES_FILE = "episodes.jsonl"
TURNS_FILE = "turns.jsonl"


def _schema(cls: type, name: str) -> dict[str, Any]:
    schema = json_schema(cls, title=f"{name} v{SCHEMA_VERSION}", schema_id=f"broadcast-pipeline/{name}.schema.json")
    schema["properties"]["schema_version"]["const"] = SCHEMA_VERSION
    return schema


def episode_schema() -> dict[str, Any]:
    return _schema(Episode, "episode")


def turn_schema() -> dict[str, Any]:
    return _schema(TurnRecord, "turn")


def schema_texts() -> dict[Path, str]:
    """Each committed schema file and the text the code generates for it."""
    return {
        path: json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
        for path, schema in ((SCHEMA_PATH, episode_schema()), (TURN_SCHEMA_PATH, turn_schema()))
    }


def turn_records(episode: Episode) -> list[TurnRecord]:
    """Flat per-turn documents for search indexing, each carrying its speaker, programme, entities and figures."""
    speakers = {s.id: s for s in episode.speakers}
    entities: dict[int, list[TurnEntity]] = {}
    for entity in episode.entities:
        for m in entity.mentions:
            entities.setdefault(m.turn, []).append(
                TurnEntity(id=entity.id, name=entity.name, type=entity.type, text=m.text, span=list(m.span))
            )
    figures: dict[int, list[Figure]] = {}
    for mention in episode.figures:
        figures.setdefault(mention.turn, []).append(mention.figure)
    records = []
    for t in episode.turns:
        speaker = speakers.get(t.speaker)
        records.append(TurnRecord(
            schema_version=SCHEMA_VERSION, id=f"{episode.episode_id}#{t.id}", episode_id=episode.episode_id,
            turn=t.id, speaker=t.speaker, speaker_name=speaker.name if speaker else None,
            speaker_role=speaker.role if speaker else None, start=t.start, end=t.end, text=t.text,
            section=t.section, show=episode.show.name, station=episode.show.station, air_date=episode.show.air_date,
            source=episode.source.name, entities=sorted(entities.get(t.id, []), key=lambda e: e.span[0]),
            figures=figures.get(t.id, []),
        ))  # fmt: skip
    return records


def episode_record(episode: Episode, options: OutputOptions) -> dict[str, Any]:
    record = to_dict(episode)
    if not options.include_words:
        for part in (*record["segments"], *record["turns"]):
            part["words"] = []
    return record


def write_outputs(output_dir: Path, episodes: list[Episode], options: OutputOptions) -> None:
    """episodes.jsonl (one line per input) and turns.jsonl (one line per turn of the episodes that worked)."""
    atomic_write_jsonl(output_dir / EPISODES_FILE, (episode_record(e, options) for e in episodes))
    atomic_write_jsonl(output_dir / TURNS_FILE, (to_dict(r) for e in episodes for r in turn_records(e)))
