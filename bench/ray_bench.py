"""Benchmark: files per hour with the local executor against Ray with 1 and 2 worker processes, on this machine.

Each configuration is one `pipeline run` process on the same audio files (copied into a folder of their own),
with a fresh output folder and stage cache: Python start, Ray start, every model load and the JSONL are paid
every time. Configurations:

- local: the in-process executor (the default);
- ray 1x2: one Ray worker declaring 2 CPUs (its thread pools: 2);
- ray 2x1: two Ray workers declaring 1 CPU each (thread pools: 1 each), the default on 2 cores;
- ray 2x1 unsized: two 1-CPU workers whose torch and CTranslate2 pools keep the configured 2 threads
  (`runner.ray.thread_options=[]`): two pools of two threads on two cores, what the sizing prevents.

Reported per configuration: wall seconds, files per hour, audio hours per hour, the median of the files' stage
seconds and the seconds per stage (from the records' provenance), the workers' peak RSS (VmHWM of the ray::Worker processes, sampled),
and whether the records equal the local executor's (timings and cache flags aside). Run it alone on the
machine: the figures are wall-clock.

    .venv/bin/python bench/ray_bench.py [--files 4] [--audio bench/speakers] [--set transcribe.model=...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PIPELINE = Path(sys.executable).parent / "pipeline"
COMMON = ["--no-progress", "--formats", "", "--set", "dedup.archive=null"]
CONFIGS = {
    "local": [],
    "ray 1x2": ["--executor", "ray", "--set", "runner.ray.workers=1", "--set", "runner.ray.cpus_per_worker=2"],
    "ray 2x1": ["--executor", "ray", "--set", "runner.ray.workers=2", "--set", "runner.ray.cpus_per_worker=1"],
    "ray 2x1 unsized": ["--executor", "ray", "--set", "runner.ray.workers=2", "--set", "runner.ray.cpus_per_worker=1",
                        "--set", "runner.ray.thread_options=[]"],
}  # fmt: skip


def worker_peaks(stop: threading.Event, peaks: dict[int, int]) -> None:
    """Peak RSS (kB, VmHWM) of every ray::Worker process seen until `stop`."""
    while not stop.is_set():
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if not (proc / "cmdline").read_bytes().startswith(b"ray::Worker"):
                    continue
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[int(proc.name)] = max(peaks.get(int(proc.name), 0), int(line.split()[1]))
            except OSError:  # the process ended meanwhile
                continue
        stop.wait(0.5)


def strip(data):
    if isinstance(data, dict):
        return {k: strip(v) for k, v in data.items() if k not in ("seconds", "cached")}
    if isinstance(data, list):
        return [strip(v) for v in data]
    return data


def records(out: Path) -> list:
    return [strip(json.loads(line)) for name in ("episodes.jsonl", "turns.jsonl")
            for line in (out / name).read_text(encoding="utf-8").splitlines()]  # fmt: skip


def run(name: str, inputs: Path, work: Path, overrides: list[str]) -> dict:
    out = work / name.replace(" ", "-")
    load = os.getloadavg()[0]
    peaks: dict[int, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=worker_peaks, args=(stop, peaks), daemon=True)
    sampler.start()
    started = time.perf_counter()
    sets = [arg for value in overrides for arg in ("--set", value)]
    result = subprocess.run([PIPELINE, "run", inputs, "-o", out, *COMMON, *sets, *CONFIGS[name]],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if result.returncode != 0:
        raise SystemExit(f"{name}: exit {result.returncode}\n{result.stderr[-3000:]}")
    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text(encoding="utf-8").splitlines()]
    audio_s = sum(e["duration"] or 0 for e in episodes)
    per_file = [sum(s["seconds"] for s in e["provenance"]["stages"]) for e in episodes]
    stage_s: dict[str, float] = {}
    for e in episodes:
        for s in e["provenance"]["stages"]:
            stage_s[s["stage"]] = round(stage_s.get(s["stage"], 0.0) + s["seconds"], 1)
    return {
        "config": name, "load_before": round(load, 2), "wall_s": round(wall, 1), "files": len(episodes),
        "audio_s": round(audio_s, 1), "files_per_hour": round(len(episodes) / wall * 3600, 1),
        "audio_h_per_h": round(audio_s / wall, 2), "file_median_s": round(statistics.median(per_file), 1),
        "file_rtf_median": round(statistics.median(p / e["duration"] for p, e in zip(per_file, episodes)), 3),
        "worker_peak_mb": round(max(peaks.values()) / 1024) if peaks else None, "workers_seen": len(peaks),
        "stage_s": stage_s,
        "records": records(out),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4, help="audio files to process (the first N, sorted)")
    parser.add_argument("--audio", type=Path, default=ROOT / "bench" / "speakers")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="an option for every run, e.g. transcribe.model=large-v3 (repeatable)")
    args = parser.parse_args()
    files = sorted(p for p in args.audio.iterdir() if p.suffix in (".mp3", ".ogg"))[: args.files]
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        work = Path(tmp)
        inputs = work / "in"
        inputs.mkdir()
        for path in files:
            shutil.copy(path, inputs / path.name)
        print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"{len(files)} files from {args.audio.relative_to(ROOT)}", flush=True)  # fmt: skip
        first = None
        for name in args.configs:
            r = run(name, inputs, work, args.overrides)
            recs = r.pop("records")
            first = recs if first is None else first
            r["same_records_as_first"] = recs == first
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
