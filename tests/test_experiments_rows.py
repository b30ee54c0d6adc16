"""The 1997 rows: Table 10 weight counts, selection by experiment or table id, variants, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from yetztml.core.errors import OptionError
from yetztml.experiments.lstm1997 import ROWS, resolve_row
from yetztml.experiments.lstm1997.sources import make_source
from yetztml.experiments.lstm1997.variants import VARIANTS, get_variant
from yetztml.learning.online1997_fast import CRITERION, ERROR
from yetztml.learning.tiny_rnn import TinyRNN

#: Table 10 "w" (and Table 2 for the baselines), derived in spec §2.3 from the connectivity.
WEIGHTS = {
    "1-1": 264, "1-2": 276, "1-3": 276, "1-4": 264, "1-5": 276, "2a": 10504, "2b": 10504,
    "2c-1": 364, "2c-2": 664, "2c-3": 1264, "2c-4": 3064, "2c-5": 6064, "2c-6": 3064, "2c-7": 1264,
    "2c-8": 664, "2c-9": 364, "3a-1": 102, "3a-2": 102, "3a-3": 102, "3b-1": 102, "3b-2": 102, "3b-3": 102,
    "3c-1": 102, "3c-2": 102, "4-1": 93, "4-2": 93, "4-3": 93, "5-1": 93, "5-2": 93, "6a": 156, "6b": 308,
    "2a-rtrl-1": 36, "2a-rtrl-2": 36, "2a-rtrl-3": 36, "2a-rtrl-4": 144, "2a-rtrl-5": 10404, "2a-bptt-1": 10404,
}


@pytest.mark.parametrize("row_id", list(WEIGHTS))
def test_weight_counts_of_table_10(row_id):
    row = ROWS[row_id]
    if row.net is None:
        import numpy as np

        p = row.task["p"]
        assert TinyRNN(p + 1, p + 1, 0.2, np.random.default_rng(0)).num_weights == WEIGHTS[row_id]
    else:
        assert row.net.weights == WEIGHTS[row_id]
        assert row.net.build(0).num_weights == WEIGHTS[row_id]


def test_every_row_is_listed_once():
    assert set(ROWS) == set(WEIGHTS)


def test_gate_bias_inits_of_table_10():
    cell = ROWS["4-1"].net.build(0)
    assert cell.params["b_in"].tolist() == [-3.0, -6.0]
    assert abs(cell.params["b_out"]).max() <= 0.1
    # drawn with the other weights from U[-0.1, 0.1], seed 0 (a fixed init would not give these)
    assert cell.params["b_out"].tolist() == [0.04222857559794996, 0.08641193732267566]
    cell = ROWS["3a-1"].net.build(0)
    assert cell.params["b_in"].tolist() == [-1.0, -3.0, -5.0]
    assert cell.params["b_out"].tolist() == [-2.0, -4.0, -6.0]
    assert ROWS["1-1"].net.build(0).params["b_out"].tolist() == [-1.0, -2.0, -3.0, -4.0]
    assert "b_in" not in ROWS["2c-2"].net.build(0).params


@pytest.mark.parametrize(
    ("exp", "params", "row_id"),
    [
        ("4", {"T": 100}, "4-1"), ("4", {"T": 1000}, "4-3"), ("4-2", {}, "4-2"), ("3a", {"T": 100, "N": 1}, "3a-2"),
        ("2c", {"p": 100, "q": 1000}, "2c-8"), ("1", {"blocks": 4, "block_size": 1, "alpha": 0.5}, "1-4"),
        ("2a", {"method": "rtrl", "p": 4, "alpha": 10.0}, "2a-rtrl-3"), ("2a", {}, "2a"), ("5", {"n_seq": 13}, "5-2"),
        ("6b", {}, "6b"),
    ],
)
def test_resolve_row(exp, params, row_id):
    assert resolve_row(exp, **params).id == row_id


def test_rows_outside_the_tables_are_built_without_paper_values():
    row = resolve_row("4", T=200)
    assert row.task == {"T": 200} and row.paper == {} and row.net.weights == 93
    row = resolve_row("2c", p=20, q=30)
    assert row.net.weights == 6 * 20 + 64 and row.net.build(0).num_weights == 184


@pytest.mark.parametrize(
    ("exp", "params", "match"),
    [
        ("7", {}, "experiment id"),
        ("4", {"T": 10}, ">= 20"),
        ("4", {"N": 3}, "subset of T"),
        ("4-1", {"T": 100}, "no further parameters"),
        ("1", {"blocks": 5}, "paper's rows"),
        ("2a", {"method": "rtrl", "p": 7}, "paper's rows"),
    ],
)
def test_bad_selections_list_the_choices(exp, params, match):
    with pytest.raises(OptionError, match=match):
        resolve_row(exp, **params)


def test_variants_change_only_what_they_name():
    row = ROWS["4-1"]
    assert get_variant("as-written").apply(row) == row
    assert get_variant("linear-output").apply(row).net.output == "identity"
    assert get_variant("no-fprime").apply(row).output_derivative is False
    assert get_variant("grad2").apply(row).error_scale == 2.0
    assert sorted(VARIANTS) == ["as-written", "centred-g", "end-error", "grad2", "linear-output", "no-fprime",
                                "per-sequence"]
    with pytest.raises(OptionError, match="one of"):
        get_variant("tuned")
    with pytest.raises(OptionError):
        get_variant("linear-output").apply(ROWS["2a-rtrl-1"])


def test_centred_g_variant_changes_only_the_cell_input_squash_of_2a_2b():
    for row_id in ("2a", "2b"):
        as_written, varied = ROWS[row_id], get_variant("centred-g").apply(ROWS[row_id])
        assert as_written.net.g == "logistic" and varied.net.g == "g1997"
        assert replace(varied.net, g="logistic") == as_written.net and replace(varied, net=as_written.net) == as_written
        cell = varied.net.build(0)
        assert (cell.g, cell.h) == ("g1997", "identity") and cell.num_weights == as_written.net.weights == 10504
    for row_id in ("2c-2", "4-1", "1-5"):
        with pytest.raises(OptionError, match="a row of Exp 2a or 2b"):
            get_variant("centred-g").apply(ROWS[row_id])


def test_end_error_variant_moves_2b_error_to_the_last_step_only():
    """Same sequences as as-written 2b, the error flag only at each sequence's last step; 2b rows only."""
    as_written, varied = ROWS["2b"], get_variant("end-error").apply(ROWS["2b"])
    assert varied.task == {**as_written.task, "end_error_only": True} and varied.net == as_written.net
    a, _ = make_source("2b", **as_written.task).chunk(np.random.default_rng(5), 4)
    b, _ = make_source("2b", **varied.task).chunk(np.random.default_rng(5), 4)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.targets, b.targets)
    last = np.zeros(a.steps, dtype=bool)
    last[a.starts[1:] - 1] = True
    assert (a.flags == ERROR).sum() == a.steps - 4 and np.all(a.flags[last] == ERROR | CRITERION)
    assert np.all(b.flags[~last] == 0) and np.all(b.flags[last] == ERROR | CRITERION)
    for row_id in ("2a", "2c-2", "4-1"):
        with pytest.raises(OptionError, match="a row of Exp 2b"):
            get_variant("end-error").apply(ROWS[row_id])
