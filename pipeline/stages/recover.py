"""Recover stage: speech the first decoding dropped, decoded again on its own.

Runs after diarization. Where diarization found speech that no word covers for at least `min_gap_s` (a phone
caller's last question under the host's voice, a closing line after music), or where a segment's text repeats an
earlier segment's (a chunk that came back as a copy of what was said before), that stretch of audio is decoded
again: sequentially, with temperature fallback, the episode's prompt and language, no VAD. New words are put in
(in time order, segment ids renumbered); each stretch is recorded in transcription.recoveries with its reason, both
texts and whether the new text was kept. Turns are built from the words, so they then cover that speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intervaltree import Interval, IntervalTree
from rapidfuzz import fuzz

from pipeline.config import RecoverOptions, TranscribeOptions
from pipeline.engine.stage import FILE, FileStage, Job
from pipeline.lib.asr import WORD_EDGE_S, speech_gaps
from pipeline.lib.speakers import SpeakerIndex
from pipeline.lib.models import ResolvedModel
from pipeline.records import Episode, Recovery, Segment, SpeakerSpan, full_text
from pipeline.stages.transcribe import TranscribeStage, decode_kwargs, load_whisper, sequential_kwargs
from pipeline.text.normalise import letters_digits

NEARBY_S = 3.0  # how far around a stretch its new text is looked for (a sentence or so)


@dataclass(frozen=True)
class Stretch:
    """A stretch of audio to decode again."""

    start: float
    end: float
    reason: str  # Recovery.reason
    old: Segment | None  # the segment a copy replaces
    within: bool  # inside a decoded segment, between its words


class RecoverStage(FileStage):
    name = "recover"
    version = "1"
    requires = (FILE, "segments", "diarization", "context", "transcription")
    produces = ("segments", "text", "transcription")

    def __init__(self, options: RecoverOptions, transcribe: TranscribeOptions, model_cache_dir: Path) -> None:
        self.options = options
        self.transcribe = transcribe
        self.decoder = TranscribeStage(transcribe, model_cache_dir)  # the same model, resolved the same way

    def resolved(self) -> ResolvedModel:
        return self.decoder.resolved()

    def model_identity(self) -> str:
        return self.decoder.model_identity()

    def options_key(self, job: Job) -> Any:
        return {"recover": self.options, "transcribe": self.transcribe, "decode": job.ingest,
                "vocabulary": job.profile.vocabulary if job.profile else []}  # fmt: skip

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled and episode.source.kind == "audio" and episode.diarization is not None

    def run(self, episode: Episode, job: Job) -> None:
        todo = self.stretches(episode)
        if not todo:
            return
        kwargs = sequential_kwargs(decode_kwargs(self.transcribe, job.profile, episode.context))
        kwargs["language"] = episode.transcription.language or kwargs["language"]
        whisper = load_whisper(job, self.transcribe, self.resolved().path)
        rate = job.ingest.sample_rate
        segments = list(episode.segments)
        recoveries = list(episode.transcription.recoveries)
        for offset, samples in job.windows():
            end_of_window = offset + samples.size / rate
            for item in todo:
                if not offset <= item.start < end_of_window:
                    continue
                a, b = max(offset, item.start - self.options.pad_s), min(end_of_window, item.end + self.options.pad_s)
                piece = samples[int((a - offset) * rate) : int((b - offset) * rate)]
                found = [TranscribeStage._segment(0, r, a) for r in whisper.transcribe(piece, **kwargs)[0]
                         if not self.decoder.non_speech(r)]  # fmt: skip
                segments, recovery = self.put_in(item, found, segments)
                recoveries.append(recovery)
        segments.sort(key=lambda s: (s.start if s.start is not None else 0.0))
        episode.segments = [s.model_copy(update={"id": i}) for i, s in enumerate(segments)]
        episode.text = full_text(episode.segments)
        episode.transcription.recoveries = recoveries

    def stretches(self, episode: Episode) -> list[Stretch]:
        """What to decode again, in time order: diarized speech no word covers, and segments that copy earlier ones.
        A word stretched over seconds (Whisper's timing of a word the decoder wrote in place of what was said)
        covers only its last max_word_s, and what it stretches over counts as speech even where diarization missed
        it (a phone caller's quiet line)."""
        o = self.options
        words = [w for s in episode.segments for w in s.words]
        stretched = [(w.start, w.end - o.max_word_s) for w in words if w.end - w.start > o.max_word_s]
        covered = [(max(w.start, w.end - o.max_word_s), w.end) for w in words]
        covered += [(s.start, s.end) for s in episode.segments if not s.words and s.start is not None]
        inside = IntervalTree(Interval(s.start, s.end) for s in episode.segments if s.start is not None and s.end > s.start)
        voices = SpeakerIndex(episode.diarization.spans)
        todo = []
        for a, b in self.gaps(episode.diarization.spans, stretched, covered):
            within = _mostly_inside(inside, a, b) and not _another_voice(voices, words, a, b)
            if b - a >= o.min_inside_gap_s or not within:
                todo.append(Stretch(a, b, "no_words", None, within))
        todo += [Stretch(s.start, s.end, "copy", s, True) for s in copies(episode.segments, o.copy_min_chars, o.copy_similarity)]
        return sorted(todo, key=lambda t: t.start)

    def gaps(self, spans: list[SpeakerSpan], stretched: list[tuple[float, float]], covered: list[tuple[float, float]]
             ) -> list[tuple[float, float]]:  # fmt: skip
        """Speech no word covers, found per diarized speaker (so one stretch never runs from one voice into the
        next: decoded together, the first voice's tail took the words of the second), and under stretched words;
        where two overlap, one stretch."""
        o = self.options
        by_voice: dict[str, list[tuple[float, float]]] = {}
        for span in spans:
            by_voice.setdefault(span.speaker, []).append((span.start, span.end))
        found = [g for voice in by_voice.values() for g in speech_gaps(voice, covered, o.min_gap_s, o.join_s)]
        found += speech_gaps(stretched, covered, o.min_gap_s, o.join_s)
        merged: list[tuple[float, float]] = []
        for a, b in sorted(found):  # not lib/asr.union: two voices' stretches that only touch stay apart
            if merged and a < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged

    def put_in(self, item: Stretch, found: list[Segment], segments: list[Segment]) -> tuple[list[Segment], Recovery]:
        """The segments with what the second decoding found put in (or not), and its record."""
        similarity = self.options.copy_similarity
        if item.reason == "no_words":  # only what lies in the gap: the words on either side are there already
            found = [s for s in (_within(s, item.start, item.end) for s in found) if s is not None]
            # inside a segment, new text the words around already say is those words heard again
            keep = bool(found) and not (item.within and _said_nearby(found, segments, item.start, item.end, similarity))
            if keep:
                segments = segments + found
        else:
            text = " ".join(s.text for s in found)
            earlier = [s.text for s in segments if s.end is not None and s.end <= item.old.start]
            keep = bool(found) and not any(fuzz.ratio(text, e) >= similarity for e in earlier)
            if keep:
                segments = [s for s in segments if s is not item.old] + found
        recovery = Recovery(start=round(item.start, 3), end=round(item.end, 3), reason=item.reason,
                            before=item.old.text if item.old else "", after=" ".join(s.text for s in found),
                            kept=keep)  # fmt: skip
        return segments, recovery


def _mostly_inside(segments: IntervalTree, start: float, end: float) -> bool:
    """Most of [start, end] lies inside one decoded segment: a pause the segment's words are timed around, as a
    rule, not speech it left out (unless it is long: min_inside_gap_s)."""
    return any(min(end, i.end) - max(start, i.begin) > (end - start) / 2 for i in segments.overlap(start, end))


def _another_voice(voices: SpeakerIndex, words: list, start: float, end: float) -> bool:
    """Diarization hears someone other than the speakers of the words on either side of [start, end]: not a pause
    of theirs (a caller's short reply between two lines of a host, inside one decoded segment)."""
    before = [w for w in words if w.end <= start + WORD_EDGE_S]
    after = [w for w in words if w.start >= end - WORD_EDGE_S]
    if not voices.spans or not before or not after:
        return False
    who = voices.speaker_at(start, end)
    around = {voices.speaker_at(before[-1].start, before[-1].end), voices.speaker_at(after[0].start, after[0].end)}
    return who not in around


def copies(segments: list[Segment], min_chars: int, similarity: float) -> list[Segment]:
    """Segments of at least min_chars whose text repeats an earlier segment's (similarity 0-100)."""
    out = []
    for i, segment in enumerate(segments):
        if len(segment.text) < min_chars or segment.start is None:
            continue
        if any(fuzz.ratio(segment.text, earlier.text) >= similarity for earlier in segments[:i]):
            out.append(segment)
    return out


def _said_nearby(found: list[Segment], segments: list[Segment], start: float, end: float, similarity: float) -> bool:
    """The new text is already there in the words around the stretch (a word whose time stretched over its own
    pause, decoded again): putting it in would say it twice."""
    new = letters_digits(" ".join(s.text for s in found))
    around = letters_digits("".join(w.text for s in segments for w in s.words if w.end >= start - NEARBY_S and w.start <= end + NEARBY_S))
    return not new or fuzz.partial_ratio(new, around) >= similarity


def _within(segment: Segment, start: float, end: float) -> Segment | None:
    """The segment cut to its words whose middle lies in [start, end]; None if none does."""
    if not segment.words:
        middle = (segment.start + segment.end) / 2
        return segment if start <= middle <= end else None
    words = [w for w in segment.words if start <= (w.start + w.end) / 2 <= end]
    if not words:
        return None
    text = "".join(w.text for w in words).strip()
    return segment.model_copy(update={"words": words, "text": text, "start": words[0].start, "end": words[-1].end})
