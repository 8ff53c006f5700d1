"""The dedup archive: cross-episode fingerprints of earlier runs in one SQLite file (dedup.archive), so that a
rerun, an ad or a jingle aired on an earlier day is found again by a later run.

Per archived episode: its id, air date, source file (path and SHA-256), its segments as they were before dedup
(a DupRef points into them) and its fingerprint (pipeline/lib/dedup.py makes it): the normalised character
stream cross-episode matching compared, each character's origin in the segments (to align and to place a
passage), the stream's windows, their MinHash signatures, and one key per LSH band of each window.

A run reads only the windows that share a band key with a window of its batch (an index on the keys): exactly
the windows an LSH query could return, so the cost follows the batch and what matches it, not the archive's
size. An episode's stream and segments are read only when one of its windows matched.

One write per batch, in one transaction: a run killed while writing leaves the archive as it was (SQLite rolls
the journal back when the file is next opened). Rollback journal rather than WAL: WAL needs memory shared
between the processes, which a network filesystem does not give. Runs sharing an archive take turns on its
lock, each waiting up to BUSY_TIMEOUT_S.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.records import Segment, from_dict, stable_hash, to_dict

# Bump when the tables change: an archive of another format is refused (delete it: the next runs fill a new one).
FORMAT = "1"

# How long a run waits for another run's write (one batch's rows) before it gives up.
BUSY_TIMEOUT_S = 60.0

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE episodes (
        number INTEGER PRIMARY KEY,
        episode_id TEXT NOT NULL UNIQUE,
        air_date TEXT,
        source_path TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        kind TEXT NOT NULL,
        content TEXT NOT NULL,
        archived_at TEXT NOT NULL,
        signature_type TEXT NOT NULL,
        chars TEXT NOT NULL,
        origin BLOB NOT NULL,
        segments BLOB NOT NULL
    )""",
    "CREATE INDEX episodes_sha256 ON episodes (source_sha256)",
    """CREATE TABLE windows (
        episode INTEGER NOT NULL, win INTEGER NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,
        signature BLOB NOT NULL,
        PRIMARY KEY (episode, win)
    ) WITHOUT ROWID""",
    # Keyed by band (the lookup), without a rowid table beside it: band keys are most of the archive's bytes.
    """CREATE TABLE bands (
        band INTEGER NOT NULL, episode INTEGER NOT NULL, win INTEGER NOT NULL,
        PRIMARY KEY (band, episode, win)
    ) WITHOUT ROWID""",
    "CREATE INDEX bands_episode ON bands (episode)",
)

_ORIGIN = np.dtype("<i4")  # origin triples as stored


class ArchiveError(PipelineError):
    """The dedup archive cannot be opened, read or written."""


@dataclass
class Fingerprint:
    """What cross-episode matching compares of an episode."""

    kind: str  # the options it was made with, hashed: only fingerprints of one kind are compared
    chars: str  # the episode's text (less what dedup removed within it) as one normalised stream
    origin: list[tuple[int, int, int]]  # per character of chars: segment index, start, end in the segment text
    windows: np.ndarray  # (w, 2) [start, end) in chars
    signatures: np.ndarray  # (w, num_perm) MinHash values of each window
    bands: np.ndarray  # (w, b) int64, a key per LSH band: windows sharing one are compared


@dataclass
class Entry:
    """An episode to archive."""

    episode_id: str
    air_date: str | None
    source_path: str
    source_sha256: str
    segments: list[Segment]  # before dedup: the positions of a DupRef
    fingerprint: Fingerprint


@dataclass
class Earlier:
    """An archived episode as a run reads it: the windows that share a band key with a window of the batch."""

    episode_id: str
    air_date: str | None
    content: str  # its entry's hash: its stream is read only while the entry is still this one
    windows: np.ndarray  # (k, 2)
    signatures: np.ndarray  # (k, num_perm)


class Archive:
    """An open archive (open_archive)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    def state(self, own_sha256: str) -> str:
        """Changes with every entry written or replaced, and with a new archive (a deleted one started again): part
        of the dedup stage's cache key, so a result is reused only with the archive it was found with. The entry of
        the file itself (own_sha256) is left out: a file never matches itself, so its own entry, written by the
        previous run, changes nothing, and rerunning the same file stays cached."""
        rows = self.conn.execute("SELECT episode_id, content FROM episodes WHERE source_sha256 != ? "
                                 "ORDER BY episode_id", (own_sha256,)).fetchall()  # fmt: skip
        archive_id = self.conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()[0]
        return stable_hash({"id": archive_id, "episodes": rows})

    def other_kinds(self, kind: str) -> int:
        """Entries fingerprinted with other options than `kind`'s: they are not compared."""
        return self.conn.execute("SELECT count(*) FROM episodes WHERE kind != ?", (kind,)).fetchone()[0]

    def candidates(
        self, kind: str, bands: np.ndarray, exclude_ids: set[str], exclude_sha256: set[str]
    ) -> list[Earlier]:
        """Archived episodes of this kind with the windows that share a band key with `bands` (the batch's), in
        one read. `exclude_*`: the batch's own episode ids and files, which never match themselves."""
        with self._transaction("BEGIN"):
            eligible = [
                (number, episode_id, air_date, content, signature_type)
                for number, episode_id, sha256, air_date, content, signature_type in self.conn.execute(
                    "SELECT number, episode_id, source_sha256, air_date, content, signature_type FROM episodes "
                    "WHERE kind = ?", (kind,))
                if episode_id not in exclude_ids and sha256 not in exclude_sha256
            ]  # fmt: skip
            if not eligible or not bands.size:
                return []
            for table, values in (("query_bands", np.unique(bands).tolist()), ("eligible", [e[0] for e in eligible])):
                self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (value INTEGER PRIMARY KEY)")
                self.conn.execute(f"DELETE FROM temp.{table}")
                self.conn.executemany(f"INSERT INTO temp.{table} VALUES (?)", ((v,) for v in values))
            rows = self.conn.execute("""
                SELECT w.episode, w.start_at, w.end_at, w.signature FROM windows w
                JOIN (SELECT DISTINCT b.episode, b.win FROM temp.query_bands q
                      JOIN bands b ON b.band = q.value
                      JOIN temp.eligible e ON e.value = b.episode) c ON c.episode = w.episode AND c.win = w.win
                ORDER BY w.episode, w.win""").fetchall()
        found: dict[int, list[tuple[int, int, bytes]]] = {}
        for number, start, end, signature in rows:
            found.setdefault(number, []).append((start, end, signature))
        out = []
        for number, episode_id, air_date, content, signature_type in eligible:
            if number in found:
                windows = found[number]
                out.append(Earlier(
                    episode_id, air_date, content,
                    np.array([(a, b) for a, b, _ in windows], dtype=np.int64).reshape(len(windows), 2),
                    np.stack([np.frombuffer(s, dtype=np.dtype(signature_type)) for _, _, s in windows]),
                ))  # fmt: skip
        return out

    def episode(self, earlier: Earlier) -> tuple[str, list[tuple[int, int, int]], list[Segment]]:
        """An archived episode's stream, its origin and its segments, as they were when its windows were read."""
        row = self.conn.execute("SELECT chars, origin, segments FROM episodes WHERE episode_id = ? AND content = ?",
                                (earlier.episode_id, earlier.content)).fetchone()  # fmt: skip
        if row is None:
            raise ArchiveError(f"dedup archive {self.path}: {earlier.episode_id} was replaced while this run read it "
                               f"(by another run sharing the archive): run again")  # fmt: skip
        chars, origin, segments = row
        triples = np.frombuffer(zlib.decompress(origin), dtype=_ORIGIN).reshape(-1, 3)
        segment_list = [from_dict(Segment, s) for s in json.loads(zlib.decompress(segments))]
        return chars, [(a, b, c) for a, b, c in triples.tolist()], segment_list

    def replace(self, entries: list[Entry]) -> None:
        """Add the entries in one transaction, each replacing the archive's entry of the same episode id or the same
        file (an input tree moved: its ids changed). A run that dies meanwhile leaves the archive as it was."""
        encoded = [_encode(e) for e in entries]  # before taking the lock: other runs wait only for the writes
        archived_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._transaction("BEGIN IMMEDIATE"):
            for e in entries:
                for (number,) in self.conn.execute(
                    "SELECT number FROM episodes WHERE episode_id = ? OR (source_sha256 = ? AND source_sha256 != '')",
                    (e.episode_id, e.source_sha256)).fetchall():  # fmt: skip
                    for table, column in (("bands", "episode"), ("windows", "episode"), ("episodes", "number")):
                        self.conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (number,))
            for e, (content, origin, segments) in zip(entries, encoded):
                self._insert(e, content, origin, segments, archived_at)

    def _insert(self, e: Entry, content: str, origin: bytes, segments: bytes, archived_at: str) -> None:
        fp = e.fingerprint
        number = self.conn.execute(
            "INSERT INTO episodes (episode_id, air_date, source_path, source_sha256, kind, content, archived_at, "
            "signature_type, chars, origin, segments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.episode_id, e.air_date, e.source_path, e.source_sha256, fp.kind, content, archived_at,
             fp.signatures.dtype.str, fp.chars, origin, segments),
        ).lastrowid  # fmt: skip
        self.conn.executemany("INSERT INTO windows VALUES (?, ?, ?, ?, ?)", (
            (number, w, start, end, signature.tobytes())
            for w, ((start, end), signature) in enumerate(zip(fp.windows.tolist(), fp.signatures))
        ))  # fmt: skip
        self.conn.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?, ?)", (  # two equal keys of a window: one
            (band, number, w) for w, keys in enumerate(fp.bands.tolist()) for band in keys
        ))  # fmt: skip

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self.conn.execute(begin)
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


def _encode(e: Entry) -> tuple[str, bytes, bytes]:
    """(content hash, origin, segments) of an entry as stored."""
    fp = e.fingerprint
    origin = zlib.compress(np.array(fp.origin, dtype=_ORIGIN).reshape(len(fp.origin), 3).tobytes())
    segments = zlib.compress(json.dumps(to_dict(e.segments), ensure_ascii=False).encode("utf-8"))
    h = hashlib.sha256()
    for part in (e.air_date or "", e.source_sha256, fp.kind, fp.chars):
        h.update(part.encode("utf-8") + b"\0")
    for blob in (origin, segments, fp.windows.astype(np.int64).tobytes(), fp.signatures.tobytes()):
        h.update(blob)
    return h.hexdigest()[:24], origin, segments


@contextmanager
def open_archive(path: Path) -> Iterator[Archive]:
    """The archive at `path`, created with its folder if there is none. Any SQLite error in the block becomes an
    ArchiveError naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    except (OSError, sqlite3.Error) as e:
        raise ArchiveError(f"cannot open the dedup archive {path}: {e}") from e
    try:
        _prepare(conn, path)
        yield Archive(conn, path)
    except sqlite3.Error as e:
        raise ArchiveError(f"dedup archive {path}: {e}") from e
    finally:
        conn.close()


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables in a new file; refuse a file that is another kind of database or another format."""
    if not _tables(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _tables(conn):  # another run may have created them while this one waited for the lock
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("id", uuid.uuid4().hex)])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    if "meta" not in _tables(conn):
        raise ArchiveError(f"{path} is not a dedup archive (a database of something else): name another file in "
                           "dedup.archive")  # fmt: skip
    found = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    if found is None or found[0] != FORMAT:
        raise ArchiveError(f"{path} is a dedup archive of another format ({found[0] if found else 'none'}, this "
                           f"version reads {FORMAT}): delete it (the next runs fill a new one) or name another file "
                           "in dedup.archive")  # fmt: skip


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
