"""Named entities in Japanese text: spaCy + GiNZA, with an EntityRuler ahead of the statistical NER.

GiNZA's NER alone labels ユージ as Animal_Disease and 富士通Japan as Music and misses TOKYO FM and 共同通信
(its F1 is about 0.55), so names the pipeline already knows go in first, as EntityRuler patterns: the
gazetteers in configs/ and the show profile, and the names the text itself reveals (speaker labels and their
full names, credits, 〜さん introductions). The statistical NER then labels the rest around them.

After the model, pure functions (no model, tested with plain data) repair and merge:

- span repair: brackets and quotes trimmed off the edges, an honorific (さん) dropped, a prefecture split from
  its city (福岡県宗像市 → 福岡県 + 宗像市), hashtags found by pattern as their own type;
- labels that are not names (dates, counts, money: the figures stage owns those; occupations and titles) are
  dropped, except for an organisation at the head of an occupation (城西大学 助教 → 城西大学); one-character
  and all-hiragana spans from the NER are dropped as noise (もず), and so are inflected words (利上げ);
- a name that extends an organisation's name is an organisation (富士通 → 富士通Japan, not a song);
- one label per surface in an episode (the ruler's label, else the NER's majority), and every other occurrence
  of a known surface is labelled too, where it stands as a word of its own;
- mentions of one entity merge into one record: exact surface, the ruler's canonical name (日銀 → 日本銀行,
  吉田 → 吉田明世), and a person's family name that starts exactly one full name of the episode.

Offsets are character offsets in the text given (a turn's text), so a mention maps to its words' times.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from pipeline.config import GazetteerEntry
from pipeline.text.normalise import nfkc
from pipeline.text.sentences import sentences

Source = Literal["gazetteer", "text", "ner", "propagated", "pattern"]
HASHTAG = "HASHTAG"

# Opening and closing marks trimmed from a span's edges (GiNZA often takes one in: ONE MORNING」).
_EDGE = "「」『』【】〔〕［］()（）〈〉《》<>＜＞\"'“”‘’・、。,.：:;；!！?？ 　"
_HASHTAG_RE = re.compile(r"[#＃][^\s#＃、。,.!！?？「」『』()（）【】〈〉<>\"“”]+")
_PREFECTURE_CITY = re.compile(r"^(北海道|東京都|京都府|大阪府|[一-龥]{2,3}県)([一-龥ぁ-ゖァ-ヶー]{1,6}?[市区町村郡])$")
_OCCUPATION = "Position_Vocation"  # GiNZA's label for 助教, 首相, and for 城西大学 助教 as a whole
_HIRAGANA_ONLY = re.compile(r"^[ぁ-ゖー]+$")
_INFLECTED = re.compile(r"[一-龥々][ぁ-ゖ]+$")


@dataclass
class Pattern:
    """One EntityRuler pattern: a surface, its label, the canonical name it stands for and where it came from."""

    text: str
    label: str
    canonical: str
    source: Literal["gazetteer", "text"]


@dataclass
class Mention:
    """An entity span in one text, before merging."""

    text_index: int  # which input text (turn)
    start: int
    end: int
    text: str
    label: str
    source: Source
    canonical: str | None  # set by the ruler (gazetteer / text names)


# --------------------------------------------------------------------------------------------- patterns


def patterns_for(entries: Iterable[GazetteerEntry], names: Iterable[tuple[str, str]]) -> list[Pattern]:
    """Ruler patterns from gazetteer entries (each alias stands for its name) and (surface, full name) pairs of
    people the text reveals. A surface listed twice keeps its first pattern: gazetteers come first."""
    out: dict[str, Pattern] = {}
    for entry in entries:
        for surface in (entry.name, *entry.aliases):
            out.setdefault(surface, Pattern(surface, entry.label, entry.name, "gazetteer"))
    for surface, full in names:
        if surface:
            out.setdefault(surface, Pattern(surface, "Person", full or surface, "text"))
    return list(out.values())


# --------------------------------------------------------------------------------------------- span repair


normalise = nfkc  # the form surfaces are compared in: full-width letters folded, case kept


def trim(mention: Mention, honorifics: tuple[str, ...]) -> Mention | None:
    """Brackets, quotes and punctuation off both edges, and a trailing honorific; None if nothing is left."""
    text, start = mention.text, mention.start
    stripped = text.lstrip(_EDGE)
    start += len(text) - len(stripped)
    text = stripped.rstrip(_EDGE)
    for honorific in honorifics:
        if text.endswith(honorific) and len(text) > len(honorific):
            text = text[: -len(honorific)]
            break
    if not text:
        return None
    return replace(mention, start=start, end=start + len(text), text=text)


def prefecture_and_city(text: str) -> tuple[str, str] | None:
    """福岡県宗像市 -> (福岡県, 宗像市); None for anything else."""
    m = _PREFECTURE_CITY.match(text)
    return (m.group(1), m.group(2)) if m else None


def split_prefecture(mention: Mention, location_labels: set[str]) -> list[Mention]:
    """福岡県宗像市 → 福岡県 (Province) + 宗像市 (City): each is searched for on its own."""
    m = _PREFECTURE_CITY.match(mention.text)
    if mention.label not in location_labels or m is None:
        return [mention]
    cut = mention.start + len(m.group(1))
    return [
        replace(mention, end=cut, text=m.group(1), label="Province", canonical=None),
        replace(mention, start=cut, text=m.group(2), label="City", canonical=None),
    ]


def organisation_in_title(mention: Mention, org_suffixes: dict[str, str]) -> Mention | None:
    """城西大学 助教 / 日本銀行総裁 (GiNZA: one Position_Vocation span) → 城西大学 (School) / 日本銀行 (Company):
    the longest head of the span that ends with an organisation word; None when there is none."""
    best: tuple[int, str] | None = None
    for suffix, label in org_suffixes.items():
        at = mention.text.rfind(suffix)
        cut = at + len(suffix)
        if at > 0 and cut < len(mention.text) and (best is None or cut > best[0]):
            best = (cut, label)
    if best is None:
        return None
    cut, label = best
    return replace(mention, end=mention.start + cut, text=mention.text[:cut], label=label, canonical=None)


def extend_organisations(mentions: list[Mention], coarse_types: dict[str, list[str]]) -> list[Mention]:
    """A name that extends an organisation's name is an organisation (富士通 → 富士通Japan, NTT → NTTドコモ):
    GiNZA labels such names as works or products (富士通Japan: Music), so they take the organisation's label."""
    orgs = {m.text: m.label for m in mentions if coarse_type(m.label, coarse_types) == "ORG" and len(m.text) >= 2}
    out = []
    for m in mentions:
        if coarse_type(m.label, coarse_types) in ("WORK", "PRODUCT", "OTHER") and m.source == "ner":
            head = max((o for o in orgs if m.text.startswith(o) and len(m.text) > len(o)), key=len, default=None)
            if head is not None:
                m = replace(m, label=orgs[head])
        out.append(m)
    return out


def hashtags(texts: list[str]) -> list[Mention]:
    return [
        Mention(i, m.start(), m.end(), m.group(), "Hashtag", "pattern", None)
        for i, text in enumerate(texts)
        for m in _HASHTAG_RE.finditer(text)
    ]


def is_noise(mention: Mention) -> bool:
    """The NER's one-character and all-hiragana spans are nearly always wrong (もず, さん), and so are kanji words
    with inflected hiragana endings outside person names (利上げ as a company, 減らせる); names the pipeline
    was given are never noise."""
    if mention.source in ("gazetteer", "text", "pattern"):
        return False
    if len(mention.text) < 2 or _HIRAGANA_ONLY.match(mention.text):
        return True
    return mention.label != "Person" and bool(_INFLECTED.search(mention.text))


def _script(ch: str) -> str:
    if "ァ" <= ch <= "ヺ" or ch == "ー":
        return "katakana"
    if "一" <= ch <= "龥" or ch in "々〆ヶ":
        return "kanji"
    if ch.isascii() and ch.isalnum():
        return "latin"
    return "other"


def stands_alone(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is not part of a longer word of the same script (マイナ in マイナンバー,
    国 in 国民, FM in FMラジオ is fine: the scripts differ)."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    first, last = _script(text[start]), _script(text[end - 1])
    return not (before and _script(before) == first != "other") and not (after and _script(after) == last != "other")


# --------------------------------------------------------------------------------------------- resolving overlaps

# When two mentions overlap, the one from the higher-ranked source wins, then the longer one.
_RANK = {"pattern": 4, "gazetteer": 3, "text": 3, "ner": 2, "propagated": 1}


def resolve_overlaps(mentions: list[Mention]) -> list[Mention]:
    """Non-overlapping mentions per text, chosen by source rank, then length, then position."""
    chosen: list[Mention] = []
    # per text, the chosen spans sorted by start (disjoint): an overlap is found by bisection, not by testing
    # every span (one long turn can hold tens of thousands of mentions)
    taken: dict[int, tuple[list[int], list[int]]] = {}
    for m in sorted(mentions, key=lambda m: (-_RANK[m.source], -(m.end - m.start), m.text_index, m.start)):
        starts, ends = taken.setdefault(m.text_index, ([], []))
        i = bisect.bisect_left(starts, m.start)
        if (i > 0 and ends[i - 1] > m.start) or (i < len(starts) and starts[i] < m.end):
            continue
        starts.insert(i, m.start)
        ends.insert(i, m.end)
        chosen.append(m)
    return sorted(chosen, key=lambda m: (m.text_index, m.start))


def consistent_labels(mentions: list[Mention]) -> dict[str, str]:
    """One label per surface: the ruler's label if the surface was given, else the NER's most frequent one."""
    given = {normalise(m.text): m.label for m in mentions if m.source in ("gazetteer", "text", "pattern")}
    votes: dict[str, Counter[str]] = {}
    for m in mentions:
        votes.setdefault(normalise(m.text), Counter())[m.label] += 1
    return {s: given.get(s) or max(sorted(v), key=lambda label: v[label]) for s, v in votes.items()}


def propagate(texts: list[str], mentions: list[Mention], labels: dict[str, str], min_chars: int) -> list[Mention]:
    """Every occurrence of a surface already labelled somewhere in these texts, where it stands as a word."""
    surfaces = {m.text: m for m in mentions if len(m.text) >= min_chars}
    out = []
    for surface, example in surfaces.items():
        pattern = re.compile(re.escape(surface))
        for i, text in enumerate(texts):
            for found in pattern.finditer(text):
                if stands_alone(text, found.start(), found.end()):
                    out.append(Mention(i, found.start(), found.end(), surface, labels[normalise(surface)],
                                       "propagated", example.canonical))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------- merging


@dataclass
class Cluster:
    """Mentions of one entity, with its canonical name, fine label and coarse type."""

    name: str
    label: str
    type: str
    mentions: list[Mention]


def coarse_type(label: str, coarse_types: dict[str, list[str]]) -> str:
    if label == "Hashtag":
        return HASHTAG
    for coarse, labels in coarse_types.items():
        if label in labels:
            return coarse
    return "OTHER"


def merge(mentions: list[Mention], coarse_types: dict[str, list[str]], people: Iterable[str],
          sounds: Callable[[str], set[str]] | None = None) -> list[Cluster]:  # fmt: skip
    """Mentions grouped by canonical name, in order of first mention.

    The canonical name is the ruler's (gazetteer name or full speaker name); otherwise, for a person, the one
    full name of the episode that the surface starts (吉田 → 吉田明世); otherwise, for a person, the one named
    speaker whose name (or family name) sounds the same (`sounds`: a surface's phonetic keys; 仲村みさき and 中村
    → 中村美咲, as ASR wrote them); otherwise the surface itself.
    """
    mentions = sorted(mentions, key=lambda m: (m.text_index, m.start))
    people = [normalise(p) for p in people]
    full_names = set(people) | {
        normalise(m.canonical or m.text) for m in mentions if coarse_type(m.label, coarse_types) == "PERSON"
    }
    heard: dict[str, set[str]] = defaultdict(set)  # phonetic key -> the speakers' names that sound so
    for person in people if sounds else []:
        for key in sounds(person):
            heard[key].add(person)
    clusters: dict[tuple[str, str], Cluster] = {}
    for m in mentions:
        kind = coarse_type(m.label, coarse_types)
        name = normalise(m.canonical or m.text)
        if kind == "PERSON" and (m.canonical is None or sounds and m.canonical == m.text):  # or 中村さん: 中村
            longer = {n for n in full_names if n.startswith(name) and n != name}
            if len(longer) == 1:
                name = longer.pop()
            alike = set().union(*(heard.get(k, set()) for k in sounds(name))) if sounds and name not in people else set()
            if len(alike) == 1:
                name = alike.pop()
        key = (name, kind)
        if key not in clusters:
            clusters[key] = Cluster(name=name, label=m.label, type=kind, mentions=[])
        clusters[key].mentions.append(m)
    for cluster in clusters.values():  # the label most mentions carry
        votes = Counter(m.label for m in cluster.mentions)
        cluster.label = max(sorted(votes), key=lambda label: votes[label])
    return list(clusters.values())


# --------------------------------------------------------------------------------------------- the model


class EntityRecognizer:
    """GiNZA with an EntityRuler before its NER. The model loads once, on first use; patterns change per call.

    `__call__(texts, patterns, max_sentence_chars)` runs the model over the sentences of every text (longer ones
    cut in pieces) in one `nlp.pipe` and returns raw mentions (offsets in each text), before repair and merging.
    """

    def __init__(self, model: str, batch_size: int) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self._nlp: Any = None

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            import spacy  # imported here: loading spaCy costs a second that runs without entities never pay

            # The parser and the morphological components add nothing to NER; leaving them out saves ~15%.
            nlp = spacy.load(self.model_name, exclude=["parser", "morphologizer", "compound_splitter",
                                                      "bunsetu_recognizer"])  # fmt: skip
            nlp.add_pipe("entity_ruler", before="ner", config={"overwrite_ents": True})
            self._nlp = nlp
        return self._nlp

    def identity(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"{self.model_name}=={version(self.model_name.replace('_', '-'))}"
        except PackageNotFoundError:
            return self.model_name

    def __call__(self, texts: list[str], patterns: list[Pattern], max_sentence_chars: int,
                 on_text: Callable[[int], None] | None = None) -> list[Mention]:  # fmt: skip
        """on_text(texts done) as the model moves from one text to the next (a turn: the stage's progress)."""
        nlp = self.nlp
        ruler = nlp.get_pipe("entity_ruler")
        ruler.clear()
        # Token patterns from the tokenizer alone: phrase patterns would run the whole model over every name.
        ruler.add_patterns([
            {"label": p.label, "pattern": [{"ORTH": t.text} for t in nlp.make_doc(p.text)], "id": f"{p.source}\t{p.canonical}"}
            for p in patterns
        ])  # fmt: skip
        pieces = [(i, offset, sentence) for i, text in enumerate(texts)
                  for offset, sentence in sentences(text, max_sentence_chars)]  # fmt: skip
        mentions = []
        docs = nlp.pipe((sentence for _, _, sentence in pieces), batch_size=self.batch_size)
        for (i, offset, _), doc in zip(pieces, docs):
            if on_text is not None:
                on_text(i)  # texts before i are done
            for ent in doc.ents:
                source, canonical = ent.ent_id_.split("\t", 1) if ent.ent_id_ else ("ner", None)
                mentions.append(Mention(i, offset + ent.start_char, offset + ent.end_char, ent.text, ent.label_,
                                        source, canonical))  # type: ignore[arg-type]  # fmt: skip
        return mentions


def repair(
    texts: list[str],
    raw: list[Mention],
    patterns: list[Pattern],
    drop_labels: set[str],
    coarse_types: dict[str, list[str]],
    org_suffixes: dict[str, str],
    honorifics: tuple[str, ...],
    propagate_min_chars: int,
) -> list[Mention]:
    """Model output to final mentions: trimmed, split, filtered, labelled consistently, propagated, and one
    mention per stretch of text."""
    location_labels = set(coarse_types.get("LOCATION", []))
    repaired: list[Mention] = []
    for mention in raw:
        trimmed = trim(mention, honorifics)
        if trimmed is None:
            continue
        if trimmed.label == _OCCUPATION:  # an occupation may hold an organisation: 城西大学 助教
            trimmed = organisation_in_title(trimmed, org_suffixes) or trimmed
        if trimmed.label in drop_labels:
            continue
        for piece in split_prefecture(trimmed, location_labels):
            if not is_noise(piece):
                repaired.append(piece)
    repaired = extend_organisations(repaired, coarse_types)
    # Names the pipeline was given are found wherever they stand as words, also where the tokenizer hid them
    # inside a longer token (ruler patterns only match whole tokens).
    given = [Mention(-1, 0, len(p.text), p.text, p.label, p.source, p.canonical) for p in patterns]
    labels = consistent_labels(given + repaired)
    found = repaired + hashtags(texts)
    for mention in propagate(texts, given, labels, min_chars=1):
        mention.source = next(p.source for p in patterns if p.text == mention.text)
        found.append(mention)
    found += propagate(texts, repaired, labels, propagate_min_chars)
    found = [replace(m, label=labels.get(normalise(m.text), m.label)) if m.label != "Hashtag" else m for m in found]
    return resolve_overlaps(found)
