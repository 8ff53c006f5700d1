"""Per-episode files other tools load, as WhisperX and pyannote write them: txt, srt, vtt, tsv and rttm.

Pure functions from an Episode in memory (its words kept, whatever output.include_words drops from the JSON) to
the text of each file; pipeline/engine/output.py writes them.

- txt: one paragraph per turn, headed by its times and the speaker's name (or id).
- srt, vtt: subtitle cues of at most `max_cue_s` seconds and `max_lines` lines of `max_line_chars` characters,
  each naming its speaker: in SRT as a prefix in the Japanese transcript style, `山田太郎：…` (the form this
  pipeline reads back as the speaker of a cue, pipeline/text/transcripts.py; an id such as SPEAKER_00 stays text
  there), in WebVTT as a voice tag,
  `<v 山田太郎>…`. Audio turns are cut between words, at their times. A turn without words (a subtitle file's,
  or one whose words do not spell its text) is cut segment by segment, so a subtitle file's cues that fit the
  limits keep their times, and a longer one between characters (never inside a Latin word or a number), its
  time shared out by characters. A turn's cues are cut where the cuts are best over the whole turn: at sentence
  ends, else commas and pauses, else spaces, inside a run of text only where nothing else fits (_GAP_COST); a
  line at the best gap in its second half. Cues are in time order and do not overlap.
- tsv: start, end, speaker, name, text; a row per turn under a header.
- rttm: the diarization's speaker spans, `SPEAKER <file-id> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>`.

An episode without times (a plain text transcript) gets no srt or vtt, one without diarization no rttm: `render`
says why in `skipped`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import get_args

from pipeline.config.options import FormatName, SubtitleOptions
from pipeline.records import Episode, Segment, Turn

FORMATS: tuple[str, ...] = get_args(FormatName)

SRT_NAME_MARK = "："  # 山田太郎：… (full-width colon: the Japanese transcript style, read back by our ingest)

# Control characters (some end a line for a reader, some act on a terminal) and runs of spaces, line breaks
# included (\s: also U+2028, U+2029 and NEL, where str.splitlines and WebVTT readers split): each run becomes one
# space in cue, row and RTTM text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
# A piece of untimed text: a run of non-CJK letters (a word, a number) or one CJK character, with the spaces
# before it. Cutting between pieces never splits a Latin word or a number.
_PIECE = re.compile(r"\s*(?:[^\s\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+|\S)")
_SENTENCE_END = frozenset("。．！？!?…‥.")
_CLAUSE_END = frozenset("、，,；;：:」』）)】〕")
# Closing punctuation never starts a line or a cue: it stays with the word before it.
_CLOSING = _SENTENCE_END | _CLAUSE_END | frozenset("ー〜～")
_HIRAGANA = re.compile("[\u3041-\u309f]")
_PAUSE_MS = 500  # a pause this long between words is as good a place to cut as a comma
# What a turn's cues cost, least wins: each cue 1 (fewer, fuller cues), and its end by the gap it is cut at
# (_strength): nothing at a sentence end, 1 at a comma or pause, 2 at a space (Whisper's spaces in Japanese mark
# pauses), 4 after hiragana before another script (a particle or ending, then the next word: では|利用者), 6 inside
# a run of text. Cutting each cue as late as it fits left 「大事な足なん」 / 「ですね」 on the bundled sample, and
# 「ありましたの」 / 「で、」 on a subtitle file's cue.
_CUE_COST = 1
_GAP_COST = {4: 0, 3: 1, 2: 2, 1: 4, 0: 6}
_LINE_FILL = 1 / 2  # a line ends at a better gap only if it keeps half its room: the lines of a cue stay even


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: milliseconds, the speaker's name (or id), its lines of text (unescaped)."""

    start: int
    end: int
    speaker: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    files: dict[str, str]  # format -> the file's text
    skipped: dict[str, str]  # format -> why it is not written


@dataclass(frozen=True)
class _Token:
    text: str  # no spaces around it, never empty
    space: bool  # a space before it (dropped at the start of a line)
    start: int  # milliseconds
    end: int


def render(episode: Episode, formats: list[str], options: SubtitleOptions) -> Rendered:
    """The text of each format in `formats` (in FORMATS order) that the episode has the data for."""
    files: dict[str, str] = {}
    skipped: dict[str, str] = {}
    untimed = _untimed(episode)
    cues: list[Cue] | None = None
    for fmt in (f for f in FORMATS if f in formats):
        if fmt in ("srt", "vtt") and untimed:
            skipped[fmt] = untimed
        elif fmt == "rttm" and episode.diarization is None:
            skipped[fmt] = "it has no diarization (a text transcript, or diarize.enabled is off)"
        elif fmt in ("srt", "vtt"):
            cues = cues if cues is not None else subtitle_cues(episode, options)
            files[fmt] = to_srt(cues, options) if fmt == "srt" else to_vtt(cues)
        else:
            files[fmt] = {"txt": to_txt, "tsv": to_tsv, "rttm": to_rttm}[fmt](episode)
    return Rendered(files, skipped)


def _untimed(episode: Episode) -> str | None:
    """Why the episode's turns cannot be subtitles, or None when they all have times."""
    if not episode.turns:
        return None if episode.duration is not None else "the transcript has no turns"
    if all(t.start is None or t.end is None for t in episode.turns):
        return "the transcript has no times"
    if any(t.start is None or t.end is None for t in episode.turns):
        return "not every turn has times"
    return None


# ------------------------------------------------------------------------------------------------ shared


def flat(text: str) -> str:
    """One line of text: line breaks, tabs and other control characters as single spaces."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def speaker_names(episode: Episode) -> dict[str, str]:
    """Speaker id -> the name shown for it: the full name when known, else the id."""
    return {s.id: s.name or s.id for s in episode.speakers}


def _clock(ms: int, decimal: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


# ------------------------------------------------------------------------------------------------ txt, tsv


def to_txt(episode: Episode) -> str:
    """A paragraph per turn: `[start - end] name` (no times for a text transcript), then its text, its own line
    breaks kept but no blank line inside."""
    names = speaker_names(episode)
    paragraphs = []
    for turn in episode.turns:
        head = names.get(turn.speaker, turn.speaker)
        if turn.start is not None and turn.end is not None:
            head = f"[{_clock(_ms(turn.start), '.')} - {_clock(_ms(turn.end), '.')}] {head}"
        lines = [flat(line) for line in turn.text.splitlines()]
        paragraphs.append("\n".join([flat(head), *(line for line in lines if line)]))
    return "".join(f"{p}\n\n" for p in paragraphs)


TSV_HEADER = ("start", "end", "speaker", "name", "text")


def to_tsv(episode: Episode) -> str:
    """A row per turn: start and end in seconds (empty without times), speaker id, name (empty when unknown),
    text on one line. Tabs and line breaks in text become spaces, so a row is one line for any reader; a field
    holding a double quote is quoted as CSV readers expect (pandas, R, Python's csv)."""
    names = {s.id: s.name for s in episode.speakers}
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(TSV_HEADER)
    for turn in episode.turns:
        writer.writerow([
            "" if turn.start is None else f"{turn.start:.3f}", "" if turn.end is None else f"{turn.end:.3f}",
            flat(turn.speaker), flat(names.get(turn.speaker) or ""), flat(turn.text),
        ])  # fmt: skip
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ rttm


def rttm_id(text: str) -> str:
    """A name as one RTTM field: no spaces (fields are split at whitespace)."""
    return _SPACES.sub("_", _CONTROL.sub(" ", text).strip()) or "_"


def to_rttm(episode: Episode) -> str:
    """The diarization's speaker spans (anonymous ids, as pyannote writes them), the episode id as file-id."""
    uri = rttm_id(episode.episode_id)
    lines = []
    for span in episode.diarization.spans if episode.diarization else []:
        if span.end > span.start:
            lines.append(f"SPEAKER {uri} 1 {span.start:.3f} {span.end - span.start:.3f} <NA> <NA> "
                         f"{rttm_id(span.speaker)} <NA> <NA>\n")  # fmt: skip
    return "".join(lines)


# ------------------------------------------------------------------------------------------------ srt, vtt


def to_srt(cues: list[Cue], options: SubtitleOptions) -> str:
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the speaker's name before the first line. SRT has
    no escapes: a `-->` in the text (a timing line to readers) is written `→`."""
    blocks = []
    for number, cue in enumerate(cues, 1):
        lines = [f"{srt_label(cue.speaker, options)}{cue.lines[0]}", *cue.lines[1:]]
        text = "\n".join(line.replace("-->", "→") for line in lines)
        blocks.append(f"{number}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{text}\n\n")
    return "".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT: each cue's text in a voice span naming the speaker, `<v 山田太郎>…`; &, < and > escaped (so no
    `-->` is left in the text)."""
    blocks = ["WEBVTT\n\n"]
    for number, cue in enumerate(cues, 1):
        text = "\n".join(_vtt_escape(line) for line in cue.lines)
        blocks.append(f"{number}\n{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n"
                      f"<v {_vtt_escape(cue.speaker)}>{text}\n\n")  # fmt: skip
    return "".join(blocks)


def srt_label(name: str, options: SubtitleOptions) -> str:
    """`山田太郎：`, a longer name cut in the middle (SPE…_02: ids differ at their end) to at most half a line, so
    the text keeps the other half at least."""
    room = options.max_line_chars // 2 - len(SRT_NAME_MARK)
    if len(name) > room:
        head = room // 2
        name = f"{name[:head]}…{name[len(name) - (room - 1 - head):]}"
    return name + SRT_NAME_MARK


def subtitle_cues(episode: Episode, options: SubtitleOptions) -> list[Cue]:
    """The turns as cues within the limits of `options`, in time order and not overlapping (an overlap in the
    input, such as two subtitle cues at once, ends the earlier cue where the later starts)."""
    names = speaker_names(episode)
    segments = {s.id: s for s in episode.segments}
    cues: list[Cue] = []
    for turn in episode.turns:
        name = flat(names.get(turn.speaker, turn.speaker)) or "?"
        first = options.max_line_chars - len(srt_label(name, options))
        for tokens in _timed_runs(turn, segments):
            cues.extend(_cues(_fit(tokens, first), name, first, options))
    cues.sort(key=lambda c: c.start)
    for i, cue in enumerate(cues[:-1]):
        if cue.end > cues[i + 1].start:
            cues[i] = Cue(cue.start, max(cue.start, cues[i + 1].start), cue.speaker, cue.lines)
    return cues


def _squash(text: str) -> str:
    return _SPACES.sub("", _CONTROL.sub("", text))


def _timed_runs(turn: Turn, segments: dict[int, Segment]) -> list[list[_Token]]:
    """Runs of tokens that cues may join: the turn's words with their times; without words that spell its text,
    each of its segments (or the turn itself) apart, so the cues of a subtitle file keep their times where they
    fit the limits, its text cut into pieces timed by their share of the characters."""
    if turn.words and _squash("".join(w.text for w in turn.words)) == _squash(turn.text):
        words, space = [], False
        for w in turn.words:
            if not flat(w.text):  # a word of spaces: the space goes before the next word
                space = space or w.text[:1].isspace()
                continue
            (token,) = _timed_pieces([w.text], _ms(w.start), _ms(w.end))
            words.append(_Token(token.text, token.space or space, token.start, token.end))
            space = False
        return [_closed(words)]
    parts = [segments.get(i) for i in turn.segments]
    if not (parts and all(p and p.start is not None and p.end is not None for p in parts)
            and _squash("".join(p.text for p in parts)) == _squash(turn.text)):  # fmt: skip
        parts = [Segment(id=0, start=turn.start, end=turn.end, text=turn.text, speaker=None, line=None, words=[])]
    runs = [_timed_pieces(_PIECE.findall(_CONTROL.sub(" ", p.text)), _ms(p.start), _ms(p.end)) for p in parts]
    return [_closed(run) for run in runs if run]


def _timed_pieces(pieces: list[str], start: int, end: int) -> list[_Token]:
    """Tokens of `pieces` spread over [start, end] by their characters."""
    end = max(start, end)
    texts = [flat(p) for p in pieces]
    total, done, out = sum(map(len, texts)), 0, []
    for piece, text in zip(pieces, texts):
        if text:
            a, b = start + (end - start) * done // total, start + (end - start) * (done + len(text)) // total
            out.append(_Token(text, piece[:1].isspace(), a, b))
            done += len(text)
    return out


def _closed(tokens: list[_Token]) -> list[_Token]:
    """Closing punctuation (、。」) joined to the token before it, so no line or cue starts with it."""
    out: list[_Token] = []
    for t in tokens:
        if out and not t.space and all(ch in _CLOSING for ch in t.text):
            last = out[-1]
            out[-1] = _Token(last.text + t.text, last.space, last.start, max(last.end, t.end))
        else:
            out.append(t)
    return out


def _fit(tokens: list[_Token], width: int) -> list[_Token]:
    """Tokens longer than `width` characters (a long URL, words joined by a correction) cut to fit a line."""
    out: list[_Token] = []
    for t in tokens:
        if len(t.text) <= width:
            out.append(t)
            continue
        chunks = [t.text[i : i + width] for i in range(0, len(t.text), width)]
        pieces = _timed_pieces(chunks, t.start, t.end)
        out.extend([_Token(pieces[0].text, t.space, pieces[0].start, pieces[0].end), *pieces[1:]])
    return out


def _strength(tokens: list[_Token], i: int) -> int:
    """How good a place to cut the gap before tokens[i] is: 4 a sentence end, 3 a comma or a pause, 2 a space,
    1 hiragana then another script, 0 inside a run of text."""
    before, after = tokens[i - 1], tokens[i]
    if before.text[-1] in _SENTENCE_END:
        return 4
    if before.text[-1] in _CLAUSE_END or after.start - before.end >= _PAUSE_MS:
        return 3
    if after.space:
        return 2
    return 1 if _HIRAGANA.match(before.text[-1]) and not _HIRAGANA.match(after.text[0]) else 0


def _width(tokens: list[_Token]) -> int:
    return sum(len(t.text) + t.space for t in tokens) - tokens[0].space if tokens else 0


def _greedy_lines(tokens: list[_Token], first: int, rest: int) -> int:
    """Lines the tokens take, each line filled before the next starts."""
    lines, width = 0, 0
    for t in tokens:
        if lines and width + t.space + len(t.text) <= (first if lines == 1 else rest):
            width += t.space + len(t.text)
        else:
            lines, width = lines + 1, len(t.text)
    return lines


def _cues(tokens: list[_Token], name: str, first: int, options: SubtitleOptions) -> list[Cue]:
    """One turn's tokens as the cues of least cost (_CUE_COST, _GAP_COST) that fit the limits: cost[j] is the
    least cost of cues for tokens[:j], each cue tokens[i:j] grown from i while its lines (filled in turn) and its
    duration fit. A single token always makes a cue (one word timed longer than a cue may last: its end is cut)."""
    rest, max_ms = options.max_line_chars, round(options.max_cue_s * 1000)
    ends = [_GAP_COST[_strength(tokens, j)] for j in range(1, len(tokens))] + [0]  # a cue ending at each token
    cost, back = [0] + [math.inf] * len(tokens), [0] * (len(tokens) + 1)
    for i in range(len(tokens)):
        lines, width, end = 0, 0, 0
        for j in range(i, len(tokens)):
            t = tokens[j]
            if lines and width + t.space + len(t.text) <= (first if lines == 1 else rest):
                width += t.space + len(t.text)
            else:
                lines, width = lines + 1, len(t.text)
            end = max(end, t.end)
            if j > i and (lines > options.max_lines or end - tokens[i].start > max_ms):
                break
            if cost[i] + _CUE_COST + ends[j] < cost[j + 1]:
                cost[j + 1], back[j + 1] = cost[i] + _CUE_COST + ends[j], i
    bounds, j = [], len(tokens)
    while j:
        bounds.append((back[j], j))
        j = back[j]
    cues = []
    for i, j in reversed(bounds):
        start = tokens[i].start
        end = min(max(t.end for t in tokens[i:j]), start + max_ms)
        cues.append(Cue(start, end, name, _wrap(tokens[i:j], first, rest, options.max_lines)))
    return cues


def _best_cut(tokens: list[_Token], limit: int) -> int:
    """Where to end a line of tokens[:limit] (the first `limit` tokens fit, one more does not): the latest
    strongest gap that keeps half of its characters (_LINE_FILL), else at the limit."""
    whole = _width(tokens[:limit])
    best, best_strength = limit, _strength(tokens, limit)
    for i in range(limit - 1, 0, -1):
        if _width(tokens[:i]) < _LINE_FILL * whole:
            break
        if (strength := _strength(tokens, i)) > best_strength:
            best, best_strength = i, strength
    return best


def _wrap(tokens: list[_Token], first: int, rest: int, max_lines: int) -> tuple[str, ...]:
    """A cue's lines: filled line by line, each line ended at the best gap (_best_cut) if what
    follows still fits in the lines left (else filled to the limit)."""
    lines: list[str] = []
    i = 0
    while i < len(tokens):
        budget = first if not lines else rest
        end = i + 1
        while end < len(tokens) and _width(tokens[i : end + 1]) <= budget:
            end += 1
        if end < len(tokens):
            cut = _best_cut(tokens[i:], end - i) + i
            if _greedy_lines(tokens[cut:], rest, rest) <= max_lines - len(lines) - 1:
                end = cut
        lines.append("".join(f"{' ' if t.space and k else ''}{t.text}" for k, t in enumerate(tokens[i:end])))
        i = end
    return tuple(lines)
