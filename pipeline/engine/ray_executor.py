"""The Ray executor: the file stages of each phase on Ray worker processes, on this machine or a cluster.

Each worker is a Ray actor that holds a ModelStore, so it loads each model once and keeps it for every file and
phase of the run. It builds its own stages from the run's configuration, with its thread counts
(runner.ray.thread_options, and OMP/MKL/OpenBLAS through its environment) set to the CPUs Ray gave it, and it
declares its CPUs, GPUs and memory so Ray places it where they are free. The driver hands the next file to
whichever worker is idle, yields results as they complete, and (in the runner) runs the batch stages and writes
the outputs. Workers get copies of the tasks: a worker that dies leaves the driver's task as it was before the
phase, so nothing half-done reaches a record.

Faults: a worker that dies (SIGKILL, out of memory, a lost node) is replaced and its file handed out again, up to
runner.ray.max_retries times, then the file gets an error record; stages that finished before the death wrote
their cache entries, so the retry resumes from them. A stage that raises is that file's error at once, exactly
as in-process (FileWork catches it). Stage-level progress stays inside the workers; the driver reports files.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayError, RayTaskError

from pipeline.config import Config
from pipeline.engine.cache import StageCache
from pipeline.engine.executor import Executor
from pipeline.engine.plan import PlanFactory
from pipeline.engine.progress import Progress
from pipeline.engine.stage import ModelStore
from pipeline.engine.work import FileWork, Task, fail
from pipeline.errors import PipelineError, WorkerLostError

log = logging.getLogger(__name__)

# Thread pools sized from the environment when a library loads (OpenMP: torch, CTranslate2; MKL; OpenBLAS: numpy
# and spaCy's thinc), so they are set when the worker process starts, before any import. (While stages run, BLAS
# is held to one thread anyway: engine/work.py.)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# ray.init retries an address where nothing listens for minutes; a head answers a TCP connect at once.
PROBE_TIMEOUT_S = 10


def probe_head(address: str) -> None:
    """PipelineError at once if nothing accepts connections at host:port ('auto' is left to Ray)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        raise PipelineError(f"cannot join the Ray cluster at {address} (runner.ray.address): {e.strerror or e}; "
                            f"is `ray start --head` running there?") from e  # fmt: skip


def worker_threads(cpus: float) -> int:
    """Threads for a worker given `cpus` CPUs (a fraction of a CPU still needs one thread)."""
    return max(1, int(cpus))


class Worker:
    """One worker process: its stages, built from its own configuration, and its models (a Ray actor)."""

    def __init__(self, config: Config, plan_for: PlanFactory) -> None:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        threads = worker_threads(cpus)
        self.config = config.with_values({key: threads for key in config.runner.ray.thread_options})
        self.stages = {stage.name: stage for stage in plan_for(self.config).stages}
        self.models = ModelStore()

    def run(self, stages: tuple[str, ...], cache_folder: str, task: Task) -> Task:
        work = FileWork(tuple(self.stages[name] for name in stages), StageCache(Path(cache_folder)),
                        self.config.ingest, Progress(), self.models)  # fmt: skip
        return work(task)


RemoteWorker = ray.remote(Worker)


class RayExecutor(Executor):
    """File stages on Ray workers (runner.ray): started on the first phase, kept for the run, let go by close()."""

    name = "ray"

    def __init__(self, config: Config, plan_for: PlanFactory) -> None:
        self.config = config
        self.options = config.runner.ray
        self.plan_for = plan_for
        self.workers: list[Any] = []
        self.connected_here = False  # this executor called ray.init, so close() disconnects

    def map(self, work: FileWork, tasks: list[Task]) -> Iterator[Task]:
        if not tasks:
            return
        if not self.workers:
            self._start(len(tasks))
        names = tuple(stage.name for stage in work.stages)
        folder = str(work.cache.folder.absolute())  # workers do not share the driver's working directory
        todo, idle = deque(tasks), list(self.workers)
        running: dict[Any, tuple[Any, Task]] = {}
        deaths: Counter[int] = Counter()
        while todo or running:
            while todo and idle:
                worker, task = idle.pop(), todo.popleft()
                running[worker.run.remote(names, folder, task)] = (worker, task)
                work.progress.start_file(task.index, task.path.name)
            [ref], _ = ray.wait(list(running), num_returns=1)
            worker, task = running.pop(ref)
            try:
                done = ray.get(ref)
            except RayTaskError as e:  # the worker's own code raised, not a stage (FileWork catches those)
                idle.append(worker)
                fail(task.episode, "+".join(names), e.cause if isinstance(e.cause, Exception) else e)
                yield task
                continue
            except RayError as e:  # the worker process is gone: a new one takes its place
                idle.append(self._replace(worker))
                deaths[task.index] += 1
                log.warning("a worker died running %s (%s); %s", task.path, type(e).__name__,
                            "trying again" if deaths[task.index] <= self.options.max_retries else "giving up")
                if deaths[task.index] <= self.options.max_retries:
                    todo.appendleft(task)  # the driver's copy, as it was before this phase
                    continue
                summary = (str(e).strip().splitlines() or [type(e).__name__])[0]
                fail(task.episode, "+".join(names), WorkerLostError(
                    f"the worker process died {deaths[task.index]} time(s) running this file "
                    f"(runner.ray.max_retries: {self.options.max_retries}); last: {type(e).__name__}: {summary}"
                ))  # fmt: skip
                yield task
                continue
            idle.append(worker)
            yield done

    def close(self) -> None:
        for worker in self.workers:
            ray.kill(worker)
        self.workers = []
        if self.connected_here:
            ray.shutdown()
            self.connected_here = False

    def _start(self, files: int) -> None:
        if not ray.is_initialized():  # a connection the caller opened is used as it is
            if self.options.address is None:
                ray.init(num_cpus=self.options.local_cpus, include_dashboard=False)
            else:
                probe_head(self.options.address)
                try:
                    ray.init(address=self.options.address)
                except (ConnectionError, RuntimeError) as e:
                    raise PipelineError(f"cannot join the Ray cluster at {self.options.address} "
                                        f"(runner.ray.address): {e}") from e  # fmt: skip
            self.connected_here = True
        count = self.options.workers
        if count is None:
            count = max(1, int(ray.cluster_resources().get("CPU", 0) // self.options.cpus_per_worker))
        self.workers = [self._new_worker() for _ in range(min(count, files))]

    def _new_worker(self) -> Any:
        o = self.options
        threads = str(worker_threads(o.cpus_per_worker))
        needs: dict[str, Any] = {"num_cpus": o.cpus_per_worker, "num_gpus": o.gpus_per_worker}
        if o.memory_per_worker_gb:
            needs["memory"] = int(o.memory_per_worker_gb * 2**30)
        return RemoteWorker.options(
            **needs, max_restarts=0, max_task_retries=0,  # this executor retries, counting per file
            runtime_env={"env_vars": {name: threads for name in THREAD_ENV}},
        ).remote(self.config, self.plan_for)  # fmt: skip

    def _replace(self, dead: Any) -> Any:
        ray.kill(dead)  # in case it is only unreachable
        fresh = self._new_worker()
        self.workers[self.workers.index(dead)] = fresh
        return fresh
