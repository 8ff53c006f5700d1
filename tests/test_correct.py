"""Reading-aware correction: what ASR misspells is put right, text that is right is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT, load_config, resolve_path
from pipeline.lib.correct import find_edits
from pipeline.lib.lexicon import Lexicon, load_name_list, named_terms, names_in_text, phonetic_key
from pipeline.records import Segment, Word
from pipeline.stages.correct import apply_edits
from pipeline.text.reader import Reader
from pipeline.text.sentences import time_of

from conftest import ARTICLE

CONFIG = load_config()
OPTIONS = CONFIG.correct
NOTES = "ゆうがたクロス。ゲストは第一生命経済研究所の長谷川由紀さんと城西大学の塚越健司さん。保険証の返納、春闘について。"


@pytest.fixture(scope="module")
def reader():
    return Reader()


@pytest.fixture(scope="module")
def national():
    return [t for path in CONFIG.entities.name_lists for t in load_name_list(resolve_path(path))]


def lexicon(reader, national, notes: str = "") -> Lexicon:
    return Lexicon([*named_terms(names_in_text(notes, reader, True), "context", reader), *national])


def corrected(text: str, lex: Lexicon, reader) -> list[tuple[str, str]]:
    return [(e.original, e.term.surface) for e in find_edits(text, None, lex, reader, OPTIONS)]


def test_phonetic_keys_ignore_long_vowels_and_same_sound_kana():
    assert phonetic_key("フジツウ") == phonetic_key("フジツ") and phonetic_key("オオヅ") == phonetic_key("オズ")
    assert phonetic_key("ハセガワ") != phonetic_key("ハセガ")


@pytest.mark.parametrize("text, fixed", [
    ("高生労働省によりますと", [("高生労働省", "厚生労働省")]),  # kanji read one by one: 高 コウ, 生 セイ
    ("福岡県むなかたしでは相談が", [("むなかたし", "宗像市")]),  # a place written in kana
    ("石川県のわじましで被害", [("わじまし", "輪島市")]),
    ("いばらき県つくば市にある", [("いばらき県", "茨城県")]),
    ("工場は藤ツの", [("藤ツ", "富士通")]),  # フジツ = フジツウ without the long vowel
    ("外食のスカイラーク ホールディングスなど", [("スカイラーク ホールディングス", "すかいらーくホールディングス")]),
])
def test_national_names_are_corrected_by_reading(reader, national, text, fixed):
    assert corrected(text, lexicon(reader, national), reader) == fixed


def test_the_episode_notes_correct_people_and_terms(reader, national):
    lex = lexicon(reader, national, NOTES)
    assert corrected("ハセガはです。宜しくお願いします", lex, reader) == [("ハセガは", "長谷川")]  # は said ワ
    assert corrected("スカコシさんに聞きます", lex, reader) == [("スカコシ", "塚越")]  # one mora off, then さん
    assert corrected("保健省の変能が増えた", lex, reader) == [("保健省", "保険証"), ("変能", "返納")]
    assert corrected("スカコシに聞きます", lex, reader) == []  # one mora off without an honorific: too weak
    assert corrected("保健省の変能が増えた", lexicon(reader, national), reader) == []  # no notes: not names


def test_a_surname_written_right_is_completed_to_the_full_name_of_the_notes_but_never_overwritten(reader, national):
    lex = lexicon(reader, national, "パーソナリティ：五十嵐健一、塚越あかり")
    assert corrected("五十嵐県一です", lex, reader) == [("五十嵐県一", "五十嵐健一")]  # 五十嵐 kept, 県一 read ケンイチ
    assert corrected("五十嵐さんと塚越さん", lex, reader) == []


def test_a_common_word_of_the_notes_does_not_shield_a_misspelt_name_around_it(reader, national):
    lex = lexicon(reader, national, "今日の特集は経済と半導体。")  # 経済 is a term of the notes
    assert corrected("工場について経済産業賞は", lex, reader) == [("経済産業賞", "経済産業省")]


def test_a_municipality_after_its_prefecture_is_matched_among_that_prefectures_only(reader, national):
    """After 石川県 only Ishikawa's 19 municipalities are compared: a reading one mora off is enough (鈴木市 スズキシ for
    珠洲市 スズシ), a list joined by や keeps the prefecture, and the record names the prefecture it rests on."""
    lex = lexicon(reader, national)
    text = "石川県の和島市や鈴木市で被害"
    edits = find_edits(text, [True] * len(text), lex, reader, OPTIONS)
    assert [(e.original, e.term.surface, e.distance, e.after) for e in edits] == [
        ("和島市", "輪島市", 0, "石川県"), ("鈴木市", "珠洲市", 1, "石川県")]  # 鈴木 is also a listed company
    assert corrected("福岡県 村方市では", lex, reader) == [("村方市", "宗像市")]
    assert corrected("和島市や鈴木市で", lex, reader) == []  # no prefecture: 和島 is a word, 鈴木市 a name
    assert corrected("福岡県の北九州市と福岡市で", lex, reader) == []  # right names, whichever prefecture
    assert corrected("大阪府の市町村と東京都の都市", lex, reader) == []  # no name before the suffix; a word


def test_homophones_and_names_as_written_are_left_alone(reader, national):
    lex = Lexicon([*named_terms([("規制", "term"), ("中村屋", "company")], "context", reader), *national])
    assert corrected("帰省ラッシュと規制緩和", lex, reader) == []  # one dictionary word is a word, not a mishearing
    assert corrected("中村さんと厚生労働省と総務省", lex, reader) == []
    assert corrected("長谷川さん", lex, reader) == []  # never to the kana company はせがわ


def _texts() -> list[Path]:
    found = [*PROJECT_ROOT.glob("samples/**/*.txt"), *PROJECT_ROOT.glob("tests/data/**/*.txt"),
             *PROJECT_ROOT.glob("bench/**/reference/*.txt")]  # fmt: skip
    return [*found, ARTICLE] if ARTICLE.exists() else found


def test_no_edit_on_any_transcript_or_reference_text_in_the_repository(reader, national):
    """Right text stays as it is: every text transcript and every generated show's reference, read with the
    national list and the show's notes (when it has them) and no word probabilities (the strictest case)."""
    edits = []
    for path in _texts():
        notes = PROJECT_ROOT / "bench" / "accuracy" / "notes" / f"{path.stem}.notes.txt"
        lex = lexicon(reader, national, notes.read_text(encoding="utf-8") if notes.exists() else "")
        for line in path.read_text(encoding="utf-8").splitlines():
            edits += [(path.name, e.original, e.term.surface) for e in find_edits(line, None, lex, reader, OPTIONS)]
    assert len(_texts()) >= 12 and edits == []


def test_a_correction_keeps_the_original_the_offsets_and_the_words_times(reader, national):
    text = "今日は高生労働省とむなかたしの話"
    words = [Word(start=float(i), end=i + 0.5, text=ch, probability=0.3) for i, ch in enumerate(text)]
    segment = Segment(id=3, start=0.0, end=len(text) / 1.0, text=text, speaker=None, line=None, words=words)
    edits = find_edits(text, [True] * len(text), lexicon(reader, national), reader, OPTIONS)
    fixed, records = apply_edits(segment, edits)
    assert fixed.text == "今日は厚生労働省と宗像市の話"
    assert "".join(w.text for w in fixed.words) == fixed.text
    assert [(c.original, c.corrected, fixed.text[c.span[0]:c.span[1]], c.time) for c in records] == [
        ("高生労働省", "厚生労働省", "厚生労働省", [3.0, 7.5]), ("むなかたし", "宗像市", "宗像市", [9.0, 13.5])]
    assert records[0].segment == 3 and records[1].reading == "ムナカタシ" and records[1].source == "national"

    from pipeline.records import Turn
    turn = Turn(id=0, speaker="S", start=0.0, end=16.0, text=fixed.text, section=None, segments=[3], words=fixed.words)
    assert time_of(turn, 9, 12) == [9.0, 13.5]  # an entity in the corrected text keeps its audio time


def test_a_kana_run_with_an_adjective_is_words_not_a_name(reader, national):
    # も|おかしい reads モオカシイ, the key of 真岡市 (モオカシ): an adjective says these are words
    assert find_edits("少しでもおかしいと思ったら", None, lexicon(reader, national), reader, OPTIONS) == []


def test_a_polite_prefix_and_a_word_is_a_word(reader, national):
    # お|さいふ (お財布) reads オサイフ, one mora off 大阪府 (オオサカフ, a long name): an ordinary word in kana
    assert find_edits("おさいふ相談室です", None, lexicon(reader, national), reader, OPTIONS) == []
    lex = lexicon(reader, national, "乙部さんです")  # a name of the episode's notes, in kana (お|とべ: a verb)
    assert [e.term.surface for e in find_edits("司会のおとべです。", None, lex, reader, OPTIONS)] == ["乙部"]
    lex = lexicon(reader, national, "番組へのお便りをお待ちしています")  # the programme's own term, misspelt in kanji
    assert [e.term.surface for e in find_edits("お頼りをどうぞ", None, lex, reader, OPTIONS)] == ["お便り"]
