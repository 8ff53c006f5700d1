"""Benchmark: cross-episode dedup (MinHash LSH) on synthetic batches of growing size.

Each size runs in a fresh subprocess so peak RSS is that run's own. Episodes are about 860 characters (roughly
three minutes of Japanese speech) of random sentences from a fixed vocabulary; every 10th episode carries one
of three shared ad reads (~110 characters), so the detector has real work to find.

    .venv/bin/python bench/dedup_index.py --sizes 125 250 500 1000
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

WORDS = (
    "市 県 国 政府 会社 学校 病院 駅 公園 図書館 バス 電車 道路 天気 予報 気温 雨 風 桜 祭り 野菜 値段 物価 円安 "
    "賃金 選挙 議会 予算 計画 工事 住民 説明会 利用者 運賃 路線 観光 客 試合 選手 監督 勝利 記録 新しい 大きな "
    "今年 来年 先月 今週 週末 午前 午後 地元 全国 発表 開始 終了 増加 減少 調査 結果 理由 課題 対策 支援"
).split()
PARTICLES = "は が を に で と の も へ から まで".split()
ADS = [
    "ここでお知らせです。さくら市の和菓子店みどり屋では、春だけのいちご大福を売っています。地元の農家でとれた大きないちごを使っています。"
    "駅前の本店と市役所前の店で買えます。なくなり次第終わりです。",
    "交通安全のお知らせです。横断歩道を渡るときは右と左をよく見て、手を挙げて渡りましょう。自転車に乗るときはヘルメットをかぶりましょう。"
    "夕方は早めにライトをつけましょう。みなみ市からのお知らせでした。",
    "サンプルFMからのお知らせです。番組へのメッセージを募集しています。テーマは春の思い出です。採用された方にはステッカーをお送りします。"
    "ホームページのメッセージフォームからどうぞ。",
]


def sentence(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(4, 8)):
        parts.append(rng.choice(WORDS) + rng.choice(PARTICLES))
    return "".join(parts) + f"{rng.randint(1, 999)}件です。"


def run_one(n: int) -> dict:
    from pipeline.config import load_config
    from pipeline.lib.dedup import Document, deduplicate_batch
    from pipeline.records import Segment
    from pipeline.text.reader import Reader

    options = load_config().dedup
    rng = random.Random(7)
    episodes = []
    for i in range(n):
        lines = [sentence(rng) for _ in range(rng.randint(28, 36))]
        if i % 10 == 0:
            lines.insert(rng.randint(0, len(lines)), ADS[(i // 10) % len(ADS)])
        segments = [Segment(id=k, start=None, end=None, text=t, speaker=None, line=k + 1, words=[]) for k, t in enumerate(lines)]
        episodes.append(Document(id=f"show_{i:05d}.txt", segments=segments,
                                 air_date=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"))  # fmt: skip
    chars = sum(len(s.text) for e in episodes for s in e.segments)
    reader = Reader()
    reader.pieces("準備")  # dictionary load is not part of the index cost
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    results = deduplicate_batch(episodes, options, reader)
    seconds = time.perf_counter() - started
    flagged = sum(1 for _, report in results.values() if any(r.kind == "cross_episode" for r in report.removals))
    expected = max(0, len([i for i in range(n) if i % 10 == 0]) - len(ADS))
    return {
        "episodes": n,
        "chars": chars,
        "seconds": round(seconds, 3),
        "ms_per_episode": round(1000 * seconds / n, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
        "episodes_with_cross_removals": flagged,
        "expected_reruns": expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[125, 250, 500, 1000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    # growth exponent: slope of log(time) against log(N) between the smallest and largest batch
    first, last = rows[0], rows[-1]
    exponent = math.log(last["seconds"] / first["seconds"]) / math.log(last["episodes"] / first["episodes"])
    print(f"time grows as N^{exponent:.2f} from {first['episodes']} to {last['episodes']} episodes (2.0 = all pairs)")


if __name__ == "__main__":
    main()
