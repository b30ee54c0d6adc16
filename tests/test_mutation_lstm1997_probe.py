"""yetztml.experiments.lstm1997.probe: a seeded probe pinned point by point (every field, several sequences
per sample so that means, medians, minima and maxima differ), its training between checkpoints, and each
refusal's whole message."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from yetztml.core.errors import OptionError
from yetztml.experiments.lstm1997 import ROWS, resolve_row
from yetztml.experiments.lstm1997.probe import _look, probe
from yetztml.experiments.lstm1997.trial import _Run


def _approx(values):
    return pytest.approx(values, rel=1e-9, abs=1e-15)


def _point(sequences, wrong, sample, mae, mean, low, high, s_median, s_max, h_prime, y_in, y_out, weight):
    return {"sequences": sequences, "wrong": wrong, "sample": sample, "mae": _approx(mae),
            "outputs": {"mean": _approx(mean), "min": _approx(low), "max": _approx(high)},
            "cells": {"s_abs_median": _approx(s_median), "s_abs_max": _approx(s_max),
                      "h_prime_median": _approx(h_prime)},
            "gates": {"y_in_mean": _approx(y_in), "y_out_mean": _approx(y_out)},
            "max_abs_output_weight": _approx(weight)}


def test_probe_of_exp_4_at_three_checkpoints(reports):
    """Exp 4 (T = 100), trial 1 of seed 2, the same 4 sequences looked at after 0, 100 and 150 sequences."""
    points = probe(resolve_row("4-1"), trial=1, seed=2, checkpoints=[0, 100, 150], sample=4)
    assert points == [
        _point(0, 4, 4, 0.23449094578074195, [0.4992416807643104], [0.49909503694232643], [0.4993668951919892],
               [0.47789912720715116, 0.5385206357394132, 0.02385506369408694, 0.03107517950691961],
               [0.4928578215872858, 0.5667119723762312, 0.0248993172777984, 0.03369582920357743],
               [0.472498184521167, 0.4654269530355135, 0.4999288577509279, 0.49987930633369737],
               [0.05423281849340214, 0.0021951291494807096], [0.4968568802468155, 0.4632279574039302],
               0.09173932148524218),
        _point(100, 4, 4, 0.23965391784896828, [0.48890338753788776], [0.4887443946259338], [0.48904199775043067],
               [0.43489781742733624, 0.5400567207531469, 0.023731043739361454, 0.030989693185969863],
               [0.4461429605259916, 0.5685519250195067, 0.024761532254837126, 0.033600327003807884],
               [0.4770781836621879, 0.46523876267360864, 0.49992959547193755, 0.499879969374879],
               [0.05412196879992909, 0.002194781267546331], [0.4965948958065885, 0.46308722487277365],
               0.09114896241511897),
        _point(150, 4, 4, 0.1986274680890817, [0.5711504904512774], [0.5711076120331514], [0.5711857009329399],
               [0.5050035183476616, 0.3261893096659354, 0.02475047988158406, 0.031068451649172567],
               [0.5217251322041426, 0.33639988025952783, 0.025901381076208093, 0.033669517476212295],
               [0.4694230381852571, 0.4869288443277289, 0.49992341714222194, 0.4998793586221777],
               [0.0540337549191882, 0.002199370509982073], [0.49532115323328807, 0.4638363710783955],
               0.08652326095503111),
    ]
    # the first training call's report, out of the last checkpoint (a second one may follow, 0.5 s later)
    assert reports[0] == {"trial": 1, "done": 100, "total": 150, "detail": "training error 0.174", "unit": "sequences"}
    assert [r["total"] for r in reports] == [150] * len(reports)


def test_probe_of_exp_6a_reads_every_output_block_and_cell():
    (point,) = probe(resolve_row("6a"), trial=0, seed=1, checkpoints=[0], sample=3)
    assert point == _point(
        0, 3, 3, 0.50152856807703,
        [0.5055531409612088, 0.4879788726043895, 0.48222417013750524, 0.4987582731944851],
        [0.5052132532944569, 0.4878920850243896, 0.4820985501557056, 0.4983996865215643],
        [0.5057585354145736, 0.4880263166273932, 0.4824028561989825, 0.4989646613344443],
        [0.8437508070071235, 0.06456042123656777, 0.23198269209963157, 0.06825517206109667],
        [0.9813918721683383, 0.08108405187870546, 0.2331043057546457, 0.08355374350544059],
        [0.42059521611379813, 0.4994793557172934, 0.49333288365843486, 0.4994181058068678],
        [0.12328915467563716, 0.01833992364977047], [0.4645875048309997, 0.5173962862700734], 0.08667882572109425)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"checkpoints": [0], "sample": 0}, "probe(sample): expected an integer >= 1, got 0"),
        ({"checkpoints": [5, 5]}, "probe(checkpoints): expected a non-empty increasing list, got [5, 5]"),
        ({"checkpoints": [7, 3]}, "probe(checkpoints): expected a non-empty increasing list, got [7, 3]"),
        ({"checkpoints": []}, "probe(checkpoints): expected a non-empty increasing list, got []"),
        ({"checkpoints": [-1]}, "probe(checkpoints): expected an integer >= 0, got -1"),
    ],
)
def test_bad_options_are_refused_with_the_whole_message(options, text):
    with pytest.raises(OptionError) as refused:
        probe(resolve_row("4-1"), trial=0, seed=0, **options)
    assert str(refused.value) == text


@pytest.mark.parametrize("row_id", ["1-5", "2a", "2b", "2a-rtrl-1", "2a-bptt-1"])
def test_rows_it_cannot_probe_are_refused_with_the_whole_message(row_id):
    with pytest.raises(OptionError) as refused:
        probe(resolve_row(row_id), trial=0, seed=0, checkpoints=[0])
    assert str(refused.value) == f"probe(row): expected an LSTM row trained on a fresh stream (Exps 2c–6), got {row_id}"


def test_probe_accepts_rows_of_exps_2c_to_6():
    for row_id in ("2c-1", "3a-1", "5-1", "6b"):
        (point,) = probe(resolve_row(row_id), trial=0, seed=0, checkpoints=[0], sample=1)
        assert (point["sequences"], point["sample"]) == (0, 1)


def test_a_probe_scores_200_sequences_by_default():
    (point,) = probe(resolve_row("4-1"), trial=0, seed=0, checkpoints=[0])
    assert (point["sample"], point["wrong"]) == (200, 174)
    assert point["mae"] == _approx(0.1655720587794177)


def test_a_pool_source_is_scored_in_its_drawn_order():
    """A 2a row trained on the stream (not sequentially) is probed: its source draws which of the two
    sequences each of the 5 presentations is (1, 0, 1, 1, 1), and all five are scored, repeats included."""
    (point,) = probe(replace(ROWS["2a"], sequential=False), trial=0, seed=0, checkpoints=[0], sample=5)
    assert (point["sample"], point["wrong"]) == (5, 5)
    assert point["mae"] == _approx(0.4873543411025862)
    assert point["cells"]["s_abs_max"] == _approx([25.26347001767721])


@pytest.mark.parametrize(("tolerance", "wrong"), [(0.6, 0), (0.51, 1), (0.4990751141631479, 2), (0.3, 3)])
def test_wrong_counts_sequences_whose_largest_error_reaches_the_tolerance(tolerance, wrong):
    """Exp 6a untrained, three sequences: largest |error| 0.5175587882052095, 0.4990751141631479 (the second
    tolerance, reached exactly), 0.4989580808082812; their mean |error| all lie below 0.51."""
    run = _Run(resolve_row("6a"), 0, 1, None)
    run.source.tolerance = tolerance
    look = _look(run, np.random.default_rng(5), 3)
    assert (look["sample"], look["wrong"]) == (3, wrong)
    assert look["mae"] == _approx((0.5022503081616225 + 0.4908025958812266 + 0.4909063658217944) / 3)


def test_the_largest_output_weight_is_read_from_the_cells_columns_only():
    """With input-to-output connections (connectivity "B") W_k's columns are the 2 inputs, the 4 cells and
    the bias: only the cells' count."""
    row = ROWS["4-1"]
    run = _Run(replace(row, net=replace(row.net, connectivity="B")), 0, 0, None)
    run.net.Wk[:] = [[5.0, -6.0, 0.1, -0.2, 0.3, -0.7, 9.0]]
    assert _look(run, np.random.default_rng(0), 2)["max_abs_output_weight"] == 0.7
