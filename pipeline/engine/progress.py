"""What a run tells the person watching it, as it goes and at the end.

The runner and the stages report to a `Progress`: a file's stage starts, moves (a stage that can tell how far it
is: transcription and diarization in audio seconds, the text stages in turns), and ends. `Progress` itself says
nothing (library calls, tests). In a terminal, `TerminalProgress` shows one bar for the batch, weighted by audio
seconds (a text file weighs `runner.progress_text_weight_s`), and one for the current file's stage. Without a
terminal (cron, a log file), `LogProgress` writes one timestamped line per stage and file, with its seconds and,
for audio, its real-time factor. `stage_table` and `slowest` summarise a run from the records' provenance, so the
end-of-run summary needs nothing the records do not keep.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TextIO

from pipeline.records import Episode


def printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (ANSI/OSC escapes, newlines inside a file name,
    line separators) shown as escapes instead of acting on the terminal or splitting a status line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


class Progress:
    """Silent: every report is accepted and dropped."""

    def start_batch(self, weights: list[float]) -> None:
        """The batch's files, in input order, each with its weight (audio seconds)."""

    def start_stage(self, index: int, name: str, stage: str) -> None:
        """File `index` (its display name) enters a stage."""

    def measure(self, total: float | None, unit: str) -> None:
        """The current stage's amount of work, once the stage knows it (audio seconds, turns)."""

    def advance(self, done: float) -> None:
        """The current stage's position, in its unit."""

    def end_stage(self, index: int, name: str, stage: str, seconds: float, cached: bool, audio_s: float | None) -> None:
        """The stage is done for that file (cached: it came from the stage cache)."""

    def end_file(self, index: int) -> None:
        """The file has gone through a phase of file stages."""

    def batch_stage(self, stage: str, files: int, seconds: float, cached: bool) -> None:
        """A batch stage ran over `files` files."""

    def close(self) -> None:
        """The run is over: bars are taken down."""


class TerminalProgress(Progress):
    """tqdm bars on stderr: the batch (audio seconds) and the current file's stage."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.weights: list[float] = []
        self.done: set[int] = set()
        self.batch = None
        self.stage = None

    def start_batch(self, weights: list[float]) -> None:
        from tqdm import tqdm

        self.weights = weights
        self.batch = tqdm(total=round(sum(weights), 1), unit="s", desc="batch", position=0, file=self.stream,
                          bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of audio "
                                     "[{elapsed}<{remaining}]")  # fmt: skip

    def start_stage(self, index: int, name: str, stage: str) -> None:
        from tqdm import tqdm

        if self.stage is not None:
            self.stage.close()
        self.stage = tqdm(total=None, desc=printable(f"{name}: {stage}"), position=1, leave=False, file=self.stream,
                          bar_format="{desc} [{elapsed}]")  # until the stage says how much work it has

    def measure(self, total: float | None, unit: str) -> None:
        if self.stage is not None:
            self.stage.total, self.stage.unit = (round(total, 1) if total else None), unit
            self.stage.bar_format = None  # tqdm's bar, with rate and time left
            self.stage.refresh()

    def advance(self, done: float) -> None:
        if self.stage is not None:
            self.stage.update(round(done, 1) - self.stage.n)

    def end_file(self, index: int) -> None:
        if self.batch is not None and index not in self.done:  # a file counts once, in its first phase
            self.done.add(index)
            self.batch.update(round(self.weights[index], 1))

    def close(self) -> None:
        for bar in (self.stage, self.batch):
            if bar is not None:
                bar.close()
        self.stage = self.batch = None


class LogProgress(Progress):
    """One timestamped line per stage and file: for cron and log files, where bars are noise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _line(self, text: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {printable(text)}", file=self.stream, flush=True)

    def end_stage(self, index: int, name: str, stage: str, seconds: float, cached: bool, audio_s: float | None) -> None:
        rtf = f" (RTF {seconds / audio_s:.3f})" if audio_s and not cached else ""
        self._line(f"{stage:<10} {name}: {'cached' if cached else f'{seconds:.1f} s'}{rtf}")

    def batch_stage(self, stage: str, files: int, seconds: float, cached: bool) -> None:
        self._line(f"{stage:<10} batch of {files} file(s): {'cached' if cached else f'{seconds:.1f} s'}")


def stage_table(episodes: list[Episode]) -> list[str]:
    """Seconds per stage over the run (cached stages count 0), the files each ran on and how many were cached."""
    seconds: dict[str, float] = defaultdict(float)
    ran: dict[str, int] = defaultdict(int)
    cached: dict[str, int] = defaultdict(int)
    for episode in episodes:
        for run in episode.provenance.stages:
            seconds[run.stage] += run.seconds
            ran[run.stage] += 1
            cached[run.stage] += run.cached
    if not ran:
        return []
    total = sum(seconds.values()) or 1.0
    lines = [f"{'stage':<10} {'seconds':>9} {'share':>6} {'files':>6} {'cached':>7}"]
    for stage in ran:  # in the order the stages ran
        lines.append(f"{stage:<10} {seconds[stage]:>9.1f} {seconds[stage] / total:>6.0%} {ran[stage]:>6} "
                     f"{cached[stage]:>7}")  # fmt: skip
    return lines


def slowest(episodes: list[Episode], count: int) -> list[str]:
    """The files that took longest (all their stages), with their audio seconds and real-time factor."""
    timed = sorted(((sum(r.seconds for r in e.provenance.stages), e) for e in episodes), key=lambda p: -p[0])
    lines = []
    for seconds, episode in timed[:count]:
        if seconds <= 0:
            break
        rtf = f", RTF {seconds / episode.duration:.3f}" if episode.duration else ""
        what = f"{episode.duration:.1f} s audio" if episode.duration is not None else f"{len(episode.text)} chars"
        lines.append(f"{seconds:>7.1f} s  {episode.source.path} ({what}{rtf})")
    return lines
