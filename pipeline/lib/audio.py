"""Probe and decode audio with PyAV (its wheel bundles FFmpeg: no system ffmpeg needed).

Decoding keeps count of what it could not read, so a corrupt or truncated file becomes an error or a note
instead of a silently short transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import InputFileError


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


def decode(path: Path, sample_rate: int, truncation_tolerance: float, corrupt_below: float) -> DecodedAudio:
    """Whole file as mono float32 PCM.

    Raises InputFileError when nothing decodes, or when damaged packets cost more than `corrupt_below` of the
    declared duration; a shorter shortfall is kept as a note, since most of a long show is still worth having.
    """
    import av

    info = probe(path)
    container = _open(path)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    errors = 0
    try:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                errors += 1  # a damaged packet: skip it, keep decoding the rest
                continue
            for frame in frames:
                frame.pts = None  # the resampler rejects non-monotonic pts in damaged streams
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as e:
        if not chunks:
            raise InputFileError(f"cannot decode audio ({_reason(e)})") from e
        errors += 1
    finally:
        container.close()
    if not chunks:
        raise InputFileError("no audio could be decoded (corrupt or not an audio file)")
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    decoded = DecodedAudio(samples=samples, sample_rate=sample_rate, info=info, notes=[])
    if errors:
        decoded.notes.append(f"{errors} damaged packet(s) skipped while decoding")
    declared = info.declared_duration
    if declared and decoded.duration < truncation_tolerance * declared:
        shortfall = f"decoded {decoded.duration:.1f} s of the {declared:.1f} s the file declares"
        if errors and decoded.duration < corrupt_below * declared:
            raise InputFileError(f"corrupt audio: {errors} damaged packet(s), {shortfall}")
        decoded.notes.append(f"truncated: {shortfall}")
    return decoded
