"""Shared fixtures. Test audio is made here from the bundled sample (our own TTS clip) or from numbers."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.config import PROJECT_ROOT, load_config

SAMPLES = PROJECT_ROOT / "samples"
SAMPLE_AUDIO = SAMPLES / "asaradio_2024-03-12.ogg"
SAMPLE_REFERENCE = SAMPLES / "reference" / "asaradio_2024-03-12.json"
SAMPLE_TEXT = SAMPLES / "asaradio_2024-03-13.txt"
SHARED = PROJECT_ROOT.parent / "shared"
ARTICLE = SHARED / "samples" / "onemorning_2023-07-05_article.txt"


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def encode(path: Path, samples: np.ndarray, rate: int, container: str, codec: str, video: bool = False) -> Path:
    """Encode mono float samples with PyAV (optionally beside a tiny video stream, like a video file)."""
    out = av.open(str(path), "w", format=container)
    if video:
        vstream = out.add_stream("mpeg4", rate=25)
        vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "mono"
    step = stream.codec_context.frame_size or 1024
    for i in range(0, len(samples), step):
        frame = av.AudioFrame.from_ndarray(samples[None, i : i + step].astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    if video:
        for _ in range(int(len(samples) / rate * 25)):
            picture = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in vstream.encode(picture):
                out.mux(packet)
        for packet in vstream.encode():
            out.mux(packet)
    out.close()
    return path


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def sample_pcm() -> np.ndarray:
    """The bundled sample decoded to 16 kHz mono float32."""
    from faster_whisper import decode_audio

    return decode_audio(str(SAMPLE_AUDIO), sampling_rate=16000)


@pytest.fixture(scope="session")
def sample_reference() -> dict:
    return json.loads(SAMPLE_REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def article_text() -> str:
    if not ARTICLE.is_file():
        pytest.skip("../shared/samples is not present on this machine")
    return ARTICLE.read_text(encoding="utf-8")

