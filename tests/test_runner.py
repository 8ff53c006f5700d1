"""The default plan end to end, with the real bundled model on small audio made from the sample."""

import json
import shutil
import signal
import subprocess
import sys
import time

import jsonschema
import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.engine.output import EPISODES_FILE, TURNS_FILE
from pipeline.files import TEMP_PREFIX, read_jsonl
from pipeline.plan import run_pipeline
from pipeline.records.schema import episode_schema, turn_schema
from tests.conftest import SAMPLE_AUDIO, encode, write_wav

pytestmark = pytest.mark.model
RATE = 16000


def run_batch(folder, out, overrides=()):
    episodes = run_pipeline([folder], out, load_config(overrides=list(overrides)))
    return {e.source.name: e for e in episodes}, None


@pytest.fixture(scope="module")
def short_clip(sample_pcm):
    """The sample's first 12 s: the hosts' opening lines."""
    return sample_pcm[: 12 * RATE]


def test_bad_files_get_their_own_errors_and_good_ones_are_processed(tmp_path, short_clip):
    inbox = tmp_path / "in"
    inbox.mkdir()
    good_mp3 = encode(inbox / "asaradio_2024-03-12_clip.mp3", short_clip, RATE, "mp3", "libmp3lame")
    data = good_mp3.read_bytes()
    (inbox / "corrupt.mp3").write_bytes(data[:2000] + np.random.default_rng(0).bytes(len(data) - 2000))
    (inbox / "empty.wav").write_bytes(b"")
    (inbox / "notes.wav").write_text("これは音声ファイルではありません。\n" * 50, encoding="utf-8")
    write_wav(inbox / "silence.wav", np.zeros(5 * RATE, np.float32))
    (inbox / "asaradio_2024-03-13.txt").write_text("佐藤:おはようございます。\n", encoding="utf-8")

    episodes, _ = run_batch(inbox, tmp_path / "out")

    errors = {name: (e.error.stage, e.error.message) for name, e in episodes.items() if e.status == "error"}
    assert set(errors) == {"corrupt.mp3", "empty.wav", "notes.wav"}
    assert "corrupt audio" in errors["corrupt.mp3"][1]
    assert "empty file" in errors["empty.wav"][1]
    assert "not a readable audio" in errors["notes.wav"][1]

    silence = episodes["silence.wav"]
    assert silence.status == "ok" and silence.segments == [] and silence.text == ""
    assert "no speech detected" in " ".join(silence.notes)

    speech = episodes["asaradio_2024-03-12_clip.mp3"]
    assert speech.status == "ok"
    assert "ラジ" in speech.text  # the show's name (あさラジ; base sometimes writes 朝ラジ)
    assert speech.show.air_date == "2024-03-12" and speech.show.name == "あさラジ"
    assert speech.transcription.language == "ja"
    words = [w for s in speech.segments for w in s.words]
    assert words and all(0 <= w.start <= w.end <= speech.duration + 0.5 for w in words)

    records = read_jsonl(tmp_path / "out" / EPISODES_FILE)
    assert [r["source"]["name"] for r in records] == sorted(episodes)  # one line per input, in input order
    for record in records:
        jsonschema.validate(record, episode_schema())
    turns = read_jsonl(tmp_path / "out" / TURNS_FILE)
    assert {t["episode_id"] for t in turns} == {"asaradio_2024-03-12_clip.mp3", "asaradio_2024-03-13.txt"}
    for turn in turns:
        jsonschema.validate(turn, turn_schema())
    assert any(t["speaker_name"] == "佐藤花子" and t["show"] == "あさラジ" for t in turns)


def test_second_run_is_cached_and_output_options_do_not_rerun_asr(tmp_path, short_clip):
    inbox = tmp_path / "in"
    inbox.mkdir()
    write_wav(inbox / "clip.wav", short_clip)
    out = tmp_path / "out"
    first, _ = run_batch(inbox, out)
    stages = {r.stage: r.cached for r in first["clip.wav"].provenance.stages}
    assert stages["transcribe"] is False and not any(stages.values())
    assert list(stages)[:2] == ["ingest", "transcribe"] and "dedup" in stages and "speakers" in stages

    second, _ = run_batch(inbox, out, ["output.include_words=false"])
    runs = {r.stage: r for r in second["clip.wav"].provenance.stages}
    assert runs["transcribe"].cached and runs["transcribe"].seconds == 0
    assert second["clip.wav"].text == first["clip.wav"].text
    assert all(s["words"] == [] for s in read_jsonl(out / EPISODES_FILE)[0]["segments"])

    def recomputed(episodes):
        """Stages that ran rather than came from the cache (ingest, speakers and names are never cached)."""
        return {r.stage for r in episodes["clip.wav"].provenance.stages if not r.cached} - {"ingest", "speakers", "names"}

    assert recomputed(second) == set()
    third, _ = run_batch(inbox, out, ["transcribe.beam_size=1"])
    assert "transcribe" in recomputed(third) and "diarize" not in recomputed(third)
    fourth, _ = run_batch(inbox, out, ["transcribe.beam_size=1", "summary.keywords=3"])
    assert recomputed(fourth) == {"summary"}
    assert len(fourth["clip.wav"].summary.keywords) <= 3


def test_renamed_file_keeps_its_transcription_but_takes_its_new_name(tmp_path, short_clip):
    inbox = tmp_path / "in"
    inbox.mkdir()
    write_wav(inbox / "asaradio_2024-03-12.wav", short_clip)
    out = tmp_path / "out"
    run_batch(inbox, out)
    (inbox / "asaradio_2024-03-12.wav").rename(inbox / "asaradio_2024-04-02.wav")
    episodes, _ = run_batch(inbox, out)
    episode = episodes["asaradio_2024-04-02.wav"]
    assert episode.episode_id == "asaradio_2024-04-02.wav" and episode.show.air_date == "2024-04-02"
    assert {r.stage: r.cached for r in episode.provenance.stages}["transcribe"]


def _no_partial_files(out):
    leftovers = [p for p in out.rglob(f"{TEMP_PREFIX}*")]
    assert leftovers == [], leftovers
    for path in out.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # every cache entry is whole
    if (out / EPISODES_FILE).exists():
        read_jsonl(out / EPISODES_FILE)


def test_kill_9_mid_run_then_rerun_completes_with_no_partial_files(tmp_path, sample_pcm):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SAMPLE_AUDIO, inbox / "asaradio_2024-03-12.ogg")
    write_wav(inbox / "asaradio_2024-03-19.wav", sample_pcm[: 60 * RATE])  # other bytes: not a cache hit
    (inbox / "z_note.txt").write_text("佐藤:テキストです。\n", encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipeline", "run", str(inbox), "--output", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    # kill once the first file is done and the second is being transcribed
    while time.monotonic() < deadline and not list((out / ".cache" / "transcribe").glob("*.json")):
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / EPISODES_FILE).exists()  # the batch file is only written whole, at the end
    _no_partial_files(out)

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3 ok, 0 failed" in done.stdout
    records = read_jsonl(out / EPISODES_FILE)
    assert [r["status"] for r in records] == ["ok", "ok", "ok"]
    assert records[0]["provenance"]["stages"][1]["cached"] is True  # the file finished before the kill
    _no_partial_files(out)
