"""Atomic writes: temp file in the target's folder, fsync, rename. A killed run leaves old or new, never half."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import jsonlines

TEMP_PREFIX = ".tmp-"


def _umask() -> int:
    """The process umask (read without changing it where /proc allows; os.umask can only set and return)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


@contextmanager
def atomic_open(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Write to a temp file beside `path`; on success fsync and rename it over `path`, on failure delete it.

    mkstemp creates its file 0600; the result gets the mode a plain open() would give (0666 less the umask), so
    an indexer running as another user can read the outputs.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


def atomic_write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        with jsonlines.Writer(f, compact=True, dumps=lambda o: json.dumps(o, ensure_ascii=False)) as writer:
            writer.write_all(records)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with jsonlines.open(path) as reader:
        return list(reader)


def remove_stale_temp_files(folder: Path) -> int:
    """Temp files left by a killed run (kill -9 skips every cleanup); returns how many were removed."""
    if not folder.is_dir():
        return 0
    removed = 0
    for tmp in folder.rglob(f"{TEMP_PREFIX}*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed
