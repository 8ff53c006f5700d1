"""Speakers: interval logic and text rules with plain data, and the sample article's turn sequence."""

import pytest

from pipeline.config import load_config, load_profiles, match_profile, resolve_path
from pipeline.records import Segment, SpeakerSpan, Word
from pipeline.lib.speakers import (
    NARRATION, NameCandidate, audio_turns, describe_speakers, label_segments, name_candidates, resolve_name,
    SpeakerIndex, text_turns,
)  # fmt: skip
from pipeline.text.transcripts import parse_cues, parse_plain
from tests.test_dedup import dedup_one, episode_from_text

CONFIG = load_config()
OPTIONS = CONFIG.speakers
PROFILES = load_profiles(resolve_path(CONFIG.input.shows_dir))


def spans(*items):
    return [SpeakerSpan(start=a, end=b, speaker=s) for a, b, s in items]


def words(text, start, step=0.2):
    return [Word(start=round(start + i * step, 3), end=round(start + (i + 1) * step, 3), text=ch, probability=0.9)
            for i, ch in enumerate(text)]  # fmt: skip


def test_speaker_at_prefers_most_overlap_then_nearest():
    s = spans((0.0, 2.0, "SPEAKER_00"), (2.0, 5.0, "SPEAKER_01"))
    index = SpeakerIndex(s)
    assert index.speaker_at(1.8, 2.3) == "SPEAKER_01"  # 0.3 s of B against 0.2 s of A
    assert index.speaker_at(1.5, 2.2) == "SPEAKER_00"
    assert index.speaker_at(6.0, 6.5) == "SPEAKER_01"  # in a gap after the last span: the nearest
    assert SpeakerIndex([]).speaker_at(1.0, 1.2) == "SPEAKER_00"


def test_asr_segment_is_split_where_the_speaker_changes_and_turns_merge():
    # one ASR segment holds the end of A's line and B's answer; B's next segment continues the same turn
    seg0 = Segment(id=0, start=0.0, end=2.0, text="はいそうです", speaker=None, line=None, words=words("はいそう", 0.0, 0.25) + words("です", 1.0, 0.5))
    seg1 = Segment(id=1, start=2.1, end=3.0, text="ね", speaker=None, line=None, words=words("ね", 2.1, 0.9))
    s = spans((0.0, 0.95, "SPEAKER_00"), (0.95, 3.0, "SPEAKER_01"))
    turns = audio_turns([seg0, seg1], s, OPTIONS.max_turn_s, 0.0)
    assert [(t.speaker, t.text, t.segments) for t in turns] == [
        ("SPEAKER_00", "はいそう", [0]), ("SPEAKER_01", "です ね", [0, 1]),
    ]  # fmt: skip
    assert (turns[1].start, turns[1].end) == (1.0, 3.0)
    labelled = label_segments([seg0, seg1], turns)
    assert [s.speaker for s in labelled] == ["SPEAKER_00", "SPEAKER_01"]  # 4 words of A against 2 of B


def test_turn_edges_snap_to_the_speakers_diarized_speech_but_not_into_the_next_turn():
    # the words say 0.6-1.8 and 2.6-3.4; diarization says A 0.2-2.2, B 2.2-3.9, A again 9.0-12.0
    seg = Segment(id=0, start=0.6, end=3.4, text="はいそうです", speaker=None, line=None,
                  words=words("はいそ", 0.6, 0.4) + words("うです", 2.6, 0.266))  # fmt: skip
    s = spans((0.2, 2.2, "SPEAKER_00"), (2.2, 3.9, "SPEAKER_01"), (9.0, 12.0, "SPEAKER_00"))
    turns = audio_turns([seg], s, OPTIONS.max_turn_s, 1.0)
    assert [(t.speaker, t.start, t.end) for t in turns] == [("SPEAKER_00", 0.2, 2.2), ("SPEAKER_01", 2.2, 3.9)]
    unsnapped = audio_turns([seg], s, OPTIONS.max_turn_s, 0.0)
    assert [(t.start, t.end) for t in unsnapped] == [(0.6, 1.8), (2.6, 3.398)]
    far = audio_turns([seg], spans((0.2, 2.2, "SPEAKER_00"), (2.2, 5.0, "SPEAKER_01")), OPTIONS.max_turn_s, 1.0)
    assert far[1].end == 3.398  # the span ends 1.6 s after the last word: more than snap_s, left as it is
    # words timed from the start of their chunk (0.6) into the pause after (3.4) while the speech is 1.0-3.0
    late = audio_turns([seg], spans((1.0, 2.2, "SPEAKER_00"), (2.2, 3.0, "SPEAKER_01")), OPTIONS.max_turn_s, 1.0)
    assert [(t.start, t.end) for t in late] == [(1.0, 2.2), (2.2, 3.0)]


def test_word_on_a_boundary_goes_to_the_speaker_who_covers_it():
    seg = Segment(id=0, start=0.0, end=2.0, text="あい", speaker=None, line=None, words=[Word(start=0.0, end=1.0, text="あ", probability=0.9), Word(start=0.9, end=1.6, text="い", probability=0.9)])
    turns = audio_turns([seg], spans((0.0, 1.0, "SPEAKER_00"), (1.0, 2.0, "SPEAKER_01")), OPTIONS.max_turn_s, 0.0)
    assert [(t.speaker, t.text) for t in turns] == [("SPEAKER_00", "あ"), ("SPEAKER_01", "い")]


def test_text_prefixes_continuation_narration_and_headings():
    text = (
        "見出しの一行\n番組の紹介文です。\n◆最初の話題\n佐藤:おはようございます。\n"
        "続けて話します。\n中村:はい。\n番組名:あさラジ\n◆次の話題\n山田:6:00からです。\n"
    )
    turns = text_turns(parse_plain(text), OPTIONS, subtitles=False)
    assert [(t.speaker, t.section) for t in turns] == [
        (NARRATION, None), ("佐藤", "最初の話題"), ("中村", "最初の話題"), ("山田", "次の話題"),
    ]  # fmt: skip
    assert turns[0].text == "見出しの一行\n番組の紹介文です。"
    assert turns[1].text == "おはようございます。\n続けて話します。"
    assert turns[2].text == "はい。\n番組名:あさラジ"  # not a speaker: the credit line continues 中村
    assert turns[3].text == "6:00からです。"


def test_subtitles_without_labels_are_one_unknown_speaker_and_keep_times():
    cues = parse_cues("1\n00:00:01,000 --> 00:00:02,000\nこんにちは\n\n2\n00:00:02,500 --> 00:00:04,000\n元気です\n")
    turns = text_turns(cues, OPTIONS, subtitles=True)
    assert [(t.speaker, t.start, t.end, t.text) for t in turns] == [("SPEAKER_00", 1.0, 4.0, "こんにちは\n元気です")]


def test_names_from_profile_credits_and_introductions():
    profile = match_profile("onemorning_2023-07-05", PROFILES)
    credits = [NameCandidate("吉田明世", "credits"), NameCandidate("塚越健司", "credits"), NameCandidate("JOY", "credits")]
    assert resolve_name("吉田", profile, credits) == ("吉田明世", "profile")
    assert resolve_name("塚越", profile, credits) == ("塚越健司", "credits")
    assert resolve_name("JOY", profile, credits) == ("JOY", "credits")
    assert resolve_name("中村", None, [NameCandidate("中村美咲", "introduction")]) == ("中村美咲", "introduction")
    # two people share a family name: no guess
    ambiguous = [NameCandidate("中村美咲", "credits"), NameCandidate("中村一郎", "credits")]
    assert resolve_name("中村", None, ambiguous) == (None, None)
    assert resolve_name("ゲスト", None, []) == ("ゲスト", "label")


def text_speakers(document, episode_id):
    """Turns and speakers of a deduplicated text transcript, as the speakers stage makes them."""
    kept, report = dedup_one(document)
    turns = text_turns(kept, OPTIONS, subtitles=False)
    candidates = name_candidates(report.credits, kept, OPTIONS)
    return turns, describe_speakers(turns, False, {}, candidates, match_profile(episode_id, PROFILES))


def test_sample_article_turns_and_names(tmp_path, article_text):
    document = episode_from_text(tmp_path, article_text, name="onemorning_2023-07-05_article.txt")
    turns, speakers = text_speakers(document, "onemorning_2023-07-05_article.txt")
    assert [t.speaker for t in turns] == [NARRATION, "吉田", "塚越", "JOY", "塚越", "吉田", "塚越"]
    names = {s.id: (s.name, s.named_by, s.role) for s in speakers}
    assert names["吉田"] == ("吉田明世", "profile", "host")
    assert names["塚越"][0] == "塚越健司"
    assert sum(s.turn_count for s in speakers) == len(turns)


def test_bundled_text_sample_names_its_guest(tmp_path):
    from tests.conftest import SAMPLE_TEXT

    document = episode_from_text(tmp_path, SAMPLE_TEXT.read_text(encoding="utf-8"), name=SAMPLE_TEXT.name)
    _, speakers = text_speakers(document, SAMPLE_TEXT.name)
    names = {s.id: s.name for s in speakers}
    assert names == {NARRATION: None, "佐藤": "佐藤花子", "中村": "中村美咲", "山田": "山田太郎"}
