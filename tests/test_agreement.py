import math

import pytest

from eval.agreement import alpha, pairwise


def test_alpha_matches_krippendorff_textbook_binary_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example A:
    # two observers, ten units, binary data: alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert alpha(a, b, "nominal") == pytest.approx(0.095, abs=5e-4)


def test_alpha_perfect_and_undefined():
    assert alpha([0, 1, 2, 1], [0, 1, 2, 1], "ordinal") == pytest.approx(1.0)
    assert math.isnan(alpha([1, 1, 1], [1, 1, 1]))


def test_pairwise_confusion_and_kappa():
    out = pairwise(["a", "a", "b", "b"], ["a", "b", "b", "b"], labels=["a", "b"])
    assert out["confusion"] == [[1, 1], [0, 2]]
    assert out["agreement"] == 0.75
    assert out["cohen_kappa"] == pytest.approx(0.5)
    assert out["n"] == 4


def test_pairwise_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        pairwise([1, 2], [1])
