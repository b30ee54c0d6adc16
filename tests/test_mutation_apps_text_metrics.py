"""yetztml.apps.text.metrics: (MET1)–(MET4) on a table worked out by hand, with a class never predicted, one
never true and one neither, and the empty cases."""

from __future__ import annotations

import pytest

from yetztml.apps.text import classification_metrics


def test_every_measure_of_a_table_worked_out_by_hand():
    true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    predicted = [0, 0, 1, 1, 0, 2, 2, 3, 3]
    got = classification_metrics(true, predicted, [10, 20, 30, 40, 50])
    assert got["confusion"] == [[2, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 2, 2, 0], [0, 0, 0, 0, 0],
                                [0, 0, 0, 0, 0]]
    assert got["accuracy"] == pytest.approx(5 / 9, abs=1e-15)
    per = got["per_class"]
    assert list(per) == ["10", "20", "30", "40", "50"]
    assert per["10"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}, abs=1e-15)
    assert per["20"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}, abs=1e-15)
    assert per["30"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4}, abs=1e-15)
    assert per["40"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # predicted, never true
    assert per["50"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # neither
    assert got["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 2 / 3) / 5, abs=1e-15)
    assert got["classes"] == ["10", "20", "30", "40", "50"]
    assert got["examples"] == 9
    assert set(got) == {"accuracy", "macro_f1", "per_class", "confusion", "classes", "examples"}
    assert all(type(v) is float for v in (got["accuracy"], got["macro_f1"], per["10"]["precision"],
                                          per["10"]["recall"], per["30"]["f1"]))
    assert type(per["10"]["support"]) is int
    assert all(type(v) is int for row in got["confusion"] for v in row)


def test_a_class_never_predicted_has_precision_zero():
    got = classification_metrics([0, 1, 1], [0, 0, 0], ["n", "p"])
    assert got["per_class"]["p"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert got["per_class"]["n"] == pytest.approx({"precision": 1 / 3, "recall": 1.0, "f1": 0.5, "support": 1},
                                                  abs=1e-15)
    assert got["macro_f1"] == pytest.approx(0.25, abs=1e-15)


def test_no_examples_and_no_classes_give_zeros():
    got = classification_metrics([], [], ["a"])
    assert got["accuracy"] == 0.0 and got["macro_f1"] == 0.0 and got["examples"] == 0
    assert got["per_class"] == {"a": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}}
    assert got["confusion"] == [[0]]
    none = classification_metrics([], [], [])
    assert none["macro_f1"] == 0.0 and none["accuracy"] == 0.0
    assert none["confusion"] == [] and none["per_class"] == {} and none["classes"] == []
