"""Long and odd audio: windowed decoding, bounded segments and turns, non-speech, looping segments re-decoded."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.engine.stage import Job, ModelStore
from pipeline.lib.asr import bound_segments, compression_ratio
from pipeline.lib.audio import AudioReader, decode, quiet_windows
from pipeline.lib.metrics import cer
from pipeline.lib.speakers import audio_turns
from pipeline.plan import run_pipeline
from pipeline.records import Segment, SpeakerSpan, Word
from pipeline.stages.transcribe import TranscribeStage
from tests.conftest import SAMPLE_AUDIO, encode, write_wav

RATE = 16000
CONFIG = load_config()


def test_quiet_windows_cut_in_pauses_and_lose_no_sample():
    rng = np.random.default_rng(1)
    speech = rng.standard_normal(RATE * 100).astype(np.float32) * 0.3
    pauses = [25.0, 52.0, 78.0]  # 0.5 s of silence at each, one in the last 10 s of each window
    for p in pauses:
        speech[int(p * RATE) : int((p + 0.5) * RATE)] = 0.0
    blocks = np.array_split(speech, 137)  # the decoder's blocks come in odd sizes
    windows = list(quiet_windows(blocks, RATE, window_s=30, search_s=10))
    assert np.array_equal(np.concatenate([w for _, w in windows]), speech)
    assert all(w.size <= 30 * RATE for _, w in windows)
    cuts = [offset for offset, _ in windows[1:]]
    assert [any(p <= c <= p + 0.5 for p in pauses) for c in cuts] == [True] * len(cuts)
    assert [o for o, _ in windows] == sorted(o for o, _ in windows)


def test_streamed_blocks_are_the_decoded_audio(tmp_path, sample_pcm):
    path = encode(tmp_path / "x.flac", sample_pcm[: 20 * RATE], RATE, "flac", "flac")
    reader = AudioReader(path, RATE, 0.9, 0.5)
    streamed = np.concatenate(list(reader.blocks()))
    assert reader.finish() == []
    assert np.array_equal(streamed, decode(path, RATE, 0.9, 0.5).samples)


def words_at(start, texts, step=1.0, gap=0.2):
    out, t = [], start
    for text in texts:
        out.append(Word(start=t, end=t + step - gap, text=text, probability=0.9))
        t += step
    return out


def test_runaway_segments_are_cut_between_words():
    words = words_at(0.0, [f"w{i}" for i in range(150)])  # one 'segment' of 150 s
    long = Segment(id=0, start=0.0, end=150.0, text="".join(w.text for w in words), speaker=None, line=None,
                   words=words)  # fmt: skip
    short = Segment(id=1, start=151.0, end=160.0, text="x", speaker=None, line=None, words=[])
    out = bound_segments([long, short], max_s=60)
    assert [s.id for s in out] == list(range(len(out)))
    assert all(s.end - s.start <= 60 for s in out)
    assert [w for s in out for w in s.words] == words  # every word kept, in order
    assert out[-1].text == "x"


def test_audio_turns_are_bounded():
    segments = [Segment(id=i, start=10.0 * i, end=10.0 * i + 9, text=f"文{i}", speaker=None, line=None,
                        words=words_at(10.0 * i, [f"文{i}"], step=9)) for i in range(30)]  # fmt: skip
    one_voice = [SpeakerSpan(start=0.0, end=300.0, speaker="SPEAKER_00")]
    turns = audio_turns(segments, one_voice, max_turn_s=120, snap_s=0.0)
    assert len(turns) == 3 and all(t.speaker == "SPEAKER_00" for t in turns)
    assert all(t.end - t.start <= 120 for t in turns)
    assert [s for t in turns for s in t.segments] == list(range(30))


# --------------------------------------------------------------------------------- the stage with a fake decoder


def fake_segment(start, end, text, no_speech=0.05, logprob=-0.3):
    words = [SimpleNamespace(start=start, end=end, word=text, probability=0.9)]
    return SimpleNamespace(start=start, end=end, text=text, words=words, no_speech_prob=no_speech, avg_logprob=logprob,
                           compression_ratio=compression_ratio(text))  # fmt: skip


class FakeBatched:
    """Stands in for faster-whisper: per window, a looping segment, a 'you.' over noise, a normal one."""

    def __init__(self):
        self.windows = []
        self.model = SimpleNamespace(transcribe=self.sequential)
        self.sequential_calls = []

    def transcribe(self, samples, **kwargs):
        self.windows.append(samples.size / RATE)
        segments = [
            fake_segment(1.0, 20.0, "佐藤花子 " + "佐 " * 80),  # a loop: compresses far better than speech
            fake_segment(21.0, 22.0, " you.", no_speech=0.83, logprob=-2.0),
            fake_segment(23.0, 25.0, "運賃は200円です"),
        ]
        return iter(segments), SimpleNamespace(language="ja", language_probability=0.99, duration=samples.size / RATE,
                                               duration_after_vad=20.0)  # fmt: skip

    def sequential(self, samples, **kwargs):
        self.sequential_calls.append(kwargs)
        return iter([fake_segment(0.0, 3.0, "佐藤花子です。"), fake_segment(3.5, 9.0, "今日は交通の話です。")]), None


def test_stage_windows_drops_non_speech_and_redecodes_loops(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "long.wav", np.zeros(150 * RATE, np.float32))
    config = load_config(overrides=["ingest.window_s=60", "ingest.window_search_s=10"])
    stage = TranscribeStage(config.transcribe, tmp_path)
    fake = FakeBatched()
    monkeypatch.setattr(TranscribeStage, "_load", lambda self, job: fake)
    monkeypatch.setattr(TranscribeStage, "model_identity", lambda self: "fake")
    from pipeline.engine.work import blank_episode

    episode = blank_episode(path, "long.wav", "0", "audio", 0, "h")
    job = Job(path=path, sha256="0", profile=None, ingest=config.ingest, models=ModelStore())
    stage.run(episode, job)

    assert len(fake.windows) == 3 and all(w <= 60 for w in fake.windows)  # 150 s in three windows
    assert episode.duration == pytest.approx(150.0)
    texts = [s.text for s in episode.segments]
    assert "you." not in " ".join(texts)
    assert any("non-speech" in n and "you." in n for n in episode.notes)
    assert texts.count("佐藤花子です。") == 3 and not any("佐 佐 佐" in t for t in texts)  # the loop re-decoded
    assert all(c["vad_filter"] is False and "batch_size" not in c for c in fake.sequential_calls)
    loops = episode.transcription.recoveries
    assert [(r.reason, r.kept) for r in loops] == [("loop", True)] * 3  # each re-decode recorded, with both texts
    assert loops[0].before.startswith("佐藤花子 佐 佐") and loops[0].after == "佐藤花子です。 今日は交通の話です。"
    starts = [s.start for s in episode.segments]
    assert starts == sorted(starts) and starts[-1] > 100  # times run on across windows
    assert [s.id for s in episode.segments] == list(range(len(episode.segments)))


# ----------------------------------------------------------------------------------------- with the real models


@pytest.mark.model
def test_tone_and_noise_give_an_empty_transcript_not_you(tmp_path):
    t = np.arange(60 * RATE) / RATE
    noise = np.random.default_rng(0).standard_normal(t.size)
    tone = 0.5 * np.sin(2 * np.pi * 300 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) + 0.05 * noise
    (tmp_path / "in").mkdir()
    write_wav(tmp_path / "in" / "tone.wav", tone.astype(np.float32))
    (episode,) = run_pipeline([tmp_path / "in"], tmp_path / "out", load_config(overrides=["entities.enabled=false"]))
    assert episode.status == "ok" and episode.text == "" and episode.turns == []
    assert any("no speech detected" in n for n in episode.notes)


@pytest.mark.model
def test_windowed_processing_matches_the_whole_file(tmp_path, sample_reference):
    reference = " ".join(t["text"] for t in sample_reference["turns"])
    results = {}
    for name, overrides in (("whole", []), ("windows", ["ingest.window_s=60", "ingest.window_search_s=20"])):
        config = load_config(overrides=["entities.enabled=false", *overrides])
        (results[name],) = run_pipeline([SAMPLE_AUDIO], tmp_path / name, config)
    whole, windows = results["whole"], results["windows"]
    assert windows.status == "ok" and windows.duration == pytest.approx(whole.duration, abs=0.01)
    assert abs(cer(reference, windows.text) - cer(reference, whole.text)) < 0.02
    assert {s.name for s in windows.speakers} == {s.name for s in whole.speakers}  # the hosts named in both
    assert windows.diarization.speaker_count == whole.diarization.speaker_count


class FakeSkipping(FakeBatched):
    """One window: a normal segment, then 15 s of speech the batched decoder wrote as two characters."""

    def transcribe(self, samples, **kwargs):
        self.windows.append(samples.size / RATE)
        segments = [fake_segment(1.0, 4.0, "運賃は200円です"), fake_segment(10.0, 25.0, "はい")]
        return iter(segments), SimpleNamespace(language="ja", language_probability=0.99, duration=samples.size / RATE,
                                               duration_after_vad=18.0)  # fmt: skip


def test_a_segment_with_far_too_few_letters_for_its_length_is_decoded_again(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "call.wav", np.zeros(30 * RATE, np.float32))
    config = load_config()
    fake = FakeSkipping()
    monkeypatch.setattr(TranscribeStage, "_load", lambda self, job: fake)
    monkeypatch.setattr(TranscribeStage, "model_identity", lambda self: "fake")
    from pipeline.engine.work import blank_episode

    episode = blank_episode(path, "call.wav", "0", "audio", 0, "h")
    job = Job(path=path, sha256="0", profile=None, ingest=config.ingest, models=ModelStore())
    TranscribeStage(config.transcribe, tmp_path).run(episode, job)
    (redecoded,) = episode.transcription.recoveries
    assert (redecoded.reason, redecoded.start, redecoded.end, redecoded.kept) == ("low_confidence", 10.0, 25.0, True)
    assert [s.text for s in episode.segments] == ["運賃は200円です", "佐藤花子です。", "今日は交通の話です。"]
    assert episode.segments[1].start == 10.0  # the re-decoded words at their place in the file
