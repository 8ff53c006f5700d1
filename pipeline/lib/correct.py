"""Reading-aware correction of recognised text: names and terms Whisper heard right but wrote wrong.

Whisper writes what it hears with the characters it knows best: 厚生労働省 as 高生労働省, 宗像市 as むなかたし, 富士通 as
藤ツ, 長谷川 as ハセガは. Their readings still match. Each run of up to `max_span_words` Sudachi words is read
(with the other readings the dictionary holds for words it does not know, or for single kanji Whisper may have
picked for their sound), and compared with the lexicon (pipeline/lib/lexicon.py) by phonetic key.

Precision first: a wrong correction is worse than none. A span is changed only when
- it could be a misspelt name: nouns or unknown words (a particle only at its end), no digits; a run in hiragana
  is taken whole;
- it is not one dictionary word already (that is a homophone, not a mishearing: 帰省 is not 規制);
- its reading equals an entry's, and for a national entry its writing is odd (an unknown word, kana, single
  characters in a row, a name glued to a common noun, a place suffix) or the entry is long (経済産業賞);
- or its reading is one or two morae off a long entry's, the decoder was unsure of a word there (text with no word
  probabilities counts as unsure: the strict case, in which transcripts are checked for zero edits) and a word of
  it is unknown (or the entry is the episode's own, or a person's name before an honorific);
- it does not overlap a name found as written, and exactly one written form fits best.

A municipality named right after its prefecture (石川県の和島市や鈴木市で) is compared with that prefecture's
municipalities only (tens, not 1,700): there a reading one mora off a name of three morae or more is evidence
enough (輪島市, 珠洲市), when no other municipality of the prefecture comes as close. The correction records the
prefecture it rests on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import product

from rapidfuzz.distance import Levenshtein

from pipeline.config import CorrectOptions
from pipeline.lib.lexicon import HONORIFICS, SPOKEN, Lexicon, Term, morae, phonetic_key, spoken_reading
from pipeline.text.normalise import fold, is_hiragana, is_japanese, is_kana, is_kanji, is_katakana, katakana

_BREAKS = {"補助記号", "空白", "記号"}  # a name never runs across punctuation
_NOT_FIRST = {"助詞", "助動詞", "補助記号", "空白", "記号", "接尾辞"}
_NAME_PARTS = {"名詞", "接頭辞", "接尾辞"}
_POLITE = {"お", "ご", "御"}  # the prefix of polite ordinary words (お財布, ご案内)
_PLACE_SUFFIXES = {"都", "道", "府", "県", "市", "区", "町", "村", "省", "庁"}
_MAX_VARIANTS = 32  # readings of one span: the product of its words' readings, capped
_PLACE_ENDS = ("市", "町", "村", "区", "し", "シ", "まち", "ちょう", "むら")  # how a municipality's name ends
_LIST_JOINS = {"の", "や", "と", "、", "・", " "}  # between a prefecture and its places, or two places
_MAX_PLACE_WORDS = 4


@dataclass(frozen=True)
class Piece:
    """One Sudachi word of the text, with the readings it may stand for."""

    start: int
    end: int
    surface: str
    readings: tuple[str, ...]  # the analyser's own first; for a word it does not know, the dictionary's others
    sounds: tuple[str, ...]  # kanji read one by one (高生 -> コウセイ): what Whisper may have heard, used for long entries only
    pos: tuple[str, ...]
    known: bool  # a word of the dictionary, not guessed by the analyser

    @property
    def kind(self) -> str:
        return self.pos[0]

    @property
    def person(self) -> bool:
        return self.pos[1:3] == ("固有名詞", "人名")


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    original: str
    term: Term
    reading: str  # the original's reading that matched
    distance: int
    score: float
    after: str | None = None  # the name before it the edit rests on (a municipality's prefecture)


def pieces(text: str, reader) -> list[Piece]:
    """The words of text with their readings."""
    out = []
    for start, end, m in reader.tokenize(text):
        surface, pos = m.surface(), tuple(m.part_of_speech())
        if pos[0] == "空白":  # Whisper's spaces between chunks (スカイラーク ホールディングス): silent
            out.append(Piece(start, end, surface, ("",), (), pos, True))
            continue
        readings = [spoken_reading(m)]
        if m.is_oov():
            readings += reader.readings(surface)
        sounds: list[str] = []
        if len(surface) > 1 and is_kanji(surface) and (m.is_oov() or pos[1:3] == ("固有名詞", "人名")):
            per_char = [reader.readings(ch)[:3] for ch in surface]
            if all(per_char):
                sounds = ["".join(p) for p in product(*per_char)][:_MAX_VARIANTS]
        readings = list(dict.fromkeys(r for r in readings if r))
        out.append(Piece(start, end, surface, tuple(readings), tuple(r for r in sounds if r not in readings), pos,
                         not m.is_oov()))  # fmt: skip
    return out


def _variants(span: list[Piece]) -> Iterator[tuple[str, bool]]:
    """(reading, whether kanji read one by one went into it)."""
    for n, combo in enumerate(product(*(p.readings for p in span))):
        if n >= _MAX_VARIANTS:
            break
        yield "".join(combo), False
    if any(p.sounds for p in span):
        for n, combo in enumerate(product(*(p.readings + p.sounds for p in span))):
            if n >= _MAX_VARIANTS:
                break
            yield "".join(combo), True


def _allowed_distance(term: Term, addressed: bool, options: CorrectOptions) -> int:
    """Morae a reading may be off from the entry's: none for short entries. A person's name followed by an
    honorific (スカコシさん) may be one off from one mora shorter: the honorific says a name stands there."""
    n = morae(term.reading)
    if addressed and term.kind in ("person", "surname"):
        n += 1
    return 2 if n >= options.two_off_min_morae else 1 if n >= options.one_off_min_morae else 0


def _whole_kana_run(words: list[Piece], i: int, j: int) -> bool:
    """A name Whisper wrote in hiragana (むなかたし, わじまし) is read by the analyser as any words at all (む|なか|
    たし): such a run is taken whole, from where the kana start (or a particle ends) to a particle or other script,
    never a part of one (なかたし), and never with numbers."""
    before = words[i - 1] if i > 0 else None
    after = words[j + 1] if j + 1 < len(words) else None
    starts = before is None or not is_hiragana(before.surface) or before.kind == "助詞"
    ends = after is None or not is_hiragana(after.surface) or after.kind in ("助詞", "助動詞")
    led = words[i].kind != "助詞" or (before is not None and before.kind == "助詞")  # の|わじまし, not 県|はまし
    return starts and ends and led


def _kana_tail(words: list[Piece], i: int, j: int) -> bool:
    """words[i..j] are nouns (or unknown words) in kanji or katakana followed by a whole run in hiragana with no
    adjective (消費者|ぶっ|か|し|す)."""
    k = next((n for n in range(i, j + 1) if is_hiragana(words[n].surface)), None)
    if k is None or k == i or not all(is_hiragana(w.surface) for w in words[k : j + 1]):
        return False
    head, tail = words[i:k], words[k : j + 1]
    return (all(p.kind in _NAME_PARTS or not p.known for p in head) and not any(p.kind == "形容詞" for p in tail)
            and _whole_kana_run(words, k, j))  # fmt: skip


def _one_word(span: list[Piece]) -> bool:
    """One dictionary word of two or more characters (with a particle after it, unless the particle is said
    otherwise than written, ハセガ|は = ハセガワ; or the polite prefix before a noun in kana, お|さいふ = お財布): a
    homophone, a word as written, not a mishearing (帰省 is not 規制, システムで is not システムディ, おさいふ is not
    大阪府)."""
    if len(span) > 1 and span[-1].kind == "助詞" and span[-1].surface not in SPOKEN:
        span = span[:-1]
    if (len(span) == 2 and span[0].kind == "接頭辞" and span[0].surface in _POLITE and span[1].kind == "名詞"
            and is_hiragana(span[1].surface)):  # fmt: skip
        span = span[1:]  # a noun in kana (お|さいふ), not the kana of a name read as other words (お|とべ: 乙部), nor
        # a spelling of the episode's own term (お|頼り for お便り)
    return len(span) == 1 and span[0].known and len(span[0].surface) >= 2


def _can_be_name(span: list[Piece], text: str) -> bool:
    """A run of words that could be a misspelt name: nouns (or words the analyser does not know), a particle only
    at the end (ハセガ|は), no numbers; a run in kana may hold other words (む|なか|たし) but no verbs or endings."""
    if any(any(ch.isdigit() for ch in p.surface) for p in span) or span[0].pos[1] == "数詞":
        return False  # figures are not names; a kanji numeral inside one is (イガラシ県一 = 五十嵐健一)
    if is_kana(text):
        return not any(p.kind in ("動詞", "助動詞", "形容詞") for p in span)
    return all(p.kind in _NAME_PARTS or not p.known for p in span[:-1]) and (
        span[-1].kind in _NAME_PARTS or span[-1].kind == "助詞" or not span[-1].known)


def _odd_writing(span: list[Piece], text: str) -> bool:
    """Writing that says the decoder spelt sounds: a word the dictionary does not know, a name in kana, single
    characters in a row (藤|ツ, 変|能), or a personal name glued to a common noun (高生|労働省)."""
    if any(not p.known for p in span):
        return True
    if is_kana(text) and morae(katakana(text)) >= 4:
        return True
    if len(span) > 1 and any(is_hiragana(p.surface) and len(p.surface) >= 2 and p.kind == "名詞" for p in span) \
            and any(is_kanji(p.surface) for p in span):  # fmt: skip
        return True  # a place in kana with its kanji suffix (いばらき|県)
    scripts = {"kanji" if is_kanji(p.surface) else "katakana" if is_katakana(p.surface) else "" for p in span}
    if {"kanji", "katakana"} <= scripts:
        return True  # kanji and katakana in one name-like run (藤|ツー)
    if len(span) > 1 and span[-1].surface in _PLACE_SUFFIXES and span[-1].kind in ("名詞", "接尾辞"):
        return True  # a ward, city, prefecture, ministry or agency name that is not one as written (公知県, 構い市)
    singles = [len(p.surface) == 1 for p in span]
    if any(a and b for a, b in zip(singles, singles[1:])):
        return True
    return any(p.person for p in span) and any(p.kind == "名詞" and not p.person for p in span)


def _inner_space(words: list[Piece], j: int) -> bool:
    """words[j] is one space between two Japanese words (where Whisper joined two chunks)."""
    w = words[j]
    return (w.kind == "空白" and w.surface == " " and 0 < j < len(words) - 1
            and is_japanese(words[j - 1].surface[-1]) and is_japanese(words[j + 1].surface[0]))  # fmt: skip


def find_edits(text: str, unsure: list[bool] | None, lexicon: Lexicon, reader, options: CorrectOptions,
               kana_names: bool = False) -> list[Edit]:
    """Corrections for one text (a segment). `unsure[i]` says whether the decoder was unsure of the word holding
    character i (probability below options.unsure_below); None = no probabilities (a transcript). With
    `kana_names`, a whole run in hiragana, or nouns with one as their tail (消費者|ぶっ|か|し|す: the end of a long name
    written by its sound), may also be a reading of an entry whatever parts of speech the analyser gives the kana
    (しなの|めこう|すけ for 東雲康介): for a small lexicon of names asked for (a watchlist), not for the national one,
    where such runs of ordinary words find some entry one mora off."""
    words = pieces(text, reader)
    protected: list[tuple[int, int]] = []
    candidates: list[Edit] = []
    for i, first in enumerate(words):
        if first.kind == "空白":
            continue
        for j in range(i, min(len(words), i + options.max_span_words)):
            if _inner_space(words, j):
                continue  # a space Whisper put between two Japanese chunks does not end a name; a span never ends on it
            if words[j].kind in _BREAKS:
                break
            span = [w for w in words[i : j + 1] if w.kind != "空白"]
            start, end = span[0].start, span[-1].end
            written = text[start:end]
            original = written.replace(" ", "")  # what is compared; the edit replaces `written`, spaces and all
            if known := lexicon.knows(original):
                if written != original:  # a name Whisper broke with spaces (日本 年金 機構): joined
                    candidates.append(Edit(start, end, written, known, "".join(p.readings[0] for p in span), 0, 1.0))
                elif known.kind != "term":  # a name as written is never overwritten; a common word (経済) may be
                    protected.append((start, end))  # part of a misspelt name (経済産業賞)
                continue
            kana_name = kana_names and (is_hiragana(original) or _kana_tail(words, i, j))
            if is_hiragana(original):
                if not _whole_kana_run(words, i, j) or any(p.kind == "形容詞" for p in span):
                    continue  # a run with an adjective is words (も|おかしい), however it reads (真岡市)
            elif first.kind in _NOT_FIRST or not (kana_name or _can_be_name(span, original)):
                continue
            if _one_word(span):
                continue
            addressed = j + 1 < len(words) and words[j + 1].surface in HONORIFICS
            unknown = any(not p.known for p in span) or is_hiragana(original)
            doubt = Doubt(odd=_odd_writing(span, original), unknown=unknown,
                          unsure=unsure is None or any(unsure[start:end]))  # fmt: skip
            candidates += [replace(e, original=written) for e in
                           _span_edits(span, original, start, end, doubt, addressed, lexicon, options,
                                       kana_name)]  # fmt: skip
    places = place_edits(words, text, lexicon, reader, options)
    # a name inside a place's name is not that name (the company 鈴木 in 鈴木市 after 石川県)
    protected = [(a, b) for a, b in protected if not any(e.start <= a and b <= e.end and b - a < e.end - e.start
                                                           for e in places)]  # fmt: skip
    return _choose(candidates + places, protected)


def place_edits(words: list[Piece], text: str, lexicon: Lexicon, reader, options: CorrectOptions) -> list[Edit]:
    """Municipalities named after their prefecture (石川県の和島市や鈴木市で -> 輪島市, 珠洲市), each compared with the
    municipalities of that prefecture only. A name written as some entry of the lexicon is left alone."""
    edits: list[Edit] = []
    for k, word in enumerate(words):
        region = lexicon.knows(word.surface)
        if region is None or region.kind != "prefecture" or not lexicon.within(region.surface):
            continue
        i = k + 1
        while i < len(words) and words[i].surface in _LIST_JOINS:
            i += 1
        while (end := _place_end(words, i, text)) is not None:
            span = [w for w in words[i : end + 1] if w.kind != "空白"]
            written = text[span[0].start : span[-1].end]
            if not lexicon.knows(written.replace(" ", "")):
                edit = _nearest_town(span, written, region.surface, lexicon, reader, options)
                edits += [edit] if edit else []
            i = end + 1
            if not (i < len(words) and words[i].surface in _LIST_JOINS - {"の"}):
                break
            i += 1
    return edits


def _place_end(words: list[Piece], i: int, text: str) -> int | None:
    """Index of the word that ends the place name starting at words[i] (和島|市, or one word in kana or unknown to
    the dictionary: すずし), or None: no particle, ending or punctuation on the way, more than the suffix alone."""
    for j in range(i, min(len(words), i + _MAX_PLACE_WORDS)):
        if words[j].kind in ("助詞", "助動詞") or words[j].kind in _BREAKS:
            return None
        name = text[words[i].start : words[j].end]
        if name.endswith(_PLACE_ENDS) and (j > i or is_kana(name) or not words[i].known) and len(name) > 1:
            return j
    return None


def _nearest_town(span: list[Piece], written: str, region: str, lexicon: Lexicon, reader,
                  options: CorrectOptions) -> Edit | None:  # fmt: skip
    """The one municipality of the region whose reading is nearest the span's (every reading the dictionary holds
    for its words, 和島: ワシマ, ワジマ), if near enough; None on a tie between two."""
    choices = [p.readings + tuple(r for r in reader.readings(p.surface) if r not in p.readings) + p.sounds
               for p in span]  # fmt: skip
    readings = ["".join(c) for n, c in zip(range(_MAX_VARIANTS), product(*choices))]
    best: dict[str, tuple[int, str, Term]] = {}  # surface -> (distance, reading, term)
    for reading in readings:
        key = phonetic_key(reading)
        for town in lexicon.within(region):
            d = Levenshtein.distance(key, town.key, score_cutoff=2)
            if town.surface not in best or d < best[town.surface][0]:
                best[town.surface] = (d, reading, town)
    if not best:
        return None
    ranked = sorted(best.values(), key=lambda b: b[0])
    distance, reading, town = ranked[0]
    if len(ranked) > 1 and ranked[1][0] == distance:
        return None  # two municipalities fit as well
    size = morae(town.key)
    if distance > (1 if size >= options.place_one_off_min_morae else 0):
        return None
    score = round(options.national_weight * (1 - distance / max(size, morae(phonetic_key(reading)))), 3)
    if score < options.min_score:
        return None
    return Edit(span[0].start, span[-1].end, written, town, reading, distance, score, after=region)


@dataclass(frozen=True)
class Doubt:
    odd: bool  # the writing looks spelt from sounds (_odd_writing)
    unknown: bool  # a word the dictionary does not know, or the whole run in kana
    unsure: bool  # the decoder was unsure of a word there (or there are no probabilities)


def _span_edits(span: list[Piece], original: str, start: int, end: int, doubt: Doubt, addressed: bool,
                lexicon: Lexicon, options: CorrectOptions, kana_name: bool) -> list[Edit]:  # fmt: skip
    """The best edit of one run of words, if one entry fits it better than any other. Exact readings need odd
    writing for a national entry (a run of ordinary words that reads like a company is not one), or at least two
    words for an entry of the episode's own; near readings need an unknown word and an unsure decoder."""
    nouns = kana_name or all(p.kind in _NAME_PARTS or not p.known for p in span)
    fuzzy = doubt.unsure and nouns and (doubt.unknown or len(span) >= 2)
    best: dict[str, Edit] = {}  # by written form
    for reading, by_sound in _variants(span):
        key = phonetic_key(reading)
        matches = [(t, 0) for t in lexicon.exact(key)]
        if fuzzy and not by_sound and morae(reading) >= options.one_off_min_morae - 2:
            matches += [(t, d) for other, d in lexicon.near(key, 2) for t in lexicon.exact(other)]
        for term, distance in matches:
            size = morae(term.reading)
            national = term.source == "national"
            if size < (options.min_morae_national if national else options.min_morae):
                continue
            if by_sound and size < options.sound_min_morae:
                continue
            if national and not doubt.odd and (distance or size < options.long_name_morae):
                continue  # ordinary words that read like a short name; a long name's reading alone is evidence
            if distance > _allowed_distance(term, addressed, options):
                continue
            if distance and not doubt.unknown and national and size < options.long_name_morae:
                continue  # dictionary words one mora off a national name: only a long one makes that a mishearing
            if is_kana(term.surface) and (national and (size < options.sound_min_morae or not is_kana(original))
                                           or not national and size < options.one_off_min_morae):  # fmt: skip
                continue  # a national name in kana is a guess between spellings (はせがわ); the episode's own
                # spelling of a longer name is not (年金ネット -> ねんきんネット, as the programme writes it)
            if term.surface in original or distance and original in term.surface:
                continue  # the name as written and more (情報を), or part of the name (中村 / 中村屋): not a mishearing
            weight = options.national_weight if national else 1.0
            score = round(weight * (1 - distance / max(size, morae(reading))), 3)
            if score < options.min_score or fold(term.surface) == fold(original):
                continue
            edit = Edit(start, end, original, term, reading, distance, score)
            if term.surface not in best or score > best[term.surface].score:
                best[term.surface] = edit
    if not best:
        return []
    top = max(e.score for e in best.values())
    winners = [e for e in best.values() if e.score == top]
    if len(winners) > 1:  # two written forms fit as well: a guess, not a correction
        episode = [e for e in winners if e.term.source != "national"]
        winners = episode if len({e.term.surface for e in episode}) == 1 else []
    return winners[:1]


def _keeps(edit: Edit, a: int, b: int) -> bool:
    """The edit covers the name at [a, b) and writes it as it was: it completes the name (五十嵐|県一 -> 五十嵐健一,
    the surname kept) with the same reading, rather than overwriting it."""
    i, j = a - edit.start, b - edit.start
    kept = edit.original[i:j]
    return (edit.distance == 0 and i >= 0 and j <= len(edit.original) and edit.term.surface[i:j] == kept
            and len(edit.term.surface) > len(kept))  # something is added, not a particle dropped (情報を -> 情報)  # fmt: skip


def _choose(candidates: list[Edit], protected: list[tuple[int, int]]) -> list[Edit]:
    """Best first (score, then the longer span), none overlapping another or a name found as written (unless it
    keeps that name as it is)."""
    chosen: list[Edit] = []
    taken: list[tuple[int, int]] = []
    for edit in sorted(candidates, key=lambda e: (-e.score, -(e.end - e.start), e.start)):
        if any(edit.start < b and a < edit.end for a, b in taken):
            continue
        if any(edit.start < b and a < edit.end and not _keeps(edit, a, b) for a, b in protected):
            continue
        chosen.append(edit)
        taken.append((edit.start, edit.end))
    return sorted(chosen, key=lambda e: e.start)
