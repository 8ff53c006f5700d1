"""Dedup stage: loops, repeats and boilerplate within each episode, and passages repeated across the batch.

A batch stage: cross-episode matching needs every episode of the batch (pipeline/engine/runner.py says what a
batch is). Readings come from the process's one Sudachi reader.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import DedupOptions
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.dedup import Document, deduplicate_each
from pipeline.records import Episode, full_text
from pipeline.text.reader import Reader


class DedupStage(BatchStage):
    name = "dedup"
    version = "1"
    requires = ("segments", "show")  # show: the air date decides which airing of a repeat is kept
    produces = ("segments", "text", "dedup")

    def __init__(self, options: DedupOptions) -> None:
        self.options = options

    def options_key(self, job: Job) -> Any:
        return self.options

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled

    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        reader = items[0][1].models.get("sudachi", Reader)
        documents = [Document(e.episode_id, e.segments, e.show.air_date) for e, _ in items]
        results, failed = deduplicate_each(documents, self.options, reader)
        for episode, _ in items:
            if episode.episode_id in results:
                result = results[episode.episode_id]
                episode.segments, episode.text, episode.dedup = result.kept, full_text(result.kept), result.report
                episode.notes.extend(result.notes)
        return failed
