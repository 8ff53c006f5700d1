"""Speakers on real audio through the runner: enrolled hosts get their names, a guest stays anonymous."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.plan import run_pipeline
from tests.conftest import PROJECT_ROOT, SAMPLE_AUDIO, encode

pytestmark = pytest.mark.model

ENROL = PROJECT_ROOT / "tests" / "data" / "diarize"
RATE = 16000


@pytest.fixture(scope="module")
def enrolled_shows(tmp_path_factory):
    """A shows folder holding the asaradio profile and voiceprints made with `pipeline enrol` from 10 s clips."""
    from faster_whisper import decode_audio

    shows = tmp_path_factory.mktemp("shows")
    shutil.copy(PROJECT_ROOT / "configs" / "shows" / "asaradio.yaml", shows / "asaradio.yaml")
    for voice, name in (("yamada", "山田太郎"), ("sato", "佐藤花子")):
        clip = decode_audio(str(ENROL / f"enrol_{voice}.ogg"), sampling_rate=RATE)[: 10 * RATE]
        path = encode(shows / f"{voice}_10s.flac", clip.astype(np.float32), RATE, "flac", "flac")
        result = CliRunner().invoke(
            cli, ["enrol", "--show", "asaradio", "--name", name, str(path), "--set", f"input.shows_dir={shows}"]
        )
        assert result.exit_code == 0, result.output
        assert "enrolled" in result.output
    return shows


@pytest.fixture(scope="module")
def episode(enrolled_shows, tmp_path_factory):
    config = load_config(overrides=[f"input.shows_dir={enrolled_shows}"])
    (episode,) = run_pipeline([SAMPLE_AUDIO], tmp_path_factory.mktemp("out"), config)
    assert episode.status == "ok", episode.error
    return episode


def test_enrolled_hosts_are_named_and_the_guest_stays_anonymous(episode, sample_reference):
    speakers = {s.id: s for s in episode.speakers}
    named = {s.name: s for s in speakers.values() if s.name}
    assert set(named) == {"山田太郎", "佐藤花子"}
    assert all(s.named_by == "voiceprint" and s.role == "host" for s in named.values())
    anonymous = [s for s in speakers.values() if s.name is None]
    assert len(anonymous) == 1 and anonymous[0].id.startswith("SPEAKER_")
    assert episode.diarization.speaker_count == len(sample_reference["speakers"]) == 3
    # the host who opens the show is 山田 (reference turn 0), and the guest talks the most
    assert speakers[episode.turns[0].speaker].name == "山田太郎"
    assert max(speakers.values(), key=lambda s: s.talk_time).name is None


def test_turns_follow_the_reference_speaker_changes(episode, sample_reference):
    """Most reference turns are matched by a pipeline turn of the right (mapped) speaker."""
    mapping = {"yamada": "山田太郎", "sato": "佐藤花子", "nakamura": None}
    names = {s.id: s.name for s in episode.speakers}
    hits = 0
    for ref in sample_reference["turns"]:
        middle = (ref["start"] + ref["end"]) / 2
        turn = next((t for t in episode.turns if t.start <= middle <= t.end), None)
        hits += turn is not None and names[turn.speaker] == mapping[ref["speaker"]]
    assert hits >= 0.85 * len(sample_reference["turns"])


def test_enrol_refuses_a_clip_without_speech(tmp_path, enrolled_shows):
    from tests.conftest import write_wav

    silent = write_wav(tmp_path / "silence.wav", np.zeros(3 * RATE, np.float32))
    result = CliRunner().invoke(
        cli, ["enrol", "--show", "asaradio", "--name", "誰か", str(silent), "--set", f"input.shows_dir={enrolled_shows}"]
    )
    assert result.exit_code == 1 and "silence.wav" in result.output


def test_figures_carry_speaker_and_time(episode):
    fares = [m for m in episode.figures if m.figure.text == "200円"]
    assert len(fares) == 2 and all(m.figure.value == 200 and m.figure.unit == "JPY" for m in fares)
    names = {s.id: s.name for s in episode.speakers}
    fare, echo = sorted(fares, key=lambda m: m.time[0])
    assert names[fare.speaker] is None  # the guest commentator gives the fare ...
    assert names[echo.speaker] == "佐藤花子"  # ... and the host repeats it (200円なら気軽に乗れますね)
    assert 20 < fare.time[0] < fare.time[1] < 40 and "200円" in fare.sentence.replace(" ", "")
    assert all(m.time is not None and m.speaker in names for m in episode.figures)


def test_entities_carry_speaker_and_time(episode, sample_reference):
    names = {s.id: s.name for s in episode.speakers}
    assert all(m.time is not None and m.speaker in names for e in episode.entities for m in e.mentions)
    by_name = {e.name: e for e in episode.entities}
    # the host names himself at the top of the show; the reference has him on air from 1.0 to 6.1 s
    (own_name,) = by_name["山田太郎"].mentions
    assert names[own_name.speaker] == "山田太郎" and 1.0 <= own_name.time[0] < own_name.time[1] <= 6.5
    # 静岡県浜松市 (reference: 山田's turn at 15.8-24.2 s) comes out as two places, said by 山田 in that turn
    places = [by_name.get("静岡県"), by_name.get("浜松市")]
    assert all(p is not None and p.type == "LOCATION" for p in places), sorted(by_name)
    for place in places:
        (said,) = place.mentions
        assert names[said.speaker] == "山田太郎" and 15.5 <= said.time[0] < said.time[1] <= 24.5


def test_summary_quotes_the_transcript_with_speaker_and_time(episode):
    from tests.test_summary import CONFIG, check_summary

    check_summary(episode, CONFIG.summary.key_sentences)
    assert episode.summary.headline.start is not None
