"""Typed records: the episode that flows through the stages, the per-turn search document, their JSON Schemas.

Imports nothing from the rest of the pipeline: every other layer may use records.
"""

from pipeline.records.alert import AlertRecord, alert_records
from pipeline.records.base import Record, doc, field_from_data, from_dict, stable_hash, to_dict
from pipeline.records.episode import (
    SCHEMA_VERSION, Airing, Alert, Correction, DedupReport, Diarization, DupRef, EpisodeContext, Recovery, Entity, EntityMention, Episode, ErrorInfo, Figure,
    FigureKind, FigureMention, Keyword, ProgrammeCredits, Provenance, Qualifier, Removal, Segment, Show, Source,
    Speaker, SpeakerCue, SpeakerLine, SpeakerSpan, StageRun, Summary, SummarySentence, Transcription, Turn, VoiceMatch, Word,
    full_text,
)  # fmt: skip
from pipeline.records.turn import TurnEntity, TurnRecord, turn_records

__all__ = [
    "SCHEMA_VERSION", "Airing", "Alert", "AlertRecord", "Correction", "EpisodeContext", "Recovery", "DedupReport", "Diarization", "DupRef", "Entity", "EntityMention", "Episode", "ErrorInfo",
    "Figure", "FigureKind", "FigureMention", "Keyword", "ProgrammeCredits", "Provenance", "Qualifier", "Record",
    "Removal", "Segment", "Show", "Source", "Speaker", "SpeakerCue", "SpeakerLine", "SpeakerSpan", "StageRun", "Summary",
    "SummarySentence", "Transcription", "Turn", "TurnEntity", "TurnRecord", "VoiceMatch", "Word", "doc",
    "alert_records", "field_from_data", "from_dict", "full_text", "stable_hash", "to_dict", "turn_records",
]  # fmt: skip
