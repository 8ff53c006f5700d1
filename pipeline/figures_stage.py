"""Figures stage: every figure of the deduplicated turns, tied to its speaker, turn, sentence and time."""

from __future__ import annotations

from pipeline.config import ShowProfile
from pipeline.figures import FigureExtractor
from pipeline.records import Episode, FigureMention
from pipeline.turntext import sentence_at, time_of


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
