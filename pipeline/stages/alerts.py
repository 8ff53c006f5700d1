"""Alerts stage: every mention of a watched term (configs/watchlists) in the batch, with who said it, when, the
sentence and its figures, and how it matched (pipeline/lib/watch.py).

A batch stage, last of the plan: a passage aired twice in the batch (a rerun, a repeated ad) is taken out of the
later airing by dedup, and the mention there becomes an `airing` of the first airing's alert instead of a second
alert. A passage first aired in an earlier run (dedup.archive) gives an alert here that points at that airing
(`rerun_of`). The mention's kind says how it was found:
- a written form in text the correct stage changed is a `reading` match (the correction's original and score);
- an entity mention resolved to a term's name (塚越 -> 塚越健司) that no written form covers is an `entity` match.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from rapidfuzz.fuzz import ratio

from pipeline.config import AlertsOptions, CorrectOptions, resolve_path
from pipeline.config.watchlists import Watchlist, load_watchlists
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.lexicon import list_digest
from pipeline.lib.watch import Found, Matcher, Watched
from pipeline.records import Airing, Alert, Correction, Episode, Removal, Turn
from pipeline.stages.correct import unsure_chars
from pipeline.text.reader import Reader
from pipeline.text.sentences import sentence_span, time_of


@dataclass
class _Mention:
    """A mention on its way to an Alert: where it is and how it matched."""

    found: Found
    turn: Turn | None
    text: str  # the turn's text, or the removed passage's (rerun of an earlier run)
    time: list[float] | None
    order: tuple[float, int]  # transcript order within the episode


class AlertsStage(BatchStage):
    name = "alerts"
    version = "1"
    requires = ("turns", "speakers", "entities", "figures", "dedup", "show", "source", "transcription")
    produces = ("alerts",)

    def __init__(self, options: AlertsOptions, correct: CorrectOptions) -> None:
        self.options = options
        self.correct = correct  # the reading rules (pipeline/lib/correct.py)
        self.folder = resolve_path(options.watchlists_dir)
        self._watchlists: list[Watchlist] | None = None

    @property
    def watchlists(self) -> list[Watchlist]:
        """Read when the batch stage first needs them, on the driver: the plan is also built on Ray workers, which
        never run a batch stage and need not see the folder. (`pipeline run` reads them before the batch starts,
        so a bad list stops the run at once: pipeline/plan.py.)"""
        if self._watchlists is None:
            self._watchlists = load_watchlists(self.folder, self.options.watchlists)
        return self._watchlists

    def options_key(self, job: Job) -> Any:
        files = {w.name: list_digest(self.folder / f"{w.name}.yaml") for w in self.watchlists}
        return {"options": self.options, "correct": self.correct, "watchlists": files}

    def applies_to(self, episode: Episode) -> bool:
        return self.options.enabled and bool(self.watchlists)

    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        reader = items[0][1].models.get("sudachi", Reader)
        matcher = Matcher(self.watchlists, reader, self.correct, self.options.reading, self.options.min_reading_score,
                          self.options.titles)  # fmt: skip
        episodes = {e.episode_id: e for e, _ in items}
        failed: dict[str, Exception] = {}
        for episode, _ in items:
            try:
                episode.alerts = self._alerts(episode, self._mentions(episode, matcher))
            except Exception as e:  # noqa: BLE001 - one episode's failure is that episode's error record
                failed[episode.episode_id] = e
        for episode, _ in items:  # reruns: after every first airing has its alerts
            if episode.episode_id in failed:
                continue
            try:
                self._reruns(episode, matcher, episodes)
            except Exception as e:  # noqa: BLE001
                failed[episode.episode_id] = e
        return failed

    # --- mentions in the turns -------------------------------------------------------------------------------

    def _mentions(self, episode: Episode, matcher: Matcher) -> list[_Mention]:
        asr = episode.transcription is not None and episode.transcription.method == "asr"
        resolved = _resolved(episode, matcher)
        out: list[_Mention] = []
        for turn in episode.turns:
            unsure = unsure_chars(turn, self.correct.unsure_below) if asr else None
            found = matcher.find(turn.text, unsure)
            found += [Found(w, a, b, "entity", 1.0) for w, a, b in resolved.get(turn.id, [])
                      if not any(f.watched == w and f.start < b and a < f.end for f in found)]  # fmt: skip
            for f in found:
                time = time_of(turn, f.start, f.end)
                if asr:
                    f = _as_corrected(f, time, episode.transcription.corrections)
                if f.match == "reading" and f.score < self.options.min_reading_score:
                    continue  # a correction the correct stage made on weaker evidence than an alert needs
                out.append(_Mention(f, turn, turn.text, time, (turn.id, f.start)))
        named = {_key(m.found) for m in out if not m.found.by_surname}
        return [m for m in out if not m.found.by_surname or _key(m.found) in named]

    def _alerts(self, episode: Episode, mentions: list[_Mention]) -> list[Alert]:
        speakers = {s.id: s for s in episode.speakers}
        alerts = []
        for m in sorted(mentions, key=lambda m: m.order):
            if not self._wanted(m, episode, speakers):
                continue
            alerts.append(self._alert(episode, m, len(alerts), speakers))
        return alerts

    def _wanted(self, m: _Mention, episode: Episode, speakers: dict) -> bool:
        """The term's filters: shows, speakers, a figure of a kind in the sentence."""
        term = m.found.watched.term
        if term.shows and not any(s in (episode.show.name or "") or s in (episode.show.profile or "")
                                  for s in term.shows):  # fmt: skip
            return False
        speaker = speakers.get(m.turn.speaker) if m.turn else None
        if term.speakers and not (speaker and any(s in (speaker.name or "") or s in speaker.id for s in term.speakers)):
            return False
        if term.figures_near:
            kinds = {f.kind for f in self._figures(episode, m)}
            if not kinds & set(term.figures_near):
                return False
        return True

    def _figures(self, episode: Episode, m: _Mention):
        if m.turn is None:
            return []
        a, b = sentence_span(m.text, m.found.start, m.found.end)
        return [f.figure for f in episode.figures if f.turn == m.turn.id and a <= f.figure.start < b]

    def _alert(self, episode: Episode, m: _Mention, n: int, speakers: dict, rerun_of=None) -> Alert:
        f, text = m.found, m.text
        a, b = sentence_span(text, f.start, f.end)
        c = self.options.context_chars
        speaker = speakers.get(m.turn.speaker) if m.turn else None
        alert_id = f"{episode.episode_id}#alert{n}"
        audio = episode.source.kind == "audio" and m.time is not None
        clip = None
        if audio and (self.options.clips or f.watched.watchlist.clips):
            clip = clip_path(self.options.clip.folder, alert_id, self.options.clip.format)
        return Alert(
            id=alert_id, watchlist=f.watched.watchlist.name, term=f.watched.term.name, type=f.watched.term.type,
            match=f.match, score=f.score, text=text[f.start : f.end], asr_text=f.asr_text, reading=f.reading,
            episode_id=episode.episode_id, show=episode.show.name, station=episode.show.station,
            air_date=episode.show.air_date, source=episode.source.name, speaker=m.turn.speaker if m.turn else None,
            speaker_name=speaker.name if speaker else None, turn=m.turn.id if m.turn else None,
            span=[f.start, f.end] if m.turn else None, start=m.time[0] if m.time else None,
            end=m.time[1] if m.time else None, sentence=text[a:b], context=text[max(0, a - c) : b + c].strip(),
            figures=self._figures(episode, m), airings=[], rerun_of=rerun_of, clip=clip,
        )  # fmt: skip

    # --- reruns ----------------------------------------------------------------------------------------------

    def _reruns(self, episode: Episode, matcher: Matcher, episodes: dict[str, Episode]) -> None:
        """Mentions in passages dedup took out as repeats (of another episode's, or of an earlier passage of this
        one): an airing of the first airing's alert, or an alert of their own pointing at the first airing when
        that airing has no alert for them (an earlier run's, or one whose transcript lacks the mention)."""
        if episode.dedup is None:
            return
        added: list[tuple[_Mention, Removal]] = []
        for removal in episode.dedup.removals:
            if removal.kind not in ("cross_episode", "repeat") or removal.dup_of is None:
                continue  # a repeat within the episode: an ad placed twice in one show, a page that repeats itself
            first = None if removal.dup_of.earlier_run else episodes.get(removal.dup_of.episode_id)
            for f in matcher.find(removal.text, None):
                alert = _first_alert(first, f, removal, episode.episode_id) if first is not None else None
                if alert is not None:
                    alert.airings.append(Airing(episode_id=episode.episode_id, show=episode.show.name,
                                                air_date=episode.show.air_date, time=removal.time))  # fmt: skip
                else:
                    order = removal.time[0] if removal.time else float(removal.segment)
                    added.append((_Mention(f, None, removal.text, removal.time, (order, f.start)), removal))
        speakers = {s.id: s for s in episode.speakers}
        # numbered after the episode's own alerts, whose ids stay as they are
        for m, removal in sorted(added, key=lambda x: x[0].order):
            if self._wanted(m, episode, speakers):
                episode.alerts.append(self._alert(episode, m, len(episode.alerts), speakers, rerun_of=removal.dup_of))


def _key(f: Found) -> tuple[str, str]:
    return f.watched.watchlist.name, f.watched.term.name


def clip_path(folder: str, alert_id: str, fmt: str) -> str:
    """<folder>/<episode id>.alert<n>.<fmt>, relative to the output folder (shows/a.mp3#alert0 ->
    clips/shows/a.mp3.alert0.mp3)."""
    episode_id, _, n = alert_id.rpartition("#")
    return str(PurePosixPath(folder, f"{episode_id}.{n}.{fmt}"))


def _resolved(episode: Episode, matcher: Matcher) -> dict[int, list[tuple[Watched, int, int]]]:
    """Turn id -> (term, start, end) of the entity mentions resolved to a watched name or alias (an `entity` match
    where no mention found as written covers it)."""
    out: dict[int, list[tuple[Watched, int, int]]] = defaultdict(list)
    for entity in episode.entities:
        for w in matcher.by_form.get(entity.name, []):
            for mention in entity.mentions:
                out[mention.turn].append((w, *mention.span))
    return out


def _as_corrected(f: Found, time: list[float] | None, corrections: list[Correction]) -> Found:
    """A written mention that the correct stage wrote there (藤ツ -> 富士通): a reading match, with the correction's
    original and score."""
    if f.match == "reading" or time is None:
        return f
    for c in corrections:
        if c.corrected == f.watched.term.name or c.corrected in f.watched.term.aliases:
            if c.time and c.time[0] < time[1] and time[0] < c.time[1]:
                return Found(f.watched, f.start, f.end, "reading", c.score, c.original, c.reading)
    return f


def _first_alert(first: Episode, f: Found, removal: Removal, again: str) -> Alert | None:
    """The alert of the first airing that the removed passage's mention repeats: the same term, within the kept
    copy's time (audio), not yet linked to this airing (episode `again`; a passage naming the term twice links two
    alerts), the sentence most like the removed text."""
    candidates = [a for a in first.alerts if a.watchlist == f.watched.watchlist.name and a.term == f.watched.term.name
                  and all(x.episode_id != again for x in a.airings)]  # fmt: skip
    time = removal.dup_of.time
    if time:
        candidates = [a for a in candidates if a.start is not None and time[0] - 1 <= a.start <= time[1] + 1]
    if not candidates:
        return None
    return max(candidates, key=lambda a: ratio(a.sentence, removal.text))

