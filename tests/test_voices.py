import numpy as np

from pipeline.lib.diarization import voices


def unit(*values):
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_match_names_best_pairs_once_and_leaves_strangers_anonymous():
    prints = [
        voices.Voiceprint(name="山田太郎", model="m", clip_sha256="x", clip_seconds=10.0, embedding=unit(1, 0, 0).tolist()),
        voices.Voiceprint(name="佐藤花子", model="m", clip_sha256="y", clip_seconds=10.0, embedding=unit(0, 1, 0).tolist()),
    ]
    centroids = {"SPEAKER_00": unit(0.1, 1, 0), "SPEAKER_01": unit(1, 0.2, 0), "SPEAKER_02": unit(0, 0.3, 1)}
    matches = voices.match(centroids, prints, threshold=0.6)
    assert [(m.speaker, m.name) for m in matches] == [("SPEAKER_00", "佐藤花子"), ("SPEAKER_01", "山田太郎")]
    # two speakers close to one voice: only the closer one takes the name
    twins = {"SPEAKER_00": unit(1, 0.1, 0), "SPEAKER_01": unit(1, 0.3, 0)}
    assert [(m.speaker, m.name) for m in voices.match(twins, prints[:1], 0.6)] == [("SPEAKER_00", "山田太郎")]


def test_save_and_load_only_prints_of_the_same_model(tmp_path):
    voices.save(tmp_path, "show", voices.Voiceprint(name="A", model="campplus:1", clip_sha256="s", clip_seconds=9.5, embedding=[0.1, 0.2]))
    voices.save(tmp_path, "show", voices.Voiceprint(name="B", model="other-model", clip_sha256="t", clip_seconds=9.5, embedding=[0.3, 0.4]))
    loaded = voices.load(tmp_path, "show", "campplus:1")
    assert [p.name for p in loaded] == ["A"] and loaded[0].embedding == [0.1, 0.2]
    assert voices.load(tmp_path, "unknown", "campplus:1") == []
