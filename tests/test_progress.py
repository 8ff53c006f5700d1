"""Progress that tells the truth: a batch weighted by audio seconds, the current stage, timestamped lines without a
terminal, and the end-of-run summary (no model: text inputs and a silent WAV)."""

import io
import re

import numpy as np
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.progress import LogProgress, Tally, TerminalProgress
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
    bars.end_file(0, True, 30.0)
    bars.end_file(0, True, 30.0)  # a later phase of the same file does not count it again
    assert bars.batch.n == 30.0 and bars.batch.total == 35.0
    bars.close()
    assert "long.wav: transcribe" in stream.getvalue() and "30/35 s of audio" in stream.getvalue()
    assert "1/2 files done, 0 failed, 0 running; 0.01 h of audio" in stream.getvalue()  # the file counts


def test_files_are_counted_done_failed_and_running_with_the_audio_hours_and_the_time_left():
    tally = Tally([3600.0, 1800.0, 5.0], started=100.0)  # two audio files and a transcript
    tally.start(0)
    tally.start(1)
    assert tally.line(now=100.0) == "0/3 files done, 0 failed, 2 running; 0.00 h of audio; ETA unknown"
    assert tally.end(0, True, 3600.0)
    # 3,600 of 5,405 weighted seconds in an hour: 1,805 s to go at that rate
    assert tally.line(now=3700.0) == "1/3 files done, 0 failed, 1 running; 1.00 h of audio; ETA 0:30:05"
    assert tally.end(1, False, None)
    assert not tally.end(0, True, 3600.0)  # a later phase of a file already counted changes nothing
    assert tally.end(0, False, 3600.0)  # but a later failure does
    assert tally.counts() == "0/3 files done, 2 failed, 0 running; 1.00 h of audio"


def test_without_a_terminal_each_file_done_is_a_line_with_the_batch_counts():
    stream = io.StringIO()
    log = LogProgress(stream)
    log.start_batch([60.0, 5.0])
    log.start_file(0, "show.mp3")
    log.end_file(0, True, 60.0)
    log.end_file(0, True, 60.0)  # its next phase: no second line
    (line,) = stream.getvalue().splitlines()
    assert re.match(rf"{STAMP} file +show\.mp3: ok; 1/2 files done, 0 failed, 0 running; 0\.02 h of audio; ETA "
                    r"\d+:\d\d:\d\d$", line)  # fmt: skip
