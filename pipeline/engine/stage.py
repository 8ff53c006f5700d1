"""The one stage protocol, and the per-file context stages share.

A stage is a small class, in the manner of a spaCy component: a name, a code version, a scope, the episode
fields it `requires` and `produces`, its options, and one method that does the work:

- a `FileStage` (scope "file") enriches one episode at a time: `run(episode, job)`; the executor decides where
  and in which order files run, so a file stage reads nothing but its episode and job;
- a `BatchStage` (scope "batch") needs every episode of the batch at once (cross-episode dedup, keyword
  weights): `run_batch(items)`, run by the driver after the file stages before it have finished everywhere.

The engine derives each stage's cache key from what the stage declares: the content of the fields it requires,
`options_key` (its options and whatever else decides the result, e.g. a show profile's vocabulary), its version
and `model_identity`. A stage therefore never builds keys itself, and must declare every field it reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pipeline.config import IngestOptions, ShowProfile
from pipeline.engine.progress import Progress
from pipeline.lib.audio import AudioReader, AudioWindows, DecodedAudio, decode, probe
from pipeline.records import Episode

# The pseudo-field every plan starts from: the input file's bytes (content key: its SHA-256).
FILE = "file"


class ModelStore:
    """Models loaded once per process and reused for every file (one store per worker process)."""

    def __init__(self) -> None:
        self._models: dict[Any, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"_models": {}}  # sent to another process: that process loads its own

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        if key not in self._models:
            self._models[key] = load()
        return self._models[key]


@dataclass
class Job:
    """One input file on its way through the file stages of one worker."""

    path: Path
    sha256: str
    profile: ShowProfile | None
    ingest: IngestOptions
    models: ModelStore
    context: Path | None = None  # the episode's notes file (<stem>.notes.txt), read by ingest
    progress: Progress = field(default_factory=Progress)  # where a stage says how far it is
    _audio: DecodedAudio | None = field(default=None, repr=False)

    def audio(self) -> DecodedAudio:
        """Decoded once per file and shared by the stages that need samples (ASR, diarization)."""
        if self._audio is None:
            self._audio = decode(
                self.path, self.ingest.sample_rate, self.ingest.truncation_tolerance, self.ingest.corrupt_below
            )
        return self._audio

    def windows(self) -> AudioWindows:
        """The audio in windows of at most ingest.window_s seconds: a file that fits is decoded once and shared
        by the stages; a longer one is decoded window by window as each stage reads it."""
        o = self.ingest
        declared = probe(self.path).declared_duration if self._audio is None else None
        if declared is not None and declared > o.window_s:
            reader = AudioReader(self.path, o.sample_rate, o.truncation_tolerance, o.corrupt_below)
            return AudioWindows(None, reader, o.window_s, o.window_search_s)
        return AudioWindows(self.audio(), None, o.window_s, o.window_search_s)

    def release_audio(self) -> None:
        self._audio = None


class Stage(ABC):
    name: ClassVar[str]
    version: ClassVar[str]  # bump when the stage's output changes for the same input and options
    scope: ClassVar[Literal["file", "batch"]]
    requires: ClassVar[tuple[str, ...]] = ()  # Episode fields (or FILE) the stage reads
    produces: ClassVar[tuple[str, ...]] = ()  # Episode fields the stage sets: what its cache entry holds
    cacheable: ClassVar[bool] = True  # False where recomputing costs less than a cache lookup

    @abstractmethod
    def options_key(self, job: Job) -> Any:
        """What, besides the required fields and the model, decides this stage's result for this file."""

    def model_identity(self) -> str | None:
        return None

    def applies_to(self, episode: Episode) -> bool:
        """False: the stage leaves this episode as it is (e.g. diarization of a text transcript)."""
        return True


class FileStage(Stage):
    scope = "file"

    @abstractmethod
    def run(self, episode: Episode, job: Job) -> None:
        """Set the `produces` fields of the episode (and append notes, if any)."""


class BatchStage(Stage):
    scope = "batch"

    @abstractmethod
    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        """Set the `produces` fields of every episode of the batch. Returns the episodes it could not do, by
        episode id, with why: those fail alone and the rest of the batch goes on."""
