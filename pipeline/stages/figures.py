"""Figures stage: every figure of the deduplicated turns, tied to its speaker, turn, sentence and time."""

from __future__ import annotations

from typing import Any

from pipeline.config import FiguresOptions
from pipeline.engine.stage import FileStage, Job
from pipeline.lib.figures import FigureExtractor
from pipeline.records import Episode, FigureMention
from pipeline.text.sentences import sentence_at, time_of


class FiguresStage(FileStage):
    """Rule-based; its number and date resources load once per process."""

    name = "figures"
    # 2: dates in kanji numerals; 3: periods (4〜6月期, 上期), centuries, seconds, hours past 24, durations of
    # several units, fiscal 今年度, fewer misreadings (30時, 1-3月 as year 1)
    version = "3"
    requires = ("turns", "show")  # show: the air date resolves 7月5日 to a year
    produces = ("figures",)

    def __init__(self, options: FiguresOptions) -> None:
        self.options = options

    def options_key(self, job: Job) -> Any:
        return self.options  # and the libraries' tables (model_identity)

    def model_identity(self) -> str | None:
        return FigureExtractor.identity()

    def run(self, episode: Episode, job: Job) -> None:
        extractor = job.models.get("figures", FigureExtractor)
        mentions = []
        for turn in episode.turns:
            for figure in extractor(turn.text, episode.show.air_date, self.options.max_line_chars):
                mentions.append(FigureMention(
                    turn=turn.id, speaker=turn.speaker, time=time_of(turn, figure.start, figure.end),
                    sentence=sentence_at(turn.text, figure.start, figure.end), figure=figure,
                ))  # fmt: skip
        episode.figures = mentions
