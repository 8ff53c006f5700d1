"""What the recogniser's output needs before anything trusts it: segments bounded in length, and loops found.

Pure functions over segment records; the transcribe stage applies them (and re-decodes what they flag).
"""

from __future__ import annotations

import zlib

from pipeline.records import Segment


def compression_ratio(text: str) -> float:
    """Whisper's own loop measure: text length over its zlib-compressed length (a loop compresses well)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def bound_segments(segments: list[Segment], max_s: float) -> list[Segment]:
    """Segments no longer than `max_s` seconds: a longer one is cut between words (at the widest pauses first),
    as many times as needed. Ids are renumbered in order. A segment without words is kept as it is."""
    out: list[Segment] = []
    for segment in segments:
        out.extend(_split(segment, max_s))
    return [s.model_copy(update={"id": i}) for i, s in enumerate(out)]


def _split(segment: Segment, max_s: float) -> list[Segment]:
    words = segment.words
    if segment.start is None or segment.end is None or segment.end - segment.start <= max_s or len(words) < 2:
        return [segment]
    # the widest pause between words whose cut leaves the first part within bounds, else the last such cut
    limit = words[0].start + max_s
    candidates = [i for i in range(1, len(words)) if words[i].start <= limit] or [1]
    cut = max(candidates, key=lambda i: (words[i].start - words[i - 1].end, i))
    first, rest = words[:cut], words[cut:]
    piece = Segment(id=segment.id, start=first[0].start, end=first[-1].end, text="".join(w.text for w in first).strip(),
                    speaker=segment.speaker, line=segment.line, words=first)  # fmt: skip
    remainder = Segment(id=segment.id, start=rest[0].start, end=segment.end, text="".join(w.text for w in rest).strip(),
                        speaker=segment.speaker, line=segment.line, words=rest)  # fmt: skip
    return [piece, *_split(remainder, max_s)]


def union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of [start, end] intervals, sorted; empty ones dropped, touching ones joined."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        elif b > a:
            out.append((a, b))
    return out


# Whisper's word times drift by up to about 0.2 s at a word's edges: a word covers this much around it.
WORD_EDGE_S = 0.25


def speech_gaps(speech: list[tuple[float, float]], covered: list[tuple[float, float]], min_gap_s: float,
                join_s: float = 0.0) -> list[tuple[float, float]]:  # fmt: skip
    """Stretches of speech (seconds) that no covered interval (a word) reaches, those less than join_s apart taken
    as one (with the pause between), kept when at least min_gap_s long."""
    words = union([(a - WORD_EDGE_S, b + WORD_EDGE_S) for a, b in covered])
    gaps: list[tuple[float, float]] = []
    for a, b in union(speech):
        position = a
        for c, d in words:
            if d <= position or c >= b:
                continue
            if c > position:
                gaps.append((position, c))
            position = max(position, d)
        if position < b:
            gaps.append((position, b))
    joined: list[tuple[float, float]] = []
    for a, b in gaps:
        if joined and a - joined[-1][1] < join_s and not any(c < a and d > joined[-1][1] for c, d in words):
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return [(round(a, 3), round(b, 3)) for a, b in joined if b - a >= min_gap_s]
