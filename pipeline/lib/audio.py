"""Probe and decode audio with PyAV (its wheel bundles FFmpeg: no system ffmpeg needed).

Decoding keeps count of what it could not read, so a corrupt or truncated file becomes an error or a note
instead of a silently short transcript.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import InputFileError
from pipeline.lib.memory import trim


@dataclass
class AudioInfo:
    format: str
    codec: str
    sample_rate: int
    channels: int
    declared_duration: float | None


@dataclass
class DecodedAudio:
    samples: np.ndarray  # mono float32 at `sample_rate`
    sample_rate: int
    info: AudioInfo
    notes: list[str]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def _reason(error: Exception) -> str:
    """FFmpeg's own words without the errno and the path (the runner names the file)."""
    return getattr(error, "strerror", None) or error.__class__.__name__


def _open(path: Path):
    import av

    if path.stat().st_size == 0:
        raise InputFileError("empty file (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise InputFileError(f"not a readable audio or video file ({_reason(e)})") from e
    if not container.streams.audio:
        container.close()
        raise InputFileError("the file has no audio stream")
    return container


def probe(path: Path) -> AudioInfo:
    """Container and stream facts without decoding the whole file."""
    container = _open(path)
    try:
        stream = container.streams.audio[0]
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1_000_000
        return AudioInfo(
            format=container.format.name,
            codec=stream.codec_context.name,
            sample_rate=stream.codec_context.sample_rate or 0,
            channels=stream.codec_context.channels or 0,
            declared_duration=declared,
        )
    finally:
        container.close()


class AudioReader:
    """Decodes a file block by block, so a long recording never has to be in memory at once.

    Damaged packets are skipped and counted; once the blocks are read, `finish()` says what was found: a
    corrupt file (InputFileError), or notes on damage and truncation, since most of a long show is still worth
    having.
    """

    def __init__(self, path: Path, sample_rate: int, truncation_tolerance: float, corrupt_below: float) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.truncation_tolerance = truncation_tolerance
        self.corrupt_below = corrupt_below
        self.info = probe(path)
        self.samples_read = 0
        self.errors = 0

    def blocks(self) -> Iterator[np.ndarray]:
        """Mono float32 PCM at `sample_rate`, in the decoder's block sizes."""
        import av

        container = _open(self.path)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=self.sample_rate)
        try:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    self.errors += 1  # a damaged packet: skip it, keep decoding the rest
                    continue
                for frame in frames:
                    frame.pts = None  # the resampler rejects non-monotonic pts in damaged streams
                    for out in resampler.resample(frame):
                        yield self._block(out)
            for out in resampler.resample(None):
                yield self._block(out)
        except av.error.FFmpegError as e:
            if not self.samples_read:
                raise InputFileError(f"cannot decode audio ({_reason(e)})") from e
            self.errors += 1
        finally:
            container.close()

    def _block(self, frame) -> np.ndarray:
        block = frame.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
        self.samples_read += block.size
        return block

    def finish(self) -> list[str]:
        """Notes on what decoding met; raises InputFileError when nothing, or too little, decoded."""
        if not self.samples_read:
            raise InputFileError("no audio could be decoded (corrupt or not an audio file)")
        notes = [f"{self.errors} damaged packet(s) skipped while decoding"] if self.errors else []
        declared, duration = self.info.declared_duration, self.samples_read / self.sample_rate
        if declared and duration < self.truncation_tolerance * declared:
            shortfall = f"decoded {duration:.1f} s of the {declared:.1f} s the file declares"
            if self.errors and duration < self.corrupt_below * declared:
                raise InputFileError(f"corrupt audio: {self.errors} damaged packet(s), {shortfall}")
            notes.append(f"truncated: {shortfall}")
        return notes


def decode(path: Path, sample_rate: int, truncation_tolerance: float, corrupt_below: float) -> DecodedAudio:
    """Whole file as mono float32 PCM (see AudioReader for what counts as corrupt)."""
    reader = AudioReader(path, sample_rate, truncation_tolerance, corrupt_below)
    blocks = list(reader.blocks())
    notes = reader.finish()
    return DecodedAudio(samples=np.concatenate(blocks), sample_rate=sample_rate, info=reader.info, notes=notes)


def quiet_windows(
    blocks: Iterable[np.ndarray], sample_rate: int, window_s: float, search_s: float
) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) of consecutive windows of at most `window_s` seconds. Each window ends at
    the quietest 0.1 s of its last `search_s` seconds, so a cut falls in a pause rather than inside a word, and
    what follows the cut starts the next window: no sample is lost or seen twice."""
    frame = max(1, sample_rate // 10)
    size = max(2 * frame, int(window_s * sample_rate))
    search = min(max(frame, int(search_s * sample_rate)), size - frame)
    pending: list[np.ndarray] = []
    held, offset = 0, 0
    for block in blocks:
        pending.append(block)
        held += block.size
        while held >= size:
            buffer = np.concatenate(pending)
            tail = buffer[size - search : size]
            energy = np.convolve(tail.astype(np.float64) ** 2, np.ones(frame), mode="valid")
            cut = size - search + int(np.argmin(energy)) + frame // 2
            yield offset / sample_rate, buffer[:cut]
            offset += cut
            pending, held = [buffer[cut:]], buffer.size - cut
    if held:
        yield offset / sample_rate, np.concatenate(pending)


class AudioWindows:
    """A file's audio as (offset, samples) windows; `declared` is the container's duration, `duration` and
    `notes` are known once the windows are read.

    A recording no longer than `window_s` is one window of the audio decoded beforehand (shared by the stages
    that read samples); a longer one is decoded again as it is read, window by window, so memory stays flat
    however long the input is.
    """

    def __init__(self, decoded: DecodedAudio | None, reader: AudioReader | None, window_s: float, search_s: float):
        self.decoded, self.reader = decoded, reader
        self.window_s, self.search_s = window_s, search_s
        self.declared = (decoded.info if decoded else reader.info).declared_duration
        self.duration: float | None = decoded.duration if decoded else None
        self.notes: list[str] = list(decoded.notes) if decoded else []

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        if self.decoded is not None:
            yield 0.0, self.decoded.samples
            return
        assert self.reader is not None
        rate = self.reader.sample_rate
        for window in quiet_windows(self.reader.blocks(), rate, self.window_s, self.search_s):
            yield window
            trim()  # the window's buffers (and what its processing freed) go back to the system
        self.notes = self.reader.finish()
        self.duration = self.reader.samples_read / rate
