"""Stage results on disk, keyed by what decides them.

Key of a stage for one episode = hash(record schema version, stage name and version, `options_key`, model
identity, the content keys of the fields the stage requires). A field's content key is the hash of its value
(FILE: the input's SHA-256; wall-clock `seconds` fields left out), so a stage re-runs exactly when something it reads changed: a new ASR option
re-runs transcription and what reads the transcript, not diarization; a new summary option re-runs the summary.

One JSON file per (stage, key), written atomically; only the fields a stage produces are stored (plus the notes
it added), so a cached result is laid onto the current episode and the file's own identity (path, id, air date)
is never taken from an older run. Entries are immutable once written, so workers sharing a cache folder can
only ever write the same bytes under one name.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipeline.files import atomic_write_json
from pipeline.engine.stage import FILE, Stage
from pipeline.records import SCHEMA_VERSION, Episode, field_from_data, stable_hash, to_dict

log = logging.getLogger(__name__)

UNSET = "-"  # content key of a field no stage has set for this episode
# Options that decide how fast a stage runs, never what it produces (a Ray worker sets them to its CPUs): left out
# of keys, so runs with other thread counts share the cache and give records with the same hashes.
SPEED_ONLY = frozenset({"cpu_threads"})


def _without(data: Any, names: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {k: _without(v, names) for k, v in data.items() if k not in names}
    if isinstance(data, list):
        return [_without(v, names) for v in data]
    return data


def content_key(episode: Episode, field: str, file_sha256: str) -> str:
    if field == FILE:
        return file_sha256
    # wall-clock timings (every field named `seconds`) differ between runs of the same work: not content
    return stable_hash(_without(to_dict(getattr(episode, field)), frozenset({"seconds"})), length=24)


def options_digest(options_key: Any) -> Any:
    """A stage's options_key as it enters its cache key and its provenance hash: without SPEED_ONLY options."""
    return _without(to_dict(options_key), SPEED_ONLY)


def stage_key(stage: Stage, options_key: Any, input_keys: dict[str, str]) -> str:
    return stable_hash(
        {"schema": SCHEMA_VERSION, "stage": stage.name, "version": stage.version,
         "options": options_digest(options_key), "model": stage.model_identity(), "inputs": input_keys},
        length=24,
    )  # fmt: skip


class StageCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def stage_folder(self, stage: str) -> Path:
        """Where a stage's entries (and the temps of their writes) live."""
        return self.folder / stage

    def _path(self, stage: str, key: str) -> Path:
        return self.stage_folder(stage) / f"{key}.json"

    def load_into(self, stage: Stage, key: str, episode: Episode) -> bool:
        path = self._path(stage.name, key)
        if not path.is_file():
            return False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            values = {name: field_from_data(Episode, name, data["fields"][name]) for name in stage.produces}
            notes = [str(n) for n in data["notes"]]
        except (ValueError, TypeError, KeyError, OSError) as e:  # an entry from an older layout: recompute
            log.debug("ignoring unreadable cache entry %s: %s", path, e)
            return False
        for name, value in values.items():
            setattr(episode, name, value)
        episode.notes.extend(notes)
        return True

    def save(self, stage: Stage, key: str, episode: Episode, notes: list[str]) -> None:
        """A cache entry that cannot be written (disk full, read-only cache) costs a recomputation next time,
        never the file's result."""
        fields = {name: to_dict(getattr(episode, name)) for name in stage.produces}
        try:
            atomic_write_json(self._path(stage.name, key), {"fields": fields, "notes": notes})
        except OSError as e:
            log.warning("could not write the %s cache entry for %s: %s", stage.name, episode.episode_id, e)
