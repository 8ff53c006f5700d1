"""The batch runner end to end, with the real bundled model on small audio made from the sample."""

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
from pipeline.emit import EPISODES_FILE, TURNS_FILE, episode_schema, turn_schema
from pipeline.fileio import TEMP_PREFIX, read_jsonl
from pipeline.runner import Runner, discover, shard
from tests.conftest import SAMPLE_AUDIO, encode, write_wav

RATE = 16000


def run_batch(folder, out, overrides=()):
    config = load_config(overrides=list(overrides))
    files, skipped = discover([folder], config)
    results = list(Runner(config, out).run(files))
    return {r.episode.source.name: r.episode for r in results}, skipped


@pytest.fixture(scope="module")
def short_clip(sample_pcm):
    """The sample's first 12 s: the hosts' opening lines."""
    return sample_pcm[: 12 * RATE]


def test_discover_skips_unknown_types_and_hidden_files(tmp_path, config):
    for name in ("b.mp3", "a.txt", "c.vtt", "notes.pdf", ".hidden.wav"):
        (tmp_path / name).write_bytes(b"x")
    files, skipped = discover([tmp_path], config)
    assert [p.name for p in files] == ["a.txt", "b.mp3", "c.vtt"]
    assert [p.name for p in skipped] == ["notes.pdf"]
    assert [p.name for p in shard(files, 1, 2)] == ["b.mp3"]


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
    assert speech.status == "ok" and "あさラジ" in speech.text.replace(" ", "") or "ラジ" in speech.text
    assert speech.show.air_date == "2024-03-12" and speech.show.name == "あさラジ"
    assert speech.transcription.language == "ja"
    words = [w for s in speech.segments for w in s.words]
    assert words and all(0 <= w.start <= w.end <= speech.duration + 0.5 for w in words)

    records = read_jsonl(tmp_path / "out" / EPISODES_FILE)
    assert [r["source"]["name"] for r in records] == sorted(episodes)  # one line per input, in input order
    for record in records:
        jsonschema.validate(record, episode_schema())
    turns = read_jsonl(tmp_path / "out" / TURNS_FILE)
    assert {t["episode_id"] for t in turns} == {"asaradio_2024-03-12_clip", "asaradio_2024-03-13"}
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

    third, _ = run_batch(inbox, out, ["transcribe.beam_size=1"])
    assert not {r.stage: r for r in third["clip.wav"].provenance.stages}["transcribe"].cached


def test_renamed_file_keeps_its_transcription_but_takes_its_new_name(tmp_path, short_clip):
    inbox = tmp_path / "in"
    inbox.mkdir()
    write_wav(inbox / "asaradio_2024-03-12.wav", short_clip)
    out = tmp_path / "out"
    run_batch(inbox, out)
    (inbox / "asaradio_2024-03-12.wav").rename(inbox / "asaradio_2024-04-02.wav")
    episodes, _ = run_batch(inbox, out)
    episode = episodes["asaradio_2024-04-02.wav"]
    assert episode.episode_id == "asaradio_2024-04-02" and episode.show.air_date == "2024-04-02"
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


def test_a_failing_batch_stage_keeps_every_record(tmp_path, monkeypatch):
    from pipeline.dedup import DedupStage

    def broken(self, episodes):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(DedupStage, "__call__", broken)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.txt").write_text("佐藤:おはようございます。\n", encoding="utf-8")
    episodes, _ = run_batch(inbox, tmp_path / "out")
    assert episodes["a.txt"].status == "ok"
    assert "dedup failed (RuntimeError: simulated bug)" in episodes["a.txt"].notes[0]
    assert len(read_jsonl(tmp_path / "out" / EPISODES_FILE)) == 1
