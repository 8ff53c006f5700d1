"""The Sudachi reader: words, parts of speech and katakana readings (SudachiPy, the analyser under GiNZA).

Stages get one Reader per process from the job's model store, so the dictionary loads once per process
whichever stages read with it (dedup, summary).
"""

from __future__ import annotations

from typing import Any

from pipeline.text.normalise import katakana, letters_digits


class Reader:
    """Katakana readings from SudachiPy (the analyser under GiNZA), loaded once per process.

    Whisper writes one spoken word several ways (さくら市 / 作らし / サクラシ, 大福 / 大服), so two airings of
    the same ad differ in a tenth of their characters but hardly at all in their readings.
    """

    def __init__(self) -> None:
        self._tokenizer = None

    def tokenize(self, text: str) -> Any:
        """SudachiPy mode-C morphemes of text (the dictionary loads on first use)."""
        if self._tokenizer is None:
            try:
                from sudachipy import Dictionary, SplitMode
            except ImportError as e:  # pragma: no cover - a broken install
                raise RuntimeError("dedup and summary need SudachiPy and SudachiDict-core") from e
            self._tokenizer = Dictionary(dict="core").create(SplitMode.C)
        return self._tokenizer.tokenize(text)

    def pieces(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, normalised reading) for each word of text that has letters or digits."""
        out = []
        for m in self.tokenize(text):
            surface = letters_digits(m.surface())
            if not surface:
                continue  # punctuation and spaces (Sudachi reads them as キゴウ)
            reading = letters_digits(katakana(m.reading_form())) or surface
            out.append((m.begin(), m.end(), katakana(reading)))
        return out
