"""Air date and show of an episode, from the file name or the text itself. Pure functions."""

from __future__ import annotations

import datetime as dt
import re

_FILE_DATE = re.compile(r"(?<!\d)(20\d{2}|19\d{2})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")
_WEEKDAYS = "月火水木金土日"
# "7月5日(水)放送" — the weekday pins the year.
_BROADCAST_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日\s*[(（]([月火水木金土日])[)）]\s*(?:に)?放送")
_FULL_DATE = re.compile(r"(20\d{2}|19\d{2})年(\d{1,2})月(\d{1,2})日")


def date_from_filename(stem: str) -> str | None:
    for m in _FILE_DATE.finditer(stem):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            continue
    return None


def _year_for_weekday(month: int, day: int, weekday: str, reference_year: int) -> int | None:
    """The year nearest to (and not after) reference_year + 1 in which month/day falls on weekday."""
    for year in (reference_year, reference_year - 1, reference_year + 1, *range(reference_year - 2, reference_year - 7, -1)):
        try:
            if _WEEKDAYS[dt.date(year, month, day).weekday()] == weekday:
                return year
        except ValueError:
            continue
    return None


def date_from_text(text: str, today: dt.date) -> str | None:
    """'7月5日(水)放送' resolved to a year by its weekday, near any full date printed on the page."""
    m = _BROADCAST_DAY.search(text)
    if not m:
        return None
    month, day, weekday = int(m.group(1)), int(m.group(2)), m.group(3)
    full = _FULL_DATE.search(text)
    reference = int(full.group(1)) if full else today.year
    year = _year_for_weekday(month, day, weekday, reference)
    return dt.date(year, month, day).isoformat() if year else None
