"""How much of each show's gold the recognised text still carries: the ceiling of reading-based correction.

Reads the JSON that `bench/accuracy_bench.py --out-json` writes (the pipeline's text and its missed gold entities
per show and run) and, for every gold entity the pipeline missed, looks for its reading in the reading of the
recognised text (Sudachi readings, phonetic keys of pipeline.lib.lexicon, edit distance in morae). A missed entity
is *reachable* when its reading is there within the distance the corrector allows for a name of its length
(none under `correct.one_off_min_morae` morae, one under `two_off_min_morae`, else two). Without notes a person's
name is not reachable at all: the kanji of a name cannot be heard. The ceiling is (found + reachable) / gold: what
a corrector that picked every reachable spelling right, and nothing else, would score. Short readings are found by
chance anywhere in a text, so the ceiling is an upper bound.

    .venv/bin/python bench/accuracy_bench.py --notes --out-json /tmp/acc.json
    .venv/bin/python bench/accuracy_ceiling.py /tmp/acc.json [--gold-dir bench/accuracy/gold]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from pipeline.config import load_config
from pipeline.lib.lexicon import morae, phonetic_key
from pipeline.text.normalise import katakana
from pipeline.text.reader import Reader

ROOT = Path(__file__).resolve().parent.parent


def text_key(text: str, reader: Reader) -> str:
    """The phonetic key of a text read word by word (words without a reading kept as written)."""
    return phonetic_key("".join(katakana(m.reading_form()) or text[s:e] for s, e, m in reader.tokenize(text)))


def nearest(key: str, hay: str) -> int:
    """Fewest edits between key and any stretch of hay (of the key's length, give or take two)."""
    best = len(key)
    for size in range(max(1, len(key) - 2), len(key) + 3):
        for i in range(max(1, len(hay) - size + 1)):
            best = min(best, Levenshtein.distance(key, hay[i : i + size], score_cutoff=best))
    return best


def allowed(size: int, one_off: int, two_off: int) -> int:
    return 2 if size >= two_off else 1 if size >= one_off else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, help="JSON written by bench/accuracy_bench.py --out-json")
    ap.add_argument("--gold-dir", type=Path, default=ROOT / "bench" / "accuracy" / "gold")
    args = ap.parse_args(argv)
    options = load_config().correct
    reader = Reader()
    print("| show | run | found | missed: reachable | missed: people (no notes) | missed: not there | ceiling |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for show in json.loads(args.results.read_text(encoding="utf-8"))["shows"]:
        gold = yaml.safe_load((args.gold_dir / f"{show['stem']}.yaml").read_text(encoding="utf-8"))
        by_name = {e["name"]: e for e in gold["entities"]}
        for run in show["runs"]:
            if run.get("entities") is None:
                continue
            hay = text_key(run["text"], reader)
            notes = run["label"] != "no notes"
            reachable = people = 0
            for name in run["entities"]["missed"]:
                entity = by_name[name]
                if not notes and "PERSON" in entity.get("types", []):
                    people += 1
                    continue
                keys = [text_key(s, reader) for s in entity.get("surfaces") or [name]]
                if any(nearest(k, hay) <= allowed(morae(k), options.one_off_min_morae, options.two_off_min_morae)
                       for k in keys):  # fmt: skip
                    reachable += 1
            found, total = run["entities"]["found"], run["entities"]["total"]
            absent = total - found - reachable - people
            print(f"| {show['stem']} | {run['label']} | {found}/{total} | {reachable} | {people if not notes else '-'} "
                  f"| {absent} | {(found + reachable) / total:.0%} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
