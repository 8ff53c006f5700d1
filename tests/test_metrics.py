import pytest

from pipeline.lib.metrics import cer, normalize_for_cer


def test_normalisation_drops_punctuation_and_width():
    assert normalize_for_cer("運賃は、２００円です。 OK!") == "運賃は200円ですok"


def test_cer():
    assert cer("返納", "変能") == 1.0
    assert cer("政令指定都市", "整齢指定都市") == pytest.approx(2 / 6)
    assert cer("政令指定都市", "政令指定都市です") == pytest.approx(2 / 6)  # insertions count
    assert cer("同じ文", "同じ文。") == 0
    with pytest.raises(ValueError):
        cer("。", "何か")
