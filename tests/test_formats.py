"""Per-episode files (txt, srt, vtt, tsv, rttm) read back by the standard parsers: `srt`, `webvtt-py`, Python's
csv and pyannote.database's RTTM reader. Fast, on episodes built here, except the last test (the bundled audio)."""

from __future__ import annotations

import csv
import errno
import html
import io
import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt
from click.testing import CliRunner
from pyannote.database.util import load_rttm

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.output import EPISODES_FILE, FORMATS_DIR, format_path, write_outputs
from pipeline.engine.work import blank_episode
from pipeline.errors import DiskFullError
from pipeline.files import TEMP_PREFIX, StagedFiles
from pipeline.engine.formats import FORMATS, SRT_NAME_MARK, TSV_HEADER, flat, render, subtitle_cues, to_rttm
from pipeline.records import Diarization, Episode, Segment, Speaker, SpeakerSpan, Turn, Word
from tests.conftest import SAMPLE_AUDIO

CONFIG = load_config()
LIMITS = CONFIG.output.subtitles
NAMES = {"SPEAKER_00": "山田太郎", "SPEAKER_01": "佐藤花子", "SPEAKER_02": None}  # the third is anonymous

# (speaker, text, seconds per character): Whisper times Japanese about a character a word. Long turns pass both
# limits: 0.12 s a character fills the lines first, 0.3 s the seven seconds first.
SHOW = [
    ("SPEAKER_00", "おはようございます。火曜日のあさラジ、パーソナリティの山田太郎です。今日は東都大学准教授の中村美咲さんに"
                   "お越しいただきました。新しいコミュニティバスの話を伺います。", 0.12),
    ("SPEAKER_01", "佐藤花子です。", 0.12),
    ("SPEAKER_02", "はい、よろしくお願いします。三月十八日の月曜日から、市の北部で四本の路線が走り始めます運賃は二百円で中学生"
                   "以下は百円です", 0.3),
    ("SPEAKER_00", "Community buses start on Monday, March 18, with four routes in the north of the city.", 0.05),
]


def audio_episode(lines=SHOW, episode_id="shows/asaradio_2024-03-12.ogg") -> Episode:
    """An audio episode as the stages leave it: turns of timed words (a character each, spaces before a Latin
    word as Whisper writes them), the diarization's spans, speakers with names where known."""
    episode = blank_episode(Path(episode_id), episode_id, "0", "audio", 1, "0")
    clock, turns, spans = 0.5, [], []
    for i, (speaker, text, step) in enumerate(lines):
        pieces = re.findall(r" ?[A-Za-z0-9,.]+|[^ ]", text) if text.isascii() else list(text)
        words = [Word(start=round(clock + j * step, 3), end=round(clock + (j + 1) * step, 3), text=p, probability=0.9)
                 for j, p in enumerate(pieces)]  # fmt: skip
        turns.append(Turn(id=i, speaker=speaker, start=words[0].start, end=words[-1].end, text=text.strip(),
                          section=None, segments=[i], words=words))  # fmt: skip
        spans.append(SpeakerSpan(start=words[0].start, end=words[-1].end, speaker=speaker))
        clock = words[-1].end + 0.7
    episode.turns, episode.duration = turns, clock
    episode.diarization = Diarization(spans=spans, speaker_count=len(NAMES), voice_matches=[], seconds=0.0)
    episode.speakers = [Speaker(id=s, label=None, name=n, named_by="speech" if n else None, role=None, talk_time=1.0,
                                chars=1, turn_count=1) for s, n in NAMES.items()]  # fmt: skip
    return episode


def text_episode(segments: list[tuple[str, str, float | None, float | None]], episode_id="asaradio_2024-03-13.txt"):
    """A text transcript: (speaker, text, start, end) lines, times None for a plain .txt; a speaker's lines in a
    row are one turn, as the speakers stage makes them."""
    episode = blank_episode(Path(episode_id), episode_id, "0", "text", 1, "0")
    episode.segments = [Segment(id=i, start=a, end=b, text=text, speaker=s, line=i + 1, words=[])
                        for i, (s, text, a, b) in enumerate(segments)]  # fmt: skip
    for seg in episode.segments:
        last = episode.turns[-1] if episode.turns else None
        if last and last.speaker == seg.speaker:
            last.text, last.end = f"{last.text}\n{seg.text}", seg.end
            last.segments.append(seg.id)
        else:
            episode.turns.append(Turn(id=len(episode.turns), speaker=seg.speaker, start=seg.start, end=seg.end,
                                      text=seg.text, section=None, segments=[seg.id], words=[]))  # fmt: skip
    episode.speakers = [Speaker(id=s, label=s, name=f"{s}花子", named_by="label", role=None, talk_time=None, chars=1,
                                turn_count=1) for s in dict.fromkeys(s for s, *_ in segments)]  # fmt: skip
    return episode


def parsed(episode: Episode) -> tuple[list[srt.Subtitle], list[webvtt.Caption]]:
    files = render(episode, ["srt", "vtt"], LIMITS).files
    return list(srt.parse(files["srt"])), webvtt.from_string(files["vtt"], strict=True).captions


def srt_text(cue: srt.Subtitle) -> tuple[str, str]:
    """(speaker shown, text) of an SRT cue `name：text…`."""
    name, _, text = cue.content.partition(SRT_NAME_MARK)
    return name, text


def squashed(text: str) -> str:
    return re.sub(r"\s", "", text)


def assert_cue_limits(subs: list[srt.Subtitle], captions: list[webvtt.Caption], limits=LIMITS) -> None:
    """Both files: the same cues, each with text, <= max_cue_s, <= max_lines lines of <= max_line_chars (the SRT
    name prefix counted), in time order without overlap."""
    assert subs and len(subs) == len(captions)
    for sub, cap in zip(subs, captions):
        lines = sub.content.split("\n")
        assert 1 <= len(lines) <= limits.max_lines and all(len(line) <= limits.max_line_chars for line in lines), lines
        assert (sub.end - sub.start).total_seconds() <= limits.max_cue_s and sub.start <= sub.end
        assert squashed(srt_text(sub)[1])
        shown = html.unescape(cap.text).split("\n")
        assert len(shown) <= limits.max_lines and all(len(line) <= limits.max_line_chars for line in shown)
        assert cap.start_time.in_milliseconds() == sub.start // timedelta(milliseconds=1)
        assert cap.end_time.in_milliseconds() == sub.end // timedelta(milliseconds=1)
    for before, after in zip(subs, subs[1:]):
        assert before.end <= after.start


# ------------------------------------------------------------------------------------------------ subtitles


def test_cues_keep_the_limits_name_their_speaker_and_take_the_times_of_their_words():
    episode = audio_episode()
    subs, captions = parsed(episode)
    assert_cue_limits(subs, captions)
    words = [(w, turn.speaker) for turn in episode.turns for w in turn.words]
    i = 0
    for sub, cap in zip(subs, captions):
        name, text = srt_text(sub)
        first, chars = i, ""
        while len(chars) < len(squashed(text)):  # the cue's words, in order: none lost, none twice
            chars += words[i][0].text.strip()
            i += 1
        assert chars == squashed(text) == squashed(html.unescape(cap.text))
        speaker = words[first][1]
        assert {words[k][1] for k in range(first, i)} == {speaker}  # a cue never mixes speakers
        assert name == html.unescape(cap.voice) == (NAMES[speaker] or speaker)
        assert sub.start.total_seconds() == pytest.approx(words[first][0].start, abs=0.0005)
        assert sub.end.total_seconds() == pytest.approx(words[i - 1][0].end, abs=0.0005)
    assert i == len(words)
    assert len(subs) >= 8  # the long turns were cut


def test_cues_end_at_sentence_ends_where_there_are_some():
    sentences = "今日は雨です。明日は晴れるでしょう。週末は気温が上がります。洗濯日和になりそうです。" * 5
    subs, _ = parsed(audio_episode([("SPEAKER_00", sentences, 0.1)]))
    assert len(subs) > 2 and all(srt_text(s)[1].endswith("。") for s in subs)
    assert all(line.endswith("。") for s in subs for line in srt_text(s)[1].split("\n")[:-1])  # lines too


def test_a_long_name_and_a_long_word_still_fit_a_line():
    episode = audio_episode([("SPEAKER_00", "https://example.com/" + "a" * 120 + " 以上です。", 0.02)])
    episode.speakers[0].name = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末食う寝る処に住む処"
    subs, captions = parsed(episode)
    assert_cue_limits(subs, captions)
    name = episode.speakers[0].name  # cut in its middle in SRT, to half a line at most; whole in the voice tag
    assert {srt_text(s)[0] for s in subs} == {"寿限無寿限無五劫の擦…食う寝る処に住む処"}
    assert {html.unescape(c.voice) for c in captions} == {name}
    assert "".join(squashed(srt_text(s)[1]) for s in subs) == squashed(episode.turns[0].text)

    stretched = audio_episode([("SPEAKER_00", "長いですね。", 0.2)])  # a word timed over a skipped stretch
    stretched.turns[0].words[0].end = stretched.turns[0].words[1].start = 10.5
    subs, captions = parsed(stretched)
    assert_cue_limits(subs, captions)


ODD = 'a --> b\tc\nd\r\ne\u2028f\x85g <b>i</b> & "h" \x1b[31m00:00:01,000 --> 00:00:02,000\x1b[0m\n\n1\n--->'


def test_odd_characters_cannot_break_a_cue_or_a_row():
    """A timing line, tags, entities, tabs, blank lines and the line breaks of other readers (U+2028, NEL), in
    the text and in a name: each file still reads as its cues and rows, the text as it was said."""
    audio = audio_episode([("SPEAKER_00", ODD, 0.1), ("SPEAKER_01", "x", 0.1)])
    audio.speakers[0].name = 'A<B>&"C"\t-->D'
    subtitles = text_episode([("S", ODD, 1.0, 4.0), ("S", "ok", 4.0, 5.0)])
    for episode in (audio, subtitles):
        files = render(episode, list(FORMATS), LIMITS).files
        subs, captions = parsed(episode)
        assert len(subs) == len(captions) == len(subtitle_cues(episode, LIMITS))
        assert not any("-->" in line for s in subs for line in s.content.split("\n"))
        said = [squashed(html.unescape(c.text)) for c in captions]
        assert "".join(said) == squashed(flat("".join(t.text for t in episode.turns)))  # `-->` read as text
        assert "".join(squashed(srt_text(s)[1]) for s in subs) == "".join(said).replace("-->", "→")
        name = flat(episode.speakers[0].name or episode.speakers[0].id)
        assert html.unescape(captions[0].voice) == name and srt_text(subs[0])[0] == name.replace("-->", "→")

        rows = list(csv.reader(io.StringIO(files["tsv"]), delimiter="\t"))
        assert rows[0] == list(TSV_HEADER) and len(rows) == len(episode.turns) + 1
        assert [r[4] for r in rows[1:]] == [flat(t.text) for t in episode.turns]
        assert not any(re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", text) for text in files.values())
        lines = files["tsv"].splitlines()  # also at U+2028 and NEL: still a line per row
        assert len(lines) == len(rows) and all(len(line.split("\t")) == 5 for line in lines)
        assert len(files["txt"].rstrip("\n").split("\n\n")) == len(episode.turns)  # a paragraph a turn


def test_text_transcripts_get_txt_and_tsv_and_subtitle_files_keep_their_cue_times():
    plain = text_episode([("佐藤", "中村さん、値札が変わっている気がします。", None, None), ("中村", "円安です。", None, None)])
    rendered = render(plain, list(FORMATS), LIMITS)
    assert sorted(rendered.files) == ["tsv", "txt"]
    assert rendered.skipped == {"srt": "the transcript has no times", "vtt": "the transcript has no times",
                                "rttm": "it has no diarization (a text transcript, or diarize.enabled is off)"}  # fmt: skip
    assert rendered.files["txt"] == "佐藤花子\n中村さん、値札が変わっている気がします。\n\n中村花子\n円安です。\n\n"
    assert rendered.files["tsv"].split("\n")[1] == "\t\t佐藤\t佐藤花子\t中村さん、値札が変わっている気がします。"

    cues = [("佐藤", "おはようございます。", 1.0, 4.0), ("佐藤", "今日は", 4.0, 4.8),  # one turn of two cues
            ("中村", "去年は1年間で3万品目を超える値上げがありましたので、数としては落ち着いてきています。ただ、一度上がった"
                     "値段はなかなか下がりません。", 5.0, 21.0), ("佐藤", "はい。", 21.5, 22.0)]  # fmt: skip
    episode = text_episode(cues, "asaradio_2024-03-13.srt")
    rendered = render(episode, list(FORMATS), LIMITS)
    assert sorted(rendered.files) == ["srt", "tsv", "txt", "vtt"] and list(rendered.skipped) == ["rttm"]
    subs, captions = parsed(episode)
    assert_cue_limits(subs, captions)
    times = [(s.start.total_seconds(), s.end.total_seconds(), srt_text(s)[1]) for s in subs]
    assert times[:2] == [(1.0, 4.0, "おはようございます。"), (4.0, 4.8, "今日は")]  # fit the limits: kept
    assert times[-1] == (21.5, 22.0, "はい。")
    long = times[2:-1]  # 16 s: cut, its time shared out by characters
    assert len(long) >= 3 and long[0][0] == 5.0 and long[-1][1] == 21.0
    assert "".join(squashed(t) for _, _, t in long) == squashed(cues[2][1])
    assert rendered.files["txt"].startswith("[00:00:01.000 - 00:00:04.800] 佐藤花子\nおはようございます。\n今日は\n\n")

    both = text_episode([("佐藤", "同時に話しています。", 1.0, 5.0), ("中村", "私もです。", 3.0, 6.0)])  # overlapping
    subs, captions = parsed(both)
    assert_cue_limits(subs, captions)
    assert [(s.start.total_seconds(), s.end.total_seconds()) for s in subs] == [(1.0, 3.0), (3.0, 6.0)]


# ------------------------------------------------------------------------------------------------ rttm


def test_rttm_reads_back_in_pyannote_as_the_diarization(tmp_path):
    episode = audio_episode(episode_id="shows/my show 2024.ogg")
    episode.diarization.spans.append(SpeakerSpan(start=30.0, end=30.0, speaker="SPEAKER_01"))  # empty: left out
    path = tmp_path / "x.rttm"
    path.write_text(to_rttm(episode), encoding="utf-8")
    (uri, annotation), = load_rttm(path).items()  # fmt: skip
    assert uri == "shows/my_show_2024.ogg"
    got = [(round(s.start, 3), round(s.end, 3), label) for s, _, label in annotation.itertracks(yield_label=True)]
    assert got == [(s.start, s.end, s.speaker) for s in episode.diarization.spans if s.end > s.start]
    assert all(len(line.split()) == 10 for line in path.read_text(encoding="utf-8").splitlines())


# ------------------------------------------------------------------------------------------------ writing


def test_files_go_under_formats_by_episode_id_and_no_id_leaves_the_folder(tmp_path, caplog):
    out = tmp_path / "out"
    ids = ["shows/a.mp3", "shows/a.txt", "a.mp3", "a.mp3.srt/b.ogg", "../up.ogg", "/abs.ogg", "x/./y.ogg",
           "shows/" + "n" * 250 + ".ogg"]  # fmt: skip
    episodes = [audio_episode(SHOW[:2], i) for i in ids]
    failed = audio_episode(SHOW[:2], "failed.ogg")
    failed.status = "error"
    write_outputs(out, [*episodes, failed], CONFIG.output, CONFIG.alerts.clip)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    expected = [f"{FORMATS_DIR}/{i}.{f}" for i in ("shows/a.mp3", "shows/a.txt", "a.mp3.srt/b.ogg") for f in FORMATS]
    expected += [f"{FORMATS_DIR}/a.mp3.{f}" for f in FORMATS if f != "srt"]  # a.mp3.srt is b.ogg's folder
    assert written == sorted([*expected, EPISODES_FILE, "alerts.jsonl", "manifest.json", "turns.jsonl"])
    assert all(format_path(out, i, "srt") is None for i in ids[4:])
    assert "no safe place" in caplog.text and "../up.ogg" in caplog.text
    srt_file = out / FORMATS_DIR / "shows" / "a.mp3.srt"
    assert srt_file.read_text(encoding="utf-8").startswith("1\n00:00:00,500 --> ")

    dead = subprocess.Popen(["true"])  # a writer of this machine, killed mid-write, left its temp
    dead.wait()
    with StagedFiles() as staged, staged.open(srt_file):
        (live,) = srt_file.parent.glob(f"{TEMP_PREFIX}*")
        _, marker, host, _pid, rest = live.name.split(".", 4)
    live.with_name(f".{marker}.{host}.{dead.pid}.{rest}").write_text("half", encoding="utf-8")
    episodes[0].speakers[0].name = "山田一郎"  # a rerun replaces what it writes
    write_outputs(out, episodes[:1], CONFIG.output.model_copy(update={"formats": ["srt"]}), CONFIG.alerts.clip)
    assert "山田一郎：" in srt_file.read_text(encoding="utf-8")
    assert not list(out.rglob(f"{TEMP_PREFIX}*"))


def test_a_full_disk_replaces_no_file_and_an_empty_list_writes_none(tmp_path, monkeypatch):
    out = tmp_path / "out"
    episode = audio_episode(SHOW[:2])
    renamed, real_replace = [], os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renamed.append(Path(dst)), real_replace(src, dst)))
    write_outputs(out, [episode], CONFIG.output, CONFIG.alerts.clip)
    monkeypatch.undo()
    names = [p.name if p.parent == out else FORMATS_DIR for p in renamed]  # the manifest, then the staged files:
    assert names == ["manifest.json", *[FORMATS_DIR] * len(FORMATS), EPISODES_FILE, "turns.jsonl", "alerts.jsonl"]  # formats first
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    episode.turns[0].text = episode.turns[1].text = "変わった"

    def full(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError, match=rf"could not write {out}/{FORMATS_DIR}/"):
        write_outputs(out, [episode], CONFIG.output, CONFIG.alerts.clip)
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    other = tmp_path / "other"
    write_outputs(other, [episode], CONFIG.output.model_copy(update={"formats": []}), CONFIG.alerts.clip)
    assert not (other / FORMATS_DIR).exists() and (other / EPISODES_FILE).is_file()


def test_cli_formats_flag_is_checked_and_overrides_the_config(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\n佐藤：おはようございます。\n",
                                           encoding="utf-8")  # fmt: skip
    out = tmp_path / "in" / "out"  # inside the input folder: a rerun does not read its files as transcripts
    for _ in range(2):
        result = CliRunner().invoke(cli, ["run", str(tmp_path / "in"), "-o", str(out), "--formats", "TXT, srt",
                                          "--set", "entities.enabled=false"])  # fmt: skip
        assert result.exit_code == 0 and "1 ok, 0 failed" in result.output, result.output
    assert sorted(p.name for p in (out / FORMATS_DIR).iterdir()) == ["a.srt.srt", "a.srt.txt"]
    assert (out / FORMATS_DIR / "a.srt.srt").read_text(encoding="utf-8") == (
        "1\n00:00:01,000 --> 00:00:03,000\n佐藤：おはようございます。\n\n")
    bad = CliRunner().invoke(cli, ["run", str(tmp_path / "in"), "-o", str(out), "--formats", "txt,mp4"])
    assert bad.exit_code == 2 and "unknown format mp4: choose from txt, srt, vtt, tsv, rttm" in bad.output


def test_the_format_names_are_the_options():
    assert FORMATS == ("txt", "srt", "vtt", "tsv", "rttm") and CONFIG.output.formats == list(FORMATS)


# ------------------------------------------------------------------------------------------------ bundled audio


@pytest.mark.model
def test_the_bundled_audio_gives_subtitles_within_the_limits_with_every_speakers_name(tmp_path):
    """The real pipeline (without NER, which the files do not use) on the bundled sample: its srt and vtt read
    in the standard parsers, each cue at most 7 s and 42 characters a line, named as its speaker is."""
    from pipeline.plan import run_pipeline

    (episode,) = run_pipeline([SAMPLE_AUDIO], tmp_path, load_config(overrides=["entities.enabled=false"]))
    assert episode.status == "ok", episode.error
    folder = tmp_path / FORMATS_DIR
    assert sorted(p.name for p in folder.iterdir()) == [f"{SAMPLE_AUDIO.name}.{f}" for f in sorted(FORMATS)]
    subs = list(srt.parse((folder / f"{SAMPLE_AUDIO.name}.srt").read_text(encoding="utf-8")))
    captions = webvtt.read(str(folder / f"{SAMPLE_AUDIO.name}.vtt")).captions
    assert_cue_limits(subs, captions)
    shown = {s.id: s.name or s.id for s in episode.speakers}
    assert {"山田太郎", "佐藤花子"} <= set(shown.values())
    assert {srt_text(s)[0] for s in subs} == {html.unescape(c.voice) for c in captions} == {
        shown[t.speaker] for t in episode.turns}
    starts = [w.start for t in episode.turns for w in t.words]
    assert all(any(abs(s.start.total_seconds() - w) < 0.0005 for w in starts) for s in subs)  # at word times
    said = "".join(squashed(t.text) for t in episode.turns)
    assert "".join(squashed(srt_text(s)[1]) for s in subs) == said.replace("-->", "→")

    narrow = LIMITS.model_copy(update={"max_line_chars": 16})  # the Japanese broadcast width: lines fill up
    files = render(episode, ["srt", "vtt"], narrow).files
    subs, captions = list(srt.parse(files["srt"])), webvtt.from_string(files["vtt"], strict=True).captions
    assert_cue_limits(subs, captions, narrow)
    assert max(len(line) for s in subs for line in s.content.split("\n")) == 16
