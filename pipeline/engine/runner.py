"""The driver of a run: files -> the plan's phases -> episodes.jsonl and turns.jsonl.

The runner knows no stage by name. It walks the plan's phases: a run of file stages goes to the executor (per
file, any order, results put back in input order), a batch stage runs here over every episode still ok. A stage
that fails marks its episode `status: error` (with the stage and message) and later stages skip that episode;
the record is still written, and the run's tally counts it, whichever stage failed.

What a batch is: the files of one `pipeline run` (after --shard). Batch stages see exactly those episodes, so
cross-episode dedup compares the files of the batch with each other and with the earlier runs its archive holds
(dedup.archive), and keyword weights are relative to the batch. Outputs of
separate runs or shards are separate batches: combine them with `pipeline index` into one search index, not by
concatenating JSONL files whose batch results were computed apart (README, "Batches and shards").
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from pipeline.config import Config, load_profiles, match_profile, resolve_path
from pipeline.engine.cache import StageCache, stage_key
from pipeline.engine.executor import Executor, make_executor
from pipeline.files import remove_stale_temp_files, sha256_file
from pipeline.lib.audio import probe
from pipeline.engine.inputs import Input, input_kind
from pipeline.engine.lock import output_lock
from pipeline.engine.output import write_outputs
from pipeline.engine.plan import Plan
from pipeline.engine.progress import Progress
from pipeline.engine.stage import FILE, BatchStage, ModelStore, Stage
from pipeline.engine.work import FileWork, Task, blank_episode, fail, finish, make_job, one_blas_thread, prepare
from pipeline.records import Episode, stable_hash

log = logging.getLogger(__name__)

# Called as each file finishes a phase of file stages: (task, phase number counted over file phases from 0).
OnFile = Callable[[Task, int], None]


class Runner:
    def __init__(
        self, config: Config, output_dir: Path, plan: Plan, executor: Executor | None = None,
        progress: Progress | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.output_dir = output_dir
        self.plan = plan
        # A plan given as stages goes to workers as it is; pipeline/plan.py passes its factory, so that each Ray
        # worker builds the stages with its own thread counts.
        self.executor = executor or make_executor(config, lambda _config: plan)
        self.progress = progress or Progress()
        cache_dir = Path(config.runner.cache_dir).expanduser() if config.runner.cache_dir else output_dir / ".cache"
        self.cache = StageCache(cache_dir)
        self.profiles = load_profiles(resolve_path(config.input.shows_dir))
        self.models = ModelStore()  # this process's models, for the in-process executor and batch stages
        self.config_hash = config.hash()

    def task(self, index: int, item: Input) -> Task:
        kind = input_kind(item.path, self.config.input) or "audio"
        try:
            sha, size = sha256_file(item.path), item.path.stat().st_size
        except OSError as e:
            episode = blank_episode(item.path, item.episode_id, "", kind, 0, self.config_hash)
            fail(episode, "read", e)
            return Task(index, item.path, "", None, episode, {})
        episode = blank_episode(item.path, item.episode_id, sha, kind, size, self.config_hash)
        profile = match_profile(item.episode_id, self.profiles)
        return Task(index, item.path, sha, profile, episode, {FILE: sha}, context=item.context)

    def run(self, inputs: list[Input], on_file: OnFile | None = None) -> list[Episode]:
        """Every phase of the plan over the batch, then the JSONL; returns the records in input order.

        Holds the output folder's lock throughout: a second run into the folder gets OutputBusyError."""
        with output_lock(self.output_dir):
            self._remove_stale_temps()
            tasks = [self.task(i, item) for i, item in enumerate(inputs)]
            self.progress.start_batch([self.weight(t) for t in tasks])
            try:
                self._run_phases(tasks, on_file)
            finally:
                self.progress.close()
                self.executor.close()
            episodes = [t.episode for t in tasks]
            write_outputs(self.output_dir, episodes, self.config.output, self.config.alerts.clip)
            return episodes

    def weight(self, task: Task) -> float:
        """A file's share of the batch's progress: its audio seconds (from the container: no decoding), or a
        small fixed weight for a transcript, whose stages take seconds, not minutes."""
        if task.episode.source.kind == "text":
            return self.config.runner.progress_text_weight_s
        try:
            return probe(task.path).declared_duration or 0.0
        except Exception:  # noqa: BLE001 - an unreadable file weighs nothing; ingest reports why
            return 0.0

    def _remove_stale_temps(self) -> None:
        """Temps of dead writers only: the cache folder may be shared with live runs into other folders."""
        for folder in (self.output_dir, *(self.cache.stage_folder(s.name) for s in self.plan.stages)):
            if removed := remove_stale_temp_files(folder):
                log.info("removed %d temp file(s) left by an interrupted run in %s", removed, folder)

    def _run_phases(self, tasks: list[Task], on_file: OnFile | None) -> None:
        file_phase = 0
        for phase in self.plan.phases():
            ok = [t for t in tasks if t.episode.status == "ok"]
            if phase.scope == "batch":
                self.run_batch_stage(phase.stages[0], ok)
                continue
            work = FileWork(phase.stages, self.cache, self.config.ingest, self.progress, self.models)
            for done in self.executor.map(work, ok):
                tasks[done.index] = done
                self.progress.end_file(done.index, done.episode.status == "ok", done.episode.duration)
                if on_file:
                    on_file(done, file_phase)
            file_phase += 1

    def run_batch_stage(self, stage: Stage, tasks: list[Task]) -> None:
        """One batch stage over the episodes still ok. Cached as a whole: its key covers every episode's input
        keys and ids, so adding a file to the batch re-runs it. Episodes the stage reports as failed fail alone;
        if the stage raises, every episode it was given fails."""
        assert isinstance(stage, BatchStage)
        items = [(t, make_job(t, self.config.ingest, self.models, self.progress)) for t in tasks
                 if stage.applies_to(t.episode)]  # fmt: skip
        if not items:
            return
        started = time.perf_counter()
        try:
            prepared = [(t, job, *prepare(stage, t, job)) for t, job in items]
            batch = stable_hash(sorted((t.episode.episode_id, key) for t, _, key, _ in prepared), length=24)
            keys = {t.index: stage_key(stage, batch, {"episode_id": t.episode.episode_id}) for t, *_ in prepared}
            cached = stage.cacheable and all(self.cache.load_into(stage, keys[t.index], t.episode) for t, *_ in prepared)
            failed: dict[str, Exception] = {}
            if not cached:
                notes_before = {t.index: len(t.episode.notes) for t, *_ in prepared}
                with one_blas_thread():
                    failed = stage.run_batch([(t.episode, job) for t, job, *_ in prepared])
                if stage.cacheable:
                    for t, *_ in prepared:
                        if t.episode.episode_id not in failed:
                            self.cache.save(stage, keys[t.index], t.episode, t.episode.notes[notes_before[t.index]:])
        except Exception as e:  # the stage itself broke: every episode it was given fails with it
            log.error("%s failed for the batch: %s: %s", stage.name, type(e).__name__, e)
            log.debug("%s", traceback.format_exc())
            for t, _ in items:
                fail(t.episode, stage.name, e)
            return
        elapsed = time.perf_counter() - started
        self.progress.batch_stage(stage.name, len(prepared), elapsed, cached)
        seconds = elapsed / len(prepared)  # the batch's time, shared out
        for t, _, _, options_hash in prepared:
            if t.episode.episode_id in failed:
                fail(t.episode, stage.name, failed[t.episode.episode_id])
            else:
                finish(stage, t, keys[t.index], options_hash, cached, seconds)
