"""Figures stage: every figure of the deduplicated turns, tied to its speaker, turn, sentence and time."""

from __future__ import annotations

import re

from pipeline.config import ShowProfile
from pipeline.figures import FigureExtractor
from pipeline.records import Episode, FigureMention, Turn

_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?]*")


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence of `text` holding [start, end) (sentences end at 。！？ or a line break)."""
    for m in _SENTENCE.finditer(text):
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


class FiguresStage:
    """Per-file stage after speakers. Rule-based; its number and date resources load once per process."""

    name = "figures"
    version = "1"
    requires = ("turns",)
    produces = ("figures",)

    def __init__(self) -> None:
        self.extractor = FigureExtractor()

    def model_identity(self) -> str | None:
        return self.extractor.identity()

    def __call__(self, episode: Episode, profile: ShowProfile | None) -> Episode:
        mentions = []
        for turn in episode.turns:
            for figure in self.extractor(turn.text, episode.show.air_date):
                mentions.append(FigureMention(
                    turn=turn.id, speaker=turn.speaker, time=time_of(turn, figure.start, figure.end),
                    sentence=sentence_at(turn.text, figure.start, figure.end), figure=figure,
                ))  # fmt: skip
        episode.figures = mentions
        return episode
