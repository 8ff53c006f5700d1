"""Deduplicate repeated text: ASR loops, repeated passages, boilerplate, and repeats across a batch (and, with
the dedup archive, pipeline/lib/dedup_archive.py, across earlier runs).

Nothing is deleted silently. Every removal is a `Removal` with its kind, reason, text, position in the
transcript as it was before dedup (character span; time span for audio) and, for duplicates, `dup_of`: where
the kept copy is. All detection is pure functions over segments; the stage class only wires options in.

Positions: `span` is [start, end) in the episode's pre-dedup `text` (segments joined by newlines). Units are
sentences (split at 。！？!? and, for ASR text without punctuation, at the spaces Whisper puts at pauses).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.config import DedupOptions
from pipeline.lib.dedup_archive import Archive, ArchiveError, Earlier, Fingerprint
from pipeline.records import DedupReport, DupRef, ProgrammeCredits, Removal, Segment, stable_hash
from pipeline.text.normalise import fold, letters_digits, letters_digits_with_origin
from pipeline.text.reader import Reader
from pipeline.text.sentences import SENTENCE

# ---------------------------------------------------------------- units and normalisation


@dataclass
class Unit:
    """A sentence (or ASR phrase) of one segment: `start`/`end` are offsets in the segment's text."""

    index: int
    segment: int  # position in episode.segments (not Segment.id)
    start: int
    end: int
    text: str
    key: str  # normalised text used for comparison


def normalise(text: str, fillers: tuple[str, ...]) -> str:
    """Letters and digits only, folded, fillers removed: a re-typed or re-spoken copy compares equal."""
    text = fold(text)
    for filler in fillers:
        text = text.replace(filler, "")
    return letters_digits(text)


@dataclass
class Document:
    """What dedup reads of an episode: its id, its segments and the day it aired (the earliest airing is kept)."""

    id: str
    segments: list[Segment]
    air_date: str | None
    sha256: str = ""  # the source file's hash, if known: the archive never matches a file against itself
    earlier_run: bool = False  # read from the dedup archive: an episode of an earlier run


def _airing(air_date: str | None, episode_id: str) -> tuple[str, str]:
    """The order of airings: air date, then id; an episode without a date counts as the last."""
    return air_date or "9999", episode_id


def split_units(segments: list[Segment], fillers: tuple[str, ...]) -> list[Unit]:
    units: list[Unit] = []
    for seg_index, segment in enumerate(segments):
        text = segment.text
        pieces = []
        for m in SENTENCE.finditer(text):
            if m.start() == m.end():
                continue
            pieces.extend(_split_at_spaces(text, m.start(), m.end()))
        for start, end in pieces:
            body = text[start:end]
            lead = len(body) - len(body.lstrip())
            trail = len(body) - len(body.rstrip())
            start, end = start + lead, end - trail
            if start >= end:
                continue
            units.append(Unit(len(units), seg_index, start, end, text[start:end], normalise(text[start:end], fillers)))
    return units


def _split_at_spaces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Whisper writes Japanese without 。 but with a space at each pause: treat those spaces as boundaries.

    Spaces between Latin letters (an English phrase, a name like ONE MORNING) are kept inside the unit.
    """
    cuts = [start]
    for i in range(start + 1, end - 1):
        if text[i] == " " and not (text[i - 1].isascii() and text[i + 1].isascii()):
            cuts.append(i + 1)
    cuts.append(end)
    return [(a, b) for a, b in zip(cuts, cuts[1:])]


def segment_offsets(segments: list[Segment]) -> list[int]:
    """Offset of each segment's text in full_text(segments)."""
    offsets, position = [], 0
    for segment in segments:
        offsets.append(position)
        position += len(segment.text) + 1
    return offsets


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of [start, end) spans as sorted, disjoint spans (sorting, not pairwise tests: a pasted page can
    hold thousands of removals in one line)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def covered(spans: list[tuple[int, int]]) -> int:
    """Characters in the union of spans."""
    return sum(end - start for start, end in merge_spans(spans))


def _overlaps(merged: list[tuple[int, int]], ends: list[int], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `merged` (sorted, disjoint; `ends` their ends), by bisection."""
    i = bisect.bisect_right(ends, start)
    return i < len(merged) and merged[i][0] < end


# ---------------------------------------------------------------- the findings, before they become records


@dataclass
class Ref:
    """Where a kept copy lies: from (first_segment, start) to (last_segment, end), segment indexes and offsets."""

    episode_id: str  # "" = the same episode
    first_segment: int
    start: int
    last_segment: int
    end: int

    @classmethod
    def within(cls, segment: int, start: int, end: int) -> Ref:
        return cls("", segment, start, segment, end)


@dataclass
class Finding:
    kind: str
    segment: int
    start: int
    end: int
    reason: str
    dup_of: Ref | None = None
    similarity: float | None = None


def _digits(key: str) -> str:
    return "".join(ch for ch in key if ch.isdigit())


# ---------------------------------------------------------------- 1. repetition loops


def find_loops(units: list[Unit], options: DedupOptions) -> list[Finding]:
    """A unit repeated many times in a row (across segments too), and loops inside one unit's text."""
    findings: list[Finding] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1].key and units[j + 1].key == units[i].key:
            j += 1
        run = j - i + 1
        if run >= options.loop_min_repeats and run * len(units[i].key) >= options.loop_min_chars:
            first = units[i]
            for u in units[i + 1 : j + 1]:
                findings.append(Finding(
                    "loop", u.segment, u.start, u.end, f"sentence repeated {run} times in a row",
                    dup_of=Ref.within(first.segment, first.start, first.end), similarity=1.0,
                ))  # fmt: skip
            i = j + 1
            continue
        findings.extend(_loops_inside(units[i], options))
        i += 1
    return findings


def _loops_inside(unit: Unit, options: DedupOptions) -> list[Finding]:
    pattern = re.compile(
        rf"(\S.{{0,{options.loop_max_unit_chars - 1}}}?)(?:[\s、,。.!！?？]*\1){{{options.loop_min_repeats - 1},}}"
    )
    findings = []
    for m in pattern.finditer(unit.text):
        repeated = m.group(1)
        count = len(re.findall(re.escape(repeated), m.group(0)))
        if len(m.group(0).strip()) < options.loop_min_chars:
            continue
        first_end = unit.start + m.start() + len(repeated)
        findings.append(Finding(
            "loop", unit.segment, first_end, unit.start + m.end(), f"{repeated.strip()!r} repeated {count} times",
            dup_of=Ref.within(unit.segment, unit.start + m.start(), first_end), similarity=1.0,
        ))  # fmt: skip
    return findings


# ---------------------------------------------------------------- 2. boilerplate (page and broadcast furniture)


def find_boilerplate(segments: list[Segment], options: DedupOptions) -> tuple[list[Finding], ProgrammeCredits]:
    """Whole lines that are page or broadcast furniture; credit lines are kept as metadata."""
    patterns = [re.compile(p) for p in options.boilerplate_patterns]
    credits = ProgrammeCredits(show_name=None, air_time=None, personalities=[], website=None,
                               listen_until=None, credits=[])  # fmt: skip
    flagged: dict[int, str] = {}
    for i, segment in enumerate(segments):
        line = _line(segment)
        if len(line) > options.boilerplate_max_chars:
            continue  # text, whatever it mentions (a page saved as one line)
        key = _credit_key(line, options)
        if key:
            flagged[i] = f"programme credit ({key})"
            _record_credit(credits, options.credit_keys[key], line.split(key, 1)[1].lstrip(":： "))
        elif any(p.search(line) for p in patterns):
            flagged[i] = "page or broadcast boilerplate"
    # A bare list of names (吉田明世、塚越健司さん、JOY) next to boilerplate is the page's credits line.
    for i, segment in enumerate(segments):
        if i not in flagged and (i - 1 in flagged or i + 1 in flagged) and _is_name_list(segment.text, options):
            flagged[i] = "credits line"
            credits.credits.extend(n.strip() for n in re.split(r"[、,，]", segment.text) if n.strip())
    findings, seen = [], {}
    for i in sorted(flagged):
        text = segments[i].text
        key = normalise(text, ())
        first = seen.setdefault(key, i)
        dup = Ref.within(first, 0, len(segments[first].text)) if first != i else None
        findings.append(Finding("boilerplate", i, 0, len(text), flagged[i], dup_of=dup,
                                similarity=1.0 if dup else None))  # fmt: skip
    credits.credits = list(dict.fromkeys(credits.credits))
    return findings, credits


def _line(segment: Segment) -> str:
    """A text line as it stood in the file (ingest split `名前:` prefixes off into `speaker`)."""
    return f"{segment.speaker}:{segment.text}" if segment.speaker and segment.line is not None else segment.text


def _credit_key(line: str, options: DedupOptions) -> str | None:
    for key in options.credit_keys:
        if re.match(rf"^{re.escape(key)}\s*[:：]?\s*\S", line):
            return key
    return None


def _record_credit(credits: ProgrammeCredits, field: str, value: str) -> None:
    value = value.strip()
    if field == "personalities":
        credits.personalities.extend(n for n in re.split(r"[、,，]\s*", value) if n and n not in credits.personalities)
    elif getattr(credits, field) is None:
        setattr(credits, field, value)


def _is_name_list(text: str, options: DedupOptions) -> bool:
    items = [t.strip() for t in re.split(r"[、,，]", text)]
    return (
        len(items) >= 2
        and len(text) <= options.credits_line_max_chars
        and all(0 < len(t) <= 12 and not re.search(r"[。！？!?「」]", t) for t in items)
    )


# ---------------------------------------------------------------- 3. repeated passages within one transcript


def _normalised_with_origin(unit: Unit, fillers: tuple[str, ...]) -> tuple[str, list[int]]:
    """`normalise(unit.text)` plus, for each kept character, its offset in the segment text."""
    text, offsets = letters_digits_with_origin(unit.text)
    chars, origin = list(text), [unit.start + o for o in offsets]
    if fillers:
        drop = set()
        for m in re.finditer("|".join(map(re.escape, sorted(fillers, key=len, reverse=True))), text):
            drop.update(range(m.start(), m.end()))
        text = "".join(c for k, c in enumerate(chars) if k not in drop)
        origin = [o for k, o in enumerate(origin) if k not in drop]
    return text, origin


def find_repeats(units: list[Unit], taken: set[int], options: DedupOptions) -> tuple[list[Finding], list[str]]:
    """Sentences that repeat earlier text of the same transcript, found on one normalised character stream.

    - exact: a sentence of at least `repeat_min_chars` whose normalised text occurs earlier in the stream, even
      inside a longer sentence or across a line break (a re-wrapped copy);
    - near: a sentence of at least `near_min_chars` close to an earlier one (rapidfuzz ratio) carrying the same
      digits, so 「4月は20件」 and 「5月は318件」 stay two facts;
    - continuation: a shorter sentence (a heading, 「はい。」) that carries on exactly where the previous
      sentence's earlier copy ended, i.e. it is part of the same repeated passage.

    Near-duplicates are looked for among the last `near_lookback_sentences` sentences kept (comparing every
    pair of a pasted page's 16,000 sentences takes a minute); the notes say when that limit was reached.
    """
    fillers = tuple(options.fillers)
    pieces = [(u, *_normalised_with_origin(u, fillers)) for u in units if u.index not in taken]
    stream = "".join(p[1] for p in pieces)
    where: list[tuple[int, int]] = [(p[0].segment, o) for p in pieces for o in p[2]]
    findings: list[Finding] = []
    earlier = _Kept()
    position = 0
    copy_end: int | None = None  # where the previous sentence's earlier copy ended in the stream
    for unit, key, _ in pieces:
        start, position = position, position + len(key)
        if not key:
            continue
        found = stream.find(key, 0, start) if len(key) >= options.repeat_min_chars else -1
        if found < 0 and copy_end is not None and stream.startswith(key, copy_end) and copy_end + len(key) <= start:
            found, reason = copy_end, "part of a repeated passage"
        else:
            reason = "repeats earlier text"
        if found >= 0:
            (s0, o0), (s1, o1) = where[found], where[found + len(key) - 1]
            findings.append(Finding("repeat", unit.segment, unit.start, unit.end, reason,
                                    dup_of=Ref("", s0, o0, s1, o1 + 1), similarity=1.0))  # fmt: skip
            copy_end = found + len(key)
            continue
        copy_end = None
        near = earlier.closest(key, options) if len(key) >= options.near_min_chars else None
        if near is not None:
            original, score = near
            findings.append(Finding("repeat", unit.segment, unit.start, unit.end, "near-duplicate of an earlier sentence",
                                    dup_of=Ref.within(original.segment, original.start, original.end),
                                    similarity=round(score / 100, 3)))  # fmt: skip
        else:
            earlier.add(unit, key)
    notes = []
    if earlier.count > options.near_lookback_sentences:
        notes.append(f"dedup: near-duplicates were looked for among the {options.near_lookback_sentences} sentences "
                     f"before each, not all {earlier.count} (dedup.near_lookback_sentences)")  # fmt: skip
    return findings, notes


class _Kept:
    """The sentences kept so far, the candidates for near-duplicates: grouped by the digits they carry and their
    length, each group in the order kept, so a sentence is compared only with those that could match it."""

    def __init__(self) -> None:
        self.count = 0
        self.groups: dict[tuple[str, int], tuple[list[int], list[Unit], list[str]]] = {}  # order, unit, key

    def add(self, unit: Unit, key: str) -> None:
        order, units, keys = self.groups.setdefault((_digits(key), len(key)), ([], [], []))
        order.append(self.count)
        units.append(unit)
        keys.append(key)
        self.count += 1

    def closest(self, key: str, options: DedupOptions) -> tuple[Unit, float] | None:
        """The kept sentence most like key (the first of equals) with its digits and about its length, among the
        last near_lookback_sentences kept; rapidfuzz scores the candidates in one call."""
        from rapidfuzz import fuzz, process

        slack = int(len(key) * (1 - options.near_duplicate_ratio / 100) + 1)
        oldest = self.count - options.near_lookback_sentences
        digits = _digits(key)
        order: list[int] = []
        units: list[Unit] = []
        keys: list[str] = []
        for length in range(max(1, len(key) - slack), len(key) + slack + 1):
            group = self.groups.get((digits, length))
            if group is not None:
                first = bisect.bisect_left(group[0], oldest)
                order += group[0][first:]
                units += group[1][first:]
                keys += group[2][first:]
        if not keys:
            return None
        scored = process.extract(key, keys, scorer=fuzz.ratio, score_cutoff=options.near_duplicate_ratio, limit=None)
        if not scored:
            return None
        _, score, i = max(scored, key=lambda s: (s[1], -order[s[2]]))
        return units[i], score


def within_episode(segments: list[Segment], options: DedupOptions) -> tuple[list[Finding], ProgrammeCredits, list[str]]:
    """Loops, boilerplate and repeats of one transcript, each character claimed by at most one finding; and
    notes on limits that applied."""
    units = split_units(segments, tuple(options.fillers))
    boilerplate, credits = find_boilerplate(segments, options)
    boiler_segments = {f.segment for f in boilerplate}
    units = [u for u in units if u.segment not in boiler_segments]
    loops = find_loops(units, options)
    repeats, notes = find_repeats(units, _covered(units, loops), options)
    return boilerplate + loops + repeats, credits, notes


def _covered(units: list[Unit], findings: list[Finding]) -> set[int]:
    """Indexes of the units that lie inside one finding. Per segment, the findings sorted by start with the
    furthest end reached so far: a unit is covered when a finding starting at or before it reaches its end (a
    line looping 50,000 times has as many findings as units, too many to test pairwise)."""
    by_segment: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for f in findings:
        by_segment[f.segment].append((f.start, f.end))
    reach: dict[int, tuple[list[int], list[int]]] = {}
    for segment, spans in by_segment.items():
        spans.sort()
        reach[segment] = ([start for start, _ in spans], list(itertools.accumulate((end for _, end in spans), max)))
    out = set()
    for u in units:
        if u.segment in reach:
            starts, ends = reach[u.segment]
            i = bisect.bisect_right(starts, u.start)
            if i and ends[i - 1] >= u.end:
                out.add(u.index)
    return out


# ---------------------------------------------------------------- 4. repeats across episodes: the batch, the archive


@dataclass
class _Stream:
    """An episode's kept text as one normalised character stream, each character mapped to its origin."""

    episode_id: str
    chars: str
    origin: list[tuple[int, int, int]]  # (segment index, start, end) in the segment text


def _stream(episode: Document, removed: dict[int, list[tuple[int, int]]], reader: Reader | None) -> _Stream:
    chars: list[str] = []
    origin: list[tuple[int, int, int]] = []
    for seg_index, segment in enumerate(episode.segments):
        spans = merge_spans(removed.get(seg_index, []))
        ends = [b for _, b in spans]
        if reader is not None:
            pieces = reader.pieces(segment.text)
        else:
            pieces = [(i, i + 1, normalise(ch, ())) for i, ch in enumerate(segment.text)]
        for start, end, text in pieces:
            if _overlaps(spans, ends, start, end):
                continue
            chars.append(text)
            origin.extend([(seg_index, start, end)] * len(text))
    return _Stream(episode.id, "".join(chars), origin)


def _shingles(text: str, size: int) -> set[bytes]:
    return {text[i : i + size].encode("utf-8") for i in range(max(1, len(text) - size + 1))}


@dataclass
class _Sketch:
    """A stream's windows [start, end) and their MinHash signatures (one row per window)."""

    stream: _Stream
    windows: np.ndarray  # (n, 2)
    signatures: np.ndarray  # (n, num_perm)


# Bump when the streams, the windows or the band keys change for the same options: archived fingerprints of
# another version are not compared.
FINGERPRINT_VERSION = "1"


def fingerprint_kind(options: DedupOptions) -> str:
    """What makes two fingerprints comparable, hashed: the stream (readings or characters), the windows, the hash
    functions (datasketch's seed and scheme) and the LSH bands."""
    from datasketch import MinHash

    probe = MinHash(num_perm=options.cross_num_perm)
    return stable_hash({
        "version": FINGERPRINT_VERSION, "readings": options.cross_use_readings, "window": options.cross_window_chars,
        "stride": options.cross_stride_chars, "shingle": options.cross_shingle_chars,
        "num_perm": options.cross_num_perm, "threshold": options.cross_threshold, "seed": probe.seed,
        "scheme": probe.scheme, "dtype": probe.hashvalues.dtype.str,
    })  # fmt: skip


class PassageIndex:
    """MinHash LSH over overlapping character windows of every episode added so far.

    Each query costs about the same whatever the index holds (band buckets, not a scan), so a batch of N
    episodes costs O(N) window hashes and lookups instead of an all-pairs comparison of full texts. Window
    signatures are kept as one numpy array per episode (no per-window Python objects), and a candidate is
    confirmed by the Jaccard similarity its signature estimates.
    """

    def __init__(self, options: DedupOptions) -> None:
        from datasketch import MinHash, MinHashLSH

        self.options = options
        self.lsh = MinHashLSH(threshold=options.cross_threshold, num_perm=options.cross_num_perm)
        self.streams: list[_Stream] = []
        self.windows: list[np.ndarray] = []  # per stream: (n, 2) window [start, end)
        self.signatures: list[np.ndarray] = []  # per stream: (n, num_perm) MinHash values
        probe = MinHash(num_perm=options.cross_num_perm)  # MinHash.bulk's seed and scheme
        self.seed, self.scheme, self.dtype = probe.seed, probe.scheme, probe.hashvalues.dtype
        self.kind = fingerprint_kind(options)

    def _windows(self, stream: _Stream) -> list[tuple[int, int]]:
        size, stride = self.options.cross_window_chars, self.options.cross_stride_chars
        n = len(stream.chars)
        if n < self.options.cross_min_passage_chars:
            return []
        starts = list(range(0, max(1, n - size + 1), stride))
        if starts[-1] + size < n:
            starts.append(n - size)
        return [(s, min(n, s + size)) for s in starts]

    def sketch(self, stream: _Stream) -> _Sketch:
        """The stream's windows and their MinHash signatures, ready to be matched and added."""
        from datasketch import MinHash

        size, perm = self.options.cross_shingle_chars, self.options.cross_num_perm
        windows = self._windows(stream)
        rows: list[np.ndarray] = []
        for first in range(0, len(windows), _SKETCH_BATCH):  # a 2 MB line's shingle sets at once fill 250 MB
            shingles = [_shingles(stream.chars[a:b], size) for a, b in windows[first : first + _SKETCH_BATCH]]
            rows += [h.hashvalues for h in MinHash.bulk(shingles, num_perm=perm)]
        signatures = np.array(rows, dtype=self.dtype).reshape(len(windows), perm)
        return _Sketch(stream, np.array(windows, dtype=np.int64).reshape(len(windows), 2), signatures)

    def _minhash(self, signature: np.ndarray) -> Any:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme=self.scheme)

    def match(self, sketch: _Sketch) -> list[tuple[int, int, int, int, int, float]]:
        """Windows that repeat an indexed window: (start, end, stream#, its start, its end, jaccard).

        Among equally similar windows the earliest stream (the first airing) and its earliest window win, so
        four copies of a clip all point at the first, not at whichever copy the LSH lists first."""
        matches = []
        for w, (start, end) in enumerate(sketch.windows.tolist()):
            best = None
            for key in self.lsh.query(self._minhash(sketch.signatures[w])):
                other, o_w = divmod(key, _MAX_WINDOWS)
                jaccard = float(np.mean(self.signatures[other][o_w] == sketch.signatures[w]))
                if jaccard >= self.options.cross_threshold and (best is None or (-jaccard, other, o_w) < best[0]):
                    best = ((-jaccard, other, o_w), jaccard)
            if best:
                (_, other, o_w), jaccard = best
                o_start, o_end = self.windows[other][o_w]
                matches.append((start, end, other, int(o_start), int(o_end), jaccard))
        return matches

    def add(self, sketch: _Sketch) -> None:
        number = len(self.streams)
        self.streams.append(sketch.stream)
        self.windows.append(sketch.windows)
        self.signatures.append(sketch.signatures)
        for w, signature in enumerate(sketch.signatures):
            self.lsh.insert(number * _MAX_WINDOWS + w, self._minhash(signature))

    def bands(self, signatures: np.ndarray) -> np.ndarray:
        """(n, b) int64: a key per LSH band of each window. Windows the LSH puts in one bucket (equal values over
        a band) share its key, so looking keys up finds every window a query could return (and, rarely, more)."""
        keys = np.empty((len(signatures), len(self.lsh.hashranges)), dtype=np.uint64)
        with np.errstate(over="ignore"):  # FNV-1a over the band's values: wrapping is the point
            for band, (start, end) in enumerate(self.lsh.hashranges):
                h = np.full(len(signatures), 0xCBF29CE484222325 ^ band, dtype=np.uint64)
                for column in range(start, end):
                    h = (h ^ signatures[:, column].astype(np.uint64)) * np.uint64(0x100000001B3)
                keys[:, band] = h
        return keys.view(np.int64)  # SQLite integers are signed

    def fingerprint(self, sketch: _Sketch) -> Fingerprint:
        """What the archive keeps of a sketched episode."""
        stream = sketch.stream
        return Fingerprint(self.kind, stream.chars, stream.origin, sketch.windows, sketch.signatures,
                           self.bands(sketch.signatures))  # fmt: skip


_MAX_WINDOWS = 10_000_000  # window keys are stream * _MAX_WINDOWS + window (ints: small in the LSH tables)
_SKETCH_BATCH = 2000  # windows hashed at a time


@dataclass
class Cross:
    """What cross-episode matching found: findings by episode id, the episodes that could not be read (with why),
    the archived episodes that hold a kept copy (as documents, by id) and, with an archive, the fingerprints of
    the batch's episodes, for the archive."""

    findings: dict[str, list[Finding]]
    failed: dict[str, Exception]
    earlier: dict[str, Document]
    fingerprints: dict[str, Fingerprint]


def find_cross_episode(
    episodes: list[Document],
    removed: dict[str, dict[int, list[tuple[int, int]]]],
    options: DedupOptions,
    reader: Reader | None,
    archive: Archive | None = None,
    batch: list[Document] | None = None,
) -> Cross:
    """Passages of an episode that repeat one aired earlier in the batch (rerun, jingle, ad read) or, with an
    archive, in an earlier run.

    Episodes are taken in air-date order (then id), whatever order they were processed in, so the earliest
    airing is the one kept and the result does not depend on the order of the batch. An episode that fails
    is not added to the index: the others are matched as if it were not in the batch.

    Archived episodes take their place in that order as if they were in the batch, so an archived airing before
    a batch episode may hold the kept copy of its passage, never the reverse (its run's records are written).
    Of those, only the windows sharing an LSH band with a window of the batch are read: the only ones a query
    could return. So the result is the batch's as if those episodes had been in it. No archived entry of an
    episode or file of `batch` (the whole batch, failed documents too; default: `episodes`) is compared: an
    episode is never an earlier airing of itself.
    """
    index = PassageIndex(options)
    sketches: dict[str, _Sketch] = {}
    failed: dict[str, Exception] = {}
    for episode in episodes:
        try:
            sketches[episode.id] = index.sketch(_stream(episode, removed.get(episode.id, {}), reader))
        except Exception as e:  # this episode fails alone (see deduplicate_each)
            failed[episode.id] = e
    live = [e for e in episodes if e.id in sketches]
    fingerprints = {e.id: index.fingerprint(sketches[e.id]) for e in live} if archive is not None else {}
    earlier: list[Earlier] = []
    if archive is not None and fingerprints:
        bands = np.concatenate([f.bands for f in fingerprints.values()])
        own = batch if batch is not None else episodes
        earlier = archive.candidates(index.kind, bands, {e.id for e in own}, {e.sha256 for e in own if e.sha256})
    order = sorted([(_airing(e.air_date, e.id), e) for e in live] + [(_airing(a.air_date, a.episode_id), a)
                                                                    for a in earlier], key=lambda p: p[0])  # fmt: skip
    last = max((_airing(e.air_date, e.id) for e in live), default=None)
    pending: dict[int, Earlier] = {}  # stream number -> archived episode not read yet
    out: dict[str, list[Finding]] = {}
    documents: dict[str, Document] = {}
    for airing, item in order:
        if isinstance(item, Earlier):
            if last is not None and airing < last:  # an airing after the batch's last holds no kept copy for it
                pending[len(index.streams)] = item
                index.add(_Sketch(_Stream(item.episode_id, "", []), item.windows, item.signatures))
            continue
        sketch = sketches[item.id]
        try:
            matches = index.match(sketch)
            for number in sorted({m[2] for m in matches} & pending.keys()):  # read what matched, once
                assert archive is not None  # pending holds archived episodes only
                kept = pending.pop(number)
                chars, origin, segments = archive.episode(kept)
                index.streams[number] = _Stream(kept.episode_id, chars, origin)
                documents[kept.episode_id] = Document(kept.episode_id, segments, kept.air_date, earlier_run=True)
            out[item.id] = _passages(sketch.stream, matches, index.streams, options)
        except ArchiveError:
            raise  # the archive, not this episode: the batch fails with it
        except Exception as e:
            failed[item.id] = e
            fingerprints.pop(item.id, None)
            continue
        if airing != last:  # the last airing is matched against, never matched: no need to index it
            index.add(sketch)
    return Cross(out, failed, documents, fingerprints)


def _passages(stream: _Stream, matches, streams: list[_Stream], options: DedupOptions) -> list[Finding]:
    """Merge overlapping matched windows into passages, then map them back to segment text spans."""
    findings: list[Finding] = []
    groups: list[list[Any]] = []
    for m in sorted(matches):
        if groups and m[0] <= groups[-1][-1][1] and m[2] == groups[-1][-1][2]:
            groups[-1].append(m)
        else:
            groups.append([m])
    passages = []
    for group in groups:
        aligned = _align(
            stream.chars, group[0][0], max(m[1] for m in group),
            streams[group[0][2]].chars, min(m[3] for m in group), max(m[4] for m in group), options,
        )  # fmt: skip
        passages.append((*aligned, group))
    claimed = 0  # the stream is read once: a passage matching two earlier episodes is removed once
    for start, end, o_start, o_end, group in sorted(passages, key=lambda p: p[:2]):
        if start < claimed:
            o_start, start = min(o_end, o_start + claimed - start), claimed
        if end - start < options.cross_min_passage_chars or o_end <= o_start:
            continue
        claimed = end
        other = streams[group[0][2]]
        similarity = round(sum(m[5] for m in group) / len(group), 3)
        (first_seg, first_off, _), (last_seg, _, last_end) = other.origin[o_start], other.origin[o_end - 1]
        ref = Ref(other.episode_id, first_seg, first_off, last_seg, last_end)
        for seg_index, a, b in _segment_spans(stream.origin[start:end]):
            findings.append(Finding("cross_episode", seg_index, a, b, f"repeats a passage of {other.episode_id}",
                                    dup_of=ref, similarity=similarity))  # fmt: skip
    return findings


# Longest range aligned in one piece. The alignment's table grows with the product of the two lengths, so a
# longer passage (a whole file aired twice) has only its two ends aligned, each over this many characters.
_ALIGN_MAX_CHARS = 4000


def _align(a: str, a0: int, a1: int, b: str, b0: int, b1: int, options: DedupOptions) -> tuple[int, int, int, int]:
    """Trim two matched window ranges to where the texts really agree.

    Windows overlap the passage's edges, so the raw ranges reach up to a window beyond it on either side.
    Align the two ranges (LCS, both widened by a window so a shifted copy still fits) and keep the span from
    the first to the last common run of at least one shingle.
    """
    pad = options.cross_window_chars
    b0, b1 = max(0, b0 - pad), min(len(b), b1 + pad)
    if max(a1 - a0, b1 - b0) <= _ALIGN_MAX_CHARS:
        blocks = _common_runs(a, a0, a1, b, b0, b1, options)
        if not blocks:
            return a0, a0, b0, b0
        return blocks[0][0], blocks[-1][0] + blocks[-1][2], blocks[0][1], blocks[-1][1] + blocks[-1][2]
    # A long passage: its start from the head of both ranges, its end from their tails.
    half = _ALIGN_MAX_CHARS // 2
    head = _common_runs(a, a0, min(a1, a0 + half), b, b0, min(b1, b0 + half + 2 * pad), options)
    tail = _common_runs(a, max(a0, a1 - half), a1, b, max(b0, b1 - half - 2 * pad), b1, options)
    if not head or not tail:
        return a0, a0, b0, b0
    return head[0][0], tail[-1][0] + tail[-1][2], head[0][1], tail[-1][1] + tail[-1][2]


def _common_runs(
    a: str, a0: int, a1: int, b: str, b0: int, b1: int, options: DedupOptions
) -> list[tuple[int, int, int]]:
    """(start in a, start in b, length) of the LCS alignment's common runs of at least one shingle, in order."""
    from rapidfuzz.distance import LCSseq

    blocks = LCSseq.opcodes(a[a0:a1], b[b0:b1]).as_matching_blocks()
    return [(a0 + blk.a, b0 + blk.b, blk.size) for blk in blocks if blk.size >= options.cross_shingle_chars]


def _segment_spans(origin: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    spans: dict[int, list[int]] = defaultdict(list)
    for seg_index, start, end in origin:
        spans[seg_index].extend((start, end))
    return [(s, min(o), max(o)) for s, o in sorted(spans.items())]


# ---------------------------------------------------------------- applying findings


def _word_bounds(segment: Segment) -> list[tuple[int, int]]:
    """Character range of each word in segment.text (Whisper's words concatenate to the text)."""
    joined = "".join(w.text for w in segment.words)
    lead = len(joined) - len(joined.lstrip())
    bounds, position = [], -lead
    for word in segment.words:
        bounds.append((max(0, position), max(0, position + len(word.text))))
        position += len(word.text)
    return bounds


def snap_to_words(segment: Segment, start: int, end: int) -> tuple[int, int]:
    """Widen a span to whole words: a word goes with the removal when most of it is inside."""
    if not segment.words:
        return start, end
    inside = [(a, b) for a, b in _word_bounds(segment) if min(b, end) - max(a, start) > (b - a) / 2]
    if not inside:
        return start, start
    return min(start, inside[0][0]), max(end, inside[-1][1])


def _time_span(segment: Segment, start: int, end: int) -> list[float] | None:
    if segment.start is None:
        return None
    if not segment.words:
        return [segment.start, segment.end]
    words = [w for w, (a, b) in zip(segment.words, _word_bounds(segment)) if a < end and b > start]
    return [words[0].start, words[-1].end] if words else None


def to_removals(episode: Document, findings: list[Finding], others: dict[str, Document]) -> list[Removal]:
    """Findings as records with episode-level character spans, time spans and dup_of references."""
    offsets = segment_offsets(episode.segments)
    target_offsets = {"": offsets}  # each document's once, not per removal (a long transcript has thousands)
    removals = []
    for f in sorted(findings, key=lambda f: (f.segment, f.start)):
        segment = episode.segments[f.segment]
        start, end = snap_to_words(segment, f.start, f.end)
        if start >= end:
            continue
        dup = None
        if f.dup_of is not None:
            target = others[f.dup_of.episode_id] if f.dup_of.episode_id else episode
            if f.dup_of.episode_id not in target_offsets:
                target_offsets[f.dup_of.episode_id] = segment_offsets(target.segments)
            dup = _dup_ref(target, target_offsets[f.dup_of.episode_id], f.dup_of)
        removals.append(Removal(
            kind=f.kind, reason=f.reason, text=segment.text[start:end], segment=segment.id,
            span=[offsets[f.segment] + start, offsets[f.segment] + end], time=_time_span(segment, start, end),
            dup_of=dup, similarity=f.similarity,
        ))  # fmt: skip
    return removals


def _dup_ref(target: Document, offsets: list[int], ref: Ref) -> DupRef:
    """A Ref in `target` (its segment offsets given) as a record: episode-level span of its pre-dedup text, first
    segment id, time span."""
    first, last = target.segments[ref.first_segment], target.segments[ref.last_segment]
    t0, t1 = _time_span(first, ref.start, ref.start + 1), _time_span(last, ref.end - 1, ref.end)
    return DupRef(
        episode_id=target.id, segment=first.id,
        span=[offsets[ref.first_segment] + ref.start, offsets[ref.last_segment] + ref.end],
        time=[t0[0], t1[1]] if t0 and t1 else None, air_date=target.air_date, earlier_run=target.earlier_run,
    )  # fmt: skip


def apply(episode: Document, removals: list[Removal]) -> list[Segment]:
    """The kept segments: removed spans cut out (whole words for audio), emptied segments dropped."""
    offsets = dict(zip((s.id for s in episode.segments), segment_offsets(episode.segments)))
    by_segment: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for r in removals:
        base = offsets[r.segment]
        by_segment[r.segment].append((r.span[0] - base, r.span[1] - base))
    kept: list[Segment] = []
    for segment in episode.segments:
        spans = by_segment.get(segment.id)
        if not spans:
            kept.append(segment)
            continue
        if segment.words:
            bounds = _word_bounds(segment)
            words = [w for w, (a, b) in zip(segment.words, bounds) if not any(a >= s and b <= e for s, e in spans)]
            text = "".join(w.text for w in words).strip()
            start, end = (words[0].start, words[-1].end) if words else (None, None)
        else:
            words = []
            kept_from, parts = 0, []
            for s, e in merge_spans(spans):
                parts.append(segment.text[kept_from:s])
                kept_from = max(kept_from, e)
            parts.append(segment.text[kept_from:])
            text = "".join(parts).strip()
            start, end = segment.start, segment.end
        if normalise(text, ()):
            kept.append(Segment(id=segment.id, start=start, end=end, text=text, speaker=segment.speaker,
                                line=segment.line, words=words))  # fmt: skip
    return kept


# Where removals overlap (a passage repeated in two earlier episodes, a cross-episode passage spanning text a
# repeat already took), a character counts once, for the first kind in this order.
_KIND_ORDER = ("boilerplate", "loop", "repeat", "cross_episode")


def report(episode: Document, removals: list[Removal], credits: ProgrammeCredits, kept: list[Segment]) -> DedupReport:
    original = sum(len(s.text) for s in episode.segments)
    present = {r.kind for r in removals}
    kinds = [k for k in _KIND_ORDER if k in present] + sorted(present - set(_KIND_ORDER))
    removed: dict[str, int] = {}
    so_far: list[tuple[int, int]] = []
    for kind in kinds:
        before = covered(so_far)
        so_far += [(r.span[0], r.span[1]) for r in removals if r.kind == kind]
        removed[kind] = covered(so_far) - before
    duplicate = covered([(r.span[0], r.span[1]) for r in removals if r.dup_of is not None])
    return DedupReport(
        original_chars=original,
        kept_chars=sum(len(s.text) for s in kept),
        removed_chars=dict(sorted(removed.items())),
        removed_share=round(covered(so_far) / original, 4) if original else 0.0,
        duplicate_share=round(duplicate / original, 4) if original else 0.0,
        removals=removals,
        credits=credits,
    )


@dataclass
class Deduplicated:
    """One document's result: its kept segments, the report, notes on limits that applied, and (with an archive)
    its fingerprint, for the archive."""

    kept: list[Segment]
    report: DedupReport
    notes: list[str]
    fingerprint: Fingerprint | None


def deduplicate_batch(
    documents: list[Document], options: DedupOptions, reader: Reader | None = None
) -> dict[str, tuple[list[Segment], DedupReport]]:
    """Dedup every document of a batch: within each, then across them. Returns kept segments and the report by
    document id; raises the first document's error if any fails (`deduplicate_each` fails documents alone).
    `reader` gives readings for cross-episode matching (cross_use_readings; one is made if none is given)."""
    out, failed = deduplicate_each(documents, options, reader)
    for error in failed.values():
        raise error
    return {i: (result.kept, result.report) for i, result in out.items()}


def deduplicate_each(
    documents: list[Document], options: DedupOptions, reader: Reader | None = None, archive: Archive | None = None
) -> tuple[dict[str, Deduplicated], dict[str, Exception]]:
    """`deduplicate_batch`, where a document that fails fails alone: returns the results of the others, found as
    if the failed ones were not in the batch, and the failed documents' errors by id. With an archive, passages
    are also looked for in the episodes of earlier runs it holds (find_cross_episode); writing the batch into it
    is the caller's, once the results are taken."""
    failed: dict[str, Exception] = {}
    within: dict[str, tuple[list[Finding], ProgrammeCredits, list[str]]] = {}
    removed: dict[str, dict[int, list[tuple[int, int]]]] = {}
    for d in documents:
        try:
            findings, credits, notes = within_episode(d.segments, options)
            spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for f in findings:
                spans[f.segment].append(snap_to_words(d.segments[f.segment], f.start, f.end))
        except Exception as e:
            failed[d.id] = e
            continue
        within[d.id], removed[d.id] = (findings, credits, notes), spans
    if options.cross_use_readings and reader is None:
        reader = Reader()
    # A document that fails after cross-episode matching may hold the kept copy of another's passage: match
    # again without it, so no removal points at an episode missing from the output.
    while True:
        live = [d for d in documents if d.id not in failed]
        cross = Cross({}, {}, {}, {})
        if options.cross_episode and (len(live) > 1 or archive is not None):
            cross = find_cross_episode(live, removed, options, reader if options.cross_use_readings else None, archive,
                                       documents)  # fmt: skip
            failed.update(cross.failed)
        by_id = {d.id: d for d in live if d.id not in failed}
        out, late = {}, {}
        for d in by_id.values():
            try:
                findings, credits, notes = within[d.id]
                removals = to_removals(d, findings + cross.findings.get(d.id, []), by_id | cross.earlier)
                kept = apply(d, removals)
                out[d.id] = Deduplicated(kept, report(d, removals, credits, kept), notes, cross.fingerprints.get(d.id))
            except Exception as e:
                late[d.id] = e
        if not late:
            return out, failed
        failed.update(late)
