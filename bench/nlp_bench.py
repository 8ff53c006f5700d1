"""Benchmark: throughput of the text stages (dedup, speakers, entities, figures) after model load.

Runs the real runner over the text transcripts the project has: the bundled sample (samples/*.txt), the prices
transcript (tests/data/texts) and, where ../shared is present, the sample article. The first run loads GiNZA,
the number and date resources and the Sudachi dictionary (timed as load); then --repeat runs over the same
files, each with a fresh output folder, are timed stage by stage from the records' provenance.

Throughput is input characters (before dedup: all of it passes through dedup) over the summed seconds of the
four stages; entities alone is also reported over the characters it reads (after dedup). Peak RSS is the
process's maximum resident set size.

    .venv/bin/python bench/nlp_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT_STAGES = ("dedup", "speakers", "entities", "figures")


def inputs() -> list[Path]:
    files = sorted((ROOT / "samples").glob("*.txt")) + [ROOT / "tests" / "data" / "texts" / "prices_2024-03-13.txt"]
    article = ROOT.parent / "shared" / "samples" / "onemorning_2023-07-05_article.txt"
    return files + ([article] if article.is_file() else [])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs after the first (loading) run")
    args = ap.parse_args(argv)

    from pipeline.config import load_config
    from pipeline.engine.inputs import discover
    from pipeline.engine.runner import Runner
    from pipeline.plan import default_plan

    files = inputs()
    chars_in = sum(len(p.read_text(encoding="utf-8")) for p in files)
    config = load_config()
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(config, Path(tmp) / "first", default_plan(config))
        inputs_ = discover(files, config.input)[0]
        before = rss_mb()
        started = time.perf_counter()
        first = runner.run(inputs_)
        first_s = time.perf_counter() - started
        loads = {name: 0.0 for name in TEXT_STAGES}
        for stage in first[0].provenance.stages:
            if stage.stage in loads:
                loads[stage.stage] = stage.seconds
        runs = []
        for i in range(args.repeat):
            runner.output_dir = Path(tmp) / f"run{i}"
            runner.cache.folder = runner.output_dir / ".cache"
            episodes = runner.run(inputs_)
            assert all(e.status == "ok" for e in episodes), [e.error for e in episodes]
            per_stage = {name: 0.0 for name in TEXT_STAGES}
            for episode in episodes:
                for stage in episode.provenance.stages:
                    if stage.stage in per_stage:  # a batch stage's time is shared out over its records
                        per_stage[stage.stage] += stage.seconds
            runs.append(per_stage)
        chars_kept = sum(len(t.text) for e in episodes for t in e.turns)
        entities = sum(len(e.entities) for e in episodes)
        figures = sum(len(e.figures) for e in episodes)

    medians = {name: statistics.median(r[name] for r in runs) for name in TEXT_STAGES}
    total = sum(medians.values())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"inputs: {len(files)} text files, {chars_in:,} characters in, {chars_kept:,} after dedup "
          f"({entities} entities, {figures} figures)")
    print(f"first run (loads GiNZA, number/date resources, Sudachi): {first_s:.2f} s; "
          f"entities stage {loads['entities']:.2f} s, figures {loads['figures']:.2f} s, dedup {loads['dedup']:.2f} s")
    print(f"median of {args.repeat} runs after load (seconds): "
          + ", ".join(f"{name} {medians[name]:.3f}" for name in TEXT_STAGES))
    print(f"text stages together: {chars_in / total:,.0f} characters/s (input characters)")
    print(f"entities alone: {chars_kept / medians['entities']:,.0f} characters/s (characters after dedup)")
    print(f"peak RSS: {rss_mb():,.0f} MB (before the first run: {before:,.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
