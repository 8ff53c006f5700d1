"""Entities stage: named entities of the deduplicated turns, merged per entity, each mention tied to its speaker,
turn and time."""

from __future__ import annotations

import re
from typing import Any

from pipeline.config import EntitiesOptions, GazetteerEntry, ShowProfile, SpeakersOptions, load_gazetteer, resolve_path
from pipeline.engine.stage import FileStage, Job
from pipeline.lib.entities import Cluster, EntityRecognizer, Pattern, merge, patterns_for, repair
from pipeline.lib.speakers import name_candidates
from pipeline.records import Entity, EntityMention, Episode
from pipeline.text.sentences import time_of

_JAPANESE = re.compile(r"[ぁ-ゖァ-ヺ一-龥]")


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


class EntitiesStage(FileStage):
    """GiNZA loads once per process, on the first episode that needs it."""

    name = "entities"
    version = "1"
    # turns and speakers: what is read and who said it; dedup and segments: names from credits and
    # introductions; transcription and text: the language
    requires = ("turns", "speakers", "dedup", "segments", "transcription", "text")
    produces = ("entities",)

    def __init__(self, options: EntitiesOptions, speakers: SpeakersOptions) -> None:
        self.options = options
        self.speakers = speakers
        self.gazetteer = [e for path in options.gazetteers for e in load_gazetteer(resolve_path(path))]

    def options_key(self, job: Job) -> Any:
        return {"entities": self.options, "speakers": self.speakers, "gazetteer": self.gazetteer,
                "profile": profile_entries(job.profile)}  # fmt: skip

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
        patterns: list[Pattern] = patterns_for(
            [*profile_entries(job.profile), *self.gazetteer], text_names(episode, self.speakers)
        )
        raw = self.recognizer(job)(texts, patterns, self.options.max_sentence_chars)
        mentions = repair(
            texts, raw, patterns, drop_labels=set(self.options.drop_labels),
            coarse_types=self.options.coarse_types, org_suffixes=self.options.org_suffixes,
            honorifics=tuple(self.speakers.honorifics), propagate_min_chars=self.options.propagate_min_chars,
        )  # fmt: skip
        people = [s.name for s in episode.speakers if s.name]
        clusters = merge(mentions, self.options.coarse_types, people)
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
        aliases = sorted({m.text for m in cluster.mentions} - {cluster.name})
        return Entity(id=f"E{index}", name=cluster.name, type=cluster.type, label=cluster.label, aliases=aliases,
                      mentions=mentions)  # fmt: skip
