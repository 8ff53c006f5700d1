"""Ingest stage: identify the file, probe audio or read a transcript, and find show and air date."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.audio import probe
from pipeline.config import InputOptions, IngestOptions
from pipeline.errors import InputFileError
from pipeline.records import (
    SCHEMA_VERSION, Episode, Provenance, Show, Source, Transcription, full_text,
)  # fmt: skip
from pipeline.showinfo import date_from_filename, date_from_text
from pipeline.stage import Job, Stage
from pipeline.textin import read_transcript


def episode_id(path: Path) -> str:
    """The file name without suffix, reduced to characters safe in ids and file names."""
    return re.sub(r"[^\w.-]+", "_", path.stem).strip("_") or "episode"


def input_kind(path: Path, options: InputOptions) -> str | None:
    suffix = path.suffix.lower()
    if suffix in options.audio_extensions:
        return "audio"
    if suffix in options.text_extensions:
        return "text"
    return None


def blank_episode(path: Path, sha256: str, kind: str, config_hash: str) -> Episode:
    """The skeleton every record starts from; error records are this plus `error`."""
    return Episode(
        schema_version=SCHEMA_VERSION,
        episode_id=episode_id(path),
        status="ok",
        source=Source(
            path=str(path), name=path.name, sha256=sha256, size_bytes=path.stat().st_size, kind=kind,
            format=path.suffix.lower().lstrip("."), codec=None, sample_rate=None, channels=None,
        ),  # fmt: skip
        show=Show(profile=None, name=None, station=None, air_date=None, air_date_from=None),
        transcription=None,
        duration=None,
        text="",
        segments=[],
        summary=None,
        dedup=None,
        diarization=None,
        speakers=[],
        turns=[],
        entities=[],
        figures=[],
        notes=[],
        error=None,
        provenance=Provenance(pipeline_version=__version__, config_hash=config_hash, models={}, stages=[]),
    )


class IngestStage(Stage):
    name = "ingest"
    version = "1"
    produces = ("source", "show", "segments", "text", "transcription")
    cacheable = False  # probing and reading text cost less than a cache lookup would save

    def __init__(self, input_options: InputOptions, ingest_options: IngestOptions) -> None:
        self.input_options = input_options
        self.options = ingest_options

    def options_for_hash(self, job: Job) -> Any:
        return {"input": self.input_options, "profile": job.profile}

    def __call__(self, episode: Episode, job: Job) -> Episode:
        if episode.source.kind == "audio":
            info = probe(job.path)
            episode.source.format = info.format
            episode.source.codec = info.codec
            episode.source.sample_rate = info.sample_rate
            episode.source.channels = info.channels
            if info.declared_duration and info.declared_duration > self.options.max_duration_s:
                raise InputFileError(
                    f"{info.declared_duration:.0f} s of audio exceeds ingest.max_duration_s="
                    f"{self.options.max_duration_s:.0f}"
                )
        else:
            fmt, segments = read_transcript(job.path)
            episode.source.format = fmt
            episode.segments = segments
            episode.text = full_text(segments)
            episode.transcription = Transcription(
                method="text", language=job.profile.language if job.profile else None,
                language_probability=None, model=None, speech_duration=None, seconds=None,
            )  # fmt: skip
        episode.show = self._show(job, episode.text)
        return episode

    def _show(self, job: Job, text: str) -> Show:
        profile = job.profile
        show = Show(
            profile=profile.key if profile else None,
            name=profile.name if profile else None,
            station=profile.station if profile else None,
            air_date=None,
            air_date_from=None,
        )
        if date := date_from_filename(job.path.stem):
            show.air_date, show.air_date_from = date, "filename"
        elif date := date_from_text(text, today=dt.date.today()):
            show.air_date, show.air_date_from = date, "text"
        return show
