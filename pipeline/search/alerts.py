"""`pipeline alerts`: the alerts of a run (OUTPUT/alerts.jsonl), filtered, as lines for a person."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.engine.output import ALERTS_FILE, read_records
from pipeline.errors import PipelineError
from pipeline.records import AlertRecord
from pipeline.search.index import clock


@dataclass(frozen=True)
class AlertQuery:
    watchlist: str | None = None  # exact name of the list
    term: str | None = None  # part of the term's canonical name
    since: str | None = None  # ISO dates, inclusive; alerts without an air date pass only when neither is set
    until: str | None = None


def list_alerts(output_dir: Path, query: AlertQuery) -> list[AlertRecord]:
    """The alerts of the folder's last run that the query lets through, in the file's order (input, then
    transcript order)."""
    alerts = read_records(output_dir, ALERTS_FILE, AlertRecord, "an alert", PipelineError)
    return [a for a in alerts if _wanted(a, query)]


def _wanted(a: AlertRecord, q: AlertQuery) -> bool:
    if q.watchlist is not None and a.watchlist != q.watchlist:
        return False
    if q.term is not None and q.term not in a.term:
        return False
    if q.since or q.until:
        if a.air_date is None:
            return False
        if q.since and a.air_date < q.since or q.until and a.air_date > q.until:
            return False
    return True


def alert_lines(a: AlertRecord) -> list[str]:
    """Two or more lines: where and how (air date, show, time or turn, speaker, term, match), the sentence, then
    the other airings or the first airing and the clip, when there are."""
    where = clock(a.start) if a.start is not None else f"turn {a.turn}" if a.turn is not None else "-"
    who = a.speaker_name or a.speaker or "-"
    how = a.match if a.match in ("exact", "alias", "entity") else f"reading {a.score:.2f}"
    heard = f" (ASR: {a.asr_text})" if a.asr_text and a.asr_text != a.text else ""
    lines = [f"{a.air_date or '-'}  {a.show or a.source}  {where}  {who}  {a.watchlist}: {a.term}  [{how}]{heard}",
             f"   {a.sentence}"]  # fmt: skip
    for airing in a.airings:
        at = f" at {clock(airing.time[0])}" if airing.time else ""
        if airing.episode_id == a.episode_id:  # an ad placed twice in one show, a page that repeats itself
            lines.append(f"   repeated in this episode{at}")
        else:
            lines.append(f"   also aired: {airing.show or airing.episode_id} {airing.air_date or ''}{at}".rstrip())
    if a.rerun_of:
        lines.append(f"   rerun of: {a.rerun_of.episode_id} {a.rerun_of.air_date or ''}".rstrip())
    if a.clip:
        lines.append(f"   clip: {a.clip}")
    return lines
