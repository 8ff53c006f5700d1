"""The output folder under stress: two runs at once, stale temps beside user files, a kill between the renames of
emit, line separators in records, a full disk. Fast: fake stages, or the real pipeline on text without NER."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import PROJECT_ROOT, load_config
from pipeline.engine.inputs import discover
from pipeline.engine.lock import LOCK_FILE, output_lock
from pipeline.engine.output import EPISODES_FILE, MANIFEST_FILE, TURNS_FILE, mismatch
from pipeline.engine.plan import Plan
from pipeline.engine.runner import Runner
from pipeline.engine.stage import FILE, FileStage, Job
from pipeline.errors import DiskFullError, OutputBusyError
from pipeline.files import TEMP_PREFIX, atomic_write_jsonl, read_jsonl, remove_stale_temp_files
from pipeline.records import Turn
from pipeline.search.export import export_elasticsearch
from pipeline.search.index import SearchError, build_index

ANALYZER = load_config().search.es_analyzer  # the configured default

CONFIG = load_config()
NO_NER = ["--set", "entities.enabled=false"]


class Read(FileStage):
    name, version, requires, produces = "read", "1", (FILE,), ("text",)

    def options_key(self, job: Job) -> Any:
        return None

    def run(self, episode, job):
        episode.text = job.path.read_text(encoding="utf-8")


class Turns(FileStage):
    """The text as one turn, so turns.jsonl gets a line per file."""

    name, version, requires, produces = "turns", "1", ("text",), ("turns",)

    def options_key(self, job: Job) -> Any:
        return None

    def run(self, episode, job):
        episode.turns = [Turn(id=0, speaker="S", start=None, end=None, text=episode.text, section=None, segments=[],
                              words=[])]  # fmt: skip


def run(folder: Path, out: Path):
    files, _ = discover([folder], CONFIG.input)
    return Runner(CONFIG, out, Plan([Read(), Turns()])).run(files)


def make_inputs(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"佐藤:{name}のテキストです。\n", encoding="utf-8")
    return folder


def spawn(script: str, *args: Path) -> subprocess.Popen:
    """A second process running `script`; returns once it prints its first line (it has reached its state)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def disk_full(*_args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# ---------------------------------------------------------------------------------- 1. one run per output folder

# The real pipeline (text, no NER) in another process, held after its first file until the test creates `go`.
HELD_RUN = """
import sys, time
from pathlib import Path
from pipeline.config import load_config
from pipeline.plan import run_pipeline

inbox, out, go = (Path(a) for a in sys.argv[1:])

def wait_for_go(task, phase):
    while not go.exists():
        time.sleep(0.05)

run_pipeline([inbox], out, load_config(overrides=["entities.enabled=false"]), wait_for_go)
"""

LOCK_AND_SLEEP = """
import sys, time
from pathlib import Path
from pipeline.engine.lock import output_lock

with output_lock(Path(sys.argv[1])):
    print("ready", flush=True)
    time.sleep(600)
"""


def _wait_for_lock_holder(out: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads((out / LOCK_FILE).read_text(encoding="utf-8"))["pid"] == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    pytest.fail(f"the first run never took the lock (exit status {proc.poll()})")


def test_a_second_run_into_a_busy_folder_exits_3_and_the_first_keeps_every_record(tmp_path):
    first_inputs = make_inputs(tmp_path / "inA", [f"a{i}.txt" for i in range(5)])
    second_inputs = make_inputs(tmp_path / "inB", ["b0.txt", "b1.txt"])
    out, go = tmp_path / "out", tmp_path / "go"
    first = subprocess.Popen([sys.executable, "-c", HELD_RUN, str(first_inputs), str(out), str(go)],
                             cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_for_lock_holder(out, first)
        second = subprocess.run(
            [sys.executable, "-m", "pipeline", "run", str(second_inputs), "-o", str(out), *NO_NER, "--no-progress"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 3, second.stderr
        (message,) = second.stderr.strip().splitlines()  # one line, no traceback
        assert "in use by another run" in message and str(out) in message and f"pid {first.pid}" in message
        assert second.stdout == ""  # it processed nothing
        go.touch()
        assert first.wait(timeout=120) == 0, first.communicate()
    finally:
        if first.poll() is None:
            kill(first)
    records = read_jsonl(out / EPISODES_FILE)
    assert [r["episode_id"] for r in records] == [f"a{i}.txt" for i in range(5)]
    assert mismatch(out) is None
    assert [p for p in out.rglob(f"{TEMP_PREFIX}*")] == []


def test_the_lock_of_a_live_process_refuses_and_of_a_killed_one_is_taken_again(tmp_path):
    inputs, out = make_inputs(tmp_path / "in", ["x.txt"]), tmp_path / "out"
    holder = spawn(LOCK_AND_SLEEP, out)
    try:
        with pytest.raises(OutputBusyError, match=rf"{out}.*pid {holder.pid} on "):
            run(inputs, out)
    finally:
        kill(holder)  # kill -9: nothing of it cleans up, the OS drops its lock
    assert [e.status for e in run(inputs, out)] == ["ok"]


def test_a_run_into_a_folder_locked_in_this_process_is_refused(tmp_path):
    with output_lock(tmp_path / "out"):
        with pytest.raises(OutputBusyError, match="in use by another run"):
            run(make_inputs(tmp_path / "in", ["x.txt"]), tmp_path / "out")
    assert not (tmp_path / "out" / EPISODES_FILE).exists()  # the refused run wrote nothing


# ------------------------------------------------------------------------------ 2. stale temps, and only those

# A write in progress: the temp exists, the rename has not happened.
WRITE_AND_SLEEP = """
import sys, time
from pathlib import Path
from pipeline.files import atomic_open

with atomic_open(Path(sys.argv[1]), "w") as f:
    f.write("half")
    f.flush()
    print("ready", flush=True)
    time.sleep(600)
"""


def _temp_of(target: Path) -> Path:
    (temp,) = [p for p in target.parent.glob(f"{TEMP_PREFIX}*") if f".{target.name}." in p.name]
    return temp


def test_a_run_removes_only_temps_of_dead_writers_in_the_folders_it_writes(tmp_path):
    inputs, out = make_inputs(tmp_path / "in", ["x.txt"]), tmp_path / "out"
    user_files = [out / "notes" / "deep" / ".tmp-draft.txt", out / ".tmp-mine.txt", out / "notes" / "keep.txt"]
    for path in user_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine", encoding="utf-8")
    dead_writes = [out / EPISODES_FILE, out / ".cache" / "read" / "k.json", out / "notes" / "deep" / "draft.txt"]
    for target in dead_writes:
        kill(spawn(WRITE_AND_SLEEP, target))  # kill -9 mid-write: its temp stays behind
    dead_temps = [_temp_of(target) for target in dead_writes]
    live = spawn(WRITE_AND_SLEEP, out / ".cache" / "turns" / "k.json")  # a live run sharing the cache folder
    try:
        live_temp = _temp_of(out / ".cache" / "turns" / "k.json")
        assert [e.status for e in run(inputs, out)] == ["ok"]
        assert [p.exists() for p in dead_temps] == [False, False, True]  # not in a folder the run writes
        assert live_temp.exists()
        assert all(p.read_text(encoding="utf-8") == "mine" for p in user_files)
    finally:
        kill(live)


def test_temps_of_another_machine_stay(tmp_path):
    kill(spawn(WRITE_AND_SLEEP, tmp_path / "x.json"))
    temp = _temp_of(tmp_path / "x.json")
    _, marker, host, rest = temp.name.split(".", 3)
    other = temp.rename(temp.with_name(f".{marker}.{'0' * len(host)}.{rest}"))  # same pid, another host
    assert remove_stale_temp_files(tmp_path) == 0 and other.exists()
    other.rename(temp)
    assert remove_stale_temp_files(tmp_path) == 1 and not temp.exists()


# ------------------------------------------------------------------- 3. episodes.jsonl and turns.jsonl as a pair


class Killed(BaseException):
    """Stands for kill -9 at one instant (a BaseException, like the signal, passes `except Exception`)."""


def test_index_refuses_an_episodes_file_beside_the_turns_of_an_older_run(tmp_path, monkeypatch):
    inputs, out = make_inputs(tmp_path / "in", ["x.txt"]), tmp_path / "out"
    run(inputs, out)
    make_inputs(inputs, ["y.txt"])
    real_replace = os.replace

    def killed_before_the_turns(src, dst):
        if Path(dst).name == TURNS_FILE:
            raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_before_the_turns)
    with pytest.raises(Killed):
        run(inputs, out)
    monkeypatch.undo()
    assert len(read_jsonl(out / EPISODES_FILE)) == 2 and len(read_jsonl(out / TURNS_FILE)) == 1  # the torn pair

    with pytest.raises(SearchError, match=rf"{TURNS_FILE} is not the file the last run .* run it again"):
        build_index(out, tmp_path / "index.sqlite")
    result = CliRunner().invoke(cli, ["index", str(out), "--db", str(tmp_path / "index.sqlite")])
    assert result.exit_code == 1 and "run it again" in result.output and "Traceback" not in result.output
    with pytest.raises(SearchError, match="is not the file the last run"):
        export_elasticsearch(out, tmp_path / "export", "turns", ANALYZER)

    run(inputs, out)  # running again makes the pair whole
    assert build_index(out, tmp_path / "index.sqlite").episodes_total == 2


def test_a_complete_pair_and_a_folder_without_manifest_are_indexed(tmp_path):
    out = tmp_path / "out"
    run(make_inputs(tmp_path / "in", ["x.txt", "y.txt"]), out)
    assert json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))["files"][TURNS_FILE]["lines"] == 2
    assert build_index(out, tmp_path / "a.sqlite").episodes_total == 2
    (out / MANIFEST_FILE).unlink()  # outputs of an older version
    assert build_index(out, tmp_path / "b.sqlite").episodes_total == 2


# ------------------------------------------------------------------------------------- 4. one record, one line

LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def test_every_record_is_one_line_for_splitlines(tmp_path):
    records = [{f"key{ch}": f"a{ch}b", "list": [ch, ch * 2]} for ch in LINE_BREAKS]
    atomic_write_jsonl(tmp_path / "x.jsonl", records)
    lines = (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(records)
    assert [json.loads(line) for line in lines] == records


def test_a_file_name_with_line_separators_stays_on_one_line(tmp_path):
    out = tmp_path / "out"
    names = ["a\u2028b.txt", "c\u2029d.txt", "e\x85f.txt"]
    run(make_inputs(tmp_path / "in", names), out)
    episodes = [json.loads(line) for line in (out / EPISODES_FILE).read_text(encoding="utf-8").splitlines()]
    assert sorted(r["source"]["name"] for r in episodes) == sorted(names)
    turns = [json.loads(line) for line in (out / TURNS_FILE).read_text(encoding="utf-8").splitlines()]
    assert sorted(r["text"] for r in turns) == sorted(f"佐藤:{name}のテキストです。\n" for name in names)


# ------------------------------------------------------------------------------------------------ 5. disk full


def test_disk_full_at_emit_is_one_error_and_the_previous_outputs_stay(tmp_path, monkeypatch):
    inputs, out = make_inputs(tmp_path / "in", ["x.txt"]), tmp_path / "out"
    run(inputs, out)
    before = {name: (out / name).read_bytes() for name in (EPISODES_FILE, TURNS_FILE, MANIFEST_FILE)}
    make_inputs(inputs, ["y.txt"])
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(DiskFullError, match=rf"disk full: could not write {out}/\S+; {out} keeps the outputs"):
        run(inputs, out)
    monkeypatch.undo()
    assert {name: (out / name).read_bytes() for name in before} == before
    assert [p for p in out.rglob(f"{TEMP_PREFIX}*")] == []
    assert mismatch(out) is None


def test_a_cache_entry_that_cannot_be_written_does_not_fail_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.engine.cache.atomic_write_json", disk_full)
    episodes = run(make_inputs(tmp_path / "in", ["x.txt"]), tmp_path / "out")
    assert [e.status for e in episodes] == ["ok"]
    assert [r["status"] for r in read_jsonl(tmp_path / "out" / EPISODES_FILE)] == ["ok"]
    assert list((tmp_path / "out" / ".cache").rglob("*.json")) == []


def test_cli_run_on_a_full_disk_prints_one_line_and_exits_1(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("佐藤:運賃は200円です。\n", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", disk_full)  # cache entries and outputs alike
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "a.txt"), "-o", str(tmp_path / "out"), *NO_NER])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "ok    " in result.output  # the file itself worked
    assert f"Error: disk full: could not write {tmp_path / 'out'}" in result.output
    assert "Traceback" not in result.output


def _fsync_full_for(name: str):
    """os.fsync that fails (ENOSPC) for the temp of the file called `name` only."""
    real_fsync = os.fsync

    def fsync(fd):
        if f".{name}." in os.readlink(f"/proc/self/fd/{fd}"):
            disk_full()
        real_fsync(fd)

    return fsync


@pytest.mark.parametrize("failing", ["turns.bulk.ndjson", "turns.mapping.json"])
def test_export_on_a_full_disk_writes_neither_file(tmp_path, monkeypatch, failing):
    out, export = tmp_path / "out", tmp_path / "export"
    run(make_inputs(tmp_path / "in", ["x.txt"]), out)
    monkeypatch.setattr(os, "fsync", _fsync_full_for(failing))
    with pytest.raises(DiskFullError, match=rf"could not write {export / failing}; {export} keeps the previous"):
        export_elasticsearch(out, export, "turns", ANALYZER)
    assert not export.exists() or list(export.iterdir()) == []
    result = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(out), "--out", str(export),
                                      "--set", "search.index_name=turns"])  # fmt: skip
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Error: disk full" in result.output
    assert not export.exists() or list(export.iterdir()) == []


def test_a_failed_export_keeps_the_previous_pair(tmp_path, monkeypatch):
    out, export = tmp_path / "out", tmp_path / "export"
    run(make_inputs(tmp_path / "in", ["x.txt"]), out)
    first = export_elasticsearch(out, export, "turns", ANALYZER)
    before = {p: p.read_bytes() for p in (first.bulk_path, first.mapping_path)}
    run(make_inputs(tmp_path / "in", ["y.txt"]), out)
    monkeypatch.setattr(os, "fsync", _fsync_full_for("turns.mapping.json"))
    with pytest.raises(DiskFullError):
        export_elasticsearch(out, export, "turns", ANALYZER)
    assert {p: p.read_bytes() for p in before} == before
    assert Counter(p.name.startswith(TEMP_PREFIX) for p in export.iterdir()) == Counter({False: 2})
