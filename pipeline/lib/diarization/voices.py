"""Enrolled voiceprints: a show's hosts recognised by voice, so diarized speakers get names.

`pipeline enrol --show KEY --name NAME CLIP` stores the clip's speaker embedding as
configs/shows/voiceprints/<KEY>/<NAME>.json; the diarize stage loads a profile's voiceprints and names each
diarized speaker whose voice matches one above `diarize.enrol_threshold`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.files import atomic_write_json
from pipeline.records import VoiceMatch
from pipeline.records.base import Record, doc, from_dict, to_dict


class Voiceprint(Record):
    """An enrolled voice (configs/shows/<key>.voices/<name>.json)."""

    name: str = doc("the person's full name")
    model: str = doc("identity of the embedding model: a print from another model is not comparable")
    clip_sha256: str = doc("hash of the enrolment clip")
    clip_seconds: float = doc("length of the enrolment clip")
    embedding: list[float] = doc("the speaker embedding")


def voiceprint_dir(shows_dir: Path, profile_key: str) -> Path:
    return shows_dir / "voiceprints" / profile_key


def save(shows_dir: Path, profile_key: str, print_: Voiceprint) -> Path:
    path = voiceprint_dir(shows_dir, profile_key) / f"{print_.name}.json"
    atomic_write_json(path, to_dict(print_))
    return path


def load(shows_dir: Path, profile_key: str, model: str) -> list[Voiceprint]:
    """The profile's voiceprints made with `model` (others are skipped: their embeddings mean nothing here)."""
    folder = voiceprint_dir(shows_dir, profile_key)
    prints = [from_dict(Voiceprint, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.json"))]
    return [p for p in prints if p.model == model]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def match(centroids: dict[str, np.ndarray], prints: list[Voiceprint], threshold: float) -> list[VoiceMatch]:
    """Best pairs first, each speaker and each name used once, only above threshold."""
    pairs = sorted(
        ((cosine(centroid, np.asarray(p.embedding, dtype=np.float32)), speaker, p.name)
         for speaker, centroid in centroids.items() for p in prints),
        key=lambda t: (-t[0], t[1], t[2]),
    )  # fmt: skip
    taken_speakers: set[str] = set()
    taken_names: set[str] = set()
    matches = []
    for similarity, speaker, name in pairs:
        if similarity < threshold or speaker in taken_speakers or name in taken_names:
            continue
        taken_speakers.add(speaker)
        taken_names.add(name)
        matches.append(VoiceMatch(speaker=speaker, name=name, similarity=round(similarity, 4)))
    return sorted(matches, key=lambda m: m.speaker)
