"""The alert benchmark: its gold lists agree with the scripts, and its scoring counts what it says it counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.alerts.check_gold import main as check_gold
from bench.alerts_bench import score_file


def test_the_gold_lists_agree_with_the_scripts_and_the_watchlist(capsys):
    assert check_gold() == 0, capsys.readouterr().out[-2000:]


def alert(term, start, match="exact"):
    return {"term": term, "start": start, "turn": 0, "span": [0, 1], "match": match, "score": 1.0, "text": term,
            "sentence": term}  # fmt: skip


def test_each_alert_counts_once_and_the_closest_mention_takes_it(tmp_path):
    reference = {"turns": [{"start": 10.0, "end": 12.0}, {"start": 12.5, "end": 16.0}]}
    gold = {"mentions": [{"term": "本田", "turn": 0, "text": "ホンダ", "start": 11.0},
                         {"term": "本田", "turn": 1, "text": "本田技研工業", "start": 13.0}]}  # fmt: skip
    record = {"turns": [], "segments": []}
    watchlist = {"terms": [{"name": "本田"}]}
    # one alert near the second mention, inside the first turn's 1 s margin: the second mention takes it
    s = score_file("x", record, gold, [alert("本田", 12.8)], [], watchlist, reference, Path("x.ogg"))
    assert s.found == ["本田 (本田技研工業, turn 1)"] and s.missed == ["本田 (ホンダ, turn 0)"]
    assert s.timing == [pytest.approx(0.2)]
    s = score_file("x", record, gold, [alert("本田", 12.8), alert("日立", 11.0)], [], watchlist, reference,
                   Path("x.ogg"))  # fmt: skip
    assert len(s.false) == 1 and s.false[0].startswith("日立")
