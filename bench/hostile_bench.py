"""Benchmark: one hostile line through dedup and figures (the cases that were quadratic), seconds each.

    .venv/bin/python bench/hostile_bench.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def kana(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x3042, 0x3093)) for _ in range(n))


def main() -> int:
    from pipeline.config import load_config
    from pipeline.lib.dedup import Document, deduplicate_batch
    from pipeline.lib.figures import FigureExtractor
    from pipeline.records import Segment

    config = load_config()
    lines = {
        "a sentence looping 40,000 times": "本日の放送はここまでです。" * 40_000,
        "4,000 distinct sentences and 4,000 repeats": "".join(kana(30, i) + "。ご意見やご感想を番組までお寄せください。"
                                                              for i in range(4000)),  # fmt: skip
        "2 MB of random kana on one line": kana(700_000, 1),
    }
    for name, line in lines.items():
        segment = Segment(id=0, start=None, end=None, text=line, speaker=None, line=1, words=[])
        started = time.perf_counter()
        deduplicate_batch([Document("a.txt", [segment], None)], config.dedup)
        print(f"dedup, {name} ({len(line):,} chars): {time.perf_counter() - started:.1f} s", flush=True)
    extractor = FigureExtractor()
    extractor("1円", None, config.figures.max_line_chars)  # resources load outside the timing
    for sentences in (400, 4000):
        line = "運賃は200円で、利用者は前年比15%増えて約3,000人です。" * sentences
        started = time.perf_counter()
        found = extractor(line, "2024-03-12", config.figures.max_line_chars)
        print(f"figures, one line of {len(line):,} chars ({len(found):,} figures): "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
