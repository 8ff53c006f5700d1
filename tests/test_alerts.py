"""Watchlists and alerts: where a term is mentioned, as written or as ASR spelt it, once per airing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.config.watchlists import load_watchlist, load_watchlists
from pipeline.errors import ConfigError
from pipeline.lib.watch import Matcher
from pipeline.plan import run_pipeline
from pipeline.records import SCHEMA_VERSION
from pipeline.text.reader import Reader

CONFIG = load_config()

TERMS = [
    {"name": "富士通", "type": "ORG", "aliases": ["FUJITSU"], "exclude": ["富士通り"]},
    {"name": "トヨタ自動車", "type": "ORG", "aliases": ["トヨタ"]},
    {"name": "日立製作所", "type": "ORG", "aliases": ["日立"]},
    {"name": "厚生労働省", "type": "ORG"},
    {"name": "宗像市", "type": "LOCATION"},
]


def write_list(folder, name="client", terms=TERMS, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"terms": terms, **extra}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def matcher(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lists")
    write_list(folder)
    return Matcher(load_watchlists(folder, []), Reader(), CONFIG.correct, True, CONFIG.alerts.min_reading_score,
                   CONFIG.alerts.titles)


def found(matcher, text, unsure=None):
    return [(text[f.start : f.end], f.watched.term.name, f.match) for f in matcher.find(text, unsure)]


# --- matching ----------------------------------------------------------------------------------------------------


def test_written_forms_match_on_word_boundaries_and_exclusions_hold(matcher):
    text = "富士通りを歩いて、富士通の決算を見た。Fujitsuの話も。"
    assert found(matcher, text) == [("富士通", "富士通", "exact"), ("Fujitsu", "富士通", "alias")]


def test_a_city_that_reads_like_a_company_is_not_the_company(matcher):
    # 豊田市 reads トヨタシ, 豊田 alone トヨタ: a dictionary word, a homophone, not a mention of トヨタ
    assert found(matcher, "豊田市の工場で、豊田さんが話した。") == []
    assert found(matcher, "トヨタ自動車と、トヨタの社長") == [("トヨタ自動車", "トヨタ自動車", "exact"),
                                                    ("トヨタ", "トヨタ自動車", "alias")]  # fmt: skip


def test_a_term_inside_another_word_is_not_matched(matcher):
    # 日立市 is one word to the analyser: 日立 ends inside it
    assert found(matcher, "日立市の工場と日立製作所") == [("日立製作所", "日立製作所", "exact")]


def test_asr_spellings_match_by_reading(matcher):
    assert found(matcher, "藤ツの決算は高生労働省が発表した。") == [("藤ツ", "富士通", "reading"),
                                                          ("高生労働省", "厚生労働省", "reading")]  # fmt: skip
    assert found(matcher, "むなかたしの市長が") == [("むなかたし", "宗像市", "reading")]
    f = matcher.find("藤ツの決算", None)[0]
    assert (f.asr_text, f.reading, f.score) == ("藤ツ", "フジツ", 1.0)


def test_an_alias_read_like_the_name_is_no_tie(matcher):
    # FUJITSU reads フジツウ too: one term, not two spellings to choose between
    assert [m for _, _, m in found(matcher, "藤ツの決算")] == ["reading"]


def test_reading_matches_can_be_turned_off(tmp_path):
    write_list(tmp_path)
    plain = Matcher(load_watchlists(tmp_path, []), Reader(), CONFIG.correct, False, 0.8, CONFIG.alerts.titles)
    assert found(plain, "藤ツの決算は富士通と") == [("富士通", "富士通", "exact")]


# --- watchlist files ---------------------------------------------------------------------------------------------


def test_a_bad_watchlist_is_refused_with_file_and_key(tmp_path):
    path = write_list(tmp_path, terms=[{"name": "富士通", "type": "COMPANY"}])
    with pytest.raises(ConfigError, match=r"client.yaml.*terms.0.type"):
        load_watchlist(path)
    path = write_list(tmp_path, terms=[{"name": "富士通", "type": "ORG", "readings": ["ふじつう"]}])
    with pytest.raises(ConfigError, match="katakana"):
        load_watchlist(path)
    path = write_list(tmp_path, terms=[{"name": "日立", "type": "ORG"}, {"name": "日立製作所", "type": "ORG",
                                                                       "aliases": ["日立"]}])  # fmt: skip
    with pytest.raises(ConfigError, match="日立 is a form of both"):
        load_watchlist(path)


def test_lists_are_chosen_by_name(tmp_path):
    write_list(tmp_path, "a")
    write_list(tmp_path, "b")
    assert [w.name for w in load_watchlists(tmp_path, [])] == ["a", "b"]
    assert [w.name for w in load_watchlists(tmp_path, ["b"])] == ["b"]
    with pytest.raises(ConfigError, match="no c.yaml"):
        load_watchlists(tmp_path, ["c"])
    assert load_watchlists(tmp_path / "none", []) == []


# --- a run: alerts.jsonl, reruns, filters, the command -------------------------------------------------------------

AD = ("ここでお知らせです。富士通の新しいサービスが、来月から全国の自治体で使えるようになります。"
      "申し込みは、お近くの窓口か、専用のウェブサイトまでどうぞ。")  # fmt: skip


def write_show(folder, name, lines):
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Two days of a show: the second reruns the first's ad (富士通), and mentions トヨタ with and without money."""
    root = tmp_path_factory.mktemp("alerts")
    lists = root / "lists"
    toyota = {"name": "トヨタ自動車", "type": "ORG", "aliases": ["トヨタ"], "figures_near": ["money"]}
    write_list(lists, terms=[TERMS[0], toyota, TERMS[2]])
    write_list(lists, "ministry", terms=[{"name": "厚生労働省", "type": "ORG", "shows": ["よるニュース"]}])
    write_list(lists, "people", terms=[{"name": "中村美咲", "type": "PERSON"}])
    shows = root / "in"
    shows.mkdir()
    write_show(shows, "dailynews_2025-01-10.txt", [
        "青木:おはようございます。今日は富士通の話題から始めます。", f"青木:{AD}",
        "森:厚生労働省によると、窓口の混雑は続いています。",
        "青木:今日は東都大学の中村美咲さんにお越しいただきました。", "中村:よろしくお願いします。",
        "青木:中村さん、窓口の混雑はいつまで続きますか。",
    ])  # fmt: skip
    write_show(shows, "dailynews_2025-01-11.txt", [
        "青木:おはようございます。トヨタ自動車の決算は、純利益が4兆円を超えました。", f"森:{AD}",
        "森:トヨタの新しい工場は、来年に動き始めます。",
    ])  # fmt: skip
    config = CONFIG.with_values({"alerts.watchlists_dir": str(lists), "dedup.archive": None})
    out = root / "out"
    run_pipeline([shows], out, config)
    return out


def alerts_of(out):
    return [json.loads(line) for line in (out / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.model
def test_a_rerun_in_two_files_gives_one_alert_at_its_first_airing(batch):
    ads = [a for a in alerts_of(batch) if a["term"] == "富士通" and "サービス" in a["sentence"]]
    assert len(ads) == 1
    (ad,) = ads
    assert ad["episode_id"] == "dailynews_2025-01-10.txt" and ad["air_date"] == "2025-01-10"
    assert [(x["episode_id"], x["air_date"]) for x in ad["airings"]] == [("dailynews_2025-01-11.txt", "2025-01-11")]


@pytest.mark.model
def test_an_alert_says_who_said_what_where(batch):
    first = next(a for a in alerts_of(batch) if a["term"] == "富士通")
    assert first["speaker_name"] == "青木" and first["turn"] == 0 and first["match"] == "exact"
    assert first["sentence"] == "今日は富士通の話題から始めます。"
    assert first["text"] == "富士通" and first["watchlist"] == "client" and first["type"] == "ORG"
    assert first["id"] == "dailynews_2025-01-10.txt#alert0"


@pytest.mark.model
def test_filters_figures_near_and_shows(batch):
    alerts = alerts_of(batch)
    toyota = [a for a in alerts if a["term"] == "トヨタ自動車"]
    assert [a["text"] for a in toyota] == ["トヨタ自動車"]  # the second mention has no money in its sentence
    assert [f["kind"] for f in toyota[0]["figures"]] == ["money"] and toyota[0]["figures"][0]["value"] == 4e12
    assert not [a for a in alerts if a["watchlist"] == "ministry"]  # only in よるニュース


@pytest.mark.model
def test_the_alerts_command_lists_and_filters(batch):
    result = CliRunner().invoke(cli, ["alerts", str(batch), "--since", "2025-01-11"])
    assert result.exit_code == 0, result.output
    assert "トヨタ自動車" in result.output and "富士通" not in result.output
    result = CliRunner().invoke(cli, ["alerts", str(batch), "--watchlist", "client", "--term", "富士通"])
    assert "also aired: dailynews_2025-01-11.txt 2025-01-11" in result.output
    result = CliRunner().invoke(cli, ["alerts", str(batch), "--json"])
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert lines == alerts_of(batch) and {x["schema_version"] for x in lines} == {SCHEMA_VERSION}


@pytest.mark.model
def test_a_surname_the_entities_stage_resolved_is_an_entity_match(batch):
    people = [(a["text"], a["match"], a["speaker_name"]) for a in alerts_of(batch) if a["watchlist"] == "people"]
    assert people == [("中村美咲", "exact", "青木"), ("中村", "entity", "青木")]


@pytest.mark.model
def test_the_report_lists_the_alerts_with_links_to_their_turns(batch, tmp_path):
    from pipeline.report import write_report

    write_report(batch, tmp_path / "report", CONFIG.report)
    index = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    section = index[index.index('<section id="alerts">'):]
    assert section.count("<tr>") == 1 + len(alerts_of(batch))  # the header row, then one per alert
    assert "トヨタ自動車" in section and "dailynews_2025-01-11.txt 2025-01-11" in section  # the rerun's airing
    assert re.search(r'href="dailynews_2025-01-10\.txt\.[0-9a-f]{16}\.html#t0"', section)


# --- audio: times and clips -------------------------------------------------------------------------------------

AUDIO = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    """The bundled test show of 2024-04-01 (a caller-free morning show with an ad for みどり屋), with clips."""
    root = tmp_path_factory.mktemp("audio")
    write_list(root / "lists", terms=[{"name": "みどり屋", "type": "ORG"}, {"name": "さくら市", "type": "LOCATION"}])
    out = root / "out"
    result = CliRunner().invoke(cli, ["run", str(AUDIO / "asaradio_2024-04-01.ogg"), "-o", str(out), "--clips",
                                      "--no-progress", "--set", f"alerts.watchlists_dir={root / 'lists'}"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.model
def test_alerts_on_audio_lie_in_the_turn_that_says_the_term(audio_run):
    reference = json.loads((AUDIO / "reference" / "asaradio_2024-04-01.json").read_text(encoding="utf-8"))
    alerts = alerts_of(audio_run)
    assert {a["term"] for a in alerts} == {"みどり屋", "さくら市"}
    for a in alerts:
        said = [t for t in reference["turns"] if a["term"] in t["text"]]
        assert any(t["start"] - 1 <= a["start"] <= t["end"] + 1 for t in said), (a["term"], a["start"])
        assert a["start"] <= a["end"]


@pytest.mark.model
def test_clips_are_cut_for_alerts_and_decode(audio_run):
    import av

    alerts = alerts_of(audio_run)
    assert alerts and all(a["clip"] and a["clip"].endswith(".mp3") for a in alerts)
    for a in alerts:
        with av.open(str(audio_run / a["clip"])) as f:
            seconds = float(f.duration) / av.time_base
        assert 2 * CONFIG.alerts.clip.pad_s < seconds <= CONFIG.alerts.clip.max_s + 0.1


def test_a_place_inside_a_prefecture_and_place_word_is_found(tmp_path):
    write_list(tmp_path, terms=[{"name": "浜松市", "type": "LOCATION"}, {"name": "日立", "type": "ORG"}])
    m = Matcher(load_watchlists(tmp_path, []), Reader(), CONFIG.correct, False, 0.8, CONFIG.alerts.titles)
    assert found(m, "静岡県浜松市で、日立市の工場の話") == [("浜松市", "浜松市", "exact")]


def test_a_family_name_with_a_title_is_the_person_only_where_named_in_full(tmp_path):
    write_list(tmp_path, terms=[{"name": "芹沢雅人", "type": "PERSON"}])
    m = Matcher(load_watchlists(tmp_path, []), Reader(), CONFIG.correct, True, 0.8, CONFIG.alerts.titles)
    said = [(text[f.start : f.end], f.match, f.by_surname) for text in ["芹沢大臣は会見で", "セリザは大臣は会見で",
                                                                       "芹沢さんからお電話です"]  # fmt: skip
            for f in m.find(text, None)]
    assert said == [("芹沢", "alias", True), ("セリザは", "reading", True)]  # not 芹沢さん: a caller of that name


@pytest.mark.model
def test_a_family_name_alerts_in_an_episode_that_names_the_person(tmp_path):
    lists, shows = tmp_path / "lists", tmp_path / "in"
    write_list(lists, terms=[{"name": "芹沢雅人", "type": "PERSON"}])
    shows.mkdir()
    write_show(shows, "a_2025-02-01.txt", ["青木:芹沢雅人大臣が会見しました。", "森:芹沢大臣は、賃上げを急ぐと話しました。"])
    write_show(shows, "b_2025-02-02.txt", ["青木:芹沢大臣は、今日も会見しました。"])
    run_pipeline([shows], tmp_path / "out", CONFIG.with_values({"alerts.watchlists_dir": str(lists)}))
    got = [(a["episode_id"], a["text"]) for a in alerts_of(tmp_path / "out")]
    assert got == [("a_2025-02-01.txt", "芹沢雅人"), ("a_2025-02-01.txt", "芹沢")]


@pytest.mark.model
def test_a_passage_repeated_in_one_episode_is_one_alert_that_lists_the_repeat(tmp_path):
    lists, shows = tmp_path / "lists", tmp_path / "in"
    write_list(lists)
    shows.mkdir()
    write_show(shows, "c_2025-03-01.txt", [f"青木:{AD}", "森:では、次の話題です。今日は寒くなりそうですね。", f"青木:{AD}"])
    run_pipeline([shows], tmp_path / "out", CONFIG.with_values({"alerts.watchlists_dir": str(lists)}))
    (alert,) = alerts_of(tmp_path / "out")
    assert alert["turn"] == 0 and [x["episode_id"] for x in alert["airings"]] == ["c_2025-03-01.txt"]
    listed = CliRunner().invoke(cli, ["alerts", str(tmp_path / "out")]).output
    assert "repeated in this episode" in listed and "also aired" not in listed


def test_a_bad_watchlist_stops_the_run_before_any_file(tmp_path):
    write_list(tmp_path / "lists", terms=[{"name": "富士通", "type": "COMPANY"}])
    show = write_show(tmp_path, "d_2025-03-02.txt", ["青木:おはようございます。"])
    result = CliRunner().invoke(cli, ["run", str(show), "-o", str(tmp_path / "out"), "--no-progress",
                                      "--set", f"alerts.watchlists_dir={tmp_path / 'lists'}"])  # fmt: skip
    assert result.exit_code == 2 and "client.yaml" in result.output and "terms.0.type" in result.output
    assert not (tmp_path / "out" / "episodes.jsonl").exists()


@pytest.mark.model
def test_a_rerun_of_an_earlier_run_points_at_that_airing(tmp_path):
    lists, day1, day2 = tmp_path / "lists", tmp_path / "day1", tmp_path / "day2"
    write_list(lists)
    day1.mkdir()
    day2.mkdir()
    write_show(day1, "e_2025-04-01.txt", [f"青木:{AD}"])
    write_show(day2, "e_2025-04-02.txt", ["森:おはようございます。", f"森:{AD}"])
    config = CONFIG.with_values({"alerts.watchlists_dir": str(lists), "dedup.archive": str(tmp_path / "archive.sqlite")})
    run_pipeline([day1], tmp_path / "out1", config)
    run_pipeline([day2], tmp_path / "out2", config)
    (alert,) = alerts_of(tmp_path / "out2")
    assert alert["turn"] is None and alert["rerun_of"]["episode_id"] == "e_2025-04-01.txt"
    assert alert["rerun_of"]["earlier_run"] is True and alert["rerun_of"]["air_date"] == "2025-04-01"
    assert "富士通" in alert["sentence"] and alert["airings"] == []
    listed = CliRunner().invoke(cli, ["alerts", str(tmp_path / "out2")]).output
    assert "rerun of: e_2025-04-01.txt 2025-04-01" in listed


def test_the_sound_written_tail_of_a_long_name_is_read_with_its_head(tmp_path):
    write_list(tmp_path, terms=[{"name": "消費者物価指数", "type": "OTHER"}, {"name": "東雲康介", "type": "PERSON"}])
    m = Matcher(load_watchlists(tmp_path, []), Reader(), CONFIG.correct, True, 0.8, CONFIG.alerts.titles)
    # Whisper wrote the end of the term by its sound: the analyser reads the kana as a suffix, particles and verbs
    assert found(m, "先週発表された消費者ぶっかしす もう前の年を") == [("消費者ぶっかしす", "消費者物価指数", "reading")]
    text = "社長のしなのめこうすけ、さんは"  # one mora off a long name, a word the decoder was unsure of
    assert found(m, text, [True] * len(text)) == [("しなのめこうすけ", "東雲康介", "reading")]
    assert found(m, "東京でも、もうかしすぎる") == []  # kana that start with a particle after a name are words


def test_a_company_heard_before_an_honorific_is_a_person(tmp_path):
    write_list(tmp_path, terms=[{"name": "本田技研工業", "type": "ORG", "aliases": ["ホンダ"]}])
    m = Matcher(load_watchlists(tmp_path, []), Reader(), CONFIG.correct, True, 0.8, CONFIG.alerts.titles)
    assert found(m, "ホンダーさん、ありがとうございました。") == []  # the caller 本田さん, as ASR wrote her name
    assert found(m, "ホンダーの新車が") == [("ホンダー", "本田技研工業", "reading")]
    assert found(m, "ホンダさんの決算は") == [("ホンダ", "本田技研工業", "alias")]  # as written: business speech
