"""Diarize stage: wires pipeline/lib/diarization (the model-backed library) to the episode record.

Per file and cached like transcription: the key covers the input file, the options, the embedding model and
the show's enrolled voiceprints, so enrolling a host re-runs diarization of that show only, and an ASR option
does not re-run it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.lib.diarization import voices
from pipeline.config import DiarizeOptions
from pipeline.lib.diarization.diarizer import Diarizer, embedding_model_identity
from pipeline.records import Diarization, Episode, SpeakerSpan
from pipeline.engine.stage import FILE, FileStage, Job


class DiarizeStage(FileStage):
    name = "diarize"
    version = "2"  # 2: long recordings analysed in windows
    requires = (FILE,)
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

    def options_key(self, job: Job) -> Any:
        bounds = (job.profile.min_speakers, job.profile.max_speakers) if job.profile else (None, None)
        prints = [(p.name, p.clip_sha256) for p in self._voiceprints(job)]
        return {"diarize": self.options, "decode": job.ingest, "bounds": bounds, "voiceprints": prints}

    def run(self, episode: Episode, job: Job) -> None:
        windows = job.windows()
        diarizer = job.models.get(("diarizer", id(self.options)), lambda: Diarizer(self.options))
        profile = job.profile
        started = time.perf_counter()
        # a long recording is analysed window by window, then all its speech is clustered together
        job.progress.measure(windows.declared, "s")  # audio seconds whose windows are embedded
        parts = [diarizer.analyse(samples, job.ingest.sample_rate, offset, on_embedded=job.progress.advance)
                 for offset, samples in windows]  # fmt: skip
        result = diarizer.assign(
            parts, windows.duration or 0.0,
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
