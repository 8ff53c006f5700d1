"""The scoring of bench/speaker_names_bench.py on hand-made records (no model is loaded)."""

from bench.speaker_names_bench import score, who_is_who

REFERENCE = {
    "speakers": [{"id": "a", "full_name": "山田太郎"}, {"id": "b", "full_name": "中村美咲"}, {"id": "c", "full_name": "佐藤花子"}],
    "turns": [{"speaker": "a", "start": 0, "end": 10}, {"speaker": "b", "start": 10, "end": 30},
              {"speaker": "c", "start": 30, "end": 34}],
}  # fmt: skip


def record(speakers, turns):
    return {"speakers": [{"id": i, "name": n, "named_by": "speech" if n else None} for i, n in speakers],
            "turns": [{"speaker": s, "start": a, "end": b} for s, a, b in turns]}  # fmt: skip


def test_each_diarized_speaker_is_the_reference_speaker_who_says_most_of_its_time():
    joined = record([("S0", None), ("S1", None)], [("S0", 0, 10), ("S1", 10, 34)])
    assert who_is_who(joined, REFERENCE) == {"S0": "a", "S1": "b"}  # c's 4 s are inside S1, b's 20 s win


def test_right_wrong_unnamed_and_lost_voices():
    got = score("show", record([("S0", "山田太郎"), ("S1", "佐藤花子")], [("S0", 0, 10), ("S1", 10, 34)]), REFERENCE)
    assert got.right == ["山田太郎"] and got.wrong == ["佐藤花子 (is 中村美咲)"]  # the joined voice is mostly 中村
    assert got.unnamed == ["中村美咲", "佐藤花子"] and got.lost == ["佐藤花子"]
    assert (got.reference_speakers, got.diarized_speakers) == (3, 2)
