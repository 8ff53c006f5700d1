"""Character error rate for Japanese transcripts (no word boundaries, so characters are the unit)."""

from __future__ import annotations

import unicodedata


def normalize_for_cer(text: str) -> str:
    """NFKC, then only letters and digits: punctuation, spaces and symbols are not what ASR is judged on."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize_for_cer(reference), normalize_for_cer(hypothesis)
    if not ref:
        raise ValueError("empty reference")
    return edit_distance(ref, hyp) / len(ref)
