"""What every stage is, and the per-file context stages share.

A stage is a small class with a name, a code version, what it requires and produces (plain class attributes,
as spaCy components declare `requires`/`assigns`), its own options, and `__call__(episode, job) -> episode`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pipeline.audio import DecodedAudio, decode
from pipeline.config import IngestOptions, ShowProfile
from pipeline.records import Episode
from pipeline.typed import stable_hash


class ModelStore:
    """Models loaded once per process and reused for every file (one per worker in a pool)."""

    def __init__(self) -> None:
        self._models: dict[Any, Any] = {}

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        if key not in self._models:
            self._models[key] = load()
        return self._models[key]


@dataclass
class Job:
    """One input file on its way through the stages."""

    path: Path
    sha256: str
    profile: ShowProfile | None
    ingest: IngestOptions
    models: ModelStore
    show_progress: bool
    _audio: DecodedAudio | None = field(default=None, repr=False)

    def audio(self) -> DecodedAudio:
        """Decoded once per file and shared by the stages that need samples (ASR, diarization)."""
        if self._audio is None:
            self._audio = decode(
                self.path, self.ingest.sample_rate, self.ingest.truncation_tolerance, self.ingest.corrupt_below
            )
        return self._audio

    def release_audio(self) -> None:
        self._audio = None


class Stage(ABC):
    name: ClassVar[str]
    version: ClassVar[str]  # bump when the stage's output changes for the same input and options
    requires: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = ()  # Episode fields the stage sets: what its cache entry holds
    cacheable: ClassVar[bool] = True

    @abstractmethod
    def options_for_hash(self, job: Job) -> Any:
        """What, besides the input and the model, decides this stage's result for this job."""

    def model_identity(self) -> str | None:
        return None

    def applies_to(self, episode: Episode) -> bool:
        return True

    def config_hash(self, job: Job) -> str:
        return stable_hash(self.options_for_hash(job))

    @abstractmethod
    def __call__(self, episode: Episode, job: Job) -> Episode:
        """The enriched episode (a new object or the same one updated)."""
