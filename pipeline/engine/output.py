"""The run's output files: episodes.jsonl (one line per input), turns.jsonl (one line per turn) and manifest.json.

Both JSONL files are written to temps first, so a failed write (disk full) replaces neither. Their renames are
two steps, though: a run killed between them would leave a new episodes.jsonl beside an old turns.jsonl. So
manifest.json, written before either rename, holds the SHA-256 of both new files, and readers (`pipeline index`,
`export`) refuse a pair that does not match it (`mismatch`). A folder without a manifest (written by an older
version, or a turns.jsonl made by hand) is read as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.config import OutputOptions
from pipeline.errors import DiskFullError
from pipeline.files import DISK_FULL, StagedFiles, atomic_write_json, sha256_file
from pipeline.records import Episode, Record, doc, from_dict, to_dict, turn_records

EPISODES_FILE = "episodes.jsonl"
TURNS_FILE = "turns.jsonl"
MANIFEST_FILE = "manifest.json"


class OutputFile(Record):
    sha256: str = doc("SHA-256 of the file's bytes")
    lines: int = doc("records in the file, one per line", ge=0)


class Manifest(Record):
    """manifest.json: the output files the last run wrote (or was writing when it stopped)."""

    files: dict[str, OutputFile] = doc("each JSONL file of the run, by name")


def episode_record(episode: Episode, options: OutputOptions) -> dict[str, Any]:
    record = to_dict(episode)
    if not options.include_words:
        for part in (*record["segments"], *record["turns"]):
            part["words"] = []
    return record


def write_outputs(output_dir: Path, episodes: list[Episode], options: OutputOptions) -> None:
    """episodes.jsonl (one line per input) and turns.jsonl (one line per turn of the episodes that worked), and
    the manifest naming them; DiskFullError (the previous files kept) when there is no room for them."""
    turns = [to_dict(r) for e in episodes for r in turn_records(e)]
    try:
        with StagedFiles() as staged:
            staged.write_jsonl(output_dir / EPISODES_FILE, (episode_record(e, options) for e in episodes))
            staged.write_jsonl(output_dir / TURNS_FILE, turns)
            manifest = Manifest(files={
                EPISODES_FILE: OutputFile(sha256=staged.sha256(output_dir / EPISODES_FILE), lines=len(episodes)),
                TURNS_FILE: OutputFile(sha256=staged.sha256(output_dir / TURNS_FILE), lines=len(turns)),
            })  # fmt: skip
            atomic_write_json(output_dir / MANIFEST_FILE, to_dict(manifest))  # first: see the module docstring
            staged.commit()
    except OSError as e:
        if e.errno in DISK_FULL:
            raise DiskFullError(
                f"disk full: could not write {e.filename}; {output_dir} keeps the outputs of the previous run"
            ) from e
        raise


def mismatch(output_dir: Path) -> str | None:
    """Why the folder's JSONL files are not the ones its last run wrote, or None (also when it has no manifest)."""
    path = output_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = from_dict(Manifest, json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        return f"{path} is unreadable: {e}"
    for name, expected in manifest.files.items():
        file = output_dir / name
        if not file.is_file() or sha256_file(file) != expected.sha256:
            return (
                f"{file} is not the file the last run into {output_dir} wrote (that run was interrupted while "
                f"replacing its outputs, is still replacing them, or the file was changed since): run it again "
                f"(or delete {path} to read the folder as it is)"
            )
    return None
