"""Dedup stage: loops, repeats and boilerplate within each episode, and passages repeated across the batch and,
with the dedup archive (dedup.archive), across the episodes of earlier runs.

A batch stage: cross-episode matching needs every episode of the batch (README, "Batches and shards", says what a
batch is). Readings come from the process's one Sudachi reader.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pipeline.config import DedupOptions
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.dedup import Document, deduplicate_each, fingerprint_kind
from pipeline.lib.dedup_archive import Entry, open_archive
from pipeline.records import Episode, full_text
from pipeline.text.reader import Reader

log = logging.getLogger(__name__)


def archive_file(options: DedupOptions, output_dir: Path | None) -> Path | None:
    """dedup.archive as a path, a relative one in the output folder. None: no archive (null, or cross-episode
    matching off), or a relative one and no output folder (a plan built only to be described)."""
    if options.archive is None or not options.cross_episode:
        return None
    path = Path(options.archive).expanduser()
    if path.is_absolute():
        return path
    return output_dir / path if output_dir is not None else None


class DedupStage(BatchStage):
    name = "dedup"
    version = "2"  # 2: the archive of earlier runs; DupRef air_date and earlier_run
    requires = ("segments", "show")  # show: the air date decides which airing of a repeat is kept
    produces = ("segments", "text", "dedup")

    def __init__(self, options: DedupOptions, archive: Path | None = None) -> None:
        self.options = options
        self.archive = archive  # the archive file (archive_file); None: match within the batch only

    def options_key(self, job: Job) -> Any:
        """With an archive, its state too: what it holds decides the result, so a cached result is reused only with
        the archive it was found with (a new archive, or one a run wrote to, runs the stage again, which then
        writes the batch into the archive)."""
        if self.archive is None:
            return self.options
        with open_archive(self.archive) as archive:
            return {"options": self.options, "archive": archive.state(job.sha256)}

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled

    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        reader = items[0][1].models.get("sudachi", Reader)
        documents = [Document(e.episode_id, e.segments, e.show.air_date, job.sha256) for e, job in items]
        if self.archive is None:
            results, failed = deduplicate_each(documents, self.options, reader)
        else:
            with open_archive(self.archive) as archive:
                results, failed = deduplicate_each(documents, self.options, reader, archive)
                # Once the findings are decided: the batch was compared with the archive as it was before.
                entries = [
                    Entry(e.episode_id, e.show.air_date, str(job.path), job.sha256, d.segments, fingerprint)
                    for (e, job), d in zip(items, documents)
                    if e.episode_id in results and (fingerprint := results[e.episode_id].fingerprint) is not None
                ]  # fmt: skip
                archive.replace(entries)
                stale = archive.other_kinds(fingerprint_kind(self.options))
            log.info("dedup archive %s: %d episode(s) of this batch written", self.archive, len(entries))
            if stale:
                for result in results.values():
                    result.notes.append(
                        f"dedup: {stale} episode(s) of the archive {self.archive} were fingerprinted with other "
                        "cross_* options and were not compared (run their days again, or delete the archive)"
                    )  # fmt: skip
        for episode, _ in items:
            if episode.episode_id in results:
                result = results[episode.episode_id]
                episode.segments, episode.text, episode.dedup = result.kept, full_text(result.kept), result.report
                episode.notes.extend(result.notes)
        return failed
