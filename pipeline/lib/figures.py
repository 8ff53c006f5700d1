"""Figures in Japanese text: every number with its unit, counts, money, percentages, dates and times, normalised.

A pure-function library: `FigureExtractor()(text, air_date)` returns `Figure` records. pynormalizenumexp finds
numbers with counters (it reads 二兆円, 1,291件, 10割, 十数件, １，２００円), ja-timex finds dates, times and
durations; the rules here add what they miss or get wrong (qualifiers, signs, 52の市区, exchange rates, relative
dates, periods of business news, centuries, year resolution, the counted noun). Both libraries are loaded once
per extractor, on first use.

Output forms (decisions, so that consumers can rely on them):

- `value` is the figure as said, a float in base units (二兆円 → 2e12, 10割 → 100.0 with unit %). Qualifiers do
  not move it: 約4,000品目 is value 4000 with qualifier approx (pynormalizenumexp would say 2800-5200).
  A range keeps its ends in `value` and `value_max` (10〜20% → 10, 20); vague numerals are ranges too
  (十数件 → 11, 19, approx). マイナス/▲/△/− make the value negative (マイナス0.6% → -0.6).
- Ranges are not a kind of their own: `kind` says what is measured (10〜20% is a percent, 5月23日〜6月19日 a
  date) and a range shows as `value_max` or an ISO interval in `iso`.
- `unit`: currencies as ISO 4217 codes (円 → JPY, ドル → USD, ...), `%` for パーセント/割, pynormalizenumexp's
  unit for measures (m, g, 度, ...), otherwise the counter as written and normalised by pynormalizenumexp (件, 人,
  品目, 自治体). A per-period rate keeps the period (月2万円 → JPY/month). Durations use 年, か月, 週, 日, 時間,
  分, 秒.
- Exchange rates: 1ドル=150円台 is one figure, kind money, value 150 (yen per one dollar), unit "JPY/USD",
  qualifier approx (台: "in the 150s").
- Percent changes stay kind percent; the comparison they are against goes to `basis` (前年同月比2.8% → basis
  前年同月比). Words like 上昇/下落 do not change the sign; only an explicit minus does.
- `qualifier`: at_least (少なくとも, 以上, 以降, 以来, から), more_than (を超える, 超, 余り, 強), approx (約, およそ,
  程度, ほど, 前後, 頃, 台, 規模, vague numerals), at_most (以下, まで, 以内, 遅くとも, 最大), less_than (未満,
  を下回る, 弱). The qualifier's words are part of `text` (少なくとも318件). One qualifier per figure: a word
  inside the library's match first, then one just before, then one just after. Date and time ranges take none
  (the まで of 18日から19日まで closes the range).
- `iso` (dates, times, durations; null for other kinds), ISO 8601 at the precision said:
  day "2023-06-17", month "2023-08", year "2024", ISO week "2023-W28" (来週), date+time "2023-07-13T04:59",
  time "06:00" (seconds when said: "23:59:59"); intervals with "/": a date range "2023-05-23/2023-06-19", a time
  range "06:00/09:00", a season "2024-09/2024-11" (春 3-5月, 夏 6-8月, 秋 9-11月, 冬 12-2月), a fiscal year (年度)
  "2024-04/2025-03", 上旬/中旬/下旬 "2024-03-01/2024-03-10" etc., a decade (90年代) "1990/1999"; 月末 is the
  month's last day with qualifier approx (月末日: exactly).
  Periods of business news are intervals of months: a quarter 2024年第1四半期 / 2024年Q1 / 2024年1Q
  "2024-01/2024-03", 2024年度第1四半期 "2024-04/2024-06"; a months' period 2024年4〜6月期 "2024-04/2024-06"
  (2023年度1-3月期 "2024-01/2024-03"); a half 2024年度上期 "2024-04/2024-09", 2024年上半期 / 2024年前半
  "2024-01/2024-06"; a fiscal year by its closing month 2025年3月期 "2024-04/2025-03" (2025年3月期第1四半期
  "2024-04/2024-06"). A quarter or half counts in the year said with it: a calendar year (年), a fiscal year from
  April (年度) or the fiscal year closing in a month (年M月期). Intervals, not ISO 8601-2's sub-year groupings
  (2024-33 a first quarter, 2024-40 a first half): a consumer filtering by date range reads both ends with any
  ISO date parser (the season codes need an EDTF parser), and the quarters of a fiscal year closing in May are
  no calendar quarters.
  A century is an interval of years, strictly: 21世紀 "2001/2100", 19世紀前半 "1801/1850"; before the common era
  the years are astronomical (ISO 8601 expanded, EDTF level 1): 紀元前202年 "-0201" (1 BC is "0000"), 紀元前3世紀
  "-0299/-0200".
  A TV listing's hour past midnight (25時) is the clock time of the next day: "01:00", and its date moves on a day
  (7月5日25時 "2023-07-06T01:00"); 24時 is "00:00" (ISO 8601-1:2019 has no hour 24).
  An open end is not written into `iso`: 5月以降 is iso "2023-05" with qualifier at_least, so `iso` always parses
  as a date, a time or an interval. Durations are ISO durations ("P3M", "PT30M") with `value` and `unit` too;
  several units give the value in the last unit said when it converts exactly (1時間30分 → 90 分, 1年2か月 →
  14 か月), else value and unit null (1年2か月10日). Minutes or seconds without an hour (30分, 59分59秒) are a
  duration.
- Year resolution: a date without a year takes the year (air year -1, 0 or +1) that puts it nearest the air
  date; a weekday in the text (6月17日(土)) first narrows the candidates to the years where that weekday is
  right. A day without a month (21日) takes the nearest month the same way. The end of a range inherits the
  start's month and year and moves a year on if it would fall before the start. A months' period without a year
  (4〜6月期) resolves like a month range; a quarter or half without the year it counts in (第1四半期, 上期: a
  company's first quarter is often April to June) gets iso null, and so does 3月期 (a fiscal year closing in March
  of a year not said). 来年/今年/昨年/去年/再来年/一昨年/おととし, 来月/今月/先月/再来月/先々月,
  来週/今週/先週/再来週/先々週, 今日/本日/きょう/明日/あす/明後日/明々後日/昨日/一昨日/一昨昨日 and
  今世紀/前世紀/来世紀 count from the air date; 今年度/来年度 from the fiscal year it falls in (in February 2024,
  今年度 is "2023-04/2024-03"). Without an air date the unknown year is written "XXXX" (ISO 8601-2 unspecified
  digits: "XXXX-06-17", "XXXX-06", "XXXX-XX-18", "XXXX-04/XXXX-06") and relative words get iso null; a date-time
  without its year keeps the date only ("XXXX-07-13"): EDTF has no unspecified digits in a date-time.
- `counted` (count, money, percent, ratio and quantity figures; null for dates and times), the first rule
  that applies:
  1. 52の市区 / 123の自治体: the noun after の is the unit and what is counted;
  2. the figure (with its qualifier) followed by の + noun: that noun (318件の返納 → 返納);
  3. a figure ending in a verb qualifier (を超える, を下回る, ...) followed by a noun: that noun
     (2兆円を超える予算 → 予算);
  4. a figure followed directly by another noun (10割負担) is a compound: null, unless the noun is a change word
     (上昇, 下落, 値上げ, ...), then rule 5;
  5. a noun marked by を right before the figure: 初任給を33万円に引き上げ → 初任給;
     else the nearest noun before the figure in the same sentence marked by が or は (not では/には/とは), skipping
     nouns that are part of another figure (4月は): マイナンバーカードの自主返納が…318件 → 自主返納.
  In rule 2 a noun that says what the figure is rather than what it counts (18度の予想, 2.8%の上昇) goes on to
  rule 5.
  A noun is a run of kanji/katakana/latin letters (allowing 上げ-style okurigana); no morphological analysis.
- Not figures: a weekday alone (月曜), numbers inside URLs, a lone kanji 一 (一人, 一度: nearly always idiom),
  a kanji-numeral count inside a kanji word (六本木, 十人十色; 計三人 stays), 五輪, 5G,
  前年 in 前年同月比 (it is the basis), Q1/1Q without a year (a quiz question, 1Q84), 上期 inside a word
  (計上期間), a century in a name (20世紀梨, 21世紀型) or with a part not placed (19世紀末, 今世紀中), a piece of
  a longer number (30時 is no 0時, 23.5時 no 5時), an ordinal (1時間目, 1世紀目), 半月板, a fiscal year in two
  digits (24年度: 平成 or 20xx; ja-timex reads 24 years). A number of years below 100 is a length of time
  (1年くらい), never the year 1. Kanji numerals are read in dates only (三月十一日, 二〇二五年度: turned into digits
  first, as ja-timex runs with ignore_kansuji: its character offsets are wrong after a kanji numeral it has
  rewritten); 三時間 is not read.

Input is processed line by line; `start`/`end` are offsets in the string given. Full-width ASCII is folded to
ASCII for matching (same length, so offsets hold) and `text` is always the original surface.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from pipeline.records import Figure, Qualifier
from pipeline.text.sentences import bounded

# --- character classes and word tables (immutable) -------------------------------------------------------------

# Full-width ASCII and the ideographic space fold to ASCII one character for one, so offsets are kept.
_FOLD = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}
_KANJI_KATA = "一-龥々〆ヵヶァ-ヴーA-Za-z"
# A noun: kanji/katakana/latin runs, allowing okurigana inside and at the end (値上げ, 引き上げ, 賃上げ率, 残り,
# 申し込み).
_NOUN = rf"(?:[{_KANJI_KATA}]+[きりしげ])*[{_KANJI_KATA}]+[げりみ]?"
_NOUN_RE = re.compile(_NOUN)
_NUMERAL_WORDS = {"五輪"}  # words pynormalizenumexp reads as counts
_NOT_UNITS = {"G"}  # 5G is a network generation, not five gauss

# (words, qualifier); matched longest first.
_PREFIXES: tuple[tuple[str, Qualifier], ...] = tuple(sorted((
    ("少なくとも", "at_least"), ("最低でも", "at_least"), ("最低", "at_least"), ("早くとも", "at_least"),
    ("早ければ", "at_least"),
    ("多くとも", "at_most"), ("多くても", "at_most"), ("遅くとも", "at_most"), ("最大で", "at_most"),
    ("最大", "at_most"), ("最長", "at_most"),
    ("約", "approx"), ("およそ", "approx"), ("おおよそ", "approx"), ("だいたい", "approx"), ("ほぼ", "approx"),
    ("ざっと", "approx"), ("概ね", "approx"), ("おおむね", "approx"), ("ほとんど", "approx"),
), key=lambda p: -len(p[0])))
_SUFFIXES: tuple[tuple[str, Qualifier], ...] = tuple(sorted((
    ("以上", "at_least"), ("以降", "at_least"), ("以後", "at_least"), ("以来", "at_least"), ("から", "at_least"),
    ("を超える", "more_than"), ("を超え", "more_than"), ("を上回る", "more_than"), ("を上回り", "more_than"),
    ("超える", "more_than"), ("超え", "more_than"), ("越え", "more_than"), ("超", "more_than"),
    ("余り", "more_than"), ("あまり", "more_than"), ("強", "more_than"),
    ("程度", "approx"), ("ほど", "approx"), ("前後", "approx"), ("くらい", "approx"), ("ぐらい", "approx"),
    ("ばかり", "approx"), ("近く", "approx"), ("近い", "approx"), ("頃", "approx"), ("ごろ", "approx"), ("台", "approx"),
    ("規模", "approx"),
    ("以下", "at_most"), ("以内", "at_most"), ("以前", "at_most"), ("まで", "at_most"), ("迄", "at_most"),
    ("未満", "less_than"), ("を下回る", "less_than"), ("を下回り", "less_than"), ("弱", "less_than"),
    ("足らず", "less_than"), ("に満たない", "less_than"),
), key=lambda p: -len(p[0])))
# Qualifiers that are verb or adjective forms: the noun right after them is what the figure counts.
_ADNOMINAL = ("を超える", "を上回る", "を下回る", "超える", "に満たない", "近い")
_SIGNS_INSIDE = ("マイナス", "▲", "△", "−", "-")  # at the start of pynormalizenumexp's span (-0.6%)
_SIGNS_OUTSIDE = ("マイナス", "▲", "△", "−")  # ASCII "-" outside a span is more often a hyphen
_CHANGE_WORDS = re.compile(r"(?:上昇|下落|増加|減少|低下|上回|下回|増|減|高|安|アップ|ダウン|値上げ|値下げ|"
                           r"値上がり|値下がり|引き上げ|引き下げ)")
# Nouns after の that say what the figure is (18度の予想, 2.8%の上昇), not what it counts.
_PREDICATE_NOUNS = re.compile(r"(?:予想|見込み|見通し|水準|予定|計画|方針|見方|可能性|割合|ペース|状態|まま|ほう|方)$")
_BASIS = re.compile(r"((?:前年同月|前年同期|前年同日|前年度|前年|前月|前期|前週|前日|前回|昨年同月|昨年同期|昨年|"
                    r"去年|平年|例年)比)(?:で|は|では)?[、,\s]*$")
_CURRENCIES = {"円": "JPY", "ドル": "USD", "米ドル": "USD", "ユーロ": "EUR", "ポンド": "GBP", "元": "CNY",
               "人民元": "CNY", "ウォン": "KRW", "カナダドル": "CAD", "豪ドル": "AUD", "スイスフラン": "CHF"}
_MEASURES = {"度", "℃", "℉", "ポイント"}  # plus pynormalizenumexp's SI units (ASCII counters: m, g, l, ...)
_RATE_BEFORE = re.compile(r"(\d+(?:\.\d+)?)?(米ドル|豪ドル|カナダドル|ドル|ユーロ|ポンド|人民元|元)\s*=?\s*$")
_BARE_OF_NOUN = re.compile(rf"(?<![A-Za-z\d.,\-])(\d{{1,3}}(?:,\d{{3}})+|\d+)の({_NOUN})")
_URL = re.compile(r"https?://\S+")
_SENTENCE_END = re.compile(r"[。！？!?]")
_RANGE_MARK = re.compile(r"\s*(?:〜|~|ー|－|-|−|から)\s*")
_AMPM_BEFORE = re.compile(r"(AM|PM|am|pm|a\.m\.|p\.m\.|午前|午後)\s*$")
_REL_YEAR = re.compile(rf"(再来年|一昨年|おととし|来年|今年|本年|昨年|去年)(?!同|比)"
                       rf"(?:(度)|の?(春|夏|秋|冬)(?![{_KANJI_KATA}])|(\d{{1,2}})月(?:(\d{{1,2}})日)?)?")
_REL_MONTH = re.compile(r"(再来月|先々月|先月|今月|来月)(?!比)(?:(\d{1,2})日)?")
# NHK style writes きょう/あす in kana: accept them only before a particle, punctuation or kanji (not きょうだい).
_REL_DAY = re.compile(r"(一昨昨日|一昨々日|一昨日|昨日|今日|本日|明々後日|明明後日|明後日|明日|"
                      r"(?:きょう|あす|あした)(?=[はのもにへ、。,\s]|から|まで|[一-龥]|$))")
_REL_WEEK = re.compile(r"(再来週|先々週|先週|今週|来週)")
# 今世紀, not 前世紀的 (old-fashioned), 今世紀末 or 今世紀中 (a part of the century: not read)
_REL_CENTURY = re.compile(rf"(前|今|来)世紀(?![{_KANJI_KATA}])")
_YEAR_OFFSET = {"一昨年": -2, "おととし": -2, "昨年": -1, "去年": -1, "今年": 0, "本年": 0, "来年": 1, "再来年": 2}
_MONTH_OFFSET = {"先々月": -2, "先月": -1, "今月": 0, "来月": 1, "再来月": 2}
_DAY_OFFSET = {"一昨昨日": -3, "一昨々日": -3, "一昨日": -2, "昨日": -1, "今日": 0, "本日": 0, "きょう": 0, "明日": 1,
               "あす": 1, "あした": 1, "明後日": 2, "明々後日": 3, "明明後日": 3}
_WEEK_OFFSET = {"先々週": -2, "先週": -1, "今週": 0, "来週": 1, "再来週": 2}
_CENTURY_OFFSET = {"前": -1, "今": 0, "来": 1}
_SEASONS = {"春": (3, 5), "夏": (6, 8), "秋": (9, 11), "冬": (12, 14), "SP": (3, 5), "SU": (6, 8),
            "FA": (9, 11), "WI": (12, 14)}  # month 14 = February of the next year
_MONTH_PARTS = ("上旬", "初旬", "中旬", "下旬", "末日", "末", "初め")  # 末日 before 末: 3月末日 is not 3月末 + 日
_DURATION_UNITS = {"Y": "年", "M": "か月", "W": "週", "D": "日", "TH": "時間", "TM": "分", "TS": "秒"}
# Several units (1時間30分) convert exactly only within these chains: the value is given in the last unit said.
_DURATION_FACTORS = {("Y", "M"): 12, ("W", "D"): 7, ("TH", "TM"): 60, ("TM", "TS"): 60}
_NEXT_UNIT = {unit: smaller for unit, smaller in _DURATION_FACTORS}
# What follows a year, never a length of time: 24年4〜6月期 is a year in two digits (which we do not place)
_ABBREVIATED_YEAR_BEFORE = re.compile(r"\d{1,2}月|\d{1,2}[-~〜ー−]\d{1,2}月|第[1-4]四半期|[1-4]Q|Q[1-4]|上期|下期|上半期|下半期")
# Words after a century that measure an amount of time (1世紀近く), where 頃, 前後 place a time (16世紀頃)
_AMOUNT_WORDS = ("近く", "くらい", "ぐらい", "ばかり", "余り", "あまり")
_ERAS = {"令和": 2018, "平成": 1988}  # era year 1 (元年) is base + 1
# Periods of business and economic news: a quarter (第1四半期, 1Q, Q1), a half (上期, 下半期, 前半), a months'
# period (4〜6月期, 1-3月期) and a fiscal year by its closing month (2025年3月期), with the year they count in: a
# calendar year (2024年), a fiscal year from April (2024年度, 今年度) or a fiscal year closing in a month (2025年3月期).
_PERIOD = re.compile(
    r"(?<![\d.,/\-])"
    r"(?:(?:(?P<year>\d{4})|(?P<era>令和|平成)(?P<era_year>\d{1,2}|元)|(?P<rel>再来|一昨|今|本|来|昨|去))年"
    r"(?:(?P<fiscal>度)|(?P<closing>\d{1,2})月期)?(?:の(?=第|[1-4]Q|Q|上|下|前半|後半|\d))?)?"
    r"(?:第(?P<quarter>[1-4])四半期|(?P<latin>[1-4]Q|Q[1-4])(?![A-Za-z\d])"
    r"|(?P<half>上半期|下半期|上期|下期|前半|後半)"
    r"|(?P<first>\d{1,2})月?[-~〜ー−](?P<last>\d{1,2})月(?P<ki>期)?(?![\d日])"
    r"|(?P<closing_alone>\d{1,2})月期)?"
)

_COUNTED_KINDS = {"count", "money", "percent", "ratio", "quantity"}


# --- internal candidates ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _When:
    """Date and/or time parts as read, before the year is resolved; or a ready ISO string."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None  # 0 = Monday, as datetime.date.weekday()
    part: str | None = None  # 上旬/中旬/下旬/末 of a month
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    iso: str | None = None  # already resolved (relative words, seasons, fiscal years, durations)

    @property
    def has_date(self) -> bool:
        return self.year is not None or self.month is not None or self.day is not None

    @property
    def has_time(self) -> bool:
        return self.hour is not None


@dataclass(frozen=True)
class _Atom:
    """A candidate figure inside one line (offsets in the line) before qualifiers and merging."""

    start: int
    end: int
    kind: str  # a FigureKind, or "weekday" (only confirms a date's year, never output)
    value: float | None = None
    value_max: float | None = None
    unit: str | None = None
    qualifier: Qualifier | None = None
    counted: str | None = None
    when: _When | None = None
    until: _When | None = None  # end of a date or time range


class FigureExtractor:
    """Finds and normalises figures; `extractor(text, air_date)` → list of Figure, in text order.

    pynormalizenumexp and ja-timex load on first use and stay with the instance (make one per process).
    """

    @cached_property
    def _numexp(self) -> Any:
        try:
            from pynormalizenumexp.normalize_numexp import NormalizeNumexp
        except ImportError as e:
            raise RuntimeError("figures need pynormalizenumexp (pip install pynormalizenumexp==0.3.4)") from e
        return NormalizeNumexp("ja")

    @cached_property
    def _timex(self) -> Any:
        try:
            from ja_timex import TimexParser
            from ja_timex.number_normalizer import NumberNormalizer
        except ImportError as e:
            raise RuntimeError("figures need ja-timex (pip install ja-timex==0.2.8)") from e
        # Our own NumberNormalizer: TimexParser's default one is a shared default argument that
        # ignore_kansuji would change for every other parser in the process.
        return TimexParser(number_normalizer=NumberNormalizer(), ignore_kansuji=True)

    @staticmethod
    def identity() -> str:
        """The libraries whose tables decide the result (part of the record's provenance)."""
        from importlib.metadata import version

        return f"pynormalizenumexp=={version('pynormalizenumexp')}+ja-timex=={version('ja-timex')}"

    def __call__(self, text: str, air_date: dt.date | str | None, max_line_chars: int) -> list[Figure]:
        """Figures of every line; a line longer than max_line_chars is read in pieces cut at sentence ends (the
        rules cost more than linearly in the length of what they read)."""
        air = dt.date.fromisoformat(air_date) if isinstance(air_date, str) else air_date
        figures: list[Figure] = []
        for m in re.finditer(r"[^\n]+", text):
            for start, end in bounded(text, m.start(), m.end(), max_line_chars):
                figures += [f.model_copy(update={"start": f.start + start, "end": f.end + start})
                            for f in self.line_figures(text[start:end], air)]
        return figures

    def line_figures(self, line: str, air: dt.date | None) -> list[Figure]:
        """Figures of one line (offsets in the line)."""
        norm = line.translate(_FOLD)
        # periods before ja-timex's atoms: on the same span (2021年前半) the period wins
        atoms = self._numbers(norm) + _period_atoms(norm, air) + self._timex_atoms(norm) + _relative_atoms(norm, air)
        atoms = _drop_overlaps(atoms, [m.span() for m in _URL.finditer(norm)])
        atoms = _merge_temporal(norm, _attach_weekdays(norm, atoms))
        figures = [_to_figure(line, norm, a, air) for a in atoms]
        spans = [(f.start, f.end) for f in figures]
        return [f.model_copy(update={"counted": _counted(norm, f, spans)}) if f.kind in _COUNTED_KINDS and f.counted is None
                else f for f in figures]

    # --- numbers (pynormalizenumexp + rules) ---

    def _numbers(self, norm: str) -> list[_Atom]:
        atoms = []
        for r in self._numexp.normalize(norm):
            if r.type != "numerical":
                continue  # dates, times and durations come from ja-timex, which reads 5年ぶり right
            s, e = _locate(norm, r.original_expr, r.position_start)
            if s < 0:
                continue
            counter = r.counter
            if counter.endswith("前") and norm[e:e + 1] == "後":  # 300人前後 is 300人 + 前後, not 人前
                counter, e = counter[:-1], e - 1
            atom = self._number_atom(norm, s, e, counter, (r.value_lower_bound, r.value_upper_bound))
            if atom is not None:
                atoms.append(atom)
        atoms += _bare_numbers(norm)
        return _exchange_rates(norm, atoms)

    def _number_atom(self, norm: str, s: int, e: int, counter: str, bounds: tuple[float, float]) -> _Atom | None:
        cs, ce, qualifier, negative = _strip_inside(norm, s, e, counter)
        core = norm[cs:ce]
        if re.fullmatch(r"一[^0-9〇一二三四五六七八九十百千万億兆]*", core):
            return None  # 一人, 一度, もう一度: idiom far more often than a count
        kind, unit = _kind_and_unit(counter, core)
        if _is_word_not_count(norm, cs, ce, core, kind, unit):
            return None
        low, high = self._core_bounds(core, bounds)
        if low is None:
            return None
        if "数" in core and qualifier is None:
            qualifier = "approx"  # 十数件, 数百人
        if negative:
            low, high = -low, -high
        return _Atom(s, e, kind, _clean(low), _clean(high) if high != low else None, unit, qualifier)

    def _core_bounds(self, core: str, bounds: tuple[float, float]) -> tuple[float | None, float | None]:
        """The number as said: re-read the core without its qualifier words (約 would scale it to 0.7-1.3)."""
        for r in self._numexp.normalize(core):
            if r.type == "numerical" and r.position_start == 0 and r.position_end == len(core):
                low, high = r.value_lower_bound, r.value_upper_bound
                if abs(low) != float("inf") and abs(high) != float("inf"):
                    return low, high
        finite = [b for b in bounds if abs(b) != float("inf")]
        return (finite[0], finite[0]) if finite else (None, None)

    # --- dates, times, durations (ja-timex + rules) ---

    def _timex_atoms(self, norm: str) -> list[_Atom]:
        """Dates, times and durations; kanji numerals of a date are read as digits first (ASR writes 三月十一日,
        which ja-timex does not read), the atoms' offsets mapped back to the text as written."""
        arabic, origin = arabic_dates(norm)
        if arabic == norm:
            return self._timex_atoms_of(norm)
        return [replace(a, start=origin[a.start], end=origin[a.end - 1] + 1) for a in self._timex_atoms_of(arabic)]

    def _timex_atoms_of(self, norm: str) -> list[_Atom]:
        atoms = []
        for tag in self._timex.parse(norm):
            s, e = _locate(norm, tag.text, tag.span[0])
            if s < 0:
                continue
            if re.search(r"\d[.]?$", norm[:s]):
                continue  # 30時 read as 0時, 23.5時 as 5時: a piece of a longer number
            if (m := re.fullmatch(r"(\d+)年", norm[s:e])) and norm.startswith("代", e):
                atoms.append(_decade(s, e + 1, int(m.group(1))))  # 90年代: ja-timex reads 90 years
                continue
            if tag.type == "DURATION" and _ABBREVIATED_YEAR_BEFORE.match(norm, e):
                continue  # 24年4〜6月期, 24年1Q: a year written with two digits, not 24 years
            if norm[s:e].endswith("年") and norm.startswith("度", e):
                # 令和6年度: ja-timex reads the year; 24年度 (a fiscal year we cannot place) it reads as 24 years
                if tag.type == "DATE" and (m := re.fullmatch(r"(\d{4})-XX-XX", tag.value)) and int(m.group(1)) >= 1000:
                    atoms.append(_Atom(s, e + 1, "date", when=_When(iso=_fiscal_iso(int(m.group(1))))))
                continue
            atom = _timex_atom(norm, s, e, tag.type, tag.value, tag.text)
            if atom is None:
                continue
            # 5月以降 is one match; in 1年ほど前 the qualifier stands before 前/後 (ago, later)
            said = re.sub(r"(?<=[^前])(?:前|後|まえ|あと)$", "", tag.text) if tag.type == "DURATION" else tag.text
            inner = next((q for word, q in _SUFFIXES if said.endswith(word)), None)
            atoms.append(replace(atom, qualifier=atom.qualifier or inner))
        return atoms


# --- pure helpers ---------------------------------------------------------------------------------------------------


_KANJI_DIGIT = {ch: i for i, ch in enumerate("〇一二三四五六七八九")}
# A year or a month in kanji numerals, with the day after it: 十分 (enough), 一時 (for a while) and 一日 (a day) alone
# are words, not times.
_KANJI_DATE = re.compile(r"[〇一二三四五六七八九十]+(?=[年月])|(?<=月)(?:[一二三四五六七八九十]+(?=日)|ついたち)")


def _kanji_number(text: str) -> int | None:
    """三 -> 3, 十一 -> 11, 二十 -> 20, 二〇二五 -> 2025; None for what a date does not hold (百, 十十)."""
    if text == "ついたち":
        return 1
    if "十" not in text:
        return int("".join(str(_KANJI_DIGIT[ch]) for ch in text))
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_KANJI_DIGIT[tens] if tens else 1) * 10 + (_KANJI_DIGIT[ones] if ones else 0)


def arabic_dates(norm: str) -> tuple[str, list[int]]:
    """norm with the kanji numerals of years, months and the days after them (and ついたち) in digits, and for each
    of its characters the offset in norm it comes from (a number's last digit from the numeral's last character)."""
    out: list[str] = []
    origin: list[int] = []
    position = 0
    for m in _KANJI_DATE.finditer(norm):
        number = _kanji_number(m.group())
        if number is None:
            continue
        out.append(norm[position : m.start()])
        origin.extend(range(position, m.start()))
        digits = f"{number}日" if m.group() == "ついたち" else str(number)
        out.append(digits)
        origin.extend([m.start()] * (len(digits) - 1) + [m.end() - 1])
        position = m.end()
    out.append(norm[position:])
    origin.extend(range(position, len(norm)))
    return "".join(out), origin


def _locate(norm: str, expr: str, near: int) -> tuple[int, int]:
    """Offsets of a library's match, checked against the text (a library may count offsets differently)."""
    expr = expr.translate(_FOLD)
    if norm[near:near + len(expr)] == expr:
        return near, near + len(expr)
    found = norm.find(expr, max(0, near - 5))
    return (found, found + len(expr)) if found >= 0 else (-1, -1)


def _strip_inside(norm: str, s: int, e: int, counter: str) -> tuple[int, int, Qualifier | None, bool]:
    """The core of a library span without qualifier words and sign, with what was stripped."""
    qualifier: Qualifier | None = None
    negative = False
    for word, q in _PREFIXES:
        if norm.startswith(word, s) and s + len(word) < e:
            s, qualifier = s + len(word), q
            break
    for sign in _SIGNS_INSIDE:
        if norm.startswith(sign, s) and s + len(sign) < e:
            s, negative = s + len(sign), True
            break
    if norm.startswith("プラス", s):
        s += 3
    for word, q in _SUFFIXES:
        # never strip the counter itself (3台 is three machines, not "in the 3s")
        if norm.endswith(word, s, e) and word != counter and re.search(r"[0-9〇一二三四五六七八九十百千万億兆]",
                                                                       norm[s:e - len(word)]):
            e, qualifier = e - len(word), qualifier or q
            break
    return s, e, qualifier, negative


def _is_word_not_count(norm: str, s: int, e: int, core: str, kind: str, unit: str) -> bool:
    """五輪, 六本木, 十人十色, 5G: a numeral that is part of a word or name, not a figure."""
    if core in _NUMERAL_WORDS or (kind == "quantity" and unit in _NOT_UNITS):
        return True
    if kind != "count" or re.search(r"\d", core):
        return False
    # a kanji numeral inside a longer kanji word; 計三人, 約三万人 and the like are still counts
    before, after = norm[s - 1:s], norm[e:e + 1]
    return bool(re.fullmatch(r"[一-龥]", after) or (re.fullmatch(r"[一-龥]", before) and before not in "計全各約第毎総同"))


def _clean(x: float) -> float:
    """Drop binary noise from the library's arithmetic (0.6000000000000001 → 0.6)."""
    return float(f"{x:.12g}")


def _kind_and_unit(counter: str, core: str) -> tuple[str, str]:
    base, _, per = counter.partition("/")
    per = f"/{per}" if per else ""
    if base in _CURRENCIES:
        return "money", _CURRENCIES[base] + per
    if base == "%":
        return "percent", "%" + per
    if base == "倍":
        return "ratio", "倍"
    if base in _MEASURES or (base.isascii() and base):
        return "quantity", counter
    if base in ("品", "項", "種") and core.endswith(base + "目"):
        return "count", base + "目"  # pynormalizenumexp reads 品目 as 品 + ordinal 目
    return "count", counter


def _bare_numbers(norm: str) -> list[_Atom]:
    """52の市区, 123の自治体: a number with no counter, then の and the noun it counts."""
    atoms = []
    for m in _BARE_OF_NOUN.finditer(norm):
        noun = m.group(2)
        atoms.append(_Atom(m.start(), m.end(), "count", float(m.group(1).replace(",", "")), None, noun,
                           counted=noun))
    return atoms


def _exchange_rates(norm: str, atoms: list[_Atom]) -> list[_Atom]:
    """1ドル=150円台: one figure, yen per unit of the other currency (the 1ドル and 150円台 atoms lose on overlap)."""
    out = list(atoms)
    for a in atoms:
        if a.kind != "money" or a.unit != "JPY" or a.value is None:
            continue
        m = _RATE_BEFORE.search(norm, 0, a.start)
        if m is None:
            continue
        per = float(m.group(1)) if m.group(1) else 1.0
        out.append(replace(a, start=m.start(), value=_clean(a.value / per),
                           value_max=_clean(a.value_max / per) if a.value_max is not None else None,
                           unit=f"JPY/{_CURRENCIES[m.group(2)]}"))
    return out


def _timex_atom(norm: str, s: int, e: int, type_: str, value: str, text: str) -> _Atom | None:
    if type_ == "DATE":
        if m := re.fullmatch(r"(\d{4}|XXXX)-(\d{2}|XX)-(\d{2}|XX)", value):
            y, mo, d = (None if g.startswith("X") else int(g) for g in m.groups())
            if y is None and mo is None and d is None:
                return None
            if y is not None and y < 100:  # 1年くらい, 13/8, 4-6月: nobody means the years 1-99 (ja-timex's 0001)
                n = re.match(r"(\d+)年", text)
                return _Atom(s, e, "duration", float(n.group(1)), None, "年", when=_When(iso=f"P{int(n.group(1))}Y")) \
                    if n and mo is None and d is None else None
            part = next((p for p in _MONTH_PARTS if text.endswith(p)), None)
            if part is None and mo is not None and d is None:
                part = next((p for p in _MONTH_PARTS if norm.startswith(p, e)), None)  # 3月下旬: ja-timex stops at 月
                e += len(part or "")
            return _Atom(s, e, "date", qualifier="approx" if part == "末" else None,
                         when=_When(year=y, month=mo, day=d, part=part))
        if m := re.fullmatch(r"XXXX-WXX-(\d)", value):
            return _Atom(s, e, "weekday", when=_When(weekday=int(m.group(1)) - 1))
        if m := re.fullmatch(r"(\d{4})-(SP|SU|FA|WI)", value):
            return _Atom(s, e, "date", when=_When(iso=_season_iso(int(m.group(1)), m.group(2))))
        if m := re.fullmatch(r"FY(\d{4})", value):
            return _Atom(s, e, "date", when=_When(iso=_fiscal_iso(int(m.group(1)))))
        if m := re.fullmatch(r"(BC)?(\d{2})XX", value):
            return _century(norm, s, e, int(m.group(2)) + 1, bc=bool(m.group(1)), text=text)
        if m := re.fullmatch(r"BC(\d{4})", value):  # 紀元前202年: astronomical year -201 (1 BC is year 0)
            return _Atom(s, e, "date", when=_When(iso=_year_iso(1 - int(m.group(1)))))
        return None
    if type_ == "TIME":
        m = re.fullmatch(r"T(\d{2}|XX)-(\d{2}|XX)-(\d{2}|XX)", value)
        if m is None:
            return None
        hour, minute, second = (None if g == "XX" else int(g) for g in m.groups())
        if hour is None:  # "30分", "59分59秒" alone are a length of time, not a time of day; 1分目 an ordinal
            return _duration_atom(s, e, f"PT{minute}M" if second is None else
                                  f"PT{minute}M{second}S" if minute else f"PT{second}S") \
                if (minute is not None or second is not None) and not norm.startswith("目", e) else None
        if ampm := _AMPM_BEFORE.search(norm, 0, s):  # AM 4:59: ja-timex reads 午前/午後 but not AM/PM
            s = ampm.start()
            if ampm.group(1).lower().startswith("p") and hour < 12:
                hour += 12
        return _Atom(s, e, "time", when=_When(hour=hour, minute=minute or 0, second=second))
    # 来年, 明日 come as durations too (see _relative_atoms); 半年, 四半世紀 are lengths of time, 半月板 a knee part
    if type_ == "DURATION" and (re.search(r"\d", text) or re.match(r"四?半(?:世紀|年|日|月(?![板形状型]))", norm[s:])):
        if norm.startswith("目", e):
            return None  # 1時間目, 1分目: a school period, an ordinal
        if m := re.fullmatch(r"(\d{2})XX", value):  # 1世紀前: ja-timex writes the century
            n = re.match(r"(\d+)世紀(?!目)", text)  # 1世紀目: the first century of something, from an unknown start
            return _duration_atom(s, e, f"P{int(n.group(1)) * 100}Y") if n else None
        return _duration_atom(s, e, value)
    return None


def _duration_atom(s: int, e: int, iso: str) -> _Atom | None:
    """A length of time from its ISO duration; several units (PT1H30M) give the value in the last unit said when
    it converts exactly (90 分), else value and unit null (P1Y2M10D)."""
    m = re.fullmatch(r"P(?:([\d.]+)Y)?(?:([\d.]+)M)?(?:([\d.]+)W)?(?:([\d.]+)D)?"
                     r"(?:T(?:([\d.]+)H)?(?:([\d.]+)M)?(?:([\d.]+)S)?)?", iso)
    if m is None:
        return None
    parts = [(code, float(n)) for code, n in zip(("Y", "M", "W", "D", "TH", "TM", "TS"), m.groups()) if n is not None]
    if not parts:
        return None
    code, value = parts[0]
    for next_code, n in parts[1:]:
        factor = 1
        while code != next_code and (code, _NEXT_UNIT.get(code)) in _DURATION_FACTORS:
            factor *= _DURATION_FACTORS[(code, _NEXT_UNIT[code])]
            code = _NEXT_UNIT[code]
        if code != next_code:
            return _Atom(s, e, "duration", when=_When(iso=iso))
        value = value * factor + n
    return _Atom(s, e, "duration", _clean(value), None, _DURATION_UNITS[code], when=_When(iso=iso))


def _century(norm: str, s: int, e: int, century: int, bc: bool, text: str) -> _Atom | None:
    """21世紀 → 2001/2100 (the 21st century, strictly), 紀元前3世紀 → -0299/-0200, 19世紀前半 → 1801/1850; a part we
    do not place (19世紀末, 初頭, 半ば) and a name (20世紀梨, 21世紀型) are not read."""
    rest = text[text.index("世紀") + 2:] if "世紀" in text else ""
    if rest in _AMOUNT_WORDS:  # 1世紀近く: nearly a hundred years
        n = re.match(r"(\d+)世紀", text)
        return _duration_atom(s, e, f"P{int(n.group(1)) * 100}Y") if n else None
    half = {"前半": 0, "後半": 1}.get(rest)
    if rest and half is None and not any(rest == word for word, _ in _SUFFIXES):
        return None
    if re.match(rf"[{_KANJI_KATA}]", norm[e:e + 1]) and not any(norm.startswith(word, e) for word, _ in _SUFFIXES):
        return None
    first = -(century * 100 - 1) if bc else (century - 1) * 100 + 1
    if half is not None:
        first += 50 * half
    last = first + (49 if half is not None else 99)
    return _Atom(s, e, "date", when=_When(iso=f"{_year_iso(first)}/{_year_iso(last)}"))


def _decade(s: int, e: int, year: int) -> _Atom:
    """2000年代 → 2000/2009; a two-digit decade is 19xx from 30 up (90年代), else 20xx (20年代)."""
    if year < 100:
        year += 1900 if year >= 30 else 2000
    return _Atom(s, e, "date", when=_When(iso=f"{year}/{year + 9}"))


def _relative_atoms(norm: str, air: dt.date | None) -> list[_Atom]:
    """来年秋, 来年度, 今月20日, 明日, 来週, 今世紀: dates counted from the air date (iso null without one)."""
    atoms = []
    for m in _REL_YEAR.finditer(norm):
        word, fiscal, season, month, day = m.groups()
        y = None
        if air:  # 今年度 in February is the fiscal year that began the April before
            y = (_fiscal_year(air) if fiscal else air.year) + _YEAR_OFFSET[word]
        if y is None:
            iso = None
        elif fiscal:
            iso = _fiscal_iso(y)
        elif season:
            iso = _season_iso(y, season)
        elif month:
            iso = _date_iso(y, int(month), int(day) if day else None)
        else:
            iso = f"{y:04d}"
        atoms.append(_Atom(m.start(), m.end(), "date", when=_When(iso=iso)))
    for m in _REL_MONTH.finditer(norm):
        iso = None
        if air:
            y, mo = _add_months(air.year, air.month, _MONTH_OFFSET[m.group(1)])
            iso = _date_iso(y, mo, int(m.group(2)) if m.group(2) else None)
        atoms.append(_Atom(m.start(), m.end(), "date", when=_When(iso=iso)))
    for m in _REL_DAY.finditer(norm):
        iso = (air + dt.timedelta(days=_DAY_OFFSET[m.group(1)])).isoformat() if air else None
        atoms.append(_Atom(m.start(), m.end(), "date", when=_When(iso=iso)))
    for m in _REL_WEEK.finditer(norm):
        iso = None
        if air:
            year, week, _ = (air + dt.timedelta(weeks=_WEEK_OFFSET[m.group(1)])).isocalendar()
            iso = f"{year}-W{week:02d}"
        atoms.append(_Atom(m.start(), m.end(), "date", when=_When(iso=iso)))
    for m in _REL_CENTURY.finditer(norm):
        iso = None
        if air:
            century = (air.year - 1) // 100 + 1 + _CENTURY_OFFSET[m.group(1)]
            iso = f"{_year_iso((century - 1) * 100 + 1)}/{_year_iso(century * 100)}"
        atoms.append(_Atom(m.start(), m.end(), "date", when=_When(iso=iso)))
    return atoms


def _period_atoms(norm: str, air: dt.date | None) -> list[_Atom]:
    """2024年度第1四半期, 2024年上半期, 4〜6月期, 2025年3月期: periods of business news (see _PERIOD), as an interval
    of months. Without a year a months' period resolves like any month; a quarter or half has no months without
    the year it counts in (a company's 第1四半期 is often April to June): iso null."""
    atoms = []
    for m in _PERIOD.finditer(norm):
        has_year = bool(m["year"] or m["era"] or m["rel"])
        if not (m["quarter"] or m["latin"] or m["half"] or m["first"] or m["closing_alone"] or m["closing"]):
            continue  # a year alone: ja-timex reads it
        if not has_year and (m["latin"] or m["half"] in ("前半", "後半")):
            continue  # Q1 alone is as often a quiz question, 前半 alone the first half of anything
        if not has_year and m["half"] and (re.match(rf"[{_KANJI_KATA}]", norm[m.start() - 1:m.start()])
                                           or re.match(r"[待間限]", norm[m.end():m.end() + 1])):
            continue  # 史上期待, 計上期間: 上期 inside other words
        months = [int(m[g]) for g in ("first", "last", "closing", "closing_alone") if m[g]]
        if not all(1 <= month <= 12 for month in months):
            continue
        basis = _period_basis(m, air)
        if m["first"] and basis is None and not has_year:  # 4〜6月期: the months, resolved like 4月〜6月
            atoms.append(_Atom(m.start(), m.end(), "date", when=_When(month=int(m["first"])),
                               until=_When(month=int(m["last"]))))
            continue
        iso = None
        if basis is not None and not m["closing_alone"]:
            by, bm = basis
            if m["first"]:  # the months in the year counted from the basis: 2023年度1-3月期 is January 2024
                first, last = int(m["first"]), int(m["last"])
                start = (by if first >= bm else by + 1, first)
                length = (last - first) % 12 + 1
            else:
                offset, length = 0, 12  # 2025年3月期: the whole fiscal year
                if quarter := m["quarter"] or (m["latin"] and m["latin"].strip("Q")):
                    offset, length = 3 * (int(quarter) - 1), 3
                elif m["half"]:
                    offset, length = (0 if m["half"][0] in "上前" else 6), 6
                start = _add_months(by, bm, offset)
            end = _add_months(*start, length - 1)
            iso = f"{start[0]:04d}-{start[1]:02d}/{end[0]:04d}-{end[1]:02d}"
        atoms.append(_Atom(m.start(), m.end(), "date", when=_When(iso=iso)))
    return atoms


def _period_basis(m: re.Match[str], air: dt.date | None) -> tuple[int, int] | None:
    """(year, month) where the year a period counts in begins: January of a calendar year, April of a fiscal year
    (年度), the month after the closing month of a fiscal year given by it (2025年3月期: April 2024); None when
    no year is said or a relative year has no air date."""
    if m["year"]:
        y = int(m["year"])
    elif m["era"]:
        y = _ERAS[m["era"]] + (1 if m["era_year"] == "元" else int(m["era_year"]))
    elif m["rel"] and air:
        y = (_fiscal_year(air) if m["fiscal"] else air.year) + _YEAR_OFFSET[m["rel"] + "年"]
    else:
        return None
    if m["fiscal"]:
        return y, 4
    if m["closing"]:
        return _add_months(y, int(m["closing"]), -11)
    return y, 1


def _drop_overlaps(atoms: list[_Atom], urls: list[tuple[int, int]]) -> list[_Atom]:
    """Keep the longest of overlapping candidates (earliest first); drop anything inside a URL."""
    kept: list[_Atom] = []
    for a in sorted(atoms, key=lambda a: (a.start, -(a.end - a.start))):
        if any(a.start < ue and us < a.end for us, ue in urls):
            continue
        if kept and a.start < kept[-1].end:
            continue
        kept.append(a)
    return kept


def _attach_weekdays(norm: str, atoms: list[_Atom]) -> list[_Atom]:
    """6月17日(土): the weekday joins its date (and later confirms the year); a weekday alone is dropped."""
    out: list[_Atom] = []
    for a in atoms:
        if a.kind != "weekday":
            out.append(a)
            continue
        prev = out[-1] if out else None
        if prev and prev.kind == "date" and prev.when and prev.when.day is not None \
                and not norm[prev.end:a.start].strip():
            out[-1] = replace(prev, end=a.end, when=replace(prev.when, weekday=a.when.weekday))
    return out


def _merge_temporal(norm: str, atoms: list[_Atom]) -> list[_Atom]:
    """5月23日〜6月19日 and 6:00〜9:00 become ranges; a date then a time (7月13日 AM 4:59) one date-time."""
    out: list[_Atom] = []
    for a in atoms:
        prev = out[-1] if out else None
        if prev and prev.until is None and prev.kind == a.kind and a.kind in ("date", "time") \
                and prev.when.iso is None and a.when.iso is None and _RANGE_MARK.fullmatch(norm[prev.end:a.start]):
            out[-1] = replace(prev, end=a.end, until=a.when, qualifier=None)
        elif prev and prev.kind == "date" and a.kind == "time" and prev.until is None and prev.when.iso is None \
                and prev.when.day is not None and not norm[prev.end:a.start].strip():
            out[-1] = replace(a, start=prev.start, when=replace(prev.when, hour=a.when.hour, minute=a.when.minute,
                                                                   second=a.when.second))
        else:
            out.append(a)
    return out


def _to_figure(line: str, norm: str, a: _Atom, air: dt.date | None) -> Figure:
    start, end, qualifier, negative = a.start, a.end, a.qualifier, False
    value, value_max = a.value, a.value_max
    if a.until is None:  # a range takes no qualifier from the まで/から around it
        start, end, outer, negative = _outer_qualifiers(norm, start, end, signs=a.kind not in ("date", "time"))
        qualifier = qualifier or outer
    if negative and value is not None:
        value = -value
        value_max = -value_max if value_max is not None else None
    iso = _iso(a.when, a.until, air) if a.when else None
    basis = None
    if a.kind in _COUNTED_KINDS:
        m = _BASIS.search(norm, _sentence_start(norm, start), start)
        basis = m.group(1) if m else None
    return Figure(text=line[start:end], start=start, end=end, kind=a.kind, value=value, value_max=value_max,
                  unit=a.unit, qualifier=qualifier, basis=basis, iso=iso, counted=a.counted)


def _outer_qualifiers(norm: str, s: int, e: int, signs: bool) -> tuple[int, int, Qualifier | None, bool]:
    """Qualifier words and a sign just outside a figure (spaces allowed): 少なくとも318件, 2兆円を超える."""
    negative = False
    if signs:
        for sign in _SIGNS_OUTSIDE:
            if norm.endswith(sign, 0, s):
                s, negative = s - len(sign), True
                break
    prefix_q: Qualifier | None = None
    before = norm[:s].rstrip(" ")
    for word, q in _PREFIXES:
        if before.endswith(word):
            s, prefix_q = len(before) - len(word), q
            break
    suffix_q: Qualifier | None = None
    gap = len(norm[e:]) - len(norm[e:].lstrip(" "))
    for word, q in _SUFFIXES:
        if norm.startswith(word, e + gap):
            e, suffix_q = e + gap + len(word), q
            break
    return s, e, prefix_q or suffix_q, negative


def _sentence_start(norm: str, pos: int) -> int:
    ends = [m.end() for m in _SENTENCE_END.finditer(norm, 0, pos)]
    return ends[-1] if ends else 0


def _counted(norm: str, f: Figure, spans: list[tuple[int, int]]) -> str | None:
    """The noun a figure counts, by the rules in the module docstring (rule 1 is set by _bare_numbers)."""
    after = norm[f.end:]
    m = re.match(rf"の({_NOUN})", after)
    if m and not _CHANGE_WORDS.fullmatch(m.group(1)) and not _PREDICATE_NOUNS.match(m.group(1)) \
            and not after[m.end():m.end() + 1].isdigit():  # 五輪のG7: a name, not a noun
        return m.group(1)  # rule 2: 318件の返納
    direct = _NOUN_RE.match(after)
    if direct and f.text.translate(_FOLD).endswith(_ADNOMINAL):  # rule 3: 2兆円を超える予算
        return direct.group(0)
    if direct and not _CHANGE_WORDS.match(after):  # rule 4: 10割負担 is a compound, unsure
        return None
    sentence_from = _sentence_start(norm, f.start)
    target = re.search(rf"({_NOUN})を$", norm[sentence_from:f.start])
    if target:  # rule 5a: 初任給を33万円に (the figure is the value the object is set to)
        return target.group(1)
    best = None
    # rule 5; a parenthesis may stand between the noun and its particle: 消費者物価指数(生鮮食品を除く)は
    marked = rf"({_NOUN})(?:[(（][^()（）]{{0,40}}[)）])?[」』]?[がは](?![りるっれろら])"
    for m in re.finditer(marked, norm[sentence_from:f.start]):
        s, e = sentence_from + m.start(1), sentence_from + m.end(1)
        if s > 0 and norm[s - 1].isdigit():
            continue  # 4月は: part of a figure
        if any(s < fe and fs < e for fs, fe in spans):
            continue
        best = m.group(1)
    return best


# --- dates --------------------------------------------------------------------------------------------------------


def _iso(when: _When, until: _When | None, air: dt.date | None) -> str | None:
    if when.iso is not None or not (when.has_date or when.has_time):
        return when.iso
    first, resolved = _when_iso(when, air)
    if until is None:
        return first
    if not until.has_date:
        return f"{first}/{_time_iso(until)}"
    # the end inherits what it does not say from the start, and moves a year on if it falls before it
    y, mo, d = resolved
    end = replace(until, year=until.year or y, month=until.month or mo)
    end_iso, (ey, emo, ed) = _when_iso(end, air)
    if until.year is None and y is not None and ey is not None and (ey, emo or 0, ed or 0) < (y, mo or 0, d or 0):
        end_iso, _ = _when_iso(replace(end, year=ey + 1), air)
    return f"{first}/{end_iso}"


def _when_iso(w: _When, air: dt.date | None) -> tuple[str, tuple[int | None, int | None, int | None]]:
    """ISO text of a date/time and its resolved (year, month, day)."""
    if not w.has_date:
        return _time_iso(w), (None, None, None)
    y, mo, d = _resolve(w, air)
    if w.part and mo is not None and y is not None and d is None:
        last = calendar.monthrange(y, mo)[1]
        first_day, last_day = {"上旬": (1, 10), "初旬": (1, 10), "中旬": (11, 20), "下旬": (21, last),
                               "末日": (last, last), "末": (last, last), "初め": (1, 1)}[w.part]
        if first_day == last_day:
            return _date_iso(y, mo, first_day), (y, mo, first_day)
        return f"{_date_iso(y, mo, first_day)}/{_date_iso(y, mo, last_day)}", (y, mo, first_day)
    if w.has_time and None not in (y, mo, d):
        day = dt.date(y, mo, d) + dt.timedelta(days=w.hour // 24)  # 7月5日25時 is 1:00 on 6 July
        return f"{day.isoformat()}T{_time_iso(w)}", (y, mo, d)
    # a date whose year is unknown keeps no time: EDTF has no unspecified digits in a date-time
    return _date_iso(y, mo, d), (y, mo, d)


def _resolve(w: _When, air: dt.date | None) -> tuple[int | None, int | None, int | None]:
    """Fill in a missing year (or month) from the air date: nearest candidate, a matching weekday first."""
    y, mo, d = w.year, w.month, w.day
    if air is None or y is not None:
        return y, mo, d
    if mo is None and d is None:
        return y, mo, d
    if mo is None:  # a day alone: previous, this or next month
        candidates = [_add_months(air.year, air.month, k) for k in (-1, 0, 1)]
    else:
        candidates = [(air.year + k, mo) for k in (-1, 0, 1)]
    best: tuple[tuple[bool, int], int, int] | None = None
    for cy, cm in candidates:
        try:
            day = dt.date(cy, cm, d or 15)  # a month alone is compared by its middle
        except ValueError:
            continue  # 2月29日 outside a leap year, 31日 in a short month
        key = (w.weekday is not None and d is not None and day.weekday() != w.weekday, abs((day - air).days))
        if best is None or key < best[0]:
            best = (key, cy, cm)
    if best is None:
        return None, mo, d
    return best[1], best[2], d


def _date_iso(y: int | None, mo: int | None, d: int | None) -> str:
    text = f"{y:04d}" if y is not None else "XXXX"
    if mo is not None:
        text += f"-{mo:02d}"
        if d is not None:
            text += f"-{d:02d}"
    elif d is not None:
        text += f"-XX-{d:02d}"
    return text


def _time_iso(w: _When) -> str:
    """06:00, 23:59:59 (seconds when said); 25時 (a TV listing's 1:00 of the next day) is 01:00 and 24時 00:00:
    ISO 8601-1:2019 has no hour 24 or later."""
    text = f"{w.hour % 24:02d}:{w.minute or 0:02d}"
    return text if w.second is None else f"{text}:{w.second:02d}"


def _fiscal_year(day: dt.date) -> int:
    """The Japanese fiscal year (年度, April to March) a day falls in."""
    return day.year if day.month >= 4 else day.year - 1


def _fiscal_iso(y: int) -> str:
    return f"{y:04d}-04/{y + 1:04d}-03"


def _year_iso(y: int) -> str:
    """A year, astronomical numbering: 1 BC is 0000, 202 BC is -0201 (ISO 8601 expanded, EDTF level 1)."""
    return f"-{-y:04d}" if y < 0 else f"{y:04d}"


def _season_iso(y: int, season: str) -> str:
    first, last = _SEASONS[season]
    ly, lm = _add_months(y, 1, last - 1)
    return f"{y:04d}-{first:02d}/{ly:04d}-{lm:02d}"


def _add_months(y: int, m: int, k: int) -> tuple[int, int]:
    total = y * 12 + (m - 1) + k
    return total // 12, total % 12 + 1
