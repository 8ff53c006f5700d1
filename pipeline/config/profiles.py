"""Show profiles (configs/shows/*.yaml) and gazetteers (configs/gazetteer/*.yaml): what is known about a
programme and the names to find in it. Checked when loaded: a bad profile stops the run, naming file and key."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import StringConstraints, model_validator

from pipeline.config.options import Language, read_yaml
from pipeline.errors import ConfigError
from pipeline.records.base import Record, doc, from_dict


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Host(Record):
    """A presenter of the show."""

    name: Name = doc("full name as it should appear in records")
    aliases: list[Name] = doc("other ways the name is written (short forms, readings)")


class GazetteerEntry(Record):
    """A name to find as written (configs/gazetteer/*.yaml or a show profile's `entities`)."""

    name: Name = doc("the canonical name")
    label: Name = doc("GiNZA's Extended Named Entity label: Company, Person, City, Broadcast_Program, ...")
    aliases: list[Name] = doc("other surfaces of the same name")


class Gazetteer(Record):
    """A gazetteer file."""

    entries: list[GazetteerEntry] = doc("the names")


class ShowProfile(Record):
    """What a show profile (configs/shows/*.yaml) says about a programme."""

    key: Name = doc("the file name without .yaml")
    name: Name = doc("programme name")
    station: Name | None = doc("broadcaster")
    file_prefixes: list[Name] = doc("a file whose name (or folder) starts with one of these is an episode of the show")
    language: Language | None = doc("ISO code of the show's language, or null to detect")
    hosts: list[Host] = doc("presenters")
    vocabulary: list[Name] = doc("words the recogniser is told to expect")
    entities: list[GazetteerEntry] = doc("names the entities stage finds as written, for this show")
    min_speakers: int | None = doc("fewest speakers diarization looks for", ge=1)
    max_speakers: int | None = doc("most speakers diarization looks for", ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> ShowProfile:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError(f"min_speakers {self.min_speakers} > max_speakers {self.max_speakers}")
        return self


def load_profiles(shows_dir: Path) -> list[ShowProfile]:
    profiles = []
    for path in sorted(shows_dir.glob("*.yaml")):
        data = read_yaml(path)
        data = {
            "key": path.stem,
            "station": None,
            "file_prefixes": [path.stem],
            "language": None,
            "hosts": [],
            "vocabulary": [],
            "entities": [],
            "min_speakers": None,
            "max_speakers": None,
            **data,
        }
        for entry in data["entities"] or []:
            if isinstance(entry, dict):
                entry.setdefault("aliases", [])
        try:
            profiles.append(from_dict(ShowProfile, data, where=str(path)))
        except ValueError as e:
            raise ConfigError(f"invalid show profile: {e}") from e
    return profiles


def load_gazetteer(path: Path) -> list[GazetteerEntry]:
    data = read_yaml(path)
    for entry in data.get("entries") or []:
        if isinstance(entry, dict):
            entry.setdefault("aliases", [])
    try:
        return from_dict(Gazetteer, data, where=str(path)).entries
    except ValueError as e:
        raise ConfigError(f"invalid gazetteer: {e}") from e


def match_profile(episode_id: str, profiles: list[ShowProfile]) -> ShowProfile | None:
    """The profile whose longest file prefix starts the file name, or else the name of a folder it sits in
    (showA/2024-03-13.txt), case-insensitive. Folders count so that per-show folders of dated files work."""
    parts = PurePosixPath(episode_id.lower()).parts
    candidates = [PurePosixPath(parts[-1]).stem, *reversed(parts[:-1])]  # the file name first, then its folders
    for name in candidates:
        best: tuple[int, ShowProfile] | None = None
        for profile in profiles:
            for prefix in profile.file_prefixes:
                if name.startswith(prefix.lower()) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), profile)
        if best:
            return best[1]
    return None
