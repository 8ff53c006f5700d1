"""Alerts measured: recall and precision of watchlist mentions, and where an alert's time lies, against scripts.

Runs `pipeline run` once over the generated shows of bench/alerts/ (audio, one batch, so that the rerun of show 2
in show 4 is found) and the repo's text transcripts (plus the shared article when ../shared is there), with the
bench's watchlist (bench/alerts/watchlist.yaml) as the only list, into a persistent output folder (a second run
reuses transcription and diarization). Then scores each file against its gold list (bench/alerts/gold/):

- a gold mention is *found* when an alert of its term lies in the same turn of the script (audio: the alert's start
  within the reference turn's time, 1 s either side; text: on the gold line), each alert used once; a mention in a
  passage dedup took out as a rerun is found when the first airing's alert lists that airing;
- every alert no gold mention takes is a *false alert* (printed with its sentence);
- timing (audio): |alert start - the word's reference start| for found mentions.

The baseline ("before") is what a monitor had without watchlists: searching each written form in the turns of the
same run (`pipeline search`, a substring), counted the same way.

    .venv/bin/python bench/alerts_bench.py [--shows heldout|tune|all] [--out-json F] [--set transcribe.model=...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "alerts"
AUDIO = (".mp3", ".ogg", ".wav")
TEXTS = [ROOT / "samples" / "asaradio_2024-03-13.txt", ROOT / "tests" / "data" / "texts" / "prices_2024-03-13.txt",
         ROOT.parent / "shared" / "samples" / "onemorning_2023-07-05_article.txt"]  # fmt: skip
TUNE = 2  # shows 1 and 2 (by file name order) are for tuning; the rest are held out
FRESH = 5  # shows 6 on were made at the end of development and measured once (bench/alerts/README.md)
TOLERANCE_S = 1.0


@dataclass
class Score:
    stem: str
    kind: str  # audio or text
    gold: int = 0
    found: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    by_rerun: int = 0
    timing: list[float] = field(default_factory=list)  # seconds off, found audio mentions
    baseline_found: int = 0
    baseline_false: int = 0
    how: dict[str, int] = field(default_factory=dict)  # match kind -> alerts

    @property
    def recall(self) -> float:
        return len(self.found) / self.gold if self.gold else 1.0

    @property
    def alerts(self) -> int:
        return len(self.found) - self.by_rerun + len(self.false)


def run_batch(files: list[Path], work: Path, notes: str | None, overrides: list[str]) -> Path:
    inputs = work / "in"
    if inputs.exists():
        shutil.rmtree(inputs)
    inputs.mkdir(parents=True)
    for f in files:
        shutil.copy2(f, inputs / f.name)
        if notes and f.suffix in AUDIO:  # what the decoder's prompt and the correction lexicon then hold
            (inputs / f"{f.stem}.notes.txt").write_text(notes, encoding="utf-8")
    out = work / "out"
    command = [sys.executable, "-m", "pipeline", "run", str(inputs), "--output", str(out), "--no-progress",
               "--set", f"alerts.watchlists_dir={BENCH}", "--set", "alerts.watchlists=[watchlist]",
               "--set", "dedup.archive=null", "--formats", ""]  # fmt: skip
    for override in overrides:  # e.g. transcribe.model=large-v3, to measure another recogniser
        command += ["--set", override]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode >= 2 or not (out / "alerts.jsonl").is_file():
        raise SystemExit(f"pipeline run failed (exit {done.returncode}): {done.stderr[-3000:]}")
    return out


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def segment_lines(record: dict) -> dict[int, list[tuple[int, int, int]]]:
    """Turn id -> (start, end, source line) of its segments in the turn text (text transcripts)."""
    lines = {s["id"]: s for s in record["segments"]}
    out = {}
    for turn in record["turns"]:
        spans, at = [], 0
        for sid in turn["segments"]:
            seg = lines.get(sid)
            if seg is None:
                continue
            found = turn["text"].find(seg["text"], at)
            if found < 0:
                continue
            spans.append((found, found + len(seg["text"]), seg["line"]))
            at = found + len(seg["text"])
        out[turn["id"]] = spans
    return out


def removed(record: dict, source: Path) -> set[int]:
    """1-based lines of the source text that hold a passage dedup took out as a copy of other text."""
    lines = source.read_text(encoding="utf-8").splitlines()
    out = set()
    for r in (record.get("dedup") or {}).get("removals") or []:
        if r["dup_of"] is not None:
            out |= {n for n, line in enumerate(lines, 1) if r["text"].strip() and r["text"].strip() in line}
    return out


def line_of(alert: dict, spans: dict[int, list[tuple[int, int, int]]]) -> int | None:
    for a, b, line in spans.get(alert["turn"], []):
        if a <= alert["span"][0] < b:
            return line
    return None


def score_file(stem: str, record: dict, gold: dict, alerts: list[dict], airings: list[dict], watchlist: dict,
               reference: dict | None, source: Path) -> Score:  # fmt: skip
    s = Score(stem, "audio" if reference else "text", gold=len(gold.get("mentions") or []))
    for a in alerts:
        s.how[a["match"]] = s.how.get(a["match"], 0) + 1
    spans = segment_lines(record) if reference is None else {}
    turns = reference["turns"] if reference else []

    def place(alert: dict) -> float | int | None:
        return alert["start"] if reference else line_of(alert, spans)

    def label(m: dict) -> str:
        return f"{m['term']} ({m['text']}, {'turn ' + str(m['turn']) if reference else 'line ' + str(m['line'])})"

    def fits(m: dict, a: dict) -> bool:
        if a["term"] != m["term"]:
            return False
        if reference:
            t = turns[m["turn"]]
            return a["start"] is not None and t["start"] - TOLERANCE_S <= a["start"] <= t["end"] + TOLERANCE_S
        return place(a) == m["line"]

    # Each alert to one mention: the closest pairs first (by time on audio), so that an alert between two
    # mentions of a term is not taken by the one listed first.
    mentions = gold.get("mentions") or []
    pairs = sorted(((abs(a["start"] - m["start"]) if reference else 0.0, i, j) for i, m in enumerate(mentions)
                    for j, a in enumerate(alerts) if fits(m, a)), key=lambda p: p[0])  # fmt: skip
    taken: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in pairs:
        if i not in taken and j not in used:
            taken[i] = j
            used.add(j)
    unused = [a for j, a in enumerate(alerts) if j not in used]
    removed_lines = removed(record, source) if reference is None else set()
    for i, m in enumerate(mentions):
        if i in taken:
            s.found.append(label(m))
            if reference:
                s.timing.append(abs(alerts[taken[i]]["start"] - m["start"]))
            continue
        rerun = [x for x in airings if x["term"] == m["term"] and (
            reference and x["time"] and x["time"][0] - TOLERANCE_S <= m["start"] <= x["time"][1] + TOLERANCE_S
            or not reference and m["line"] in removed_lines)]  # fmt: skip
        if rerun:
            airings.remove(rerun[0])
            s.found.append(label(m) + " [repeat: the alert at its first airing lists it]")
            s.by_rerun += 1
            continue
        s.missed.append(label(m))
    for a in unused:
        where = f"{a['start']:.1f} s" if a["start"] is not None else f"turn {a['turn']}"
        s.false.append(f"{a['term']} <- {a['text']} [{a['match']} {a['score']}] at {where}: {a['sentence'][:60]}")
    s.baseline_found, s.baseline_false = baseline(record, gold, watchlist, reference, spans)
    return s


def baseline(record: dict, gold: dict, watchlist: dict, reference: dict | None, spans) -> tuple[int, int]:
    """Gold mentions found, and hits that are none, by searching each written form in the turns (substring)."""
    hits = []
    for term in watchlist["terms"]:
        forms = [term["name"], *(term.get("aliases") or [])]
        for turn in record["turns"]:
            for form in forms:
                at = turn["text"].find(form)
                while at >= 0:
                    if reference:
                        where = turn["start"]
                    else:
                        where = line_of({"turn": turn["id"], "span": [at, at + len(form)]}, spans)
                    hits.append((term["name"], turn, where))
                    at = turn["text"].find(form, at + len(form))
    found = 0
    for m in gold.get("mentions") or []:
        if reference:  # a hit in the run's turn that holds the word's time
            fit = next((h for h in hits if h[0] == m["term"] and h[1]["start"] is not None
                        and h[1]["start"] - TOLERANCE_S <= m["start"] <= h[1]["end"] + TOLERANCE_S), None)  # fmt: skip
        else:
            fit = next((h for h in hits if h[0] == m["term"] and h[2] == m["line"]), None)
        if fit:
            hits.remove(fit)
            found += 1
    return found, len(hits)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shows", choices=["tune", "heldout", "all"], default="all", help="which audio shows to print")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / ".cache" / "alerts")
    ap.add_argument("--out-json", type=Path)
    ap.add_argument("--only", action="store_true", help="put only the shows printed into the batch (no rerun pair)")
    ap.add_argument("--notes-terms", action="store_true",
                    help="experiment: give each show a notes file listing the watchlist's names (prompt, lexicon)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = ap.parse_args(argv)
    audio = sorted(p for p in BENCH.iterdir() if p.suffix in AUDIO)
    texts = [p for p in TEXTS if p.is_file()]
    watchlist = yaml.safe_load((BENCH / "watchlist.yaml").read_text(encoding="utf-8"))
    chosen = {"tune": audio[:TUNE], "heldout": audio[TUNE:], "all": audio}[args.shows]
    notes = "、".join(t["name"] for t in watchlist["terms"]) + "。" if args.notes_terms else None
    out = run_batch([*(chosen if args.only else audio), *texts], args.work, notes, args.overrides)
    records = {r["source"]["name"]: r for r in read_jsonl(out / "episodes.jsonl")}
    alerts = read_jsonl(out / "alerts.jsonl")
    airings = [{"term": a["term"], "episode": x["episode_id"], "time": x["time"]} for a in alerts for x in a["airings"]]
    scores = []
    for f in [*chosen, *texts]:
        record = records[f.name]
        gold_path = BENCH / "gold" / (f"{f.stem}.yaml" if f.suffix in AUDIO else f"text/{f.stem}.yaml")
        gold = yaml.safe_load(gold_path.read_text(encoding="utf-8"))
        reference = json.loads((BENCH / "reference" / f"{f.stem}.json").read_text()) if f.suffix in AUDIO else None
        mine = [a for a in alerts if a["episode_id"] == record["episode_id"]]
        theirs = [x for x in airings if x["episode"] == record["episode_id"]]
        scores.append(score_file(f.stem, record, gold, mine, theirs, watchlist, reference, f))
    print("| file | kind | gold | found | recall | false alerts | precision | within 1 s | max off (s) | "
          "baseline found / false | match kinds |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for s in scores:
        precision = (len(s.found) - s.by_rerun) / s.alerts if s.alerts else 1.0
        within = sum(t <= TOLERANCE_S for t in s.timing)
        timing = f"{within}/{len(s.timing)}" if s.kind == "audio" else "-"
        worst = f"{max(s.timing):.2f}" if s.timing else "-"
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(s.how.items()))
        print(f"| {s.stem} | {s.kind} | {s.gold} | {len(s.found)} | {s.recall:.0%} | {len(s.false)} | {precision:.0%} "
              f"| {timing} | {worst} | {s.baseline_found} / {s.baseline_false} | {kinds} |")  # fmt: skip
    groups = {"audio": [s for s in scores if s.kind == "audio"], "text": [s for s in scores if s.kind == "text"]}
    for name, files in (("audio, tuning shows", audio[:TUNE]), ("audio, held-out shows 3-5", audio[TUNE:FRESH]),
                        ("audio, fresh held-out shows 6-", audio[FRESH:])):  # fmt: skip
        stems = {f.stem for f in files}
        groups[name] = [s for s in scores if s.stem in stems]
    for kind, group in groups.items():
        if not group:
            continue
        gold, found = sum(s.gold for s in group), sum(len(s.found) for s in group)
        alerts_n, false = sum(s.alerts for s in group), sum(len(s.false) for s in group)
        timed = [t for s in group for t in s.timing]
        base_found, base_false = sum(s.baseline_found for s in group), sum(s.baseline_false for s in group)
        print(f"\n{kind}: recall {found}/{gold} = {found / gold if gold else 1:.1%}, precision "
              f"{alerts_n - false}/{alerts_n} = {(alerts_n - false) / alerts_n if alerts_n else 1:.1%}"
              + (f", start within {TOLERANCE_S:.0f} s {sum(t <= TOLERANCE_S for t in timed)}/{len(timed)}" if timed else "")
              + f"; baseline (substring search) recall {base_found}/{gold}, false hits {base_false}")  # fmt: skip
    for s in scores:
        for label, items in (("missed", s.missed), ("false alert", s.false)):
            for item in items:
                print(f"{s.stem}: {label}: {item}")
    if args.out_json:
        args.out_json.write_text(json.dumps([s.__dict__ for s in scores], ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
