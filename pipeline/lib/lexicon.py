"""What an episode is likely to name, with readings: the lexicon the ASR corrector matches recognised text against.

Entries come from the show profile (hosts, vocabulary), the gazetteers, the episode's notes file, the names in the
batch's text transcripts, and the national name list (configs/lexicon/ja.tsv: prefectures and municipalities from
Japan Post's data, listed companies from EDINET, ministries, agencies, parties and broadcasters; made by
scripts/make_lexicon.py). Readings are katakana; matching compares *phonetic keys*, readings with what ASR and
dictionaries disagree on taken out (long vowels: フジツウ and 藤ツ's フジツ share the key フジツ).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extract

from pipeline.files import sha256_file
from pipeline.lib.entities import prefecture_and_city
from pipeline.text.normalise import fold, has_kanji, is_hiragana, is_kana, is_katakana, katakana, letters_digits, nfkc

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

# How particles sound (Sudachi gives the spelling's reading: は -> ハ, said ワ). The corrector and reading_key use it.
SPOKEN = {"は": "ワ", "へ": "エ", "を": "オ"}


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


HONORIFICS = ("さん", "様", "氏", "先生", "くん", "ちゃん")  # after a name, they say it is a person's



def names_in_text(text: str, reader, common_nouns: bool) -> list[tuple[str, str]]:
    """(surface, kind) of the names in a text, by Sudachi's parts of speech: runs of nouns that hold a proper noun
    (a person's full name also gives the surname on its own); with common_nouns, also runs of common nouns of at
    at least two characters with kanji (an episode's notes: 保険証, 返納, 政令指定都市)."""
    found: list[tuple[str, str]] = []
    run: list[tuple[int, int, object]] = []

    def close() -> None:
        while run and run[-1][2].part_of_speech()[0] == "接尾辞" and run[-1][2].surface() in HONORIFICS:
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


# --- the reading of a whole text, for reading-aware search ------------------------------------------------------


@dataclass(frozen=True)
class ReadingKey:
    """The phonetic key of a text and where each key character came from: key[i] is part of the reading of the
    word text[starts[i]:ends[i]]. Characters of one word share their start and end."""

    key: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def words(self) -> list[tuple[int, int]]:
        """[i, j) ranges of the key, one per word that has key characters, in order."""
        out: list[tuple[int, int]] = []
        for i, start in enumerate(self.starts):
            if i and start == self.starts[i - 1]:
                out[-1] = (out[-1][0], i + 1)
            else:
                out.append((i, i + 1))
        return out

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The [start, end) of the text that key[i:j] (j > i) was read from: its first word to its last."""
        return self.starts[i], self.ends[j - 1]


def spoken_reading(morpheme) -> str:
    """A Sudachi word's katakana reading as it is said: the particles は, へ, を as ワ, エ, オ."""
    if morpheme.part_of_speech()[0] == "助詞" and morpheme.surface() in SPOKEN:
        return SPOKEN[morpheme.surface()]
    return katakana(morpheme.reading_form())


def _word_key(morpheme) -> str:
    """One word's phonetic key; "" for punctuation and spaces (which Sudachi reads キゴウ). A word Sudachi has no kana
    reading for (xyz) keeps its folded letters: it then breaks a kana match instead of vanishing from between two
    words."""
    surface = letters_digits(morpheme.surface())
    if not surface:
        return ""
    return phonetic_key(letters_digits(spoken_reading(morpheme)) or surface)


def reading_key(text: str, reader) -> ReadingKey:
    """The phonetic key of a text as Sudachi reads it, with each key character's word in the text.

    Word by word: each word is keyed on its own and the keys joined, not the joined reading keyed. phonetic_key
    drops a vowel that lengthens the one before it, and across a word boundary that vowel is usually the first
    sound of the next word: keyed whole, 東京と大阪 would read トキョトサカ and 大阪 (オサカ) could never be found in
    it (nor 上野 after の). Keyed per word, each key character also belongs to exactly one word, so the offsets are
    exact. term_keys() keys a search term both ways, so a term whose own words join across a long vowel still
    matches text written the same way.

    The words are Sudachi's finest units (mode A, inside the mode-C words Reader.tokenize gives): a match must
    start and end on word boundaries, and mode C makes one word of 福岡県宗像市 or 富士通Japan, in which 宗像市 and
    富士通 would then never be found. Mode A splits them and still keeps 藤塚 (フジツカ) or ひたちなか one word, so
    富士通 (フジツ) and 日立 (ヒタチ) do not hit inside them. One more boundary: see _glued_particle. Punctuation and
    spaces add no key characters and break nothing (藤、ツ reads フジツ).
    """
    units = list(reader.units(text))
    key: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for n, (start, end, unit) in enumerate(units):
        word = _word_key(unit)
        key.append(word)
        if len(word) > 1 and _glued_particle(unit, units[n - 1][2] if n else None):
            starts += [start] + [start + 1] * (len(word) - 1)
            ends += [start + 1] + [end] * (len(word) - 1)
        else:
            starts += [start] * len(word)
            ends += [end] * len(word)
    return ReadingKey("".join(key), tuple(starts), tuple(ends))


_PARTICLE_KANA = frozenset("のにをはがでともへや")


def _glued_particle(unit, before) -> bool:
    """Whether a word starts with a particle Sudachi glued to the kana of a name it does not know (福岡県のむなかたし
    read 福岡|県|のむ|なか|たし): a hiragana word after a word in another script, starting with a one-kana particle
    and read as written. Its first character is then a word of its own for matching (the key stays the word's)."""
    surface = unit.surface()
    return (
        len(surface) >= 2 and is_hiragana(surface) and surface[0] in _PARTICLE_KANA
        and unit.part_of_speech()[0] not in ("助詞", "助動詞") and katakana(unit.reading_form()) == katakana(surface)
        and before is not None and not is_hiragana(before.surface())
    )  # fmt: skip


def term_keys(term: str, reader) -> list[str]:
    """The phonetic keys a search term may be heard as. A term in kana is its own reading (むなかたし, ハセガワ);
    a written one has the keys of its readings (readings_of: the analyser's own and the dictionary's others, keyed
    whole as the lexicon keys names: 塚越 ツカゴシ, ツカコシ). Either way also the key reading_key gives the term,
    word by word as a text's words are keyed. Spaces inside the term are ignored (one term, one reading)."""
    written = nfkc("".join(term.split()))
    if is_kana(written):
        keys = [phonetic_key(katakana(written))]
    else:
        keys = [phonetic_key(reading) for reading in readings_of(written, reader)]
    keys.append(reading_key(written, reader).key)
    return [k for k in dict.fromkeys(keys) if k]


@dataclass(frozen=True)
class ReadingMatch:
    """Words of a text whose key is a term's key, or one edit from it."""

    start: int  # [start, end) in the text: whole words
    end: int
    key: str  # the text's key there
    term_key: str
    score: float  # 1.0: the same key; else Levenshtein's normalised similarity (ハセガハ for ハセガワ: 0.75)


def _occurrences(text: str, part: str) -> list[int]:
    """Where part starts in text, overlapping ones included."""
    found, at = [], text.find(part)
    while at >= 0:
        found.append(at)
        at = text.find(part, at + 1)
    return found


def match_reading(keys: list[str], text_key: ReadingKey, one_off_min_morae: int) -> list[ReadingMatch]:
    """Where a text sounds like a term: runs of whole words whose joined key equals one of the term's keys, or, for
    a key of at least one_off_min_morae morae, is one edit (a mora, near enough) from it. Whole words on both ends,
    since a short key is found inside many longer words by chance (フジツ in フジツカ). Overlapping matches: the
    best is kept (then the earliest). In text order."""
    words = text_key.words()
    firsts = [i for i, _ in words]
    found: list[ReadingMatch] = []
    for term_key in keys:
        slack = 1 if morae(term_key) >= one_off_min_morae else 0
        # A window holds the key, or, one edit off, one half of it whole: only windows starting at most its
        # length before where those are found are tried.
        half = len(term_key) // 2
        needles = [term_key[:half], term_key[half:]] if slack else [term_key]
        tried = sorted({a for needle in needles for at in _occurrences(text_key.key, needle)
                        for a in range(bisect_left(firsts, at - len(term_key) - slack + 1), bisect_right(firsts, at))})
        for a in tried:
            i = words[a][0]
            for _, j in words[a:]:
                if j - i > len(term_key) + slack:
                    break
                if j - i < len(term_key) - slack:
                    continue
                window = text_key.key[i:j]
                if Levenshtein.distance(term_key, window, score_cutoff=slack) <= slack:
                    score = round(Levenshtein.normalized_similarity(term_key, window), 4)
                    found.append(ReadingMatch(*text_key.span(i, j), window, term_key, score))
    kept: list[ReadingMatch] = []
    for match in sorted(found, key=lambda m: (-m.score, m.start, m.end)):
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)
