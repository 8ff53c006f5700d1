"""One file's work: its record on the way through the stages, and how one stage is run on it (cache lookup,
timing, provenance, failure). Used by the runner for batch stages and by every executor for file stages."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline import __version__
from pipeline.config import IngestOptions, ShowProfile
from pipeline.engine.cache import UNSET, StageCache, content_key, options_digest, stage_key
from pipeline.engine.progress import Progress
from pipeline.engine.stage import FileStage, Job, ModelStore, Stage
from pipeline.errors import PipelineError
from pipeline.lib.memory import trim
from pipeline.records import SCHEMA_VERSION, Episode, ErrorInfo, Provenance, Show, Source, StageRun, stable_hash

log = logging.getLogger(__name__)


def blank_episode(path: Path, episode_id: str, sha256: str, kind: str, size: int, config_hash: str) -> Episode:
    """The skeleton every record starts from; error records are this plus `error`."""
    return Episode(
        schema_version=SCHEMA_VERSION, episode_id=episode_id, status="ok",
        source=Source(
            path=str(path), name=path.name, sha256=sha256, size_bytes=size, kind=kind,
            format=path.suffix.lower().lstrip("."), codec=None, sample_rate=None, channels=None,
        ),
        show=Show(profile=None, name=None, station=None, air_date=None, air_date_from=None), context=None,
        transcription=None, duration=None, text="", segments=[], summary=None, dedup=None, diarization=None,
        speakers=[], turns=[], entities=[], figures=[], alerts=[], notes=[], error=None,
        provenance=Provenance(pipeline_version=__version__, config_hash=config_hash, models={}, stages=[]),
    )  # fmt: skip


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's and scipy's BLAS on one thread while stages run, in every process and executor. A BLAS product
    split over another number of threads rounds differently: with 2 threads instead of 1, the mel features of the
    bundled sample changed enough for Whisper to write 海洋美 for 火曜日. With one thread the records do not
    depend on a machine's cores or a worker's CPUs; the BLAS calls here are small (mel filters, clustering), and
    the sample took no longer. (CTranslate2's and torch's thread counts gave the same records at 1 and 2.)"""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fail(episode: Episode, stage: str, error: Exception) -> None:
    episode.status = "error"
    episode.error = ErrorInfo(stage=stage, type=type(error).__name__, message=str(error) or repr(error))


@dataclass
class Task:
    """One file's work order. Plain data, so an executor may send it to another process and back."""

    index: int  # position in the batch: results are put back in input order whatever order they finish in
    path: Path
    sha256: str
    profile: ShowProfile | None
    episode: Episode
    keys: dict[str, str]  # content key of each field set so far (see engine/cache.py)
    seconds: float = 0.0
    context: Path | None = None  # the episode's notes file, if one lies beside it

    def input_keys(self, stage: Stage) -> dict[str, str]:
        return {name: self.keys.get(name, UNSET) for name in stage.requires}


def make_job(task: Task, ingest: IngestOptions, models: ModelStore, progress: Progress) -> Job:
    """The context a stage gets for one task (for file stages in a worker, for batch stages in the driver)."""
    return Job(path=task.path, sha256=task.sha256, profile=task.profile, ingest=ingest, models=models,
               context=task.context, progress=progress)  # fmt: skip


def prepare(stage: Stage, task: Task, job: Job) -> tuple[str, str]:
    """(cache key, options hash) of a stage for one task."""
    options = stage.options_key(job)
    return stage_key(stage, options, task.input_keys(stage)), stable_hash(options_digest(options))


def finish(stage: Stage, task: Task, key: str, options_hash: str, cached: bool, seconds: float) -> None:
    """Record a stage that ran (or came from the cache): new content keys, model identity, provenance."""
    episode = task.episode
    for name in stage.produces:
        task.keys[name] = content_key(episode, name, task.sha256)
    if model := stage.model_identity():
        episode.provenance.models[stage.name] = model
    episode.provenance.stages.append(StageRun(
        stage=stage.name, version=stage.version, config_hash=options_hash, cache_key=key if stage.cacheable else "",
        cached=cached, seconds=0.0 if cached else round(seconds, 3),
    ))  # fmt: skip
    task.seconds += seconds


class FileWork:
    """The file stages of one phase, applied to one task at a time (callable, so executors can map it).

    Models load into `models` on first use and stay for the next file and the next run of the same process;
    a FileWork sent to another process arrives with an empty store (ModelStore does not pickle its models).
    """

    def __init__(
        self, stages: tuple[Stage, ...], cache: StageCache, ingest: IngestOptions, progress: Progress,
        models: ModelStore,
    ) -> None:  # fmt: skip
        self.stages = stages
        self.cache = cache
        self.ingest = ingest
        self.progress = progress
        self.models = models

    def __call__(self, task: Task) -> Task:
        job = make_job(task, self.ingest, self.models, self.progress)
        try:
            with one_blas_thread():
                for stage in self.stages:
                    if task.episode.status != "ok":
                        break
                    if stage.applies_to(task.episode):
                        self.run_stage(stage, task, job)
                        trim()  # what the stage freed goes back to the system (lib/memory.py)
        finally:
            job.release_audio()
        return task

    def run_stage(self, stage: Stage, task: Task, job: Job) -> None:
        assert isinstance(stage, FileStage)
        episode = task.episode
        started = time.perf_counter()
        self.progress.start_stage(task.index, task.path.name, stage.name)
        try:
            key, options_hash = prepare(stage, task, job)
            cached = stage.cacheable and self.cache.load_into(stage, key, episode)
            if not cached:
                notes_before = len(episode.notes)
                stage.run(episode, job)
                if stage.cacheable:
                    self.cache.save(stage, key, episode, episode.notes[notes_before:])
        except PipelineError as e:
            fail(episode, stage.name, e)
            return
        except Exception as e:  # a bug or an unforeseen library error: this file fails, the batch goes on
            log.debug("%s failed in %s:\n%s", task.path, stage.name, traceback.format_exc())
            fail(episode, stage.name, e)
            return
        seconds = time.perf_counter() - started
        finish(stage, task, key, options_hash, cached, seconds)
        self.progress.end_stage(task.index, task.path.name, stage.name, seconds, cached, episode.duration)
