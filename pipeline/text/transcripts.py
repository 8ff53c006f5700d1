"""Read text transcripts (.txt with `名前:` prefixes, .srt, .vtt) into segments, without ASR.

Pure functions over strings, so they are tested with plain data.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import InputFileError
from pipeline.records import Segment

# Keys of programme credits and page furniture that look like `名前:` but are not speakers.
NOT_SPEAKERS = frozenset(
    {"番組名", "放送日時", "放送日", "パーソナリティ", "番組Webサイト", "番組サイト", "出演", "ゲスト",
     "聴取期限", "写真", "提供", "http", "https", "URL", "Twitter", "X", "Instagram"}
)  # fmt: skip

# A speaker prefix: a short name without spaces, digits (so `6:00` stays text) or sentence punctuation,
# then an ASCII or full-width colon.
_PREFIX = re.compile(r"^(?P<name>[^\s:：\d０-９、。「」『』()（）]{1,16})[:：](?P<text>.*)$")


def split_speaker(line: str) -> tuple[str | None, str]:
    """'吉田:本文' -> ('吉田', '本文'); lines without a speaker prefix come back unchanged."""
    m = _PREFIX.match(line)
    if not m or m.group("name") in NOT_SPEAKERS or not m.group("text").strip():
        return None, line
    if m.group("text").startswith("//"):  # a URL such as https://...
        return None, line
    return m.group("name"), m.group("text").strip()


def read_text_file(path: Path) -> str:
    data = path.read_bytes()
    if not data:
        raise InputFileError("empty file (0 bytes)")
    for encoding in ("utf-8-sig", "cp932"):  # Japanese sites and subtitle tools still emit Shift_JIS
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputFileError("text file is neither UTF-8 nor Shift_JIS")


def parse_plain(text: str) -> list[Segment]:
    segments: list[Segment] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        speaker, body = split_speaker(line)
        segments.append(
            Segment(id=len(segments), start=None, end=None, text=body, speaker=speaker, line=number, words=[])
        )
    return segments


_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})")
_CUE_TIMES = re.compile(rf"^\s*({_TIME.pattern})\s*-->\s*({_TIME.pattern})(?:\s|$)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")
# WebVTT blocks that are not cues: the file header, comments, styles and regions.
_VTT_METADATA = re.compile(r"^(WEBVTT|NOTE|STYLE|REGION)(\s|$)")


def parse_timestamp(text: str) -> float:
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text.strip()!r}")
    hours, minutes, seconds, frac = m.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        raise ValueError(f"not a time: {text.strip()!r} (minutes and seconds run to 59)")
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(frac.ljust(3, "0")) / 1000


def cue_times(line: str) -> tuple[float, float]:
    """(start, end) seconds of a `start --> end [settings]` line; ValueError saying why if it is not a cue's."""
    m = _CUE_TIMES.match(line)
    if not m:
        raise ValueError(f"unreadable timing {line.strip()[:80]!r}")
    start, end = parse_timestamp(m.group(1)), parse_timestamp(m.group(6))
    if end < start:
        raise ValueError(f"it ends ({m.group(6)}) before it starts ({m.group(1)})")
    return start, end


def _is_timing(line: str) -> bool:
    return "-->" in line


def read_cues(text: str) -> tuple[list[Segment], list[str]]:
    """SRT and WebVTT cues (optional id line, `start --> end [settings]`, text lines) and a note for each cue
    dropped: one whose timing cannot be read or is impossible (minutes or seconds past 59, an end before its
    start), one without text, and text outside any cue (a cue whose timing line is missing or mangled)."""
    segments: list[Segment] = []
    notes: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        first = i  # a block of lines up to a blank line or a cue timing
        while i < len(lines) and lines[i].strip() and not _is_timing(lines[i]):
            i += 1
        before_timing = i < len(lines) and _is_timing(lines[i])
        loose = lines[first : i - 1] if before_timing else lines[first:i]  # the line before a timing is its id
        if loose and not _VTT_METADATA.match(loose[0]):
            shown = " ".join(line.strip() for line in loose)
            where = f"line {first + 1}" if len(loose) == 1 else f"lines {first + 1}-{first + len(loose)}"
            notes.append(f"subtitle text at {where} dropped: it belongs to no cue timing ({shown[:80]!r})")
        if not before_timing:
            continue
        timing, timing_line = lines[i], i + 1
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() and not _is_timing(lines[i]):
            body.append(lines[i].strip())
            i += 1
        if i < len(lines) and _is_timing(lines[i]) and body and body[-1].isdigit():
            body.pop()  # the next cue's SRT number, with no blank line before it
        try:
            start, end = cue_times(timing)
        except ValueError as e:
            notes.append(f"subtitle cue at line {timing_line} dropped: {e}")
            continue
        raw = " ".join(body)
        voice = _VOICE.search(raw)
        cleaned = _TAG.sub("", raw).strip()
        speaker, cleaned = (voice.group(1).strip(), cleaned) if voice else split_speaker(cleaned)
        if not cleaned:
            notes.append(f"subtitle cue at line {timing_line} dropped: it has no text")
            continue
        segments.append(
            Segment(id=len(segments), start=start, end=end, text=cleaned, speaker=speaker, line=timing_line + 1,
                    words=[])
        )  # fmt: skip
    return segments, notes


def parse_cues(text: str) -> list[Segment]:
    """The cues of an SRT or WebVTT text (`read_cues` without the notes)."""
    return read_cues(text)[0]


def read_transcript(path: Path) -> tuple[str, list[Segment], list[str]]:
    """(format, segments, notes on what was dropped) for a transcript file; raises InputFileError when nothing
    usable is inside."""
    text = read_text_file(path)
    suffix = path.suffix.lower()
    if suffix in (".srt", ".vtt"):
        segments, notes = read_cues(text)
        if not segments:
            dropped = f" ({len(notes)} dropped, the first: {notes[0]})" if notes else ""
            raise InputFileError(f"no subtitle cues found in this {suffix} file{dropped}")
        return suffix[1:], segments, notes
    segments = parse_plain(text)
    if not segments:
        raise InputFileError("the text file holds no text")
    return "txt", segments, []
