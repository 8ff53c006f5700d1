"""Speakers: who said each part of the transcript, as turns, with names where they can be found.

Pure functions (interval logic and text rules) tested with plain data; the audio side takes the diarizer's
spans as data (pipeline/lib/diarization computes them), so no model is needed here.

- Audio: each word goes to the speaker whose spans cover most of it (the nearest span when none does);
  consecutive words of one speaker form a turn, so an ASR segment is split where the speaker changes.
- Text: a `名前:` prefix starts that speaker's turn; a line without one continues the previous speaker;
  unlabelled lines before the first label are narration; `◆` headings are section titles, not speech.
- Names: short labels map to full names from the show profile, the page's credits and introductions in the
  text (城西大学 助教・塚越健司さん); anonymous audio speakers take names from enrolled voiceprints.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from intervaltree import Interval, IntervalTree

from pipeline.config import ShowProfile, SpeakersOptions
from pipeline.records import ProgrammeCredits, Segment, Speaker, SpeakerSpan, Turn, Word

NARRATION = "narration"
UNKNOWN = "SPEAKER_00"


# ---------------------------------------------------------------- audio: words to speakers


class SpeakerIndex:
    """Who speaks when, for lookups by time: an interval tree over the diarized spans, so a word costs a
    logarithmic lookup rather than a scan of every span of the show."""

    def __init__(self, spans: list[SpeakerSpan]) -> None:
        self.spans = spans
        self.tree = IntervalTree(Interval(s.start, s.end, s.speaker) for s in spans if s.end > s.start)

    def speaker_at(self, start: float, end: float) -> str:
        """The speaker covering most of [start, end]; the nearest span's speaker when none overlaps."""
        if not self.spans:
            return UNKNOWN
        overlap: Counter[str] = Counter()
        for span in self.tree.overlap(start, end) if end > start else self.tree.at(start):
            shared = min(end, span.end) - max(start, span.begin)
            if shared > 0:
                overlap[span.data] += shared
        if overlap:
            return max(sorted(overlap), key=lambda s: overlap[s])  # ties: the lower id, deterministically
        middle = (start + end) / 2  # in a pause: rare, so a scan is fine
        nearest = min(self.spans, key=lambda s: max(s.start - middle, middle - s.end, 0))
        return nearest.speaker


def audio_turns(segments: list[Segment], spans: list[SpeakerSpan], max_turn_s: float, snap_s: float) -> list[Turn]:
    """Turns from word-level speaker assignment; segments without words are assigned whole. A turn that would
    grow past `max_turn_s` seconds goes on in a new turn of the same speaker, at a segment boundary. Turn edges
    are then snapped to the speaker's diarized speech (snap_turns)."""
    index = SpeakerIndex(spans)
    turns: list[Turn] = []

    def add(who: str, segment: Segment, words: list[Word], start: float | None, end: float | None, text: str) -> None:
        last = turns[-1] if turns else None
        new_segment = last is not None and segment.id != last.segments[-1]
        reach = segment.end if segment.end is not None else end  # the whole segment joins, or none of it
        full = new_segment and last.start is not None and reach is not None and reach - last.start > max_turn_s
        if last is not None and last.speaker == who and not full:
            last.end = end
            last.text += f" {text.lstrip()}" if new_segment or not words else text  # a pause between segments
            last.words.extend(words)
            if new_segment:
                last.segments.append(segment.id)
        else:
            turns.append(Turn(id=len(turns), speaker=who, start=start, end=end, text=text, section=None,
                              segments=[segment.id], words=list(words)))  # fmt: skip

    for segment in segments:
        if not segment.words:
            add(index.speaker_at(segment.start or 0.0, segment.end or 0.0), segment, [], segment.start,
                segment.end, segment.text)  # fmt: skip
            continue
        for word in segment.words:
            add(index.speaker_at(word.start, word.end), segment, [word], word.start, word.end, word.text)
    for turn in turns:
        turn.text = turn.text.strip()
    return snap_turns([t for t in turns if t.text], index, snap_s)


def snap_turns(turns: list[Turn], index: SpeakerIndex, snap_s: float) -> list[Turn]:
    """Each turn's edges moved to the edges of its speaker's diarized speech, when those lie at most snap_s away,
    never into the turn before or after: Whisper's word times are loose at the edges (a first word timed from the
    start of its chunk, a last one into the pause), diarization's are not, so a turn then covers what its speaker
    said and not the silence around it (search hits and clips start where the speech starts). The words of a
    turn are held inside it, so every time in the record (words, mentions, summary sentences) lies in its turn."""
    for i, turn in enumerate(turns):
        if turn.start is None or turn.end is None:
            continue
        floor = turns[i - 1].end if i > 0 and turns[i - 1].end is not None else 0.0
        ceiling = turns[i + 1].start if i + 1 < len(turns) and turns[i + 1].start is not None else float("inf")
        own = sorted(s for s in index.tree.overlap(turn.start - snap_s, turn.end + snap_s) if s.data == turn.speaker)
        if not own:
            continue
        start, end = turn.start, turn.end
        if abs(own[0].begin - turn.start) <= snap_s:
            start = max(own[0].begin, floor)
        if abs(own[-1].end - turn.end) <= snap_s:
            end = min(own[-1].end, ceiling)
        if start < end:
            turn.start, turn.end = round(start, 3), round(end, 3)
            for word in turn.words:  # an edge word timed into the silence is held to the speech (words stay inside)
                word.start = min(max(word.start, turn.start), turn.end)
                word.end = max(min(word.end, turn.end), word.start)
    return turns


def label_segments(segments: list[Segment], turns: list[Turn]) -> list[Segment]:
    """Each segment labelled with the speaker of most of its words (a segment may span a speaker change)."""
    by_word = {id(w): t.speaker for t in turns for w in t.words}
    out = []
    for segment in segments:
        counts = Counter(by_word[id(w)] for w in segment.words if id(w) in by_word)
        if not counts:  # no words: the turn that holds the segment
            counts = Counter(t.speaker for t in turns if segment.id in t.segments)
        speaker = max(sorted(counts), key=lambda s: counts[s]) if counts else segment.speaker
        out.append(Segment(id=segment.id, start=segment.start, end=segment.end, text=segment.text,
                           speaker=speaker, line=segment.line, words=segment.words))  # fmt: skip
    return out


# ---------------------------------------------------------------- text: prefixes, continuation, narration


def text_turns(segments: list[Segment], options: SpeakersOptions, subtitles: bool) -> list[Turn]:
    """Turns of a text transcript. Subtitles without any speaker label are one unknown speaker."""
    heading = re.compile(options.heading_pattern)
    labelled = any(s.speaker for s in segments)
    turns: list[Turn] = []
    section: str | None = None
    current: str | None = None
    for segment in segments:
        if segment.speaker is None and heading.search(segment.text):
            section = heading.sub("", segment.text).strip() or segment.text
            continue  # a heading titles what follows; nobody says it
        who = segment.speaker or current or (NARRATION if labelled or not subtitles else UNKNOWN)
        if turns and turns[-1].speaker == who and turns[-1].section == section:
            last = turns[-1]
            last.text = f"{last.text}\n{segment.text}"
            last.end = segment.end if segment.end is not None else last.end
            last.segments.append(segment.id)
        else:
            turns.append(Turn(id=len(turns), speaker=who, start=segment.start, end=segment.end, text=segment.text,
                              section=section, segments=[segment.id], words=[]))  # fmt: skip
        current = who
    return turns


# ---------------------------------------------------------------- names


@dataclass
class NameCandidate:
    name: str
    source: str  # "credits" or "introduction"


def name_candidates(
    credits: ProgrammeCredits | None, segments: list[Segment], options: SpeakersOptions
) -> list[NameCandidate]:
    """Full names the page itself reveals: its credit lines (kept by dedup) and introductions (〜さん)."""
    honorific = re.compile(rf"({'|'.join(map(re.escape, options.honorifics))})$")
    found: list[NameCandidate] = []
    if credits is not None:
        for name in [*credits.personalities, *credits.credits]:
            found.append(NameCandidate(honorific.sub("", name).strip(), "credits"))
    pattern = re.compile(options.introduction_pattern)
    for segment in segments:
        for m in pattern.finditer(segment.text):
            found.append(NameCandidate(m.group(1), "introduction"))
    return [c for c in found if c.name]


def resolve_name(label: str, profile: ShowProfile | None, candidates: list[NameCandidate]) -> tuple[str | None, str | None]:
    """(full name, how it was found) for a short label such as 吉田; (None, None) when nothing says."""
    if profile is not None:
        for host in profile.hosts:
            if label == host.name or label in host.aliases:
                return host.name, "profile"
    for source in ("credits", "introduction"):
        longer = {c.name for c in candidates if c.source == source and c.name.startswith(label) and c.name != label}
        if len(longer) == 1:
            return longer.pop(), source
        if len(longer) > 1:
            return None, None  # two people share the label: better no name than a wrong one
    if any(c.name == label for c in candidates):
        return label, "credits" if any(c.name == label and c.source == "credits" for c in candidates) else "introduction"
    return label, "label"


def describe_speakers(
    turns: list[Turn], audio: bool, voices: dict[str, str], candidates: list[NameCandidate],
    profile: ShowProfile | None,
) -> list[Speaker]:  # fmt: skip
    """The speakers of the turns, in order of first turn, named where something says who they are. Audio
    speakers take their name from `voices` (speaker id -> enrolled name); text labels resolve by the profile,
    credits and introductions."""
    hosts = {h.name for h in profile.hosts} if profile else set()
    speakers: dict[str, Speaker] = {}
    for turn in turns:
        if turn.speaker not in speakers:
            sid = turn.speaker
            if sid == NARRATION:
                label, name, named_by = None, None, None
            elif audio:
                label, name = None, voices.get(sid)
                named_by = "voiceprint" if name else None
            else:
                label = sid
                name, named_by = resolve_name(sid, profile, candidates)
            role = "narration" if sid == NARRATION else "host" if name in hosts else "guest" if name else None
            speakers[sid] = Speaker(id=sid, label=label, name=name, named_by=named_by, role=role,
                                    talk_time=0.0 if audio else None, chars=0, turn_count=0)  # fmt: skip
        speaker = speakers[turn.speaker]
        speaker.turn_count += 1
        speaker.chars += len(turn.text)
        if speaker.talk_time is not None and turn.start is not None and turn.end is not None:
            speaker.talk_time = round(speaker.talk_time + turn.end - turn.start, 3)
    return list(speakers.values())
