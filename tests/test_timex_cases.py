"""ja-timex's own test expectations (tests/data/timex_cases.yaml; where they come from: tests/data/README.md) run
through the figures reader: each case gives our documented form (status pass) or is still a known gap."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from pipeline.config import PROJECT_ROOT, load_config
from pipeline.lib.figures import FigureExtractor
from pipeline.records import Figure

CASES = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "timex_cases.yaml").read_text(encoding="utf-8"))["cases"]
Extract = Callable[[str, str | None], list[Figure]]


@pytest.fixture(scope="module")
def extract() -> Extract:
    extractor, bound = FigureExtractor(), load_config().figures.max_line_chars
    return lambda text, air: extractor(text, air, bound)


def expected(case: dict) -> list[dict[str, Any]]:
    """The figures a case documents, with the fields it checks (qualifier null and the whole text unless said)."""
    return [{"text": want.get("text", case["text"].strip()), "qualifier": want.get("qualifier"), **want}
            for want in case["ours"]]


def observed(found: list[Figure], want: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The found figures, each cut to the fields its documented counterpart checks."""
    keys = [list(w) for w in want] + [["text", "kind", "iso"]] * max(0, len(found) - len(want))
    return [{k: getattr(f, k) for k in ks} for f, ks in zip(found, keys)]


def reads_as_documented(extract: Extract, case: dict) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the reader gives exactly the case's figures; and what it gave (also used to measure old code)."""
    want = expected(case)
    got = observed(extract(case["text"], case.get("air")), want)
    return got == want, got


def headline(case: dict) -> bool:
    """The cases an earlier count used: the AbstimeTagger's stated values, less weekdays alone (never figures)."""
    value = case["timex"].get("value")
    return case["source"].startswith("test_abstime_tagger.py") and value is not None and "-WXX-" not in value


@pytest.mark.parametrize("case", CASES, ids=[f"{c['text']}@{c['source'].split('::')[0]}" for c in CASES])
def test_case(extract, case):
    ok, got = reads_as_documented(extract, case)
    if case["status"] == "known_gap":
        assert not ok, f"now read as documented: set status pass ({case['reason']})"
    else:
        assert case["status"] == "pass"
        assert got == expected(case)


def test_every_known_gap_says_why():
    assert all(c.get("reason") for c in CASES if c["status"] == "known_gap")


def test_cases_are_distinct():
    keys = [(c["text"], c["source"].split("::")[0]) for c in CASES]
    assert len(keys) == len(set(keys))


# --- the ISO forms are valid and documented --------------------------------------------------------------------

_DATE = re.compile(r"(-?\d{4}|XXXX)(?:-(\d{2}|XX)(?:-(\d{2}|XX))?)?")
_DURATION = re.compile(r"P(?=[\d.]|T[\d.])(?:[\d.]+Y)?(?:[\d.]+M)?(?:[\d.]+W)?(?:[\d.]+D)?"
                       r"(?:T(?=[\d.])(?:[\d.]+H)?(?:[\d.]+M)?(?:[\d.]+S)?)?")


def _date(text: str) -> tuple[int, int, int] | None:
    """A date at reduced precision, with EDTF's unspecified digits (XXXX-06-17, XXXX-XX-18) or a negative year:
    its first day (year, month, day), 1 for what is not said; None when not one. A trailing unspecified part is
    never written (2021, not 2021-XX)."""
    m = _DATE.fullmatch(text)
    if m is None or text.endswith("-XX"):
        return None
    y, mo, d = m.groups()
    if mo not in (None, "XX") and not 1 <= int(mo) <= 12:
        return None
    if d not in (None, "XX"):
        year = 2000 + int(y) % 400 if y != "XXXX" else 2000  # a year of the same leap cycle (400 years)
        last = calendar.monthrange(year, int(mo))[1] if mo != "XX" else 31
        if not 1 <= int(d) <= last:
            return None
    return tuple(int(g) if g not in (None, "XX", "XXXX") else 1 for g in (y, mo, d))


def _time(text: str) -> bool:
    m = re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2}))?", text)
    return bool(m) and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3) or 0) < 60


def _kind(text: str) -> tuple[str, Any] | None:
    """What one ISO form is ('date', 'datetime', 'time', 'week', 'duration') and its start, or None."""
    if _DURATION.fullmatch(text):
        return "duration", None
    if _time(text):
        return "time", None
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(.+)", text):
        return ("datetime", _date(m.group(1)) + (m.group(2),)) if _date(m.group(1)) and _time(m.group(2)) else None
    if m := re.fullmatch(r"\d{4}-W(\d{2})", text):
        return ("week", None) if 1 <= int(m.group(1)) <= 53 else None
    start = _date(text)
    return ("date", start) if start else None


def documented_iso(text: str) -> bool:
    """One of the forms the module docstring documents, valid ISO 8601 (reduced precision, week, time, date-time,
    duration, interval) or ISO 8601-2/EDTF (unspecified digits, negative years); an interval's ends of one kind and
    in order. Valid EDTF we do not write (20XX, 2024-33) is refused."""
    ends = text.split("/")
    kinds = [_kind(end) for end in ends]
    if len(ends) > 2 or None in kinds or len({k[0] for k in kinds}) > 1:
        return False
    if len(ends) == 2 and kinds[0][0] in ("date", "datetime") and "X" not in text:
        return kinds[0][1] <= kinds[1][1]
    return len(ends) == 1 or kinds[0][0] != "duration"


@pytest.mark.parametrize("text", ["2023-06-17", "2023-08", "2024", "XXXX-06-17", "XXXX-06", "XXXX-XX-18",
                                  "2023-W28", "2023-07-13T04:59", "06:00", "23:59:59", "06:00/09:00",
                                  "2023-05-23/2023-06-19", "XXXX-04/XXXX-06", "2001/2100", "-0201", "0000",
                                  "-0299/-0200", "2024-02-29", "P3M", "PT30M", "PT1H30M", "P1Y2M10D"])
def test_documented_iso_accepts(text):
    assert documented_iso(text)


@pytest.mark.parametrize("text", ["XXXX-18", "2021-XX", "25:30", "24:00", "0013-13", "2023-02-29",
                                  "XXXX-07-13T04:59", "2024-06/2024-04", "2024-33", "20XX", "P", "XXXX-Q1"])
def test_documented_iso_rejects(text):
    assert not documented_iso(text)


def test_every_iso_given_or_documented_is_valid(extract):
    """Every iso the reader gives for a case, and every one the data file documents."""
    given = {f.iso for c in CASES for f in extract(c["text"], c.get("air")) if f.iso is not None}
    documented = {w["iso"] for c in CASES for w in c["ours"] if w.get("iso") is not None}
    assert [iso for iso in sorted(given | documented) if not documented_iso(iso)] == []
