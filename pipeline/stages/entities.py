"""Entities stage: named entities of the deduplicated turns, merged per entity, each mention tied to its speaker,
turn and time."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipeline.config import EntitiesOptions, GazetteerEntry, ShowProfile, SpeakersOptions, load_gazetteer, resolve_path
from pipeline.engine.stage import FileStage, Job
from pipeline.lib.lexicon import Term, list_digest, load_name_list, readings_of
from pipeline.lib.naming import family_name, reading_keys
from pipeline.lib.entities import Cluster, EntityRecognizer, Mention, Pattern, merge, patterns_for, repair
from pipeline.lib.speakers import name_candidates
from pipeline.records import Entity, EntityMention, Episode
from pipeline.text.normalise import is_kanji
from pipeline.text.reader import Reader
from pipeline.text.sentences import time_of

_JAPANESE = re.compile(r"[ぁ-ゖァ-ヺ一-龥]")
# A space between two Japanese characters is where Whisper joined two chunks, not part of a name.
_WHISPER_SPACE = re.compile(r"(?<=[ぁ-ゖァ-ヺー一-龥々]) +(?=[ぁ-ゖァ-ヺー一-龥々])")


def profile_entries(profile: ShowProfile | None) -> list[GazetteerEntry]:
    """What a show profile knows by name: its gazetteer, hosts, station and the programme itself."""
    if profile is None:
        return []
    entries = list(profile.entities)
    entries += [GazetteerEntry(name=h.name, label="Person", aliases=list(h.aliases)) for h in profile.hosts]
    if profile.station:
        entries.append(GazetteerEntry(name=profile.station, label="Company", aliases=[]))
    entries.append(GazetteerEntry(name=profile.name, label="Broadcast_Program", aliases=[]))
    return entries


def text_names(episode: Episode, options: SpeakersOptions) -> list[tuple[str, str]]:
    """(surface, full name) of the people the transcript reveals: speaker labels and the names they resolve to,
    credits and introductions (城西大学 助教・塚越健司さん)."""
    names = []
    for speaker in episode.speakers:
        if speaker.label:
            names.append((speaker.label, speaker.name or speaker.label))
        if speaker.name:
            names.append((speaker.name, speaker.name))
    credits = episode.dedup.credits if episode.dedup else None
    names += [(c.name, c.name) for c in name_candidates(credits, episode.segments, options)]
    return names



def _letter(ch: str) -> bool:
    return ch.isalnum() and not "ぁ" <= ch <= "ゖ"  # hiragana after a name is a particle (富士通は), not more name


def listed_mentions(texts: list[str], names: dict[str, str], found: list[Mention]) -> list[Mention]:
    """Mentions of the national lists' names where they stand as whole names, after the model: a longer name it
    found (富士通Japan, 自民党本部) keeps its own mention, a shorter one inside a listed name (NTT in NTTデータ) gives
    way to it (the caller drops it). A name continued by a letter is part of a longer one; one that follows a
    letter of its own script too (イオン in ライオン); a place may follow a prefecture (福岡県宗像市)."""
    out: list[Mention] = []
    for index, text in enumerate(texts):
        taken = [(m.start, m.end) for m in found if m.text_index == index]
        for name in sorted((n for n in names if n in text), key=len, reverse=True):  # longer names first
            for match in re.finditer(re.escape(name), text):
                a, b = match.span()
                if b < len(text) and _letter(text[b]) or a > 0 and _letter(text[a - 1]) and not is_kanji(name[0]):
                    continue
                if any(a < e and s < b and not (a <= s and e <= b) for s, e in taken):
                    continue  # overlaps a longer or crossing mention
                out.append(Mention(index, a, b, name, names[name], "gazetteer", name))
                taken.append((a, b))
    return out


def is_common_word(name: str, reader: Reader) -> bool:
    """A listed name that is also one ordinary word (the company フリー, the word free): a name only in context,
    so not looked for as written."""
    words = list(reader.tokenize(name))
    return len(words) == 1 and words[0][2].part_of_speech()[1] == "普通名詞"


class EntitiesStage(FileStage):
    """GiNZA loads once per process, on the first episode that needs it."""

    name = "entities"
    version = "4"  # 2: names of the national lists and of the episode's notes; 3: listed institutions that are
    # words; 4: a person's mentions merge with a named speaker whose name sounds the same
    # turns and speakers: what is read and who said it; dedup and segments: names from credits and
    # introductions; transcription and text: the language
    requires = ("turns", "speakers", "dedup", "segments", "transcription", "text", "context")
    produces = ("entities",)

    def __init__(self, options: EntitiesOptions, speakers: SpeakersOptions) -> None:
        self.options = options
        self.speakers = speakers
        self.gazetteer = [e for path in options.gazetteers for e in load_gazetteer(resolve_path(path))]

    def options_key(self, job: Job) -> Any:
        return {"entities": self.options, "speakers": self.speakers, "gazetteer": self.gazetteer,
                "profile": profile_entries(job.profile), "name_lists": [list_digest(resolve_path(p)) for p in self.options.name_lists]}  # fmt: skip

    def mentions(self, job: Job, texts: list[str], patterns: list[Pattern],
                 on_text: Callable[[int], None] | None = None) -> list[Mention]:  # fmt: skip
        raw = self.recognizer(job)(texts, patterns, self.options.max_sentence_chars, on_text)
        return repair(
            texts, raw, patterns, drop_labels=set(self.options.drop_labels),
            coarse_types=self.options.coarse_types, org_suffixes=self.options.org_suffixes,
            honorifics=tuple(self.speakers.honorifics), propagate_min_chars=self.options.propagate_min_chars,
        )  # fmt: skip

    def noted_names(self, job: Job, notes: str, patterns: list[Pattern]) -> list[GazetteerEntry]:
        """Entities of the episode's notes (written text: GiNZA reads it better than ASR output), as entries."""
        typed = {label for labels in self.options.coarse_types.values() for label in labels}  # not OTHER
        found = {m.text: m.label for m in self.mentions(job, [notes], patterns) if len(m.text) >= 2 and m.label in typed}
        return [GazetteerEntry(name=text, label=label, aliases=[]) for text, label in found.items()]

    def listed_names(self, job: Job) -> dict[str, str]:
        """Name -> label of the national lists, without companies named by one ordinary word (いつも, アトム). The
        dictionary holds ministries, agencies and disasters as words too (気象庁, 東日本大震災): they stay."""
        labels = self.options.name_list_labels
        reader = job.models.get("sudachi", Reader)

        def wanted(term: Term) -> bool:
            return term.kind in labels and len(term.surface) >= 2 and not (
                term.kind == "company" and is_common_word(term.surface, reader))  # fmt: skip

        return job.models.get(("name lists", *self.options.name_lists), lambda: {
            t.surface: labels[t.kind] for path in self.options.name_lists for t in load_name_list(resolve_path(path))
            if wanted(t)
        })  # fmt: skip

    def recognizer(self, job: Job) -> EntityRecognizer:
        o = self.options
        return job.models.get(("ginza", o.model, o.batch_size), lambda: EntityRecognizer(o.model, o.batch_size))

    def model_identity(self) -> str | None:
        return EntityRecognizer(self.options.model, self.options.batch_size).identity() if self.options.enabled else None

    def reads(self, episode: Episode) -> bool:
        language = episode.transcription.language if episode.transcription else None
        if language is not None:
            return language in self.options.languages
        return "ja" in self.options.languages and bool(_JAPANESE.search(episode.text))

    def run(self, episode: Episode, job: Job) -> None:
        episode.entities = []
        if not self.options.enabled or not episode.turns:
            return
        if not self.reads(episode):
            episode.notes.append(f"entities: not run, the model reads {', '.join(self.options.languages)} only")
            return
        texts = [turn.text for turn in episode.turns]
        given = [*profile_entries(job.profile), *self.gazetteer]
        names = text_names(episode, self.speakers)
        if episode.context:  # the notes' own entities, found in their clean text, are looked for as written
            given += self.noted_names(job, episode.context.text, patterns_for(given, names))
        patterns: list[Pattern] = patterns_for(given, names)
        job.progress.measure(len(texts), "turns")
        mentions = self.mentions(job, texts, patterns, job.progress.advance)
        job.progress.advance(len(texts))
        listed = listed_mentions(texts, self.listed_names(job), mentions)
        covered = [m for m in mentions if any(m.text_index == n.text_index and n.start <= m.start and m.end <= n.end
                                              for n in listed)]  # fmt: skip
        mentions = sorted([m for m in mentions if m not in covered] + listed, key=lambda m: (m.text_index, m.start))
        people = [s.name for s in episode.speakers if s.name]
        reader = job.models.get("sudachi", Reader)

        def sounds(name: str) -> set[str]:  # a name's phonetic keys, and its family name's (中村美咲: ナカムラ too)
            return reading_keys(filter(None, (name, family_name(name, reader))), lambda f: readings_of(f, reader),
                                self.speakers.speech_min_reading_morae)  # fmt: skip

        clusters = merge(mentions, self.options.coarse_types, people, sounds if self.speakers.speech_names else None)
        episode.entities = [self._entity(i, c, episode) for i, c in enumerate(clusters)]

    @staticmethod
    def _entity(index: int, cluster: Cluster, episode: Episode) -> Entity:
        mentions = []
        for m in cluster.mentions:
            turn = episode.turns[m.text_index]
            mentions.append(EntityMention(
                turn=turn.id, speaker=turn.speaker, time=time_of(turn, m.start, m.end), span=[m.start, m.end],
                text=m.text, label=m.label, source=m.source,
            ))  # fmt: skip
        name = _WHISPER_SPACE.sub("", cluster.name)  # 日本 年金 機構 -> 日本年金機構 (TOKYO FM keeps its space)
        aliases = sorted({m.text for m in cluster.mentions} - {name})
        return Entity(id=f"E{index}", name=name, type=cluster.type, label=cluster.label, aliases=aliases,
                      mentions=mentions)  # fmt: skip
