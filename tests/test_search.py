"""Embedded search: the index of turns.jsonl, checked against a plain substring scan of the same records."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.output import TURNS_FILE
from pipeline.files import read_jsonl
from pipeline.plan import run_pipeline
from pipeline.search.index import Query, SearchError, build_index, fold, match_phrase, search, segment
from tests.conftest import SAMPLE_TEXT

OPTIONS = load_config(overrides=["search.highlight_start=【", "search.highlight_end=】"]).search
EVERYTHING = 10_000  # a limit no test corpus reaches


def turn(episode_id, n, text, speaker="A", speaker_name=None, entities=(), start=None, air_date="2024-03-13",
         show="あさラジ"):  # fmt: skip
    """A record shaped like pipeline.records.TurnRecord."""
    return {
        "schema_version": "1.0", "id": f"{episode_id}#{n}", "episode_id": episode_id, "turn": n,
        "speaker": speaker, "speaker_name": speaker_name, "speaker_role": None, "start": start,
        "end": None if start is None else start + 5.0, "text": text, "section": None, "show": show,
        "station": "サンプルFM", "air_date": air_date, "source": f"{episode_id}.txt",
        "entities": [{"id": f"E{i}", "name": name, "type": "ORG", "text": surface,
                      "span": [text.index(surface), text.index(surface) + len(surface)]}
                     for i, (name, surface) in enumerate(entities)],
        "figures": [],
    }  # fmt: skip


def write_turns(folder, records):
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (folder / TURNS_FILE).write_text(lines, encoding="utf-8")
    return folder


def query(text="", limit=EVERYTHING, **filters):
    return Query(text=text, speaker=filters.get("speaker"), entity=filters.get("entity"), show=filters.get("show"),
                 since=filters.get("since"), until=filters.get("until"), limit=limit)  # fmt: skip


def hits(db, text="", **filters):
    return search(db, query(text, **filters), OPTIONS)


def scan(records, text):
    """The turns holding every term of `text` (width and case folded): what search must return."""
    return {r["id"] for r in records if all(fold(t) in fold(r["text"]) for t in text.split())}


def assert_exact_and_ranked(found, records, text):
    assert {h.record["id"] for h in found} == scan(records, text), text
    scores = [h.score for h in found]
    assert scores == sorted(scores, reverse=True)


HAND_MADE = [
    turn("show_2024-03-11", 0, "マイナンバーカードの自主返納が増えています。", "吉田", "吉田明世",
         [("マイナンバーカード", "マイナンバーカード")]),
    turn("show_2024-03-11", 1, "返納の件数は318件でした。富士通Japanの件も。", "塚越", "塚越健司",
         [("富士通Japan", "富士通Japan")]),
    turn("show_2024-03-11", 2, "件数より、返す人の気持ちです。", "JOY", None),
    turn("show_2024-03-12", 0, "ＪＡＰＡＮの値上げは続く。物価の値上げ、値上げ。", "SPEAKER_00", "山田太郎", start=75.0,
         air_date="2024-03-12"),
    turn("show_2024-03-12", 1, "値上がりと値下げ、日銀も返納。", "SPEAKER_01", "佐藤花子",
         [("日本銀行", "日銀")], start=80.0, air_date="2024-03-12"),
]  # fmt: skip


@pytest.fixture
def hand_index(tmp_path):
    folder = write_turns(tmp_path / "out", HAND_MADE)
    db = tmp_path / "search.sqlite"
    build_index(folder, db)
    return db


@pytest.fixture(scope="module")
def sample_records(tmp_path_factory):
    """The pipeline's turn records of the bundled text sample, and their index."""
    out = tmp_path_factory.mktemp("sample")
    run_pipeline([SAMPLE_TEXT], out, load_config())
    build_index(out, out / "search.sqlite")
    return out, read_jsonl(out / TURNS_FILE)


def test_segment_makes_bigrams_plus_the_last_character_and_folds_width_and_case():
    assert segment("返納運動") == "返納 納運 運動 動"
    assert segment("ＪＡＰＡＮ富士通、ｶﾅ") == "japan 富士 士通 通 カナ ナ"
    assert match_phrase("返納") == '"返納"'
    assert match_phrase("返") == '"返" *'
    assert match_phrase("、。") is None


@pytest.mark.parametrize("text", ["返納", "件数", "値上げ", "japan", "富士通Japan", "318件", "返納 件数", "値上"])
def test_query_returns_exactly_the_turns_holding_it(hand_index, text):
    assert_exact_and_ranked(hits(hand_index, text), HAND_MADE, text)


@pytest.mark.parametrize("char", ["返", "件", "げ", "す", "値"])
def test_single_character_query(hand_index, char):
    assert_exact_and_ranked(hits(hand_index, char), HAND_MADE, char)


def test_more_occurrences_rank_higher(hand_index):
    found = hits(hand_index, "値上げ")
    assert found[0].record["id"] == max(HAND_MADE, key=lambda r: r["text"].count("値上げ"))["id"]


@pytest.mark.model
def test_every_bigram_of_the_sample_finds_exactly_its_turns(sample_records):
    out, records = sample_records
    bigrams = sorted({r["text"][i : i + 2] for r in records for i in range(len(r["text"]) - 1)})
    bigrams = [b for b in bigrams if re.fullmatch(r"[\u3040-\u30ff\u4e00-\u9fff]{2}", b)]
    assert len(bigrams) > 300
    for b in bigrams:
        assert_exact_and_ranked(hits(out / "search.sqlite", b), records, b)


def test_speaker_and_entity_filters_narrow_the_scan(hand_index):
    def speaker_matches(r, s):
        return s in r["speaker"] or s in (r["speaker_name"] or "")

    for s in ("塚越", "健司", "SPEAKER", "花子"):
        assert {h.record["id"] for h in hits(hand_index, "返納", speaker=s)} == {
            r["id"] for r in HAND_MADE if r["id"] in scan(HAND_MADE, "返納") and speaker_matches(r, s)
        }
    for e in ("富士通Japan", "日本銀行", "日銀", "マイナンバーカード"):
        expected = {r["id"] for r in HAND_MADE if any(e in (x["name"], x["text"]) for x in r["entities"])}
        assert {h.record["id"] for h in hits(hand_index, entity=e)} == expected
        assert {h.record["id"] for h in hits(hand_index, "返納", entity=e)} == expected & scan(HAND_MADE, "返納")
    assert hits(hand_index, entity="富士通") == []  # exact, not a substring
    assert {h.record["air_date"] for h in hits(hand_index, "返納", since="2024-03-12", until="2024-03-12")} == {
        "2024-03-12"
    }


def test_snippet_marks_the_match_in_a_window_of_the_text(hand_index):
    (hit,) = hits(hand_index, "318件")
    assert "【318件】" in hit.snippet
    assert hit.snippet.replace("【", "").replace("】", "").strip("…") in hit.record["text"]


# The SQL README.md shows for the plain sqlite3 shell: turns_text (trigram) for terms of three or more characters,
# a LIKE scan of `turns` for shorter ones.
SQL_MATCH = ("SELECT t.id, snippet(turns_text, 0, '【', '】', '…', 12) FROM turns_text "
             "JOIN turns t ON t.rowid = turns_text.rowid WHERE turns_text MATCH '値上げ' ORDER BY rank")  # fmt: skip
SQL_PHRASE = SQL_MATCH.replace("'値上げ'", "'\"1ドル=150円\"'")
SQL_LIKE = "SELECT id, substr(text, max(instr(text, '円安') - 12, 1), 30) FROM turns WHERE text LIKE '%円安%'"
TRIGRAM = pytest.mark.skipif(sqlite3.sqlite_version_info < (3, 34), reason="SQLite before 3.34: no trigram tokenizer")

SAMPLE_TURNS = [
    turn("asaradio_2024-03-13.txt", 0, "値上げは今年も約4,000品目 円安と人手不足が家計を直撃 東都大学・中村美咲准教授に聞く"),
    turn("asaradio_2024-03-13.txt", 1, "中村さん、スーパーに行くたびに値札が変わっている気がします。", "佐藤"),
    turn("asaradio_2024-03-13.txt", 2, "大きな理由の一つは円安です。1ドル=150円台が続いていて、小麦や食用油など、輸入に頼る"
                                       "原材料の値段が上がっています。", "中村"),
    turn("asaradio_2024-03-13.txt", 3, "去年は1年間で3万品目を超える値上げがありましたので、数としては落ち着いてきています。", "中村"),
]  # fmt: skip


@TRIGRAM
def test_the_readme_sql_finds_terms_in_the_sqlite3_shell_with_readable_snippets(tmp_path):
    db = tmp_path / "search.sqlite"
    build_index(write_turns(tmp_path / "out", SAMPLE_TURNS), db)
    text = {r["id"]: r["text"] for r in SAMPLE_TURNS}
    conn = sqlite3.connect(db)  # a plain connection, as the shell's: none of the functions search() adds
    try:
        found, phrase, short = (conn.execute(sql).fetchall() for sql in (SQL_MATCH, SQL_PHRASE, SQL_LIKE))
        two_characters = conn.execute("SELECT rowid FROM turns_text WHERE turns_text MATCH '円安'").fetchall()
    finally:
        conn.close()
    assert {i for i, _ in found} == scan(SAMPLE_TURNS, "値上げ") and len(found) == 2
    assert [i for i, _ in phrase] == sorted(scan(SAMPLE_TURNS, "1ドル=150円"))
    for i, snip in [*found, *phrase]:  # the turn's own text around the match, not bigram tokens
        assert "【値上げ】" in snip or "【1ドル=150円】" in snip
        assert snip.replace("【", "").replace("】", "").strip("…") in text[i]
    assert {i for i, _ in short} == scan(SAMPLE_TURNS, "円安") and len(short) == 2
    assert all("円安" in window and window in text[i] for i, window in short)
    assert two_characters == []  # a trigram index cannot match two characters: hence LIKE on `turns`


@TRIGRAM
def test_turns_text_follows_the_turns_through_updates_and_upgrades(tmp_path, monkeypatch):
    from pipeline.search import index

    def texts(db):
        with sqlite3.connect(db) as conn:
            if not conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'turns_text'").fetchone():
                return None
            rows = conn.execute("SELECT t.rowid, t.text, x.text FROM turns t LEFT JOIN turns_text x ON "
                                "x.rowid = t.rowid").fetchall()  # fmt: skip
            assert conn.execute("SELECT count(*) FROM turns_text").fetchone()[0] == len(rows)
        assert all(text == copy for _, text, copy in rows)
        return sorted(text for _, text, _ in rows)

    db = tmp_path / "search.sqlite"
    out = write_turns(tmp_path / "day1", HAND_MADE)
    with monkeypatch.context() as old:  # an SQLite without the trigram tokenizer: the index goes without
        old.setattr(index, "TRIGRAM_SQLITE", (99, 0, 0))
        build_index(out, db)
        assert texts(db) is None
        assert_exact_and_ranked(hits(db, "返納"), HAND_MADE, "返納")
    assert build_index(out, db).unchanged == 2  # a newer SQLite adds and fills it
    assert texts(db) == sorted(r["text"] for r in HAND_MADE)
    with monkeypatch.context() as old, pytest.raises(SearchError, match="trigram"):
        old.setattr(index, "TRIGRAM_SQLITE", (99, 0, 0))
        build_index(out, db)

    changed = [{**HAND_MADE[0], "text": "カードの話はここまで。"}, *HAND_MADE[1:3]]
    build_index(write_turns(tmp_path / "day2", changed), db)
    assert texts(db) == sorted(r["text"] for r in [*changed, *HAND_MADE[3:]])

    with sqlite3.connect(db) as conn:  # an index of format 2, before turns_text
        conn.execute("DROP TABLE turns_text")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
    with pytest.raises(SearchError, match="run `pipeline index`"):
        hits(db, "返納")
    assert build_index(out, db).updated == 1
    assert texts(db) == sorted(r["text"] for r in HAND_MADE)


def test_incremental_index_writes_only_new_and_changed_episodes(tmp_path):
    db = tmp_path / "search.sqlite"
    first = write_turns(tmp_path / "day1", HAND_MADE)
    report = build_index(first, db)
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    assert report.turns_total == len(HAND_MADE)
    report = build_index(first, db)
    assert (report.added, report.updated, report.unchanged, report.turns_written) == (0, 0, 2, 0)

    changed = [r for r in HAND_MADE if r["episode_id"] == "show_2024-03-11"]
    changed = [{**changed[0], "text": "カードの話はここまで。"}, *changed[1:]]
    new = [turn("show_2024-03-14", 0, "新しい回の返納の話です。")]
    second = write_turns(tmp_path / "day2", [*changed, *new])
    report = build_index(second, db)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 0)
    assert report.turns_written == len(changed) + len(new)
    assert report.episodes_total == 3  # show_2024-03-12 is not in day2 and stays
    assert report.turns_total == len(HAND_MADE) + len(new)
    now = [*changed, *new, *(r for r in HAND_MADE if r["episode_id"] == "show_2024-03-12")]
    for text in ("返納", "マイナンバー", "カード"):
        assert_exact_and_ranked(hits(db, text), now, text)
    with sqlite3.connect(db) as conn:  # no rows of the old version are left behind in the side tables
        assert conn.execute("SELECT count(*) FROM turns_fts").fetchone()[0] == len(now)
        names = {n for (n,) in conn.execute("SELECT name FROM turn_entities")}
    assert names == {e["name"] for r in now for e in r["entities"]}


def test_a_failed_index_run_leaves_the_index_as_it_was(tmp_path):
    db = tmp_path / "search.sqlite"
    build_index(write_turns(tmp_path / "day1", HAND_MADE), db)
    broken = {**HAND_MADE[0], "text": "すっかり別の話。"}
    del broken["entities"]  # a record without its entities cannot be indexed
    with pytest.raises(SearchError, match=r"turns.jsonl, line 1: .*entities.*Field required"):
        build_index(write_turns(tmp_path / "day2", [broken]), db)
    assert_exact_and_ranked(hits(db, "返納"), HAND_MADE, "返納")
    assert hits(db, "別の話") == []


def test_an_index_run_killed_mid_transaction_leaves_the_index_as_it_was(tmp_path):
    db = tmp_path / "search.sqlite"
    build_index(write_turns(tmp_path / "day1", HAND_MADE), db)
    many = [{**r, "episode_id": f"{i}{r['episode_id']}", "id": f"{i}{r['id']}"} for i in range(3000) for r in HAND_MADE]
    big = write_turns(tmp_path / "big", many)
    code = ("from pathlib import Path; from pipeline.search.index import build_index; "
            f"build_index(Path({str(big)!r}), Path({str(db)!r}))")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code])
    wal = db.with_name(db.name + "-wal")  # WAL mode: the run's pages reach the -wal file before it commits
    deadline = time.monotonic() + 60
    while not (wal.exists() and wal.stat().st_size) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    if proc.wait() == 0:
        pytest.skip("the index run finished before it could be killed")
    assert proc.returncode == -signal.SIGKILL and wal.stat().st_size
    assert_exact_and_ranked(hits(db, "返納"), HAND_MADE, "返納")  # the half-written run is not seen
    assert build_index(tmp_path / "day1", db).unchanged == 2


def test_errors_are_clear(tmp_path, hand_index):
    with pytest.raises(SearchError, match="run `pipeline index"):
        hits(tmp_path / "missing.sqlite", "返納")
    with pytest.raises(SearchError, match="empty query"):
        hits(hand_index, "")
    with pytest.raises(SearchError, match="nothing searchable"):
        hits(hand_index, "、。")
    with pytest.raises(SearchError, match="pipeline run"):
        build_index(tmp_path / "no-output", tmp_path / "x.sqlite")
    with pytest.raises(SearchError, match="more than once"):
        build_index(write_turns(tmp_path / "twice", HAND_MADE + HAND_MADE[:1]), hand_index)
    not_an_index = tmp_path / "other.sqlite"
    other = sqlite3.connect(not_an_index)
    other.execute("CREATE TABLE notes (x)")
    other.close()
    with pytest.raises(SearchError, match="not a search index"):
        build_index(write_turns(tmp_path / "out", HAND_MADE), not_an_index)
    assert [h.score for h in hits(hand_index, speaker="吉田")] == [None]  # filters alone list turns


def test_cli_index_and_search(tmp_path):
    out = write_turns(tmp_path / "out", HAND_MADE)
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 added, 0 updated, 0 unchanged" in result.output
    assert "0 added, 0 updated, 2 unchanged" in runner.invoke(cli, ["index", str(out)]).output

    result = runner.invoke(cli, ["search", "値上げ", "-o", str(out)])
    assert result.exit_code == 0, result.output
    expected = [r for r in HAND_MADE if r["id"] in scan(HAND_MADE, "値上げ")]
    assert len(expected) == 1
    for field in ("show", "air_date", "speaker_name"):
        assert expected[0][field] in result.output
    assert "01:15" in result.output  # start 75.0 s as mm:ss
    defaults = load_config().search
    assert f"{defaults.highlight_start}値上げ{defaults.highlight_end}" in result.output

    result = runner.invoke(cli, ["search", "返納", "--db", str(out / "search.sqlite"), "--json"])
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert {line["id"] for line in lines} == scan(HAND_MADE, "返納")
    assert all({"score", "snippet", "text", "speaker", "entities"} <= set(line) for line in lines)

    text_hit = runner.invoke(cli, ["search", "件数", "--speaker", "塚越", "-o", str(out)]).output
    assert "turn 1" in text_hit and "塚越健司" in text_hit

    assert runner.invoke(cli, ["search", "-o", str(out)]).exit_code == 1
    missing = runner.invoke(cli, ["search", "返納", "-o", str(tmp_path)])
    assert missing.exit_code == 1 and "pipeline index" in missing.output


@pytest.mark.model
def test_article_search_equals_the_substring_scan(tmp_path, article_text):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "onemorning_2023-07-05_article.txt").write_text(article_text, encoding="utf-8")
    out = tmp_path / "out"
    run_pipeline([tmp_path / "in" / "onemorning_2023-07-05_article.txt"], out, load_config())
    db = out / "search.sqlite"
    build_index(out, db)
    records = read_jsonl(out / TURNS_FILE)

    assert len(scan(records, "返納")) >= 2
    assert_exact_and_ranked(hits(db, "返納"), records, "返納")
    by_speaker = {h.record["id"] for h in hits(db, "返納", speaker="塚越")}
    assert by_speaker == {r["id"] for r in records if r["id"] in scan(records, "返納") and "塚越" in r["speaker"]}
    assert by_speaker and by_speaker < scan(records, "返納")
    by_entity = {h.record["id"] for h in hits(db, entity="富士通Japan")}
    assert by_entity == {r["id"] for r in records if any("富士通Japan" in (e["name"], e["text"]) for e in r["entities"])}
    assert by_entity and len(by_entity) < len(records)


# --- reading search (pipeline search --reading TERM) -------------------------------------------------------------

# ASR spellings of names, as in the generated shows (docs: "Readings recover names"), and near misses.
READING_TURNS = [
    turn("news_2024-04-01", 0, "今日は藤ツの新製品の話です。", "SPEAKER_00", "山田太郎", air_date="2024-04-01"),
    turn("news_2024-04-01", 1, "福岡県のむなかたしで会議がありました。", "SPEAKER_01", "佐藤花子", air_date="2024-04-01"),
    turn("news_2024-04-02", 0, "ハセガハさんに聞きます。", "SPEAKER_00", "山田太郎", air_date="2024-04-02",
         show="夕方ニュース"),
    turn("news_2024-04-02", 1, "フジツカさんとひたちなか市へ。", air_date="2024-04-02", show="夕方ニュース"),
    turn("news_2024-04-02", 2, "富士通Japanと日立の件、長谷川さんも。", "SPEAKER_01", "佐藤花子",
         [("富士通Japan", "富士通Japan")], air_date="2024-04-02", show="夕方ニュース"),
    turn("news_2024-04-03", 0, "フジスの新製品。東京と大阪で。", air_date="2024-04-03"),
]  # fmt: skip
ONE_OFF_FROM_THREE = load_config(overrides=["search.highlight_start=【", "search.highlight_end=】",
                                            "search.reading_one_off_min_morae=3"]).search  # fmt: skip


@pytest.fixture(scope="module")
def reader():
    from pipeline.text.reader import Reader

    return Reader()


@pytest.fixture
def reading_index(tmp_path, reader):
    db = tmp_path / "search.sqlite"
    build_index(write_turns(tmp_path / "out", READING_TURNS), db, reader)
    return db


def by_reading(db, term, reader, text="", options=OPTIONS, **filters):
    q = Query(text=text, speaker=filters.get("speaker"), entity=filters.get("entity"), show=filters.get("show"),
              since=filters.get("since"), until=filters.get("until"), limit=EVERYTHING, reading=term)  # fmt: skip
    return search(db, q, options, reader)


def found(hits_):
    """(turn text, the matched text, score) of each hit, in rank order."""
    return [(h.record["text"], h.reading["text"], h.score) for h in hits_]


def test_reading_finds_what_asr_wrote_and_marks_it_in_the_snippet(reading_index, reader):
    (hit,) = by_reading(reading_index, "宗像市", reader)
    assert hit.snippet == "福岡県の【むなかたし】で会議がありました。"  # の glued to む by Sudachi (のむ|なか|たし)
    assert hit.reading == {"text": "むなかたし", "key": "ムナカタシ", "term_key": "ムナカタシ", "score": 1.0,
                           "span": [4, 9]}  # fmt: skip
    # Same reading: 藤ツ and 富士通 itself (inside mode C's one word 富士通Japan), the later air date first.
    hits_ = by_reading(reading_index, "富士通", reader)
    assert found(hits_) == [(READING_TURNS[4]["text"], "富士通", 1.0), (READING_TURNS[0]["text"], "藤ツ", 1.0)]
    assert hits_[1].snippet == "今日は【藤ツ】の新製品の話です。"
    assert hits_[1].reading["key"] == "フジツ" and hits_[1].reading["span"] == [3, 5]
    assert found(by_reading(reading_index, "ふじつう", reader)) == found(hits_)  # kana: its own reading
    # Each word keyed on its own: 大阪 (オサカ) after と is not lost to the long vowel rule (joined: トオサカ -> トサカ).
    assert found(by_reading(reading_index, "大阪", reader)) == [(READING_TURNS[5]["text"], "大阪", 1.0)]


def test_one_mora_off_only_for_long_terms(reading_index, reader):
    # 長谷川 (ハセガワ, 4 morae >= search.reading_one_off_min_morae): ハセガハ is one off, ranked below the same reading.
    assert found(by_reading(reading_index, "長谷川", reader)) == [(READING_TURNS[4]["text"], "長谷川", 1.0),
                                                                  (READING_TURNS[2]["text"], "ハセガハ", 0.75)]  # fmt: skip
    # 富士通 (フジツ, 3 morae): フジス is one off too, but a short name one off is another word.
    assert "フジス" not in {h.reading["text"] for h in by_reading(reading_index, "富士通", reader)}
    loose = by_reading(reading_index, "富士通", reader, options=ONE_OFF_FROM_THREE)  # the option decides
    assert ("フジスの新製品。東京と大阪で。", "フジス", 0.6667) in found(loose)


def test_a_short_term_hits_whole_words_only(reading_index, reader):
    # フジツ starts フジツカ (藤塚) and ヒタチ starts ひたちなか: no hits there, only the words themselves.
    assert {h.record["id"] for h in by_reading(reading_index, "富士通", reader)} == {"news_2024-04-02#2",
                                                                                    "news_2024-04-01#0"}  # fmt: skip
    assert found(by_reading(reading_index, "日立", reader)) == [(READING_TURNS[4]["text"], "日立", 1.0)]
    assert found(by_reading(reading_index, "藤塚", reader))[0] == (READING_TURNS[3]["text"], "フジツカ", 1.0)


def test_reading_works_with_the_filters_and_a_text_query(reading_index, reader):
    def ids(**kw):
        return [h.record["id"] for h in by_reading(reading_index, "富士通", reader, **kw)]

    assert ids() == ["news_2024-04-02#2", "news_2024-04-01#0"]
    assert ids(speaker="山田") == ["news_2024-04-01#0"]
    assert ids(show="夕方") == ["news_2024-04-02#2"]
    assert ids(since="2024-04-02") == ["news_2024-04-02#2"] and ids(until="2024-04-01") == ["news_2024-04-01#0"]
    assert ids(entity="富士通Japan") == ["news_2024-04-02#2"]
    assert ids(text="新製品") == ["news_2024-04-01#0"]  # both: フジスの新製品 holds the text, not the reading
    assert ids(text="会議") == []
    (hit,) = by_reading(reading_index, "富士通", reader, text="新製品")
    assert hit.snippet == "今日は【藤ツ】の【新製品】の話です。"
    with pytest.raises(SearchError, match="no reading"):
        by_reading(reading_index, "、。", reader)


def test_an_index_without_readings_is_refused_then_upgraded(tmp_path, reader):
    db = tmp_path / "search.sqlite"
    out = write_turns(tmp_path / "out", READING_TURNS)
    build_index(out, db, reader)
    with sqlite3.connect(db) as conn:  # what the previous version wrote: format 3, no turn_readings
        conn.execute("DROP TABLE turn_readings")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'format'")
    with pytest.raises(SearchError, match="run `pipeline index`"):  # never an empty answer
        by_reading(db, "富士通", reader)
    assert build_index(out, db, reader).unchanged == 3  # upgraded in place: every turn read anew
    assert [h.reading["text"] for h in by_reading(db, "富士通", reader)] == ["富士通", "藤ツ"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM turn_readings").fetchone()[0] == len(READING_TURNS)

    changed = [{**READING_TURNS[0], "text": "藤ツの話はここまで。"}, READING_TURNS[1]]
    build_index(write_turns(tmp_path / "day2", changed), db, reader)  # an updated episode's old keys go
    assert [h.reading["text"] for h in by_reading(db, "富士通", reader)] == ["富士通", "藤ツ"]
    assert by_reading(db, "富士通", reader)[1].snippet == "【藤ツ】の話はここまで。"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM turn_readings").fetchone()[0] == len(READING_TURNS)


def test_cli_reading_search(tmp_path):
    out = write_turns(tmp_path / "out", READING_TURNS)
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(out)]).exit_code == 0
    result = runner.invoke(cli, ["search", "--reading", "長谷川", "-o", str(out)])
    assert result.exit_code == 0, result.output
    defaults = load_config().search
    mark = f"{defaults.highlight_start}ハセガハ{defaults.highlight_end}"
    assert result.output.splitlines()[2:] == [
        "2. 夕方ニュース  2024-04-02  turn 0  山田太郎  score 0.75  reading ハセガハ ~ ハセガワ",
        f"   {mark}さんに聞きます。",
    ]
    result = runner.invoke(cli, ["search", "新製品", "--reading", "富士通", "--json", "-o", str(out)])
    (line,) = [json.loads(line) for line in result.output.splitlines()]
    assert line["id"] == "news_2024-04-01#0" and line["score"] == 1.0
    assert line["reading"] == {"text": "藤ツ", "key": "フジツ", "term_key": "フジツ", "score": 1.0, "span": [3, 5]}
    assert "--reading TERM" in runner.invoke(cli, ["search", "--help"]).output
    bad = runner.invoke(cli, ["search", "--reading", "。", "-o", str(out)])
    assert bad.exit_code == 1 and "no reading" in bad.output
