"""Ingest stage: probe audio or read a transcript, and find show and air date."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pipeline.config import IngestOptions, InputOptions
from pipeline.engine.stage import FILE, FileStage, Job
from pipeline.errors import InputFileError
from pipeline.lib.audio import probe
from pipeline.lib.lexicon import names_in_text
from pipeline.lib.showinfo import date_from_filename, date_from_text
from pipeline.records import Episode, EpisodeContext, Show, Transcription, full_text
from pipeline.text.reader import Reader
from pipeline.text.transcripts import read_transcript

CONTEXT_MAX_CHARS = 20_000  # a programme page or show notes; a longer file is cut (EpisodeContext.text says so)


class IngestStage(FileStage):
    name = "ingest"
    version = "2"  # 2: the episode's notes file
    requires = (FILE,)
    produces = ("source", "show", "context", "segments", "text", "transcription")
    cacheable = False  # probing and reading text cost less than a cache lookup would save

    def __init__(self, input_options: InputOptions, ingest_options: IngestOptions) -> None:
        self.input_options = input_options
        self.options = ingest_options

    def options_key(self, job: Job) -> Any:
        return {"input": self.input_options, "profile": job.profile}

    def run(self, episode: Episode, job: Job) -> None:
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
            fmt, segments, notes = read_transcript(job.path)
            episode.notes.extend(f"ingest: {note}" for note in notes)  # cues dropped, each said
            episode.source.format = fmt
            episode.segments = segments
            episode.text = full_text(segments)
            episode.transcription = Transcription(
                method="text", language=job.profile.language if job.profile else None,
                language_probability=None, model=None, speech_duration=None, seconds=None, prompt=None,
                recoveries=[], corrections=[],
            )  # fmt: skip
        episode.show = self._show(job, episode.text)
        if job.context is not None:
            episode.context = self._context(job, episode)

    @staticmethod
    def _context(job: Job, episode: Episode) -> EpisodeContext | None:
        """The notes file beside the episode; one that cannot be read is noted and left out (the episode goes on)."""
        try:
            data = job.context.read_bytes()[: CONTEXT_MAX_CHARS * 4]
            text = data.decode("utf-8-sig", errors="strict" if len(data) < CONTEXT_MAX_CHARS * 4 else "ignore")
        except (OSError, UnicodeDecodeError) as e:
            episode.notes.append(f"ingest: notes file {job.context.name} not read: {e}")
            return None
        text = text[:CONTEXT_MAX_CHARS]
        reader = job.models.get("sudachi", Reader)
        terms = [name for name, _ in names_in_text(text, reader, common_nouns=True)]
        return EpisodeContext(path=str(job.context), sha256=hashlib.sha256(data).hexdigest(), text=text, terms=terms)

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
