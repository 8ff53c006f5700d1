"""Alert clips (pipeline/lib/clips.py): the window pad, clamps and max_s give, fades, the three formats, the
errors; and, with the bundled Whisper base, that a clip holds the words of its mention."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.config.options import ClipOptions
from pipeline.errors import InputFileError, PipelineError
from pipeline.lib import clips
from pipeline.lib.clips import ClipError, cut_clip
from tests.conftest import write_wav

DATA = Path(__file__).parent / "data"
SHOW = DATA / "asaradio_2024-04-01.ogg"  # Ogg/Opus, 75.6 s, generated speech (tests/data/README.md)
SHOW_TURNS = json.loads((DATA / "reference" / "asaradio_2024-04-01.json").read_text(encoding="utf-8"))["turns"]
RATE = 16000
TONE_S = 20.0


def options(**changes) -> ClipOptions:
    values = {"folder": "clips", "pad_s": 2.0, "fade_ms": 300, "max_s": 30.0, "format": "wav", "bitrate": "64k"}
    return ClipOptions(**(values | changes))


def decoded(data: bytes) -> tuple[np.ndarray, int, int]:
    """(mono float samples, sample rate, channels) of an encoded clip, read back with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        frames = [f.to_ndarray().astype(np.float64) for f in container.decode(stream)]
        rate = stream.codec_context.sample_rate
    # Planar frames are (channels, n), packed ones (1, n * channels): the first channel either way.
    samples = np.concatenate([f[0] if f.shape[0] == channels else f.reshape(-1)[::channels] for f in frames])
    if samples.dtype.kind == "f" and np.abs(samples).max() > 1.5:
        samples = samples / 32768.0
    return samples, rate, channels


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.fixture(scope="module")
def tone(tmp_path_factory) -> Path:
    """20 s of a steady 440 Hz tone at 16 kHz: any quiet start or end of a clip is the fade's."""
    t = np.arange(int(TONE_S * RATE)) / RATE
    return write_wav(tmp_path_factory.mktemp("tone") / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), RATE)


@pytest.mark.parametrize(
    "sentence, mention, pad_s, max_s, window",
    [
        ((8.0, 10.0), (8.5, 9.0), 2.0, 30.0, (6.0, 12.0)),  # padded on both sides
        ((0.5, 2.0), (0.5, 1.0), 2.0, 30.0, (0.0, 4.0)),  # clamped at the start of the file
        ((18.0, 19.8), (18.5, 19.0), 2.0, 30.0, (16.0, 20.0)),  # clamped at its end
        ((2.0, 18.0), (4.0, 5.0), 2.0, 6.0, (1.5, 7.5)),  # too long: max_s centred on the mention
        ((0.0, 18.0), (0.2, 0.5), 2.0, 6.0, (0.0, 6.0)),  # centred, then moved inside the file
        ((5.0, 19.9), (19.5, 19.8), 2.0, 6.0, (14.0, 20.0)),  # moved back from the end (decoded again)
        ((8.0, 10.0), (9.5, 10.5), 0.0, 30.0, (8.0, 10.5)),  # a mention past the sentence stays in the clip
    ],
)
def test_the_clip_is_the_window_that_pad_clamp_and_max_s_give(tone, sentence, mention, pad_s, max_s, window):
    clip = cut_clip(tone, sentence, mention, options(pad_s=pad_s, max_s=max_s))
    samples, rate, _ = decoded(clip.data)
    assert (clip.start, clip.end) == pytest.approx(window, abs=0.002)
    assert len(samples) / rate == pytest.approx(window[1] - window[0], abs=0.002)
    assert clip.suffix == ".wav"


def test_a_clip_starts_and_ends_with_a_fade(tone):
    samples, rate, _ = decoded(cut_clip(tone, (8.0, 10.0), (8.5, 9.0), options(fade_ms=300)).data)
    edge = int(0.02 * rate)
    middle = rms(samples[len(samples) // 2 - 4 * edge : len(samples) // 2 + 4 * edge])
    assert middle > 0.3
    assert rms(samples[:edge]) < 0.1 * middle
    assert rms(samples[-edge:]) < 0.1 * middle
    # Without a fade the same edges are as loud as the middle: the quiet edges above are the fade's doing.
    plain, _, _ = decoded(cut_clip(tone, (8.0, 10.0), (8.5, 9.0), options(fade_ms=0)).data)
    assert rms(plain[:edge]) == pytest.approx(middle, rel=0.1)


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "wav"])
def test_every_format_decodes_mono_at_the_sources_rate_with_the_right_length(fmt):
    """From the Opus test show (decoded at 48 kHz): mp3 and ogg through the ffmpeg of imageio-ffmpeg."""
    turn = SHOW_TURNS[7]  # 今日のさくら市の最高気温は18度の予想です。
    clip = cut_clip(SHOW, (turn["start"], turn["end"]), (turn["start"] + 1, turn["start"] + 2), options(format=fmt))
    samples, rate, channels = decoded(clip.data)
    assert clip.suffix == f".{fmt}"
    assert (channels, rate) == (1, 48000)
    assert (clip.start, clip.end) == pytest.approx((turn["start"] - 2, turn["end"] + 2), abs=0.002)
    assert len(samples) / rate == pytest.approx(clip.end - clip.start, abs=0.06)  # mp3 pads to whole frames
    assert rms(samples) > 0.01  # speech, not silence


def test_a_low_rate_source_gives_a_16_khz_clip(tmp_path):
    t = np.arange(8000 * 10) / 8000
    phone = write_wav(tmp_path / "phone.wav", 0.5 * np.sin(2 * np.pi * 300 * t), 8000)
    clip = cut_clip(phone, (4.0, 5.0), (4.2, 4.5), options(format="mp3"))
    samples, rate, channels = decoded(clip.data)
    assert (channels, rate) == (1, 16000)
    assert len(samples) / rate == pytest.approx(5.0, abs=0.06)


def test_the_clip_holds_the_audio_of_the_times_it_names(tone, tmp_path):
    """Seeking lands where the whole file's decoding puts those times (the times alerts come from): a wav
    source sample for sample, the Opus show within a few milliseconds."""
    t = np.arange(int(TONE_S * RATE)) / RATE
    chirp = 0.5 * np.sin(2 * np.pi * (100 + 20 * t) * t)  # a different sound at every moment
    source = write_wav(tmp_path / "chirp.wav", chirp, RATE)
    clip = cut_clip(source, (12.0, 13.0), (12.2, 12.5), options(fade_ms=0, pad_s=1.0))
    samples, rate, _ = decoded(clip.data)
    expected = np.round(chirp * 32767).astype(np.int16) / 32768.0
    start = round(clip.start * rate)
    assert clip.start == pytest.approx(11.0, abs=0.001)
    assert np.abs(samples - expected[start : start + len(samples)]).max() < 1e-3

    clip = cut_clip(SHOW, (30.0, 32.0), (30.5, 31.0), options(fade_ms=0, pad_s=0.5))
    samples, rate, _ = decoded(clip.data)
    with av.open(str(SHOW)) as container:
        whole = np.concatenate([f.to_ndarray()[0] for f in container.decode(container.streams.audio[0])])
    start, limit = round(clip.start * rate), int(0.02 * rate)
    lags = range(-limit, limit + 1)
    lag = max(lags, key=lambda k: float(np.dot(whole[start + k : start + k + len(samples)], samples)))
    assert abs(lag) < limit
    assert np.corrcoef(whole[start + lag : start + lag + len(samples)], samples)[0, 1] > 0.95


def test_a_source_where_seeking_fails_is_read_from_its_start(tone, monkeypatch):
    read = clips._read

    def no_seek(source, start, end, rate, seek):
        return (None, np.zeros(0, np.int16), None) if seek else read(source, start, end, rate, seek)

    monkeypatch.setattr(clips, "_read", no_seek)
    clip = cut_clip(tone, (8.0, 10.0), (8.5, 9.0), options())
    assert (clip.start, clip.end) == pytest.approx((6.0, 12.0), abs=0.002)


def test_nothing_is_written_and_pydubs_converter_is_left_alone(tmp_path):
    from pydub import AudioSegment

    converter = AudioSegment.converter
    source = tmp_path / "show.ogg"
    source.write_bytes(SHOW.read_bytes())
    clip = cut_clip(source, (10.0, 12.0), (10.5, 11.0), options(format="mp3"))
    assert clip.data[:3] == b"ID3" or clip.data[:2] == b"\xff\xfb"
    assert [p.name for p in tmp_path.iterdir()] == ["show.ogg"]
    assert AudioSegment.converter == converter


@pytest.mark.parametrize(
    "sentence, mention, error, words",
    [
        ((80.0, 82.0), (80.5, 81.0), ClipError, "outside the audio"),  # the show is 75.6 s long
        ((74.0, 76.0), (75.0, 77.0), ClipError, "outside the audio"),  # ends 1.4 s past the end
        ((10.0, 8.0), (8.5, 9.0), ClipError, "sentence times"),
        ((8.0, 10.0), (-1.0, 9.0), ClipError, "mention times"),
        ((8.0, float("nan")), (8.5, 9.0), ClipError, "sentence times"),
    ],
)
def test_times_that_do_not_fit_the_audio_are_refused(sentence, mention, error, words):
    with pytest.raises(error, match=words) as caught:
        cut_clip(SHOW, sentence, mention, options())
    assert isinstance(caught.value, PipelineError) and isinstance(caught.value, ValueError)


def test_an_unreadable_source_is_an_input_error(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    (tmp_path / "text.mp3").write_text("not audio at all\n" * 100, encoding="utf-8")
    for name, words in (("empty.mp3", "empty file"), ("text.mp3", "not a readable audio"),
                        ("missing.mp3", "is not there")):  # fmt: skip
        with pytest.raises(InputFileError, match=words):
            cut_clip(tmp_path / name, (1.0, 2.0), (1.2, 1.5), options())


def test_a_failing_encoder_is_a_clip_error(tone, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # pydub leaves its scratch files when ffmpeg fails
    with pytest.raises(ClipError, match="no-ffmpeg is not an executable"):
        cut_clip(tone, (8.0, 10.0), (8.5, 9.0), options(format="mp3"), encoder=str(tmp_path / "no-ffmpeg"))
    with pytest.raises(ClipError, match="encoding the ogg clip failed"):
        cut_clip(tone, (8.0, 10.0), (8.5, 9.0), options(format="ogg", bitrate="lots"))


@pytest.mark.model
def test_a_clip_holds_the_spoken_words_of_its_mention():
    """Whisper base hears 佐藤花子 in the whole show (turn 1: 佐藤花子です。); a tight clip around the start
    of that turn must hold it, and a clip of other times must not (so the check can fail)."""
    from faster_whisper import WhisperModel

    from pipeline.config import load_config
    from pipeline.config.options import resolve_path
    from pipeline.lib.models import resolve

    model_dir = resolve("base", resolve_path(load_config().models.cache_dir)).path
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=2)

    def heard(start: float) -> str:
        clip = cut_clip(SHOW, (start, start + 1.5), (start, start + 1.0), options(format="mp3", pad_s=1.0))
        assert clip.end - clip.start == pytest.approx(3.5, abs=0.01)
        segments, _ = model.transcribe(io.BytesIO(clip.data), language="ja", beam_size=5,
                                       condition_on_previous_text=False)  # fmt: skip
        return "".join(s.text for s in segments).replace(" ", "")

    turn = SHOW_TURNS[1]
    assert turn["text"].startswith("佐藤花子です")
    assert "佐藤花子" in heard(turn["start"])
    assert "佐藤花子" not in heard(turn["start"] + 5.0)
