"""The dedup archive: reruns, ads and jingles of earlier runs found by a later run (dedup.archive; README,
"Batches and shards"). Text transcripts only, no models."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.lib import dedup, dedup_archive
from pipeline.lib.dedup import Document, deduplicate_each, normalise
from pipeline.lib.dedup_archive import ArchiveError, Entry, open_archive
from pipeline.plan import run_pipeline
from pipeline.text.reader import Reader
from pipeline.text.transcripts import parse_plain

NO_NER = ["--set", "entities.enabled=false"]
CONFIG = load_config(overrides=["entities.enabled=false"])
OPTIONS = CONFIG.dedup
ARCHIVE = "dedup-archive.sqlite"  # configs/default.yaml: in the output folder

AD = ("ここでお知らせです。みなみ市の春の交通安全運動が、来週の月曜日から始まります。"
      "横断歩道を渡るときは、右と左をよく見て、手を挙げて渡りましょう。"
      "自転車に乗るときは、ヘルメットをかぶることを忘れずに。みなみ市からのお知らせでした。")  # fmt: skip
SEGMENT = ("特集です。今日は港町の魚市場を訪ねました。朝四時、競りの声が響く市場では、"
           "その日に揚がったアジやサバが次々と値を付けられていきます。仲買人の田村さんは、"
           "この道四十年。魚の目と腹の張りを見れば、鮮度はすぐに分かると話してくれました。")  # fmt: skip

DAY_1 = {
    "asaradio_2024-04-01.txt": f"佐藤:今日は桜の話題です。公園の桜が見ごろを迎えました。\n{AD}\n山田:続いて天気です。",
    "yorudora_2024-04-01.txt": f"中村:こんばんは。夜のドライブの時間になりました。\n{SEGMENT}\n中村:来週もお楽しみに。",
}
DAY_2 = {
    # the same ad and a rerun of day 1's feature, between new talk
    "asaradio_2024-04-02.txt": (f"佐藤:図書館が新しくなりました。蔵書は約12万冊です。\n{AD}\n"
                                f"山田:昨夜の放送から、もう一度お届けします。\n{SEGMENT}\n佐藤:今日はここまで。"),  # fmt: skip
    # wholly new text: nothing to find
    "hirunews_2024-04-02.txt": "鈴木:お昼のニュースです。市内の小学校で新しい給食の献立が始まり、地元の野菜が使われています。",
}


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    return folder


def run(inputs, out, *options):
    result = CliRunner().invoke(cli, ["run", str(inputs), "-o", str(out), *NO_NER, *options])
    assert result.exit_code == 0, result.output
    return {r["episode_id"]: r for r in map(json.loads, (out / "episodes.jsonl").read_text().splitlines())}


def cross(record):
    return [r for r in record["dedup"]["removals"] if r["kind"] == "cross_episode"]


def without_flags(section):
    """A dedup section with earlier_run left out (it says where the kept copy's record is, not what was found)."""
    section = json.loads(json.dumps(section))
    for r in section["removals"]:
        if r["dup_of"]:
            r["dup_of"].pop("earlier_run")
    return section


def dedup_run(record):
    (stage,) = [s for s in record["provenance"]["stages"] if s["stage"] == "dedup"]
    return stage


def archived_ids(path):
    with sqlite3.connect(path) as conn:
        return sorted(i for (i,) in conn.execute("SELECT episode_id FROM episodes"))


# ---------------------------------------------------------------------------------------- runs of separate days


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Day 1, then day 2 into the same output folder (the archive in it), as two `pipeline run`s; then day 1
    again, twice; and all three files in one batch without an archive, for comparison."""
    tmp = tmp_path_factory.mktemp("days")
    in1, in2 = write(tmp / "in1", DAY_1), write(tmp / "in2", DAY_2)
    out = tmp / "out"
    day1 = run(in1, out)
    day2 = run(in2, out)
    day1_again = run(in1, out)
    day1_third = run(in1, out)
    both = write(tmp / "both", DAY_1 | DAY_2)
    one_batch = run(both, tmp / "one_batch", "--set", "dedup.archive=null")
    return {"day1": day1, "day2": day2, "day1_again": day1_again, "day1_third": day1_third, "one_batch": one_batch,
            "archive": out / ARCHIVE}  # fmt: skip


def test_day_2_finds_the_ad_and_the_rerun_aired_on_day_1(days):
    day1, day2 = days["day1"], days["day2"]
    later = day2["asaradio_2024-04-02.txt"]
    removals = cross(later)
    by_source = {r["dup_of"]["episode_id"] for r in removals}
    assert by_source == {"asaradio_2024-04-01.txt", "yorudora_2024-04-01.txt"}
    for r in removals:
        kept = day1[r["dup_of"]["episode_id"]]
        assert kept["dedup"]["removals"] == []  # so its text is its pre-dedup text, where dup_of.span points
        assert r["dup_of"]["earlier_run"] is True and r["dup_of"]["air_date"] == "2024-04-01"
        copy = kept["text"][r["dup_of"]["span"][0] : r["dup_of"]["span"][1]]
        assert normalise(r["text"], ()) in normalise(copy, ())
        starts = [sum(len(s["text"]) + 1 for s in kept["segments"][:i]) for i in range(len(kept["segments"]))]
        first = max(i for i, start in enumerate(starts) if start <= r["dup_of"]["span"][0])
        assert kept["segments"][first]["id"] == r["dup_of"]["segment"]  # the segment where the copy starts
    for passage, source in ((AD, "asaradio_2024-04-01.txt"), (SEGMENT, "yorudora_2024-04-01.txt")):
        removed = normalise("".join(r["text"] for r in removals if r["dup_of"]["episode_id"] == source), ())
        # the passage, less at most a few characters at its start (the first matching window's stride)
        assert removed in normalise(passage, ()) and len(removed) >= len(normalise(passage, ())) - 5
    for gone in ("交通安全運動", "ヘルメット", "魚市場", "仲買人"):
        assert gone not in later["text"]
    for kept_text in ("蔵書は約12万冊です。", "昨夜の放送から、もう一度お届けします。", "今日はここまで。"):
        assert kept_text in later["text"]
    assert day2["hirunews_2024-04-02.txt"]["dedup"]["removals"] == []  # precision: new text is not marked


def test_finding_in_the_archive_is_finding_in_one_batch(days):
    """Day 2 against the archive finds what one batch of both days finds: the same passages, the same kept copies
    (only earlier_run differs: there, day 1 is in the batch)."""
    for episode_id in DAY_2:
        found = days["day2"][episode_id]["dedup"]
        assert without_flags(found) == without_flags(days["one_batch"][episode_id]["dedup"])
    assert all(not r["dup_of"]["earlier_run"] for r in cross(days["one_batch"]["asaradio_2024-04-02.txt"]))


def test_day_1_again_is_not_matched_against_itself_and_its_records_stay(days):
    for name in DAY_1:
        first, again = days["day1"][name], days["day1_again"][name]
        assert first["dedup"]["removals"] == [] and again["dedup"] == first["dedup"] and again["text"] == first["text"]
    # one entry per episode: a rerun replaced its own
    assert archived_ids(days["archive"]) == sorted([*DAY_1, *DAY_2])


def test_the_cache_follows_the_archive(days):
    """Day 1 again after day 2 ran with another archive than day 1 did: dedup ran again (and wrote the same
    entries); the third run has the archive the second left, so it comes from the cache."""
    for name in DAY_1:
        assert dedup_run(days["day1_again"][name])["cached"] is False
        assert dedup_run(days["day1_third"][name])["cached"] is True
        assert days["day1_third"][name]["dedup"] == days["day1"][name]["dedup"]


def test_an_edited_file_replaces_its_entry_instead_of_matching_it(tmp_path):
    """The same id with new content (a transcript corrected, a file re-recorded) is the same episode: its old
    entry is not an earlier airing of it."""
    in1, out = write(tmp_path / "in1", DAY_1), tmp_path / "out"
    run_pipeline([in1], out, CONFIG)
    write(in1, {name: f"{text}\n佐藤:訂正があります。" for name, text in DAY_1.items()})
    edited = run_pipeline([in1], out, CONFIG)
    assert all(e.dedup.removals == [] for e in edited) and "訂正があります。" in edited[0].text
    assert archived_ids(out / ARCHIVE) == sorted(DAY_1)


def test_a_shared_archive_finds_days_written_to_other_output_folders(tmp_path):
    shared = tmp_path / "shared" / "archive.sqlite"
    run(write(tmp_path / "in1", DAY_1), tmp_path / "out1", "--set", f"dedup.archive={shared}")
    day2 = run(write(tmp_path / "in2", DAY_2), tmp_path / "out2", "--set", f"dedup.archive={shared}")
    assert {r["dup_of"]["episode_id"] for r in cross(day2["asaradio_2024-04-02.txt"])} == set(DAY_1)
    assert not (tmp_path / "out1" / ARCHIVE).exists() and not (tmp_path / "out2" / ARCHIVE).exists()


def test_a_new_archive_is_filled_even_when_the_stage_result_is_cached(tmp_path):
    """Deleting the archive starts it afresh: the next run of day 1 (whose result the cache holds) still writes
    day 1 into the new archive, so day 2 finds it."""
    in1, out = write(tmp_path / "in1", DAY_1), tmp_path / "out"
    run_pipeline([in1], out, CONFIG)
    (out / ARCHIVE).unlink()
    again = run_pipeline([in1], out, CONFIG)
    assert archived_ids(out / ARCHIVE) == sorted(DAY_1)
    assert all(not dedup_run(e.model_dump())["cached"] for e in again)
    day2 = {e.episode_id: e for e in run_pipeline([write(tmp_path / "in2", DAY_2)], out, CONFIG)}
    assert {r.dup_of.episode_id for r in day2["asaradio_2024-04-02.txt"].dedup.removals} == set(DAY_1)


def test_the_same_file_under_a_new_id_is_not_matched_against_itself(tmp_path):
    """An input tree moved: the ids change, the files do not. The moved files replace their entries."""
    out = tmp_path / "out"
    run_pipeline([write(tmp_path / "in1", DAY_1)], out, CONFIG)
    moved = run_pipeline([write(tmp_path / "moved" / "shows", DAY_1).parent], out, CONFIG)
    assert [e.episode_id for e in moved] == [f"shows/{n}" for n in DAY_1]
    assert all(e.dedup.removals == [] for e in moved)
    assert archived_ids(out / ARCHIVE) == sorted(f"shows/{n}" for n in DAY_1)


# ------------------------------------------------------------------------------------- the library, directly


def documents(files, ids=None):
    """Documents of text files named <show>_<date>.txt (ids: other ids, in order); the file hash: name and text."""
    return [Document(episode_id, parse_plain(text), name.rsplit("_", 1)[1][:10], sha256=f"{name}:{text}")
            for episode_id, (name, text) in zip(ids or files, files.items())]  # fmt: skip


def archive_batch(archive, files, options=OPTIONS, ids=None):
    docs = documents(files, ids)
    results, failed = deduplicate_each(docs, options, None, archive)
    assert failed == {}
    archive.replace([Entry(d.id, d.air_date, d.id, d.sha256, d.segments, results[d.id].fingerprint) for d in docs])
    return results


CHARS = OPTIONS.model_copy(update={"cross_use_readings": False})  # no Sudachi: these tests are about the archive


def test_an_earlier_run_of_a_later_day_holds_no_kept_copy(tmp_path):
    """Day 2 processed first, then days 1 and 3 (a backfill): day 1's episodes aired first, so they are not
    marked (day 2's records are written: both keep the passage); day 3's copy of the ad points at day 1's."""
    day3 = {"yugata_2024-04-03.txt": f"木村:週末のイベント情報をお伝えしました。\n{AD}\n木村:また明日。"}
    with open_archive(tmp_path / ARCHIVE) as archive:
        archive_batch(archive, DAY_2, CHARS)
        later = archive_batch(archive, DAY_1 | day3, CHARS)
    assert all(later[name].report.removals == [] for name in DAY_1)
    removals = later["yugata_2024-04-03.txt"].report.removals
    assert removals and {(r.dup_of.episode_id, r.dup_of.earlier_run) for r in removals} == {
        ("asaradio_2024-04-01.txt", False)}


def test_an_episode_never_matches_its_own_entry_even_with_another_air_date(tmp_path):
    """Its air date corrected (read from the text, say) and its text edited: the old entry is the same episode,
    not an earlier airing of it."""
    corrected = {name: text + "\n佐藤:訂正があります。" for name, text in DAY_1.items()}
    with open_archive(tmp_path / ARCHIVE) as archive:
        archive_batch(archive, {name.replace("04-01", "03-31"): text for name, text in DAY_1.items()}, CHARS,
                      ids=list(DAY_1))  # fmt: skip
        again = archive_batch(archive, corrected, CHARS)
    assert all(r.report.removals == [] for r in again.values())


class _FailingReader(Reader):
    """Sudachi, except that text with 毒 cannot be read."""

    def pieces(self, text):
        if "毒" in text:
            raise ValueError("unreadable")
        return super().pieces(text)


@pytest.mark.parametrize("where", ["reading", "after matching"])
def test_an_episode_failing_in_the_batch_is_not_an_earlier_run(tmp_path, monkeypatch, where):
    """It is matched as if it were not in the batch, its own archive entry too: no removal points at an episode
    whose record in this output is an error. It fails while its text is read for matching, or after matching
    (then the batch is matched again without it)."""
    name = "asaradio_2024-04-01.txt"
    batch = {name: DAY_1[name] + "\n毒"} | DAY_2
    with open_archive(tmp_path / ARCHIVE) as archive:
        archive_batch(archive, DAY_1)
        if where == "after matching":
            real_apply = dedup.apply
            monkeypatch.setattr(dedup, "apply", lambda d, r: real_apply(d, r) if d.id != name else 1 / 0)
        reader = _FailingReader() if where == "reading" else Reader()
        results, failed = deduplicate_each(documents(batch), OPTIONS, reader, archive)
    assert list(failed) == [name]
    removals = results["asaradio_2024-04-02.txt"].report.removals
    assert {r.dup_of.episode_id for r in removals if r.kind == "cross_episode"} == {"yorudora_2024-04-01.txt"}


def test_fingerprints_made_with_other_options_are_not_compared_and_the_stage_says_so(tmp_path):
    path = tmp_path / "archive.sqlite"
    with open_archive(path) as archive:
        archive_batch(archive, DAY_1, CHARS)
    in2 = write(tmp_path / "in2", DAY_2)

    def day2(**options):
        config = CONFIG.model_copy(update={"dedup": CHARS.model_copy(update={"archive": str(path), **options})})
        return {e.episode_id: e for e in run_pipeline([in2], tmp_path / f"out{len(options)}", config)}

    wider = day2(cross_window_chars=50)
    assert all(e.dedup.removals == [] for e in wider.values())
    assert all(f"dedup: 2 episode(s) of the archive {path}" in " ".join(e.notes) for e in wider.values())
    same = day2()  # the options day 1 was archived with
    assert {r.dup_of.episode_id for r in same["asaradio_2024-04-02.txt"].dedup.removals} == set(DAY_1)


def _state(path):
    with open_archive(path) as archive:
        state = archive.state("")
    with sqlite3.connect(path) as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("episodes", "windows", "bands")}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return state, rows


def test_a_failed_write_leaves_the_archive_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / ARCHIVE
    with open_archive(path) as archive:
        archive_batch(archive, DAY_1, CHARS)
    before = _state(path)
    calls = []

    def failing_insert(self, *args):
        calls.append(args)
        if len(calls) == 2:  # the first entry of the batch is in, the old ones it replaces are deleted
            raise OSError("disk full")
        real_insert(self, *args)

    real_insert = dedup_archive.Archive._insert
    monkeypatch.setattr(dedup_archive.Archive, "_insert", failing_insert)
    with pytest.raises(OSError), open_archive(path) as archive:
        archive_batch(archive, DAY_1 | DAY_2, CHARS)
    assert len(calls) == 2 and _state(path) == before


def _killed_while_writing(path):
    """Child process: write a batch and die by SIGKILL in the middle of the transaction (no cleanup runs)."""
    real_insert = dedup_archive.Archive._insert
    calls = []

    def insert_then_die(self, *args):
        calls.append(args)
        if len(calls) == 2:  # one entry written, the old ones it replaces deleted
            os.kill(os.getpid(), signal.SIGKILL)
        real_insert(self, *args)

    dedup_archive.Archive._insert = insert_then_die
    with open_archive(path) as archive:
        archive_batch(archive, DAY_1 | DAY_2, CHARS)


def test_a_run_killed_while_writing_leaves_the_archive_as_it_was(tmp_path):
    path = tmp_path / ARCHIVE
    with open_archive(path) as archive:
        archive_batch(archive, DAY_1, CHARS)
    before = _state(path)
    child = multiprocessing.get_context("spawn").Process(target=_killed_while_writing, args=(path,))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    assert (tmp_path / f"{ARCHIVE}-journal").exists()  # the transaction it left, rolled back on the next open
    assert _state(path) == before


def test_a_file_that_is_not_an_archive_is_refused_by_name(tmp_path):
    other = tmp_path / "search.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE turns (id TEXT)")
    with pytest.raises(ArchiveError, match="search.sqlite is not a dedup archive"), open_archive(other):
        pass
    (tmp_path / "text.sqlite").write_text("not a database", encoding="utf-8")
    with pytest.raises(ArchiveError, match="text.sqlite"), open_archive(tmp_path / "text.sqlite"):
        pass
