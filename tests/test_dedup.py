"""Deduplication: pure functions on plain segments, and the sample article from ../shared."""

import re

import pytest
import yaml

from pipeline.config import load_config
from pipeline.lib.dedup import Document, deduplicate_batch, normalise, split_units, within_episode
from pipeline.records import Segment, Word
from pipeline.text.transcripts import parse_plain
from tests.conftest import ARTICLE, PROJECT_ROOT

OPTIONS = load_config().dedup


def episode_from_text(tmp_path, text, name="show_2024-01-01.txt", air_date=None):
    return Document(id=name, segments=parse_plain(text), air_date=air_date)


def dedup_one(episode, options=OPTIONS):
    kept, report = deduplicate_batch([episode], options)[episode.id]
    return kept, report


def joined(segments):
    return "\n".join(s.text for s in segments)


def test_normalise_ignores_width_punctuation_space_and_fillers():
    assert normalise("えー、運賃は ２００円 です。", ("えー",)) == normalise("運賃は200円です", ("えー",))


def test_asr_text_without_punctuation_splits_at_pauses_not_inside_english():
    segments = [Segment(id=0, start=0.0, end=5.0, text="おはようございます ONE MORNING です 今日は晴れ", speaker=None, line=None, words=[])]
    assert [u.text for u in split_units(segments, ())] == ["おはようございます", "ONE MORNING", "です", "今日は晴れ"]


def test_sentence_repeated_20_times_and_word_looped_50_times_collapse_to_one(tmp_path):
    sentence = "本日の放送はここまでです。"
    text = "番組の最初のあいさつです。\n" + sentence * 20 + "\n" + "ありがとう" * 50 + "\n最後の一文です。"
    kept, report = dedup_one(episode_from_text(tmp_path, text))
    out = joined(kept)
    assert out.count(sentence) == 1
    assert out.count("ありがとう") == 1
    assert "番組の最初のあいさつです。" in out and "最後の一文です。" in out
    loops = [r for r in report.removals if r.kind == "loop"]
    assert sum(r.text.count(sentence) for r in loops) == 19
    assert sum(r.text.count("ありがとう") for r in loops) == 49
    assert all(r.dup_of is not None and r.reason for r in loops)
    assert report.removed_chars["loop"] == 19 * len(sentence) + 49 * len("ありがとう")


def test_loop_across_consecutive_asr_segments_keeps_timestamps_of_what_stays(tmp_path):
    def seg(i, text, start):
        words = [Word(start=start + k * 0.1, end=start + (k + 1) * 0.1, text=ch, probability=0.9) for k, ch in enumerate(text)]
        return Segment(id=i, start=start, end=start + len(text) * 0.1, text=text, speaker=None, line=None, words=words)

    segments = [seg(0, "ニュースをお伝えします", 0.0)] + [seg(i, "ご視聴ありがとうございました", 2.0 + i * 2) for i in range(1, 7)]
    episode = episode_from_text(tmp_path, "x")
    episode.segments = segments
    kept, report = dedup_one(episode)
    assert [s.id for s in kept] == [0, 1]
    assert kept[1].start == 4.0 and kept[1].words[0].start == 4.0
    loops = [r for r in report.removals if r.kind == "loop"]
    assert len(loops) == 5 and loops[0].time == [pytest.approx(6.0), pytest.approx(7.4)]
    assert loops[0].dup_of.time == [pytest.approx(4.0), pytest.approx(5.4)]


def test_short_conversational_repeats_are_kept(tmp_path):
    text = "山田:なるほど。\n佐藤:なるほど。\n山田:ありがとうございました。\n中村:ありがとうございました。"
    kept, report = dedup_one(episode_from_text(tmp_path, text))
    assert report.removals == [] and len(kept) == 4


def test_no_false_removal_for_sentences_that_differ_in_figures(tmp_path):
    text = (
        "4月の消費者物価指数は前年同月比で2.8%上昇し、食料品の値上がりが目立ちました。\n"
        "5月の消費者物価指数は前年同月比で3.2%上昇し、食料品の値上がりが目立ちました。\n"
        "4月の消費者物価指数は前年同月比で2.8%上昇し、食料品の値上がりが目立ちました。"
    )
    kept, report = dedup_one(episode_from_text(tmp_path, text))
    out = joined(kept)
    assert "3.2%" in out and out.count("2.8%") == 1
    assert [r.kind for r in report.removals] == ["repeat"]


def test_near_duplicate_rewrapped_copy_is_found(tmp_path):
    first = "駅前の再開発計画について、市は来年度から工事を始める方針を明らかにしました。住民説明会は来月開かれます。"
    # the copy is re-wrapped across lines and has a filler and full-width punctuation changes
    copy = "駅前の再開発計画について、市は来年度から\n工事を始める方針を明らかにしました。\nえー、住民説明会は来月開かれます！"
    kept, report = dedup_one(episode_from_text(tmp_path, first + "\n間の話題です。\n" + copy))
    assert joined(kept).count("住民説明会") == 1
    assert "間の話題です。" in joined(kept)
    assert {r.kind for r in report.removals} == {"repeat"}


def test_boilerplate_is_removed_and_kept_as_credits(tmp_path):
    text = (
        "本文の一文目です。\n"
        "----------------------------------------------------\n"
        "▶▶この日の放送内容をチェック!\n"
        "<番組概要>\n"
        "番組名:あさラジ\n"
        "パーソナリティ:山田太郎、佐藤花子\n"
        "番組Webサイト:https://example.com/asaradio/\n"
    )
    kept, report = dedup_one(episode_from_text(tmp_path, text))
    assert joined(kept) == "本文の一文目です。"
    assert report.credits.show_name == "あさラジ"
    assert report.credits.personalities == ["山田太郎", "佐藤花子"]
    assert report.credits.website == "https://example.com/asaradio/"
    assert {r.kind for r in report.removals} == {"boilerplate"}


def test_spans_point_at_the_removed_text_and_the_kept_copy(tmp_path):
    text = "最初の長めの文がここにあって、同じ文が後でもう一度出てきます。\n別の話です。\n最初の長めの文がここにあって、同じ文が後でもう一度出てきます。"
    episode = episode_from_text(tmp_path, text)
    original = joined(episode.segments)
    _, report = dedup_one(episode)
    (removal,) = report.removals
    assert original[removal.span[0] : removal.span[1]] == removal.text
    kept_copy = original[removal.dup_of.span[0] : removal.dup_of.span[1]]
    assert normalise(kept_copy, ()) == normalise(removal.text, ()) and removal.dup_of.span[1] <= removal.span[0]
    assert removal.dup_of.episode_id == episode.id


def _lines(spec):
    out = []
    for item in spec:
        a, _, b = str(item).partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def test_sample_article(tmp_path, article_text):
    gold = yaml.safe_load((PROJECT_ROOT / "tests/gold/onemorning_2023-07-05_article.lines.yaml").read_text())
    lines = article_text.splitlines()
    episode = episode_from_text(tmp_path, article_text, name=ARTICLE.name)
    kept, report = dedup_one(episode)
    out = joined(kept)
    # every sentence of the first copy survives exactly once
    for number in _lines(gold["content"]):
        line = re.sub(r"^[^:：\s]{1,16}[:：]", "", lines[number - 1])
        for sentence in re.findall(r"[^。！？!?]+[。！？!?]*", line):
            assert out.count(sentence.strip()) == 1, (number, sentence)
    # removals by line
    removed_lines = {kind: {s.line for s in episode.segments for r in report.removals if r.segment == s.id and r.kind == kind}
                     for kind in ("boilerplate", "repeat")}  # fmt: skip
    assert removed_lines["boilerplate"] == set(_lines(gold["boilerplate"]))
    assert removed_lines["repeat"] == set(_lines(gold["repeat"]))
    # the record reports the duplicate share: about half of the line characters
    assert 0.45 <= report.duplicate_share <= 0.55
    assert report.credits.personalities == ["ユージ", "吉田明世"]
    assert report.credits.credits == ["吉田明世", "塚越健司さん", "JOY"]


AD = (
    "ここでお知らせです。みなみ市の春の交通安全運動が、来週の月曜日から始まります。"
    "横断歩道を渡るときは、右と左をよく見て、手を挙げて渡りましょう。"
    "自転車に乗るときは、ヘルメットをかぶることを忘れずに。みなみ市からのお知らせでした。"
)


def _two_episodes(tmp_path):
    a = episode_from_text(tmp_path, f"佐藤:今日は桜の話題です。公園の桜が見ごろを迎えました。\n{AD}\n山田:続いて天気です。",
                          name="asaradio_2024-04-01.txt", air_date="2024-04-01")  # fmt: skip
    b = episode_from_text(tmp_path, f"山田:図書館が新しくなりました。蔵書は約12万冊です。\n佐藤:{AD[:60]}\n{AD[60:]}\n今日はここまで。",
                          name="asaradio_2024-04-08.txt", air_date="2024-04-08")  # fmt: skip
    return a, b


@pytest.mark.parametrize("order", ["aired", "reversed"])
def test_cross_episode_passage_is_marked_in_the_later_airing_whatever_the_order(tmp_path, order):
    a, b = _two_episodes(tmp_path)
    batch = [a, b] if order == "aired" else [b, a]
    results = deduplicate_batch(batch, OPTIONS)
    kept_a, report_a = results[a.id]
    kept_b, report_b = results[b.id]
    assert report_a.removals == []  # the first airing keeps its copy
    assert "交通安全運動" in joined(kept_a)
    cross = [r for r in report_b.removals if r.kind == "cross_episode"]
    assert cross and all(r.dup_of.episode_id == a.id for r in cross)
    assert "交通安全運動" not in joined(kept_b) and "ヘルメット" not in joined(kept_b)
    assert "蔵書は約12万冊です。" in joined(kept_b) and "今日はここまで。" in joined(kept_b)
    original_a = joined(a.segments)
    for r in cross:
        assert normalise(r.text, ()) in normalise(original_a[r.dup_of.span[0] : r.dup_of.span[1]], ())


def test_cross_episode_result_does_not_depend_on_order(tmp_path):
    a, b = _two_episodes(tmp_path)
    forward = deduplicate_batch([a, b], OPTIONS)
    backward = deduplicate_batch([b, a], OPTIONS)
    assert forward == backward


def test_unrelated_episodes_share_nothing(tmp_path):
    a = episode_from_text(tmp_path, "今日は桜の話題です。公園の桜が見ごろを迎え、多くの人が訪れています。", name="x_2024-01-01.txt")
    b = episode_from_text(tmp_path, "新しい図書館の話題です。蔵書は約12万冊で、週末は家族連れでにぎわっています。", name="y_2024-01-02.txt")
    results = deduplicate_batch([a, b], OPTIONS)
    assert all(report.removals == [] for _, report in results.values())
