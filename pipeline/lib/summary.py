"""Extractive summaries, offline: a headline, key sentences, keywords weighted against the batch, a line per speaker.

Every sentence a summary shows is a sentence of the deduplicated turns, cited by turn, speaker and start time;
nothing is generated. The method, chosen because it needs no model beyond the analyser dedup already loads:

- sentences: each turn split per line and after 。！？ (pipeline.text.sentences), longer than
  `max_sentence_chars` ones cut at commas or spaces; shorter than `min_sentence_chars` ones (はい。そうですね。)
  are not candidates, and an episode with more than `max_sentences` candidates has that many ranked, spread
  evenly over it (with a note);
- words: SudachiPy (mode C) content words in normalised form: nouns, verbs, adjectives; numbers, pronouns,
  auxiliary-like verbs (する, いる) and formal nouns (こと, ため) are left out; adjacent nouns also form
  compounds (自主返納, マイナ保険証), the keyword candidates;
- centrality: TextRank (PageRank over the cosine similarities of TF-IDF sentence vectors), so a sentence
  that shares words with many others scores high, wherever it stands in the show;
- coverage: key sentences are picked by maximal marginal relevance (centrality against similarity to what is
  already picked), so three sentences on one point do not crowd out the second topic; they are listed in
  transcript order, and the headline (the most central sentence) is not repeated among them;
- keywords: nouns and entity names scored tf x idf, the idf taken over the episodes of the batch, so a word
  every episode uses (今日, 番組) sinks and the episode's own subject rises;
- speakers: each speaker's most central sentence and their top keywords.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pipeline.config import SummaryOptions
from pipeline.records import Entity, Keyword, Speaker, SpeakerLine, Summary, SummarySentence, Turn
from pipeline.text.reader import Reader
from pipeline.text.sentences import sentences, time_of

_CONTENT_POS = ("名詞", "動詞", "形容詞")
# Subcategories that carry no topic: numerals, and the auxiliary-like verbs and adjectives (する, いる, ない).
_SKIP = ("数詞", "非自立可能")
_FORMAL = {"こと", "もの", "ため", "よう", "ところ", "わけ", "はず", "方", "中", "時", "上", "等", "など", "とき", "感じ",
           "場合", "の", "ん"}
_SYMBOLS = re.compile(r"^[\W\d_]+$")


@dataclass
class Sentence:
    turn: int  # index into episode.turns
    start: int  # character offset in the turn text
    text: str
    words: list[str]  # content words, normalised
    nouns: list[str]  # nouns only (keyword candidates)


class Analyser:
    """Content words and noun compounds, read with dedup's SudachiPy instance (one dictionary per process)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def words(self, text: str) -> tuple[list[str], list[str]]:
        """(content words, noun compounds) of text in normalised form. Adjacent nouns make one compound
        (自主 + 返納 → 自主返納, マイナ + 保険証 → マイナ保険証): the unit a reader searches for."""
        content: list[str] = []
        compounds: list[str] = []
        run: list[str] = []
        run_end = -1
        for start, end, m in self.reader.tokenize(text):
            pos, form = m.part_of_speech(), m.normalized_form()
            topical = pos[1] not in _SKIP and form not in _FORMAL and not _SYMBOLS.match(form)
            if pos[0] == "名詞" and topical and (not run or start == run_end):
                run.append(form)
                run_end = end
            else:
                compounds.append("".join(run))
                run, run_end = ([form], end) if pos[0] == "名詞" and topical else ([], -1)
            if pos[0] in _CONTENT_POS and topical:
                content.append(form)
        compounds.append("".join(run))
        # one-character nouns (件, 方, 国) are counters or too vague for a keyword
        return content, [c for c in compounds if len(c) >= 2]


@dataclass
class Document:
    """What the summary reads of an episode."""

    turns: list[Turn]
    speakers: list[Speaker]
    entities: list[Entity]


def episode_sentences(turns: list[Turn], analyser: Analyser, min_chars: int, max_chars: int) -> list[Sentence]:
    out = []
    for index, turn in enumerate(turns):
        for offset, text in sentences(turn.text, max_chars):
            text_stripped = text.strip()
            if len(text_stripped) < min_chars:
                continue
            start = offset + text.index(text_stripped)
            words, nouns = analyser.words(text_stripped)
            if words:
                out.append(Sentence(index, start, text_stripped, words, nouns))
    return out


def similarity_matrix(items: list[Sentence]) -> np.ndarray:
    """Cosine similarities of TF-IDF vectors (idf over these sentences). The vectors are sparse: 3,000 sentences
    of a long show have tens of thousands of distinct words, and a dense table of them would fill gigabytes."""
    from scipy import sparse

    vocabulary = {w: i for i, w in enumerate(sorted({w for s in items for w in s.words}))}
    rows, columns, values = [], [], []
    for row, s in enumerate(items):
        for word, n in Counter(s.words).items():
            rows.append(row)
            columns.append(vocabulary[word])
            values.append(float(n))
    counts = sparse.csr_matrix((values, (rows, columns)), shape=(len(items), len(vocabulary)))
    df = np.bincount(columns, minlength=len(vocabulary))
    vectors = counts.multiply(np.log((1 + len(items)) / (1 + df)) + 1).tocsr()
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
    vectors = sparse.diags(1 / np.where(norms == 0, 1, norms)) @ vectors
    matrix = (vectors @ vectors.T).toarray()
    np.fill_diagonal(matrix, 0.0)
    return matrix


def textrank(matrix: np.ndarray, damping: float, iterations: int = 100) -> np.ndarray:
    """PageRank over the weighted sentence graph; a sentence sharing no words spreads its score evenly."""
    n = len(matrix)
    if n == 0:
        return np.zeros(0)
    out_weight = matrix.sum(axis=1, keepdims=True)
    transition = np.where(out_weight > 0, matrix / np.where(out_weight > 0, out_weight, 1), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * transition.T @ scores
        if np.abs(updated - scores).sum() < 1e-9:
            return updated
        scores = updated
    return scores


def pick(scores: np.ndarray, matrix: np.ndarray, count: int, balance: float, exclude: set[int]) -> list[int]:
    """Maximal marginal relevance: each pick maximises balance*score - (1-balance)*similarity to the picked."""
    top = scores.max() if len(scores) else 1.0
    relevance = scores / (top or 1.0)
    chosen: list[int] = []
    candidates = [i for i in range(len(scores)) if i not in exclude]
    while candidates and len(chosen) < count:
        def gain(i: int) -> float:
            redundancy = max((matrix[i, j] for j in [*chosen, *exclude]), default=0.0)
            return balance * relevance[i] - (1 - balance) * redundancy

        best = max(candidates, key=lambda i: (gain(i), -i))
        chosen.append(best)
        candidates.remove(best)
    return chosen


def keyword_counts(entities: list[Entity], items: list[Sentence]) -> Counter[str]:
    """Nouns of the sentences plus entity names (counted once per mention, under their canonical name)."""
    counts: Counter[str] = Counter(n for s in items for n in s.nouns)
    for entity in entities:
        if entity.type == "HASHTAG":
            continue
        for surface in {entity.name, *entity.aliases}:
            counts.pop(surface, None)  # the entity's count replaces its words' counts
        counts[entity.name] = len(entity.mentions)
    return counts


def keywords(counts: Counter[str], document_frequency: Counter[str], episodes: int, limit: int) -> list[Keyword]:
    """tf x idf with the batch's episodes as the documents (smoothed: a one-episode batch ranks by tf)."""
    scored = []
    for word, tf in counts.items():
        idf = math.log((1 + episodes) / (1 + document_frequency[word])) + 1
        scored.append(Keyword(text=word, score=round(tf * idf, 4), count=tf))
    scored.sort(key=lambda k: (-k.score, -k.count, k.text))
    return scored[:limit]


class Summarizer:
    """One Summary per document of a batch (keywords are weighted against the whole batch)."""

    def __init__(self, options: SummaryOptions, reader: Reader) -> None:
        self.options = options
        self.analyser = Analyser(reader)

    def __call__(self, documents: list[Document]) -> list[Summary]:
        """Raises the first document's error if any fails (`each` fails documents alone)."""
        done, failed = self.each(documents)
        for error in failed.values():
            raise error
        return [done[i][0] for i in range(len(documents))]

    def each(self, documents: list[Document]) -> tuple[dict[int, tuple[Summary, list[str]]], dict[int, Exception]]:
        """(summary, notes) by position in `documents`, and the errors of those that failed, by position. A
        document that fails fails alone: the others are weighted as if it were not in the batch."""
        o = self.options
        failed: dict[int, Exception] = {}
        prepared: dict[int, tuple[Document, list[Sentence], Counter[str]]] = {}
        for i, d in enumerate(documents):
            try:
                items = episode_sentences(d.turns, self.analyser, o.min_sentence_chars, o.max_sentence_chars)
                prepared[i] = (d, items, keyword_counts(d.entities, items))
            except Exception as e:
                failed[i] = e
        while True:  # again without any that fails late: their words weighed the others' keywords
            document_frequency: Counter[str] = Counter(w for _, _, counts in prepared.values() for w in counts)
            done, late = {}, {}
            for i, (d, items, counts) in prepared.items():
                try:
                    done[i] = self.summarize(d, items, counts, document_frequency, len(prepared))
                except Exception as e:
                    late[i] = e
            if not late:
                return done, failed
            failed.update(late)
            prepared = {i: p for i, p in prepared.items() if i not in late}

    def summarize(self, document: Document, items: list[Sentence], counts: Counter[str],
                  document_frequency: Counter[str], episodes: int) -> tuple[Summary, list[str]]:  # fmt: skip
        """The document's summary, and notes on how it was made (if any)."""
        o = self.options
        turns = document.turns
        top_keywords = keywords(counts, document_frequency, episodes, o.keywords)
        if not items:
            return Summary(headline=None, key_sentences=[], keywords=top_keywords, speakers=[]), []
        notes = []
        if len(items) > o.max_sentences:  # the similarity matrix grows with the square of the count
            notes.append(f"summary: ranked {o.max_sentences} of {len(items)} candidate sentences, spread evenly over "
                         f"the episode (summary.max_sentences)")  # fmt: skip
            items = [items[k * len(items) // o.max_sentences] for k in range(o.max_sentences)]
        matrix = similarity_matrix(items)
        scores = textrank(matrix, o.damping)
        headline = int(max(range(len(items)), key=lambda i: (scores[i], -i)))
        key = sorted(pick(scores, matrix, o.key_sentences, o.coverage_balance, exclude={headline}))
        cite = lambda i: self._cite(turns, items[i], float(scores[i]))  # noqa: E731
        lines = []
        for speaker in sorted(document.speakers, key=lambda s: -s.chars):
            own = [i for i, s in enumerate(items) if turns[s.turn].speaker == speaker.id]
            if not own:
                continue
            best = max(own, key=lambda i: (scores[i], -i))
            own_counts = Counter(n for i in own for n in items[i].nouns)
            words = keywords(own_counts, document_frequency, episodes, o.speaker_keywords)
            lines.append(SpeakerLine(speaker=speaker.id, name=speaker.name, sentence=cite(best),
                                     keywords=[k.text for k in words]))  # fmt: skip
        summary = Summary(headline=cite(headline), key_sentences=[cite(i) for i in key], keywords=top_keywords,
                          speakers=lines)  # fmt: skip
        return summary, notes

    @staticmethod
    def _cite(turns: list[Turn], sentence: Sentence, score: float) -> SummarySentence:
        turn = turns[sentence.turn]
        time = time_of(turn, sentence.start, sentence.start + len(sentence.text))
        return SummarySentence(
            text=sentence.text, turn=turn.id, speaker=turn.speaker, start=time[0] if time else None,
            span=[sentence.start, sentence.start + len(sentence.text)], score=round(score, 5),
        )  # fmt: skip
