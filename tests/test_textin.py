import pytest

from pipeline.errors import InputFileError
from pipeline.text.transcripts import parse_cues, parse_plain, parse_timestamp, read_transcript, split_speaker


@pytest.mark.parametrize(
    "line, speaker, text",
    [
        ("佐藤:おはようございます。", "佐藤", "おはようございます。"),
        ("中村：全角のコロンです。", "中村", "全角のコロンです。"),
        ("JOY:英字の名前", "JOY", "英字の名前"),
        ("放送は6:00からです", None, "放送は6:00からです"),
        ("6:00〜9:00", None, "6:00〜9:00"),
        ("番組名:あさラジ", None, "番組名:あさラジ"),
        ("パーソナリティ:山田太郎、佐藤花子", None, "パーソナリティ:山田太郎、佐藤花子"),
        ("https://example.com/asaradio/", None, "https://example.com/asaradio/"),
        ("とても長い前置きの文章がここに続いていて:その後", None, "とても長い前置きの文章がここに続いていて:その後"),
    ],
)
def test_split_speaker(line, speaker, text):
    assert split_speaker(line) == (speaker, text)


def test_plain_text_keeps_line_numbers_and_skips_blank_lines():
    segments = parse_plain("見出し\n\n佐藤:こんにちは。\n続きです。\n")
    assert [(s.line, s.speaker, s.text) for s in segments] == [
        (1, None, "見出し"), (3, "佐藤", "こんにちは。"), (4, None, "続きです。"),
    ]  # fmt: skip
    assert [s.id for s in segments] == [0, 1, 2]


def test_srt():
    srt = "1\n00:00:01,000 --> 00:00:02,500\n山田:おはようございます。\n\n2\n00:01:02,040 --> 00:01:04,000\n二行の\n字幕です。\n"
    segments = parse_cues(srt)
    assert [(s.start, s.end, s.speaker, s.text) for s in segments] == [
        (1.0, 2.5, "山田", "おはようございます。"), (62.04, 64.0, None, "二行の 字幕です。"),
    ]  # fmt: skip


def test_vtt_with_voice_tags_settings_and_notes():
    vtt = (
        "WEBVTT\n\nNOTE 番組の字幕\n\n"
        "intro\n00:00.500 --> 00:02.000 align:start\n<v 佐藤花子>おはようございます。</v>\n\n"
        "01:00:00.000 --> 01:00:01.250\n<i>拍手</i>\n"
    )
    segments = parse_cues(vtt)
    assert [(s.start, s.end, s.speaker, s.text) for s in segments] == [
        (0.5, 2.0, "佐藤花子", "おはようございます。"), (3600.0, 3601.25, None, "拍手"),
    ]  # fmt: skip


def test_timestamps():
    assert parse_timestamp("00:00:01,5") == 1.5
    assert parse_timestamp("1:02:03.004") == 3723.004
    with pytest.raises(ValueError):
        parse_timestamp("soon")


def test_shift_jis_file_is_read(tmp_path):
    path = tmp_path / "show.txt"
    path.write_bytes("佐藤:シフトJISの文字です。\n".encode("cp932"))
    fmt, segments, notes = read_transcript(path)
    assert fmt == "txt" and notes == [] and segments[0].speaker == "佐藤" and segments[0].text == "シフトJISの文字です。"


def test_empty_and_cue_less_files_are_clear_errors(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("\n \n", encoding="utf-8")
    (tmp_path / "nocues.srt").write_text("just words\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="empty file"):
        read_transcript(tmp_path / "empty.txt")
    with pytest.raises(InputFileError, match="holds no text"):
        read_transcript(tmp_path / "blank.txt")
    with pytest.raises(InputFileError, match="no subtitle cues"):
        read_transcript(tmp_path / "nocues.srt")
