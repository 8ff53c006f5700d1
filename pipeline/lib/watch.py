"""Where a text mentions the terms of watchlists: as written (name or alias) or, in ASR text, by reading.

Precision first: an alert a client acts on must be the term.
- A written form counts only where it starts on a word boundary (Sudachi's finest units: 宗像市 in 福岡県宗像市) and
  ends where one of Sudachi's words ends: 富士通 is not in 富士通り (富士|通り), 日立 is not in 日立市 or 日立製作所,
  each one word. What the analyser reads as one word with the term is caught that way; what it splits (宗像|大社)
  the watchlist's `exclude` lists.
- A reading match is the ASR corrector's own rule set (pipeline/lib/correct.py) run with the watchlist's terms as
  its only lexicon: a span of nouns or unknown words whose reading is the term's (藤ツ for 富士通), or one or two
  morae off a long term where the decoder was unsure; a single dictionary word that reads like the term is a
  homophone, not a mention (豊田 is not トヨタ).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.config import CorrectOptions
from pipeline.config.watchlists import Watchlist, WatchTerm
from pipeline.lib.correct import find_edits
from pipeline.lib.lexicon import HONORIFICS, Lexicon, Term, match_reading, reading_key, readings_of, term_keys
from pipeline.text.normalise import is_katakana, katakana

MatchKind = str  # exact, alias, entity or reading (records.MatchKind)


@dataclass(frozen=True)
class Watched:
    """A term with the list it belongs to."""

    watchlist: Watchlist
    term: WatchTerm


@dataclass(frozen=True)
class Found:
    """A mention in a text: [start, end) offsets."""

    watched: Watched
    start: int
    end: int
    match: MatchKind
    score: float
    asr_text: str | None = None  # reading matches: the text as ASR wrote it
    reading: str | None = None  # ... and its reading
    by_surname: bool = False  # a person's surname with a title (芹沢大臣): counts where the episode names them in full


def _occurrences(text: str, form: str) -> list[tuple[int, int]]:
    """[start, end) of each occurrence of form, Latin letters compared without case (FUJITSU, Fujitsu)."""
    flags = re.IGNORECASE if form.isascii() else 0
    return [(m.start(), m.end()) for m in re.finditer(re.escape(form), text, flags)]


class Matcher:
    """The terms of some watchlists, ready to be found in texts (one per batch: the readings are looked up once)."""

    def __init__(self, watchlists: list[Watchlist], reader, correct: CorrectOptions, reading: bool,
                 min_reading_score: float, titles: list[str]) -> None:  # fmt: skip
        self.reader = reader
        self.correct = correct
        self.min_reading_score = min_reading_score
        self.reading = reading
        self.titles = tuple(titles)
        self.watched = [Watched(w, t) for w in watchlists for t in w.terms]
        self.by_form: dict[str, list[Watched]] = {}  # written form -> the terms it is a form of (one per list)
        for w in self.watched:
            for form in w.term.forms:
                self.by_form.setdefault(form, []).append(w)
        # One reading lexicon per list: a term's spelling chosen between two lists' terms would be a guess.
        self.lexicons = [(w, Lexicon(self._terms(w))) for w in watchlists] if reading else []
        self.surnames = [(w, *s) for w in self.watched if w.term.type == "PERSON" and (s := self._surname(w.term))]

    def _surname(self, term: WatchTerm) -> tuple[str, list[str]] | None:
        """A person's family name (the name less its given name, as Sudachi reads it: 芹沢|雅人) and its keys."""
        words = list(self.reader.tokenize(term.name))
        if len(words) < 2 or words[-1][2].part_of_speech()[1:4] != ("固有名詞", "人名", "名"):
            return None
        surname = term.name[: words[-1][0]]
        return surname, term_keys(surname, self.reader)

    def _terms(self, watchlist: Watchlist) -> list[Term]:
        """Lexicon entries: each reading of each form of a term, all under the term's name (an alias read like the
        name, FUJITSU, is the same term, not a second spelling to choose between)."""
        terms = []
        for term in watchlist.terms:
            readings = list(term.readings)
            for form in term.forms:
                if form == term.name and term.readings:
                    continue
                as_kana = katakana(form)
                readings += [as_kana] if is_katakana(as_kana) else readings_of(form, self.reader)
            terms += [Term(term.name, r, term.type.lower(), "watchlist") for r in dict.fromkeys(readings)]
        return terms

    def find(self, text: str, unsure: list[bool] | None) -> list[Found]:
        """Every mention in text, as written and by reading; `unsure[i]` says whether the decoder was unsure of the
        word holding character i (None: no word probabilities, e.g. a transcript: only exact readings count)."""
        # A written form starts at a word's start, or inside a compound at one of its finest units (福岡県|宗像市,
        # one word to the analyser); it ends where a word ends, so nothing is glued on after it (日立|市, 富士|通り).
        starts = {a for a, _, _ in self.reader.units(text)}
        ends = {b for _, b, _ in self.reader.tokenize(text)}
        found = [f for f in self._written(text) if f.start in starts and f.end in ends]
        for watchlist, lexicon in self.lexicons:
            for edit in find_edits(text, unsure, lexicon, self.reader, self.correct, kana_names=True):
                if edit.score < self.min_reading_score:
                    continue
                watched = next(w for w in self.by_form[edit.term.surface] if w.watchlist is watchlist)
                if watched.term.type != "PERSON" and text.startswith(HONORIFICS, edit.end):
                    continue  # ホンダーさん is someone called Honda, not the company (トヨタさん as written still is)
                found.append(Found(watched, edit.start, edit.end, "reading", edit.score, edit.original, edit.reading))
        found += self._by_surname(text)
        return self._keep(text, found)

    def _by_surname(self, text: str) -> list[Found]:
        """A watched person's family name right before a title (芹沢大臣, or as ASR heard it: セリザは大臣), as written
        or by the same reading. On its own a family name is anyone's (a caller named 芹沢): the stage keeps these
        only in an episode that names the person in full."""
        found = []
        titled = [m.start() for m in re.finditer("|".join(map(re.escape, self.titles)), text)] if self.titles else []
        if not titled:
            return found
        key = reading_key(text, self.reader) if self.reading else None
        for watched, surname, keys in self.surnames:
            for at in titled:
                if text[:at].endswith(surname):
                    found.append(Found(watched, at - len(surname), at, "alias", 1.0, by_surname=True))
            for m in match_reading(keys, key, one_off_min_morae=1_000) if key else []:  # the same reading only
                if m.end in titled and text[m.start : m.end] != surname:
                    heard = text[m.start : m.end]
                    found.append(Found(watched, m.start, m.end, "reading", m.score, heard, m.key, by_surname=True))
        return found

    def _written(self, text: str) -> list[Found]:
        found = []
        for form, watched in self.by_form.items():
            for start, end in _occurrences(text, form):
                for w in watched:
                    kind = "exact" if form == w.term.name else "alias"
                    found.append(Found(w, start, end, kind, 1.0))
        return found

    def _keep(self, text: str, found: list[Found]) -> list[Found]:
        """Mentions outside the term's exclusions, the longest of a term's overlapping ones (トヨタ自動車 over トヨタ,
        the written form over a reading), in text order."""
        kept: list[Found] = []
        for f in sorted(found, key=lambda f: (-(f.end - f.start), f.match == "reading", f.start)):
            if any(a <= f.start and f.end <= b for form in f.watched.term.exclude for a, b in _occurrences(text, form)):
                continue
            if any(k.watched == f.watched and k.start < f.end and f.start < k.end for k in kept):
                continue
            kept.append(f)
        return sorted(kept, key=lambda f: (f.start, f.watched.watchlist.name, f.watched.term.name))
