"""A plan: the ordered stages of a pipeline, checked when it is built (as spaCy's `analyze_pipes` checks
components): every field a stage requires must be produced by an earlier stage, and names must be unique."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.engine.stage import FILE, BatchStage, FileStage, Stage
from pipeline.errors import PipelineError


class PlanError(PipelineError):
    """A plan whose stages cannot run in the order given."""


# Builds a plan's stages from a configuration: the driver builds its plan with it, and a worker of another
# process builds the same stages from its own copy of the configuration (its thread counts set to its CPUs).
PlanFactory = Callable[[Config], "Plan"]


@dataclass(frozen=True)
class Phase:
    """Consecutive file stages (run per file by the executor), or one batch stage (run by the driver)."""

    scope: str
    stages: tuple[Stage, ...]


class Plan:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)
        self.check()

    def check(self) -> None:
        available = {FILE: "the input file"}
        seen: set[str] = set()
        for stage in self.stages:
            if stage.name in seen:
                raise PlanError(f"two stages are named {stage.name!r}")
            seen.add(stage.name)
            if not isinstance(stage, (FileStage, BatchStage)):
                raise PlanError(f"stage {stage.name!r} is neither a FileStage nor a BatchStage")
            for needed in stage.requires:
                if needed not in available:
                    have = ", ".join(f"{f} ({by})" for f, by in available.items())
                    raise PlanError(
                        f"stage {stage.name!r} requires {needed!r}, which no earlier stage produces "
                        f"(available before {stage.name!r}: {have})"
                    )
            for produced in stage.produces:
                available[produced] = stage.name

    def phases(self) -> Iterator[Phase]:
        run: list[Stage] = []
        for stage in self.stages:
            if stage.scope == "file":
                run.append(stage)
                continue
            if run:
                yield Phase("file", tuple(run))
                run = []
            yield Phase("batch", (stage,))
        if run:
            yield Phase("file", tuple(run))

    def describe(self) -> list[str]:
        """One line per stage: scope, name, what it reads and writes (for `pipeline plan` and the README)."""
        return [
            f"{s.scope:5}  {s.name:10} requires {', '.join(s.requires) or '-'}; produces {', '.join(s.produces)}"
            f"{'' if s.cacheable else ' (not cached)'}"
            for s in self.stages
        ]
