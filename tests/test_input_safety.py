"""Hostile or mistaken input (hardening, part C): bad options stop at load with exit 2 and the key named; option
file names stay inside the output folder; links that leave an input folder are not read; nothing from the input
acts on the terminal; search takes any --limit, invisible characters and a concurrent index run."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.inputs import discover
from pipeline.files import read_jsonl
from pipeline.search.index import build_index, search
from tests.test_search import HAND_MADE, OPTIONS, query, scan, turn, write_turns

NO_NER = ["--set", "entities.enabled=false"]
ONLY_READING = ["--set", "dedup.enabled=false", "--set", "summary.enabled=false"]  # what is read is the point
TRANSCRIPT = "山田: おはようございます。今日は値上げの話です。\n中村: よろしくお願いします。\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def terminal_safe(output: str) -> bool:
    """Nothing but printable characters between the line breaks: no escape sequence, no stray line break."""
    return all(ch.isprintable() for line in output.split("\n") for ch in line)


# --------------------------------------------------------------------------- 1. options checked at load

# (override, what the message must name). The first ones are the cases the issue quotes.
BAD_OPTIONS = [
    ("transcribe.beam_size=-1", ["transcribe.beam_size"]),
    ("ingest.sample_rate=0", ["ingest.sample_rate"]),
    ("transcribe.cpu_threads=-2", ["transcribe.cpu_threads"]),
    ("transcribe.batch_size=0", ["transcribe.batch_size"]),
    ("dedup.near_duplicate_ratio=-10", ["dedup.near_duplicate_ratio"]),
    ("diarize.max_speakers=-1", ["diarize.max_speakers"]),
    ("summary.key_sentences=-3", ["summary.key_sentences"]),
    ("dedup.boilerplate_patterns=['(x']", ["dedup.boilerplate_patterns.0", "regular expression"]),
    ("speakers.heading_pattern='[◆'", ["speakers.heading_pattern", "regular expression"]),
    # ... and the gaps found going through every option
    ("dedup.near_duplicate_ratio=0", ["dedup.near_duplicate_ratio"]),  # removed 79% of the sample text
    ("ingest.sample_rate=8000", ["ingest.sample_rate"]),  # Whisper and CAM++ read 16 kHz only
    ("diarize.cpu_threads=0", ["diarize.cpu_threads"]),  # torch refuses 0 threads
    ("dedup.cross_threshold=1.0", ["dedup.cross_threshold"]),  # datasketch cannot make two bands
    ("dedup.cross_num_perm=8", ["dedup.cross_num_perm"]),
    ("dedup.boilerplate_patterns=['.*']", ["dedup.boilerplate_patterns.0", "empty"]),  # every line boilerplate
    ("speakers.introduction_pattern=さん", ["speakers.introduction_pattern", "group 1"]),
    ("speakers.honorifics=['']", ["speakers.honorifics.0"]),
    ("diarize.min_speakers=9", ["diarize", "min_speakers", "max_speakers"]),
    ("diarize.hop_s=2.0", ["diarize", "hop_s", "window_s"]),
    ("dedup.cross_stride_chars=100", ["dedup", "cross_stride_chars"]),
    ("ingest.corrupt_below=0.95", ["ingest", "corrupt_below", "truncation_tolerance"]),
    ("transcribe.temperature=[0.0, 1.5]", ["transcribe.temperature.1"]),
    ("transcribe.temperature=[]", ["transcribe.temperature"]),
    ("transcribe.log_prob_threshold=1", ["transcribe.log_prob_threshold"]),
    ("transcribe.device=gpu", ["transcribe.device"]),
    ("transcribe.compute_type=int3", ["transcribe.compute_type"]),
    ("transcribe.language=Japanese", ["transcribe.language"]),
    ("transcribe.model=''", ["transcribe.model"]),
    ("input.audio_extensions=[mp3]", ["input.audio_extensions.0"]),  # never matches: suffixes start with a dot
    ("input.audio_extensions=['.MP3']", ["input.audio_extensions.0"]),  # never matches: suffixes are lowered
    ("input.text_extensions=[.txt, .ogg]", ["input", ".ogg"]),
    ("input.skip_folders=[a/b]", ["input.skip_folders.0"]),
    ("dedup.credit_keys={番組名: showname}", ["dedup.credit_keys.番組名"]),
    ("dedup.loop_min_repeats=99999999999", ["dedup.loop_min_repeats"]),
    ("entities.coarse_types.ORG=[Person]", ["entities", "Person"]),
    ("entities.coarse_types={PLACE: [City]}", ["entities.coarse_types.PLACE"]),
    ("entities.languages=[Japanese]", ["entities.languages.0"]),
    ("search.limit=99999999999999999999", ["search.limit"]),
    ('search.highlight_start="\\e[7m"', ["search.highlight_start"]),
    ("models.cache_dir=' '", ["models.cache_dir"]),
    ("runner.cache_dir=''", ["runner.cache_dir"]),
    # 2. option file names stay inside the output folder
    ("search.index_name=../../escaped", ["search.index_name"]),
    ("search.index_name=Broadcast", ["search.index_name"]),  # clusters refuse upper case
    ("search.db_file=../x.sqlite", ["search.db_file"]),
    ("search.db_file=/tmp/x.sqlite", ["search.db_file"]),
    ("search.db_file=..", ["search.db_file"]),
    ("search.db_file=''", ["search.db_file"]),
]


@pytest.mark.parametrize("override, named", BAD_OPTIONS, ids=[o for o, _ in BAD_OPTIONS])
def test_a_bad_option_stops_config_with_exit_2_naming_the_key(override, named):
    result = invoke("config", "--set", override)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    for word in named:
        assert word in result.output


ISSUE_CASES = BAD_OPTIONS[:9] + [o for o in BAD_OPTIONS if o[0].startswith("search.")][-6:]


@pytest.mark.parametrize("override, named", ISSUE_CASES, ids=[o for o, _ in ISSUE_CASES])
def test_a_bad_option_stops_run_before_any_file_is_read(tmp_path, override, named):
    (tmp_path / "show_2024-03-13.txt").write_text(TRANSCRIPT, encoding="utf-8")
    result = invoke("run", str(tmp_path / "show_2024-03-13.txt"), "-o", str(tmp_path / "out"), *NO_NER,
                    "--set", override)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert all(word in result.output for word in named)
    assert not (tmp_path / "out" / "episodes.jsonl").exists()


def test_the_defaults_pass_every_check():
    config = load_config()
    assert config.search.db_file == "search.sqlite" and config.ingest.sample_rate == 16000


def test_a_yaml_error_inside_set_names_the_key_and_gives_no_traceback():
    result = invoke("config", "--set", "transcribe.temperature=[0.0, {")
    assert result.exit_code == 2, result.output
    assert "transcribe.temperature" in result.output and "not valid YAML" in result.output
    assert "Traceback" not in result.output


def test_a_binary_config_file_is_refused_with_exit_2(tmp_path):
    binary = tmp_path / "settings.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    result = invoke("config", "--config", str(binary))
    assert result.exit_code == 2, result.output
    assert "settings.yaml" in result.output and "UTF-8" in result.output


@pytest.mark.parametrize("text", ["- transcribe\n- beam_size\n", "just words\n", "42\n"])
def test_a_config_file_that_is_not_a_mapping_is_refused_with_exit_2(tmp_path, text):
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("config", "--config", str(path))
    assert result.exit_code == 2, result.output
    assert "settings.yaml" in result.output and "mapping" in result.output


def test_a_config_file_with_a_bad_value_names_the_key(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("speakers:\n  heading_pattern: '[◆'\n", encoding="utf-8")
    result = invoke("config", "--config", str(path))
    assert result.exit_code == 2 and "speakers.heading_pattern" in result.output


# --------------------------------------------------------------------------- 2. paths the user typed go anywhere


def test_db_and_out_on_the_command_line_may_point_outside_the_output_folder(tmp_path):
    out = write_turns(tmp_path / "out", HAND_MADE)
    elsewhere = tmp_path / "archive" / "all.sqlite"
    assert invoke("index", str(out), "--db", str(elsewhere)).exit_code == 0
    assert elsewhere.is_file() and not (out / "search.sqlite").exists()
    assert invoke("search", "返納", "--db", str(elsewhere)).exit_code == 0


# --------------------------------------------------------------------------- 3. links in an input folder


@pytest.fixture
def linked_inbox(tmp_path):
    """An input folder with every kind of link; `secret` stands for the password file outside it."""
    secret = tmp_path / "system" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    (inbox / ".store" / "day").mkdir(parents=True)
    (inbox / "sub").mkdir()
    (inbox / "show_2024-03-13.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (inbox / ".store" / "kept.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (inbox / ".store" / "day" / "show_2024-03-14.txt").write_text(TRANSCRIPT, encoding="utf-8")
    links = {
        "x.txt": secret,  # leaves the input folder
        "system": secret.parent,  # a folder outside
        "gone.txt": inbox / "missing.txt",  # dangling
        "loop_a.txt": inbox / "loop_b.txt",  # a loop of links
        "loop_b.txt": inbox / "loop_a.txt",
        "sub/up": inbox,  # a folder holding a link to its parent
        "alias.txt": inbox / "show_2024-03-13.txt",  # a second name of a file that is read anyway
        "kept.txt": inbox / ".store" / "kept.txt",  # inside the folder: followed
        "today": inbox / ".store" / "day",  # a folder inside: followed
    }
    for name, target in links.items():
        os.symlink(target, inbox / name)
    return inbox, secret


def test_links_are_followed_only_inside_the_input_folder_and_the_rest_are_reported(linked_inbox):
    inbox, _ = linked_inbox
    files, skipped = discover([inbox], load_config().input)
    assert [f.episode_id for f in files] == ["kept.txt", "show_2024-03-13.txt", "today/show_2024-03-14.txt"]
    reasons = {s.path.relative_to(inbox).as_posix(): s.reason for s in skipped}
    assert reasons["x.txt"].startswith("link to ") and reasons["x.txt"].endswith("outside the input folder")
    assert "outside the input folder" in reasons["system"]
    assert reasons["gone.txt"].startswith("broken link")
    assert reasons["loop_a.txt"] == reasons["loop_b.txt"] == "link loop"
    assert reasons["sub/up"].startswith("link loop")
    assert "alias.txt" not in reasons  # read once, under its own name


def test_a_link_named_on_the_command_line_is_the_users_choice_and_is_read(linked_inbox):
    inbox, secret = linked_inbox
    files, skipped = discover([inbox, inbox / "x.txt"], load_config().input)
    assert "x.txt" in [f.episode_id for f in files] and [f.path for f in files if f.episode_id == "x.txt"]
    assert "x.txt" not in {s.path.name for s in skipped}


def test_run_does_not_ingest_a_link_to_a_system_file_and_says_why(linked_inbox, tmp_path):
    inbox, secret = linked_inbox
    result = invoke("run", str(inbox), "-o", str(tmp_path / "out"), *NO_NER, *ONLY_READING)
    assert result.exit_code == 0, result.output
    assert f"skip  {inbox / 'x.txt'}: link to {secret}, outside the input folder" in result.output
    episodes = read_jsonl(tmp_path / "out" / "episodes.jsonl")
    assert "x.txt" not in {e["episode_id"] for e in episodes}
    assert not any("root:x:0:0" in e["text"] for e in episodes)


# --------------------------------------------------------------------------- 4. terminal safety

HOSTILE = [
    turn("evil_2024-03-13", 0, "値上げ\x1b]8;;http://evil.example\x07です\x1b[2J\x9b31m、続きは\u2028こちら\x1b[0m",
         speaker="\x1b[31mSPEAKER_00", speaker_name="山田\n太郎", show="あさ\x1b]0;pwned\x07ラジ"),
    {**turn("evil_2024-03-13", 1, "値上げの話\u202eです。"), "section": "◆\x1b[5m見出し"},
]  # fmt: skip


def test_search_prints_transcript_text_names_and_sections_escaped(tmp_path):
    out = write_turns(tmp_path / "out", HOSTILE)
    assert invoke("index", str(out)).exit_code == 0
    result = invoke("search", "値上げ", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert terminal_safe(result.output), repr(result.output)
    assert len(result.output.rstrip("\n").split("\n")) == 2 * len(HOSTILE)  # two lines a hit, none split
    assert "\\x1b]8;;http" in result.output and "山田\\n太郎" in result.output  # shown, not acted on


def test_search_json_escapes_what_would_act_on_a_terminal_and_keeps_the_values(tmp_path):
    out = write_turns(tmp_path / "out", HOSTILE)
    build_index(out, out / "search.sqlite")
    result = invoke("search", "値上げ", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert terminal_safe(result.output), repr(result.output)
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert {(line["id"], line["text"]) for line in lines} == {(r["id"], r["text"]) for r in HOSTILE}


def test_index_and_config_print_names_escaped(tmp_path):
    out = write_turns(tmp_path / "out\x1b[31m", HAND_MADE)
    result = invoke("index", str(out))
    assert result.exit_code == 0 and terminal_safe(result.output), repr(result.output)
    result = invoke("config", "--set", "transcribe.model=\u202etxt.exe")
    assert result.exit_code == 0 and terminal_safe(result.output), repr(result.output)
    result = invoke("config", "--set", "transcribe.\x1b[2Jbeam=1")
    assert result.exit_code == 2 and terminal_safe(result.output), repr(result.output)


# --------------------------------------------------------------------------- 5. search


@pytest.fixture
def hand_index(tmp_path):
    db = tmp_path / "search.sqlite"
    build_index(write_turns(tmp_path / "out", HAND_MADE), db)
    return db


def test_a_huge_limit_is_a_clear_usage_error_and_the_library_clamps_it(hand_index):
    result = invoke("search", "返納", "--db", str(hand_index), "--limit", "99999999999999999999")
    assert result.exit_code == 2, result.output
    assert "--limit" in result.output and "1000000" in result.output
    assert invoke("search", "返納", "--db", str(hand_index), "--limit", "1000000").exit_code == 0
    found = search(hand_index, query("返納", limit=10**20), OPTIONS)
    assert {h.record["id"] for h in found} == scan(HAND_MADE, "返納")


@pytest.mark.parametrize("invisible", ["\u200d", "\u200b", "\ufeff", "\u2060"])
def test_format_characters_are_ignored_in_queries_and_in_the_text(tmp_path, invisible):
    records = [turn("z_2024-03-13", 0, f"値{invisible}上げの話。"), turn("z_2024-03-13", 1, "値上げが続く。")]
    db = tmp_path / "search.sqlite"
    build_index(write_turns(tmp_path / "out", records), db)
    both = {r["id"] for r in records}
    assert {h.record["id"] for h in search(db, query(f"値{invisible}上げ"), OPTIONS)} == both
    assert {h.record["id"] for h in search(db, query("値上げ"), OPTIONS)} == both
    assert {h.record["id"] for h in search(db, query(f"上{invisible}げ"), OPTIONS)} == both
    (marked,) = [h.snippet for h in search(db, query("値上げ"), OPTIONS) if h.record["turn"] == 0]
    assert f"【値{invisible}上げ】" in marked


def test_a_search_while_an_index_run_writes_reads_the_index_as_it_was(hand_index):
    writer = sqlite3.connect(hand_index, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # the lock an index run holds while it commits or spills its cache
    writer.execute("DELETE FROM turns_fts")
    try:
        found = search(hand_index, query("返納"), OPTIONS)  # without WAL: 'database is locked' after the timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert {h.record["id"] for h in found} == scan(HAND_MADE, "返納")
    with sqlite3.connect(hand_index) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_index_of_the_previous_format_is_upgraded_by_the_next_index_run(tmp_path, monkeypatch):
    from pipeline.search import index
    from pipeline.search.index import SearchError
    from pipeline.text.normalise import fold

    records = [turn("z_2024-03-13", 0, "値\u200d上げの話。", entities=[("値\u200d上げ", "値\u200d上げ")])]
    out, db = write_turns(tmp_path / "out", records), tmp_path / "search.sqlite"
    with monkeypatch.context() as old:  # an index written by format 1, which kept format characters
        old.setattr(index, "search_fold", fold)
        build_index(out, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    with pytest.raises(SearchError, match="run `pipeline index`"):
        search(db, query("値上げ"), OPTIONS)
    assert build_index(out, db).unchanged == 1
    assert [h.record["id"] for h in search(db, query("値上げ"), OPTIONS)] == [records[0]["id"]]
    assert [h.record["id"] for h in search(db, query(entity="値上げ"), OPTIONS)] == [records[0]["id"]]
