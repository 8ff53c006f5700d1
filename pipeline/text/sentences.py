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


# Where over-long text is cut, best first: after a sentence end (a line break is one), after a comma, at a space.
_CUT_MARKS = ("。！？!?｡\n", "、，,､", " 　\t")
_CLOSING = "」』）)"


def cut_at(window: str) -> int:
    """Length of the piece to take from `window` when the text goes on past it: up to its last sentence end (with
    a closing bracket after it), else its last comma, else its last space; else all of it (a hard cut)."""
    for marks in _CUT_MARKS:
        at = max(window.rfind(mark) for mark in marks)
        if at >= 0:
            end = at + 1
            while end < len(window) and window[end] in _CLOSING:
                end += 1
            return end
    return len(window)


def bounded(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """[start, end) of text as consecutive pieces of at most max_chars characters, each cut where `cut_at` says."""
    pieces = []
    while end - start > max_chars:
        cut = start + cut_at(text[start : start + max_chars])
        pieces.append((start, cut))
        start = cut
    if start < end:
        pieces.append((start, end))
    return pieces


def sentences(text: str, max_chars: int) -> list[tuple[int, str]]:
    """(offset, sentence) of a turn's text: split per line, then after 。！？ (a closing bracket stays). A sentence
    longer than max_chars (a page pasted as one line, ASR text without punctuation) is cut at commas or spaces,
    else hard: the models read sentences, and GiNZA's analyser refuses long input."""
    out = []
    offset = 0
    for line in text.split("\n"):
        for m in SENTENCE.finditer(line):
            if not m.group().strip():
                continue
            for start, end in bounded(line, m.start(), m.end(), max_chars):
                if line[start:end].strip():
                    out.append((offset + start, line[start:end]))
        offset += len(line) + 1
    return out


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence of `text` holding [start, end) (sentences end at 。！？ or a line break)."""
    a, b = sentence_span(text, start, end)
    return text[a:b]


def sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """[a, b) of the sentence of `text` holding [start, end), spaces at its edges left out; [start, end) itself
    when no sentence holds it."""
    for m in _FIGURE_SENTENCE.finditer(text):
        if m.start() <= start < max(m.end(), m.start() + 1) or (m.start() < end <= m.end()):
            sentence = m.group()
            a = m.start() + len(sentence) - len(sentence.lstrip())
            return a, max(a, m.start() + len(sentence.rstrip()))
    return start, end


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
