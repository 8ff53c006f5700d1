"""The run's output files: episodes.jsonl (one line per input), turns.jsonl (one line per turn), alerts.jsonl (one
line per mention of a watched term) and manifest.json.

Both JSONL files are written to temps first, so a failed write (disk full) replaces neither. Their renames are
two steps, though: a run killed between them would leave a new episodes.jsonl beside an old turns.jsonl. So
manifest.json, written before either rename, holds the SHA-256 of both new files, and readers (`pipeline index`,
`export`) refuse a pair that does not match it (`mismatch`). A folder without a manifest (written by an older
version, or a turns.jsonl made by hand) is read as it is.

Beside them, each episode that worked gets the files of output.formats (pipeline/engine/formats.py) under
formats/<episode id>.<format>: staged with the JSONL files, so a failed write replaces none of them either, and
renamed before them, so a new episodes.jsonl comes with new format files. The manifest does not list them: they
are views of episodes.jsonl that no command reads back, and listing them would make every `pipeline index` hash
a file per episode and format, and refuse the folder after a user edits a subtitle file.

Alerts that asked for a clip (alerts.clips, a watchlist's `clips: true`) get it cut from the source audio
(pipeline/lib/clips.py) and staged with the rest, under <clip folder>/<episode id>.alert<n>.<format>. A clip that
cannot be cut (the source moved, a damaged stretch) is logged and its alert says `clip: null`; the run goes on.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline.config import ClipOptions, OutputOptions
from pipeline.errors import DiskFullError
from pipeline.files import DISK_FULL, StagedFiles, atomic_write_json, remove_stale_temp_files, sha256_file
from pipeline.engine.formats import render
from pipeline.text.sentences import sentence_span, time_of
from pipeline.lib.clips import cut_clip
from pipeline.records import Episode, Record, alert_records, doc, from_dict, to_dict, turn_records

log = logging.getLogger(__name__)

EPISODES_FILE = "episodes.jsonl"
TURNS_FILE = "turns.jsonl"
ALERTS_FILE = "alerts.jsonl"
MANIFEST_FILE = "manifest.json"
FORMATS_DIR = "formats"
NAME_MAX = 255  # bytes in one file name, on the common Linux and macOS file systems


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


def write_outputs(output_dir: Path, episodes: list[Episode], options: OutputOptions, clips: ClipOptions) -> None:
    """episodes.jsonl (one line per input), turns.jsonl (one line per turn of the episodes that worked),
    alerts.jsonl, the manifest naming them, the episodes' files under formats/ and the alerts' clips;
    DiskFullError (the previous files kept) when there is no room for them."""
    turns = [to_dict(r) for e in episodes for r in turn_records(e)]
    try:
        with StagedFiles() as staged:
            stage_formats(staged, output_dir, episodes, options)  # first: renamed first (module docstring)
            stage_clips(staged, output_dir, episodes, clips)  # sets `clip: null` where none was cut
            alerts = [to_dict(a) for a in alert_records(episodes)]
            staged.write_jsonl(output_dir / EPISODES_FILE, (episode_record(e, options) for e in episodes))
            staged.write_jsonl(output_dir / TURNS_FILE, turns)
            staged.write_jsonl(output_dir / ALERTS_FILE, alerts)
            manifest = Manifest(files={
                EPISODES_FILE: OutputFile(sha256=staged.sha256(output_dir / EPISODES_FILE), lines=len(episodes)),
                TURNS_FILE: OutputFile(sha256=staged.sha256(output_dir / TURNS_FILE), lines=len(turns)),
                ALERTS_FILE: OutputFile(sha256=staged.sha256(output_dir / ALERTS_FILE), lines=len(alerts)),
            })  # fmt: skip
            atomic_write_json(output_dir / MANIFEST_FILE, to_dict(manifest))  # first: see the module docstring
            staged.commit()
    except OSError as e:
        if e.errno in DISK_FULL:
            raise DiskFullError(
                f"disk full: could not write {e.filename}; {output_dir} keeps the outputs of the previous run"
            ) from e
        raise


def safe_path(output_dir: Path, relative: str) -> Path | None:
    """output_dir/relative, or None for a path that would leave the folder (absolute, empty, `.` or `..` parts)
    or whose names are too long for the file system."""
    parts = relative.split("/")
    if any(p in ("", ".", "..") or "\0" in p or len(p.encode("utf-8", "surrogateescape")) > NAME_MAX for p in parts):
        return None
    return output_dir.joinpath(*parts)


def stage_clips(staged: StagedFiles, output_dir: Path, episodes: list[Episode], options: ClipOptions) -> None:
    """The clip of every alert that names one, cut from its episode's source audio and staged; an alert whose clip
    cannot be cut or placed gets `clip: null` and a warning."""
    for folder, _, _ in os.walk(output_dir / options.folder):
        if removed := remove_stale_temp_files(Path(folder)):
            log.info("removed %d temp file(s) left by an interrupted run in %s", removed, folder)
    for episode in episodes:
        for alert in episode.alerts if episode.status == "ok" else []:
            if alert.clip is None:
                continue
            path = safe_path(output_dir, alert.clip)
            try:
                if path is None or path.is_dir():
                    raise ValueError(f"no safe place for it under {output_dir}")
                clip = cut_clip(Path(episode.source.path), _sentence_time(episode, alert), (alert.start, alert.end),
                                options)  # fmt: skip
                staged.write_bytes(path, clip.data)
            except OSError as e:
                if e.errno in DISK_FULL:
                    raise
                log.warning("clip of %s not written: %s", alert.id, e.strerror or e)
                alert.clip = None
            except Exception as e:  # noqa: BLE001 - a clip is an extra: the alert stays, without it
                log.warning("clip of %s not written: %s", alert.id, e)
                alert.clip = None


def _sentence_time(episode: Episode, alert) -> tuple[float, float]:
    """Seconds of the alert's sentence: the words of the turn under it (the mention's own time without words)."""
    turn = next((t for t in episode.turns if t.id == alert.turn), None)
    if turn is not None and alert.span is not None:
        a, b = sentence_span(turn.text, *alert.span)  # the mention's own sentence, however often its words recur
        if time := time_of(turn, a, b):
            return time[0], time[1]
    return alert.start, alert.end


def format_path(output_dir: Path, episode_id: str, fmt: str) -> Path | None:
    """OUTPUT/formats/<episode id>.<fmt> (shows/a.mp3 -> formats/shows/a.mp3.srt), or None for an id that would
    leave that folder (absolute, empty, `.` or `..` parts) or whose names are too long for the file system."""
    return safe_path(output_dir, f"{FORMATS_DIR}/{episode_id}.{fmt}")


def stage_formats(staged: StagedFiles, output_dir: Path, episodes: list[Episode], options: OutputOptions) -> None:
    """The files of options.formats for each episode that worked, staged in `staged`. A file that cannot have its
    place (an unsafe id; a folder there, or a file where its folder should be) is left out with a warning; what
    an episode lacks the data for (srt without times, rttm without diarization) is left out with a log line."""
    for folder, _, _ in os.walk(output_dir / FORMATS_DIR):  # the runner cleans the output folder itself only
        if removed := remove_stale_temp_files(Path(folder)):
            log.info("removed %d temp file(s) left by an interrupted run in %s", removed, folder)
    ok = [e for e in episodes if e.status == "ok"]
    paths = {(e.episode_id, f): format_path(output_dir, e.episode_id, f) for e in ok for f in options.formats}
    # ids a.mp3 and a.mp3.srt/b.ogg: one's file would be the other's folder, and its rename fail at commit
    folders = {parent for path in paths.values() if path for parent in path.parents}
    not_written: dict[tuple[str, str], list[str]] = defaultdict(list)  # (formats, why) -> episode ids
    for episode in ok:
        rendered = render(episode, options.formats, options.subtitles)
        for why in dict.fromkeys(rendered.skipped.values()):
            fmts = ", ".join(f for f, reason in rendered.skipped.items() if reason == why)
            not_written[fmts, why].append(episode.episode_id)
        for fmt, text in rendered.files.items():
            path = paths[episode.episode_id, fmt]
            if path is None or path in folders or path.is_dir():
                log.warning("%s file of %r not written: no safe place for it under %s", fmt, episode.episode_id,
                            output_dir / FORMATS_DIR)  # fmt: skip
                continue
            try:
                staged.write_bytes(path, text.encode("utf-8"))
            except OSError as e:
                if e.errno in DISK_FULL:
                    raise
                log.warning("%s not written: %s", path, e.strerror or e)
    for (fmts, why), ids in not_written.items():
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        log.info("formats: no %s for %s: %s", fmts, shown, why)


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


def read_records(output_dir: Path, name: str, cls: type[Record], kind: str, error: type[Exception]) -> list[Any]:
    """The records of one of a run's JSONL files, each checked against `cls`; raises `error` naming the file and
    line of a bad record, or the folder when the file is missing or does not match the manifest (`mismatch`)."""
    path = output_dir / name
    if not path.is_file():
        raise error(f"no {name} in {output_dir}: run `pipeline run ... -o {output_dir}` first")
    if problem := mismatch(output_dir):
        raise error(problem)
    records = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                records.append(from_dict(cls, json.loads(line)))
            except ValueError as e:  # json.JSONDecodeError is a ValueError too
                raise error(f"{path}, line {number}: not {kind}: {e}") from None
    return records
