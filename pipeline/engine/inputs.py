"""Which files a run reads, and the episode id each one gets.

Episode ids are unique within a run and stable across runs:
- a file inside a folder given to `pipeline run` is identified by its path relative to that folder, suffix
  kept (`showA/2024-03-13.txt`); a file given directly, by its name (`2024-03-13.txt`);
- where two files of one run would get the same id (`pipeline run inA inB`, each holding `x.txt`), each of
  them takes as many of its parent folders in front as make it distinct (`inA/x.txt`, `inB/x.txt`);
- characters are kept as they are (`x y.txt` and `x_y.txt` stay two ids), except that control and line-
  separator characters, `%` and `#` (the turn id separator) are percent-encoded, so the rule stays one-to-one.
Folders are read recursively, in order of relative path; hidden files and folders (a leading `.`) and folders named in
`input.skip_folders` are skipped.
"""

from __future__ import annotations

import os
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import InputOptions


@dataclass(frozen=True)
class Input:
    path: Path
    episode_id: str


def input_kind(path: Path, options: InputOptions) -> str | None:
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


def _files(item: Path, skip_folders: list[str]) -> list[tuple[Path, tuple[str, ...]]]:
    """(file, its parts relative to the input) for one command-line input."""
    if not item.is_dir():
        return [(item, (item.name,))]
    found = []
    for folder, dirs, names in os.walk(item):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in skip_folders)
        for name in sorted(names):
            path = Path(folder) / name
            if not name.startswith(".") and path.is_file():
                found.append((path, path.relative_to(item).parts))
    return sorted(found, key=lambda f: f[1])


def assign_ids(found: list[tuple[Path, tuple[str, ...]]]) -> list[Input]:
    """Ids by the rule in the module docstring; `found` holds distinct files."""
    ids = {path: parts for path, parts in found}
    groups: dict[tuple[str, ...], list[Path]] = defaultdict(list)
    for path, parts in found:
        groups[parts].append(path)
    for parts, paths in groups.items():
        if len(paths) == 1:
            continue
        full = {p: p.resolve().parts for p in paths}
        for depth in range(len(parts) + 1, max(len(f) for f in full.values()) + 1):
            tails = [full[p][-depth:] for p in paths]
            if len(set(tails)) == len(tails):
                ids.update(zip(paths, tails))
                break
    return [Input(path, "/".join(_encode(p) for p in ids[path])) for path, _ in found]


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str  # for a person: "unsupported file type", ...


def discover(inputs: list[Path], options: InputOptions) -> tuple[list[Input], list[Skipped]]:
    """(files to process with their ids, files skipped and why). A file reached twice (a folder and a file
    inside it, both given) is processed once."""
    found: list[tuple[Path, tuple[str, ...]]] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for item in inputs:
        for path, parts in _files(item, options.skip_folders):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            if input_kind(path, options):
                found.append((path, parts))
            else:
                skipped.append(Skipped(path, "unsupported file type"))
    return assign_ids(found), skipped


def shard(inputs: list[Input], index: int, count: int) -> list[Input]:
    """Every count-th file starting at index: N machines given K/N each split a batch with no coordination."""
    return [p for i, p in enumerate(inputs) if i % count == index]
