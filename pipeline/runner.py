"""Batch runner: files -> stages (with a per-stage disk cache) -> episode records.

Cache key of a stage = hash(input content hash, upstream stage key, stage name and version, stage options,
model identity). Chaining the upstream key means a change to transcription invalidates what follows it,
while a change to a later stage's options leaves transcription cached. Ingest (probe, read text) is cheap
and always runs, so a renamed file keeps its transcription but gets its new name and air date.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config, ShowProfile, load_profiles, match_profile, resolve_path
from pipeline.dedup import DedupStage
from pipeline.diarize_stage import DiarizeStage
from pipeline.emit import write_outputs
from pipeline.entities_stage import EntitiesStage
from pipeline.errors import PipelineError
from pipeline.fileio import atomic_write_json, remove_stale_temp_files, sha256_file
from pipeline.ingest import IngestStage, blank_episode, input_kind
from pipeline.records import SCHEMA_VERSION, Episode, ErrorInfo, StageRun
from pipeline.figures_stage import FiguresStage
from pipeline.speakers import SpeakersStage
from pipeline.summary import Summarizer
from pipeline.stage import Job, ModelStore, Stage
from pipeline.transcribe import TranscribeStage
from pipeline.typed import field_from_data, stable_hash, to_dict

log = logging.getLogger(__name__)


def discover(inputs: list[Path], config: Config) -> tuple[list[Path], list[Path]]:
    """(files to process, files skipped for an unknown suffix). Folders are read one level deep, sorted."""
    files: list[Path] = []
    skipped: list[Path] = []
    for item in inputs:
        candidates = sorted(p for p in item.iterdir() if p.is_file()) if item.is_dir() else [item]
        for path in candidates:
            if path.name.startswith("."):
                continue
            (files if input_kind(path, config.input) else skipped).append(path)
    return files, skipped


def shard(files: list[Path], index: int, count: int) -> list[Path]:
    """Every count-th file starting at index: N machines given K/N each split a batch with no coordination."""
    return [p for i, p in enumerate(files) if i % count == index]


class StageCache:
    """What each stage produced, on disk: one JSON file per (stage, key), written atomically.

    Only the fields a stage produces are stored, so a cached result is laid onto the current episode and
    the file's own identity (path, name, air date from the name) is never taken from an older run.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, stage: str, key: str) -> Path:
        return self.folder / stage / f"{key}.json"

    def load_into(self, stage: Stage, key: str, episode: Episode) -> bool:
        path = self._path(stage.name, key)
        if not path.is_file():
            return False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            values = {name: field_from_data(Episode, name, data[name]) for name in stage.produces}
        except (ValueError, TypeError, KeyError) as e:  # an entry from an older layout: recompute
            log.debug("ignoring unreadable cache entry %s: %s", path, e)
            return False
        for name, value in values.items():
            setattr(episode, name, value)
        return True

    def save(self, stage: Stage, key: str, episode: Episode) -> None:
        atomic_write_json(self._path(stage.name, key), {n: to_dict(getattr(episode, n)) for n in stage.produces})


@dataclass
class FileResult:
    episode: Episode
    seconds: float

    @property
    def ok(self) -> bool:
        return self.episode.status == "ok"


class Runner:
    def __init__(self, config: Config, output_dir: Path, show_progress: bool = False) -> None:
        self.config = config
        self.output_dir = output_dir
        self.show_progress = show_progress
        cache_dir = Path(config.runner.cache_dir).expanduser() if config.runner.cache_dir else output_dir / ".cache"
        self.cache = StageCache(cache_dir)
        self.profiles: list[ShowProfile] = load_profiles(resolve_path(config.input.shows_dir))
        self.models = ModelStore()
        self.stages: list[Stage] = [
            IngestStage(config.input, config.ingest),
            TranscribeStage(config.transcribe, resolve_path(config.models.cache_dir)),
            DiarizeStage(config.diarize, resolve_path(config.input.shows_dir)),
        ]
        self.dedup = DedupStage(config.dedup)
        self.summarizer = Summarizer(config.summary, self.dedup.reader)
        self.finishers = [SpeakersStage(config.speakers), EntitiesStage(config.entities, config.speakers), FiguresStage()]

    def run(self, files: list[Path]) -> Iterator[FileResult]:
        """Process files one by one (yielding as each finishes), then the batch stages, then write the JSONL."""
        for folder in (self.output_dir, self.cache.folder):
            if removed := remove_stale_temp_files(folder):
                log.info("removed %d temp file(s) left by an interrupted run in %s", removed, folder)
        episodes = []
        for path in files:
            result = self.process(path)
            episodes.append(result.episode)
            yield result
        self.run_batch_stage(self.dedup, "transcript not deduplicated", [e for e in episodes if e.status == "ok"])
        for episode in episodes:
            if episode.status == "ok":
                self.finish(episode)
        self.run_batch_stage(self.summarizer, "no summary written", [e for e in episodes if e.status == "ok"])
        write_outputs(self.output_dir, episodes, self.config.output)

    def run_batch_stage(self, stage: DedupStage | Summarizer, consequence: str, episodes: list[Episode]) -> None:
        """A stage that needs the whole batch (cross-episode dedup, keyword weights). Cheap, so recomputed on
        every run. A bug in it must not cost the batch its records: they are kept, with a note."""
        started = time.perf_counter()
        try:
            stage(episodes)
        except Exception as e:
            log.error("%s failed, %s: %s: %s", stage.name, consequence, type(e).__name__, e)
            log.debug("%s", traceback.format_exc())
            for episode in episodes:
                episode.notes.append(f"{stage.name} failed ({type(e).__name__}: {e}); {consequence}")
        seconds = round(time.perf_counter() - started, 3)
        config_hash = self.config.section_hash(stage.name)
        batch_key = stable_hash([config_hash, *(e.provenance.stages[-1].cache_key for e in episodes)], length=24)
        for e in episodes:
            e.provenance.stages.append(StageRun(
                stage=stage.name, version=stage.version, config_hash=config_hash,
                cache_key=batch_key, cached=False, seconds=seconds,
            ))  # fmt: skip

    def finish(self, episode: Episode) -> None:
        """Per-file stages that need the batch stages' output (the deduplicated text). Model-free and cheap."""
        profile = match_profile(Path(episode.source.path).stem, self.profiles)
        for stage in self.finishers:
            started = time.perf_counter()
            try:
                stage(episode, profile)
            except Exception as e:  # this file fails, the batch goes on
                log.debug("%s failed in %s:\n%s", episode.source.path, stage.name, traceback.format_exc())
                self._failed(episode, stage.name, e)
                return
            if model := stage.model_identity():
                episode.provenance.models[stage.name] = model
            episode.provenance.stages.append(StageRun(
                stage=stage.name, version=stage.version,
                config_hash=self.config.section_hash(stage.name) if hasattr(self.config, stage.name) else "",
                cache_key="", cached=False, seconds=round(time.perf_counter() - started, 3),
            ))  # fmt: skip

    def process(self, path: Path) -> FileResult:
        started = time.perf_counter()
        kind = input_kind(path, self.config.input) or "audio"
        try:
            sha = sha256_file(path)
        except OSError as e:
            sha = ""
            episode = blank_episode(path, sha, kind, self.config.hash())
            return FileResult(self._failed(episode, "ingest", e), time.perf_counter() - started)
        job = Job(
            path=path, sha256=sha, profile=match_profile(path.stem, self.profiles),
            ingest=self.config.ingest, models=self.models, show_progress=self.show_progress,
        )  # fmt: skip
        episode = blank_episode(path, sha, kind, self.config.hash())
        upstream = sha
        runs: list[StageRun] = []
        try:
            for stage in self.stages:
                if not stage.applies_to(episode):
                    continue
                episode, run = self._run_stage(stage, episode, job, upstream)
                runs.append(run)
                if stage.cacheable:  # uncached stages only read the file, which `sha` already covers
                    upstream = run.cache_key
        except PipelineError as e:
            episode = self._failed(episode, stage.name, e)
        except Exception as e:  # a bug or an unforeseen library error: this file fails, the batch goes on
            log.debug("%s failed in %s:\n%s", path, stage.name, traceback.format_exc())
            episode = self._failed(episode, stage.name, e)
        finally:
            job.release_audio()
        episode.provenance.stages = runs
        episode.provenance.config_hash = self.config.hash()
        return FileResult(episode, time.perf_counter() - started)

    def _run_stage(self, stage: Stage, episode: Episode, job: Job, upstream: str) -> tuple[Episode, StageRun]:
        model = stage.model_identity()
        config_hash = stage.config_hash(job)
        key = stable_hash(
            {"schema": SCHEMA_VERSION, "stage": stage.name, "version": stage.version,
             "config": config_hash, "model": model, "upstream": upstream},
            length=24,
        )  # fmt: skip
        started = time.perf_counter()
        cached = stage.cacheable and self.cache.load_into(stage, key, episode)
        if not cached:
            episode = stage(episode, job)
            if stage.cacheable:
                self.cache.save(stage, key, episode)
        if model:
            episode.provenance.models[stage.name] = model
        run = StageRun(
            stage=stage.name, version=stage.version, config_hash=config_hash, cache_key=key,
            cached=cached, seconds=0.0 if cached else round(time.perf_counter() - started, 3),
        )  # fmt: skip
        return episode, run

    @staticmethod
    def _failed(episode: Episode, stage: str, error: Exception) -> Episode:
        episode.status = "error"
        episode.error = ErrorInfo(stage=stage, type=type(error).__name__, message=str(error) or repr(error))
        return episode
