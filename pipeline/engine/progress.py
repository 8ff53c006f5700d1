"""What a run tells the person watching it, as it goes and at the end.

The runner and the stages report to a `Progress`: a file's stage starts, moves (a stage that can tell how far it
is: transcription and diarization in audio seconds, the text stages in turns), and ends. `Progress` itself says
nothing (library calls, tests). In a terminal, `TerminalProgress` shows one bar for the batch, weighted by audio
seconds (a text file weighs `runner.progress_text_weight_s`), and one for the current file's stage. Without a
terminal (cron, a log file), `LogProgress` writes one timestamped line per stage and file, with its seconds and,
for audio, its real-time factor. Both also count files done / failed / running, the audio hours done and the time
left (`Tally`): with the Ray executor, stages run in other processes and only these file counts reach the driver.
`stage_table` and `slowest` summarise a run from the records' provenance, so the end-of-run summary needs nothing
the records do not keep.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
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

    def start_file(self, index: int, name: str) -> None:
        """File `index` (its display name) has been handed to a worker for a phase of file stages: it is running."""

    def end_file(self, index: int, ok: bool, audio_s: float | None) -> None:
        """The file has gone through a phase of file stages (ok: it has not failed; audio_s: its audio seconds,
        None for a transcript)."""

    def batch_stage(self, stage: str, files: int, seconds: float, cached: bool) -> None:
        """A batch stage ran over `files` files."""

    def close(self) -> None:
        """The run is over: bars are taken down."""


def clock(seconds: float) -> str:
    """3725 -> '1:02:05'."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@dataclass
class Tally:
    """The batch in files: done (through their first phase, and not failed since), failed (at any phase), running
    (with a worker now); the audio hours done; and the time left at the rate so far, in weighted seconds."""

    weights: list[float]
    started: float = field(default_factory=time.monotonic)
    running: set[int] = field(default_factory=set)
    ok: dict[int, bool] = field(default_factory=dict)  # files through their first phase: still ok?
    audio_s: float = 0.0

    def start(self, index: int) -> None:
        self.running.add(index)

    def end(self, index: int, ok: bool, audio_s: float | None) -> bool:
        """Count a file's phase; True when that changed the counts (its first phase, or a later failure)."""
        self.running.discard(index)
        if index not in self.ok:
            self.ok[index] = ok
            self.audio_s += audio_s or 0.0
            return True
        if self.ok[index] and not ok:
            self.ok[index] = False
            return True
        return False

    def time_left(self, now: float) -> float | None:
        done = sum(self.weights[i] for i in self.ok)
        if done <= 0:
            return None
        return (now - self.started) * (sum(self.weights) - done) / done

    def counts(self) -> str:
        done = sum(self.ok.values())
        return (f"{done}/{len(self.weights)} files done, {len(self.ok) - done} failed, {len(self.running)} running; "
                f"{self.audio_s / 3600:.2f} h of audio")  # fmt: skip

    def line(self, now: float) -> str:
        left = self.time_left(now)
        return f"{self.counts()}; ETA {'unknown' if left is None else clock(left)}"


class TerminalProgress(Progress):
    """tqdm bars on stderr: the batch (audio seconds, with the file counts) and the current file's stage."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.weights: list[float] = []
        self.tally = Tally([])
        self.batch = None
        self.stage = None

    def start_batch(self, weights: list[float]) -> None:
        from tqdm import tqdm

        self.weights = weights
        self.tally = Tally(weights)
        self.batch = tqdm(total=round(sum(weights), 1), unit="s", desc="batch", position=0, file=self.stream,
                          bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of audio "
                                     "[{elapsed}<{remaining}{postfix}]")  # fmt: skip

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

    def start_file(self, index: int, name: str) -> None:
        self.tally.start(index)
        self._counts()

    def end_file(self, index: int, ok: bool, audio_s: float | None) -> None:
        first = index not in self.tally.ok  # a file moves the bar once, in its first phase
        self.tally.end(index, ok, audio_s)
        if self.batch is not None and first:
            self.batch.update(round(self.weights[index], 1))
        self._counts()

    def _counts(self) -> None:
        if self.batch is not None:
            self.batch.set_postfix_str(self.tally.counts())  # the bar itself shows the time left

    def close(self) -> None:
        for bar in (self.stage, self.batch):
            if bar is not None:
                bar.close()
        self.stage = self.batch = None


class LogProgress(Progress):
    """One timestamped line per stage and file: for cron and log files, where bars are noise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tally = Tally([])
        self.names: dict[int, str] = {}

    def _line(self, text: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {printable(text)}", file=self.stream, flush=True)

    def start_batch(self, weights: list[float]) -> None:
        self.tally = Tally(weights)

    def start_file(self, index: int, name: str) -> None:
        self.names[index] = name
        self.tally.start(index)

    def end_file(self, index: int, ok: bool, audio_s: float | None) -> None:
        if self.tally.end(index, ok, audio_s):  # a file's line comes once, and again if it fails later
            name = self.names.get(index, f"file {index}")
            self._line(f"{'file':<10} {name}: {'ok' if ok else 'failed'}; {self.tally.line(time.monotonic())}")

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
