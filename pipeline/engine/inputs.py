"""Which files a run reads, and the episode id each one gets.

Episode ids are unique within a run and stable across runs:
- a file inside a folder given to `pipeline run` is identified by its path relative to that folder, suffix
  kept (`showA/2024-03-13.txt`); a file given directly, by its name (`2024-03-13.txt`);
- where two files of one run would get the same id (`pipeline run inA inB`, each holding `x.txt`), each of
  them takes as many of its parent folders in front as make it distinct (`inA/x.txt`, `inB/x.txt`);
- characters are kept as they are (`x y.txt` and `x_y.txt` stay two ids), except that control and line-
  separator characters, `%` and `#` (the turn id separator) are percent-encoded, so the rule stays one-to-one.
A file named `<stem>.notes.txt` (input.context_suffix) is not an input: it is the context of the file beside it
with the same stem (show notes of `<stem>.mp3`), and is skipped with its reason when there is none.

Folders are read recursively, in order of relative path; hidden files and folders (a leading `.`) and folders named in
`input.skip_folders` are skipped, and so is a run's output folder inside an input folder (it holds the run's lock
file; its formats/ holds the .txt, .srt and .vtt files the run wrote, not transcripts to read).

Symbolic links inside an input folder are followed only where they stay inside it: a link to a file or a folder
within the input folder is read like the file or folder itself; a link whose target lies outside the input folder
(`x.txt -> /etc/passwd`), a broken link and a link loop are skipped, each with its reason (`pipeline run` prints
them). A file reached both by its own path and through a link is read once, under its own path. A path named on
the command line is the user's explicit choice and is read even where it is a link that leads elsewhere.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import InputOptions
from pipeline.engine.lock import LOCK_FILE


@dataclass(frozen=True)
class Input:
    path: Path
    episode_id: str
    context: Path | None = None  # <stem>.notes.txt beside the file: text about the episode, not a transcript


def is_context(path: Path, options: InputOptions) -> bool:
    """A notes file (onemorning_2023-07-05.notes.txt): the context of the episode beside it with the same stem."""
    return path.name.lower().endswith(options.context_suffix) and len(path.name) > len(options.context_suffix)


def context_stem(path: Path, options: InputOptions) -> str:
    return path.name[: -len(options.context_suffix)]


def input_kind(path: Path, options: InputOptions) -> str | None:
    if is_context(path, options):
        return None
    suffix = path.suffix.lower()
    if suffix in options.audio_extensions:
        return "audio"
    if suffix in options.text_extensions:
        return "text"
    return None


def _encode(part: str) -> str:
    out = []
    for ch in part:
        unsafe = ch in "%#" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")) if unsafe else ch)
    return "".join(out)


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str  # for a person: "unsupported file type", ...


@dataclass(frozen=True)
class _Found:
    path: Path
    parts: tuple[str, ...]  # relative to the command-line input
    via_link: bool  # reached through a link inside an input folder


def _link_problem(link: Path, root: Path) -> str | None:
    """Why a link inside the input folder `root` (resolved) is not followed; None if it is."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return "broken link (its target does not exist)"
    except RuntimeError:  # Python 3.11 reports a loop of links this way, later versions as OSError ELOOP
        return "link loop"
    except OSError as e:
        return "link loop" if e.errno == errno.ELOOP else f"link cannot be followed: {e.strerror}"
    return None if target.is_relative_to(root) else f"link to {target}, outside the input folder"


def _walk(item: Path, skip_folders: list[str]) -> tuple[list[_Found], list[Skipped]]:
    """The files under one input folder, by the link rules of the module docstring."""
    root = item.resolve()
    found: list[_Found] = []
    skipped: list[Skipped] = []
    linked: set[Path] = set()  # folders read through a link already: each once, however many links lead there

    def visit(folder: Path, chain: tuple[Path, ...], via_link: bool) -> None:
        try:
            names = sorted(os.listdir(folder))
        except OSError as e:
            skipped.append(Skipped(folder, f"folder cannot be read: {e.strerror}"))
            return
        for name in names:
            path = folder / name
            if name.startswith("."):
                continue
            link = path.is_symlink()
            if link and (problem := _link_problem(path, root)):
                skipped.append(Skipped(path, problem))
                continue
            if path.is_dir():
                if name in skip_folders:
                    continue
                if (path / LOCK_FILE).is_file():
                    skipped.append(Skipped(path, "output folder of a run (what a run writes is not input)"))
                    continue
                real = path.resolve()
                if real in chain:  # a link to the folder that holds it, or to one of that folder's parents
                    skipped.append(Skipped(path, "link loop (to a folder that holds the link)"))
                    continue
                if link:
                    if real in linked:
                        continue
                    linked.add(real)
                visit(path, (*chain, real), via_link or link)
            elif path.is_file():
                found.append(_Found(path, path.relative_to(item).parts, via_link or link))
            else:
                skipped.append(Skipped(path, "not a regular file"))

    visit(item, (root,), False)
    return sorted(found, key=lambda f: f.parts), skipped


def assign_ids(found: list[tuple[Path, tuple[str, ...]]]) -> list[Input]:
    """Ids by the rule in the module docstring; `found` holds distinct files."""
    ids = {path: parts for path, parts in found}
    groups: dict[tuple[str, ...], list[Path]] = defaultdict(list)
    for path, parts in found:
        groups[parts].append(path)
    for parts, paths in groups.items():
        if len(paths) == 1:
            continue
        full = {p: Path(os.path.abspath(p)).parts for p in paths}  # the names as reached, links not resolved
        for depth in range(len(parts) + 1, max(len(f) for f in full.values()) + 1):
            tails = [full[p][-depth:] for p in paths]
            if len(set(tails)) == len(tails):
                ids.update(zip(paths, tails))
                break
    return [Input(path, "/".join(_encode(p) for p in ids[path])) for path, _ in found]


def discover(inputs: list[Path], options: InputOptions) -> tuple[list[Input], list[Skipped]]:
    """(files to process with their ids, files skipped and why). A file reached twice (a folder and a file
    inside it, both given, or a link inside a folder) is processed once: under its own path rather than a
    link's, else where it is reached first."""
    entries: list[_Found] = []
    skipped: list[Skipped] = []
    for item in inputs:
        if item.is_dir():
            files, skips = _walk(item, options.skip_folders)
            entries += files
            skipped += skips
        elif item.is_file():  # named on the command line: read even if it is a link that leads elsewhere
            entries.append(_Found(item, (item.name,), via_link=False))
        else:
            skipped.append(Skipped(item, "not a regular file"))
    reals = [entry.path.resolve() for entry in entries]
    chosen: dict[Path, _Found] = {}
    for real, entry in zip(reals, entries):
        if real not in chosen or (chosen[real].via_link and not entry.via_link):
            chosen[real] = entry
    found: list[tuple[Path, tuple[str, ...]]] = []
    notes: list[Path] = []
    for real, entry in zip(reals, entries):
        if chosen[real] is not entry:
            continue
        if is_context(entry.path, options):
            notes.append(entry.path)
        elif input_kind(entry.path, options):
            found.append((entry.path, entry.parts))
        else:
            skipped.append(Skipped(entry.path, "unsupported file type"))
    contexts, orphans = attach_contexts([path for path, _ in found], notes, options)
    skipped += orphans
    read = {path for path, _ in found}  # a link skipped inside its folder but also named on the command line
    inputs = [Input(i.path, i.episode_id, contexts.get(i.path)) for i in assign_ids(found)]
    return inputs, [s for s in skipped if s.path not in read]


def attach_contexts(files: list[Path], notes: list[Path], options: InputOptions) -> tuple[dict[Path, Path], list[Skipped]]:
    """Each notes file to the files beside it with its stem (x.notes.txt -> x.mp3; x.mp3 and x.txt both get it).
    A notes file with no such file is skipped with its reason: it is never read as a transcript of its own."""
    by_place: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in files:
        by_place[(path.parent, path.stem)].append(path)
    contexts: dict[Path, Path] = {}
    orphans: list[Skipped] = []
    for note in notes:
        owners = by_place.get((note.parent, context_stem(note, options)), [])
        for owner in owners:
            contexts[owner] = note
        if not owners:
            orphans.append(Skipped(note, f"episode notes with no episode beside them ({context_stem(note, options)}.*)"))
    return contexts, orphans


def shard(inputs: list[Input], index: int, count: int) -> list[Input]:
    """Every count-th file starting at index: N machines given K/N each split a batch with no coordination."""
    return [p for i, p in enumerate(inputs) if i % count == index]
