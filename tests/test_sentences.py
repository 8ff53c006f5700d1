from pipeline.text.sentences import sentence_at, time_of
from pipeline.records import Turn, Word


def test_sentence_at_picks_the_sentence_holding_the_figure():
    text = "最初の文です。運賃は200円です。\n次の行は100円。"
    assert sentence_at(text, text.index("200円"), text.index("200円") + 4) == "運賃は200円です。"
    assert sentence_at(text, text.index("100円"), text.index("100円") + 4) == "次の行は100円。"


def test_time_of_maps_characters_to_word_times():
    words = [Word(start=1.0, end=1.2, text="運", probability=0.9), Word(start=1.2, end=1.4, text="賃", probability=0.9), Word(start=2.0, end=2.3, text="200", probability=0.9), Word(start=2.3, end=2.5, text="円", probability=0.9)]
    turn = Turn(id=0, speaker="SPEAKER_00", start=1.0, end=2.5, text="運賃 200円", section=None, segments=[0], words=words)
    assert time_of(turn, 3, 7) == [2.0, 2.5]
    text_turn = Turn(id=1, speaker="佐藤", start=None, end=None, text="200円", section=None, segments=[1], words=[])
    assert time_of(text_turn, 0, 4) is None
