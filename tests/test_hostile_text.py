"""Hostile text must not break the batch: a 2 MB line, thousands of repeats, four copies of one clip, broken
subtitle cues. Each test failed on the code before the fix (see the hardening issue, part B)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.engine.stage import Job, ModelStore
from pipeline.engine.work import blank_episode
from pipeline.lib import dedup
from pipeline.lib.dedup import Document, covered, deduplicate_batch
from pipeline.lib.entities import EntityRecognizer
from pipeline.lib.summary import Document as SummaryDocument
from pipeline.lib.summary import Analyser, Summarizer, episode_sentences, similarity_matrix
from pipeline.plan import run_pipeline
from pipeline.records import DedupReport, ProgrammeCredits, Removal, Segment, Speaker, Turn
from pipeline.stages.dedup import DedupStage
from pipeline.stages.summary import SummaryStage
from pipeline.text.reader import MAX_BYTES, Reader, byte_pieces
from pipeline.text.sentences import sentences
from pipeline.text.transcripts import parse_plain, read_cues, read_transcript
from tests.conftest import SAMPLE_TEXT

CONFIG = load_config()
KANA = [chr(c) for c in range(0x30A1, 0x30F6)]


def random_kana(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(KANA) for _ in range(n))


def segment(text: str, i: int = 0) -> Segment:
    return Segment(id=i, start=None, end=None, text=text, speaker=None, line=i + 1, words=[])


def tiles(text: str, spans) -> bool:
    """The spans cover text in order, without gaps or overlaps."""
    position = 0
    for start, end in spans:
        if start != position or end <= start:
            return False
        position = end
    return position == len(text)


# ------------------------------------------------------------------------- 1a. the Sudachi reader, any length


def test_reader_reads_text_past_sudachis_byte_limit_with_exact_offsets():
    text = "今日は晴れです、風もありません。" * 2000 + random_kana(20_000, 1) + "㍿" * 20_000 + "明日は雨でしょう"
    assert len(text.encode()) > 4 * MAX_BYTES
    tokens = list(Reader().tokenize(text))
    assert tiles(text, [(start, end) for start, end, _ in tokens])
    assert all(text[start:end] == m.surface() for start, end, m in tokens)
    assert ("晴れ", "ハレ") in {(m.surface(), m.reading_form()) for _, _, m in tokens}


def test_long_text_is_cut_under_the_byte_limit_at_sentence_ends_then_commas_then_spaces_else_hard():
    text = "一文です。" * 20 + "読点で、" * 20 + "空白で " * 20 + "切れ目なし" * 20
    pieces = list(byte_pieces(text, 60))
    assert tiles(text, pieces) and all(len(text[a:b].encode()) <= 60 for a, b in pieces)
    cuts = [text[b - 1] for _, b in pieces[:-1]]
    assert cuts[0] == "。" and "、" in cuts and " " in cuts
    assert len(text[pieces[-2][0] : pieces[-2][1]].encode()) == 60  # no break left: a hard cut, whole characters


# ------------------------------------------------------------------------- 1b. sentences for the NLP stages


def test_sentences_longer_than_the_bound_are_cut_with_offsets_kept():
    line = "長い一文が、読点で続き、" * 300 + random_kana(3000, 2)
    text = "短い文です。\n" + line
    out = sentences(text, 100)
    assert out[0] == (0, "短い文です。")
    assert all(len(s) <= 100 and text[o : o + len(s)] == s for o, s in out)
    assert "".join(s for _, s in out[1:]) == line
    assert out[1][1].endswith("、")  # cut at a comma, not inside a word


class _FakeGinza:
    """Stands in for spaCy + GiNZA: records what the model is given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def get_pipe(self, name):
        return self

    def clear(self):
        pass

    def add_patterns(self, patterns):
        pass

    def make_doc(self, text):
        return []

    def pipe(self, texts, batch_size):
        for text in texts:
            self.seen.append(text)
            yield type("Doc", (), {"ents": []})()


def test_entities_give_ginza_bounded_sentences():
    recognizer = EntityRecognizer("ja_ginza", 8)
    recognizer._nlp = fake = _FakeGinza()
    turn = "ここで、" * 40_000  # 160,000 characters, no sentence end: GiNZA's analyser refuses it whole
    recognizer([turn, "短い文です。"], [], CONFIG.entities.max_sentence_chars)
    assert "".join(fake.seen[:-1]) == turn and fake.seen[-1] == "短い文です。"
    assert max(len(s) for s in fake.seen) <= CONFIG.entities.max_sentence_chars


def summary_document(texts: list[str], speaker: str = "佐藤") -> SummaryDocument:
    turns = [Turn(id=i, speaker=speaker, start=None, end=None, text=t, section=None, segments=[i], words=[])
             for i, t in enumerate(texts)]  # fmt: skip
    speakers = [Speaker(id=speaker, label=speaker, name=None, named_by=None, role=None, talk_time=None,
                        chars=sum(map(len, texts)), turn_count=len(texts))]  # fmt: skip
    return SummaryDocument(turns, speakers, [])


def test_summary_reads_a_turn_past_the_limit_and_cites_bounded_sentences():
    turn = "値上げの話題を、中村さんと、家計の工夫について話しました、" * 2000  # 58,000 characters, no 。
    (summary,) = Summarizer(CONFIG.summary, Reader())([summary_document([turn])])
    cited = [summary.headline, *summary.key_sentences]
    assert all(len(s.text) <= CONFIG.summary.max_sentence_chars for s in cited)
    assert all(turn[s.span[0] : s.span[1]] == s.text for s in cited)


def test_summary_ranks_at_most_max_sentences_and_says_so():
    options = CONFIG.summary.model_copy(update={"max_sentences": 40})
    texts = [f"今日は第{i}回目の放送で、話題は値上げと家計です。" for i in range(200)]
    done, failed = Summarizer(options, Reader()).each([summary_document(texts)])
    summary, notes = done[0]
    assert not failed and summary.headline is not None
    assert notes == ["summary: ranked 40 of 200 candidate sentences, spread evenly over the episode "
                     "(summary.max_sentences)"]  # fmt: skip


def test_summary_of_text_with_a_huge_vocabulary_keeps_its_tables_small():
    import tracemalloc

    rng = random.Random(6)
    kana = [chr(c) for c in range(0x3041, 0x3097)] + KANA  # hiragana too: the analyser finds more "words"
    turns = ["".join(rng.choice(kana) for _ in range(1000)) for _ in range(600)]  # 50,000 distinct ones
    items = episode_sentences(summary_document(turns).turns, Analyser(Reader()), 12, 1000)
    tracemalloc.start()
    try:
        matrix = similarity_matrix(items)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert matrix.shape == (600, 600) and matrix.max() > 0
    assert peak < 100 * 2**20  # a dense sentence x word table: 600 x 50,000 x 8 bytes = 240 MB, three times over


# ------------------------------------------------------------------------- 1c. one episode's failure is its own


class _FailingReader(Reader):
    """The real reader, except on text holding `poison`: a file the analyser cannot read."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison

    def tokenize(self, text):
        if self.poison in text:
            raise RuntimeError("unreadable")
        return super().tokenize(text)


def job(models: ModelStore) -> Job:
    return Job(path=Path("x.txt"), sha256="", profile=None, ingest=CONFIG.ingest, models=models)


def text_episode(name: str, text: str, air_date: str):
    episode = blank_episode(Path(name), name, "", "text", len(text), CONFIG.hash())
    episode.segments = parse_plain(text)
    episode.show.air_date = air_date
    return episode


AD = ("ここでお知らせです。みなみ市の春の交通安全運動が、来週の月曜日から始まります。"
      "横断歩道を渡るときは、右と左をよく見て、手を挙げて渡りましょう。")  # fmt: skip


def test_dedup_stage_fails_the_episode_it_cannot_read_and_dedups_the_others_as_without_it():
    def batch(with_bad: bool):
        episodes = [text_episode("a.txt", f"今日は桜の話題です。\n{AD}", "2024-04-01"),
                    text_episode("c.txt", f"図書館が新しくなりました。\n{AD}", "2024-04-08")]  # fmt: skip
        if with_bad:  # aired first: without isolation it would hold the kept copy of the ad
            episodes.append(text_episode("b.txt", f"毒の行です。\n{AD}", "2024-03-01"))
        models = ModelStore()
        models.get("sudachi", lambda: _FailingReader("毒"))
        failed = DedupStage(CONFIG.dedup).run_batch([(e, job(models)) for e in episodes])
        return {e.episode_id: e for e in episodes}, failed

    with_bad, failed = batch(True)
    without, none = batch(False)
    assert list(failed) == ["b.txt"] and str(failed["b.txt"]) == "unreadable" and none == {}
    for name in ("a.txt", "c.txt"):
        assert with_bad[name].dedup == without[name].dedup and with_bad[name].segments == without[name].segments
    assert any(r.kind == "cross_episode" and r.dup_of.episode_id == "a.txt" for r in with_bad["c.txt"].dedup.removals)


def test_summary_stage_fails_the_episode_it_cannot_read_and_summarises_the_others_as_without_it():
    def episode(name: str, texts: list[str]):
        e = blank_episode(Path(name), name, "", "text", 0, CONFIG.hash())
        document = summary_document(texts)
        e.turns, e.speakers = document.turns, document.speakers
        return e

    def batch(with_bad: bool):
        episodes = [episode("a.txt", ["値上げは今年も約4,000品目です。円安と人手不足が家計を直撃しています。"]),
                    episode("c.txt", ["図書館が新しくなりました。蔵書は約12万冊で、週末は家族連れでにぎわいます。"])]  # fmt: skip
        if with_bad:
            episodes.insert(1, episode("b.txt", ["毒の入った長い文章がここにあります。値上げの話題は家計に響きます。"]))
        models = ModelStore()
        models.get("sudachi", lambda: _FailingReader("毒"))
        failed = SummaryStage(CONFIG.summary).run_batch([(e, job(models)) for e in episodes])
        return {e.episode_id: e for e in episodes}, failed

    with_bad, failed = batch(True)
    without, _ = batch(False)
    assert list(failed) == ["b.txt"] and with_bad["b.txt"].summary is None
    for name in ("a.txt", "c.txt"):
        assert with_bad[name].summary == without[name].summary and with_bad[name].summary.headline is not None


def comparable(episode) -> dict:
    """A record without what depends on where it ran or the clock (folder, cache keys, seconds)."""
    return episode.model_dump(exclude={"provenance": True, "source": {"path"}})


def test_a_one_line_file_past_the_analysers_limit_leaves_the_other_records_as_they_were(tmp_path):
    config = load_config(overrides=["entities.enabled=false"])  # GiNZA: tests/test_entities.py
    rng = random.Random(4)
    hostile = "".join(random_kana(rng.randint(20, 60), i) + rng.choice("。、 ") for i in range(2500))
    assert len(hostile.encode()) > 2 * MAX_BYTES and "\n" not in hostile

    def run(name: str, pasted: str):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(SAMPLE_TEXT, folder / SAMPLE_TEXT.name)
        shutil.copy(SAMPLE_TEXT, folder / f"{SAMPLE_TEXT.stem}_copy.txt")
        (folder / "pasted_2024-12-31.txt").write_text(pasted + "\n", encoding="utf-8")
        return {e.episode_id: e for e in run_pipeline([folder], tmp_path / f"out_{name}", config)}

    # The stand-in is a short file of the same kind: keyword weights count the batch's episodes, so a third
    # episode of any size changes their scores, and the comparison is with a batch of three.
    with_it = run("hostile", hostile)
    stand_in = run("stand_in", hostile[:200])
    assert all(e.status == "ok" for e in with_it.values()), [e.error for e in with_it.values()]
    assert with_it["pasted_2024-12-31.txt"].dedup.original_chars == len(hostile)
    for name in (SAMPLE_TEXT.name, f"{SAMPLE_TEXT.stem}_copy.txt"):
        assert comparable(with_it[name]) == comparable(stand_in[name])


# ------------------------------------------------------------------------- 1d. one line, many findings: no blow-up


def _repeats_line() -> str:
    """A pasted page as one line: 4,000 distinct sentences, each followed by the same one (4,000 repeats)."""
    return "".join(random_kana(30, i) + "。ご意見やご感想を番組までお寄せください。" for i in range(4000))


@pytest.mark.parametrize("line", [
    pytest.param("本日の放送はここまでです。" * 40_000, id="a sentence looping 40,000 times"),
    pytest.param(_repeats_line(), id="4,000 distinct sentences and 4,000 repeats"),
])  # fmt: skip
def test_dedup_of_one_hostile_line_finishes_with_its_findings(line):
    # Before: every unit tested against every loop, every character against every removal, every sentence
    # against every earlier one: minutes for each of these lines; now seconds (timed in bench/hostile_bench.py).
    kept, report = deduplicate_batch([Document("a.txt", [segment(line)], None)], CONFIG.dedup)["a.txt"]
    assert 0.3 < report.removed_share <= 1 and report.removals


def test_two_airings_of_one_long_unpunctuated_text_are_aligned_at_their_ends_only(monkeypatch):
    from rapidfuzz.distance import LCSseq

    lengths = []
    opcodes = LCSseq.opcodes

    def recording(a, b, **kwargs):
        lengths.append(max(len(a), len(b)))
        return opcodes(a, b, **kwargs)

    monkeypatch.setattr(LCSseq, "opcodes", recording)
    text = random_kana(30_000, 5)  # the alignment table of the whole pair would hold 900 million cells
    first = Document("a.txt", [segment(text)], "2024-01-01")
    second = Document("b.txt", [segment(text)], "2024-01-08")
    options = CONFIG.dedup.model_copy(update={"cross_use_readings": False})
    results = deduplicate_batch([first, second], options)
    assert results["a.txt"][1].removals == []
    assert results["b.txt"][1].removed_share == 1.0 and results["b.txt"][0] == []
    assert lengths and max(lengths) <= dedup._ALIGN_MAX_CHARS // 2 + 2 * options.cross_window_chars


# ------------------------------------------------------------------------- 2. overlapping removals count once


def test_overlapping_removals_are_counted_once():
    def removal(kind, start, end):
        return Removal(kind=kind, reason="", text="", segment=0, span=[start, end], time=None, dup_of=None,
                       similarity=None)  # fmt: skip

    episode = Document("a.txt", [segment("あ" * 100)], None)
    credits = ProgrammeCredits(show_name=None, air_time=None, personalities=[], website=None, listen_until=None,
                               credits=[])  # fmt: skip
    removals = [removal("repeat", 10, 40), removal("cross_episode", 0, 80), removal("cross_episode", 50, 100)]
    report: DedupReport = dedup.report(episode, removals, credits, [])
    assert report.removed_chars == {"repeat": 30, "cross_episode": 70}  # a character counts for the first kind
    assert report.removed_share == 1.0


def test_four_copies_of_one_text_remove_each_character_once():
    text = SAMPLE_TEXT.read_text(encoding="utf-8")
    copies = [Document(f"copy{i}.txt", parse_plain(text), f"2024-03-1{i}") for i in range(4)]
    results = deduplicate_batch(copies, CONFIG.dedup)
    for document in copies:
        _, report = results[document.id]
        spans = [(r.span[0], r.span[1]) for r in report.removals]
        assert report.removed_share <= 1
        assert sum(report.removed_chars.values()) == covered(spans) <= report.original_chars
        cross = sorted((r.span[0], r.span[1]) for r in report.removals if r.kind == "cross_episode")
        assert all(a[1] <= b[0] for a, b in zip(cross, cross[1:]))  # no passage removed twice
    assert results["copy3.txt"][1].removed_share == results["copy1.txt"][1].removed_share


# ------------------------------------------------------------------------- 3. broken subtitle cues


BROKEN_SRT = """1
00:00:01,000 --> 00:00:02,000
佐藤:一つ目の字幕です。

2
99:99:99,999 --> 00:00:03,000
壊れた時刻の字幕です。

3
00:00:05,000 --> 00:00:04,000
終わりが先の字幕です。

4
00:00:06,000 -> 00:00:07,000
矢印の壊れた字幕です。

5
00:00:08,000 --> 00:00:09,000
<i></i>

6
00:00:10,000 --> 00:00:11,000
最後の字幕です。
"""


def test_impossible_and_broken_cues_are_dropped_each_with_a_note():
    segments, notes = read_cues(BROKEN_SRT)
    assert [(s.start, s.end, s.text) for s in segments] == [(1.0, 2.0, "一つ目の字幕です。"), (10.0, 11.0, "最後の字幕です。")]
    assert notes == [
        "subtitle cue at line 6 dropped: not a time: '99:99:99,999' (minutes and seconds run to 59)",
        "subtitle cue at line 10 dropped: it ends (00:00:04,000) before it starts (00:00:05,000)",
        "subtitle text at lines 13-15 dropped: it belongs to no cue timing "
        "('4 00:00:06,000 -> 00:00:07,000 矢印の壊れた字幕です。')",
        "subtitle cue at line 18 dropped: it has no text",
    ]


def test_dropped_cue_notes_reach_the_episode_record(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "show_2024-01-01.srt").write_text(BROKEN_SRT, encoding="utf-8")
    (episode,) = run_pipeline([folder], tmp_path / "out", load_config(overrides=["entities.enabled=false"]))
    assert episode.status == "ok" and [s.start for s in episode.segments] == [1.0, 10.0]
    _, _, notes = read_transcript(folder / "show_2024-01-01.srt")
    assert [n for n in episode.notes if n.startswith("ingest: ")] == [f"ingest: {n}" for n in notes]
    assert len(notes) == 4
