"""Decoding of every supported container, and clear errors for files that are not audio."""

import numpy as np
import pytest

from pipeline.lib.audio import decode, probe
from pipeline.errors import InputFileError
from tests.conftest import encode

RATE = 16000


@pytest.fixture(scope="module")
def clip(sample_pcm):
    return sample_pcm[: 4 * RATE]


@pytest.mark.parametrize(
    "name, container, codec, rate, video",
    [
        ("clip.mp3", "mp3", "libmp3lame", RATE, False),
        ("clip.m4a", "ipod", "aac", RATE, False),
        ("clip.flac", "flac", "flac", RATE, False),
        ("clip.ogg", "ogg", "libopus", 48000, False),
        ("clip.wav", "wav", "pcm_s16le", RATE, False),
        ("clip.mp4", "mp4", "aac", RATE, True),
    ],
)
def test_formats_decode_to_16k_mono(tmp_path, clip, name, container, codec, rate, video):
    samples = clip if rate == RATE else np.repeat(clip, rate // RATE)  # crude upsampling is enough here
    path = encode(tmp_path / name, samples, rate, container, codec, video=video)
    decoded = decode(path, RATE, truncation_tolerance=0.9, corrupt_below=0.5)
    assert decoded.sample_rate == RATE and decoded.samples.dtype == np.float32
    assert decoded.duration == pytest.approx(4.0, abs=0.1)
    assert decoded.notes == []
    # the speech survives the round trip: its loudness contour (100 ms frames) matches the original's
    contour = lambda x: np.sqrt((x[: len(x) // 1600 * 1600].reshape(-1, 1600) ** 2).mean(axis=1))  # noqa: E731
    original, back = contour(clip), contour(decoded.samples[: len(clip)])
    n = min(len(original), len(back))
    assert np.corrcoef(original[:n], back[:n])[0, 1] > 0.8


def test_stereo_44k_is_downmixed(tmp_path):
    import av

    path = tmp_path / "stereo.wav"
    out = av.open(str(path), "w", format="wav")
    stream = out.add_stream("pcm_s16le", rate=44100)
    stream.layout = "stereo"
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
    frame.sample_rate = 44100
    for packet in [*stream.encode(frame), *stream.encode()]:
        out.mux(packet)
    out.close()
    assert probe(path).channels == 2
    decoded = decode(path, RATE, 0.9, 0.5)
    assert decoded.duration == pytest.approx(1.0, abs=0.02)


def test_not_audio(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    (tmp_path / "text.wav").write_text("これは音声ではありません\n" * 20, encoding="utf-8")
    (tmp_path / "random.mp3").write_bytes(np.random.default_rng(0).bytes(20000))
    with pytest.raises(InputFileError, match="empty file"):
        decode(tmp_path / "empty.mp3", RATE, 0.9, 0.5)
    for name in ("text.wav", "random.mp3"):
        with pytest.raises(InputFileError, match="not a readable audio"):
            decode(tmp_path / name, RATE, 0.9, 0.5)


def test_damaged_mp3_is_an_error_and_truncated_one_a_note(tmp_path, clip):
    good = encode(tmp_path / "good.mp3", clip, RATE, "mp3", "libmp3lame").read_bytes()
    noise = np.random.default_rng(1).bytes(len(good))
    (tmp_path / "damaged.mp3").write_bytes(good[:2000] + noise[2000:])
    with pytest.raises(InputFileError, match="corrupt audio"):
        decode(tmp_path / "damaged.mp3", RATE, 0.9, 0.5)
    flac = encode(tmp_path / "full.flac", clip, RATE, "flac", "flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(flac[: len(flac) * 2 // 3])  # the header still declares 4 s
    decoded = decode(tmp_path / "cut.flac", RATE, 0.9, 0.5)
    assert 2.0 < decoded.duration < 3.5
    assert any(n.startswith("truncated: decoded") for n in decoded.notes)
