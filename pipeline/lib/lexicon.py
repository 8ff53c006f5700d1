"""What an episode is likely to name, with readings: the lexicon the ASR corrector matches recognised text against.

Entries come from the show profile (hosts, vocabulary), the gazetteers, the episode's notes file, the names in the
batch's text transcripts, and the national name list (configs/lexicon/ja.tsv: prefectures and municipalities from
Japan Post's data, listed companies from EDINET, ministries, agencies, parties and broadcasters; made by
scripts/make_lexicon.py). Readings are katakana; matching compares *phonetic keys*, readings with what ASR and
dictionaries disagree on taken out (long vowels: フジツウ and 藤ツ's フジツ share the key フジツ).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extract

from pipeline.files import sha256_file
from pipeline.lib.entities import prefecture_and_city
from pipeline.text.normalise import fold, has_kanji, is_katakana, katakana

_VOWEL = {}
for _vowel, _row in {
    "a": "アカサタナハマヤラワガザダバパャァ",
    "i": "イキシチニヒミリギジヂビピィ",
    "u": "ウクスツヌフムユルグズヅブプュゥヴ",
    "e": "エケセテネヘメレゲゼデベペェ",
    "o": "オコソトノホモヨロヲゴゾドボポョォ",
}.items():
    _VOWEL.update(dict.fromkeys(_row, _vowel))
_LENGTHENING = {"a": "ア", "i": "イ", "u": "ウ", "e": "イエ", "o": "ウオ"}  # the vowel that only lengthens one before
_SAME_SOUND = str.maketrans({"ヲ": "オ", "ヅ": "ズ", "ヂ": "ジ"})
_SMALL = set("ャュョァィゥェォ")


def phonetic_key(reading: str) -> str:
    """Katakana reading -> key: long vowels dropped (ー, ウ after an o- or u-sound, イ after e or i, ...), same-sound
    kana merged, so a name and its recognised spelling compare on the sounds that tell words apart."""
    out: list[str] = []
    for ch in reading.translate(_SAME_SOUND):
        if ch == "ー":
            continue
        if out and ch in _LENGTHENING.get(_VOWEL.get(out[-1], ""), ""):
            continue
        out.append(ch)
    return "".join(out)


def morae(key: str) -> int:
    """Morae of a key (small ャ/ュ/ョ belong to the kana before them)."""
    return sum(1 for ch in key if ch not in _SMALL)


@dataclass(frozen=True)
class Term:
    surface: str  # the written form a correction puts in
    reading: str  # katakana
    kind: str  # person, surname, municipality, company, government, term, ...
    source: str  # profile, gazetteer, context, batch_text or national (Correction.source)
    within: tuple[str, ...] = ()  # a municipality's prefectures (府中市: 東京都, 広島県)

    @property
    def key(self) -> str:
        return phonetic_key(self.reading)


class Lexicon:
    """Terms by phonetic key, for exact lookups and near ones (edit distance on keys, C-speed via rapidfuzz)."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.by_key: dict[str, list[Term]] = defaultdict(list)
        self.surfaces: dict[str, Term] = {}  # folded written form -> its first entry
        self.towns: dict[str, list[Term]] = defaultdict(list)  # prefecture -> its municipalities (every reading)
        for term in terms:
            key = term.key
            if not is_katakana(term.reading) or term in self.by_key[key]:
                continue
            self.by_key[key].append(term)
            self.surfaces.setdefault(fold(term.surface), term)
            for region in term.within:
                self.towns[region].append(term)
        self._keys_by_length: dict[int, list[str]] = defaultdict(list)
        for key in self.by_key:
            self._keys_by_length[len(key)].append(key)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_key.values())

    def knows(self, surface: str) -> Term | None:
        """The entry written this way, if any."""
        return self.surfaces.get(fold(surface))

    def within(self, region: str) -> list[Term]:
        """The municipalities of a prefecture (one term per reading)."""
        return self.towns.get(region, [])

    def exact(self, key: str) -> list[Term]:
        return self.by_key.get(key, [])

    def near(self, key: str, max_distance: int) -> list[tuple[str, int]]:
        """(term key, distance) of the keys within max_distance edits of key (distance >= 1)."""
        found: list[tuple[str, int]] = []
        for length in range(len(key) - max_distance, len(key) + max_distance + 1):
            choices = self._keys_by_length.get(length)
            if not choices:
                continue
            for other, distance, _ in extract(key, choices, scorer=Levenshtein.distance, score_cutoff=max_distance,
                                              limit=None):  # fmt: skip
                if distance >= 1:
                    found.append((other, int(distance)))
        return found


def load_name_list(path: Path) -> list[Term]:
    """configs/lexicon/*.tsv: surface, readings (| between variants), kind, source and, for a municipality, its
    prefectures (| between them); # lines are comments."""
    terms: list[Term] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise ValueError(f"{path}, line {number}: expected surface, reading, kind (tab-separated)")
        within = tuple(filter(None, fields[4].split("|"))) if len(fields) > 4 else ()
        for reading in fields[1].split("|"):
            terms.append(Term(fields[0], reading, fields[2], "national", within))
    return terms


def readings_of(text: str, reader, limit: int = 4) -> list[str]:
    """Katakana readings of a written name, word by word: the analyser's own first, then the other readings the
    dictionary holds for its words (塚越: ツカゴシ, ツカコシ), at most `limit`; [] when a part has no kana reading."""
    options = []
    for _, _, m in reader.tokenize(text):
        own = katakana(m.reading_form())
        options.append([own, *(r for r in reader.readings(m.surface()) if r != own)])
    out = []
    for combo in product(*options):
        reading = "".join(combo)
        if is_katakana(reading) and reading not in out:
            out.append(reading)
        if len(out) >= limit:
            break
    return out


def named_terms(names: Iterable[tuple[str, str]], source: str, reader) -> list[Term]:
    """Terms for (name, kind) pairs, one per reading."""
    return [Term(name, reading, kind, source) for name, kind in names for reading in readings_of(name, reader)]


_HONORIFICS = ("さん", "様", "氏", "先生", "くん", "ちゃん")



def names_in_text(text: str, reader, common_nouns: bool) -> list[tuple[str, str]]:
    """(surface, kind) of the names in a text, by Sudachi's parts of speech: runs of nouns that hold a proper noun
    (a person's full name also gives the surname on its own); with common_nouns, also runs of common nouns of at
    at least two characters with kanji (an episode's notes: 保険証, 返納, 政令指定都市)."""
    found: list[tuple[str, str]] = []
    run: list[tuple[int, int, object]] = []

    def close() -> None:
        while run and run[-1][2].part_of_speech()[0] == "接尾辞" and run[-1][2].surface() in _HONORIFICS:
            run.pop()
        if not run:
            return
        pos = [m.part_of_speech() for _, _, m in run]
        surface = text[run[0][0] : run[-1][1]]
        people = [m for m, p in zip(run, pos) if p[1] == "固有名詞" and p[2] == "人名"]
        if people and len(people) == len(run):
            found.append((surface, "person"))
            if len(run) >= 2 and pos[0][3] == "姓":
                found.append((text[run[0][0] : run[0][1]], "surname"))
        elif any(p[1] == "固有名詞" for p in pos):
            found.append((surface, "name"))
            if len(run) > 1:  # 福岡県宗像市: 福岡県 and 宗像市 are names of their own
                found.extend((text[a:b], "name") for (a, b, _), p in zip(run, pos)
                             if p[1] == "固有名詞" and (b - a >= 3 or b - a == 2 and has_kanji(text[a:b])))
        elif common_nouns and len(surface) >= 2 and has_kanji(surface):
            found.append((surface, "term"))
        run.clear()

    for start, end, m in reader.tokenize(text):
        pos = m.part_of_speech()
        if pos[0] == "名詞" and pos[1] != "数詞" or (run and pos[0] == "接尾辞"):
            run.append((start, end, m))
        elif pos[0] == "接頭辞" and not run:
            run.append((start, end, m))
        else:
            close()
    close()
    found += [(part, "name") for surface, _ in list(found) for part in prefecture_and_city(surface) or ()]
    seen: set[str] = set()
    ordered = sorted(found, key=lambda f: f[1] == "term")  # names before terms: the prompt takes the first ones
    return [(s, k) for s, k in ordered if not (s in seen or seen.add(s)) and len(s) >= 2]


def list_digest(path: Path) -> str:
    """A short hash of a list file's bytes, for cache keys: an edited list re-runs what read it."""
    try:
        return sha256_file(path)[:16]
    except OSError:
        return "missing"
