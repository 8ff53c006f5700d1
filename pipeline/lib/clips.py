"""Audio clips of alerts: the sentence around a mention, padded, faded in and out, encoded to bytes.

PyAV decodes the source (it bundles FFmpeg's libraries), seeking to the clip, so a three-hour show is never
decoded whole; pydub cuts and fades the PCM; mp3 and ogg are encoded by the ffmpeg binary inside the
imageio-ffmpeg wheel (wav needs no encoder). pydub never probes anything here (the wheel has no ffprobe),
and its converter is set on the clip's own segment, never on the class.

Nothing is written to the output: the caller gets the bytes and stages them. pydub's export does use two
scratch files in the temp folder while ffmpeg runs (so the mp3 gets its LAME header, which tells decoders the
encoder's delay); it deletes them, except when ffmpeg fails (pydub 0.25.1 leaves them then).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np

from pipeline.config.options import ClipOptions
from pipeline.errors import InputFileError, PipelineError
from pipeline.lib.audio import probe

# Opus, AAC and mp3 decoders need some audio before a seek point to settle: seek this much earlier and drop it.
PREROLL_S = 0.5
# A mention may end this far past the end of the file (word times of ASR overshoot a little).
END_TOLERANCE_S = 0.5
# Clips keep the source's rate, but at least 16 kHz (8 kHz phone audio is upsampled, as the speech models read
# it) and at most 48 kHz (the highest rate mp3 has).
MIN_RATE, MAX_RATE = 16000, 48000
SUFFIXES = {"mp3": ".mp3", "ogg": ".ogg", "wav": ".wav"}


class ClipError(PipelineError, ValueError):
    """A clip cannot be cut: times outside the audio, or the encoder failed. A ValueError too, since most
    causes are times that do not fit the file."""


@dataclass(frozen=True)
class Clip:
    data: bytes  # the encoded file
    start: float  # seconds in the source where the clip starts
    end: float  # ... and ends
    suffix: str  # ".mp3"


def clip_window(
    sentence: tuple[float, float], mention: tuple[float, float], pad_s: float, max_s: float, duration: float | None
) -> tuple[float, float]:
    """(start, end) in seconds: the sentence (stretched to hold the mention) padded by pad_s, inside
    [0, duration]; longer than max_s, it becomes max_s centred on the mention, shifted to stay inside."""
    start = max(0.0, min(sentence[0], mention[0]) - pad_s)
    end = max(sentence[1], mention[1]) + pad_s
    if duration is not None:
        end = min(end, duration)
    if end - start > max_s:
        centre = (mention[0] + mention[1]) / 2
        lo = min(max(centre - max_s / 2, start), end - max_s)
        start, end = lo, lo + max_s
    return start, end


def _check_times(sentence: tuple[float, float], mention: tuple[float, float]) -> None:
    for name, (a, b) in (("sentence", sentence), ("mention", mention)):
        if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b < a:
            raise ClipError(f"{name} times ({a}, {b}) are not a range of seconds from 0 up")


def _rate(source_rate: int) -> int:
    return min(max(source_rate or MIN_RATE, MIN_RATE), MAX_RATE)


def _read(
    source: Path, start: float, end: float, rate: int, seek: bool
) -> tuple[float | None, np.ndarray, float | None]:
    """(time of the first sample kept, mono int16 PCM from there to at least `end`, the file's end in seconds
    if it came first). The time is None when nothing usable decoded: a seek that found no audio, or one that
    landed after `start`."""
    import av

    nothing = None, np.zeros(0, np.int16), None
    try:
        container = av.open(str(source), metadata_errors="ignore")
    except av.error.FFmpegError as e:  # probed fine a moment ago: replaced or removed since
        raise InputFileError(f"cannot open audio ({e.__class__.__name__})") from e
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    t0: float | None = None  # time of the first decoded frame; later samples are counted from it
    kept: list[np.ndarray] = []
    first = done = 0  # sample index (from t0) of the first kept block; samples resampled so far

    def take(frame) -> None:
        nonlocal first, done
        for out in resampler.resample(frame):
            block = out.to_ndarray().reshape(-1)
            if t0 + (done + block.size) / rate > start:  # blocks wholly before the clip are dropped
                if not kept:
                    first = done
                kept.append(block)
            done += block.size

    try:
        stream = container.streams.audio[0]
        seeked = seek and start > PREROLL_S
        if seeked:
            try:
                container.seek(int((start - PREROLL_S) / stream.time_base), stream=stream)
            except av.error.FFmpegError:
                return nothing
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue  # a damaged packet: skip it, as the transcription's decoding does
            for frame in frames:
                if t0 is None:
                    t0 = float(frame.time) if frame.time is not None else 0.0
                    if seeked and t0 > start:
                        return nothing  # the seek overshot: the caller reads from the start instead
                frame.pts = None  # the resampler rejects non-monotonic pts in damaged streams
                take(frame)
            if t0 is not None and t0 + done / rate >= end:
                return t0 + first / rate, np.concatenate(kept), None
        if t0 is not None:
            take(None)  # what the resampler still holds
    except av.error.FFmpegError as e:
        if t0 is None:
            raise InputFileError(f"cannot decode audio ({e.__class__.__name__})") from e
    finally:
        container.close()
    if t0 is None:
        return nothing
    file_end = t0 + done / rate
    samples = np.concatenate(kept) if kept else np.zeros(0, np.int16)
    return (t0 + first / rate if kept else file_end), samples, file_end


def _decode(source: Path, start: float, end: float, rate: int) -> tuple[float, np.ndarray, float | None]:
    """PCM covering [start, end] (as far as the file goes): by seeking, or, where the seek lands late or finds
    nothing, by decoding from the start and dropping what comes before the clip. After a seek, wav, flac and
    m4a are sample-exact against decoding the whole file; mp3 and Opus within about 12 ms."""
    t, samples, file_end = _read(source, start, end, rate, seek=True)
    if t is None:
        t, samples, file_end = _read(source, start, end, rate, seek=False)
    if t is None:
        raise InputFileError("no audio could be decoded (corrupt or not an audio file)")
    return t, samples, file_end


def _pydub():
    # pydub warns on import when no ffmpeg is on PATH; this module never uses that one, so the warning would
    # only mislead. audioop's deprecation (Python 3.11) is pydub's, not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import pydub
    return pydub


def _encoder(given: str | None) -> str:
    if given is None:
        try:
            import imageio_ffmpeg

            given = imageio_ffmpeg.get_ffmpeg_exe()
        except (ImportError, RuntimeError) as e:
            raise ClipError(f"mp3 and ogg clips need the ffmpeg of imageio-ffmpeg (pip install imageio-ffmpeg): "
                            f"{e}") from e  # fmt: skip
    # Checked before pydub runs it: a failed run leaves pydub's scratch files behind.
    if not (os.path.isfile(given) and os.access(given, os.X_OK)):
        raise ClipError(f"encoding the clip failed: the encoder {given} is not an executable file")
    return given


def cut_clip(
    source: Path,
    sentence: tuple[float, float],
    mention: tuple[float, float],
    options: ClipOptions,
    encoder: str | None = None,
) -> Clip:
    """The sentence (start, end seconds) padded by options.pad_s on each side (clamped to the file), at most
    options.max_s long (a longer one is cut to max_s centred on the mention), faded in and out, encoded.

    `encoder` is an ffmpeg binary for mp3 and ogg; None = the one inside the imageio-ffmpeg wheel (which
    honours IMAGEIO_FFMPEG_EXE). Raises InputFileError for a source that cannot be read, ClipError for times
    outside the audio or a failed encode.
    """
    _check_times(sentence, mention)
    if options.format not in SUFFIXES:
        raise ClipError(f"unknown clip format {options.format!r} (mp3, ogg or wav)")
    source = Path(source)
    if not source.is_file():
        raise InputFileError(f"the source audio {source} is not there (moved or deleted since it was processed?)")
    info = probe(source)  # InputFileError for an empty or unreadable file, or one without an audio stream
    rate = _rate(info.sample_rate)
    # The container's duration is not trusted for the window (a VBR mp3 without a header declares a guess):
    # the end of the file is where decoding stops.
    start, end = clip_window(sentence, mention, options.pad_s, options.max_s, None)
    t, samples, file_end = _decode(source, start, end, rate)
    if file_end is not None:
        if mention[0] >= file_end or mention[1] > file_end + END_TOLERANCE_S:
            raise ClipError(f"the mention ({mention[0]:.2f}-{mention[1]:.2f} s) is outside the audio, which ends "
                            f"at {file_end:.2f} s")  # fmt: skip
        before = start
        start, end = clip_window(sentence, mention, options.pad_s, options.max_s, file_end)
        if start < before:  # a max_s window near the end moved back: decode again from its new start
            t, samples, _ = _decode(source, start, end, rate)

    pydub = _pydub()
    segment = pydub.AudioSegment(data=samples.astype("<i2").tobytes(), sample_width=2, frame_rate=rate, channels=1)
    # pydub cuts in whole milliseconds, counted from the first decoded sample at t.
    a, b = max(0, round((start - t) * 1000)), min(len(segment), round((end - t) * 1000))
    if b <= a:
        raise ClipError(f"no audio between {start:.2f} and {end:.2f} s")
    clip = segment[a:b]
    fade = min(options.fade_ms, len(clip) // 2)
    if fade > 0:  # pydub's fade of 0 ms is an error, not a no-op
        clip = clip.fade_in(fade).fade_out(fade)

    out = BytesIO()
    if options.format == "wav":
        clip.export(out, format="wav")  # pydub writes wav itself
    else:
        # Set on this segment only: export() reads self.converter, so the class keeps its own (no global state).
        clip.converter = _encoder(encoder)
        try:
            clip.export(out, format=options.format, bitrate=options.bitrate)
        except (pydub.exceptions.CouldntEncodeError, OSError) as e:
            raise ClipError(f"encoding the {options.format} clip failed: {str(e).strip()[-500:]}") from e
    return Clip(data=out.getvalue(), start=round(t + a / 1000, 3), end=round(t + b / 1000, 3),
                suffix=SUFFIXES[options.format])  # fmt: skip
