"""Summary stage: a headline, key sentences, keywords and a line per speaker (pipeline/lib/summary.py).

A batch stage: keywords are weighted against the other episodes of the batch.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import SummaryOptions
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.summary import Document, Summarizer
from pipeline.records import Episode
from pipeline.text.reader import Reader


class SummaryStage(BatchStage):
    name = "summary"
    version = "1"
    requires = ("turns", "speakers", "entities")
    produces = ("summary",)

    def __init__(self, options: SummaryOptions) -> None:
        self.options = options

    def options_key(self, job: Job) -> Any:
        return self.options

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled

    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        summarizer = Summarizer(self.options, items[0][1].models.get("sudachi", Reader))
        done, failed = summarizer.each([Document(e.turns, e.speakers, e.entities) for e, _ in items])
        for i, (summary, notes) in done.items():
            episode = items[i][0]
            episode.summary = summary
            episode.notes.extend(notes)
        return {items[i][0].episode_id: error for i, error in failed.items()}
