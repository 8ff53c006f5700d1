"""Embedded search: an SQLite FTS5 index of the turn records (OUTPUT/turns.jsonl), built incrementally.

FTS5's own tokenizers do not suit Japanese: unicode61 keeps a run of kanji and kana as one token, trigram
cannot match queries shorter than three characters. So text is segmented here, before SQLite sees it: after
NFKC and lower-casing, every run of CJK characters becomes its overlapping character bigrams plus the run's
last character (as Lucene's CJKBigramFilter does), every Latin or digit run one word. A query term goes
through the same transform and becomes an FTS5 phrase, so a hit holds the term as a substring; a check on the
folded text drops the rare phrase matches that are not (words joined by other punctuation). Format characters
(Unicode Cf: zero-width joiner and space, byte order mark) are invisible, so they are dropped from the text and
the query alike (`search_fold`): a term pasted with one still finds the text without, and back.

The database is in WAL mode: a search while `pipeline index` writes reads the index as it was before that run,
instead of failing on the lock; two index runs take turns (each waits up to BUSY_TIMEOUT_S for the other).

Tables: `episodes` (content hash of each episode's turn records, for incremental indexing), `turns` (the
structured fields and the record as JSON), `turn_entities` and `turn_figures` (side tables for exact filters),
`turns_fts` (the segmented text; its rowid is the turn's), and `turns_text` for people writing SQL: the turn
text as written, under FTS5's trigram tokenizer, so that `turns_text MATCH '値上げ'` finds terms of three or more
characters and snippet()/highlight() show the text itself, which turns_fts's bigram tokens cannot. It needs
SQLite 3.34+; with an older SQLite the index is built without it (pipeline search does not read it).

Reading search (`pipeline search --reading TERM`) finds what ASR wrote as it sounded: 富士通 as 藤ツ, 宗像市 as
むなかたし, 長谷川 as ハセガハ. `turn_readings` holds each turn's phonetic key (pipeline.lib.lexicon.reading_key:
Sudachi's katakana readings word by word, long vowels dropped) and the words the key came from, written at index
time so that a search reads no text with Sudachi but the term. A turn is a candidate when its key holds a key of
the term, or, for a term allowed one mora off (search.reading_one_off_min_morae), one half of such a key (one edit
leaves one half whole); candidates are then checked in Python on whole words (match_reading). The check is a
scan of the keys in SQLite (instr), not an FTS5 trigram table: a trigram lookup needs three characters, while
terms of two morae and the halves of four-mora keys have two.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import SearchOptions
from pipeline.config.options import MAX_SEARCH_LIMIT
from pipeline.engine.output import TURNS_FILE, read_records
from pipeline.errors import PipelineError
from pipeline.lib.lexicon import ReadingKey, ReadingMatch, match_reading, morae, reading_key, term_keys
from pipeline.records import TurnRecord, from_dict, stable_hash, to_dict
from pipeline.text.normalise import fold
from pipeline.text.reader import Reader

# Bump when segment() or the tables change: an index of another format has to be rebuilt, or upgraded in place
# by the next index run (UPGRADABLE, see _upgrade).
# 2: format characters (ZWJ, ...) dropped from the indexed text and keys. 3: turns_text (trigram) added.
# 4: turn_readings (the phonetic key of each turn, for --reading) added. Bump it too when reading_key changes.
INDEX_FORMAT = "4"
UPGRADABLE = ("1", "2", "3")

# FTS5's trigram tokenizer, which turns_text uses, came with SQLite 3.34.
TRIGRAM_SQLITE = (3, 34, 0)
TEXT_TABLE = "CREATE VIRTUAL TABLE turns_text USING fts5 (text, tokenize = 'trigram')"

# Row ids looked up in one statement (SQLite allows 32,766 parameters, older versions 999).
_ROWIDS_PER_QUERY = 500

# How long a connection waits for another one's lock (a second index run) before it gives up.
BUSY_TIMEOUT_S = 30.0

_CJK = (
    "\u3040-\u309f"  # hiragana
    "\u30a0-\u30fa\u30fc-\u30ff"  # katakana and ー (the middle dot ・ separates words)
    "\u31f0-\u31ff"  # small katakana extensions
    "\u3005-\u3007"  # 々 〆 〇
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # ideographs
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"  # hangul
)
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?:(?![{_CJK}])[^\W_])+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    episode_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    show TEXT, station TEXT, air_date TEXT, source TEXT,
    turn_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    episode_id TEXT NOT NULL REFERENCES episodes (episode_id),
    turn INTEGER NOT NULL,
    speaker TEXT NOT NULL, speaker_name TEXT, speaker_role TEXT,
    show TEXT, station TEXT, air_date TEXT,
    start_s REAL, end_s REAL, section TEXT,
    text TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_episode ON turns (episode_id);
CREATE INDEX IF NOT EXISTS turns_air_date ON turns (air_date);
CREATE TABLE IF NOT EXISTS turn_entities (
    turn_rowid INTEGER NOT NULL REFERENCES turns (rowid),
    entity_id TEXT, name TEXT NOT NULL, type TEXT, surface TEXT NOT NULL,
    name_key TEXT NOT NULL, surface_key TEXT NOT NULL,
    start INTEGER, stop INTEGER
);
CREATE INDEX IF NOT EXISTS turn_entities_turn ON turn_entities (turn_rowid);
CREATE INDEX IF NOT EXISTS turn_entities_name ON turn_entities (name_key);
CREATE INDEX IF NOT EXISTS turn_entities_surface ON turn_entities (surface_key);
CREATE TABLE IF NOT EXISTS turn_figures (
    turn_rowid INTEGER NOT NULL REFERENCES turns (rowid),
    text TEXT NOT NULL, kind TEXT NOT NULL, value REAL, value_max REAL, unit TEXT, qualifier TEXT,
    iso TEXT, counted TEXT
);
CREATE INDEX IF NOT EXISTS turn_figures_turn ON turn_figures (turn_rowid);
CREATE INDEX IF NOT EXISTS turn_figures_value ON turn_figures (kind, unit, value);
-- 'ascii' splits only at ASCII spaces and punctuation: segment() has already made the tokens.
CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5 (tokens, tokenize = 'ascii');
"""
# The phonetic key of each turn's text and its words, JSON [[start, end, n], ...]: the next n key characters were
# read from text[start:end] (pack_reading). One row per turn, also for a turn with no key ('').
READINGS_TABLE = """
CREATE TABLE IF NOT EXISTS turn_readings (
    turn_rowid INTEGER PRIMARY KEY REFERENCES turns (rowid),
    key TEXT NOT NULL,
    words TEXT NOT NULL
)"""


class SearchError(PipelineError):
    """The index is missing or unusable, or a query cannot be searched."""


@dataclass
class IndexReport:
    """What one `pipeline index` did."""

    added: int
    updated: int
    unchanged: int
    turns_written: int
    episodes_total: int
    turns_total: int


@dataclass
class Query:
    """A search: terms (all must occur; empty = list by filters) and filters that narrow the hits."""

    text: str
    speaker: str | None  # substring of the speaker id or name
    entity: str | None  # an entity's canonical name or its surface in the turn, exactly (width/case folded)
    show: str | None  # substring of the programme name
    since: str | None  # ISO date, inclusive
    until: str | None  # ISO date, inclusive
    limit: int
    reading: str | None = None  # a term found by its reading (pipeline search --reading); with text, both must match


@dataclass
class Hit:
    record: dict[str, Any]  # the turn record as indexed
    score: float | None  # -bm25: higher is better (--reading: the reading score); None when listing by filters only
    snippet: str
    # With --reading: the best match, {"text", "key", "term_key", "score", "span"} (span: [start, end) in the text).
    reading: dict[str, Any] | None = None


# --- text transform ---------------------------------------------------------------------------------------------


def search_fold(text: str) -> str:
    """The form text and queries are compared in: fold() (NFKC, lower case) without format characters."""
    return "".join(ch for ch in fold(text) if unicodedata.category(ch) != "Cf")


def _runs(folded: str) -> list[tuple[bool, str]]:
    """(is CJK, run) for each run of CJK characters or of other letters and digits."""
    return [(m.group("cjk") is not None, m.group()) for m in _RUN.finditer(folded)]


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def segment(text: str) -> str:
    """The indexed form of a text: CJK runs as bigrams plus their last character, other runs as words."""
    tokens = []
    for cjk, run in _runs(search_fold(text)):
        tokens += [*_bigrams(run), run[-1]] if cjk else [run]
    return " ".join(tokens)


def match_phrase(term: str) -> str | None:
    """One query term (no spaces) as an FTS5 phrase over segment()'s tokens; None if nothing in it is indexed.

    The document carries a run's last character only where its run ends, and the term's last run may end
    inside a longer run of the text: so that run contributes bigrams only, or, when it is one character, a
    prefix token (返 matches 返納 and a final 返). A Latin last word is a prefix too (jap matches japan).
    """
    runs = _runs(search_fold(term))
    tokens: list[str] = []
    for i, (cjk, run) in enumerate(runs):
        last = i == len(runs) - 1
        if not cjk:
            tokens.append(run)
        elif last and len(run) > 1:
            tokens += _bigrams(run)
        else:
            tokens += [*_bigrams(run), run[-1]]
    if not tokens:
        return None
    prefix = not runs[-1][0] or len(runs[-1][1]) == 1
    return f'"{" ".join(tokens)}"' + (" *" if prefix else "")


def snippet(
    text: str, terms: list[str], context: int, marks: tuple[str, str], found: tuple[tuple[int, int], ...] = ()
) -> str:
    """A one-line window of `text` around the first match of any term, every match in it between the marks.
    `found`: [start, end) spans matched otherwise (by reading), marked too; the window is around the first of them."""
    folded, origin = "", []
    for i, ch in enumerate(text):  # fold character by character to map folded offsets back to the text
        f = search_fold(ch)
        folded += f
        origin += [i] * len(f)
    spans = list(found)
    for term in filter(None, (search_fold(t) for t in terms)):
        at = folded.find(term)
        while at >= 0:
            spans.append((origin[at], origin[at + len(term) - 1] + 1))
            at = folded.find(term, at + len(term))
    if not spans:
        return _one_line(text[: 2 * context]) + ("…" if len(text) > 2 * context else "")
    focus = found[0] if found else min(spans)
    spans.sort()
    left, right = max(0, focus[0] - context), min(len(text), focus[1] + context)
    out, pos = "…" if left else "", left
    for start, end in spans:
        if start >= pos and end <= right:
            out += text[pos:start] + marks[0] + text[start:end] + marks[1]
            pos = end
    out += text[pos:right] + ("…" if right < len(text) else "")
    return _one_line(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- index ------------------------------------------------------------------------------------------------------


def read_turn_records(output_dir: Path) -> list[dict[str, Any]]:
    """The turn records of a run, each checked against the turn schema: a bad line is named by file and line.
    A turns.jsonl that is not from the run that wrote the folder's episodes.jsonl is refused (a run killed between
    their renames: the run's new episodes would be missed silently)."""
    return [to_dict(r) for r in read_records(output_dir, TURNS_FILE, TurnRecord, "a turn record", SearchError)]


def build_index(output_dir: Path, db_path: Path, reader: Reader | None = None) -> IndexReport:
    """Add the episodes of OUTPUT/turns.jsonl that are new or changed; episodes from other runs stay. `reader`
    (Sudachi, for the turns' readings) is made here when not given; it loads its dictionary only if it reads.

    One transaction: a failed or killed run leaves the index as it was.
    """
    reader = reader or Reader()
    records = read_turn_records(output_dir)
    twice = [i for i, n in Counter(r["id"] for r in records).items() if n > 1]
    if twice:  # e.g. two runs' turns.jsonl concatenated: index each folder instead
        raise SearchError(f"{output_dir / TURNS_FILE} holds turn {twice[0]} more than once: index one run's output")
    episodes: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        episodes.setdefault(record["episode_id"], []).append(record)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = _open(db_path, must_exist=False)
    try:
        _check_format(conn, db_path)  # first: another program's SQLite file is refused untouched
        conn.execute("PRAGMA journal_mode = WAL")  # searches meanwhile read the index as it was
        conn.execute("BEGIN IMMEDIATE")
        _check_or_create_schema(conn, db_path, reader)
        with_text = _text_table(conn, db_path)
        stored = dict(conn.execute("SELECT episode_id, content_hash FROM episodes"))
        added = updated = unchanged = turns_written = 0
        for episode_id, turns in episodes.items():
            content_hash = stable_hash(turns, length=32)
            if stored.get(episode_id) == content_hash:
                unchanged += 1
                continue
            if episode_id in stored:
                _delete_episode(conn, episode_id, with_text)
                updated += 1
            else:
                added += 1
            _insert_episode(conn, episode_id, content_hash, turns, with_text, reader)
            turns_written += len(turns)
        (episodes_total,) = conn.execute("SELECT count(*) FROM episodes").fetchone()
        (turns_total,) = conn.execute("SELECT count(*) FROM turns").fetchone()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return IndexReport(added, updated, unchanged, turns_written, episodes_total, turns_total)


def _open(db_path: Path, must_exist: bool) -> sqlite3.Connection:
    """A connection with explicit transactions that waits BUSY_TIMEOUT_S for a lock. Searches open it writable
    too (they only read), so that SQLite can clean up what an index run killed mid-transaction left behind."""
    if must_exist and not db_path.is_file():
        raise SearchError(f"no search index at {db_path}: run `pipeline index OUTPUT_DIR` first")
    try:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    except sqlite3.DatabaseError as e:
        raise SearchError(f"cannot open {db_path} as a search index: {e}") from e
    conn.create_function("fold", 1, lambda s: search_fold(s) if s is not None else None, deterministic=True)
    return conn


def _format(conn: sqlite3.Connection) -> str | None:
    if not conn.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").fetchone():
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    return row[0] if row else None


def _check_format(conn: sqlite3.Connection, db_path: Path) -> str | None:
    """The index format of the file (None: a new, empty file); refuses other SQLite files and other formats."""
    found = _format(conn)
    if found is None and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
        raise SearchError(f"{db_path} is an SQLite file but not a search index; name another --db")
    if found is not None and found != INDEX_FORMAT and found not in UPGRADABLE:
        raise SearchError(f"{db_path} has index format {found}, this version writes {INDEX_FORMAT}: delete it and "
                          "run `pipeline index` again for each output folder")  # fmt: skip
    return found


def _check_or_create_schema(conn: sqlite3.Connection, db_path: Path, reader: Reader) -> None:
    found = _check_format(conn, db_path)
    if found is None:  # statement by statement: executescript() would commit the open transaction
        for statement in [*filter(str.strip, _SCHEMA.split(";")), READINGS_TABLE]:
            conn.execute(statement)
    elif found != INDEX_FORMAT:
        _upgrade(conn, found, reader)
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)", (INDEX_FORMAT,))


def _upgrade(conn: sqlite3.Connection, found: str, reader: Reader) -> None:
    """An earlier format to this one in place, inside the index run's transaction. 1 to 2: the segmented text and
    the folded entity keys lose their format characters. 2 to 3: turns_text, which _text_table adds and fills.
    3 to 4: turn_readings, read from the stored text of every turn (without it --reading would find nothing)."""
    if found == "1":
        _drop_format_characters(conn)
    _fill_readings(conn, reader)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (INDEX_FORMAT,))


def _fill_readings(conn: sqlite3.Connection, reader: Reader) -> None:
    """turn_readings made anew from the turns' text (emptied first: an index that claims an older format may hold
    some rows already)."""
    conn.execute(READINGS_TABLE)
    conn.execute("DELETE FROM turn_readings")
    texts = conn.execute("SELECT rowid, text FROM turns").fetchall()
    conn.executemany("INSERT INTO turn_readings (turn_rowid, key, words) VALUES (?, ?, ?)",
                     [(rowid, *pack_reading(reading_key(text, reader))) for rowid, text in texts])  # fmt: skip


def pack_reading(key: ReadingKey) -> tuple[str, str]:
    """(key, words JSON) as turn_readings stores them: one [start, end, n] per word instead of offsets per character."""
    words = [[key.starts[i], key.ends[i], j - i] for i, j in key.words()]
    return key.key, json.dumps(words, separators=(",", ":"))


def unpack_reading(key: str, words: str) -> ReadingKey:
    """The ReadingKey of a turn_readings row (pack_reading's inverse)."""
    starts, ends = [], []
    for start, end, n in json.loads(words):
        starts += [start] * n
        ends += [end] * n
    return ReadingKey(key, tuple(starts), tuple(ends))


def _drop_format_characters(conn: sqlite3.Connection) -> None:
    """Format 1 kept format characters (ZWJ, ...) in the segmented text and the entity keys."""
    texts = conn.execute("SELECT rowid, text FROM turns").fetchall()
    conn.execute("DELETE FROM turns_fts")
    conn.executemany("INSERT INTO turns_fts (rowid, tokens) VALUES (?, ?)", [(i, segment(t)) for i, t in texts])
    keys = conn.execute("SELECT rowid, name, surface FROM turn_entities").fetchall()
    conn.executemany("UPDATE turn_entities SET name_key = ?, surface_key = ? WHERE rowid = ?",
                     [(search_fold(name), search_fold(surface), i) for i, name, surface in keys])  # fmt: skip


def _text_table(conn: sqlite3.Connection, db_path: Path) -> bool:
    """Whether the index keeps turns_text. It is created and filled from `turns` when this SQLite has the trigram
    tokenizer and the index lacks the table (a new index, an upgraded one, or one built with an older SQLite)."""
    exists = conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'turns_text'").fetchone() is not None
    if sqlite3.sqlite_version_info < TRIGRAM_SQLITE:
        if exists:  # its rows could not be written
            raise SearchError(f"{db_path} has a trigram table, which this Python's SQLite {sqlite3.sqlite_version} "
                              "cannot write (3.34 or later can): index it with a newer Python")  # fmt: skip
        return False
    if not exists:
        conn.execute(TEXT_TABLE)
        conn.execute("INSERT INTO turns_text (rowid, text) SELECT rowid, text FROM turns")
    return True


def _delete_episode(conn: sqlite3.Connection, episode_id: str, with_text: bool) -> None:
    rows = "SELECT rowid FROM turns WHERE episode_id = ?"
    tables = [("turns_fts", "rowid"), ("turn_entities", "turn_rowid"), ("turn_figures", "turn_rowid"),
              ("turn_readings", "turn_rowid")]
    for table, key in tables + ([("turns_text", "rowid")] if with_text else []):
        conn.execute(f"DELETE FROM {table} WHERE {key} IN ({rows})", (episode_id,))
    conn.execute("DELETE FROM turns WHERE episode_id = ?", (episode_id,))
    conn.execute("DELETE FROM episodes WHERE episode_id = ?", (episode_id,))


def _insert_episode(
    conn: sqlite3.Connection, episode_id: str, content_hash: str, records: list[dict], with_text: bool, reader: Reader
) -> None:
    first = records[0]
    conn.execute(
        "INSERT INTO episodes (episode_id, content_hash, show, station, air_date, source, turn_count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (episode_id, content_hash, first["show"], first["station"], first["air_date"], first["source"], len(records)),
    )
    for r in records:
        rowid = conn.execute(
            "INSERT INTO turns (id, episode_id, turn, speaker, speaker_name, speaker_role, show, station, air_date, "
            "start_s, end_s, section, text, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r["id"], episode_id, r["turn"], r["speaker"], r["speaker_name"], r["speaker_role"], r["show"],
             r["station"], r["air_date"], r["start"], r["end"], r["section"], r["text"],
             json.dumps(r, ensure_ascii=False)),
        ).lastrowid  # fmt: skip
        conn.execute("INSERT INTO turns_fts (rowid, tokens) VALUES (?, ?)", (rowid, segment(r["text"])))
        if with_text:
            conn.execute("INSERT INTO turns_text (rowid, text) VALUES (?, ?)", (rowid, r["text"]))
        conn.execute("INSERT INTO turn_readings (turn_rowid, key, words) VALUES (?, ?, ?)",
                     (rowid, *pack_reading(reading_key(r["text"], reader))))  # fmt: skip
        conn.executemany(
            "INSERT INTO turn_entities (turn_rowid, entity_id, name, type, surface, name_key, surface_key, start, "
            "stop) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(rowid, e["id"], e["name"], e["type"], e["text"], search_fold(e["name"]), search_fold(e["text"]),
              *e["span"])
             for e in r["entities"]],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO turn_figures (turn_rowid, text, kind, value, value_max, unit, qualifier, iso, counted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(rowid, f["text"], f["kind"], f["value"], f["value_max"], f["unit"], f["qualifier"], f["iso"],
              f["counted"]) for f in r["figures"]],
        )  # fmt: skip


# --- search -----------------------------------------------------------------------------------------------------


def _filters(query: Query) -> tuple[list[str], list[Any]]:
    """SQL conditions on the turns table `t` for the query's filters, and their parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.speaker:
        where.append("(instr(fold(t.speaker), ?) > 0 OR instr(fold(coalesce(t.speaker_name, '')), ?) > 0)")
        params += [search_fold(query.speaker)] * 2
    if query.entity:
        where.append("EXISTS (SELECT 1 FROM turn_entities e WHERE e.turn_rowid = t.rowid "
                     "AND (e.name_key = ? OR e.surface_key = ?))")  # fmt: skip
        params += [search_fold(query.entity)] * 2
    if query.show:
        where.append("instr(fold(coalesce(t.show, '')), ?) > 0")
        params.append(search_fold(query.show))
    if query.since:
        where.append("t.air_date >= ?")
        params.append(query.since)
    if query.until:
        where.append("t.air_date <= ?")
        params.append(query.until)
    return where, params


def search(db_path: Path, query: Query, options: SearchOptions, reader: Reader | None = None) -> list[Hit]:
    """Turns holding every term of the query (bm25 order), narrowed by the filters; or, with no terms, the
    turns the filters select (latest air date first). With query.reading, turns that sound like it (and hold the
    terms, if any), by reading score, then latest air date first; `reader` (Sudachi) reads the term."""
    terms = query.text.split()
    where, params = _filters(query)
    if not terms and not where and query.reading is None:
        raise SearchError("empty query: give a search term, a reading (--reading), a filter (--speaker, --entity, "
                          "--show, --since, --until), or both")  # fmt: skip
    phrases = [p for p in map(match_phrase, terms) if p]
    if terms and not phrases:
        raise SearchError(f"nothing searchable in {query.text!r}: use letters, digits, kana or kanji")
    keys = []
    if query.reading is not None:
        keys = term_keys(query.reading, reader or Reader())
        if not keys:
            raise SearchError(f"no reading for {query.reading!r}: give a word in kana or kanji")
    # A term that is one run is matched exactly by its phrase; otherwise the phrase ignores what separates the
    # runs (富士通 Japan for 富士通Japan, 中 for ・中), so the term is checked as a substring.
    checks = [f for f in map(search_fold, terms) if [run for _, run in _runs(f)] != [f]]
    # SQLite's LIMIT takes a 64-bit integer (a larger one is an OverflowError) and reads a negative one as none.
    limit = min(max(query.limit, 1), MAX_SEARCH_LIMIT)
    conn = _open(db_path, must_exist=True)
    try:
        found = _format(conn)
        if found in UPGRADABLE:  # searched as it is, it would miss what the new format adds (--reading: everything)
            raise SearchError(f"{db_path} is an index of format {found}, from an earlier version: run `pipeline index` "
                              "on it (--db) once, which upgrades it in place")  # fmt: skip
        if found != INDEX_FORMAT:
            raise SearchError(f"{db_path} is not a search index of format {INDEX_FORMAT}: run `pipeline index`")
        if keys:
            return _reading_search(conn, query, keys, phrases, checks, where, params, options, limit)
        if phrases:
            where += ["instr(fold(t.text), ?) > 0"] * len(checks)
            ranked = "SELECT rowid, bm25(turns_fts) AS relevance FROM turns_fts WHERE turns_fts MATCH ?"
            if not where:  # nothing to look up in `turns`: FTS5 ranks and cuts before the join
                ranked += f" ORDER BY relevance, rowid LIMIT {int(limit)}"
            rows = conn.execute(
                f"SELECT t.record, m.relevance FROM ({ranked}) AS m JOIN turns t ON t.rowid = m.rowid "
                f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY m.relevance, t.rowid LIMIT ?",
                [" AND ".join(phrases), *params, *checks, limit],
            ).fetchall()  # fmt: skip
        else:
            rows = conn.execute(
                f"SELECT t.record, NULL FROM turns t WHERE {' AND '.join(where)} "
                "ORDER BY t.air_date DESC NULLS LAST, t.episode_id, t.turn LIMIT ?",
                [*params, limit],
            ).fetchall()
    except sqlite3.DatabaseError as e:
        raise SearchError(f"{db_path}: {e}") from e
    finally:
        conn.close()
    hits = []
    for record_json, rank in rows:
        record = json.loads(record_json)
        score = round(-rank, 4) if rank is not None else None
        marks = (options.highlight_start, options.highlight_end)
        hits.append(Hit(record, score, snippet(record["text"], terms, options.snippet_chars, marks)))
    return hits


def _reading_search(
    conn: sqlite3.Connection, query: Query, keys: list[str], phrases: list[str], checks: list[str], where: list[str],
    params: list[Any], options: SearchOptions, limit: int,
) -> list[Hit]:  # fmt: skip
    """Every turn that sounds like the term (match_reading on its stored key), best score first, then latest air
    date. SQL narrows the turns to those whose key holds a term key, or for a key allowed one edit one half of it,
    plus the filters and the text terms; Python checks the words of each, ranks them all, and reads the records
    and makes the snippets of the first `limit` only."""
    one_off = options.reading_one_off_min_morae
    needles: list[str] = []
    for key in keys:
        half = len(key) // 2
        needles += [key[:half], key[half:]] if morae(key) >= one_off else [key]
    conds = [*where, "(" + " OR ".join(["instr(r.key, ?) > 0"] * len(needles)) + ")"]
    args = [*params, *needles]
    if phrases:
        conds.append("t.rowid IN (SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?)")
        args.append(" AND ".join(phrases))
        conds += ["instr(fold(t.text), ?) > 0"] * len(checks)
        args += checks
    rows = conn.execute(
        f"SELECT t.rowid, t.air_date, t.episode_id, t.turn, r.key, r.words FROM turns t "
        f"JOIN turn_readings r ON r.turn_rowid = t.rowid WHERE {' AND '.join(conds)}", args,
    ).fetchall()  # fmt: skip
    ranked: list[tuple[int, str | None, str, int, list[ReadingMatch]]] = []
    for rowid, air_date, episode_id, turn, key, words in rows:
        matches = match_reading(keys, unpack_reading(key, words), one_off)
        if matches:  # the best first (the first of the best, in text order), then the others in text order
            best = max(matches, key=lambda m: m.score)
            ranked.append((rowid, air_date, episode_id, turn, [best, *(m for m in matches if m is not best)]))
    # Stable sorts, last key first: score, then latest air date (none last), then episode and turn.
    ranked.sort(key=lambda c: (c[2], c[3]))
    ranked.sort(key=lambda c: c[1] or "", reverse=True)
    ranked.sort(key=lambda c: -c[4][0].score)
    ranked = ranked[:limit]
    records: dict[int, str] = {}
    for at in range(0, len(ranked), _ROWIDS_PER_QUERY):  # SQLite limits the parameters of one statement
        chunk = [c[0] for c in ranked[at : at + _ROWIDS_PER_QUERY]]
        records.update(conn.execute(f"SELECT rowid, record FROM turns WHERE rowid IN ({', '.join('?' * len(chunk))})",
                                    chunk))  # fmt: skip
    marks = (options.highlight_start, options.highlight_end)
    hits = []
    for rowid, _, _, _, matches in ranked:
        record = json.loads(records[rowid])
        text, spans = record["text"], tuple((m.start, m.end) for m in matches)
        hits.append(Hit(record, matches[0].score, snippet(text, query.text.split(), options.snippet_chars, marks,
                                                          spans), _reading_json(text, matches[0])))  # fmt: skip
    return hits


def _reading_json(text: str, match: ReadingMatch) -> dict[str, Any]:
    return {"text": text[match.start : match.end], "key": match.key, "term_key": match.term_key,
            "score": match.score, "span": [match.start, match.end]}  # fmt: skip


def clock(seconds: float) -> str:
    """mm:ss, or h:mm:ss past an hour: a time in an episode, as `pipeline search` and `pipeline alerts` print it."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def position(record: dict[str, Any]) -> str:
    """Where in the episode a turn is: mm:ss (h:mm:ss) for timed turns, else the turn number and section."""
    if record["start"] is not None:
        return clock(record["start"])
    section = record["section"]
    return f"turn {record['turn']}" + (f" ({section})" if section else "")
