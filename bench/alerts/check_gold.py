#!/usr/bin/env python3
"""Check the alert benchmark's gold lists against the scripts, the reference files and the watchlist.

    python bench/alerts/check_gold.py            (from the repository root; needs only PyYAML)

Checks, for each show (gold/<stem>.yaml):
  * every gold mention's text occurs in that turn of the script and is the term's name, an alias, or
    (people) the surname; its start is the reference "words" time of that surface in that turn and lies
    within the turn's span;
  * every occurrence, in the script, of a watched form (names, aliases, surnames) or of a confusable form
    (the watchlist's `exclude`, the gold non_targets' texts) is either a gold mention or a non-target
    (leftmost-longest, like the generator's `marks`), and every gold surface is in the script's `marks`;
  * the rerun: the two turns have the same text, voice, speed and split, the same marks and readings
    inside them, and speech of the same length;
and for the text transcripts (gold/text/<stem>.yaml) the same coverage by line. Then it prints the
mention counts per term and per show (each term must be said 1-4 times across shows 1-5, the set made
first, and 1-3 times across shows 6-8, the fresh held-out set written at the end of session 7), and
the audio files' sizes (each under 1.2 MB) and SHA-256. It also checks that the stems sort in show
order and that the audio files in this folder are exactly the shows' (bench/alerts_bench.py takes the
first two audio files by name as the tuning shows and every other one as held out). Exit status 1 on
any failure.
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHOWS = ["kabuka_2025-11-06", "kesa_2025-11-12", "machi_2025-11-19", "nichijo_2025-11-26", "seisaku_2025-12-03",
         "shimin_2025-12-10", "tokushu_2025-12-17", "yuukan_2025-12-24"]
# Mentions per term: (first show, last show (1-based), least, most). Shows 1-5 were made first (1-2 tuning,
# 3-5 held out); shows 6-8 are the fresh held-out set written at the end of session 7.
SHOW_SETS = [(1, 5, 1, 4), (6, 8, 1, 3)]
AUDIO = {".mp3", ".ogg"}
# The surname said alone for each watched person (the watchlist format has no field for it).
SURNAMES = {"芹沢雅人": "芹沢", "久保寺絢子": "久保寺", "東雲康介": "東雲", "鳴海恭平": "鳴海"}
TEXTS = {
    "asaradio_2024-03-13": ROOT / "samples/asaradio_2024-03-13.txt",
    "prices_2024-03-13": ROOT / "tests/data/texts/prices_2024-03-13.txt",
    "onemorning_2023-07-05_article": ROOT.parent / "shared" / "samples" / "onemorning_2023-07-05_article.txt",
}
MAX_BYTES = 1_200_000

errors: list[str] = []


def fail(msg: str) -> None:
    errors.append(msg)
    print("FAIL", msg)


def occurrences(text: str, forms: list[str]) -> list[str]:
    """Leftmost-longest, non-overlapping occurrences of ``forms`` in ``text``."""
    forms = sorted(set(forms), key=len, reverse=True)
    out, i = [], 0
    while i < len(text):
        hit = next((f for f in forms if text.startswith(f, i)), None)
        if hit:
            out.append(hit)
            i += len(hit)
        else:
            i += 1
    return out


def main() -> int:
    watch = yaml.safe_load((HERE / "watchlist.yaml").read_text(encoding="utf-8"))
    terms = {t["name"]: t for t in watch["terms"]}
    term_forms: dict[str, set[str]] = {}
    for name, t in terms.items():
        forms = {name, *(t.get("aliases") or [])}
        if t["type"] == "PERSON":
            if name not in SURNAMES or not name.startswith(SURNAMES[name]):
                fail(f"no surname for {name}")
            else:
                forms.add(SURNAMES[name])
        term_forms[name] = forms
    watched = {f for forms in term_forms.values() for f in forms}
    excluded = {f for t in terms.values() for f in (t.get("exclude") or [])}
    per_term: Counter = Counter()  # (term, show set index)
    per_term_shows: dict[str, set] = {}
    if SHOWS != sorted(SHOWS):
        fail("the stems do not sort in show order")
    print(f"watchlist: {len(terms)} terms")
    if len(terms) < 18:
        fail("fewer than 18 terms")

    scripts, refs = {}, {}
    for k, stem in enumerate(SHOWS, 1):
        script = yaml.safe_load((HERE / "source" / f"{stem}.yaml").read_text(encoding="utf-8"))
        ref = json.loads((HERE / "reference" / f"{stem}.json").read_text(encoding="utf-8"))
        gold = yaml.safe_load((HERE / "gold" / f"{stem}.yaml").read_text(encoding="utf-8"))
        scripts[stem], refs[stem] = script, ref
        texts = [str(t["text"]).strip() for t in script["turns"]]
        marks = set(script.get("marks") or [])
        if [t["text"] for t in ref["turns"]] != texts:
            fail(f"{stem}: reference turns differ from the script")
        nt_texts = {n["text"] for n in gold["non_targets"]}
        forms = sorted(watched | excluded | nt_texts)
        listed = Counter()
        for m in gold["mentions"]:
            turn, text = m["turn"], m["text"]
            if text not in term_forms.get(m["term"], set()):
                fail(f"{stem}: {text} is not a form of {m['term']}")
            if text not in texts[turn]:
                fail(f"{stem}: turn {turn} does not contain {text}")
            span = ref["turns"][turn]
            if not span["start"] <= m["start"] <= span["end"]:
                fail(f"{stem}: {text} at {m['start']} outside turn {turn} ({span['start']}-{span['end']})")
            if text not in marks:
                fail(f"{stem}: {text} is not in marks")
            listed[(turn, text)] += 1
            per_term[(m["term"], next(i for i, (a, b, _, _) in enumerate(SHOW_SETS) if a <= k <= b))] += 1
            per_term_shows.setdefault(m["term"], set()).add(k)
        for n in gold["non_targets"]:
            if n["text"] not in texts[n["turn"]]:
                fail(f"{stem}: turn {n['turn']} does not contain non-target {n['text']}")
            if n["looks_like"] not in terms:
                fail(f"{stem}: non-target {n['text']} looks like unknown term {n['looks_like']}")
            listed[(n["turn"], n["text"])] += 1
        found = Counter((i, f) for i, text in enumerate(texts) for f in occurrences(text, forms))
        for key in found.keys() | listed.keys():
            if found[key] != listed[key]:
                fail(f"{stem}: turn {key[0]} says {key[1]} {found[key]} time(s), gold lists {listed[key]}")
        # starts = the reference words, in order, per (turn, text)
        words: dict = {}
        for w in ref.get("words", []):
            words.setdefault((w["turn"], w["text"]), []).append(w["start"])
        seen: Counter = Counter()
        for item in sorted(gold["mentions"] + gold["non_targets"], key=lambda x: (x["turn"], x["start"])):
            key = (item["turn"], item["text"])
            got = words.get(key, [])
            if seen[key] >= len(got) or abs(got[seen[key]] - item["start"]) > 0.0005:
                fail(f"{stem}: {key} start {item['start']} is not the reference word time {got}")
            seen[key] += 1
        print(f"show {k} {stem}: {len(gold['mentions'])} mentions, {len(gold['non_targets'])} non-targets, "
              f"{len(ref['turns'])} turns, {ref['duration']:.3f} s")

    # the rerun
    a_stem, b_stem = "kesa_2025-11-12", "nichijo_2025-11-26"
    ga = yaml.safe_load((HERE / "gold" / f"{a_stem}.yaml").read_text(encoding="utf-8"))["rerun"]
    gb = yaml.safe_load((HERE / "gold" / f"{b_stem}.yaml").read_text(encoding="utf-8"))["rerun"]
    if ga["same_as"] != {"show": b_stem, "turn": gb["turn"]} or gb["same_as"] != {"show": a_stem, "turn": ga["turn"]}:
        fail("rerun: the gold files do not point at each other")
    ta, tb = scripts[a_stem]["turns"][ga["turn"]], scripts[b_stem]["turns"][gb["turn"]]
    spk = {s: {sp["id"]: sp for sp in scripts[s]["speakers"]} for s in (a_stem, b_stem)}
    va, vb = spk[a_stem][ta["speaker"]], spk[b_stem][tb["speaker"]]
    if str(ta["text"]).strip() != str(tb["text"]).strip():
        fail("rerun: texts differ")
    if (va["voice"], va.get("speed", 1.0), va.get("phone", False)) != (vb["voice"], vb.get("speed", 1.0), vb.get("phone", False)):
        fail("rerun: voices differ")
    text = str(ta["text"]).strip()
    for what, key in (("marks", "marks"), ("readings", "readings")):
        sa = {m for m in (scripts[a_stem].get(key) or []) if m in text}
        sb = {m for m in (scripts[b_stem].get(key) or []) if m in text}
        if sa != sb or (key == "readings" and any(scripts[a_stem][key][m] != scripts[b_stem][key][m] for m in sa)):
            fail(f"rerun: {what} inside the passage differ ({sorted(sa)} / {sorted(sb)})")
    ra, rb = refs[a_stem]["turns"][ga["turn"]], refs[b_stem]["turns"][gb["turn"]]
    la, lb = ra["end"] - ra["start"], rb["end"] - rb["start"]
    if abs(la - lb) > 0.0015:
        fail(f"rerun: speech lengths differ ({la:.3f} / {lb:.3f} s)")
    print(f"rerun: {a_stem} turn {ga['turn']} ({ra['start']}-{ra['end']}) = {b_stem} turn {gb['turn']} "
          f"({rb['start']}-{rb['end']}), {la:.3f} s, voice {va['voice']}")

    # text transcripts
    for stem, path in TEXTS.items():
        gold = yaml.safe_load((HERE / "gold" / "text" / f"{stem}.yaml").read_text(encoding="utf-8"))
        if not path.is_file():
            print(f"text {stem}: {path} not here, skipped")
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        forms = sorted(watched | excluded | {n["text"] for n in gold["non_targets"]})
        listed = Counter()
        for m in gold["mentions"]:
            if m["text"] not in term_forms.get(m["term"], set()):
                fail(f"text {stem}: {m['text']} is not a form of {m['term']}")
            listed[(m["line"], m["text"])] += 1
        for n in gold["non_targets"]:
            listed[(n["line"], n["text"])] += 1
        found = Counter((i, f) for i, line in enumerate(lines, 1) for f in occurrences(line, forms))
        for key in found.keys() | listed.keys():
            if found[key] != listed[key]:
                fail(f"text {stem}: line {key[0]} says {key[1]} {found[key]} time(s), gold lists {listed[key]}")
        print(f"text {stem}: {len(gold['mentions'])} mentions, {len(gold['non_targets'])} non-targets")

    print("mentions per term across the shows " + ", ".join(f"{a}-{b}" for a, b, _, _ in SHOW_SETS) + " (shows):")
    for name in terms:
        counts = [per_term[(name, i)] for i in range(len(SHOW_SETS))]
        shows = ", ".join(str(k) for k in sorted(per_term_shows.get(name, ())))
        print(f"  {name}: {' + '.join(map(str, counts))} ({shows})")
        for (a, b, least, most), n in zip(SHOW_SETS, counts):
            if not least <= n <= most:
                fail(f"{name} is mentioned {n} times in shows {a}-{b} (should be {least}-{most})")
    present = sorted(p.name for p in HERE.iterdir() if p.suffix in AUDIO)
    if present != sorted(Path(refs[stem]["audio"]).name for stem in SHOWS):
        fail(f"audio files here differ from the shows: {present}")
    for stem in SHOWS:
        audio = HERE / refs[stem]["audio"]
        data = audio.read_bytes()
        if len(data) > MAX_BYTES:
            fail(f"{audio.name}: {len(data)} bytes")
        print(f"{hashlib.sha256(data).hexdigest()}  {audio.name}  ({len(data):,} bytes)")
    print("OK" if not errors else f"{len(errors)} failure(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
