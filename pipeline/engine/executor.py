"""Executors: where the file stages of a phase run. The stages never know which executor runs them.

An executor takes a `FileWork` (the stages of a phase) and the tasks of a batch, and yields each task back once its
file is done, in any order; the runner puts results back in input order. The in-process executor runs them one
after another in this process; the Ray executor (engine/ray_executor.py) runs them on worker processes, each
holding its own models and building its own stages from the configuration (`PlanFactory`), so that each worker
loads its models once. Both report to `work.progress` when a file is handed to a worker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from pipeline.config import Config
from pipeline.engine.plan import PlanFactory
from pipeline.engine.work import FileWork, Task
from pipeline.errors import ConfigError


class Executor(ABC):
    name: str

    @abstractmethod
    def map(self, work: FileWork, tasks: list[Task]) -> Iterator[Task]:
        """Each task with `work` applied to it, as soon as it is done."""

    def close(self) -> None:
        """The run is over: workers and connections this executor started are let go."""


class LocalExecutor(Executor):
    """In this process, one file at a time (on 2 cores torch already uses both for one file)."""

    name = "local"

    def map(self, work: FileWork, tasks: list[Task]) -> Iterator[Task]:
        for task in tasks:
            work.progress.start_file(task.index, task.path.name)
            yield work(task)


def make_executor(config: Config, plan_for: PlanFactory) -> Executor:
    """The executor `runner.executor` names. `plan_for` builds the stages from a configuration: a Ray worker
    builds its own with its thread counts (runner.ray.thread_options)."""
    if config.runner.executor == "ray":
        try:
            from pipeline.engine.ray_executor import RayExecutor
        except ModuleNotFoundError as e:
            if e.name != "ray":
                raise
            raise ConfigError("runner.executor: ray needs Ray, an optional extra: pip install '.[ray]'") from e
        return RayExecutor(config, plan_for)
    return LocalExecutor()
