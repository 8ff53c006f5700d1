"""Alert lines (outputs/alerts.jsonl): the alerts of every episode of a run, one flat record per mention."""

from __future__ import annotations

from pipeline.records.base import doc
from pipeline.records.episode import SCHEMA_VERSION, Alert, Episode


class AlertRecord(Alert):
    """One mention of a watched term, as a line of alerts.jsonl (the Alert of the episode record, versioned)."""

    schema_version: str = doc("version of this record layout")


def alert_records(episodes: list[Episode]) -> list[AlertRecord]:
    """Every alert of the episodes that worked, in input order, then transcript order."""
    return [AlertRecord(schema_version=SCHEMA_VERSION, **a.model_dump()) for e in episodes if e.status == "ok"
            for a in e.alerts]  # fmt: skip
