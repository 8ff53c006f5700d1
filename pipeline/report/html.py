"""The report's pages as HTML text: the batch page and one page per episode.

Every string from a record goes through `esc` (html.escape, quotes included), in text and in attributes alike;
numbers are formatted here. No JSON is embedded: the script reads the turns' `data-start` attributes. Pages are
plain DOM sized for a 3-hour show: one element per turn, timeline block and highlighted mention, never per word.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from pipeline.config import ReportOptions
from pipeline.records import Episode, Removal, SummarySentence, Turn
from pipeline.report.assets import CONTENT_SECURITY_POLICY, CSS, JS

# A colour class per speaker lane (c0..c7 in the style), repeating after eight speakers.
COLOURS = 8
# Characters of a removed passage shown while it is folded.
PREVIEW_CHARS = 60
# Seconds between the timeline's ticks: the first step giving at most MAX_TICKS of them.
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
MAX_TICKS = 12

# href of the page (and turn anchor) holding an episode's segment: (episode_id, segment) -> href or None.
Locate = Callable[[str, int], "str | None"]


@dataclass(frozen=True)
class Audio:
    """The episode's audio as the page sees it: a URL relative to the report folder, or why there is none."""

    url: str | None
    note: str


@dataclass(frozen=True)
class _Mark:
    start: int
    end: int
    kind: str  # "ent" or "fig": the CSS class
    title: str


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def chips(texts: list[str]) -> str:
    return "".join(f"<span class=\"chip\">{esc(t)}</span>" for t in texts)


def clock(seconds: float) -> str:
    """1:02:03 past an hour, else 2:03."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6g}"


def page(title: str, body: str, script: bool) -> str:
    """A whole document: the style inline, the script (episode pages) inline, no outside resources."""
    code = f"<script>{JS}</script>" if script else ""
    return (
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{esc(CONTENT_SECURITY_POLICY)}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"generator\" content=\"broadcast-pipeline report\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n{code}</body></html>\n"
    )


# --- batch page ---------------------------------------------------------------------------------------------------


def speaker_names(episode: Episode) -> dict[str, str]:
    """Speaker.id -> the name when known, else the id."""
    return {s.id: s.name or s.id for s in episode.speakers}


def _error(episode: Episode) -> str:
    return f"{episode.error.stage}: {episode.error.type}: {episode.error.message}" if episode.error else ""


def _length(episode: Episode) -> str:
    if episode.duration is not None:
        return clock(episode.duration)
    return f"text, {len(episode.text):,} chars" if episode.source.kind == "text" else ""


def batch_page(episodes: list[Episode], pages: dict[str, str], options: ReportOptions, clips: dict[str, str]) -> str:
    """The batch: a row per episode, then every alert (`clips`: alert id -> the clip's URL from the report)."""
    rows = []
    for e in episodes:
        names = ", ".join(esc(n) for n in speaker_names(e).values())
        keywords = e.summary.keywords[: options.keywords] if e.summary else []
        problems = [f"<div class=\"bad\">{esc(_error(e))}</div>"] if e.error else []
        problems += [f"<div class=\"note\">{esc(n)}</div>" for n in e.notes]
        status = esc(e.status) if e.status == "ok" else f"<span class=\"bad\">{esc(e.status)}</span>"
        rows.append(
            f"<tr><td><a href=\"{esc(pages[e.episode_id])}\">{esc(e.episode_id)}</a></td>"
            f"<td>{esc(e.show.name or '')}<div class=\"note\">{esc(e.show.station or '')}</div></td>"
            f"<td>{esc(e.show.air_date or '')}</td><td class=\"num\">{esc(_length(e))}</td><td>{status}</td>"
            f"<td>{names}</td><td>{chips([k.text for k in keywords])}</td>"
            f"<td>{''.join(problems)}</td></tr>"
        )
    failed = sum(e.status != "ok" for e in episodes)
    body = (
        f"<header><h1>Batch report</h1><p class=\"meta\">{len(episodes)} episodes, {failed} failed</p></header>\n"
        "<main><section><table class=\"batch\"><thead><tr><th>episode</th><th>show</th><th>air date</th>"
        "<th>duration</th><th>status</th><th>speakers</th><th>keywords</th><th>errors and notes</th></tr></thead>"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody></table></section>\n"
        f"<section id=\"alerts\"><h2>Alerts</h2>{alerts_table(episodes, pages, clips)}</section></main>"
    )
    return page("Batch report", body, script=False)


def alerts_table(episodes: list[Episode], pages: dict[str, str] | None, clips: dict[str, str]) -> str:
    """Every alert: term and list, how it matched, where (a link to the turn on the episode page when `pages` is
    given), who, the sentence, other airings, and the clip."""
    rows = []
    for e in episodes:
        names = speaker_names(e)
        for a in e.alerts if e.status == "ok" else []:
            how = a.match if a.match != "reading" else f"reading {a.score:.2f}"
            heard = f"<div class=\"note\">ASR: {esc(a.asr_text)}</div>" if a.asr_text and a.asr_text != a.text else ""
            where = clock(a.start) if a.start is not None else f"t{a.turn}" if a.turn is not None else "-"
            if pages is not None and a.turn is not None:
                where = f"<a href=\"{esc(pages[e.episode_id])}#t{a.turn}\">{esc(where)}</a>"
            elif a.turn is not None:
                where = f"<a href=\"#t{a.turn}\">{esc(where)}</a>"
            else:
                where = esc(where)
            also = [f"{x.show or x.episode_id} {x.air_date or ''}".strip() if x.episode_id != a.episode_id
                    else "again in this episode" + (f" at {clock(x.time[0])}" if x.time else "") for x in a.airings]
            also += [f"rerun of {a.rerun_of.episode_id} {a.rerun_of.air_date or ''}".strip()] if a.rerun_of else []
            clip = f"<a class=\"clip\" href=\"{esc(clips[a.id])}\">clip</a>" if a.id in clips else ""
            rows.append(
                f"<tr><td><mark class=\"alert\">{esc(a.term)}</mark><div class=\"note\">{esc(a.watchlist)}</div></td>"
                f"<td>{esc(how)}{heard}</td><td>{esc(e.show.name or e.episode_id)}<div class=\"note\">"
                f"{esc(e.show.air_date or '')}</div></td><td>{where}</td>"
                f"<td>{esc(names.get(a.speaker, a.speaker) if a.speaker else '')}</td><td>{esc(a.sentence)}</td>"
                f"<td>{esc('; '.join(also))}</td><td>{clip}</td></tr>"
            )
    if not rows:
        return "<p class=\"note\">No alerts (no watchlist term was said, or no watchlist is configured).</p>"
    return ("<table class=\"alerts\"><thead><tr><th>term</th><th>match</th><th>episode</th><th>time</th><th>speaker</th>"
            "<th>sentence</th><th>also aired</th><th>clip</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


# --- episode page -------------------------------------------------------------------------------------------------


def highlight(text: str, marks: list[_Mark]) -> str:
    """`text` escaped, with <mark> around each span. Overlapping spans (an entity holding a figure) are cut at
    every boundary, so a piece covered by both gets both classes and tags never cross. Spans outside the text
    (a record edited by hand) are left out."""
    marks = [m for m in marks if 0 <= m.start < m.end <= len(text)]
    if not marks:
        return esc(text)
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for i, m in enumerate(marks):
        opening.setdefault(m.start, []).append(i)
        closing.setdefault(m.end, []).append(i)
    cuts = sorted({0, len(text), *opening, *closing})
    out, active = [], set()
    for a, b in zip(cuts, cuts[1:]):  # a sweep: a turn that is a whole pasted page may hold thousands of marks
        active.difference_update(closing.get(a, ()))
        active.update(opening.get(a, ()))
        piece = esc(text[a:b])
        if not active:
            out.append(piece)
            continue
        cover = [marks[i] for i in sorted(active)]
        kinds = " ".join(sorted({m.kind for m in cover}))
        out.append(f"<mark class=\"{kinds}\" title=\"{esc(' | '.join(m.title for m in cover))}\">{piece}</mark>")
    return "".join(out)


def _marks(episode: Episode) -> dict[int, list[_Mark]]:
    """Turn.id -> the entity and figure spans in its text (both records give offsets in the turn's text)."""
    marks: dict[int, list[_Mark]] = {}
    for entity in episode.entities:
        for m in entity.mentions:
            if len(m.span) == 2:
                title = f"{entity.name} · {entity.type} / {m.label}"
                marks.setdefault(m.turn, []).append(_Mark(m.span[0], m.span[1], "ent", title))
    for f in episode.figures:
        fig = f.figure
        value = " ".join(x for x in (number(fig.value), fig.unit or "", fig.iso or "") if x)
        marks.setdefault(f.turn, []).append(_Mark(fig.start, fig.end, "fig", f"{fig.kind} {value}".strip()))
    return marks


class SegmentPlaces:
    """Where a segment id (pre-dedup, as removals and their kept copies give it) lies among an episode's turns."""

    def __init__(self, turns: list[Turn]):
        self._owner = {seg: pos for pos, t in enumerate(turns) for seg in t.segments}
        self._firsts = sorted((min(t.segments), pos) for pos, t in enumerate(turns) if t.segments)

    def find(self, segment: int) -> tuple[int | None, bool]:
        """(turn position, inside): the turn holding the segment (inside), else the first turn after it (a segment
        taken out whole, or a section heading), else (None, False): after the last turn."""
        if segment in self._owner:
            return self._owner[segment], True
        i = bisect.bisect_right(self._firsts, (segment, len(self._owner) + len(self._firsts)))
        return (self._firsts[i][1], False) if i < len(self._firsts) else (None, False)


def _removal_places(turns: list[Turn], removals: list[Removal]) -> tuple[dict[int, list], dict[int, list], list]:
    """Where each removal was: inside the turn that still holds its segment (part of a segment taken out), else
    before the first turn whose segments come after it (whole segments taken out), else after the last turn.
    Returns (inside: turn position -> removals, before: turn position -> removals, after the last turn)."""
    places = SegmentPlaces(turns)
    inside: dict[int, list] = {}
    before: dict[int, list] = {}
    tail = []
    for r in removals:
        pos, within = places.find(r.segment)
        if pos is None:
            tail.append(r)
        else:
            (inside if within else before).setdefault(pos, []).append(r)
    return inside, before, tail


def _removal(r: Removal, episode_id: str, locate: Locate) -> str:
    preview = r.text if len(r.text) <= PREVIEW_CHARS else r.text[:PREVIEW_CHARS] + "…"
    dup = ""
    if r.dup_of:
        href = locate(r.dup_of.episode_id, r.dup_of.segment)
        where = "earlier text" if r.dup_of.episode_id == episode_id else f"episode {r.dup_of.episode_id}"
        target = f"<a href=\"{esc(href)}\">{esc(where)}</a>" if href else esc(where)
        similarity = f", similarity {r.similarity:.2f}" if r.similarity is not None else ""
        dup = f" <span class=\"note\">duplicates {target} (segment {r.dup_of.segment}{similarity})</span>"
    time = f" · {clock(r.time[0])}–{clock(r.time[1])}" if r.time and len(r.time) == 2 else ""
    return (
        f"<details class=\"removal k-{esc(r.kind)}\"><summary><span class=\"rk\">removed: {esc(r.kind)}</span>"
        f"<del>{esc(preview)}</del>{dup}</summary><div class=\"rbody\"><del>{esc(r.text)}</del></div>"
        f"<div class=\"note\">{esc(r.reason)} · segment {r.segment}{time}</div></details>"
    )


def _lanes(episode: Episode) -> list[str]:
    """Speaker ids in lane order: the record's speakers, then any turn speaker it does not list."""
    ids = [s.id for s in episode.speakers]
    for t in episode.turns:
        if t.speaker not in ids:
            ids.append(t.speaker)
    return ids


def _positions(episode: Episode) -> tuple[list[tuple[float, float]], float, bool]:
    """Each turn's (left, width) on the timeline and the axis length, in seconds when every turn is timed,
    else by turn order with widths in characters (text transcripts). The bool says which."""
    turns = episode.turns
    if turns and all(t.start is not None and t.end is not None for t in turns):
        total = max(episode.duration or 0.0, max(t.end for t in turns))
        if total > 0:
            return [(t.start, max(t.end - t.start, 0.0)) for t in turns], total, True
    spans, at = [], 0.0
    for t in turns:
        width = float(max(len(t.text), 1))
        spans.append((at, width))
        at += width
    return spans, at, False


def _ticks(total: float) -> str:
    step = next((s for s in TICK_STEPS if total / s <= MAX_TICKS), TICK_STEPS[-1])
    return "".join(f"<span class=\"tick\" style=\"left:{100 * t / total:.4f}%\">{clock(t)}</span>"
                   for t in range(0, int(total) + 1, step))  # fmt: skip


def timeline(episode: Episode, names: dict[str, str]) -> str:
    lanes = _lanes(episode)
    spans, total, timed = _positions(episode)
    if not episode.turns or total <= 0:
        return "<p class=\"note\">No turns.</p>"
    blocks: dict[str, list[str]] = {s: [] for s in lanes}
    for t, (left, width) in zip(episode.turns, spans):
        start = f" data-start=\"{t.start:.3f}\"" if t.start is not None else ""
        when = clock(t.start) if t.start is not None else f"turn {t.id}"
        blocks[t.speaker].append(
            f"<a class=\"blk\" href=\"#t{t.id}\"{start} style=\"left:{100 * left / total:.4f}%;"
            f"width:{100 * width / total:.4f}%\" title=\"{esc(names.get(t.speaker, t.speaker))} {when}\"></a>"
        )
    rows = [
        f"<div class=\"lane c{i % COLOURS}\"><div class=\"lane-name\" title=\"{esc(s)}\">{esc(names.get(s, s))}</div>"
        f"<div class=\"track\">{''.join(blocks[s])}</div></div>"
        for i, s in enumerate(lanes)
    ]
    axis = (f"<div class=\"axis-row\"><div class=\"axis\">{_ticks(total)}</div></div>" if timed else
            "<p class=\"note\">No times in this transcript: turns in order, widths by characters.</p>")  # fmt: skip
    return f"<div class=\"timeline\">{''.join(rows)}{axis}</div>"


def transcript(episode: Episode, names: dict[str, str], locate: Locate) -> str:
    lanes = {s: i % COLOURS for i, s in enumerate(_lanes(episode))}
    marks = _marks(episode)
    removals = episode.dedup.removals if episode.dedup else []
    inside, before, tail = _removal_places(episode.turns, removals)
    out, section = [], None
    for pos, t in enumerate(episode.turns):
        out += [_removal(r, episode.episode_id, locate) for r in before.get(pos, [])]
        if t.section and t.section != section:
            out.append(f"<h3 class=\"section\">{esc(t.section)}</h3>")
        section = t.section
        start = f" data-start=\"{t.start:.3f}\"" if t.start is not None else ""
        when = clock(t.start) if t.start is not None else f"turn {t.id}"
        label = names.get(t.speaker, t.speaker)
        out.append(
            f"<div class=\"turn c{lanes[t.speaker]}\" id=\"t{t.id}\"{start}><div class=\"who\">"
            f"<span class=\"spk\">{esc(label)}</span><a class=\"time\" href=\"#t{t.id}\"{start}>{when}</a></div>"
            f"<p class=\"text\">{highlight(t.text, marks.get(t.id, []))}</p>"
            f"{''.join(_removal(r, episode.episode_id, locate) for r in inside.get(pos, []))}</div>"
        )
    out += [_removal(r, episode.episode_id, locate) for r in tail]
    return "\n".join(out)


def _cite(sentence: SummarySentence, names: dict[str, str]) -> str:
    when = f" {clock(sentence.start)}" if sentence.start is not None else ""
    who = names.get(sentence.speaker, sentence.speaker)
    return (f"<a href=\"#t{sentence.turn}\">{esc(sentence.text)}</a> "
            f"<span class=\"note\">— {esc(who)}, turn {sentence.turn}{when}</span>")  # fmt: skip


def summary(episode: Episode, names: dict[str, str]) -> str:
    s = episode.summary
    if s is None:
        return "<p class=\"note\">No summary.</p>"
    parts = [f"<blockquote>{_cite(s.headline, names)}</blockquote>" if s.headline else ""]
    if s.key_sentences:
        parts.append(f"<ol>{''.join(f'<li>{_cite(k, names)}</li>' for k in s.key_sentences)}</ol>")
    if s.keywords:
        parts.append(f"<p>{chips([k.text for k in s.keywords])}</p>")
    return "".join(parts)


def speakers_table(episode: Episode) -> str:
    rows = "".join(
        f"<tr><td>{esc(s.id)}</td><td>{esc(s.name or '')}</td><td>{esc(s.role or '')}</td><td>{esc(s.named_by or '')}"
        f"</td><td class=\"num\">{clock(s.talk_time) if s.talk_time is not None else ''}</td>"
        f"<td class=\"num\">{s.turn_count}</td><td class=\"num\">{s.chars:,}</td></tr>"
        for s in episode.speakers
    )
    return ("<table><thead><tr><th>id</th><th>name</th><th>role</th><th>named by</th><th>talk time</th><th>turns</th>"
            f"<th>chars</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip


def entities_table(episode: Episode, mention_links: int) -> str:
    if not episode.entities:
        return "<p class=\"note\">No entities.</p>"
    rows = []
    for e in episode.entities:
        links = " ".join(f"<a href=\"#t{m.turn}\">t{m.turn}</a>" for m in e.mentions[:mention_links])
        left = len(e.mentions) - mention_links
        more = f" <span class=\"note\">+{left} more</span>" if left > 0 else ""
        aliases = f"<div class=\"note\">{esc(', '.join(e.aliases))}</div>" if e.aliases else ""
        rows.append(f"<tr><td><mark class=\"ent\">{esc(e.name)}</mark>{aliases}</td><td>{esc(e.type)}</td>"
                    f"<td>{esc(e.label)}</td><td class=\"num\">{len(e.mentions)}</td><td>{links}{more}</td></tr>")  # fmt: skip
    return ("<table><thead><tr><th>entity</th><th>type</th><th>label</th><th>mentions</th><th>turns</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


def figures_table(episode: Episode, names: dict[str, str]) -> str:
    if not episode.figures:
        return "<p class=\"note\">No figures.</p>"
    rows = []
    for f in episode.figures:
        g = f.figure
        value = number(g.value) + (f"–{number(g.value_max)}" if g.value_max is not None else "")
        rows.append(
            f"<tr><td><mark class=\"fig\">{esc(g.text)}</mark></td><td>{esc(g.kind)}</td><td class=\"num\">{value}</td>"
            f"<td>{esc(g.unit or '')}</td><td>{esc(g.qualifier or '')}</td><td>{esc(g.iso or '')}</td>"
            f"<td>{esc(g.counted or '')}</td><td>{esc(names.get(f.speaker, f.speaker))}</td>"
            f"<td><a href=\"#t{f.turn}\">t{f.turn}</a></td></tr>"
        )
    return ("<table><thead><tr><th>figure</th><th>kind</th><th>value</th><th>unit</th><th>qualifier</th><th>ISO</th>"
            f"<th>counts</th><th>speaker</th><th>turn</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


def _header(e: Episode) -> str:
    facts = [e.show.station, e.show.air_date, clock(e.duration) if e.duration is not None else None,
             f"{e.source.kind} ({e.source.format})", f"status {e.status}"]  # fmt: skip
    error = f"<p class=\"bad\">{esc(_error(e))}</p>" if e.error else ""
    notes = "".join(f"<p class=\"note\">{esc(n)}</p>" for n in e.notes)
    dedup = ""
    if e.dedup and e.dedup.removals:
        dedup = (f"<p class=\"meta\">dedup removed {e.dedup.removed_share:.0%} of the text "
                 f"({len(e.dedup.removals)} passages, shown folded where they were)</p>")  # fmt: skip
    return (f"<header><p><a href=\"index.html\">← batch</a></p><h1>{esc(e.show.name or e.episode_id)}</h1>"
            f"<p class=\"meta\">{esc(e.episode_id)} · {esc(' · '.join(x for x in facts if x))}</p>"
            f"{error}{notes}{dedup}</header>")  # fmt: skip


def _player(audio: Audio) -> str:
    if audio.url is None:
        return f"<section id=\"player-box\"><p class=\"noaudio\">No audio player: {esc(audio.note)}</p></section>"
    return (f"<section id=\"player-box\" class=\"sticky\"><audio id=\"player\" controls preload=\"metadata\" "
            f"src=\"{esc(audio.url)}\"></audio><p class=\"note\">{esc(audio.note)}</p></section>")  # fmt: skip


def episode_page(episode: Episode, audio: Audio, locate: Locate, options: ReportOptions,
                 clips: dict[str, str] | None = None) -> str:
    names = speaker_names(episode)
    clips = clips or {}
    body = (
        f"{_header(episode)}\n<main>{_player(audio)}\n"
        f"<section id=\"timeline\"><h2>Speaker timeline</h2>{timeline(episode, names)}</section>\n"
        f"<section id=\"summary\"><h2>Summary</h2>{summary(episode, names)}</section>\n"
        f"<section id=\"alerts\"><h2>Alerts</h2>{alerts_table([episode], None, clips)}</section>\n"
        f"<section id=\"transcript\"><h2>Transcript</h2>\n{transcript(episode, names, locate)}\n</section>\n"
        f"<section id=\"speakers\"><h2>Speakers</h2>{speakers_table(episode)}</section>\n"
        f"<section id=\"entities\"><h2>Entities</h2>{entities_table(episode, options.mention_links)}</section>\n"
        f"<section id=\"figures\"><h2>Figures</h2>{figures_table(episode, names)}</section></main>"
    )
    return page(f"{episode.show.name or ''} {episode.episode_id}".strip(), body, script=True)
