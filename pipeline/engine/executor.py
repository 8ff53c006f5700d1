"""Executors: where the file stages of a phase run. The stages never know which executor runs them.

An executor takes a `FileWork` (the stages of a phase, picklable) and the tasks of a batch, and yields each
task back once its file is done, in any order; the runner puts results back in input order. The in-process
executor runs them one after another in this process; a cluster executor (Ray) runs one FileWork per worker
process, so that each worker loads its models once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from pipeline.engine.work import FileWork, Task
from pipeline.errors import ConfigError


class Executor(ABC):
    name: str

    @abstractmethod
    def map(self, work: FileWork, tasks: list[Task]) -> Iterator[Task]:
        """Each task with `work` applied to it, as soon as it is done."""


class LocalExecutor(Executor):
    """In this process, one file at a time (on 2 cores torch already uses both for one file)."""

    name = "local"

    def map(self, work: FileWork, tasks: list[Task]) -> Iterator[Task]:
        for task in tasks:
            yield work(task)


def make_executor(name: str) -> Executor:
    if name == LocalExecutor.name:
        return LocalExecutor()
    raise ConfigError(f"runner.executor: unknown executor {name!r} (known: local)")
