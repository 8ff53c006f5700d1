"""Benchmark: audio accuracy per show (issue 12): CER against plain faster-whisper, entities, figures, speech
coverage, DER, corrections and recoveries, with and without the episode's notes.

For each show of a show folder (`<dir>/<stem>.mp3|.ogg` with `reference/<stem>.txt|.json|.rttm`, `gold/<stem>.yaml`
and `notes/<stem>.notes.txt`; the folder's README.md says which shows are for tuning and which are held out: the
gold files of yugata_2025-02-14 and machikado_2025-03-03, shows 1 and 2, call them tuning shows):

- plain: `WhisperModel(<the bundled base>, device="cpu", compute_type="int8", cpu_threads=2)` then
  `model.transcribe(<audio path>, language="ja", beam_size=5)`, everything else faster-whisper's default;
  model load included in its time. The result is cached in --plain-cache, keyed by the audio's sha256 (and
  reused only for the same model and settings), so reruns skip it.
- pipeline: `python -m pipeline run IN --output OUT` in a fresh temporary folder (empty stage cache) on a
  folder holding a copy of the show's audio alone; with --notes a second run "notes" where the show's
  `<stem>.notes.txt` lies beside the audio (the pipeline reads it as the episode's context). --set passes
  config overrides to every pipeline run. Its time is the whole command (interpreter start, model loads).

Measured per show and run (pure functions below, tested in tests/test_accuracy_bench.py):

- CER of the episode's `text` against reference/<stem>.txt (pipeline.lib.metrics.cer: letters and digits
  only), and the gain in points over plain (plain - pipeline, positive = better);
- entities: a gold entity is found when a predicted entity's name, an alias or a mention's text equals the gold
  name or one of its surfaces (NFKC, case folded); predicted entities matching no gold name, surface or
  optional surface are listed, not scored;
- figures: a gold figure is right when a predicted figure has its kind and, where the gold gives them, its
  value, value_max, unit and iso (dates compare iso); one predicted figure answers one gold figure at most;
- coverage: seconds of the diarized spans (union) that the turns' [start, end] (union) cover / diarized seconds;
- DER (pyannote.metrics, collar 0.25 s, overlap scored, over the whole audio) of the turns and of the
  diarization spans against reference/<stem>.rttm;
- corrections (`transcription.corrections`): right when the corrected text occurs in the reference and the
  original does not (outside the corrected text's occurrences), letters and digits compared; recoveries
  (`transcription.recoveries`): count and seconds.

Markdown tables (one per metric, one row per show, the mean last) go to stdout and --out-md; everything
(texts, lists of misses) to --out-json.

    .venv/bin/python bench/accuracy_bench.py [--dir bench/accuracy] [--shows STEM ...] [--notes]
        [--gold-dir DIR] [--notes-dir DIR] [--plain-cache FILE] [--set section.key=value ...]
        [--out-md FILE] [--out-json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.files import sha256_file  # noqa: E402
from pipeline.lib.asr import union  # noqa: E402
from pipeline.lib.metrics import cer, normalize_for_cer  # noqa: E402

DEFAULT_DIR = ROOT / "bench" / "accuracy"
DEFAULT_PLAIN_CACHE = ROOT / "bench" / ".cache" / "accuracy_plain.json"
AUDIO_SUFFIXES = (".mp3", ".ogg")
COLLAR = 0.25
PLAIN_SETTINGS = {"device": "cpu", "compute_type": "int8", "cpu_threads": 2, "language": "ja", "beam_size": 5}


# ------------------------------------------------------------------------------------------------ pure metrics


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    """NFKC, case folded, outer spaces stripped: the form entity names are compared in."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def text_cer(reference: str, hypothesis: str) -> float:
    """Character error rate (letters and digits only), as bench/pipeline_bench.py computes it."""
    return cer(reference, hypothesis)


def gain_points(plain_cer: float | None, pipeline_cer: float | None) -> float | None:
    """CER points the pipeline gains over plain (positive = the pipeline is better)."""
    if plain_cer is None or pipeline_cer is None:
        return None
    return (plain_cer - pipeline_cer) * 100


@dataclass
class EntityScore:
    found: int
    total: int
    missed: list[str]  # gold names not found
    unmatched: list[str]  # predicted entity names matching no gold name or surface (not scored)


def entity_forms(entity: dict) -> set[str]:
    """Every surface a predicted entity is known by: name, aliases, mention texts (folded)."""
    texts = [entity.get("name") or "", *(entity.get("aliases") or [])]
    texts += [m.get("text") or "" for m in entity.get("mentions") or []]
    return {fold(t) for t in texts if fold(t)}


def entity_recall(entities: list[dict], gold: list[dict], optional: Iterable[str] = ()) -> EntityScore:
    """Gold entities ({name, surfaces}) found among the predicted ones (episode["entities"])."""
    predicted = [entity_forms(e) for e in entities]
    said = set().union(*predicted)
    missed = []
    for g in gold:
        if not {fold(s) for s in [g["name"], *(g.get("surfaces") or [])]} & said:
            missed.append(g["name"])
    known = {fold(s) for g in gold for s in [g["name"], *(g.get("surfaces") or [])]} | {fold(s) for s in optional}
    unmatched = [e.get("name") or "" for e, forms in zip(entities, predicted) if not forms & known]
    return EntityScore(len(gold) - len(missed), len(gold), missed, unmatched)


@dataclass
class FigureScore:
    right: int
    total: int
    missed: list[dict]  # gold figures no predicted figure answers


def figure_matches(gold: dict, predicted: dict) -> bool:
    """Same kind, and the value, value_max, unit and iso the gold gives (a key the gold leaves out is not checked)."""
    if gold.get("kind") != predicted.get("kind"):
        return False
    for key in ("value", "value_max"):
        want, got = gold.get(key), predicted.get(key)
        if want is not None and (got is None or not math.isclose(float(want), float(got), rel_tol=1e-9, abs_tol=1e-9)):
            return False
    for key in ("unit", "iso"):
        want, got = gold.get(key), predicted.get(key)
        if want is not None and (got is None or nfkc(str(want)) != nfkc(str(got))):
            return False
    return True


def figure_accuracy(figures: list[dict], gold: list[dict]) -> FigureScore:
    """Gold figures answered by the predicted ones (episode["figures"] items, or bare figure dicts), one to one:
    a maximum matching, so a figure said once does not answer a gold figure listed twice."""
    predicted = [f.get("figure", f) for f in figures]
    options = [[j for j, p in enumerate(predicted) if figure_matches(g, p)] for g in gold]
    owner: dict[int, int] = {}  # predicted index -> gold index

    def assign(i: int, visited: set[int]) -> bool:  # augmenting path (Kuhn)
        for j in options[i]:
            if j not in visited:
                visited.add(j)
                if j not in owner or assign(owner[j], visited):
                    owner[j] = i
                    return True
        return False

    for i in range(len(gold)):
        assign(i, set())
    answered = set(owner.values())
    missed = [g for i, g in enumerate(gold) if i not in answered]
    return FigureScore(len(gold) - len(missed), len(gold), missed)


merge = union  # the pipeline's own union of [start, end] intervals (pipeline/lib/asr.py)


def overlap_seconds(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Seconds in both of two merged interval lists."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def speech_coverage(spans: list[dict], turns: list[dict]) -> float | None:
    """Share of the diarized seconds (union of spans) that the turns (union of [start, end]) cover; None
    without diarized speech. Turns without times are left out."""
    diarized = merge((s["start"], s["end"]) for s in spans)
    said = merge((t["start"], t["end"]) for t in turns if t.get("start") is not None and t.get("end") is not None)
    seconds = sum(e - s for s, e in diarized)
    return overlap_seconds(diarized, said) / seconds if seconds > 0 else None


def read_rttm(text: str) -> list[tuple[float, float, str]]:
    """(start, end, speaker) of each SPEAKER line of an RTTM file."""
    segments = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            segments.append((start, start + duration, parts[7]))
    return segments


def der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]], duration: float,
        collar: float = COLLAR) -> float:  # fmt: skip
    """Diarization error rate over [0, duration] (pyannote.metrics, overlap scored), as bench/diarize_bench.py."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(segments: list[tuple[float, float, str]]) -> Annotation:
        result = Annotation()
        for track, (start, end, speaker) in enumerate(segments):
            if end > start:
                result[Segment(start, end), track] = speaker
        return result

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return float(metric(annotation(reference), annotation(hypothesis), uem=Timeline([Segment(0, duration)])))


@dataclass
class CorrectionScore:
    count: int
    right: int
    wrong: list[dict]


def correction_is_right(correction: dict, reference: str) -> bool:
    """The corrected text occurs in the reference and the original does not (outside the corrected text's
    occurrences, so みどり -> みどり屋 can be right). Letters and digits compared; an empty corrected text (a
    deletion) occurs everywhere, an empty original (an insertion) nowhere. A change of spacing only (日本 年金 機構 ->
    日本年金機構) is right when the joined name is in the reference; one of punctuation only is wrong."""
    ref = normalize_for_cer(reference)
    original = normalize_for_cer(correction.get("original") or "")
    corrected = normalize_for_cer(correction.get("corrected") or "")
    if original == corrected:
        written, before = correction.get("corrected") or "", correction.get("original") or ""
        return bool(corrected) and written != before and before.replace(" ", "") == written and written in reference
    if corrected and corrected not in ref:
        return False
    rest = ref.replace(corrected, "\x00") if corrected else ref
    return not original or original not in rest


def check_corrections(corrections: list[dict], reference: str) -> CorrectionScore:
    wrong = [c for c in corrections if not correction_is_right(c, reference)]
    return CorrectionScore(len(corrections), len(corrections) - len(wrong), wrong)


@dataclass
class RecoveryScore:
    count: int
    seconds: float  # sum of end - start
    kept: int  # recoveries whose second decoding replaced (or filled) the first


def recovery_totals(recoveries: list[dict]) -> RecoveryScore:
    return RecoveryScore(len(recoveries), sum(r["end"] - r["start"] for r in recoveries),
                         sum(1 for r in recoveries if r.get("kept")))  # fmt: skip


# ------------------------------------------------------------------------------------------------- the runs


@dataclass
class Show:
    stem: str
    audio: Path
    reference: str
    rttm: list[tuple[float, float, str]] | None
    gold: dict | None
    notes: Path | None


@dataclass
class PlainResult:
    text: str
    seconds: float
    cer: float
    cached: bool


@dataclass
class RunResult:
    label: str  # "no notes" or "notes"
    status: str  # the record's status, or "missing" when the run wrote no record for the audio
    error: str | None
    seconds: float
    duration: float | None = None
    cer: float | None = None
    gain_points: float | None = None
    entities: EntityScore | None = None
    figures: FigureScore | None = None
    coverage: float | None = None
    der_turns: float | None = None
    der_diar: float | None = None
    corrections: CorrectionScore | None = None
    recoveries: RecoveryScore | None = None
    other_records: list[str] = field(default_factory=list)  # episode ids of other records the run wrote
    text: str = ""
    predicted_entities: list[dict] = field(default_factory=list)  # name, type, aliases (to read misses against)
    predicted_figures: list[dict] = field(default_factory=list)  # the figure dicts as the record gives them


@dataclass
class ShowResult:
    stem: str
    audio: str
    plain: PlainResult
    runs: list[RunResult]

    def run(self, label: str) -> RunResult | None:
        return next((r for r in self.runs if r.label == label), None)


def load_show(folder: Path, stem: str, gold_dir: Path, notes_dir: Path) -> Show:
    import yaml

    audio = next((folder / f"{stem}{s}" for s in AUDIO_SUFFIXES if (folder / f"{stem}{s}").is_file()), None)
    if audio is None:
        raise SystemExit(f"no audio {stem}{{{','.join(AUDIO_SUFFIXES)}}} in {folder}")
    reference = folder / "reference" / f"{stem}.txt"
    if not reference.is_file():
        raise SystemExit(f"no reference transcript {reference}")
    rttm = folder / "reference" / f"{stem}.rttm"
    gold = gold_dir / f"{stem}.yaml"
    notes = notes_dir / f"{stem}.notes.txt"
    return Show(
        stem=stem,
        audio=audio,
        reference=reference.read_text(encoding="utf-8"),
        rttm=read_rttm(rttm.read_text(encoding="utf-8")) if rttm.is_file() else None,
        gold=yaml.safe_load(gold.read_text(encoding="utf-8")) if gold.is_file() else None,
        notes=notes if notes.is_file() else None,
    )


def run_plain(show: Show, cache_path: Path) -> PlainResult:
    """Plain sequential faster-whisper on the show's audio, or its cached result."""
    from pipeline.config import load_config, resolve_path
    from pipeline.lib.models import resolve

    model = resolve("base", resolve_path(load_config().models.cache_dir))
    settings = {"model": model.identity, **PLAIN_SETTINGS}
    key = sha256_file(show.audio)
    cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.is_file() else {}
    hit = cache.get(key)
    if hit and hit.get("settings") == settings:
        return PlainResult(hit["text"], hit["seconds"], text_cer(show.reference, hit["text"]), cached=True)

    from faster_whisper import WhisperModel

    started = time.perf_counter()
    whisper = WhisperModel(model.path, device="cpu", compute_type="int8", cpu_threads=2)
    segments, _ = whisper.transcribe(str(show.audio), language="ja", beam_size=5)
    text = "".join(s.text for s in segments)
    seconds = time.perf_counter() - started
    cache[key] = {"audio": show.audio.name, "settings": settings, "text": text, "seconds": seconds}
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(cache_path)
    return PlainResult(text, seconds, text_cer(show.reference, text), cached=False)


def run_pipeline(show: Show, label: str, notes: Path | None, overrides: list[str]) -> tuple[dict | None, RunResult]:
    """`pipeline run` on a folder holding the show's audio (and its notes), in a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="accuracy_bench_") as tmp:
        inputs, output = Path(tmp) / "in", Path(tmp) / "out"
        inputs.mkdir()
        shutil.copy2(show.audio, inputs / show.audio.name)
        if notes is not None:
            shutil.copy2(notes, inputs / f"{show.stem}.notes.txt")
        command = [sys.executable, "-m", "pipeline", "run", str(inputs), "--output", str(output), "--no-progress"]
        for override in overrides:
            command += ["--set", override]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        jsonl = output / "episodes.jsonl"
        lines = jsonl.read_text(encoding="utf-8").splitlines() if jsonl.is_file() else []
    records = [json.loads(line) for line in lines if line.strip()]
    record = next((r for r in records if (r.get("source") or {}).get("name") == show.audio.name), None)
    others = [r.get("episode_id", "?") for r in records if r is not record]
    if record is None:
        said = [line for line in done.stderr.splitlines() if line.strip()]
        print(done.stderr[-3000:], file=sys.stderr)
        error = f"exit {done.returncode}, no record for the audio: {said[-1] if said else 'nothing on stderr'}"
        return None, RunResult(label, "missing", error, seconds, other_records=others)
    error = (record.get("error") or {}).get("message") if record.get("error") else None
    result = RunResult(label, record.get("status", "?"), error, seconds, record.get("duration"), other_records=others)
    return record, result


def score_run(show: Show, record: dict, result: RunResult, plain: PlainResult) -> RunResult:
    """Fill `result` with the metrics of one pipeline record."""
    result.text = record.get("text") or ""
    result.cer = text_cer(show.reference, result.text)
    entities = record.get("entities") or []
    result.predicted_entities = [{k: e.get(k) for k in ("name", "type", "aliases")} for e in entities]
    result.predicted_figures = [f.get("figure", f) for f in record.get("figures") or []]
    result.gain_points = gain_points(plain.cer, result.cer)
    if show.gold is not None:
        result.entities = entity_recall(record.get("entities") or [], show.gold.get("entities") or [],
                                        show.gold.get("optional") or [])  # fmt: skip
        result.figures = figure_accuracy(record.get("figures") or [], show.gold.get("figures") or [])
    spans = (record.get("diarization") or {}).get("spans") or []
    turns = record.get("turns") or []
    result.coverage = speech_coverage(spans, turns)
    if show.rttm is not None and result.duration:
        timed = [(t["start"], t["end"], t["speaker"]) for t in turns
                 if t.get("start") is not None and t.get("end") is not None]  # fmt: skip
        result.der_turns = der(show.rttm, timed, result.duration)
        result.der_diar = der(show.rttm, [(s["start"], s["end"], s["speaker"]) for s in spans], result.duration)
    transcription = record.get("transcription") or {}
    result.corrections = check_corrections(transcription.get("corrections") or [], show.reference)
    result.recoveries = recovery_totals(transcription.get("recoveries") or [])
    return result


def measure(show: Show, with_notes: bool, overrides: list[str], plain_cache: Path) -> ShowResult:
    plain = run_plain(show, plain_cache)
    print(f"{show.stem}: plain {plain.seconds:.1f} s{' (cached)' if plain.cached else ''}, CER {plain.cer:.2%}",
          file=sys.stderr, flush=True)  # fmt: skip
    runs = []
    labels = [("no notes", None)] + ([("notes", show.notes)] if with_notes and show.notes else [])
    for label, notes in labels:
        record, result = run_pipeline(show, label, notes, overrides)
        if record is not None and record.get("status") == "ok":
            score_run(show, record, result, plain)
        runs.append(result)
        print(f"{show.stem}: pipeline ({label}) {result.seconds:.1f} s, status {result.status}"
              + (f", CER {result.cer:.2%}" if result.cer is not None else f": {result.error}"),
              file=sys.stderr, flush=True)  # fmt: skip
    return ShowResult(show.stem, show.audio.name, plain, runs)


# ---------------------------------------------------------------------------------------------------- report


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def pts(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


@dataclass
class Column:
    header: str
    value: Callable[[ShowResult], object]  # a number, a (numerator, denominator) pair, or None
    kind: str  # pct | pts | frac | sec | int


def cell(kind: str, value: object) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return pct(value)  # type: ignore[arg-type]
    if kind == "pts":
        return pts(value)  # type: ignore[arg-type]
    if kind == "frac":
        n, d = value  # type: ignore[misc]
        return f"{n}/{d}"
    if kind == "sec":
        return f"{value:.1f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def mean_cell(column: Column, shows: list[ShowResult]) -> str:
    """The mean over the shows that have a value (fractions: summed, then the share), with "(k of n shows)"
    where some have none."""
    values = [v for v in (column.value(s) for s in shows) if v is not None]
    if not values:
        return "-"
    if column.kind == "frac":
        n, d = sum(v[0] for v in values), sum(v[1] for v in values)  # type: ignore[index]
        text = f"{n}/{d} ({n / d:.0%})" if d else f"{n}/{d}"
    else:
        m = statistics.fmean(values)  # type: ignore[arg-type]
        text = f"{m:.2f}" if column.kind == "int" else cell(column.kind, m)
    return text if len(values) == len(shows) else f"{text} ({len(values)} of {len(shows)} shows)"


def table(title: str, columns: list[Column], shows: list[ShowResult]) -> str:
    lines = [f"### {title}", "", "| show | " + " | ".join(c.header for c in columns) + " |",
             "| --- |" + " ---: |" * len(columns)]  # fmt: skip
    for show in shows:
        lines.append(f"| {show.stem} | " + " | ".join(cell(c.kind, c.value(show)) for c in columns) + " |")
    lines.append("| mean | " + " | ".join(mean_cell(c, shows) for c in columns) + " |")
    return "\n".join(lines)


def of(label: str, metric: Callable[[RunResult], object]) -> Callable[[ShowResult], object]:
    """A run's metric for a table column; None when the show has no such run or the run has no value."""

    def value(show: ShowResult) -> object:
        run = show.run(label)
        return metric(run) if run is not None else None

    return value


# Each run metric as a table cell value: a number, a (numerator, denominator) pair or None.


def entities_found(r: RunResult) -> object:
    return (r.entities.found, r.entities.total) if r.entities else None


def entities_unmatched(r: RunResult) -> object:
    return len(r.entities.unmatched) if r.entities else None


def figures_right(r: RunResult) -> object:
    return (r.figures.right, r.figures.total) if r.figures else None


def der_difference(r: RunResult) -> float | None:
    """DER of the turns minus DER of the diarization, in points (positive: the turns lose speaker accuracy)."""
    return None if r.der_turns is None or r.der_diar is None else (r.der_turns - r.der_diar) * 100


def corrections_right(r: RunResult) -> object:
    return (r.corrections.right, r.corrections.count) if r.corrections else None


def recoveries_count(r: RunResult) -> object:
    return r.recoveries.count if r.recoveries else None


def recoveries_kept(r: RunResult) -> object:
    return r.recoveries.kept if r.recoveries else None


def recoveries_seconds(r: RunResult) -> object:
    return r.recoveries.seconds if r.recoveries else None


def report(shows: list[ShowResult]) -> str:
    labels = [label for label in ("no notes", "notes") if any(s.run(label) for s in shows)]

    def plain_cer(show: ShowResult) -> object:
        return show.plain.cer

    def per_run(metric: Callable[[RunResult], object], header: str, kind: str) -> list[Column]:
        return [Column(f"{header} ({label})", of(label, metric), kind) for label in labels]

    def base(metric: Callable[[RunResult], object], header: str, kind: str) -> Column:
        return Column(header, of("no notes", metric), kind)

    summary = [
        Column("plain CER", plain_cer, "pct"),
        base(lambda r: r.cer, "pipeline CER", "pct"),
        base(lambda r: r.gain_points, "gain pts", "pts"),
        *per_run(entities_found, "entities", "frac"),
        *per_run(figures_right, "figures", "frac"),
        base(lambda r: r.coverage, "coverage", "pct"),
        base(lambda r: r.der_turns, "DER turns", "pct"),
        base(lambda r: r.der_diar, "DER diar", "pct"),
        base(corrections_right, "corrections right/all", "frac"),
        base(recoveries_count, "recoveries", "int"),
        base(recoveries_seconds, "recovered s", "sec"),
    ]
    cer_columns = [Column("plain CER", plain_cer, "pct")]
    for label in labels:
        cer_columns += [Column(f"CER ({label})", of(label, lambda r: r.cer), "pct"),
                        Column(f"gain pts ({label})", of(label, lambda r: r.gain_points), "pts")]  # fmt: skip
    speech = (per_run(lambda r: r.coverage, "coverage", "pct") + per_run(lambda r: r.der_turns, "DER turns", "pct")
              + per_run(lambda r: r.der_diar, "DER diar", "pct") + per_run(der_difference, "turns - diar pts", "pts"))
    fixes = (per_run(corrections_right, "corrections right/all", "frac")
             + per_run(recoveries_count, "recoveries", "int") + per_run(recoveries_kept, "kept", "int")
             + per_run(recoveries_seconds, "recovered s", "sec"))
    times = [base(lambda r: r.duration, "audio", "sec"),
             Column("plain (when measured)", lambda s: s.plain.seconds, "sec")]
    sections = [
        table("Summary (the pipeline without notes unless said)", summary, shows),
        table("CER against the reference transcript", cer_columns, shows),
        table("Entities found / gold", per_run(entities_found, "found", "frac")
              + per_run(entities_unmatched, "unmatched predicted", "int"), shows),
        table("Figures right / gold", per_run(figures_right, "right", "frac"), shows),
        table("Speech coverage and DER (collar 0.25 s)", speech, shows),
        table("Corrections and recoveries", fixes, shows),
        table("Wall time (s)", times + per_run(lambda r: r.seconds if r.status == "ok" else None, "pipeline", "sec"),
              shows),
        misses(shows),
    ]  # fmt: skip
    return "\n\n".join(sections) + "\n"


def misses(shows: list[ShowResult]) -> str:
    lines = ["### Misses and extras", ""]
    for show in shows:
        for run in show.runs:
            head = f"- {show.stem} ({run.label})"
            if run.status != "ok":
                lines.append(f"{head}: status {run.status}: {run.error}")
                continue
            if run.entities:
                lines.append(f"{head} entities missed: {'、'.join(run.entities.missed) or 'none'}; "
                             f"unmatched predicted: {'、'.join(run.entities.unmatched) or 'none'}")  # fmt: skip
            if run.figures:
                missed = [f"{f.get('text')}@{f.get('line')}" for f in run.figures.missed]
                lines.append(f"{head} figures missed: {'、'.join(missed) or 'none'}")
            if run.corrections and run.corrections.wrong:
                wrong = [f"{c.get('original')}→{c.get('corrected')} ({c.get('source')}, {c.get('score')})"
                         for c in run.corrections.wrong]  # fmt: skip
                lines.append(f"{head} wrong corrections: {'、'.join(wrong)}")
            if run.other_records:
                lines.append(f"{head} other records in the run's output: {', '.join(run.other_records)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="show folder (default bench/accuracy)")
    ap.add_argument("--shows", nargs="+", metavar="STEM", help="stems to run (default: every .mp3/.ogg in --dir)")
    ap.add_argument("--gold-dir", type=Path, help="gold YAML folder (default DIR/gold)")
    ap.add_argument("--notes-dir", type=Path, help="notes folder (default DIR/notes)")
    ap.add_argument("--notes", action="store_true", help="also run with <stem>.notes.txt beside the audio")
    ap.add_argument("--plain-cache", type=Path, default=DEFAULT_PLAIN_CACHE, help="plain baseline results by sha256")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="config override passed to every pipeline run (repeatable)")  # fmt: skip
    ap.add_argument("--out-md", type=Path, help="write the tables here")
    ap.add_argument("--out-json", type=Path, help="write every result here")
    args = ap.parse_args(argv)

    folder = args.dir
    stems = args.shows or sorted(p.stem for p in folder.iterdir() if p.suffix in AUDIO_SUFFIXES and p.is_file())
    if not stems:
        raise SystemExit(f"no shows in {folder}")
    gold_dir, notes_dir = args.gold_dir or folder / "gold", args.notes_dir or folder / "notes"
    shows = [load_show(folder, stem, gold_dir, notes_dir) for stem in stems]
    results = [measure(show, args.notes, args.overrides, args.plain_cache) for show in shows]

    text = report(results)
    print(text)
    if args.out_md:
        args.out_md.write_text(text, encoding="utf-8")
    if args.out_json:
        payload = {"dir": str(folder), "overrides": args.overrides, "shows": [asdict(r) for r in results]}
        args.out_json.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return 0 if all(run.status == "ok" for r in results for run in r.runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
