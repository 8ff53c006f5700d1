"""The metric functions of bench/accuracy_bench.py on tiny hand-made records (no model is loaded)."""

from __future__ import annotations

import pytest

from bench.accuracy_bench import (
    check_corrections,
    correction_is_right,
    der,
    entity_recall,
    figure_accuracy,
    gain_points,
    merge,
    read_rttm,
    recovery_totals,
    speech_coverage,
    text_cer,
)


def test_cer_compares_letters_and_digits_only():
    assert text_cer("山田です。5月です。", "山田です 5月です") == 0.0
    assert text_cer("山田です", "山口です") == pytest.approx(0.25)


def test_gain_is_plain_minus_pipeline_in_points():
    assert gain_points(0.20, 0.15) == pytest.approx(5.0)
    assert gain_points(0.10, 0.12) == pytest.approx(-2.0)
    assert gain_points(None, 0.1) is None


def entity(name, aliases=(), mentions=()):
    return {"name": name, "aliases": list(aliases), "mentions": [{"text": t} for t in mentions]}


def test_entity_found_by_name_alias_or_mention_after_folding():
    gold = [
        {"name": "山田太郎", "types": ["PERSON"], "surfaces": ["山田太郎", "山田"]},
        {"name": "TOKYO FM", "types": ["ORG"], "surfaces": ["TOKYO FM"]},
        {"name": "さくら市", "types": ["LOCATION"], "surfaces": ["さくら市"]},
        {"name": "みどり屋", "types": ["ORG"], "surfaces": ["みどり屋"]},
    ]
    predicted = [
        entity("山口", aliases=["山田"]),  # an alias is a gold surface
        entity("ＴＯＫＹＯ ｆｍ"),  # full width and lower case
        entity("桜市", mentions=["さくら市"]),  # a mention's text
        entity("海洋美"),
    ]
    score = entity_recall(predicted, gold)
    assert (score.found, score.total) == (3, 4)
    assert score.missed == ["みどり屋"]
    assert score.unmatched == ["海洋美"]


def test_optional_surfaces_are_not_listed_as_unmatched():
    score = entity_recall([entity("消費者物価指数")], [], optional=["消費者物価指数"])
    assert (score.found, score.total, score.unmatched) == (0, 0, [])


def mention(kind, value=None, value_max=None, unit=None, iso=None, qualifier=None):
    figure = {"kind": kind, "value": value, "value_max": value_max, "unit": unit, "iso": iso, "qualifier": qualifier}
    return {"turn": 0, "figure": figure}


def test_figure_needs_kind_value_and_what_the_gold_gives():
    gold = [
        {"line": 1, "text": "8000円", "kind": "money", "value": 8000, "unit": "JPY"},
        {"line": 2, "text": "5月", "kind": "date", "iso": "2024-05"},
        {"line": 3, "text": "10〜20%", "kind": "percent", "value": 10, "value_max": 20, "unit": "%"},
        {"line": 4, "text": "12区画", "kind": "count", "value": 12},  # no unit given: any unit will do
        {"line": 5, "text": "24度", "kind": "quantity", "value": 24, "unit": "度"},
    ]
    predicted = [
        mention("money", 8000.0, unit="JPY", qualifier="approx"),  # qualifier is not checked
        mention("date", iso="2024-05"),
        mention("percent", 10.0, value_max=None, unit="%"),  # value_max missing: wrong
        mention("count", 12.0, unit="区画"),
        mention("count", 24.0, unit="度"),  # wrong kind
    ]
    score = figure_accuracy(predicted, gold)
    assert (score.right, score.total) == (3, 5)
    assert [f["text"] for f in score.missed] == ["10〜20%", "24度"]


def test_figure_unit_and_iso_must_equal_the_golds():
    gold = [{"text": "8000円", "kind": "money", "value": 8000, "unit": "JPY"},
            {"text": "来年", "kind": "date", "iso": "2025"}]  # fmt: skip
    assert figure_accuracy([mention("money", 8000.0, unit="USD"), mention("date", iso="2024")], gold).right == 0
    assert figure_accuracy([mention("money", 8000.0, unit="JPY"), mention("date", iso="2025")], gold).right == 2


def test_a_figure_said_once_answers_one_gold_figure():
    gold = [{"line": 2, "text": "5月", "kind": "date", "iso": "2024-05"},
            {"line": 18, "text": "5月", "kind": "date", "iso": "2024-05"}]  # fmt: skip
    assert figure_accuracy([mention("date", iso="2024-05")], gold).right == 1
    assert figure_accuracy([mention("date", iso="2024-05")] * 2, gold).right == 2


def test_figure_matching_is_a_maximum_matching():
    """The loose gold figure must not take the only prediction the strict one accepts."""
    gold = [{"text": "4", "kind": "count", "value": 4}, {"text": "4本", "kind": "count", "value": 4, "unit": "本"}]
    predicted = [mention("count", 4.0, unit="本"), mention("count", 4.0, unit="件")]
    assert figure_accuracy(predicted, gold).right == 2


def test_bare_figure_dicts_are_read_too():
    assert figure_accuracy([{"kind": "date", "iso": "2024"}], [{"kind": "date", "iso": "2024"}]).right == 1


def test_merge_joins_overlaps_and_drops_empty_intervals():
    assert merge([(5, 6), (0, 2), (1, 3), (7, 7)]) == [(0, 3), (5, 6)]


def test_coverage_is_share_of_diarized_seconds_inside_turns():
    spans = [{"start": 0.0, "end": 4.0, "speaker": "A"}, {"start": 2.0, "end": 6.0, "speaker": "B"},
             {"start": 8.0, "end": 10.0, "speaker": "A"}]  # fmt: skip
    turns = [{"start": 1.0, "end": 3.0}, {"start": 2.5, "end": 5.0}, {"start": 9.0, "end": 12.0},
             {"start": None, "end": None}]  # fmt: skip
    # diarized: [0, 6] + [8, 10] = 8 s; covered: [1, 5] = 4 s and [9, 10] = 1 s
    assert speech_coverage(spans, turns) == pytest.approx(5 / 8)
    assert speech_coverage([], turns) is None


def test_rttm_and_der():
    reference = read_rttm("SPEAKER ep 1 0.000 4.000 <NA> <NA> yamada <NA> <NA>\n"
                          "SPEAKER ep 1 4.000 4.000 <NA> <NA> sato <NA> <NA>\n")  # fmt: skip
    assert reference == [(0.0, 4.0, "yamada"), (4.0, 8.0, "sato")]
    assert der(reference, [(0.0, 4.0, "S0"), (4.0, 8.0, "S1")], 8.0) == pytest.approx(0.0)
    # sato missed after 6 s. The 0.25 s collar takes 0.125 s off each side of the reference boundaries (0, 4
    # and 8 s): 7.5 s scored, of which 6.0-7.875 s (1.875 s) missed
    assert der(reference, [(0.0, 4.0, "S0"), (4.0, 5.0, "S1")], 8.0) == pytest.approx(2.875 / 7.5)
    # a speaker change 0.1 s late is inside the collar
    assert der(reference, [(0.0, 4.1, "S0"), (4.1, 8.0, "S1")], 8.0) == pytest.approx(0.0)


def test_correction_right_when_corrected_in_reference_and_original_not():
    reference = "さくら市の和菓子店、みどり屋では、いちご大福を売っています。"
    assert correction_is_right({"original": "緑屋", "corrected": "みどり屋"}, reference)
    # the original inside the corrected text's occurrences does not count as said
    assert correction_is_right({"original": "みどり", "corrected": "みどり屋"}, reference)
    assert not correction_is_right({"original": "みどり屋", "corrected": "緑屋"}, reference)  # made it worse
    assert not correction_is_right({"original": "大福", "corrected": "大服"}, reference)
    assert not correction_is_right({"original": "さくら市", "corrected": "桜市"}, reference)
    assert not correction_is_right({"original": "緑屋", "corrected": "翠屋"}, reference)  # neither is said
    # no letter changed
    assert not correction_is_right({"original": "みどり屋。", "corrected": "みどり屋"}, reference)
    assert correction_is_right({"original": "みどり 屋", "corrected": "みどり屋"}, reference)  # a join, in the reference
    assert not correction_is_right({"original": "さく ら", "corrected": "さくら"}, "さ くら")


def test_check_corrections_counts_and_lists_the_wrong_ones():
    reference = "山田太郎です。"
    corrections = [
        {"original": "山田太朗", "corrected": "山田太郎", "source": "profile", "score": 1.0},
        {"original": "です", "corrected": "でした", "source": "national", "score": 0.5},
    ]
    score = check_corrections(corrections, reference)
    assert (score.count, score.right) == (2, 1)
    assert [c["corrected"] for c in score.wrong] == ["でした"]
    assert check_corrections([], reference).count == 0


def test_recoveries_count_and_seconds():
    recoveries = [{"start": 1.0, "end": 2.5, "kept": True}, {"start": 10.0, "end": 10.5, "kept": False}]
    score = recovery_totals(recoveries)
    assert (score.count, score.seconds, score.kept) == (2, pytest.approx(2.0), 1)


def test_ceiling_counts_missed_names_whose_reading_is_in_the_text(tmp_path, capsys):
    """A missed name whose reading the text holds (輪島市 as わじまし) is reachable, one that is not there is not, and
    without notes a person's name is never reachable (its kanji cannot be heard)."""
    import json

    from bench.accuracy_ceiling import main

    gold = {"entities": [{"name": "輪島市", "types": ["LOCATION"]}, {"name": "加賀市", "types": ["LOCATION"]},
                         {"name": "山田花子", "types": ["PERSON"]}, {"name": "気象庁", "types": ["ORG"]}]}  # fmt: skip
    (tmp_path / "show.yaml").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    run = {"label": "no notes", "text": "気象庁によるとわじましで山田花子さんが", "entities": {
        "found": 1, "total": 4, "missed": ["輪島市", "加賀市", "山田花子"]}}
    results = {"shows": [{"stem": "show", "runs": [run, {**run, "label": "notes"}]}]}
    (tmp_path / "r.json").write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    assert main([str(tmp_path / "r.json"), "--gold-dir", str(tmp_path)]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert rows == ["| show | no notes | 1/4 | 1 | 1 | 1 | 50% |", "| show | notes | 1/4 | 2 | - | 1 | 75% |"]
