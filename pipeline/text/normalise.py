"""Text normalisation, one function per purpose (each used wherever that comparison is made)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKC and lower case: full-width Ｊａｐａｎ and half-width ｶﾅ read as japan and カナ (search)."""
    return unicodedata.normalize("NFKC", text).lower()


def nfkc(text: str) -> str:
    """NFKC with case kept: the form entity surfaces are compared in."""
    return unicodedata.normalize("NFKC", text)


def letters_digits(text: str) -> str:
    """Folded, then letters and digits only: punctuation, spaces and symbols are not what a re-typed or re-spoken
    copy (dedup) or a recogniser (CER) is judged on."""
    return "".join(ch for ch in fold(text) if unicodedata.category(ch)[0] in "LN")


def letters_digits_with_origin(text: str) -> tuple[str, list[int]]:
    """`letters_digits(text)` plus, for each kept character, its offset in `text`."""
    chars, origin = [], []
    for offset, ch in enumerate(text):
        for n in fold(ch):
            if unicodedata.category(n)[0] in "LN":
                chars.append(n)
                origin.append(offset)
    return "".join(chars), origin


def katakana(text: str) -> str:
    """Hiragana as katakana (readings compare in one script)."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


# --- scripts: which kind of Japanese characters a text is written in (a name spelt in kana, kanji read as sounds)


def hiragana(text: str) -> str:
    """Katakana ァ-ヶ as hiragana (シシド -> ししど), the inverse of `katakana`; everything else unchanged."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def is_kanji(text: str) -> bool:
    return bool(text) and all("一" <= ch <= "龥" or ch == "々" for ch in text)


def has_kanji(text: str) -> bool:
    return any("一" <= ch <= "龥" for ch in text)


def is_hiragana(text: str) -> bool:
    return bool(text) and all("ぁ" <= ch <= "ゖ" or ch == "ー" for ch in text)


def is_katakana(text: str) -> bool:
    """Katakana only (a reading, or a name written in katakana)."""
    return bool(text) and all("ァ" <= ch <= "ヶ" or ch == "ー" for ch in text)


def is_kana(text: str) -> bool:
    return bool(text) and all("ぁ" <= ch <= "ヶ" or ch == "ー" for ch in text)


def is_japanese(ch: str) -> bool:
    """One kana or kanji character."""
    return "ぁ" <= ch <= "ヶ" or "一" <= ch <= "龥" or ch in "ー々"
