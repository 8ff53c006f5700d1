"""Episode context: a <stem>.notes.txt beside an episode is its notes, read by ingest, never a transcript."""

from __future__ import annotations

import pytest

from pipeline.config import load_config
from pipeline.engine.inputs import discover
from pipeline.engine.stage import Job, ModelStore
from pipeline.engine.work import blank_episode
from pipeline.stages.ingest import IngestStage
from pipeline.stages.transcribe import decode_kwargs, prompt_words

CONFIG = load_config()
NOTES = "ゆうがたクロス。パーソナリティ：東海林翔太。ゲストは第一生命経済研究所の長谷川由紀さん。厚生労働省の年金制度の見直し。"


def test_notes_attach_to_the_episode_beside_them_and_are_never_inputs(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("show_1.mp3", "show_1.notes.txt", "show_2.txt", "show_2.notes.txt", "sub/show_1.mp3", "lonely.notes.txt"):
        (folder / name).write_text("x", encoding="utf-8")
    files, skipped = discover([folder], CONFIG.input)
    assert [(f.episode_id, f.context.name if f.context else None) for f in files] == [
        ("show_1.mp3", "show_1.notes.txt"), ("show_2.txt", "show_2.notes.txt"), ("sub/show_1.mp3", None)]
    assert [(s.path.name, s.reason) for s in skipped] == [
        ("lonely.notes.txt", "episode notes with no episode beside them (lonely.*)")]


def _ingest(tmp_path, notes: bytes):
    audio = tmp_path / "show_1.txt"
    audio.write_text("佐藤:おはようございます。", encoding="utf-8")
    (tmp_path / "show_1.notes.txt").write_bytes(notes)
    (item,), _ = discover([tmp_path], CONFIG.input)
    episode = blank_episode(item.path, item.episode_id, "0", "text", 1, "h")
    job = Job(path=item.path, sha256="0", profile=None, ingest=CONFIG.ingest, models=ModelStore(),
              context=item.context)  # fmt: skip
    IngestStage(CONFIG.input, CONFIG.ingest).run(episode, job)
    return episode


def test_ingest_reads_the_notes_and_their_names_feed_the_prompt(tmp_path):
    episode = _ingest(tmp_path, NOTES.encode())
    assert episode.context.text == NOTES and episode.context.path.endswith("show_1.notes.txt")
    assert {"東海林翔太", "長谷川由紀", "第一生命経済研究所", "厚生労働省"} <= set(episode.context.terms)
    words = prompt_words(CONFIG.transcribe, None, episode.context)
    assert "長谷川由紀" in words and len(" ".join(words)) <= CONFIG.transcribe.prompt_max_chars
    assert "長谷川由紀" in decode_kwargs(CONFIG.transcribe, None, episode.context)["initial_prompt"]
    off = load_config(overrides=["transcribe.context_in_prompt=false"]).transcribe
    assert decode_kwargs(off, None, episode.context)["initial_prompt"] is None


def test_unreadable_notes_are_noted_and_the_episode_goes_on(tmp_path):
    episode = _ingest(tmp_path, b"\xff\xfe\x00bad")
    assert episode.context is None and episode.segments
    assert any("notes file show_1.notes.txt not read" in n for n in episode.notes)


@pytest.mark.model
def test_notes_beside_the_bundled_sample_feed_the_prompt_and_every_correction_is_right(tmp_path):
    """The bundled sample with a programme page beside it: the notes are the episode's context (not an episode),
    their names reach the prompt, and whatever the corrector changes is what the reference says."""
    from conftest import SAMPLE_AUDIO, SAMPLES

    from pipeline.plan import run_pipeline
    from pipeline.text.normalise import letters_digits

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / SAMPLE_AUDIO.name).write_bytes(SAMPLE_AUDIO.read_bytes())
    (folder / f"{SAMPLE_AUDIO.stem}.notes.txt").write_text(
        "あさラジ 3月12日(火)放送。パーソナリティ：山田太郎、佐藤花子。ゲストは東都大学准教授の中村美咲さん。"
        "テーマは地域の公共交通。静岡県浜松市のコミュニティバス、運転免許の自主返納について伺いました。",
        encoding="utf-8",
    )
    (episode,) = run_pipeline([folder], tmp_path / "out", load_config(overrides=["entities.enabled=false"]))
    assert episode.status == "ok" and episode.context is not None
    assert "中村美咲" in episode.context.terms and "中村美咲" in episode.transcription.prompt
    reference = letters_digits((SAMPLES / "reference" / f"{SAMPLE_AUDIO.stem}.txt").read_text(encoding="utf-8"))
    for c in episode.transcription.corrections:
        assert letters_digits(c.corrected) in reference, c
