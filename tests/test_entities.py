"""Entities: the repair and merge rules with plain data, then GiNZA on two gold transcripts through the runner."""

from __future__ import annotations

import shutil

import pytest
import yaml

from pipeline.config import PROJECT_ROOT, load_config, load_gazetteer, resolve_path
from pipeline.lib.entities import (
    Mention, Pattern, consistent_labels, extend_organisations, hashtags, is_noise, merge, organisation_in_title,
    patterns_for, propagate, resolve_overlaps, split_prefecture, stands_alone, trim,
)  # fmt: skip
from pipeline.config import GazetteerEntry
from pipeline.lib.metrics import GoldEntity, Span, score_entities
from pipeline.plan import run_pipeline
from pipeline.text.sentences import sentences
from tests.conftest import ARTICLE

CONFIG = load_config()
OPTIONS = CONFIG.entities
GOLD = PROJECT_ROOT / "tests" / "gold"
PRICES = PROJECT_ROOT / "tests" / "data" / "texts" / "prices_2024-03-13.txt"


def mention(text, start=0, label="Company", source="ner", index=0, canonical=None):
    return Mention(index, start, start + len(text), text, label, source, canonical)


# ---------------------------------------------------------------------------------------------- rules


def test_sentences_split_per_line_and_keep_offsets():
    text = "最初です。「次です。」\n二行目です"
    pieces = sentences(text, CONFIG.entities.max_sentence_chars)
    assert [s for _, s in pieces] == ["最初です。", "「次です。」", "二行目です"]
    assert all(text[o : o + len(s)] == s for o, s in pieces)


def test_trim_brackets_quotes_and_honorific():
    assert trim(mention("ONE MORNING」", 3), ("さん",)).text == "ONE MORNING"
    m = trim(mention("「富士通Japan」", 10), ("さん",))
    assert (m.text, m.start, m.end) == ("富士通Japan", 11, 19)
    assert trim(mention("塚越さん", label="Person"), ("さん",)).text == "塚越"
    assert trim(mention("「」"), ("さん",)) is None


def test_prefecture_is_split_from_its_city():
    city, = [mention("宗像市", label="City")]
    assert split_prefecture(city, {"City", "Province"}) == [city]
    parts = split_prefecture(mention("福岡県宗像市", 5, label="City"), {"City", "Province"})
    assert [(p.text, p.label, p.start, p.end) for p in parts] == [("福岡県", "Province", 5, 8), ("宗像市", "City", 8, 11)]
    tokyo = split_prefecture(mention("東京都港区", label="City"), {"City"})
    assert [p.text for p in tokyo] == ["東京都", "港区"]
    assert [p.text for p in split_prefecture(mention("茨城県つくば市", label="City"), {"City"})] == ["茨城県", "つくば市"]
    assert split_prefecture(mention("福岡県宗像市", label="Company"), {"City"})[0].text == "福岡県宗像市"


def test_hashtags_are_their_own_mentions():
    found = hashtags(["Twitterでは「#マイナンバーカード返納運動」をつけて", "＃値上げ反対 と"])
    assert [(m.text, m.label, m.text_index) for m in found] == [
        ("#マイナンバーカード返納運動", "Hashtag", 0), ("＃値上げ反対", "Hashtag", 1),
    ]  # fmt: skip


def test_stands_alone_checks_the_script_of_the_neighbours():
    assert not stands_alone("マイナンバーカード", 0, 3)  # マイナ inside a longer katakana word
    assert not stands_alone("国民が", 0, 1)
    assert stands_alone("富士通の子会社", 0, 3)
    assert stands_alone("TOKYO FMの番組", 0, 8)
    assert not stands_alone("JOYFUL", 0, 3)


def test_organisation_inside_an_occupation():
    suffixes = OPTIONS.org_suffixes
    found = organisation_in_title(mention("城西大学 助教", 40, label="Position_Vocation"), suffixes)
    assert (found.text, found.label, found.start, found.end) == ("城西大学", "School", 40, 44)
    assert organisation_in_title(mention("日本銀行総裁", label="Position_Vocation"), suffixes).text == "日本銀行"
    assert organisation_in_title(mention("フリーアナウンサー", label="Position_Vocation"), suffixes) is None


def test_a_name_extending_an_organisation_is_an_organisation():
    out = extend_organisations([mention("富士通"), mention("富士通Japan", 10, label="Music")], OPTIONS.coarse_types)
    assert [m.label for m in out] == ["Company", "Company"]
    untouched = extend_organisations([mention("ONE MORNING", label="Broadcast_Program")], OPTIONS.coarse_types)
    assert untouched[0].label == "Broadcast_Program"


def test_one_label_per_surface_and_propagation_to_other_occurrences():
    texts = ["富士通は点検を", "富士通の対応は", "富士通Japanが"]
    found = [mention("富士通"), mention("富士通", index=1, label="Person"), mention("富士通", index=1, label="Company")]
    labels = consistent_labels(found)
    assert labels["富士通"] == "Company"  # two votes against one
    extra = propagate(texts, [mention("富士通")], labels, min_chars=2)
    assert [(m.text_index, m.start, m.source) for m in extra] == [(0, 0, "propagated"), (1, 0, "propagated"),
                                                                  (2, 0, "propagated")]  # fmt: skip
    # ... and where the NER found the longer name, the longer name stays
    kept = resolve_overlaps([*extra, mention("富士通Japan", index=2)])
    assert [(m.text, m.text_index) for m in kept] == [("富士通", 0), ("富士通", 1), ("富士通Japan", 2)]
    given = consistent_labels([mention("JOY", label="Person", source="text"), mention("JOY", label="Product_Other")])
    assert given["JOY"] == "Person"  # a name the text gives wins over the model


def test_noise_from_the_model_is_dropped_but_given_names_are_not():
    assert is_noise(mention("もず", label="Person")) and is_noise(mention("国", label="Country"))
    assert is_noise(mention("利上げ", label="Corporation_Other"))
    assert not is_noise(mention("宮崎あおい", label="Person")) and not is_noise(mention("富士通"))
    assert not is_noise(mention("しまむら", source="gazetteer"))


def test_overlaps_go_to_the_given_name_then_the_longer_span():
    out = resolve_overlaps([
        mention("JOYが", label="Product_Other"), mention("JOY", label="Person", source="text"),
        mention("厚生労働省", 10), mention("厚生労働", 10),
    ])  # fmt: skip
    assert [(m.text, m.source) for m in out] == [("JOY", "text"), ("厚生労働省", "ner")]


def test_mentions_merge_into_one_entity_per_person():
    mentions = [
        mention("吉田明世", label="Person", source="gazetteer", canonical="吉田明世"),
        mention("塚越", 10, label="Person"),
        mention("吉田", 20, label="Person"),
        mention("日銀", 30, source="gazetteer", canonical="日本銀行"),
        mention("日本銀行", 40, source="gazetteer", canonical="日本銀行"),
        mention("富士通", 50), mention("富士通Japan", 60),
    ]  # fmt: skip
    clusters = merge(mentions, OPTIONS.coarse_types, people=["塚越健司"])
    names = {c.name: sorted({m.text for m in c.mentions}) for c in clusters}
    assert names == {
        "吉田明世": ["吉田", "吉田明世"], "塚越健司": ["塚越"], "日本銀行": ["日本銀行", "日銀"],
        "富士通": ["富士通"], "富士通Japan": ["富士通Japan"],  # a subsidiary is not its parent
    }  # fmt: skip
    two_tanakas = merge([mention("田中", label="Person")], OPTIONS.coarse_types, people=["田中一郎", "田中花子"])
    assert two_tanakas[0].name == "田中"  # ambiguous: left as said


def test_gazetteer_aliases_become_patterns_for_the_name():
    patterns = patterns_for([GazetteerEntry(name="共同通信", label="Company", aliases=["共同通信社"])], [("塚越", "塚越健司")])
    assert patterns == [
        Pattern("共同通信", "Company", "共同通信", "gazetteer"), Pattern("共同通信社", "Company", "共同通信", "gazetteer"),
        Pattern("塚越", "Person", "塚越健司", "text"),
    ]  # fmt: skip


def test_scoring_counts_optional_surfaces_neither_way():
    texts = ["富士通Japanと富士通と返納運動"]
    gold = [GoldEntity("富士通", ["ORG"], ["富士通"]), GoldEntity("富士通Japan", ["ORG"], ["富士通Japan"])]
    predicted = [Span(0, 0, 3, "ORG"), Span(0, 9, 12, "ORG"), Span(0, 13, 17, "OTHER")]
    score = score_entities(texts, predicted, gold, optional=["返納運動"])
    # 富士通 inside 富士通Japan is not a gold mention: one right, one wrong, one missed, 返納運動 not scored
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 1, 1)


# ---------------------------------------------------------------------------------------------- GiNZA on gold texts


def run_one(tmp_path, source, name):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(source, folder / name)
    (episode,) = run_pipeline([folder / name], tmp_path / "out", CONFIG)
    assert episode.status == "ok", episode.error
    return episode


def score_episode(episode, gold_file):
    gold = yaml.safe_load((GOLD / gold_file).read_text(encoding="utf-8"))
    texts = [t.text for t in episode.turns]
    predicted = [Span(m.turn, m.span[0], m.span[1], e.type) for e in episode.entities for m in e.mentions]
    entities = [GoldEntity(**g) for g in gold["entities"]]
    score = score_entities(texts, predicted, entities, gold["optional"])
    print(f"\n{gold_file}: precision {score.precision:.3f} recall {score.recall:.3f} "
          f"(tp {score.true_positives}, fp {score.false_positives}, fn {score.false_negatives})\n"
          f"  missed: {score.misses}\n  extra: {score.extras}")  # fmt: skip
    return score, entities


def check_mentions(episode):
    """Every mention points at its text in its turn and carries the turn's speaker."""
    turns = {t.id: t for t in episode.turns}
    for entity in episode.entities:
        for m in entity.mentions:
            assert turns[m.turn].text[m.span[0] : m.span[1]] == m.text
            assert m.speaker == turns[m.turn].speaker


@pytest.mark.model
def test_sample_article_gold(tmp_path):
    if not ARTICLE.is_file():
        pytest.skip("../shared/samples is not present on this machine")
    episode = run_one(tmp_path, ARTICLE, ARTICLE.name)
    score, _ = score_episode(episode, "entities_onemorning_2023-07-05.yaml")
    assert score.recall >= 0.95 and score.precision >= 0.85
    check_mentions(episode)
    by_name = {e.name: e for e in episode.entities}
    # one entity per person, short and full forms merged, each mention with its speaker
    assert set(by_name["塚越健司"].aliases) == {"塚越"} and by_name["塚越健司"].type == "PERSON"
    assert {m.speaker for m in by_name["塚越健司"].mentions} == {"narration", "吉田"}
    assert by_name["富士通Japan"].type == "ORG" and by_name["富士通"].type == "ORG"
    assert by_name["#マイナンバーカード返納運動"].type == "HASHTAG"
    assert {by_name["福岡県"].type, by_name["宗像市"].type} == {"LOCATION"}
    assert "Position_Vocation" not in {e.label for e in episode.entities}


@pytest.mark.model
def test_second_transcript_without_gazetteer_entries(tmp_path):
    gold = yaml.safe_load((GOLD / "entities_prices_2024-03-13.yaml").read_text(encoding="utf-8"))
    surfaces = {s for g in gold["entities"] for s in g["surfaces"]}
    listed = {s for path in OPTIONS.gazetteers for e in load_gazetteer(resolve_path(path)) for s in (e.name, *e.aliases)}
    assert not surfaces & listed  # the score below is GiNZA and the text's own names, not a word list
    episode = run_one(tmp_path, PRICES, PRICES.name)
    assert episode.show.profile is None
    score, _ = score_episode(episode, "entities_prices_2024-03-13.yaml")
    check_mentions(episode)
    # Measured 2026-11-26 (see the closing note); the bounds leave room for a changed GiNZA build only.
    assert score.recall >= 0.8 and score.precision >= 0.8
    by_name = {e.name: e for e in episode.entities}
    assert by_name["北九州市"].type == "LOCATION" and by_name["福岡県"].type == "LOCATION"


def test_text_in_another_language_gets_a_note_not_japanese_entities(tmp_path):
    source = tmp_path / "english_2024-03-13.txt"
    source.write_text("Host: Good morning. Today we talk about the Bank of Japan with Dr Smith.\n", encoding="utf-8")
    episode = run_one(tmp_path, source, source.name)
    assert episode.entities == []
    assert any(n.startswith("entities: not run") for n in episode.notes)


def test_national_names_are_found_where_they_stand_as_whole_names_and_nothing_else_covers_them():
    from pipeline.lib.entities import Mention
    from pipeline.stages.entities import listed_mentions

    names = {"富士通": "Company", "宗像市": "City", "イオン": "Company", "自民党": "Political_Party"}
    texts = ["富士通のシステムと富士通Japanの窓口", "福岡県宗像市では、ライオンとイオンに", "自民党本部で"]
    found = [Mention(1, 0, 3, "福岡県", "Province", "ner", None)]
    got = [(m.text_index, m.text, m.start, m.label) for m in listed_mentions(texts, names, found)]
    assert got == [(0, "富士通", 0, "Company"), (1, "宗像市", 3, "City"), (1, "イオン", 14, "Company")]
    covered = [Mention(0, 0, 9, "富士通のシステム", "Product_Other", "ner", None)]
    assert [m.start for m in listed_mentions(texts[:1], names, covered)] == []  # what the model found stays
    inside = [Mention(0, 0, 3, "NTT", "Company", "ner", None)]  # a shorter name inside a listed one gives way
    assert [m.text for m in listed_mentions(["NTTデータの"], {"NTTデータ": "Company"}, inside)] == ["NTTデータ"]


def test_listed_institutions_that_are_dictionary_words_are_kept_but_companies_named_by_a_word_are_not():
    """Sudachi holds 気象庁 and 東日本大震災 as ordinary words: they are names all the same. A listed company named by
    an ordinary word (いつも, イオン: ion) is a name only in context, so it is not looked for as written."""
    from types import SimpleNamespace

    from pipeline.engine.stage import ModelStore
    from pipeline.stages.entities import EntitiesStage

    names = EntitiesStage(OPTIONS, CONFIG.speakers).listed_names(SimpleNamespace(models=ModelStore()))
    assert {"気象庁", "厚生労働省", "東日本大震災", "富士通"} <= set(names)
    assert names["気象庁"] == "Government" and names["東日本大震災"] == "Natural_Disaster"
    assert not {"いつも", "イオン"} & set(names)


def test_a_person_said_as_asr_spelt_it_merges_with_the_named_speaker_who_sounds_the_same():
    """仲村みさき and 仲村 (ASR) are the guest 中村美咲 once a speaker carries that name; a name that sounds like no
    speaker, or like two, stays as said."""
    keys = {"中村美咲": {"ナカムラミサキ", "ナカムラ"}, "仲村みさき": {"ナカムラミサキ"}, "仲村": {"ナカムラ"},
            "中村一郎": {"ナカムライチロ", "ナカムラ"}, "山本": {"ヤマモト"}}  # fmt: skip
    mentions = [mention("仲村みさき", label="Person"), mention("仲村", 10, label="Person"), mention("山本", 20, label="Person")]
    clusters = merge(mentions, OPTIONS.coarse_types, people=["中村美咲"], sounds=lambda n: keys.get(n, set()))
    assert {c.name: sorted(m.text for m in c.mentions) for c in clusters} == {
        "中村美咲": ["仲村", "仲村みさき"], "山本": ["山本"]}
    introduced = [mention("中村", label="Person", source="text", canonical="中村")]  # 中村さん found as a name itself
    assert merge(introduced, OPTIONS.coarse_types, people=["中村美咲"], sounds=lambda n: keys.get(n, set()))[0].name == "中村美咲"
    assert merge(introduced, OPTIONS.coarse_types, people=["中村美咲"])[0].name == "中村"  # speakers.speech_names off
    two = merge(mentions[1:2], OPTIONS.coarse_types, people=["中村美咲", "中村一郎"], sounds=lambda n: keys.get(n, set()))
    assert two[0].name == "仲村"
