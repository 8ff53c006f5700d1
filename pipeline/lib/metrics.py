"""Quality measures: character error rate for Japanese transcripts (no word boundaries, so characters are the
unit), and mention-level precision/recall of named entities against a gold list of surfaces."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from pipeline.text.normalise import letters_digits

# Punctuation, spaces and symbols are not what ASR is judged on: CER compares letters and digits only.
normalize_for_cer = letters_digits


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize_for_cer(reference), normalize_for_cer(hypothesis)
    if not ref:
        raise ValueError("empty reference")
    return Levenshtein.distance(ref, hyp) / len(ref)


# --------------------------------------------------------------------------------------------- entity scoring


@dataclass
class GoldEntity:
    name: str
    types: list[str]  # coarse types accepted
    surfaces: list[str]


@dataclass
class Span:
    text_index: int
    start: int
    end: int
    type: str  # predicted coarse type, or the gold entity's name for gold spans


@dataclass
class EntityScore:
    true_positives: int
    false_positives: int
    false_negatives: int
    misses: list[str]  # gold mentions not found (surface@text)
    extras: list[str]  # predictions that match nothing (surface:type@text)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 1.0


def find_surfaces(texts: list[str], surfaces: dict[str, str]) -> list[Span]:
    """Every occurrence of each surface (surface -> tag), longest surface first, none inside a longer one."""
    spans: list[Span] = []
    for surface in sorted(surfaces, key=len, reverse=True):
        for i, text in enumerate(texts):
            at = text.find(surface)
            while at >= 0:
                end = at + len(surface)
                if not any(s.text_index == i and s.start < end and at < s.end for s in spans):
                    spans.append(Span(i, at, end, surfaces[surface]))
                at = text.find(surface, at + 1)
    return spans


def score_entities(texts: list[str], predicted: list[Span], gold: list[GoldEntity], optional: list[str]) -> EntityScore:
    """Mention-level precision and recall: a prediction is right when its span is a gold mention's span and its
    type is one the gold accepts; predictions overlapping an optional surface are not scored."""
    types = {g.name: set(g.types) for g in gold}
    tags = {s: g.name for g in gold for s in g.surfaces} | {s: "" for s in optional}
    occurrences = find_surfaces(texts, tags)
    gold_spans = {(s.text_index, s.start, s.end): s.type for s in occurrences if s.type}
    ignored = [s for s in occurrences if not s.type]
    tp, fp, extras = 0, 0, []
    matched = set()
    for p in predicted:
        key = (p.text_index, p.start, p.end)
        if key in gold_spans and p.type in types[gold_spans[key]]:
            tp += 1
            matched.add(key)
        elif any(o.text_index == p.text_index and o.start < p.end and p.start < o.end for o in ignored):
            continue
        else:
            fp += 1
            extras.append(f"{texts[p.text_index][p.start:p.end]}:{p.type}@{p.text_index}")
    misses = [f"{texts[i][s:e]}@{i}" for (i, s, e) in gold_spans if (i, s, e) not in matched]
    return EntityScore(tp, fp, len(misses), misses, extras)
