"""Summaries: the ranking and selection functions with plain data, then whole episodes through the runner."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.lib.dedup import Reader
from pipeline.records import Episode
from pipeline.plan import run_pipeline
from pipeline.lib.summary import Analyser, keywords, pick, textrank
from tests.conftest import ARTICLE, SAMPLE_TEXT

CONFIG = load_config()


def test_textrank_puts_the_shared_sentence_first():
    # sentence 0 shares words with 1, 2 and 3; those share nothing with each other
    matrix = np.array([[0, .5, .5, .5], [.5, 0, 0, 0], [.5, 0, 0, 0], [.5, 0, 0, 0]], dtype=float)
    scores = textrank(matrix, damping=0.85)
    assert scores.argmax() == 0 and scores[1] == pytest.approx(scores[2])
    assert textrank(np.zeros((2, 2)), 0.85).tolist() == pytest.approx([0.5, 0.5])  # no links: equal


def test_pick_covers_a_second_topic_before_repeating_the_first():
    scores = np.array([1.0, 0.95, 0.6])
    matrix = np.array([[0, .9, 0], [.9, 0, 0], [0, 0, 0]], dtype=float)  # 0 and 1 say the same thing
    assert pick(scores, matrix, 2, balance=0.7, exclude=set()) == [0, 2]
    assert pick(scores, matrix, 2, balance=1.0, exclude=set()) == [0, 1]  # centrality only
    assert pick(scores, matrix, 1, balance=0.7, exclude={0}) == [2]  # the headline's twin is not a key sentence


def test_keywords_are_weighted_against_the_batch():
    counts = Counter({"番組": 3, "返納": 2})
    document_frequency = Counter({"番組": 5, "返納": 1})  # 番組 is in every episode of a batch of five
    ranked = keywords(counts, document_frequency, episodes=5, limit=2)
    assert [k.text for k in ranked] == ["返納", "番組"] and ranked[0].count == 2


def test_nouns_form_compounds():
    content, nouns = Analyser(Reader()).words("マイナンバーカードの自主返納が増えています。")
    assert "自主返納" in nouns and "マイナンバーカード" in nouns
    assert "増える" in content and "いる" not in content


def check_summary(episode: Episode, key_sentences: int) -> None:
    """Every summary sentence is a real sentence of its cited turn, by the turn's speaker; none twice."""
    summary = episode.summary
    cited = [summary.headline, *summary.key_sentences, *(line.sentence for line in summary.speakers)]
    turns = {t.id: t for t in episode.turns}
    for sentence in cited:
        turn = turns[sentence.turn]
        assert turn.text[sentence.span[0] : sentence.span[1]] == sentence.text
        assert sentence.speaker == turn.speaker
        if turn.start is not None:
            assert turn.start <= sentence.start <= turn.end
    main = [summary.headline.text, *(s.text for s in summary.key_sentences)]
    assert len(main) == len(set(main)) == 1 + key_sentences
    assert [s.turn for s in summary.key_sentences] == sorted(s.turn for s in summary.key_sentences)
    assert {line.speaker for line in summary.speakers} == {s.id for s in episode.speakers}
    assert len(summary.keywords) == CONFIG.summary.keywords


def run(tmp_path, *sources):
    folder = tmp_path / "in"
    folder.mkdir()
    for source in sources:
        shutil.copy(source, folder / source.name)
    episodes = run_pipeline(sorted(folder.iterdir()), tmp_path / "out", CONFIG)
    assert all(e.status == "ok" for e in episodes)
    return {e.episode_id: e for e in episodes}


@pytest.mark.model
def test_sample_article_summary(tmp_path):
    if not ARTICLE.is_file():
        pytest.skip("../shared/samples is not present on this machine")
    episodes = run(tmp_path, ARTICLE, SAMPLE_TEXT)
    article = episodes[ARTICLE.name]
    check_summary(article, CONFIG.summary.key_sentences)
    # the subject is the returns of the My Number card; the other episode of the batch is about prices
    top = [k.text for k in article.summary.keywords[:5]]
    assert "マイナンバーカード" in top and "自主返納" in [k.text for k in article.summary.keywords]
    assert "値上げ" in [k.text for k in episodes[SAMPLE_TEXT.name].summary.keywords[:3]]
    guest = next(line for line in article.summary.speakers if line.name == "塚越健司")
    assert guest is article.summary.speakers[0]  # he talks the most
