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
_CUE_TIMES = re.compile(rf"^\s*({_TIME.pattern})\s*-->\s*({_TIME.pattern})")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")


def parse_timestamp(text: str) -> float:
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text!r}")
    hours, minutes, seconds, frac = m.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(frac.ljust(3, "0")) / 1000


def parse_cues(text: str) -> list[Segment]:
    """SRT and WebVTT share the cue shape: optional id line, `start --> end [settings]`, text lines."""
    segments: list[Segment] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _CUE_TIMES.match(lines[i])
        if not m:
            i += 1
            continue
        start_text, end_text = lines[i].split("-->")
        start = parse_timestamp(start_text)
        end = parse_timestamp(end_text.split()[0])
        first_line = i + 1
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        raw = " ".join(body)
        voice = _VOICE.search(raw)
        cleaned = _TAG.sub("", raw).strip()
        speaker, cleaned = (voice.group(1).strip(), cleaned) if voice else split_speaker(cleaned)
        if cleaned:
            segments.append(
                Segment(id=len(segments), start=start, end=end, text=cleaned, speaker=speaker,
                        line=first_line + 1, words=[])
            )  # fmt: skip
    return segments


def read_transcript(path: Path) -> tuple[str, list[Segment]]:
    """(format, segments) for a transcript file; raises InputFileError when nothing usable is inside."""
    text = read_text_file(path)
    suffix = path.suffix.lower()
    if suffix in (".srt", ".vtt"):
        segments = parse_cues(text)
        if not segments:
            raise InputFileError(f"no subtitle cues found in this {suffix} file")
        return suffix[1:], segments
    segments = parse_plain(text)
    if not segments:
        raise InputFileError("the text file holds no text")
    return "txt", segments
