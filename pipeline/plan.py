"""The product's pipeline: which stages run, in which order, with which options. The one module that imports
stages; the engine runs whatever plan it is given, and checks it when it is built."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config, resolve_path
from pipeline.config.watchlists import load_watchlists
from pipeline.engine.executor import make_executor
from pipeline.engine.inputs import discover
from pipeline.engine.plan import Plan
from pipeline.engine.progress import Progress
from pipeline.engine.runner import OnFile, Runner
from pipeline.records import Episode
from pipeline.stages.alerts import AlertsStage
from pipeline.stages.correct import CorrectStage
from pipeline.stages.dedup import DedupStage, archive_file
from pipeline.stages.diarize import DiarizeStage
from pipeline.stages.entities import EntitiesStage
from pipeline.stages.figures import FiguresStage
from pipeline.stages.ingest import IngestStage
from pipeline.stages.names import NamesStage
from pipeline.stages.recover import RecoverStage
from pipeline.stages.speakers import SpeakersStage
from pipeline.stages.summary import SummaryStage
from pipeline.stages.transcribe import TranscribeStage


def default_plan(config: Config, output_dir: Path | None = None) -> Plan:
    """ingest, transcribe, diarize, recover (per file) | correct, dedup (batch) | speakers (per file) | names
    (batch) | entities, figures (per file) | summary, alerts (batch). `output_dir` is where a relative dedup.archive lies;
    without it (a plan to describe, a worker's file stages) dedup compares within the batch only."""
    return Plan([
        IngestStage(config.input, config.ingest),
        TranscribeStage(config.transcribe, resolve_path(config.models.cache_dir)),
        DiarizeStage(config.diarize, resolve_path(config.input.shows_dir)),
        RecoverStage(config.recover, config.transcribe, resolve_path(config.models.cache_dir)),
        CorrectStage(config.correct, config.entities.gazetteers, config.entities.name_lists),
        DedupStage(config.dedup, archive_file(config.dedup, output_dir)),
        SpeakersStage(config.speakers),
        NamesStage(config.speakers, config.diarize, config.dedup.credit_keys),
        EntitiesStage(config.entities, config.speakers),
        FiguresStage(config.figures),
        SummaryStage(config.summary),
        AlertsStage(config.alerts, config.correct),
    ])  # fmt: skip


def make_runner(config: Config, output_dir: Path, progress: Progress | None = None) -> Runner:
    """The runner of `pipeline run`: the default plan, on the executor `runner.executor` names (a Ray worker
    builds the same plan from its own configuration). The watchlists are read first: a bad one stops the run
    before any file is processed (ConfigError), not when the alerts stage comes, hours later."""
    if config.alerts.enabled:
        load_watchlists(resolve_path(config.alerts.watchlists_dir), config.alerts.watchlists)
    return Runner(config, output_dir, default_plan(config, output_dir), make_executor(config, default_plan), progress)


def run_pipeline(
    inputs: list[Path], output_dir: Path, config: Config, on_file: OnFile | None = None,
    progress: Progress | None = None,
) -> list[Episode]:  # fmt: skip
    """The library call behind `pipeline run` without sharding: files and folders in, records out (written to
    output_dir as episodes.jsonl and turns.jsonl), in input order."""
    files, _ = discover(inputs, config.input)
    return make_runner(config, output_dir, progress).run(files, on_file)
