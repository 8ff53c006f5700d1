"""Typed records passed between stages, and the episode record written as JSONL.

The JSON Schema in schema/episode.schema.json is generated from these classes (`pipeline schema`), so a field
documented here is documented there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.typed import doc

SCHEMA_VERSION = "1.0"


@dataclass
class Word:
    """One recognised word (Japanese: about one character) with its timing."""

    start: float = doc("seconds from the start of the file")
    end: float = doc("seconds from the start of the file")
    text: str = doc("the word as decoded, leading space kept")
    probability: float = doc("decoder probability of the word")


@dataclass
class Segment:
    """A stretch of transcript: an ASR segment, a subtitle cue, or one line of a text transcript."""

    id: int = doc("0-based position in the episode")
    start: float | None = doc("seconds; null for text transcripts without timing")
    end: float | None = doc("seconds; null for text transcripts without timing")
    text: str = doc("text without speaker prefix")
    speaker: str | None = doc("speaker label from the source (text prefix or cue voice), if any")
    line: int | None = doc("1-based line of the source text file, for text transcripts")
    words: list[Word] = doc("word timings (empty for text input or when output.include_words is off)")


@dataclass
class Source:
    """The input file."""

    path: str = doc("path as given to the runner")
    name: str = doc("file name")
    sha256: str = doc("content hash of the file")
    size_bytes: int = doc("file size")
    kind: Literal["audio", "text"] = doc("how the file is read")
    format: str = doc("container or text format (e.g. ogg, mp3, mov,mp4,m4a, txt, srt, vtt)")
    codec: str | None = doc("audio codec of the decoded stream")
    sample_rate: int | None = doc("original sample rate of the audio stream")
    channels: int | None = doc("original channel count")


@dataclass
class Show:
    """Programme metadata from the show profile, the file name or the text itself."""

    profile: str | None = doc("key of the matched show profile (configs/shows/<key>.yaml)")
    name: str | None = doc("programme name")
    station: str | None = doc("broadcaster")
    air_date: str | None = doc("ISO date the episode aired")
    air_date_from: Literal["filename", "text"] | None = doc("where air_date was found")


@dataclass
class Transcription:
    """How the transcript was obtained."""

    method: Literal["asr", "text"] = doc("asr: recognised from audio; text: read from a transcript file")
    language: str | None = doc("ISO code, detected or configured")
    language_probability: float | None = doc("detection confidence; null when configured or for text")
    model: str | None = doc("model identity used for ASR")
    speech_duration: float | None = doc("seconds of speech kept by VAD")
    seconds: float | None = doc("wall time of recognition")


@dataclass
class StageRun:
    """One stage's run for this episode."""

    stage: str = doc("stage name")
    version: str = doc("stage code version (part of the cache key)")
    config_hash: str = doc("hash of the stage's options")
    cache_key: str = doc("key of the stage result in the cache")
    cached: bool = doc("true when the result came from the cache")
    seconds: float = doc("wall time of the stage in this run (0 when cached)")


@dataclass
class Provenance:
    """What produced this record."""

    pipeline_version: str = doc("package version")
    config_hash: str = doc("hash of the whole configuration")
    models: dict[str, str] = doc("stage -> model identity")
    stages: list[StageRun] = doc("stages run, in order")


@dataclass
class ErrorInfo:
    """Why an input could not be processed."""

    stage: str = doc("stage that failed")
    type: str = doc("error class")
    message: str = doc("what went wrong, for a person")


@dataclass
class Episode:
    """One input file's record: the unit that flows through the stages and is written as one JSONL line."""

    schema_version: str = doc("version of this record layout")
    episode_id: str = doc("stable id: the file name without suffix")
    status: Literal["ok", "error"] = doc("error: see `error`; the other fields may be partial")
    source: Source = doc("the input file")
    show: Show = doc("programme metadata")
    transcription: Transcription | None = doc("how the text was obtained")
    duration: float | None = doc("seconds of decoded audio, or null for text")
    text: str = doc("full transcript, one segment per line")
    segments: list[Segment] = doc("transcript segments in order")
    notes: list[str] = doc("quality notes (e.g. no speech found, truncated file)")
    error: ErrorInfo | None = doc("set when status is error")
    provenance: Provenance = doc("versions, config and model identities")


def full_text(segments: list[Segment]) -> str:
    return "\n".join(s.text for s in segments)
