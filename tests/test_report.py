"""The HTML report (`pipeline report`): pages built from records made here, read as text, then driven in a real
browser (Debian's chromium through Selenium): the timeline laid out, marks and removals shown, a click on a turn
seeking the audio, and transcript markup shown as text instead of run.

The browser tests skip when chromium or chromedriver is missing, unless REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.output import EPISODES_FILE, write_outputs
from pipeline.engine.work import blank_episode
from pipeline.records import (
    DedupReport, DupRef, Entity, EntityMention, ErrorInfo, Figure, FigureMention, Keyword, ProgrammeCredits, Removal,
    Segment, Speaker, Summary, SummarySentence, Turn,
)  # fmt: skip
from pipeline.report import INDEX_PAGE, ReportError, page_name, write_report
from pipeline.report.html import episode_page
from pipeline.report.site import Audio
from tests.conftest import write_wav

CONFIG = load_config()
OPTIONS = CONFIG.report

INJECTED = ('こんにちは <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> '
            '"引用" \'単\' </style></script> & 今年は3兆円です。')  # fmt: skip
SHOW_NAME = "あさラジ<script>window.__pwned=1</script>"
REMOVED = "<b>繰り返し</b>の部分です。繰り返しの部分です。"
# (speaker, start, end, text, segments): 16 s of audio, four turns, one of them hostile
TURNS = [
    ("SPEAKER_00", 0.0, 4.0, "おはようございます。あさラジの山田太郎です。", [0]),
    ("SPEAKER_01", 4.0, 8.0, "東都大学の中村美咲さんです。値上げは約4,000品目。", [1]),
    ("SPEAKER_02", 8.0, 12.0, INJECTED, [3]),
    ("SPEAKER_00", 12.0, 16.0, "以上、2.8%の上昇でした。ありがとうございました。", [4, 5]),
]
NAMES = {"SPEAKER_00": "山田太郎", "SPEAKER_01": "佐藤花子", "SPEAKER_02": "中村美咲"}
AUDIO_SECONDS = 16.0


def _span(text: str, part: str) -> list[int]:
    start = text.index(part)
    return [start, start + len(part)]


def _figure(turn: int, text: str, part: str, kind: str, value: float | None, unit: str | None) -> FigureMention:
    start, end = _span(text, part)
    return FigureMention(
        turn=turn, speaker=TURNS[turn][0], time=None, sentence=text,
        figure=Figure(text=part, start=start, end=end, kind=kind, value=value, value_max=None, unit=unit,
                      qualifier=None, basis=None, iso=None, counted=None),
    )  # fmt: skip


def _sentence(turn: int, part: str) -> SummarySentence:
    speaker, start, _, text, _ = TURNS[turn]
    return SummarySentence(text=part, turn=turn, speaker=speaker, start=start, span=_span(text, part), score=0.5)


def _removal(kind: str, text: str, segment: int, dup_of: DupRef | None) -> Removal:
    return Removal(kind=kind, reason=f"{kind} reason", text=text, segment=segment, span=[0, len(text)],
                   time=None, dup_of=dup_of, similarity=1.0 if dup_of else None)  # fmt: skip


def show_episode(audio: Path | str, size: int, episode_id: str = "show/2024-03-12.wav"):
    """An audio episode with three named speakers, entities, figures, removals, a summary and a hostile turn."""
    e = blank_episode(Path(audio), episode_id, "0" * 64, "audio", size, CONFIG.hash())
    e.show.name, e.show.station, e.show.air_date = SHOW_NAME, "サンプルFM", "2024-03-12"
    e.duration = AUDIO_SECONDS
    e.turns = [Turn(id=i, speaker=s, start=a, end=b, text=t, section=None, segments=seg, words=[])
               for i, (s, a, b, t, seg) in enumerate(TURNS)]  # fmt: skip
    e.segments = [Segment(id=seg, start=a, end=b, text=t, speaker=None, line=None, words=[])
                  for s, a, b, t, segs in TURNS for seg in segs]  # fmt: skip
    e.text = "\n".join(t for _, _, _, t, _ in TURNS)
    e.speakers = [Speaker(id=i, label=None, name=n, named_by="speech", role="host", talk_time=4.0, chars=10,
                          turn_count=1) for i, n in NAMES.items()]  # fmt: skip
    e.entities = [
        Entity(id="E0", name="東都大学", type="ORG", label="School", aliases=[], mentions=[EntityMention(
            turn=1, speaker="SPEAKER_01", time=None, span=_span(TURNS[1][3], "東都大学"), text="東都大学",
            label="School", source="ner")]),
        Entity(id="E1", name="山田太郎", type="PERSON", label="Person", aliases=[], mentions=[EntityMention(
            turn=0, speaker="SPEAKER_00", time=None, span=_span(TURNS[0][3], "山田太郎"), text="山田太郎",
            label="Person", source="text")]),
    ]  # fmt: skip
    e.figures = [
        _figure(1, TURNS[1][3], "約4,000品目", "count", 4000.0, "品目"),
        _figure(2, TURNS[2][3], "3兆円", "money", 3e12, "JPY"),
        _figure(3, TURNS[3][3], "2.8%", "percent", 2.8, "%"),
    ]
    removals = [
        _removal("repeat", REMOVED, 2, DupRef(episode_id=episode_id, segment=1, span=[0, 5], time=None)),
        _removal("loop", "ありがとうございました。" * 4, 5, None),
    ]
    e.dedup = DedupReport(
        original_chars=200, kept_chars=120, removed_chars={"repeat": 30, "loop": 50}, removed_share=0.4,
        duplicate_share=0.15, removals=removals,
        credits=ProgrammeCredits(show_name=None, air_time=None, personalities=[], website=None, listen_until=None,
                                 credits=[]),
    )  # fmt: skip
    e.summary = Summary(
        headline=_sentence(1, "東都大学の中村美咲さんです。"), key_sentences=[_sentence(3, "以上、2.8%の上昇でした。")],
        keywords=[Keyword(text=k, score=1.0, count=1) for k in ("値上げ", "品目", "<kw>")], speakers=[],
    )  # fmt: skip
    return e


def text_episode(episode_id: str = "show/2024-03-13.txt"):
    e = blank_episode(Path("in") / episode_id, episode_id, "1" * 64, "text", 100, CONFIG.hash())
    lines = [("佐藤", "おはようございます。"), ("山田", "今日は値上げの話です。長い話になります。"), ("佐藤", "はい。")]
    e.turns = [Turn(id=i, speaker=s, start=None, end=None, text=t, section="◆値上げ", segments=[i], words=[])
               for i, (s, t) in enumerate(lines)]  # fmt: skip
    e.speakers = [Speaker(id=s, label=s, name=None, named_by=None, role=None, talk_time=None, chars=1, turn_count=1)
                  for s in ("佐藤", "山田")]  # fmt: skip
    aired = DupRef(episode_id="show/2024-03-12.wav", segment=3, span=[0, 5], time=None)  # the other airing's turn 2
    e.dedup = DedupReport(
        original_chars=100, kept_chars=80, removed_chars={"cross_episode": 20}, removed_share=0.2,
        duplicate_share=0.2, removals=[_removal("cross_episode", "再放送の部分です。", 7, aired)],
        credits=ProgrammeCredits(show_name=None, air_time=None, personalities=[], website=None, listen_until=None,
                                 credits=[]),
    )  # fmt: skip
    return e


def error_episode(episode_id: str = "broken.mp3"):
    e = blank_episode(Path("in") / episode_id, episode_id, "2" * 64, "audio", 0, CONFIG.hash())
    e.status = "error"
    e.error = ErrorInfo(stage="ingest", type="InputFileError", message="empty file (0 bytes) <b>")
    return e


def make_audio(path: Path) -> Path:
    """A quiet 440 Hz tone, long enough to seek in."""
    t = np.arange(int(AUDIO_SECONDS * 16000)) / 16000
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_wav(path, 0.1 * np.sin(2 * np.pi * 440 * t))


def make_output(folder: Path, episodes) -> Path:
    write_outputs(folder, list(episodes), CONFIG.output, CONFIG.alerts.clip)
    return folder


@pytest.fixture
def run(tmp_path):
    """An output folder of three episodes (audio with its file, text, error); the report not yet written."""
    audio = make_audio(tmp_path / "in" / "show" / "2024-03-12.wav")
    out = make_output(tmp_path / "out", [show_episode(audio, audio.stat().st_size), text_episode(), error_episode()])
    return out, audio


class Tags(HTMLParser):
    """The elements a browser would build from the page (tag names and attributes)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


# --- pages as text ------------------------------------------------------------------------------------------------


def test_the_batch_page_lists_every_episode_with_show_date_length_speakers_keywords_and_errors(run):
    out, _ = run
    options = OPTIONS.model_copy(update={"keywords": 2})
    write_report(out, out / "report", options)
    index = (out / "report" / INDEX_PAGE).read_text(encoding="utf-8")
    for text in ("show/2024-03-12.wav", "show/2024-03-13.txt", "broken.mp3", "サンプルFM", "2024-03-12", "0:16",
                 "山田太郎", "佐藤花子", "中村美咲", "値上げ", "品目", "ingest: InputFileError: empty file (0 bytes) &lt;b&gt;",
                 "3 episodes, 1 failed", "あさラジ&lt;script&gt;"):  # fmt: skip
        assert text in index, text
    assert "&lt;kw&gt;" not in index  # report.keywords=2: the third keyword is left out
    links = {a["href"] for a in Tags(index).named("a")}
    assert links == {page_name(i) for i in ("show/2024-03-12.wav", "show/2024-03-13.txt", "broken.mp3")}
    assert all((out / "report" / link).is_file() for link in links)


def test_page_names_are_plain_and_distinct_even_for_ids_that_read_alike(tmp_path):
    ids = ["a/b.mp3", "a_b.mp3", "A_b.mp3", "a b.mp3", "../../etc/passwd", "日本語.txt", "index.html", "", "." * 300]
    names = [page_name(i) for i in ids]
    assert len({n.lower() for n in names}) == len(ids)  # distinct on a case-blind disk too
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.html", n) and len(n) < 100 for n in names), names
    assert INDEX_PAGE not in names
    out = make_output(tmp_path / "out", [text_episode("a/b.mp3"), text_episode("a_b.mp3")])
    write_report(out, out / "report", OPTIONS)
    assert sorted(p.name for p in (out / "report").glob("*.html")) == sorted([INDEX_PAGE, page_name("a/b.mp3"),
                                                                              page_name("a_b.mp3")])  # fmt: skip


def test_the_episode_page_holds_speakers_turns_highlights_removals_where_they_were_and_the_summary(run):
    out, _ = run
    write_report(out, out / "report", OPTIONS)
    html = (out / "report" / page_name("show/2024-03-12.wav")).read_text(encoding="utf-8")
    for name in NAMES.values():
        assert f"<span class=\"spk\">{name}</span>" in html and f"<div class=\"lane-name\" title=" in html
    positions = [html.index(f"id=\"t{i}\"") for i in range(len(TURNS))]
    assert positions == sorted(positions)
    assert re.search(r'<mark class="ent" title="[^"]*ORG / School">東都大学</mark>', html)
    assert re.search(r'<mark class="ent" title="[^"]*PERSON / Person">山田太郎</mark>', html)
    assert re.search(r'<mark class="fig" title="money 3,000,000,000,000 JPY">3兆円</mark>', html)
    assert re.search(r'<mark class="fig" title="percent 2.8 %">2.8%</mark>', html)
    # the removed segment 2 lies between turns 1 and 2; the loop cut out of segment 5 inside turn 3
    repeat = html.index("removed: repeat")
    assert positions[1] < repeat < positions[2]
    assert positions[3] < html.index("removed: loop")
    assert "<del>&lt;b&gt;繰り返し&lt;/b&gt;の部分です。繰り返しの部分です。</del>" in html
    assert f"href=\"{page_name('show/2024-03-12.wav')}#t1\">earlier text</a>" in html  # the kept copy: turn 1
    # the summary cites its turns
    assert '<a href="#t1">東都大学の中村美咲さんです。</a>' in html and '<a href="#t3">以上、2.8%の上昇でした。</a>' in html
    assert "<audio id=\"player\"" in html
    # a passage aired in another episode of the batch links to the kept copy there
    text = (out / "report" / page_name("show/2024-03-13.txt")).read_text(encoding="utf-8")
    link = f"<a href=\"{page_name('show/2024-03-12.wav')}#t2\">episode show/2024-03-12.wav</a>"
    assert text.index("id=\"t2\"") < text.index("removed: cross_episode") and link in text


def test_every_record_string_is_escaped_and_only_the_report_s_own_script_is_there(run):
    out, _ = run
    write_report(out, out / "report", OPTIONS)
    for page in (out / "report").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        tags = Tags(html)
        assert tags.named("img") == [] and tags.named("b") == [], page.name
        assert len(tags.named("script")) == (0 if page.name == INDEX_PAGE else 1), page.name
        assert not [a for _, attrs in tags.tags for a in attrs if a.startswith("on")], page.name
        assert html.count("</style>") == 1 and html.count("</script>") == (0 if page.name == INDEX_PAGE else 1)
        assert "<script>window" not in html
    html = (out / "report" / page_name("show/2024-03-12.wav")).read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in html
    assert "&lt;/style&gt;&lt;/script&gt;" in html and "&#x27;単&#x27;" in html and "&amp; 今年" in html
    assert "<title>あさラジ&lt;script&gt;window.__pwned=1&lt;/script&gt; show/2024-03-12.wav</title>" in html


def test_the_timeline_places_turns_by_time_and_text_turns_by_order(run):
    out, _ = run
    write_report(out, out / "report", OPTIONS)

    def blocks(episode_id):
        html = (out / "report" / page_name(episode_id)).read_text(encoding="utf-8")
        return [(float(m[1]), float(m[2])) for m in re.finditer(r'class="blk".*?left:([\d.]+)%;width:([\d.]+)%', html)]

    timed = sorted(blocks("show/2024-03-12.wav"))
    assert timed == [(0.0, 25.0), (25.0, 25.0), (50.0, 25.0), (75.0, 25.0)]  # 4 s turns of 16 s
    ordered = blocks("show/2024-03-13.txt")
    assert len(ordered) == 3 and all(w > 0 for _, w in ordered)
    assert sorted(ordered)[1][1] > sorted(ordered)[0][1]  # the longer turn is the wider block
    html = (out / "report" / page_name("show/2024-03-13.txt")).read_text(encoding="utf-8")
    assert "No times in this transcript" in html and "<h3 class=\"section\">◆値上げ</h3>" in html


def test_the_player_points_at_the_audio_relative_to_the_report_or_says_why_there_is_none(tmp_path, monkeypatch):
    audio = make_audio(tmp_path / "runs" / "in" / "a b#1.wav")
    monkeypatch.chdir(tmp_path / "runs")  # the run was given `in/...`, relative to where it ran
    moved = tmp_path / "runs" / "in" / "gone.wav"
    out = make_output(Path("out"), [
        show_episode(Path("in") / "a b#1.wav", audio.stat().st_size, "a b#1.wav"),
        show_episode(moved, 1234, "gone.wav"),
        show_episode(Path("in") / "a b#1.wav", audio.stat().st_size + 1, "changed.wav"),  # replaced since the run
    ])  # fmt: skip
    for folder, url in ((out / "report", "../../in/a%20b%231.wav"), (tmp_path / "elsewhere" / "r", None)):
        result = write_report(out, folder, OPTIONS)
        assert result.episodes == 3 and result.with_audio == 1
        players = Tags((folder / page_name("a b#1.wav")).read_text(encoding="utf-8")).named("audio")
        assert len(players) == 1
        if url:
            assert players[0]["src"] == url
        assert (folder / players[0]["src"].replace("%20", " ").replace("%23", "#")).resolve() == audio.resolve()
        for missing in ("gone.wav", "changed.wav"):
            html = (folder / page_name(missing)).read_text(encoding="utf-8")
            assert "<audio" not in html and "No audio player" in html and "is not found" in html
    # run from elsewhere: found beside the output folder (where `make all` runs)
    monkeypatch.chdir(tmp_path)
    assert write_report(Path("runs") / "out", tmp_path / "r2", OPTIONS).with_audio == 1
    text = (tmp_path / "r2" / page_name("a b#1.wav")).read_text(encoding="utf-8")
    assert 'src="../runs/in/a%20b%231.wav"' in text


def test_a_folder_that_does_not_match_its_manifest_is_refused(run):
    out, _ = run
    with (out / EPISODES_FILE).open("a", encoding="utf-8") as f:
        f.write("\n")
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 1
    assert "is not the file the last run" in result.output
    assert not (out / "report").exists()
    with pytest.raises(ReportError, match="no episodes.jsonl"):
        write_report(out / "nothing", out / "r", OPTIONS)


def test_the_cli_writes_the_default_folder_or_out_and_replaces_only_a_report(run, tmp_path):
    out, _ = run
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert f"report: 3 episodes (1 with audio) -> {out / 'report' / INDEX_PAGE}" in result.output
    stale = out / "report" / "stale.html"
    stale.write_text("old", encoding="utf-8")
    assert CliRunner().invoke(cli, ["report", str(out), "--out", str(out / "report")]).exit_code == 0
    assert not stale.exists() and (out / "report" / INDEX_PAGE).is_file()  # replaced whole
    assert [p.name for p in out.iterdir() if p.name.startswith(".report")] == []  # no temp folders left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    refused = CliRunner().invoke(cli, ["report", str(out), "--out", str(mine)])
    assert refused.exit_code == 1 and "holds other files" in refused.output
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me" and not (mine / INDEX_PAGE).exists()
    assert CliRunner().invoke(cli, ["report", str(out), "--out", str(out)]).exit_code == 1  # never the run itself


def test_a_three_hour_show_is_one_element_per_turn_and_renders_fast():
    e = blank_episode(Path("long.mp3"), "long.mp3", "3" * 64, "audio", 1, CONFIG.hash())
    e.duration = 3 * 3600.0
    e.speakers = [Speaker(id=f"S{i}", label=None, name=None, named_by=None, role=None, talk_time=1.0, chars=1,
                          turn_count=1) for i in range(4)]  # fmt: skip
    e.turns = [Turn(id=i, speaker=f"S{i % 4}", start=i * 3.6, end=i * 3.6 + 3.0, text="東都大学の話です。" * 5,
                    section=None, segments=[i], words=[]) for i in range(3000)]  # fmt: skip
    e.entities = [Entity(id="E0", name="東都大学", type="ORG", label="School", aliases=[], mentions=[
        EntityMention(turn=i, speaker=f"S{i % 4}", time=None, span=[0, 4], text="東都大学", label="School",
                      source="ner") for i in range(3000)])]  # fmt: skip
    began = time.perf_counter()
    html = episode_page(e, Audio("long.mp3", ""), lambda *_: None, OPTIONS)
    assert time.perf_counter() - began < 5.0
    assert html.count('class="turn ') == 3000 and html.count('class="blk"') == 3000
    assert html.count("<mark") == 3000 + 1  # every mention, and the entity table's name
    assert f"+{3000 - OPTIONS.mention_links} more" in html  # the table links report.mention_links of them


# --- in a real browser --------------------------------------------------------------------------------------------


def _tool(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)


def _no_browser(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    binary, driver = _tool("chromium"), _tool("chromedriver")
    if not (binary and driver):
        missing = " and ".join(n for n, p in (("chromium", binary), ("chromedriver", driver)) if not p)
        _no_browser(f"{missing} not found (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio"):  # fmt: skip
        options.add_argument(arg)
    try:
        chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    except WebDriverException as e:
        _no_browser(f"chromium did not start: {e.msg}")
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    audio = make_audio(root / "in" / "show" / "2024-03-12.wav")
    out = make_output(root / "out", [show_episode(audio, audio.stat().st_size), text_episode(), error_episode()])
    write_report(out, out / "report", OPTIONS)
    return out / "report"


def _open(browser, site, episode_id="show/2024-03-12.wav"):
    browser.get((site / page_name(episode_id)).as_uri())
    return browser


def _visible(element) -> bool:
    size = element.size
    return element.is_displayed() and size["width"] > 0 and size["height"] > 0


def test_browser_timeline_blocks_are_visible_and_placed_in_time_order_in_lanes_named_by_speaker(browser, site):
    from selenium.webdriver.common.by import By

    _open(browser, site)
    blocks = browser.find_elements(By.CSS_SELECTOR, "#timeline .blk")
    assert len(blocks) == len(TURNS)
    assert all(_visible(b) for b in blocks)
    by_time = sorted(blocks, key=lambda b: float(b.get_attribute("data-start")))
    xs = [b.rect["x"] for b in by_time]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert all(abs(b.rect["width"] - by_time[0].rect["width"]) <= 1 for b in by_time)  # four 4 s turns
    lanes = browser.find_elements(By.CSS_SELECTOR, "#timeline .lane")
    assert [lane.find_element(By.CLASS_NAME, "lane-name").text for lane in lanes] == list(NAMES.values())
    speakers_of = [lane.find_elements(By.CLASS_NAME, "blk") for lane in lanes]
    assert [len(b) for b in speakers_of] == [2, 1, 1]  # 山田 speaks twice
    assert {b.get_attribute("href").rsplit("#", 1)[1] for b in blocks} == {f"t{i}" for i in range(len(TURNS))}


def test_browser_speakers_highlights_and_removals_are_visible(browser, site):
    from selenium.webdriver.common.by import By

    _open(browser, site)
    shown = [s.text for s in browser.find_elements(By.CSS_SELECTOR, "#transcript .spk") if _visible(s)]
    assert shown == [NAMES[s] for s, *_ in TURNS]
    entities = {m.text for m in browser.find_elements(By.CSS_SELECTOR, "#transcript mark.ent") if _visible(m)}
    figures = {m.text for m in browser.find_elements(By.CSS_SELECTOR, "#transcript mark.fig") if _visible(m)}
    assert entities == {"東都大学", "山田太郎"} and figures == {"約4,000品目", "3兆円", "2.8%"}
    removals = browser.find_elements(By.CSS_SELECTOR, "#transcript details.removal summary")
    assert len(removals) == 2 and all(_visible(r) for r in removals)
    assert "removed: repeat" in removals[0].text and "<b>繰り返し</b>" in removals[0].text
    assert "duplicates earlier text" in removals[0].text and "removed: loop" in removals[1].text


def test_browser_clicking_a_turn_or_a_block_seeks_the_audio_to_its_start(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, site)
    ready = "return document.getElementById('player').readyState"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(ready) >= 1, "the audio did not load")
    assert browser.execute_script("return document.getElementById('player').duration") == pytest.approx(16, abs=0.1)

    def click_and_wait(element, start):
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()
        now = "return document.getElementById('player').currentTime"
        WebDriverWait(browser, 5, 0.05).until(lambda d: abs(d.execute_script(now) - start) < 1.0,
                                              f"currentTime did not move to {start}")  # fmt: skip

    click_and_wait(browser.find_element(By.CSS_SELECTOR, "#t2 .text"), 8.0)
    click_and_wait(browser.find_element(By.CSS_SELECTOR, "#t3 .time"), 12.0)
    click_and_wait(browser.find_element(By.CSS_SELECTOR, "#timeline .blk[href='#t1']"), 4.0)


def test_browser_injected_markup_is_shown_as_text_and_never_runs(browser, site):
    from selenium.webdriver.common.by import By

    for episode_id in ("show/2024-03-12.wav", None):
        if episode_id:
            _open(browser, site, episode_id)
        else:
            browser.get((site / INDEX_PAGE).as_uri())
        time.sleep(0.2)  # an onerror handler would run once the broken image failed to load
        assert browser.execute_script("return typeof window.__pwned") == "undefined"
        assert browser.execute_script("return document.images.length") == 0
        assert "あさラジ<script>window.__pwned=1</script>" in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.CSS_SELECTOR, f"a[href='{page_name('show/2024-03-12.wav')}']").click()  # from the batch
    text = browser.find_element(By.CSS_SELECTOR, "#t2 .text").text
    assert '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1">' in text
    assert "</style></script> & 今年は3兆円です。" in text
    assert browser.execute_script("return document.scripts.length") == 1


def test_browser_the_pages_policy_blocks_markup_even_if_it_were_written_unescaped(browser, tmp_path):
    """A second line of defence: the Content-Security-Policy allows only the report's own script."""
    from pipeline.report.html import page

    raw = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"><p id="p" onclick="window.__pwned=1">x</p>'
    (tmp_path / "raw.html").write_text(page("raw", raw, script=True), encoding="utf-8")
    browser.get((tmp_path / "raw.html").as_uri())
    browser.execute_script("document.getElementById('p').click()")
    time.sleep(0.2)
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
