"""Speaker names from speech: cues found in turns, weighed per speaker, and the stage that puts them on speakers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.config import load_config, load_profiles, match_profile, resolve_path
from pipeline.engine.stage import ModelStore
from pipeline.engine.work import blank_episode
from pipeline.lib.lexicon import readings_of
from pipeline.lib.naming import candidates, cue_of, decide, family_name, mentions, weigh
from pipeline.records import Diarization, EpisodeContext, Segment, SpeakerSpan, Turn, VoiceMatch, Word
from pipeline.stages.names import NamesStage
from pipeline.stages.speakers import SpeakersStage
from pipeline.text.normalise import katakana
from pipeline.text.reader import Reader

CONFIG = load_config()
OPTIONS = CONFIG.speakers
HONORIFICS = tuple(OPTIONS.honorifics)
PROFILE = match_profile("asaradio_2024-03-12", load_profiles(resolve_path(CONFIG.input.shows_dir)))

SHOW = [  # (speaker, text): the bundled sample's opening, as ASR writes it (仲村 for 中村)
    ("S0", "おはようございます。火曜日のあさラジ、パーソナリティの山田太郎です。"),
    ("S1", "佐藤花子です。今日は、東都大学准教授の中村美咲さんにお越しいただきました。"),
    ("S2", "よろしくお願いします。"),
    ("S0", "仲村さん、新しいバスはいつからですか。"),
    ("S2", "3月18日の月曜日からです。"),
    ("S1", "中村さん、ありがとうございました。"),
    ("S2", "ありがとうございました。"),
]


@pytest.fixture(scope="module")
def reader():
    return Reader()


def turns_of(lines):
    return [Turn(id=i, speaker=s, start=float(i * 5), end=float(i * 5 + 4), text=t, section=None, segments=[i], words=[])
            for i, (s, t) in enumerate(lines)]  # fmt: skip


def verdicts(lines, people, reader, min_evidence=2, margin=2.0):
    cands = candidates(people, lambda text: readings_of(text, reader), 3)
    turns = turns_of(lines)

    def tokens(text):
        return [(a, b, katakana(m.reading_form())) for a, b, m in reader.tokenize(text)]

    found = mentions(turns, cands, tokens, HONORIFICS, OPTIONS.speech_near_min_morae,
                     OPTIONS.speech_self_near_min_morae)
    return decide(weigh(turns, found, HONORIFICS), min_evidence, margin)


PEOPLE = [("山田太郎", "profile", ["山田"]), ("佐藤花子", "profile", ["佐藤"]), ("中村美咲", "introduction", ["中村"])]


def test_self_introductions_introductions_and_addresses_name_each_speaker(reader):
    got = verdicts(SHOW, PEOPLE, reader)
    assert {s: v.name for s, v in got.items()} == {"S0": "山田太郎", "S1": "佐藤花子", "S2": "中村美咲"}
    guest = got["S2"]
    assert [(c.kind, c.said_by, c.turn) for c in guest.cues] == [
        ("introduction", "S1", 1), ("address", "S0", 3), ("address", "S1", 5)]  # 仲村 found by its reading
    assert guest.confidence == 1.0 and "仲村さん" in guest.cues[1].phrase


def test_weak_or_contested_evidence_names_nobody(reader):
    one_address = [("S0", "中村さん、どうですか。"), ("S1", "はい、そう思います。")]
    assert verdicts(one_address, PEOPLE, reader)["S1"].name is None  # one address: weight 1 < 2
    both = [("S0", "山田太郎です。"), ("S1", "山田太郎です。")]  # two voices claim one name: neither gets it
    assert {v.name for v in verdicts(both, PEOPLE, reader).values()} == {None}
    addresses_self = [("S0", "中村美咲です。中村さん、どうぞ。"), ("S1", "はい。")]
    assert verdicts(addresses_self, PEOPLE, reader)["S0"].name is None  # nobody addresses themselves
    joined = [("S0", "山田太郎です。"), ("S1", "佐藤花子です。"), ("S0", "山田太郎です。"), ("S0", "中村美咲です。")]
    assert verdicts(joined, PEOPLE, reader)["S0"].name is None  # two people in one diarized voice: no name
    host_and_guest = [("S0", "山田太郎です。"), ("S1", "中村美咲さんにお越しいただきました。"), ("S0", "よろしくお願いします。"),
                      ("S1", "中村さん、最初の質問です。"), ("S0", "はい。")]  # fmt: skip
    assert verdicts(host_and_guest, PEOPLE, reader)["S0"].name is None  # 山田 answers for 中村 twice: two people


def test_a_name_called_inside_the_turns_of_the_voice_it_names_is_another_voice_s_words(reader):
    """The diarization put the co-host's 乙部さん、… between the guest's answers: nobody calls themselves, but the
    guest introduced herself and the host introduced her, so those words are another voice's, not a contradiction
    that leaves both unnamed (the host would seem to answer for the guest)."""
    people = [("蓮見拓海", "context", ["蓮見"]), ("日比野真帆", "context", ["日比野"]), ("乙部千景", "context", ["乙部"])]
    lines = [("S0", "パーソナリティの蓮見拓海です"), ("S1", "日比野です"),
             ("S0", "今日は東京海洋大学の乙部千景さんにお越しいただきました"),
             ("S2", "乙部です よろしくお願いします 乙部さん ご専門は何ですか 魚の研究です"), ("S0", "なるほど"),
             ("S2", "海の水温を調べています 乙部さん 魚は変わりましたか はい"), ("S0", "意外ですね"),
             ("S0", "乙部千景さんでした ありがとうございました"), ("S2", "ありがとうございました")]
    got = verdicts(lines, people, reader)
    assert {s: v.name for s, v in got.items()} == {"S0": "蓮見拓海", "S1": "日比野真帆", "S2": "乙部千景"}
    assert got["S2"].absorbed == (3, 5)
    alone = [lines[0], ("S2", "乙部さん ご専門は"), ("S0", "魚です"), ("S2", "乙部さん 本当ですか"), ("S0", "はい")]
    assert verdicts(alone, people, reader)["S0"].name is None  # never introduced as 乙部: it answers for her


def test_what_a_mention_says_depends_on_the_words_around_it():
    from pipeline.lib.naming import Mention

    def kind(text, name):
        at = text.index(name)
        return cue_of(Mention(0, at, at + len(name), name, name), text, HONORIFICS)

    assert kind("パーソナリティの山田太郎です。", "山田太郎") == "self_introduction"
    assert kind("お相手は山田太郎でした。", "山田太郎") == "self_introduction"
    assert kind("ゲストは中村美咲です。", "中村美咲") is None  # someone else, even without さん
    assert kind("中村さん、どうぞ。", "中村") == "address"
    assert kind("中村さんにお越しいただきました。", "中村") == "introduction"
    assert kind("山田の本では", "山田") is None
    assert kind("中村さんのような方が", "中村") is None  # talk about someone, not to them
    assert kind("中村さんおはようございます", "中村") == "address"
    assert kind("中村さんは、この秋何か始めましたか", "中村") == "address"  # a question put to her
    assert kind("中村さんは、発酵の研究者です。どうですか", "中村") is None  # about her; the question is another


def test_candidates_come_from_the_profile_the_notes_and_full_names_the_transcript_introduces(reader):
    assert family_name("中村美咲", reader, whole=True) == "中村"
    assert family_name("ハセガは", reader, whole=True) is None  # an ASR spelling is no candidate
    assert family_name("塚越あかり", reader) == "塚越"
    (nakamura,) = candidates([("中村美咲", "context", ["中村"])], lambda text: readings_of(text, reader), 3)
    assert {"中村", "ナカムラ", "なかむら", "なかむらみさき"} <= set(nakamura.forms)  # as written and in kana

    episode = audio_episode(SHOW)
    episode.turns = turns_of(SHOW)
    episode.context = EpisodeContext(path="x.notes.txt", sha256="0", text="ゲスト：東都大学 准教授 中村美咲さん", terms=[])
    people = NamesStage(OPTIONS, CONFIG.diarize, CONFIG.dedup.credit_keys).people(episode, reader, PROFILE)
    assert ("山田太郎", "profile", ["山田"]) in people and ("中村美咲", "context", ["中村", "美咲"]) in people
    assert ("中村美咲", "introduction", ["中村", "美咲"]) in people


def audio_episode(lines):
    episode = blank_episode(Path("asaradio_2024-03-12.ogg"), "asaradio_2024-03-12.ogg", "0", "audio", 1, "0")
    segments, spans = [], []
    for i, (speaker, text) in enumerate(lines):
        start = i * 5.0
        words = [Word(start=start + j * 0.1, end=start + (j + 1) * 0.1, text=ch, probability=0.9)
                 for j, ch in enumerate(text)]  # fmt: skip
        segments.append(Segment(id=i, start=start, end=words[-1].end, text=text, speaker=None, line=None, words=words))
        spans.append(SpeakerSpan(start=start, end=words[-1].end, speaker=speaker))
    episode.segments = segments
    episode.diarization = Diarization(spans=spans, speaker_count=3, voice_matches=[], seconds=0.0)
    return episode


def run_stage(episode, options, others=(), profile=PROFILE):
    """The speakers stage, then the names stage over a batch of this episode and `others` (done episodes)."""
    job = SimpleNamespace(models=ModelStore(), profile=profile, ingest=CONFIG.ingest)
    SpeakersStage(options).run(episode, job)
    stage = NamesStage(options, CONFIG.diarize, CONFIG.dedup.credit_keys)
    batch = [(e, job) for e in (episode, *others) if stage.applies_to(e)]
    assert stage.run_batch(batch) == {} if batch else True
    return {s.id: (s.name, s.named_by, s.role) for s in episode.speakers}


def test_the_stage_names_speakers_and_the_switch_restores_the_anonymous_output():
    assert run_stage(audio_episode(SHOW), OPTIONS) == {
        "S0": ("山田太郎", "speech", "host"), "S1": ("佐藤花子", "speech", "host"), "S2": ("中村美咲", "speech", "guest")}
    off = audio_episode(SHOW)
    assert run_stage(off, OPTIONS.model_copy(update={"speech_names": False})) == {
        "S0": (None, None, None), "S1": (None, None, None), "S2": (None, None, None)}
    assert all(s.cues == [] and s.confidence is None and s.flag is None for s in off.speakers)


def test_the_one_host_nobody_names_is_the_one_voice_that_speaks_as_a_host():
    """Two hosts listed (the profile, or the notes' パーソナリティ line), one names himself; the other never says her
    name, but she speaks in the opening, before the guest is brought in, and calls the guest by name."""
    lines = [("S0", "おはようございます。パーソナリティの山田太郎です。"), ("S1", "おはようございます。今日も暑いですね。"),
             ("S0", "今日は東都大学の中村美咲さんにお越しいただきました。"), ("S2", "中村です。よろしくお願いします。"),
             ("S1", "中村さん、新しいバスはいつからですか。"), ("S2", "三月からです。"), ("S0", "中村美咲さんでした。"),
             ("S2", "ありがとうございました。")]  # fmt: skip
    assert run_stage(audio_episode(lines), OPTIONS)["S1"] == ("佐藤花子", "elimination", "host")
    page = audio_episode(lines)  # no profile: the station's page lists the hosts
    page.context = EpisodeContext(path="x.notes.txt", sha256="0", text="あさラジ\nパーソナリティ：山田太郎、佐藤花子\n", terms=[])
    assert run_stage(page, OPTIONS, profile=None)["S1"] == ("佐藤花子", "elimination", "host")
    assert "S1 is 佐藤花子 by elimination" in " ".join(page.notes)
    off = OPTIONS.model_copy(update={"name_last_host": False})
    assert run_stage(audio_episode(lines), off)["S1"] == (None, None, None)
    silent = [*lines[:4], ("S0", "中村さん、新しいバスはいつからですか。"), *lines[5:]]  # S1 calls nobody
    assert run_stage(audio_episode(silent), OPTIONS)["S1"] == (None, None, None)
    late = [lines[0], *lines[2:4], lines[1], *lines[4:]]  # S1 first speaks after the guest is brought in
    assert run_stage(audio_episode(late), OPTIONS)["S1"] == (None, None, None)


def test_a_voiceprint_stays_first_and_speech_that_disagrees_is_flagged():
    episode = audio_episode(SHOW)
    episode.diarization.voice_matches = [VoiceMatch(speaker="S0", name="佐藤花子", similarity=0.8)]
    names = run_stage(episode, OPTIONS)
    assert names["S0"] == ("佐藤花子", "voiceprint", "host")
    s0 = next(s for s in episode.speakers if s.id == "S0")
    assert s0.flag and "山田太郎" in s0.flag
    s1 = next(s for s in episode.speakers if s.id == "S1")  # speech says S1 is 佐藤花子, the voiceprint's name
    assert s1.name is None and "voiceprint" in s1.flag and names["S2"] == ("中村美咲", "speech", "guest")


def test_a_guest_named_in_a_text_transcript_of_the_same_show_in_the_batch_is_a_candidate():
    """The bundled sample's case: ASR writes the guest 仲村みさき, no notes; the station's page of another day (a
    text transcript of the same show in the batch) names 中村美咲, whom the reading finds."""
    from pipeline.records import Speaker

    lines = [("S0", "パーソナリティの山田太郎です。"), ("S1", "佐藤花子です。今日は仲村みさきさんにお越しいただきました。"),
             ("S2", "よろしくお願いします。"), ("S0", "中村さん、ありがとうございました。"), ("S2", "ありがとうございました。")]  # fmt: skip
    page = blank_episode(Path("asaradio_2024-03-13.txt"), "asaradio_2024-03-13.txt", "1", "text", 1, "0")
    page.show.profile = PROFILE.key
    page.speakers = [Speaker(id="中村", label="中村", name="中村美咲", named_by="introduction", role="guest",
                             talk_time=None, chars=10, turn_count=1)]  # fmt: skip
    alone = audio_episode(lines)
    alone.show.profile = PROFILE.key
    assert run_stage(alone, OPTIONS)["S2"] == (None, None, None)  # 仲村みさき is no full name the dictionary knows
    with_page = audio_episode(lines)
    with_page.show.profile = PROFILE.key
    assert run_stage(with_page, OPTIONS, [page])["S2"] == ("中村美咲", "speech", "guest")
    other_show = audio_episode(lines)  # a page of another programme names nobody here
    assert run_stage(other_show, OPTIONS, [page])["S2"] == (None, None, None)


def test_asr_spellings_are_found_by_reading_exact_or_one_mora_off_for_long_names(reader):
    people = [("勅使河原玲奈", "context", ["勅使河原", "玲奈"]), ("宍戸彩", "context", ["宍戸", "彩"]),
              ("真壁隆之", "context", ["真壁", "隆之"])]
    lines = [("S0", "こんにちは、デシガワラです"), ("S1", "シシドアやです よろしくお願いします"), ("S0", "シシドさん 今年は"),
             ("S1", "はい")]
    got = verdicts(lines, people, reader, min_evidence=1)
    assert got["S0"].name == "勅使河原玲奈"  # デシガワラ: one mora off テシガワラ, 5 morae
    assert got["S1"].name == "宍戸彩" and got["S1"].cues[1].kind == "address"  # the pause after さん is a comma
    short = [("S0", "巻べです")]  # マキベ for マカベ: a short name one mora off is not enough alone
    assert verdicts(short, people, reader)["S0"].name is None
    # ... but it is the guest answering an introduction, in her first turn, at the start of a sentence
    introduced = [("S1", "今日は真壁隆之さんにお越しいただきました"), ("S0", "巻べです よろしくお願いします"), ("S1", "では")]
    got = verdicts(introduced, people, reader)["S0"]
    assert got.name == "真壁隆之" and [c.kind for c in got.cues] == ["introduction", "self_introduction"]
    later = [("S0", "そうですね"), *introduced[:1], ("S0", "巻べです")]  # not her first turn: an ordinary word
    assert [c.kind for c in verdicts(later, people, reader)["S0"].cues] == ["introduction"]


@pytest.mark.model
def test_the_bundled_samples_without_voiceprints_name_both_hosts_and_the_guest_from_speech(tmp_path):
    """`make all`'s input with the hosts' voiceprints out of reach (a threshold no voice meets): the hosts name
    themselves, the guest is introduced and thanked by name (ASR: 仲村みさき, 中村), and the station's page of the
    next day, a text transcript of the same show in the batch, spells her 中村美咲. Her mentions are one entity."""
    from conftest import SAMPLE_AUDIO, SAMPLE_TEXT

    from pipeline.plan import run_pipeline

    folder = tmp_path / "in"
    folder.mkdir()
    for sample in (SAMPLE_AUDIO, SAMPLE_TEXT):
        (folder / sample.name).write_bytes(sample.read_bytes())
    episodes = run_pipeline([folder], tmp_path / "out", load_config(overrides=["diarize.enrol_threshold=1.0"]))
    audio = next(e for e in episodes if e.source.kind == "audio")
    assert audio.diarization.voice_matches == []
    named = {s.name: s.named_by for s in audio.speakers}
    assert named == {"山田太郎": "speech", "佐藤花子": "speech", "中村美咲": "speech"}
    people = [e for e in audio.entities if e.type == "PERSON" and "中村" in e.name]
    assert [e.name for e in people] == ["中村美咲"]


def test_a_voice_that_is_two_people_by_what_is_said_is_found_and_its_stretches_go_to_the_nearer_voice():
    """Two similar voices joined by the diarization: the voice introduces itself as one person and answers first
    each time another is introduced or addressed (naming.joined); its stretches are then split by their voices,
    seeded by the stretches that open those turns (names.split_parts)."""
    import numpy as np

    from pipeline.lib.naming import Evidence, joined
    from pipeline.records import SpeakerCue
    from pipeline.stages.names import split_parts

    ev = Evidence(cues=[SpeakerCue(kind="self_introduction", name="汐見葵", turn=1, said_by="S1", phrase="汐見葵です")])
    ev.contested["宍戸彩"] += [3, 7]
    assert joined(ev, 2) == ([1], [3, 7]) and joined(ev, 3) is None  # twice answering is as strong as a name
    ev.contested["宍戸彩"].append(7)
    assert joined(ev, 3) is None  # two mentions in one turn (宍戸さん…宍戸さん) are one answer
    ev.cues.append(SpeakerCue(kind="self_introduction", name="宍戸彩", turn=3, said_by="S1", phrase="宍戸彩です"))
    assert sorted(joined(ev, 9)) == [[1], [3]]  # introduced as two people: joined whatever the answers

    def unit(x, y):
        return np.array([x, y]) / np.hypot(x, y)

    voices = {0: unit(1, 0.1), 1: unit(0.1, 1), 2: unit(1, 0.3), 3: unit(0.2, 1), 4: unit(0.3, 1), 5: unit(1, 0)}
    seconds = dict.fromkeys(voices, 3.0)
    assert split_parts(voices, [0, 5], [1, 4], seconds, 4.5) == {1, 3, 4}
    assert split_parts(voices, [0, 5], [1, 4], seconds, 10.0) == set()  # 9 s: too little speech for a person
    assert split_parts(voices, [0, 2], [1, 5], seconds, 4.5) == set()  # seed 5 sounds like the first: no split
    assert split_parts(voices, [0], [0], seconds, 4.5) == set()
