"""The Sudachi reader: words, parts of speech and katakana readings (SudachiPy, the analyser under GiNZA).

Stages get one Reader per process from the job's model store, so the dictionary loads once per process
whichever stages read with it (dedup, summary).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.text.normalise import katakana, letters_digits
from pipeline.text.sentences import cut_at

# SudachiPy refuses longer input ("Input is too long, it can't be more than 49149 bytes"), so longer text is
# read in pieces of at most this many UTF-8 bytes.
MAX_BYTES = 49149


def byte_pieces(text: str, max_bytes: int) -> Iterator[tuple[int, int]]:
    """[start, end) pieces of text covering it in order, each at most max_bytes in UTF-8, cut where `cut_at` says
    (a sentence end, else a comma, else a space, else hard)."""
    start = 0
    while start < len(text):
        window = text[start : start + max_bytes]  # a character is at least one byte
        encoded = window.encode("utf-8")
        if len(encoded) > max_bytes:
            window = encoded[:max_bytes].decode("utf-8", "ignore")  # drops a character cut in two
        end = start + len(window)
        if end < len(text):
            end = start + cut_at(window)
        yield start, end
        start = end


class Reader:
    """Katakana readings from SudachiPy (the analyser under GiNZA), loaded once per process.

    Whisper writes one spoken word several ways (さくら市 / 作らし / サクラシ, 大福 / 大服), so two airings of
    the same ad differ in a tenth of their characters but hardly at all in their readings.
    """

    def __init__(self) -> None:
        self._tokenizer = None
        self._dictionary = None

    def _analyser(self) -> Any:
        if self._tokenizer is None:
            try:
                from sudachipy import Dictionary, SplitMode
            except ImportError as e:  # pragma: no cover - a broken install
                raise RuntimeError("dedup and summary need SudachiPy and SudachiDict-core") from e
            self._dictionary = Dictionary(dict="core")
            self._tokenizer = self._dictionary.create(SplitMode.C)
        return self._tokenizer

    def readings(self, surface: str) -> list[str]:
        """Every katakana reading the dictionary holds for a surface (高 -> コウ, タカ, ...), most common first as
        far as the dictionary orders them; [] for a surface it does not hold."""
        self._analyser()
        seen: list[str] = []
        for m in self._dictionary.lookup(surface):
            reading = katakana(m.reading_form())
            if reading not in seen:
                seen.append(reading)
        return seen

    def tokenize(self, text: str) -> Iterator[tuple[int, int, Any]]:
        """(start, end, morpheme) for the SudachiPy mode-C morphemes of text, offsets in text. Text of any length:
        it is read in pieces under SudachiPy's byte limit (the dictionary loads on first use)."""
        for start, end in byte_pieces(text, MAX_BYTES):
            yield from self._tokenize_piece(text, start, end)

    def _tokenize_piece(self, text: str, start: int, end: int) -> Iterator[tuple[int, int, Any]]:
        from sudachipy.errors import SudachiError

        try:
            morphemes = self._analyser().tokenize(text[start:end])
        except SudachiError as e:
            # The limit also holds after SudachiPy's own normalisation, which can lengthen text (㍿ → 株式会社):
            # such a piece is read in two halves.
            if "too long" not in str(e) or end - start < 2:
                raise
            middle = start + cut_at(text[start : (start + end) // 2])
            yield from self._tokenize_piece(text, start, middle)
            yield from self._tokenize_piece(text, middle, end)
            return
        for m in morphemes:
            yield start + m.begin(), start + m.end(), m

    def units(self, text: str) -> Iterator[tuple[int, int, Any]]:
        """(start, end, morpheme) for the finest units (SudachiPy mode A) inside the mode-C words of text: 福岡県宗像市
        as 福岡|県|宗像|市, where tokenize gives one word."""
        from sudachipy import SplitMode

        for start, _, m in self.tokenize(text):
            base = start - m.begin()  # unit offsets are relative to the piece SudachiPy read, as m.begin() is
            for u in m.split(SplitMode.A, add_single=True):
                yield base + u.begin(), base + u.end(), u

    def pieces(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, normalised reading) for each word of text that has letters or digits."""
        out = []
        for start, end, m in self.tokenize(text):
            surface = letters_digits(m.surface())
            if not surface:
                continue  # punctuation and spaces (Sudachi reads them as キゴウ)
            reading = letters_digits(katakana(m.reading_form())) or surface
            out.append((start, end, katakana(reading)))
        return out
