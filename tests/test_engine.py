"""The engine with fake stages (no models): plan checks, cache keys from declared inputs, failure accounting,
executor independence, episode ids, file modes. Part of the fast subset."""

from __future__ import annotations

import os
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.engine.executor import Executor
from pipeline.engine.inputs import discover, shard
from pipeline.engine.output import EPISODES_FILE, TURNS_FILE
from pipeline.engine.plan import Plan, PlanError
from pipeline.engine.runner import Runner
from pipeline.engine.stage import FILE, BatchStage, FileStage, Job
from pipeline.files import atomic_write_json, read_jsonl
from pipeline.records import Segment, Turn

CONFIG = load_config()


class Read(FileStage):
    """Reads the file's text."""

    name, version, requires, produces = "read", "1", (FILE,), ("text",)

    def __init__(self, calls: Counter) -> None:
        self.calls = calls

    def options_key(self, job: Job) -> Any:
        return None

    def run(self, episode, job):
        self.calls[self.name] += 1
        episode.text = job.path.read_text(encoding="utf-8")
        if "BOOM" in episode.text:
            raise RuntimeError("boom")


class Shout(FileStage):
    """Upper-cases the text into one turn; `mark` is its option."""

    name, version, requires, produces = "shout", "1", ("text",), ("turns",)

    def __init__(self, calls: Counter, mark: str = "!") -> None:
        self.calls, self.mark = calls, mark

    def options_key(self, job: Job) -> Any:
        return self.mark

    def run(self, episode, job):
        self.calls[self.name] += 1
        episode.turns = [Turn(id=0, speaker="S", start=None, end=None, text=episode.text.upper() + self.mark,
                              section=None, segments=[], words=[])]  # fmt: skip


class Measure(FileStage):
    """Reads only the file (like diarization): never re-runs for a change of the text stages."""

    name, version, requires, produces = "measure", "1", (FILE,), ("duration",)

    def __init__(self, calls: Counter) -> None:
        self.calls = calls

    def options_key(self, job: Job) -> Any:
        return None

    def run(self, episode, job):
        self.calls[self.name] += 1
        episode.duration = float(job.path.stat().st_size)


class Count(BatchStage):
    """Batch stage: each episode learns how many episodes its batch holds (as a segment)."""

    name, version, requires, produces = "count", "1", ("turns",), ("segments",)

    def __init__(self, calls: Counter, fail: bool = False) -> None:
        self.calls, self.fail = calls, fail

    def options_key(self, job: Job) -> Any:
        return None

    def run_batch(self, items):
        self.calls[self.name] += 1
        if self.fail:
            raise RuntimeError("simulated bug")
        failed = {}
        for episode, _ in items:
            if "odd" in episode.text:
                failed[episode.episode_id] = ValueError("cannot count this one")
                continue
            episode.segments = [Segment(id=0, start=None, end=None, text=str(len(items)), speaker=None, line=None,
                                        words=[])]  # fmt: skip
        return failed


def stages(calls, mark="!", fail_batch=False):
    return [Read(calls), Measure(calls), Shout(calls, mark), Count(calls, fail_batch)]


def run(folder: Path, out: Path, plan: Plan, executor=None):
    files, _ = discover([folder], CONFIG.input)
    return Runner(CONFIG, out, plan, executor=executor).run(files)


def make_inputs(tmp_path, texts: dict[str, str]) -> Path:
    folder = tmp_path / "in"
    for name, text in texts.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------------------ the plan


def test_a_plan_whose_stage_requires_what_nothing_produces_is_refused():
    calls = Counter()
    with pytest.raises(PlanError, match=r"stage 'shout' requires 'text', which no earlier stage produces"):
        Plan([Shout(calls), Read(calls)])
    with pytest.raises(PlanError, match="two stages are named 'read'"):
        Plan([Read(calls), Read(calls)])
    plan = Plan(stages(calls))
    assert [(p.scope, [s.name for s in p.stages]) for p in plan.phases()] == [
        ("file", ["read", "measure", "shout"]), ("batch", ["count"])]


def test_the_default_plan_is_valid_and_ordered():
    from pipeline.plan import default_plan

    names = [s.name for s in default_plan(CONFIG).stages]
    assert names == ["ingest", "transcribe", "diarize", "recover", "correct", "dedup", "speakers", "names", "entities", "figures",
                     "summary", "alerts"]  # fmt: skip


# ------------------------------------------------------------------------------------------------ cache keys


def test_cache_keys_follow_what_each_stage_reads(tmp_path):
    folder = make_inputs(tmp_path, {"a.txt": "alpha", "b.txt": "beta"})
    out = tmp_path / "out"
    calls = Counter()
    run(folder, out, Plan(stages(calls)))
    assert calls == {"read": 2, "measure": 2, "shout": 2, "count": 1}

    calls.clear()
    episodes = run(folder, out, Plan(stages(calls)))
    assert calls == {} and all(r.cached for e in episodes for r in e.provenance.stages)

    calls.clear()  # a new option of shout: shout and what reads its output re-run; read and measure do not
    episodes = run(folder, out, Plan(stages(calls, mark="?")))
    assert calls == {"shout": 2, "count": 1}
    assert episodes[0].turns[0].text == "ALPHA?"

    calls.clear()  # one file changes: only its own file stages re-run; the batch stage sees a new batch
    (folder / "a.txt").write_text("gamma", encoding="utf-8")
    episodes = run(folder, out, Plan(stages(calls, mark="?")))
    assert calls == {"read": 1, "measure": 1, "shout": 1, "count": 1}
    assert [e.turns[0].text for e in episodes] == ["GAMMA?", "BETA?"]


def test_same_output_of_an_upstream_stage_keeps_downstream_cached(tmp_path):
    folder = make_inputs(tmp_path, {"a.txt": "alpha"})
    out = tmp_path / "out"
    run(folder, out, Plan(stages(Counter())))
    calls = Counter()

    class ReadV2(Read):
        version = "2"  # new code, same result: shout reads the same text, so stays cached

    run(folder, out, Plan([ReadV2(calls), Measure(calls), Shout(calls), Count(calls)]))
    assert calls == {"read": 1}


# ------------------------------------------------------------------------------------------------ failures


def test_a_failing_file_stage_fails_its_file_only_and_is_counted(tmp_path):
    folder = make_inputs(tmp_path, {"a.txt": "alpha", "b.txt": "BOOM", "c.txt": "gamma"})
    calls = Counter()
    episodes = run(folder, tmp_path / "out", Plan(stages(calls)))
    assert [e.status for e in episodes] == ["ok", "error", "ok"]
    assert episodes[1].error.stage == "read" and episodes[1].error.message == "boom"
    assert calls["shout"] == 2  # later stages skip the failed file
    assert [s.text for s in episodes[0].segments] == ["2"]  # the batch holds the two good files
    assert [r["status"] for r in read_jsonl(tmp_path / "out" / EPISODES_FILE)] == ["ok", "error", "ok"]


def test_a_failing_batch_stage_fails_every_episode_it_was_given_and_keeps_the_records(tmp_path):
    folder = make_inputs(tmp_path, {"a.txt": "alpha", "b.txt": "beta"})
    episodes = run(folder, tmp_path / "out", Plan(stages(Counter(), fail_batch=True)))
    assert [(e.status, e.error.stage, e.error.message) for e in episodes] == [("error", "count", "simulated bug")] * 2
    assert [e.turns[0].text for e in episodes] == ["ALPHA!", "BETA!"]  # what was done before is kept
    assert len(read_jsonl(tmp_path / "out" / EPISODES_FILE)) == 2


def test_an_episode_a_batch_stage_reports_fails_alone(tmp_path):
    folder = make_inputs(tmp_path, {"a.txt": "alpha", "b.txt": "odd one", "c.txt": "gamma"})
    episodes = run(folder, tmp_path / "out", Plan(stages(Counter())))
    assert [e.status for e in episodes] == ["ok", "error", "ok"]
    assert episodes[1].error.stage == "count" and "cannot count" in episodes[1].error.message
    assert [s.text for s in episodes[0].segments] == ["3"]


class Backwards(Executor):
    """An executor that finishes files in reverse order (as a cluster may)."""

    name = "backwards"

    def map(self, work, tasks):
        for task in reversed(tasks):
            yield work(task)


def test_results_do_not_depend_on_the_executor(tmp_path):
    folder = make_inputs(tmp_path, {"a.txt": "alpha", "b.txt": "beta", "c.txt": "gamma"})
    local = run(folder, tmp_path / "out1", Plan(stages(Counter())))
    backwards = run(folder, tmp_path / "out2", Plan(stages(Counter())), executor=Backwards())
    assert [e.episode_id for e in backwards] == ["a.txt", "b.txt", "c.txt"]
    assert [e.turns for e in local] == [e.turns for e in backwards]


# ------------------------------------------------------------------------------------------------ episode ids


def ids(inputs, config=CONFIG):
    files, _ = discover(inputs, config.input)
    return [f.episode_id for f in files]


def test_ids_are_paths_relative_to_the_input_folder(tmp_path):
    folder = make_inputs(tmp_path, {"showA/2024-03-13.txt": "a", "showB/2024-03-13.txt": "b", "top.srt": "c"})
    assert ids([folder]) == ["showA/2024-03-13.txt", "showB/2024-03-13.txt", "top.srt"]
    assert ids([folder / "showA" / "2024-03-13.txt"]) == ["2024-03-13.txt"]  # a file given directly: its name
    assert ids([folder / "showA"]) == ids([folder / "showA"])  # stable


def test_same_names_from_two_inputs_take_their_folders(tmp_path):
    make_inputs(tmp_path, {"inA/x.txt": "a", "inB/x.txt": "b", "inB/y.txt": "c", "deep/one/z.txt": "d",
                           "other/one/z.txt": "e"})  # fmt: skip
    root = tmp_path / "in"
    assert ids([root / "inA", root / "inB"]) == ["inA/x.txt", "inB/x.txt", "y.txt"]
    assert ids([root / "deep" / "one" / "z.txt", root / "other" / "one" / "z.txt"]) == ["deep/one/z.txt",
                                                                                          "other/one/z.txt"]


def test_names_differing_in_folded_characters_or_suffix_stay_distinct(tmp_path):
    folder = make_inputs(tmp_path, {"x y.txt": "a", "x_y.txt": "b", "dup.txt": "c", "dup.srt": "1\n", "show.txt": "d",
                                    "ctl\x1b[31m%#.txt": "e", "ls\u2028x.txt": "f"})  # fmt: skip
    found = ids([folder])
    assert len(set(found)) == len(found) == 7
    assert "x y.txt" in found and "x_y.txt" in found and "dup.srt" in found
    assert "ctl%1B[31m%25%23.txt" in found and "ls%E2%80%A8x.txt" in found  # nothing raw that breaks a line


def test_discover_skips_hidden_unknown_and_reference_folders_and_reads_a_file_once(tmp_path):
    folder = make_inputs(tmp_path, {"b.mp3": "x", "a.txt": "x", "c.vtt": "x", "notes.pdf": "x", ".hidden.wav": "x",
                                    ".git/x.txt": "x", "reference/a.txt": "x", "sub/d.txt": "x"})  # fmt: skip
    files, skipped = discover([folder, folder / "a.txt"], CONFIG.input)
    assert [f.episode_id for f in files] == ["a.txt", "b.mp3", "c.vtt", "sub/d.txt"]
    assert [(s.path.name, s.reason) for s in skipped] == [("notes.pdf", "unsupported file type")]
    assert [f.episode_id for f in shard(files, 1, 2)] == ["b.mp3", "sub/d.txt"]


def test_same_named_files_in_two_folders_keep_their_own_records(tmp_path):
    folder = make_inputs(tmp_path, {"showA/2024-03-13.txt": "alpha", "showB/2024-03-13.txt": "beta"})
    episodes = run(folder, tmp_path / "out", Plan(stages(Counter())))
    assert [(e.episode_id, e.text) for e in episodes] == [("showA/2024-03-13.txt", "alpha"),
                                                          ("showB/2024-03-13.txt", "beta")]


# ------------------------------------------------------------------------------------------------ files


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_atomic_writes_keep_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "x.json", {"a": 1})
        folder = make_inputs(tmp_path, {"a.txt": "alpha"})
        run(folder, tmp_path / "out", Plan(stages(Counter())))
    finally:
        os.umask(old)
    for path in (tmp_path / "x.json", tmp_path / "out" / EPISODES_FILE, tmp_path / "out" / TURNS_FILE):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
