"""Benchmark: the whole pipeline against plain faster-whisper on the same audio, alternating runs.

- baseline: `WhisperModel(<the bundled base>, device="cpu", compute_type="int8", cpu_threads=2)` then
  `model.transcribe(audio, beam_size=5, language="ja")`, sequential, every segment consumed; model load
  and decoding of the file included. No VAD, no word timestamps: faster-whisper as a user would run it by hand.
- pipeline: `pipeline run FILE` with the default configuration and an empty stage cache (every stage, every
  model load, the JSONL and the search index written).

Each run is its own process (`--role`), so model loads are paid every time and the peak RSS
(ru_maxrss) is that run's alone. The runs alternate A B A B ... (--pairs) and medians are reported, because
these machines are noisy. CER is against the reference transcript (pipeline.lib.metrics.cer). Per-stage times come
from the records' provenance.

    .venv/bin/python bench/pipeline_bench.py [--pairs 3] [--audio bench/audio/asaradio_2024-06-03.ogg]
    .venv/bin/python bench/pipeline_bench.py --long 10      # also: the show repeated 10 times, pipeline once
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AUDIO = ROOT / "bench" / "audio" / "asaradio_2024-06-03.ogg"


def reference_text(audio: Path) -> str | None:
    path = audio.parent / "reference" / f"{audio.stem}.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_baseline(audio: Path) -> dict:
    from faster_whisper import WhisperModel, decode_audio

    from pipeline.config import load_config, resolve_path
    from pipeline.lib.models import resolve

    path = resolve("base", resolve_path(load_config().models.cache_dir)).path  # the bundled model, assembled
    started = time.perf_counter()
    model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)
    loaded = time.perf_counter()
    segments, _ = model.transcribe(decode_audio(str(audio)), beam_size=5, language="ja")
    text = "".join(s.text for s in segments)
    return {"seconds": time.perf_counter() - started, "load_s": loaded - started, "text": text}


def run_pipeline(audio: Path) -> dict:
    """What `pipeline run FILE` then `pipeline index` do, through the library, into an empty folder."""
    from pipeline.config import load_config
    from pipeline.plan import run_pipeline
    from pipeline.search.index import build_index

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        (record,) = run_pipeline([audio], Path(tmp), load_config())
        build_index(Path(tmp), Path(tmp) / "search.sqlite")
        seconds = time.perf_counter() - started
    assert record.status == "ok", record.error
    stages: dict[str, float] = {}
    for stage in record.provenance.stages:
        stages[stage.stage] = stages.get(stage.stage, 0.0) + stage.seconds
    return {"seconds": seconds, "text": record.text, "stages": stages, "speakers": len(record.speakers),
            "duration": record.duration}  # fmt: skip


def child(role: str, audio: Path) -> None:
    result = run_baseline(audio) if role == "baseline" else run_pipeline(audio)
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result, ensure_ascii=False))


def spawn(role: str, audio: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--role", role, "--audio", str(audio)], capture_output=True,
                         text=True, cwd=ROOT, check=False)  # fmt: skip
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"{role} run failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return json.loads(line[len("RESULT ") :])


def repeated(audio: Path, times: int, folder: Path) -> Path:
    """The show `times` times in a row, as one FLAC file (lossless, so nothing but the length changes)."""
    import numpy as np
    from faster_whisper import decode_audio

    from tests.conftest import encode  # the tests' PyAV encoder (the test extra is installed with the venv)

    samples = decode_audio(str(audio), sampling_rate=16000)
    return encode(folder / f"asaradio_long_x{times}.flac", np.tile(samples, times), 16000, "flac", "flac")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--audio", type=Path, default=AUDIO)
    ap.add_argument("--pairs", type=int, default=3, help="baseline/pipeline pairs, alternating")
    ap.add_argument("--long", type=int, default=0, help="also run the pipeline once on the show repeated N times")
    ap.add_argument("--role", choices=["baseline", "pipeline"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role:
        child(args.role, args.audio)
        return 0

    from pipeline.lib.metrics import cer

    reference = reference_text(args.audio)
    runs: dict[str, list[dict]] = {"baseline": [], "pipeline": []}
    for pair in range(args.pairs):
        for role in ("baseline", "pipeline"):
            result = spawn(role, args.audio)
            result["cer"] = cer(reference, result["text"]) if reference else None
            runs[role].append(result)
            print(f"pair {pair + 1} {role}: {result['seconds']:.1f} s, CER {result['cer']:.4f}, "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    duration = runs["pipeline"][0]["duration"]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"audio: {args.audio.name}, {duration:.1f} s; {args.pairs} alternating pairs, medians")
    med = {role: statistics.median(r["seconds"] for r in rs) for role, rs in runs.items()}
    ratios = [p["seconds"] / b["seconds"] for b, p in zip(runs["baseline"], runs["pipeline"])]
    for role, rs in runs.items():
        print(f"{role:9s} wall {med[role]:6.1f} s  RTF {med[role] / duration:.3f}  "
              f"CER {statistics.median(r['cer'] for r in rs):.4f}  "
              f"peak RSS {statistics.median(r['peak_rss_mb'] for r in rs):,.0f} MB")  # fmt: skip
    print(f"pipeline / baseline wall time: median of pair ratios {statistics.median(ratios):.3f} "
          f"(pairs: {', '.join(f'{r:.3f}' for r in ratios)})")
    print(f"baseline model load: {statistics.median(r['load_s'] for r in runs['baseline']):.2f} s")
    names = runs["pipeline"][0]["stages"]
    print("pipeline stages (median s): " + ", ".join(
        f"{n} {statistics.median(r['stages'].get(n, 0.0) for r in runs['pipeline']):.2f}" for n in names))
    print(f"speakers found: {runs['pipeline'][0]['speakers']}")
    if args.long:
        with tempfile.TemporaryDirectory() as tmp:
            long_audio = repeated(args.audio, args.long, Path(tmp))
            result = spawn("pipeline", long_audio)
        print(f"\nlong input ({args.long} x, {result['duration'] / 60:.1f} min): wall {result['seconds']:.1f} s, "
              f"RTF {result['seconds'] / result['duration']:.3f}, peak RSS {result['peak_rss_mb']:,.0f} MB, "
              f"decoded audio {result['duration'] * 16000 * 4 / 2**20:,.0f} MB as float32, "
              f"speakers {result['speakers']}")  # fmt: skip
        print("long input stages (s): " + ", ".join(f"{n} {s:.1f}" for n, s in result["stages"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
