"""Speakers stage: turns and named speakers of the deduplicated transcript (pipeline/lib/speakers.py).

Cheap and model-free, so it is not cached: it always runs, and what follows it stays cached when its output
is unchanged (a renamed file keeps its entities).
"""

from __future__ import annotations

from typing import Any

from pipeline.config import SpeakersOptions
from pipeline.engine.stage import FileStage, Job
from pipeline.lib.speakers import audio_turns, describe_speakers, label_segments, name_candidates, text_turns
from pipeline.records import Episode


class SpeakersStage(FileStage):
    name = "speakers"
    version = "2"  # 2: turns snapped to the diarized speech
    requires = ("source", "segments", "diarization", "dedup")
    produces = ("turns", "speakers", "segments")
    cacheable = False

    def __init__(self, options: SpeakersOptions) -> None:
        self.options = options

    def options_key(self, job: Job) -> Any:
        return {"speakers": self.options, "hosts": job.profile.hosts if job.profile else []}

    def run(self, episode: Episode, job: Job) -> None:
        audio = episode.source.kind == "audio"
        if audio:
            spans = episode.diarization.spans if episode.diarization else []
            turns = audio_turns(episode.segments, spans, self.options.max_turn_s, self.options.snap_s)
            episode.segments = label_segments(episode.segments, turns)
        else:
            turns = text_turns(episode.segments, self.options, subtitles=episode.source.format in ("srt", "vtt"))
        voices = {m.speaker: m.name for m in episode.diarization.voice_matches} if episode.diarization else {}
        candidates = name_candidates(episode.dedup.credits if episode.dedup else None, episode.segments, self.options)
        episode.turns = turns
        episode.speakers = describe_speakers(turns, audio, voices, candidates, job.profile)
