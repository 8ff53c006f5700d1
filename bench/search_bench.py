"""Benchmark: the embedded search index (pipeline/search/index.py) on synthetic turn records.

Generates --episodes episodes of turn records (seeded random Japanese-like sentences from a word list, 8-16
turns each, named speakers, entity mentions and figures), writes them as turns.jsonl, and times:
- a first index build (and the database size),
- re-indexing with nothing changed, and with one episode changed (incremental),
- queries (one character, two characters, three or more, and with filters), each run --repeat times through
  `pipeline.search.index.search` as the CLI calls it (opening the database each time); p50 and p95 in ms.

    .venv/bin/python bench/search_bench.py [--episodes 200] [--repeat 50]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import load_config  # noqa: E402
from pipeline.records import SCHEMA_VERSION  # noqa: E402
from pipeline.engine.output import TURNS_FILE  # noqa: E402
from pipeline.search.index import Query, build_index, search  # noqa: E402

NOUNS = ["値上げ", "円安", "人手不足", "物価", "賃上げ", "返納", "件数", "自治体", "政府", "保険証", "路線", "運賃",
         "台風", "選挙", "予算", "経済", "株価", "輸出", "観光", "地域", "交通", "学校", "子ども", "医療", "病院",
         "電気代", "ガソリン", "家計", "野菜", "天気", "コミュニティバス", "マイナンバーカード", "スマートフォン",
         "春闘", "給付金", "税金", "住宅", "農業", "漁業", "祭り"]  # fmt: skip
PARTICLES = ["は", "が", "を", "に", "で", "と", "の", "も"]
ENDINGS = ["増えています。", "続いています。", "話題になりました。", "心配ですね。", "見直されます。",
           "発表されました。", "注目されています。", "減っているそうです。"]  # fmt: skip
SPEAKERS = [("吉田", "吉田明世"), ("塚越", "塚越健司"), ("山田", "山田太郎"), ("佐藤", "佐藤花子"), ("JOY", None)]
ENTITIES = [("富士通Japan", "ORG"), ("厚生労働省", "ORG"), ("福岡県", "LOCATION"), ("宗像市", "LOCATION"),
            ("日本銀行", "ORG"), ("TOKYO FM", "ORG"), ("マイナポータル", "PRODUCT")]  # fmt: skip
COUNTERS = [("件", "count"), ("人", "count"), ("円", "money"), ("%", "percent")]
SHOWS = ["ONE MORNING", "あさラジ", "夕方ニュース"]

QUERIES: dict[str, list[dict]] = {
    "1 character": [{"text": "返"}, {"text": "税"}, {"text": "祭"}],
    "2 characters": [{"text": "返納"}, {"text": "件数"}, {"text": "物価"}, {"text": "円安"}, {"text": "株価"}],
    "3+ characters": [{"text": "値上げ"}, {"text": "人手不足"}, {"text": "マイナンバーカード"}, {"text": "富士通Japan"}],
    "with filters": [{"text": "値上げ", "speaker": "塚越"}, {"text": "返納", "entity": "富士通Japan"},
                     {"text": "物価", "since": "2024-02-01", "until": "2024-03-31"}, {"text": "", "speaker": "吉田",
                     "show": "あさラジ"}],
    # pipeline search --reading: the term's readings against every turn's stored key (宗像市 one mora off allowed)
    "by reading": [{"text": "", "reading": "富士通"}, {"text": "", "reading": "宗像市"},
                   {"text": "", "reading": "マイナンバーカード"}],
}  # fmt: skip


def sentence(rng: random.Random) -> str:
    words = [f"{rng.choice(NOUNS)}{rng.choice(PARTICLES)}" for _ in range(rng.randint(2, 4))]
    return "".join(words) + rng.choice(ENDINGS)


def make_turn(rng: random.Random, episode_id: str, show: str, air_date: str, n: int) -> dict:
    label, name = rng.choice(SPEAKERS)
    text, entities, figures = "", [], []
    for _ in range(rng.randint(2, 4)):
        if rng.random() < 0.3:
            surface, kind = rng.choice(ENTITIES)
            entities.append({"id": f"E{ENTITIES.index((surface, kind))}", "name": surface, "type": kind,
                             "text": surface, "span": [len(text), len(text) + len(surface)]})  # fmt: skip
            text += f"{surface}によると、"
        if rng.random() < 0.3:
            counter, kind = rng.choice(COUNTERS)
            value = rng.randint(1, 5000)
            figure = f"{value:,}{counter}"
            figures.append({"text": figure, "start": len(text), "end": len(text) + len(figure), "kind": kind,
                            "value": float(value), "value_max": None, "unit": "JPY" if counter == "円" else counter,
                            "qualifier": None, "basis": None, "iso": None, "counted": None})  # fmt: skip
            text += f"{figure}の"
        text += sentence(rng)
    return {
        "schema_version": SCHEMA_VERSION, "id": f"{episode_id}#{n}", "episode_id": episode_id, "turn": n, "speaker": label,
        "speaker_name": name, "speaker_role": None, "start": None, "end": None, "text": text, "section": None,
        "show": show, "station": None, "air_date": air_date, "source": f"{episode_id}.txt", "entities": entities,
        "figures": figures,
    }  # fmt: skip


def make_records(episodes: int, seed: int = 6) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for i in range(episodes):
        show = SHOWS[i % len(SHOWS)]
        air_date = f"2024-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}"
        episode_id = f"show{i % len(SHOWS)}_{air_date}_{i:04d}"
        records += [make_turn(rng, episode_id, show, air_date, n) for n in range(rng.randint(8, 16))]
    return records


def write(folder: Path, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TURNS_FILE).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


def timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=200, help="synthetic episodes to index")
    ap.add_argument("--repeat", type=int, default=50, help="runs of each query")
    args = ap.parse_args(argv)

    options = load_config().search
    records = make_records(args.episodes)
    chars = sum(len(r["text"]) for r in records)
    print(f"python {platform.python_version()}, sqlite {__import__('sqlite3').sqlite_version}, {platform.machine()}")
    print(f"{args.episodes} episodes, {len(records)} turns, {chars:,} characters")
    with tempfile.TemporaryDirectory() as tmp:
        out, db = Path(tmp) / "out", Path(tmp) / "search.sqlite"
        write(out, records)
        report, seconds = timed(lambda: build_index(out, db))
        print(f"index build: {seconds:.2f} s ({report.added} episodes added), {db.stat().st_size / 1e6:.2f} MB")
        report, seconds = timed(lambda: build_index(out, db))
        print(f"re-index, nothing changed: {seconds * 1000:.0f} ms ({report.unchanged} unchanged)")
        records[0] = {**records[0], "text": records[0]["text"] + "追記。"}
        write(out, records)
        report, seconds = timed(lambda: build_index(out, db))
        print(f"re-index, one episode changed: {seconds * 1000:.0f} ms ({report.updated} updated, "
              f"{report.unchanged} unchanged)")  # fmt: skip

        print(f"\nquery latency over {args.repeat} runs of each query (ms), hits per query (limit 10 / all)")
        print(f"{'queries':<14} {'p50':>7} {'p95':>7}  hits")
        every = []
        for group, queries in QUERIES.items():
            latencies, counts = [], []
            for q in queries:
                query = Query(**{"speaker": None, "entity": None, "show": None, "since": None, "until": None, **q,
                                 "limit": 10})  # fmt: skip
                all_hits = len(search(db, Query(**{**vars(query), "limit": 100_000}), options))
                counts.append(f"{min(all_hits, 10)}/{all_hits}")
                for _ in range(args.repeat):
                    _, seconds = timed(lambda: search(db, query, options))
                    latencies.append(seconds * 1000)
            every += latencies
            print(f"{group:<14} {statistics.median(latencies):7.2f} {percentile(latencies, 0.95):7.2f}  "
                  f"{', '.join(counts)}")  # fmt: skip
        print(f"{'all':<14} {statistics.median(every):7.2f} {percentile(every, 0.95):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
