"""Per-turn search documents (outputs/turns.jsonl): one flat record per speaker turn of an episode."""

from __future__ import annotations

from pipeline.records.base import Record, doc
from pipeline.records.episode import SCHEMA_VERSION, Episode, Figure


class TurnEntity(Record):
    """An entity mentioned in a turn (flattened for search filters)."""

    id: str = doc("Entity.id in the episode record")
    name: str = doc("canonical name")
    type: str = doc("coarse type (PERSON, ORG, LOCATION, PRODUCT, EVENT, WORK, HASHTAG, OTHER)")
    text: str = doc("the surface in this turn")
    span: list[int] = doc("[start, end) character offsets in the turn text")


class TurnRecord(Record):
    """One speaker turn as a flat search document (outputs/turns.jsonl)."""

    schema_version: str = doc("version of this record layout")
    id: str = doc("stable document id: <episode_id>#<turn id>")
    episode_id: str = doc("the episode record this turn belongs to")
    turn: int = doc("Turn.id within the episode")
    speaker: str = doc("Speaker.id")
    speaker_name: str | None = doc("full name when known, else null")
    speaker_role: str | None = doc("host, guest or narration")
    start: float | None = doc("seconds from the start of the episode")
    end: float | None = doc("seconds from the start of the episode")
    text: str = doc("what was said")
    section: str | None = doc("section heading of a text transcript")
    show: str | None = doc("programme name")
    station: str | None = doc("broadcaster")
    air_date: str | None = doc("ISO date")
    source: str = doc("input file name")
    entities: list[TurnEntity] = doc("entity mentions in this turn, in text order")
    figures: list[Figure] = doc("figures said in this turn (offsets in the turn text)")


def turn_records(episode: Episode) -> list[TurnRecord]:
    """Flat per-turn documents for search indexing, each carrying its speaker, programme, entities and figures."""
    speakers = {s.id: s for s in episode.speakers}
    entities: dict[int, list[TurnEntity]] = {}
    for entity in episode.entities:
        for m in entity.mentions:
            entities.setdefault(m.turn, []).append(
                TurnEntity(id=entity.id, name=entity.name, type=entity.type, text=m.text, span=list(m.span))
            )
    figures: dict[int, list[Figure]] = {}
    for mention in episode.figures:
        figures.setdefault(mention.turn, []).append(mention.figure)
    records = []
    for t in episode.turns:
        speaker = speakers.get(t.speaker)
        records.append(TurnRecord(
            schema_version=SCHEMA_VERSION, id=f"{episode.episode_id}#{t.id}", episode_id=episode.episode_id,
            turn=t.id, speaker=t.speaker, speaker_name=speaker.name if speaker else None,
            speaker_role=speaker.role if speaker else None, start=t.start, end=t.end, text=t.text,
            section=t.section, show=episode.show.name, station=episode.show.station, air_date=episode.show.air_date,
            source=episode.source.name, entities=sorted(entities.get(t.id, []), key=lambda e: e.span[0]),
            figures=figures.get(t.id, []),
        ))  # fmt: skip
    return records
