"""The report folder: a run's episodes read back (refused when they do not match its manifest), a safe file name
per episode page, where each episode's audio is now, and the folder written whole beside its place, then swapped in.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pipeline.config import ReportOptions
from pipeline.engine.output import EPISODES_FILE, read_records
from pipeline.errors import PipelineError
from pipeline.files import DISK_FULL
from pipeline.records import Episode, from_dict
from pipeline.report.html import Audio, SegmentPlaces, batch_page, episode_page

INDEX_PAGE = "index.html"
# Written into every report folder: only a folder holding it (or an empty one) is replaced by a new report, so
# `--out` pointed at a folder of other files by mistake is refused instead of deleted.
MARKER = ".pipeline-report"


class ReportError(PipelineError):
    """The report cannot be written (no or inconsistent outputs, a folder that is not a report's)."""


@dataclass
class ReportResult:
    folder: Path
    episodes: int
    with_audio: int


def read_episodes(output_dir: Path) -> list[Episode]:
    """The run's episode records, each checked against the record types: a bad line is named by file and line."""
    return read_records(output_dir, EPISODES_FILE, Episode, "an episode record", ReportError)


def page_name(episode_id: str) -> str:
    """The episode page's file name: readable ASCII from the id, then a hash of the whole id, so ids that give
    one readable part (`a/b.mp3`, `a_b.mp3`, `A_b.mp3` on a case-blind disk) get distinct names, and no id can
    name a path outside the folder or the batch page."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", episode_id).strip("._-")[:60] or "episode"
    return f"{readable}.{hashlib.sha256(episode_id.encode('utf-8')).hexdigest()[:16]}.html"


def page_names(episodes: list[Episode]) -> dict[str, str]:
    names = {}
    for e in episodes:
        if e.episode_id in names:
            raise ReportError(f"episode id {e.episode_id!r} appears twice in {EPISODES_FILE}: one page per id")
        names[e.episode_id] = page_name(e.episode_id)
    if len({n.lower() for n in names.values()}) != len(names):  # 64 bits of hash: not in practice
        raise ReportError("two episode ids give the same page name")
    return names


def find_audio(episode: Episode, output_dir: Path) -> Path | None:
    """The episode's audio file, if it is still where the run read it. `source.path` is the path as given to
    `pipeline run` (the input folder joined with the episode id), so a relative one is relative to the folder
    the run was started in: tried from the current folder, then from the output folder's parent (`make all` runs
    in the folder holding both). Taken only with the recorded size: a file replaced since would play other words
    at the turns' times (the size, not the hash: hashing hours of audio per report would cost more than the rest)."""
    if episode.source.kind != "audio":
        return None
    given = Path(episode.source.path)
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, output_dir.absolute().parent / given]
    for path in candidates:
        try:
            if path.is_file() and path.stat().st_size == episode.source.size_bytes:
                return path
        except OSError:  # a path too long or unreadable: not reachable
            continue
    return None


def audio_for(episode: Episode, output_dir: Path, folder: Path) -> Audio:
    """The player's source as a URL relative to the report folder (so the folder and the audio can move
    together), or why the page has no player."""
    if episode.source.kind != "audio":
        return Audio(None, "this episode comes from a text transcript; there is no audio to play")
    path = find_audio(episode, output_dir)
    if path is None:
        return Audio(None, f"the source audio {episode.source.path} is not found (looked from the current folder "
                           f"and beside the output folder) or no longer has its recorded size")  # fmt: skip
    relative = os.path.relpath(path.absolute(), folder.absolute())
    return Audio(quote(relative.replace(os.sep, "/")), "click a turn or a timeline block to play from its start")


def clip_urls(episodes: list[Episode], output_dir: Path, folder: Path) -> dict[str, str]:
    """Alert id -> its clip's URL relative to the report folder, for the clips that are there."""
    urls = {}
    for e in episodes:
        for a in e.alerts:
            path = output_dir / a.clip if a.clip else None
            if path is not None and path.is_file():
                relative = os.path.relpath(path.absolute(), folder.absolute())
                urls[a.id] = quote(relative.replace(os.sep, "/"))
    return urls


def _pages(episodes: list[Episode], audio: dict[str, Audio], clips: dict[str, str],
           options: ReportOptions) -> Iterator[tuple[str, str]]:  # fmt: skip
    """(file name, HTML) of every page, made one at a time: a batch of long shows is never all in memory as HTML."""
    names = page_names(episodes)
    places = {e.episode_id: (e.turns, SegmentPlaces(e.turns)) for e in episodes}

    def locate(episode_id: str, segment: int) -> str | None:
        """The page and turn of a kept copy (this episode, or an earlier airing in the batch)."""
        if episode_id not in names:
            return None
        turns, where = places[episode_id]
        pos, _ = where.find(segment)
        return names[episode_id] + (f"#t{turns[pos].id}" if pos is not None else "")

    yield INDEX_PAGE, batch_page(episodes, names, options, clips)
    for e in episodes:
        yield names[e.episode_id], episode_page(e, audio[e.episode_id], locate, options, clips)


def _check_replaceable(folder: Path) -> None:
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir():
        raise ReportError(f"{folder} exists and is not a folder")
    if (folder / MARKER).is_file() or not any(folder.iterdir()):
        return
    raise ReportError(f"{folder} holds other files and no report written by `pipeline report`: a report replaces "
                      f"its folder whole, so choose an empty or new folder (--out)")  # fmt: skip


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def write_folder(folder: Path, pages: Iterable[tuple[str, str]]) -> None:
    """All pages into a new folder beside `folder`, then two renames put it in place: readers see the old report
    or the new one, never a mix (a directory cannot be renamed over a full one, hence two). A crash between the
    renames leaves the old report as `.<name>.old-*` and the new one as `.<name>.tmp-*` beside it."""
    _check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    temp = folder.parent / f".{folder.name}.tmp-{token}"
    temp.mkdir()  # plain mkdir: the folder gets the mode the umask gives, readable by a web server
    try:
        _write(temp / MARKER, "written by `pipeline report`; this folder is replaced whole by the next report\n")
        for name, text in pages:
            _write(temp / name, text)
        if folder.exists() or folder.is_symlink():
            old = folder.parent / f".{folder.name}.old-{token}"
            os.rename(folder, old)
            try:
                os.rename(temp, folder)
            except BaseException:
                os.rename(old, folder)  # the previous report back in its place
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(temp, folder)
    except BaseException as e:
        shutil.rmtree(temp, ignore_errors=True)
        if isinstance(e, OSError) and e.errno in DISK_FULL:
            raise ReportError(f"disk full: could not write the report; {folder} keeps the previous one") from e
        raise


def write_report(output_dir: Path, folder: Path, options: ReportOptions) -> ReportResult:
    """The static site of a run's output folder: index.html (the batch) and one page per episode."""
    episodes = read_episodes(output_dir)
    audio = {e.episode_id: audio_for(e, output_dir, folder) for e in episodes}
    write_folder(folder, _pages(episodes, audio, clip_urls(episodes, output_dir, folder), options))
    with_audio = sum(a.url is not None for a in audio.values())
    return ReportResult(folder=folder, episodes=len(episodes), with_audio=with_audio)
