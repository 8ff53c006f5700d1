"""Progress that tells the truth: a batch weighted by audio seconds, the current stage, timestamped lines without a
terminal, and the end-of-run summary (no model: text inputs and a silent WAV)."""

import io
import re

import numpy as np
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.progress import LogProgress, TerminalProgress
from pipeline.engine.runner import Runner
from pipeline.engine.inputs import Input
from pipeline.plan import default_plan
from tests.conftest import write_wav

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def test_without_a_terminal_each_stage_of_each_file_is_a_timestamped_line_and_the_run_ends_with_a_summary(tmp_path):
    (tmp_path / "a.txt").write_text("佐藤:運賃は200円に値上げされます。\n鈴木:そうですか。\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("田中:新しい駅は3月に開業します。\n山本:楽しみですね。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "-o",
                                      str(tmp_path / "out"), "--set", "entities.enabled=false"])  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ("a.txt", "b.txt"):  # file stages: one line per stage and file, with its seconds
        for stage in ("ingest", "speakers", "figures"):
            assert any(re.match(rf"{STAMP} {stage} +{name}: \d+\.\d s$", line) for line in lines), (stage, name)
    assert any(re.match(rf"{STAMP} dedup +batch of 2 file\(s\): \d+\.\d s$", line) for line in lines)
    table = lines.index(next(line for line in lines if line.startswith("stage ") and "seconds" in line))
    assert [line.split()[0] for line in lines[table + 1 : table + 4]] == ["ingest", "correct", "dedup"]
    assert "slowest files:" in lines and lines[-1].startswith("2 ok, 0 failed")


def test_log_lines_give_the_real_time_factor_of_audio_and_say_cached():
    stream = io.StringIO()
    log = LogProgress(stream)
    log.end_stage(0, "show\x1b[31m.mp3", "transcribe", 12.0, False, 240.0)
    log.end_stage(0, "show.mp3", "diarize", 0.0, True, 240.0)
    first, second = stream.getvalue().splitlines()
    assert re.match(rf"{STAMP} transcribe show\\x1b\[31m\.mp3: 12\.0 s \(RTF 0\.050\)$", first)  # no raw escape
    assert re.match(rf"{STAMP} diarize +show\.mp3: cached$", second)


def test_the_batch_bar_counts_audio_seconds_and_a_transcript_weighs_little(tmp_path):
    config = load_config()
    write_wav(tmp_path / "long.wav", np.zeros(16000 * 30, np.float32))
    (tmp_path / "note.txt").write_text("佐藤:こんにちは。\n", encoding="utf-8")
    runner = Runner(config, tmp_path / "out", default_plan(config))
    tasks = [runner.task(i, Input(tmp_path / n, n)) for i, n in enumerate(["long.wav", "note.txt"])]
    assert [runner.weight(t) for t in tasks] == [30.0, config.runner.progress_text_weight_s]

    stream = io.StringIO()
    bars = TerminalProgress(stream)
    bars.start_batch([30.0, 5.0])
    bars.start_stage(0, "long.wav", "transcribe")
    bars.measure(30.0, "s")
    bars.advance(12.5)
    assert (bars.stage.n, bars.stage.total, bars.stage.unit) == (12.5, 30.0, "s")
    bars.end_file(0)
    bars.end_file(0)  # a later phase of the same file does not count it again
    assert bars.batch.n == 30.0 and bars.batch.total == 35.0
    bars.close()
    assert "long.wav: transcribe" in stream.getvalue() and "30/35 s of audio" in stream.getvalue()
