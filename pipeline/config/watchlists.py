"""Watchlists (configs/watchlists/<name>.yaml): a client's terms, matched against every episode of a run
(pipeline/stages/alerts.py). Checked when loaded: a bad list stops the run, naming file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints, model_validator

from pipeline.config.options import read_yaml
from pipeline.errors import ConfigError
from pipeline.records.base import Record, doc, from_dict
from pipeline.records.episode import FigureKind

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TermType = Literal["PERSON", "ORG", "LOCATION", "PRODUCT", "EVENT", "WORK", "OTHER"]


def _katakana(text: str) -> str:
    if not all("\u30a1" <= ch <= "\u30fc" for ch in text):
        raise ValueError("a reading is written in katakana (フジツウ)")
    return text


Reading = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_katakana)]


class WatchTerm(Record):
    """One watched name: what is alerted when it is said."""

    name: Name = doc("canonical name, as alerts give it")
    type: TermType = doc("PERSON, ORG, LOCATION, PRODUCT, EVENT, WORK or OTHER")
    aliases: list[Name] = doc("other written forms (FUJITSU, トヨタ for トヨタ自動車; a person's surname alone)")
    readings: list[Reading] = doc("katakana readings of the name; [] = read by Sudachi (every reading it holds)")
    exclude: list[Name] = doc("written forms that hold the name or an alias but are something else (富士通り, 日立市)")
    shows: list[Name] = doc("only in these programmes (part of the show name or profile key); [] = every show")
    speakers: list[Name] = doc("only said by these speakers (part of the name or id); [] = anyone")
    figures_near: list[FigureKind] = doc("only in a sentence that holds a figure of one of these kinds (money near "
                                         "富士通); [] = any sentence")  # fmt: skip

    @property
    def forms(self) -> list[str]:
        """Written forms, the name first."""
        return list(dict.fromkeys([self.name, *self.aliases]))


class Watchlist(Record):
    """A watchlist file: one client's terms."""

    name: Name = doc("the file name without .yaml")
    description: str | None = doc("who the list is for, free text")
    clips: bool = doc("cut an audio clip of each of this list's alerts on audio")
    terms: list[WatchTerm] = doc("the watched terms")

    @model_validator(mode="after")
    def _one_term_per_name(self) -> Watchlist:
        seen: dict[str, str] = {}
        for term in self.terms:
            for form in term.forms:
                if seen.setdefault(form, term.name) != term.name:
                    raise ValueError(f"{form} is a form of both {seen[form]} and {term.name}")
        return self


_TERM_DEFAULTS = {"aliases": [], "readings": [], "exclude": [], "shows": [], "speakers": [], "figures_near": []}


def load_watchlist(path: Path) -> Watchlist:
    data = {"name": path.stem, "description": None, "clips": False, **read_yaml(path)}
    if isinstance(data.get("terms"), list):
        data["terms"] = [{**_TERM_DEFAULTS, **t} if isinstance(t, dict) else t for t in data["terms"]]
    try:
        return from_dict(Watchlist, data, where=str(path))
    except ValueError as e:
        raise ConfigError(f"invalid watchlist: {e}") from e


def load_watchlists(folder: Path, names: list[str]) -> list[Watchlist]:
    """The lists named (file stems), or every .yaml file of the folder when `names` is empty; [] for a missing
    folder without names (no client lists yet), ConfigError for a named list that is not there."""
    if not names:
        return [load_watchlist(p) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    missing = [n for n in names if not (folder / f"{n}.yaml").is_file()]
    if missing:
        raise ConfigError(f"alerts.watchlists: no {', '.join(f'{n}.yaml' for n in missing)} in {folder}")
    return [load_watchlist(folder / f"{n}.yaml") for n in names]
