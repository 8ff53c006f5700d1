"""Cross-episode dedup on real audio: two TTS episodes (tests/data, see its README) share a 30 s ad read."""

import json

import pytest

from pipeline.config import load_config
from pipeline.plan import run_pipeline
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.model

DATA = PROJECT_ROOT / "tests" / "data"
FIRST, LATER = "asaradio_2024-04-01", "asaradio_2024-04-08"


@pytest.fixture(scope="module")
def shared():
    return json.loads((DATA / "shared_passage.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """The same two files processed in both orders (the second run reuses the cached transcriptions)."""
    out = tmp_path_factory.mktemp("xdedup")
    files = [DATA / f"{FIRST}.ogg", DATA / f"{LATER}.ogg"]
    results = {}
    for name, order in (("aired", files), ("reversed", files[::-1])):
        results[name] = {e.episode_id: e for e in run_pipeline(order, out, load_config())}
    return results


def _overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


@pytest.mark.parametrize("order", ["aired", "reversed"])
def test_later_airing_marks_the_shared_passage_dup_of_the_first(batches, shared, order):
    episodes = batches[order]
    first, later = episodes[f"{FIRST}.ogg"], episodes[f"{LATER}.ogg"]
    assert not [r for r in first.dedup.removals if r.kind == "cross_episode"]
    cross = [r for r in later.dedup.removals if r.kind == "cross_episode"]
    assert cross and all(r.dup_of.episode_id == f"{FIRST}.ogg" for r in cross)
    truth_later = (shared["episodes"][LATER]["start"], shared["episodes"][LATER]["end"])
    truth_first = (shared["episodes"][FIRST]["start"], shared["episodes"][FIRST]["end"])
    removed = sum(r.time[1] - r.time[0] for r in cross)
    inside = sum(_overlap(r.time, truth_later) for r in cross)
    # most of the 30 s passage is removed, and (nearly) nothing outside it
    assert inside >= 0.8 * (truth_later[1] - truth_later[0])
    assert removed - inside <= 3.0
    for r in cross:
        assert _overlap(r.dup_of.time, truth_first) > 0
    # the rest of the later episode, and all of the first, are still there; in particular the sentences that
    # differ from the first episode's only in a figure (18度 / 21度, 1200人 / 1500人) are not taken for repeats
    assert later.duration - removed > 20
    assert "21度" in later.text and "1500人" in later.text and "18度" in first.text
    assert "緑屋" in first.text or "みどり屋" in first.text


def test_result_does_not_depend_on_processing_order(batches):
    for episode_id in (f"{FIRST}.ogg", f"{LATER}.ogg"):
        aired, reversed_ = batches["aired"][episode_id], batches["reversed"][episode_id]
        assert aired.dedup == reversed_.dedup
        assert aired.text == reversed_.text
