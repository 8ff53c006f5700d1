"""One run at a time per output folder: an exclusive lock held for the whole run.

The lock is flock(2) on OUTPUT/.pipeline.lock. The OS drops it when its process ends, however it ends (kill -9
too), so the lock of a dead run needs no cleanup: the next run simply takes it. The file itself is never
deleted (a run deleting it could leave two runs each holding a lock on a different file of the same name); it
holds the holder's pid, host and start time, for the message of a run that is turned away.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pipeline.errors import OutputBusyError

LOCK_FILE = ".pipeline.lock"


def _describe(holder: str) -> str:
    """The holder as the lock file states it, for a message."""
    try:
        h = json.loads(holder)
        return f"pid {h['pid']} on {h['host']}, started {h['started']}"
    except (ValueError, TypeError, KeyError):  # it has locked the file but not written it yet
        return "holder not known yet"


@contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock for the block; OutputBusyError (naming folder and holder) if a live run holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusyError(
                f"output folder {folder} is in use by another run ({_describe(f.read())}): wait for it to finish "
                f"or write to another folder"
            ) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now().astimezone().isoformat(timespec="seconds")}  # fmt: skip
        try:
            f.truncate(0)
            f.write(json.dumps(holder) + "\n")
            f.flush()
        except OSError:  # disk full: the lock holds without the note of who holds it
            pass
        yield
