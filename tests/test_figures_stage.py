from pipeline.turntext import sentence_at, time_of
from pipeline.records import Turn, Word


def test_sentence_at_picks_the_sentence_holding_the_figure():
    text = "最初の文です。運賃は200円です。\n次の行は100円。"
    assert sentence_at(text, text.index("200円"), text.index("200円") + 4) == "運賃は200円です。"
    assert sentence_at(text, text.index("100円"), text.index("100円") + 4) == "次の行は100円。"


def test_time_of_maps_characters_to_word_times():
    words = [Word(1.0, 1.2, "運", 0.9), Word(1.2, 1.4, "賃", 0.9), Word(2.0, 2.3, "200", 0.9), Word(2.3, 2.5, "円", 0.9)]
    turn = Turn(0, "SPEAKER_00", 1.0, 2.5, "運賃 200円", None, [0], words)
    assert time_of(turn, 3, 7) == [2.0, 2.5]
    text_turn = Turn(1, "佐藤", None, None, "200円", None, [1], [])
    assert time_of(text_turn, 0, 4) is None
