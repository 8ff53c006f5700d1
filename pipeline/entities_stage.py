"""Entities stage: named entities of the deduplicated turns, merged per entity, each mention tied to its speaker,
turn and time."""

from __future__ import annotations

import re

from pipeline.config import EntitiesOptions, GazetteerEntry, ShowProfile, SpeakersOptions, load_gazetteer, resolve_path
from pipeline.entities import Cluster, EntityRecognizer, Pattern, merge, patterns_for, repair
from pipeline.records import Entity, EntityMention, Episode
from pipeline.speakers import name_candidates
from pipeline.turntext import time_of

_JAPANESE = re.compile(r"[ぁ-ゖァ-ヺ一-龥]")


def profile_entries(profile: ShowProfile | None) -> list[GazetteerEntry]:
    """What a show profile knows by name: its gazetteer, hosts, station and the programme itself."""
    if profile is None:
        return []
    entries = list(profile.entities)
    entries += [GazetteerEntry(h.name, "Person", list(h.aliases)) for h in profile.hosts]
    if profile.station:
        entries.append(GazetteerEntry(profile.station, "Company", []))
    entries.append(GazetteerEntry(profile.name, "Broadcast_Program", []))
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
    names += [(c.name, c.name) for c in name_candidates(episode, options)]
    return names


class EntitiesStage:
    """Per-file stage after speakers. GiNZA loads once per process, on the first episode that needs it."""

    name = "entities"
    version = "1"
    requires = ("turns", "speakers")
    produces = ("entities",)

    def __init__(self, options: EntitiesOptions, speakers: SpeakersOptions) -> None:
        self.options = options
        self.speakers = speakers
        self.recognizer = EntityRecognizer(options.model, options.batch_size)
        self.gazetteer = [e for path in options.gazetteers for e in load_gazetteer(resolve_path(path))]

    def model_identity(self) -> str | None:
        return self.recognizer.identity() if self.options.enabled else None

    def reads(self, episode: Episode) -> bool:
        language = episode.transcription.language if episode.transcription else None
        if language is not None:
            return language in self.options.languages
        return "ja" in self.options.languages and bool(_JAPANESE.search(episode.text))

    def __call__(self, episode: Episode, profile: ShowProfile | None) -> Episode:
        episode.entities = []
        if not self.options.enabled or not episode.turns:
            return episode
        if not self.reads(episode):
            episode.notes.append(f"entities: not run, the model reads {', '.join(self.options.languages)} only")
            return episode
        texts = [turn.text for turn in episode.turns]
        patterns: list[Pattern] = patterns_for([*profile_entries(profile), *self.gazetteer], text_names(episode, self.speakers))
        raw = self.recognizer(texts, patterns)
        mentions = repair(
            texts, raw, patterns, drop_labels=set(self.options.drop_labels),
            coarse_types=self.options.coarse_types, org_suffixes=self.options.org_suffixes,
            honorifics=tuple(self.speakers.honorifics), propagate_min_chars=self.options.propagate_min_chars,
        )  # fmt: skip
        people = [s.name for s in episode.speakers if s.name]
        clusters = merge(mentions, self.options.coarse_types, people)
        episode.entities = [self._entity(i, c, episode) for i, c in enumerate(clusters)]
        return episode

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
