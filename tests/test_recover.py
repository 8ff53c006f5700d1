"""Recovering speech the first decoding dropped: gaps in the words under diarized speech, and copied segments."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from conftest import write_wav
from pipeline.config import load_config
from pipeline.engine.stage import Job, ModelStore
from pipeline.engine.work import blank_episode
from pipeline.lib.asr import speech_gaps
from pipeline.records import Diarization, Segment, SpeakerSpan, Transcription, Word
from pipeline.stages.recover import RecoverStage

CONFIG = load_config()


def test_speech_gaps_are_the_diarized_speech_no_word_reaches():
    speech = [(0.0, 10.0), (12.0, 14.0)]
    words = [(0.5, 1.0), (1.1, 3.0), (8.0, 9.5)]
    assert speech_gaps(speech, words, 1.0) == [(3.25, 7.75), (12.0, 14.0)]
    assert speech_gaps(speech, words, 5.0) == []
    assert speech_gaps([], words, 1.0) == []
    # stretches either side of a word are not joined across it, however close
    assert speech_gaps([(0.0, 10.0)], [(2.0, 2.5)], 1.0, 1.5) == [(0.0, 1.75), (2.75, 10.0)]


def segment(i, start, end, text):
    step = (end - start) / len(text)  # a character a word, as Whisper times Japanese
    words = [Word(start=round(start + k * step, 3), end=round(start + (k + 1) * step, 3), text=ch, probability=0.9)
             for k, ch in enumerate(text)]  # fmt: skip
    return Segment(id=i, start=start, end=end, text=text, speaker=None, line=None, words=words)


class FakeWhisper:
    """Decodes each stretch as the next of two sentences, 1 s into it; records what it was given."""

    def __init__(self):
        self.calls = []

    def transcribe(self, samples, **kwargs):
        self.calls.append((samples.size / 16000, kwargs))
        first, second = [("最後の", "質問です。"), ("締めの", "言葉です。")][len(self.calls) - 1]
        words = [SimpleNamespace(start=1.0, end=2.0, word=first, probability=0.8),
                 SimpleNamespace(start=2.0, end=3.0, word=second, probability=0.8)]  # fmt: skip
        return iter([SimpleNamespace(start=1.0, end=3.0, text=first + second, words=words, no_speech_prob=0.1,
                                     avg_logprob=-0.4)]), None  # fmt: skip


def test_the_stage_decodes_the_gaps_and_copies_again_and_records_each(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "call.wav", np.zeros(30 * 16000, np.float32))
    episode = blank_episode(path, "call.wav", "0", "audio", 0, "h")
    episode.segments = [segment(0, 0.5, 4.0, "お電話ありがとうございます。"), segment(1, 20.0, 24.0, "お電話ありがとうございます。")]
    episode.diarization = Diarization(spans=[SpeakerSpan(start=0.0, end=12.0, speaker="SPEAKER_00"),
                                             SpeakerSpan(start=19.5, end=24.5, speaker="SPEAKER_01")],
                                      speaker_count=2, voice_matches=[], seconds=0.0)  # fmt: skip
    episode.transcription = Transcription(method="asr", language="ja", language_probability=None, model="m",
                                          speech_duration=None, seconds=None, prompt=None, recoveries=[],
                                          corrections=[])  # fmt: skip
    fake = FakeWhisper()
    models = ModelStore()
    o = CONFIG.transcribe
    models.get(("whisper", "fake", o.device, o.compute_type, o.cpu_threads), lambda: fake)
    monkeypatch.setattr(RecoverStage, "resolved", lambda self: SimpleNamespace(path="fake", identity="fake"))
    job = Job(path=path, sha256="0", profile=None, ingest=CONFIG.ingest, models=models)
    RecoverStage(CONFIG.recover, o, tmp_path).run(episode, job)

    recoveries = [(r.reason, r.start, r.end, r.kept) for r in episode.transcription.recoveries]
    assert recoveries == [("no_words", 4.25, 12.0, True), ("copy", 20.0, 24.0, True)]
    texts = [(s.id, s.start, s.text) for s in episode.segments]
    assert texts == [(0, 0.5, "お電話ありがとうございます。"), (1, 5.05, "最後の質問です。"), (2, 20.8, "締めの言葉です。")]
    assert all(kw["vad_filter"] is False and kw["language"] == "ja" and "batch_size" not in kw for _, kw in fake.calls)


def test_a_word_stretched_over_seconds_does_not_hide_the_speech_under_it(tmp_path, monkeypatch):
    # "そう" timed 5.3-12.4 s over a caller diarization missed: it covers its last 2.5 s only, and what it
    # stretches over counts as speech
    path = write_wav(tmp_path / "call.wav", np.zeros(20 * 16000, np.float32))
    episode = blank_episode(path, "call.wav", "0", "audio", 0, "h")
    words = [Word(start=4.0, end=4.3, text="は", probability=0.9), Word(start=5.3, end=12.4, text="そう", probability=0.4),
             Word(start=12.5, end=12.8, text="ね", probability=0.9)]  # fmt: skip
    episode.segments = [Segment(id=0, start=4.0, end=12.8, text="はそうね", speaker=None, line=None, words=words)]
    episode.diarization = Diarization(spans=[SpeakerSpan(start=4.0, end=5.5, speaker="SPEAKER_00")], speaker_count=1,
                                      voice_matches=[], seconds=0.0)  # fmt: skip
    episode.transcription = Transcription(method="asr", language="ja", language_probability=None, model="m",
                                          speech_duration=None, seconds=None, prompt=None, recoveries=[],
                                          corrections=[])  # fmt: skip
    models, o = ModelStore(), CONFIG.transcribe
    models.get(("whisper", "fake", o.device, o.compute_type, o.cpu_threads), FakeWhisper)
    monkeypatch.setattr(RecoverStage, "resolved", lambda self: SimpleNamespace(path="fake", identity="fake"))
    job = Job(path=path, sha256="0", profile=None, ingest=CONFIG.ingest, models=models)
    RecoverStage(CONFIG.recover, o, tmp_path).run(episode, job)
    assert [(r.reason, r.start, r.end) for r in episode.transcription.recoveries] == [("no_words", 5.3, 9.65)]
    assert "最後の質問です。" in episode.text


def test_nothing_to_recover_loads_no_model(tmp_path):
    path = write_wav(tmp_path / "a.wav", np.zeros(16000, np.float32))
    episode = blank_episode(path, "a.wav", "0", "audio", 0, "h")
    episode.segments = [segment(0, 0.0, 1.0, "はい。")]
    episode.diarization = Diarization(spans=[SpeakerSpan(start=0.0, end=1.0, speaker="S")], speaker_count=1,
                                      voice_matches=[], seconds=0.0)  # fmt: skip
    job = Job(path=path, sha256="0", profile=None, ingest=CONFIG.ingest, models=ModelStore())
    RecoverStage(CONFIG.recover, CONFIG.transcribe, tmp_path).run(episode, job)  # a model load would fail here
    assert [s.text for s in episode.segments] == ["はい。"]


def test_stretches_are_found_per_voice_and_never_run_from_one_voice_into_the_next(tmp_path):
    stage = RecoverStage(CONFIG.recover, CONFIG.transcribe, tmp_path)
    spans = [SpeakerSpan(start=10.0, end=11.5, speaker="SPEAKER_00"), SpeakerSpan(start=12.0, end=13.5, speaker="SPEAKER_01"),
             SpeakerSpan(start=14.0, end=15.2, speaker="SPEAKER_01")]  # fmt: skip
    # 0.5 s apart: one voice's two stretches are decoded as one, two voices' never
    assert stage.gaps(spans, [], []) == [(10.0, 11.5), (12.0, 15.2)]
    # speech under a stretched word that overlaps a voice's stretch is one stretch with it
    assert stage.gaps(spans, [(11.0, 12.5)], []) == [(10.0, 15.2)]
