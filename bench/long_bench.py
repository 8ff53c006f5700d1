"""Benchmark: peak memory of the whole pipeline on long inputs (the benchmark show repeated to N hours).

Each input is one FLAC file (lossless: nothing but the length changes), run through `pipeline run` in its own
process under `/usr/bin/time -v`, whose "Maximum resident set size" is the figure reported; a cold stage cache
every time. Growth per hour is the slope between the shortest and the longest input.

    .venv/bin/python bench/long_bench.py --hours 1 6
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AUDIO = ROOT / "bench" / "audio" / "asaradio_2024-06-03.ogg"


def build(hours: float, folder: Path) -> Path:
    """The show repeated to at least `hours` hours, written block by block (a 6-hour array would be 1.4 GB)."""
    import av
    import numpy as np
    from faster_whisper import decode_audio

    show = decode_audio(str(AUDIO), sampling_rate=16000)
    times = math.ceil(hours * 3600 / (show.size / 16000))
    path = folder / f"asaradio_long_{hours:g}h.flac"
    out = av.open(str(path), "w", format="flac")
    stream = out.add_stream("flac", rate=16000)
    stream.layout = "mono"
    step = stream.codec_context.frame_size or 4096
    for _ in range(times):
        for i in range(0, show.size, step):
            frame = av.AudioFrame.from_ndarray(show[None, i : i + step].astype(np.float32), format="fltp",
                                               layout="mono")  # fmt: skip
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def measure(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = ["/usr/bin/time", "-v", str(ROOT / ".venv" / "bin" / "pipeline"), "run", str(path), "-o", out,
               "--no-progress"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stdout + done.stderr)
        peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr).group(1)
        seconds = sum(float(x) * 60**i for i, x in enumerate(reversed(wall.split(":"))))
        record = json.loads((Path(out) / "episodes.jsonl").read_text(encoding="utf-8").splitlines()[0])
    return {"audio_s": record["duration"], "status": record["status"], "peak_rss_mb": peak_kb / 1024,
            "wall_s": seconds, "segments": len(record["segments"]), "turns": len(record["turns"]),
            "speakers": len(record["speakers"]),
            "longest_segment_s": max((s["end"] - s["start"] for s in record["segments"]), default=0),
            "longest_turn_s": max((t["end"] - t["start"] for t in record["turns"]), default=0)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[1, 6])
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for hours in args.hours:
            path = build(hours, Path(tmp))
            row = measure(path)
            path.unlink()
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| input | status | peak RSS | wall | RTF | segments | turns | speakers | longest segment | longest turn |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['audio_s'] / 3600:.2f} h | {r['status']} | {r['peak_rss_mb']:,.0f} MB | {r['wall_s']:,.0f} s | "
              f"{r['wall_s'] / r['audio_s']:.3f} | {r['segments']} | {r['turns']} | {r['speakers']} | "
              f"{r['longest_segment_s']:.1f} s | {r['longest_turn_s']:.1f} s |")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        slope = (last["peak_rss_mb"] - first["peak_rss_mb"]) / ((last["audio_s"] - first["audio_s"]) / 3600)
        print(f"\npeak RSS grows by {slope:,.0f} MB per hour of audio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
