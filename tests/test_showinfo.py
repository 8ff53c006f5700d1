import datetime as dt

from pipeline.lib.showinfo import date_from_filename, date_from_text


def test_date_from_filename():
    assert date_from_filename("onemorning_2023-07-05_article") == "2023-07-05"
    assert date_from_filename("asaradio_20240312") == "2024-03-12"
    assert date_from_filename("show_2024-13-40") is None
    assert date_from_filename("episode_12345678901") is None


def test_broadcast_day_weekday_picks_the_year_near_a_printed_full_date():
    text = "7月5日(水)放送のコーナー…\n聴取期限 2023年7月13日(木) AM 4:59 まで"
    assert date_from_text(text, today=dt.date(2026, 11, 26)) == "2023-07-05"


def test_broadcast_day_without_full_date_uses_the_most_recent_matching_year():
    # 3月13日 was a Wednesday in 2024 and again in 2030; a run in 2026 means 2024 (past), not 2030.
    assert date_from_text("3月13日(水)放送の…", today=dt.date(2026, 11, 26)) == "2024-03-13"


def test_no_broadcast_day():
    assert date_from_text("番組のお知らせ", today=dt.date(2026, 11, 26)) is None
