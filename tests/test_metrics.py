import pytest

from pipeline.metrics import cer, edit_distance, normalize_for_cer


def test_normalisation_drops_punctuation_and_width():
    assert normalize_for_cer("運賃は、２００円です。 OK!") == "運賃は200円ですok"


def test_edit_distance_and_cer():
    assert edit_distance("返納", "変能") == 2
    assert edit_distance("", "abc") == 3
    assert cer("政令指定都市", "整齢指定都市") == pytest.approx(2 / 6)
    assert cer("同じ文", "同じ文。") == 0
    with pytest.raises(ValueError):
        cer("。", "何か")
