"""The Ray executor on a real local Ray instance (no mocks): the same records as the local executor, a worker
killed with SIGKILL (its file retried on a new worker), a stage that raises (that file's error only), a file
that keeps killing its worker (its error record after runner.ray.max_retries), and `pipeline run --executor ray
--address` against a Ray head started here with `ray start --head`. Skipped where Ray is not installed."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.engine.executor import make_executor
from pipeline.engine.inputs import discover
from pipeline.engine.output import EPISODES_FILE, TURNS_FILE
from pipeline.engine.plan import Plan
from pipeline.engine.progress import Progress
from pipeline.engine.runner import Runner
from pipeline.engine.stage import FILE, FileStage, Job
from pipeline.errors import ConfigError
from pipeline.plan import default_plan
from pipeline.records import Turn
from pipeline.stages.transcribe import TranscribeStage
from tests.conftest import SAMPLE_AUDIO, SAMPLE_TEXT

BIN = Path(sys.executable).parent
# Dedup's archive of earlier runs keeps state in the output folder; executors are compared without it.
CONFIG = load_config(overrides=["runner.executor=ray", "dedup.archive=null", "output.formats=[]"])


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance for the module (2 CPUs, as this machine): executors use it as it is."""
    ray = pytest.importorskip("ray")
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def records(folder: Path) -> dict[str, list[Any]]:
    """episodes.jsonl and turns.jsonl without what differs between two runs of the same work: wall-clock seconds
    and whether a stage came from the cache."""

    def strip(data: Any) -> Any:
        if isinstance(data, dict):
            return {k: strip(v) for k, v in data.items() if k not in ("seconds", "cached")}
        if isinstance(data, list):
            return [strip(v) for v in data]
        return data

    return {name: [strip(json.loads(line)) for line in (folder / name).read_text(encoding="utf-8").splitlines()]
            for name in (EPISODES_FILE, TURNS_FILE)}  # fmt: skip


# ------------------------------------------------------------------------------------------------ fake stages


class Read(FileStage):
    """Reads the file's text; a file holding BOOM makes the stage raise."""

    name, version, requires, produces = "read", "1", (FILE,), ("text",)

    def options_key(self, job: Job) -> Any:
        return None

    def run(self, episode, job):
        episode.text = job.path.read_text(encoding="utf-8")
        if "BOOM" in episode.text:
            raise RuntimeError("boom")


class Shout(FileStage):
    """Kills its own worker process (SIGKILL) while a marker file <stem>.die lies in `markers`: once if the marker
    says `once` (it is removed first), every time otherwise."""

    name, version, requires, produces = "shout", "1", ("text",), ("turns",)

    def __init__(self, markers: Path) -> None:
        self.markers = markers

    def options_key(self, job: Job) -> Any:
        return None

    def run(self, episode, job):
        marker = self.markers / f"{job.path.stem}.die"
        if marker.exists():
            if marker.read_text(encoding="utf-8") == "once":
                marker.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        episode.turns = [Turn(id=0, speaker="S", start=None, end=None, text=episode.text.upper(), section=None,
                              segments=[], words=[])]  # fmt: skip


def fake_run(tmp_path: Path, texts: dict[str, str], dies: dict[str, str] | None = None, config=CONFIG):
    folder, markers = tmp_path / "in", tmp_path / "markers"
    folder.mkdir()
    markers.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    for stem, how in (dies or {}).items():
        (markers / f"{stem}.die").write_text(how, encoding="utf-8")
    files, _ = discover([folder], config.input)
    return {e.episode_id: e for e in Runner(config, tmp_path / "out", Plan([Read(), Shout(markers)])).run(files)}


# ------------------------------------------------------------------------------------------------ faults, fast


def test_a_stage_that_raises_gives_that_file_its_error_record_only(ray_local, tmp_path, caplog):
    episodes = fake_run(tmp_path, {"a.txt": "alpha", "b.txt": "BOOM", "c.txt": "gamma"})
    assert {k: e.status for k, e in episodes.items()} == {"a.txt": "ok", "b.txt": "error", "c.txt": "ok"}
    error = episodes["b.txt"].error
    assert (error.stage, error.type, error.message) == ("read", "RuntimeError", "boom")
    assert [t.text for t in episodes["c.txt"].turns] == ["GAMMA"]
    assert "worker died" not in caplog.text  # a stage's exception is not a lost worker: no retry


def test_a_worker_killed_mid_file_is_replaced_and_the_file_retried(ray_local, tmp_path, caplog):
    episodes = fake_run(tmp_path, {"a.txt": "alpha", "b.txt": "beta", "c.txt": "gamma"}, dies={"b": "once"})
    assert [(e.status, [t.text for t in e.turns]) for e in episodes.values()] == [
        ("ok", ["ALPHA"]), ("ok", ["BETA"]), ("ok", ["GAMMA"])]  # fmt: skip
    assert not (tmp_path / "markers" / "b.die").exists()  # the first try did die
    assert caplog.text.count("worker died") == 1 and "trying again" in caplog.text
    written = [json.loads(line) for line in (tmp_path / "out" / EPISODES_FILE).read_text().splitlines()]
    assert [e["episode_id"] for e in written] == ["a.txt", "b.txt", "c.txt"]


def test_a_file_that_keeps_killing_its_worker_gets_an_error_record_and_a_rerun_resumes_from_the_cache(ray_local, tmp_path, caplog):
    config = CONFIG.with_values({"runner.ray.max_retries": 1})
    episodes = fake_run(tmp_path, {"a.txt": "alpha", "b.txt": "beta", "c.txt": "gamma"}, dies={"b": "always"},
                        config=config)  # fmt: skip
    assert {k: e.status for k, e in episodes.items()} == {"a.txt": "ok", "b.txt": "error", "c.txt": "ok"}
    error = episodes["b.txt"].error
    assert error.stage == "read+shout" and error.type == "WorkerLostError"
    assert "died 2 time(s)" in error.message and "max_retries: 1" in error.message
    assert caplog.text.count("worker died") == 2 and "giving up" in caplog.text
    written = [json.loads(line) for line in (tmp_path / "out" / EPISODES_FILE).read_text().splitlines()]
    assert [e["status"] for e in written] == ["ok", "error", "ok"]  # every record whole, the error one too

    (tmp_path / "markers" / "b.die").unlink()  # the rerun resumes from the cache the workers wrote
    files, _ = discover([tmp_path / "in"], config.input)
    rerun = Runner(config, tmp_path / "out", Plan([Read(), Shout(tmp_path / "markers")])).run(files)
    assert [(e.status, [t.text for t in e.turns]) for e in rerun] == [
        ("ok", ["ALPHA"]), ("ok", ["BETA"]), ("ok", ["GAMMA"])]  # fmt: skip
    cached = {e.episode_id: [(r.stage, r.cached) for r in e.provenance.stages] for e in rerun}
    assert cached == {"a.txt": [("read", True), ("shout", True)], "c.txt": [("read", True), ("shout", True)],
                      "b.txt": [("read", True), ("shout", False)]}  # b's read was saved before its worker died


def test_workers_report_files_running_and_done_to_the_driver(ray_local, tmp_path):
    class Tape(Progress):
        def __init__(self):
            self.events = []

        def start_file(self, index, name):
            self.events.append(("start", name))

        def end_file(self, index, ok, audio_s):
            self.events.append(("end", index, ok))

    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in {"a.txt": "alpha", "b.txt": "BOOM"}.items():
        (folder / name).write_text(text, encoding="utf-8")
    (tmp_path / "markers").mkdir()
    files, _ = discover([folder], CONFIG.input)
    tape = Tape()
    Runner(CONFIG, tmp_path / "out", Plan([Read(), Shout(tmp_path / "markers")]), progress=tape).run(files)
    assert sorted(e for e in tape.events if e[0] == "start") == [("start", "a.txt"), ("start", "b.txt")]
    assert sorted(e for e in tape.events if e[0] == "end") == [("end", 0, True), ("end", 1, False)]


def test_without_ray_installed_the_ray_executor_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    monkeypatch.delitem(sys.modules, "pipeline.engine.ray_executor", raising=False)
    with pytest.raises(ConfigError, match=r"pip install '\.\[ray\]'"):
        make_executor(CONFIG, default_plan)


# ------------------------------------------------------------------------------------------------ real models


class KillingTranscribe(TranscribeStage):
    """The real transcription, which SIGKILLs its worker at its first decoded segment while a marker file lies
    beside the audio (removed first, so the retry on a new worker goes through)."""

    def run(self, episode, job):
        marker = job.path.parent / "kill-me"
        if marker.exists():
            marker.unlink()
            job.progress = KillOnAdvance()
        super().run(episode, job)


class KillOnAdvance(Progress):
    def advance(self, done: float) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def plan_with_killing_transcribe(config):
    stages = [KillingTranscribe(s.options, s.model_cache_dir) if s.name == "transcribe" else s
              for s in default_plan(config).stages]  # fmt: skip
    return Plan(stages)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    for path in (SAMPLE_AUDIO, SAMPLE_TEXT):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


@pytest.fixture(scope="module")
def local_records(samples, tmp_path_factory) -> dict[str, list[Any]]:
    out = tmp_path_factory.mktemp("local")
    config = CONFIG.with_values({"runner.executor": "local"})
    files, _ = discover([samples], config.input)
    Runner(config, out, default_plan(config), make_executor(config, default_plan)).run(files)
    return records(out)


@pytest.mark.model
def test_the_ray_executor_writes_the_records_of_the_local_executor(ray_local, samples, local_records, tmp_path):
    files, _ = discover([samples], CONFIG.input)
    Runner(CONFIG, tmp_path, default_plan(CONFIG), make_executor(CONFIG, default_plan)).run(files)
    ray_records = records(tmp_path)
    assert [e["status"] for e in ray_records[EPISODES_FILE]] == ["ok", "ok"]
    assert len(ray_records[TURNS_FILE]) > 10
    assert ray_records == local_records  # config and stage hashes, cache keys too: thread counts are not in them


@pytest.mark.model
def test_a_worker_killed_during_transcription_leaves_every_record_right(ray_local, samples, local_records, tmp_path,
                                                                         caplog):  # fmt: skip
    (samples / "kill-me").touch()
    files, _ = discover([samples], CONFIG.input)
    plan = plan_with_killing_transcribe(CONFIG)
    Runner(CONFIG, tmp_path, plan, make_executor(CONFIG, plan_with_killing_transcribe)).run(files)
    assert not (samples / "kill-me").exists()  # the first try was killed
    assert "worker died running" in caplog.text and "asaradio_2024-03-12.ogg" in caplog.text
    assert records(tmp_path) == local_records


# ------------------------------------------------------------------------------------------------ a cluster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A Ray head on localhost (`ray start --head --block`, stopped with the process it runs in, so that other
    Ray instances on the machine are left alone), with token authentication, as on a real cluster."""
    pytest.importorskip("ray")
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = subprocess.Popen(
        [BIN / "ray", "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
         "--include-dashboard=false", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        for _ in range(60):  # ready once `ray status` reaches it
            if subprocess.run([BIN / "ray", "status", f"--address={address}"], env=env, capture_output=True).returncode == 0:
                break
            if head.poll() is not None:
                pytest.fail("ray start --head exited")
        else:
            pytest.fail("the Ray head did not come up")
        yield address, env
    finally:
        head.terminate()
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def test_pipeline_run_joins_a_ray_head_with_address(ray_head, tmp_path):
    address, env = ray_head
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("佐藤:運賃は200円に値上げされます。\n鈴木:そうですか。\n", encoding="utf-8")
    (folder / "b.txt").write_text("田中:新しい駅は3月に開業します。\n山本:楽しみですね。\n", encoding="utf-8")
    run = [BIN / "pipeline", "run", folder, "--no-progress", "--set", "entities.enabled=false",
           "--set", "dedup.archive=null"]  # fmt: skip
    cluster = subprocess.run([*run, "-o", tmp_path / "ray", "--executor", "ray", "--address", address], env=env,
                             capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert cluster.returncode == 0, cluster.stderr
    assert "Connected to Ray cluster" in cluster.stderr  # joined the head, did not start an instance of its own
    assert "2 ok, 0 failed" in cluster.stdout
    local = subprocess.run([*run, "-o", tmp_path / "local"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert records(tmp_path / "ray") == records(tmp_path / "local")


def test_joining_an_address_where_no_ray_head_runs_is_one_clear_error(tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "a.txt").write_text("佐藤:こんにちは。\n", encoding="utf-8")
    result = subprocess.run(
        [BIN / "pipeline", "run", tmp_path / "a.txt", "-o", tmp_path / "out", "--executor", "ray", "--address",
         f"127.0.0.1:{free_port()}"], capture_output=True, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot join the Ray cluster at 127.0.0.1:" in result.stderr and "Traceback" not in result.stderr
