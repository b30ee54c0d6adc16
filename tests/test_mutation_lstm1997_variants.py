"""yetztml.experiments.lstm1997.variants: what each reading changes (and nothing else), and every refusal's
whole message."""

from __future__ import annotations

from dataclasses import replace

import pytest

from yetztml.core.errors import OptionError
from yetztml.experiments.lstm1997.rows import ROWS
from yetztml.experiments.lstm1997.variants import VARIANTS, get_variant


def test_the_variants_in_order():
    assert list(VARIANTS) == ["as-written", "linear-output", "no-fprime", "grad2", "per-sequence", "end-error",
                              "centred-g"]
    assert all(v.name == name for name, v in VARIANTS.items())


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("linear-output", lambda row: replace(row, net=replace(row.net, output="identity"))),
        ("no-fprime", lambda row: replace(row, output_derivative=False)),
        ("grad2", lambda row: replace(row, error_scale=2.0)),
        ("per-sequence", lambda row: replace(row, per_sequence=True)),
    ],
)
def test_a_variant_changes_only_the_field_it_names(name, changed):
    row = ROWS["1-5"]
    varied = get_variant(name).apply(row)
    assert varied == changed(row) and varied != row
    assert varied.net.output == ("identity" if name == "linear-output" else "logistic")


def test_as_written_applies_to_every_row_baselines_included():
    for row_id in ("4-1", "2a-rtrl-1", "2a-bptt-1"):
        assert get_variant("as-written").apply(ROWS[row_id]) is ROWS[row_id]


def test_the_exp_2a_2b_variants_apply_to_their_rows():
    assert get_variant("centred-g").apply(ROWS["2b"]) == replace(ROWS["2b"], net=replace(ROWS["2b"].net, g="g1997"))
    assert get_variant("end-error").apply(ROWS["2b"]).task == {"p": 100, "end_error_only": True}


@pytest.mark.parametrize(
    ("name", "row_id", "text"),
    [
        ("grad2", "2a-rtrl-1",
         "variant 'grad2' for row '2a-rtrl-1': expected variant 'as-written' for a baseline net, got grad2"),
        ("linear-output", "2a-bptt-1",
         "variant 'linear-output' for row '2a-bptt-1': expected variant 'as-written' for a baseline net, "
         "got linear-output"),
        ("end-error", "2a", "variant 'end-error' for row '2a': expected a row of Exp 2b, got 2a"),
        ("centred-g", "4-1", "variant 'centred-g' for row '4-1': expected a row of Exp 2a or 2b, got 4"),
        ("centred-g", "2c-1", "variant 'centred-g' for row '2c-1': expected a row of Exp 2a or 2b, got 2c"),
    ],
)
def test_a_variant_for_a_row_it_does_not_fit_is_refused(name, row_id, text):
    with pytest.raises(OptionError) as refused:
        get_variant(name).apply(ROWS[row_id])
    assert str(refused.value) == text


def test_an_unknown_variant_is_refused_with_the_list():
    with pytest.raises(OptionError) as refused:
        get_variant("tuned")
    assert str(refused.value) == ("variant: expected one of 'as-written', 'linear-output', 'no-fprime', 'grad2', "
                                  "'per-sequence', 'end-error', 'centred-g', got 'tuned'")
