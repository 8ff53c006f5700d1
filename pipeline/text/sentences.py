"""Positions inside a turn's text, shared by the stages that cite it (entities, figures, summary): its
sentences, and the seconds its characters were said."""

from __future__ import annotations

import re

from pipeline.records import Turn

# A sentence ends after 。！？ (or half-width ｡), with a closing bracket kept (「…です。」). Used per line by the
# NLP stages and per segment by dedup.
SENTENCE = re.compile(r"[^。！？!?｡]*(?:[。！？!?｡]+[」』）)]*|$)")
# The sentence a figure is quoted in: up to 。！？ or a line break (a closing bracket starts the next one).
_FIGURE_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?]*")


def sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) of a turn's text: split per line, then after 。！？ (a closing bracket stays)."""
    out = []
    offset = 0
    for line in text.split("\n"):
        for m in SENTENCE.finditer(line):
            if m.group().strip():
                out.append((offset + m.start(), m.group()))
        offset += len(line) + 1
    return out


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence of `text` holding [start, end) (sentences end at 。！？ or a line break)."""
    for m in _FIGURE_SENTENCE.finditer(text):
        if m.start() <= start < max(m.end(), m.start() + 1) or (m.start() < end <= m.end()):
            return m.group().strip()
    return text[start:end]


def time_of(turn: Turn, start: int, end: int) -> list[float] | None:
    """Seconds spanned by the words under characters [start, end) of the turn's text (audio turns)."""
    if not turn.words:
        return [turn.start, turn.end] if turn.start is not None and turn.end is not None else None
    position, spans = 0, []
    for word in turn.words:
        piece = word.text.strip()
        found = turn.text.find(piece, position) if piece else -1
        if found < 0:
            continue
        position = found + len(piece)
        if found < end and position > start:
            spans.append((word.start, word.end))
    return [spans[0][0], spans[-1][1]] if spans else None
