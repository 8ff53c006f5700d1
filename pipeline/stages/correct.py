"""Correct stage: names and terms in ASR text replaced by lexicon entries that read the same (pipeline/lib/correct.py).

A batch stage: the names of the batch's text transcripts join each episode's lexicon. The lexicon of an episode is
its show profile (hosts, vocabulary, entities), the gazetteers, its notes file, those batch names and the national
name lists. Text transcripts are read for names, never corrected. Each correction is recorded with the original
text, both readings, the entry's source and a score; the words keep their times, so entity and figure mentions of
the corrected text keep theirs.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import CorrectOptions, ShowProfile, load_gazetteer, resolve_path
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.correct import Edit, find_edits
from pipeline.lib.lexicon import Lexicon, Term, list_digest, load_name_list, named_terms, names_in_text
from pipeline.records import Correction, Episode, Segment, Turn, Word, full_text
from pipeline.text.reader import Reader


class CorrectStage(BatchStage):
    name = "correct"
    version = "4"  # 2: municipalities after their prefecture; 3: no hiragana run with an adjective; 4: お+word is a word
    requires = ("segments", "show", "context", "transcription")
    produces = ("segments", "text", "transcription")

    def __init__(self, options: CorrectOptions, gazetteers: list[str], name_lists: list[str]) -> None:
        self.options = options
        self.gazetteers = [resolve_path(p) for p in gazetteers]
        self.name_lists = [resolve_path(p) for p in name_lists]

    def options_key(self, job: Job) -> Any:
        files = {str(p): list_digest(p) for p in (*self.gazetteers, *self.name_lists)}  # an edited list re-runs it
        return {"options": self.options, "files": files, "profile": job.profile}

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled

    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        models = items[0][1].models
        reader = models.get("sudachi", Reader)
        shared = models.get(("lexicon", tuple(map(str, (*self.gazetteers, *self.name_lists)))), lambda: self._shared(reader))
        batch_text: list[Term] = []
        if self.options.use_batch_text:
            for episode, _ in items:
                if episode.transcription and episode.transcription.method == "text":
                    batch_text += named_terms(names_in_text(episode.text, reader, False), "batch_text", reader)
        failed: dict[str, Exception] = {}
        for episode, job in items:
            if not (episode.transcription and episode.transcription.method == "asr"):
                continue
            try:
                lexicon = Lexicon([*self._episode_terms(episode, job.profile, reader), *batch_text, *shared])
                self._correct(episode, lexicon, reader)
            except Exception as e:  # noqa: BLE001 - one episode's failure is that episode's error record
                failed[episode.episode_id] = e
        return failed

    def _shared(self, reader: Reader) -> list[Term]:
        gazetteer = [(name, entry.label) for path in self.gazetteers for entry in load_gazetteer(path)
                     for name in (entry.name, *entry.aliases)]  # fmt: skip
        terms = named_terms(gazetteer, "gazetteer", reader)
        for path in self.name_lists:
            terms += load_name_list(path)
        return terms

    @staticmethod
    def _episode_terms(episode: Episode, profile: ShowProfile | None, reader: Reader) -> list[Term]:
        terms: list[Term] = []
        if profile:
            names = [(n, "person") for h in profile.hosts for n in (h.name, *h.aliases)]
            names += [(n, e.label) for e in profile.entities for n in (e.name, *e.aliases)]
            names += [(v, "term") for v in profile.vocabulary]
            terms += named_terms(names, "profile", reader)
        if episode.context:
            terms += named_terms(names_in_text(episode.context.text, reader, True), "context", reader)
        return terms

    def _correct(self, episode: Episode, lexicon: Lexicon, reader: Reader) -> None:
        corrections: list[Correction] = []
        segments = []
        for segment in episode.segments:
            unsure = unsure_chars(segment, self.options.unsure_below)
            edits = find_edits(segment.text, unsure, lexicon, reader, self.options)
            if edits:
                segment, done = apply_edits(segment, edits)
                corrections += done
            segments.append(segment)
        episode.segments = segments
        episode.text = full_text(segments)
        episode.transcription.corrections = corrections



def word_offsets(segment: Segment | Turn) -> list[tuple[int, int]] | None:
    """[start, end) of each word in the segment's text, or None where the words do not spell the text."""
    out, position = [], 0
    for word in segment.words:
        piece = word.text.strip()
        found = segment.text.find(piece, position) if piece else position
        if found < 0:
            return None
        position = found + len(piece)
        out.append((found, position))
    return out


def unsure_chars(segment: Segment | Turn, below: float) -> list[bool] | None:
    """Per character of the segment's (or turn's) text: was the decoder unsure of the word there? None without
    words."""
    offsets = word_offsets(segment) if segment.words else None
    if offsets is None:
        return None
    unsure = [False] * len(segment.text)
    for (a, b), word in zip(offsets, segment.words):
        if word.probability < below:
            unsure[a:b] = [True] * (b - a)
    return unsure


def apply_edits(segment: Segment, edits: list[Edit]) -> tuple[Segment, list[Correction]]:
    """The segment with the edits made (text and words: the words under an edit become one word holding the
    corrected text, from the first's start to the last's end), and their records."""
    offsets = word_offsets(segment)
    text, words = segment.text, list(segment.words)
    corrections: list[Correction] = []
    for edit in sorted(edits, key=lambda e: -e.start):  # from the end, so earlier offsets stay valid
        corrected = edit.term.surface
        text = text[: edit.start] + corrected + text[edit.end :]
        time = None
        if offsets is not None and words:
            under = [i for i, (a, b) in enumerate(offsets) if a < edit.end and edit.start < b]
            if under:
                first, last = under[0], under[-1]
                head = words[first].text[: len(words[first].text) - len(words[first].text.lstrip())]
                before = segment.text[offsets[first][0] : edit.start]
                after = segment.text[edit.end : offsets[last][1]]
                merged = Word(start=words[first].start, end=words[last].end, text=head + before + corrected + after,
                              probability=min(w.probability for w in words[first : last + 1]))  # fmt: skip
                words[first : last + 1] = [merged]
                time = [merged.start, merged.end]
        corrections.append(Correction(
            segment=segment.id, span=[edit.start, edit.start + len(corrected)], time=time, original=edit.original,
            corrected=corrected, reading=edit.reading, term_reading=edit.term.reading, source=edit.term.source,
            kind=edit.term.kind, distance=edit.distance, score=edit.score, after=edit.after,
        ))  # fmt: skip
    # spans above are in the text as corrected up to that edit: shift them by the later edits made before them
    corrections.reverse()
    shift = 0
    for c in corrections:
        c.span = [c.span[0] + shift, c.span[1] + shift]
        shift += len(c.corrected) - len(c.original)
    return segment.model_copy(update={"text": text, "words": words}), corrections
