"""The run's output files: episodes.jsonl (one line per input) and turns.jsonl (one line per turn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import OutputOptions
from pipeline.files import atomic_write_jsonl
from pipeline.records import Episode, to_dict, turn_records

EPISODES_FILE = "episodes.jsonl"
TURNS_FILE = "turns.jsonl"


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
