"""Atomic writes: temp file in the target's folder, fsync, rename. A killed run leaves old or new, never half.

Temps are named `.pipeline-tmp.<host>.<pid>.<target name>.<random>`: the marker says this module made them, the
host tag and pid say whether their writer may still be running, so cleanup removes only temps of dead writers
(a cache folder can be shared by runs into several output folders, even by several machines).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import jsonlines

TEMP_PREFIX = ".pipeline-tmp."

# errno values of a write that failed for want of space (disk or quota full)
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})

# Characters str.splitlines() ends a line at. json.dumps escapes \n, \r and the other controls below U+0020
# itself but leaves \x85, U+2028 and U+2029 raw with ensure_ascii=False.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


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


def _host_tag() -> str:
    """This machine in a temp's name (a hash: host names hold dots, the name's separator)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    return True


def _writer_is_gone(temp_name: str) -> bool:
    """Whether a temp name of this module names a writer on this machine that no longer runs."""
    host, _, rest = temp_name.removeprefix(TEMP_PREFIX).partition(".")
    pid, _, _ = rest.partition(".")
    return host == _host_tag() and pid.isdigit() and int(pid) > 0 and not _alive(int(pid))


def json_line(record: Any) -> str:
    """`record` as one line of JSON for any reader: line breaks inside strings escaped, also those that
    str.splitlines() and other Unicode-aware readers split at (U+2028, U+2029, \\x85)."""
    return _LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(record, ensure_ascii=False))


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


class StagedFiles:
    """Files written to temps, then renamed over their targets together by commit(), so a write that fails
    (disk full) replaces none of them. Leaving the `with` block without commit() deletes the temps.

    The renames are still one per file: readers that need the files to come from one write check a manifest
    (pipeline/engine/output.py).
    """

    def __init__(self) -> None:
        self._temps: dict[Path, Path] = {}  # target -> its written temp, in writing order

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for tmp in self._temps.values():
            tmp.unlink(missing_ok=True)
        self._temps.clear()

    @contextmanager
    def open(self, path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
        """A temp beside `path`, fsynced when the block ends. mkstemp creates its file 0600; it gets the mode a
        plain open() would give (0666 less the umask), so an indexer running as another user can read it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{_host_tag()}.{os.getpid()}.{path.name}.", dir=path.parent)
        tmp = Path(name)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, mode, encoding=encoding) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        except BaseException as e:
            tmp.unlink(missing_ok=True)
            if isinstance(e, OSError) and e.filename is None:
                e.filename = str(path)  # a failed write or fsync (ENOSPC) names no file: name the one being written
            raise
        self._temps[path] = tmp

    def write_bytes(self, path: Path, data: bytes) -> None:
        with self.open(path) as f:
            f.write(data)

    def write_json(self, path: Path, data: Any) -> None:
        self.write_bytes(path, _json_bytes(data))

    def write_jsonl(self, path: Path, records: Iterable[dict[str, Any]]) -> None:
        with self.open(path, "w", encoding="utf-8") as f:
            with jsonlines.Writer(f, dumps=json_line) as writer:
                writer.write_all(records)

    def sha256(self, path: Path) -> str:
        """SHA-256 of what was written for `path` (before commit)."""
        return sha256_file(self._temps[path])

    def commit(self) -> None:
        """Rename each temp over its target, in writing order."""
        for path, tmp in list(self._temps.items()):
            os.replace(tmp, path)
            del self._temps[path]


@contextmanager
def atomic_open(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Write to a temp file beside `path`; on success fsync and rename it over `path`, on failure delete it."""
    with StagedFiles() as staged:
        with staged.open(path, mode, encoding) as f:
            yield f
        staged.commit()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, _json_bytes(data))


def atomic_write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """One record per line (json_line): every reader, str.splitlines() included, sees the same lines."""
    with StagedFiles() as staged:
        staged.write_jsonl(path, records)
        staged.commit()


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
    """Temps in `folder` (not in its subfolders) left by writers of this machine that are gone (kill -9 skips
    every cleanup); returns how many were removed. Files not named by this module, temps of a live process and
    temps of another machine (whose processes cannot be checked from here) stay."""
    if not folder.is_dir():
        return 0
    removed = 0
    for tmp in folder.glob(f"{TEMP_PREFIX}*"):
        if _writer_is_gone(tmp.name) and tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed
