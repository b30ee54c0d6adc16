"""yetztml.experiments.lstm1997.rows: each row builder turns a table line into the whole row, field by field,
and each Table 10 net builds the cell its columns describe.

The builders are called here with a line of the paper's tables and the row is compared with the row written
out in full (Table 10 net, Table 11 conditions, the paper's values); the table itself (:data:`ROWS`) is
compared with the same rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.experiments.lstm1997 import rows
from yetztml.experiments.lstm1997.rows import BIAS, ROWS, Net

#: Fields every LSTM row has unless it says otherwise.
LSTM_DEFAULTS = {"method": "lstm", "baseline": {}, "error_scale": 1.0, "output_derivative": True,
                 "sequential": False, "per_sequence": False}
NET_DEFAULTS = {"connectivity": "F", "output_gate": True, "g": "g1997", "h": "h1997", "output": "logistic"}

REBER_1_3 = {
    "id": "1-3", "table": 1, "exp": "1", "label": "3 blocks × 2, α = 0.2", "task": {},
    "net": {**NET_DEFAULTS, "blocks": 3, "block_size": 2, "inputs": 7, "outputs": 7, "weights": 276, "bias": "ga",
            "output_gate_bias": (-1.0, -2.0, -3.0), "input_gate_bias": None, "init_range": 0.2},
    "alpha": 0.2, "protocol": "reber", "stop": {"check_every": 100, "max_sequences": 100_000, "test_size": 256},
    "trials": 30, "paper": {"success_pct": 97, "sequences": 14_060}, "selection": "t1", **LSTM_DEFAULTS,
    "notes": "3 training/test set pairs × 10 initialisations; checked every 100 sequences.",
}

TWO_C_6 = {
    "id": "2c-6", "table": 3, "exp": "2c", "label": "q = 1000, p = 500", "task": {"p": 500, "q": 1000},
    "net": {**NET_DEFAULTS, "blocks": 2, "block_size": 1, "inputs": 504, "outputs": 2, "weights": 3064,
            "bias": "none", "output_gate_bias": None, "input_gate_bias": None, "init_range": 0.2},
    "alpha": 0.01, "protocol": "abs-test",
    "stop": {"test_size": 10_000, "precheck": 200, "check_every": 1000, "max_sequences": 5_000_000},
    "trials": 20, "paper": {"sequences": 49_000}, "selection": "t2", **LSTM_DEFAULTS, "notes": "",
}

EXP3_NET = {**NET_DEFAULTS, "blocks": 3, "block_size": 1, "inputs": 1, "outputs": 1, "weights": 102, "bias": "b1",
            "output_gate_bias": (-2.0, -4.0, -6.0), "input_gate_bias": (-1.0, -3.0, -5.0), "init_range": 0.1}


def _exp3(id_, table, label, task, alpha, stop, paper):
    return {"id": id_, "table": table, "exp": id_[:2], "label": label, "task": task, "net": EXP3_NET,
            "alpha": alpha, "protocol": "st12", "stop": stop, "trials": 10, "paper": paper, "selection": "t3",
            **LSTM_DEFAULTS, "notes": ""}


THREE_A_1 = _exp3("3a-1", 4, "T = 100, N = 3", {"T": 100, "N": 3}, 1.0,
                  {"st1_size": 256, "max_wrong_st1": 1, "st2": 0.01, "check_every": 500, "test_size": 2560,
                   "max_sequences": 3_000_000},
                  {"st1": 27_380, "st2": 39_850, "fraction_misclassified": 0.000195})
THREE_A_3 = _exp3("3a-3", 4, "T = 1000, N = 3", {"T": 1000, "N": 3}, 1.0,
                  {"st1_size": 256, "max_wrong_st1": 1, "st2": 0.01, "check_every": 2000, "test_size": 2560,
                   "max_sequences": 5_000_000},
                  {"st1": 446_850, "st2": 452_460, "fraction_misclassified": 0.000078})
THREE_B_2 = _exp3("3b-2", 5, "T = 100, N = 1", {"T": 100, "N": 1}, 1.0,
                  {"st1_size": 256, "max_wrong_st1": 6, "st2": 0.04, "check_every": 500, "test_size": 2560,
                   "max_sequences": 3_000_000},
                  {"st1": 74_950, "st2": 78_430, "fraction_misclassified": 0.015})
THREE_C_2 = _exp3("3c-2", 6, "T = 100, N = 1", {"T": 100, "N": 1}, 0.1,
                  {"st1_size": 256, "max_wrong_st1": 1, "st2": 0.015, "check_every": 500, "test_size": 2560,
                   "max_sequences": 3_000_000},
                  {"sequences": 565_640, "fraction_misclassified": 0.00441, "mean_difference": 0.012})

BASELINE_NOTE = "one self-recurrent logistic hidden unit, p + 1 logistic outputs fed by inputs and hidden unit"


def _baseline(id_, method, label, p, alpha, check_every, paper):
    weights = (p + 2) ** 2
    return {"id": id_, "table": 2, "exp": "2a", "label": label, "task": {"p": p}, "net": None, "alpha": alpha,
            "protocol": "abs-test", "stop": {"check_every": check_every, "max_sequences": 5_000_000}, "trials": 18,
            "paper": {**paper, "weights": weights}, "selection": "t1", **LSTM_DEFAULTS, "method": method,
            "baseline": {"hidden": 1, "weights": weights, "init_range": 0.2}, "notes": BASELINE_NOTE}


RTRL_3 = _baseline("2a-rtrl-3", "rtrl", "RTRL, p = 4, α = 10.0", 4, 10.0, 100,
                   {"success_pct": 22, "sequences": 254_000})
RTRL_4 = _baseline("2a-rtrl-4", "rtrl", "RTRL, p = 10, α = 1.0", 10, 1.0, 100, {"success_pct": 0, "sequences": None})
BPTT_1 = _baseline("2a-bptt-1", "bptt", "BPTT, p = 100, α = 1.0", 100, 1.0, 20, {"success_pct": 0, "sequences": None})


def test_reber_rows_of_table_1():
    assert rows._reber("1-3", 3, 2, 0.2, 276, 97, 14_060).to_dict() == REBER_1_3
    assert ROWS["1-3"].to_dict() == REBER_1_3
    four = rows._reber("1-4", 4, 1, 0.5, 264, 97, 9_500)
    assert four.net.output_gate_bias == (-1.0, -2.0, -3.0, -4.0)  # −1, −2, … one per block
    assert four.label == "4 blocks × 1, α = 0.5" and four == ROWS["1-4"]


def test_two_c_rows_of_table_3():
    assert rows._two_c(6, 1000, 500, 3064, 49_000).to_dict() == TWO_C_6
    assert ROWS["2c-6"].to_dict() == TWO_C_6


@pytest.mark.parametrize(
    ("args", "extra", "expected"),
    [
        (("3a", 1, 100, 3, 27_380, 39_850, 0.000195), {}, THREE_A_1),  # T = 100: checked every 500, 3 M cap
        (("3a", 3, 1000, 3, 446_850, 452_460, 0.000078), {}, THREE_A_3),
        (("3b", 2, 100, 1, 74_950, 78_430, 0.01500), {}, THREE_B_2),  # 3b: ST1 allows 5 wrong, ST2 0.04
        (("3c", 2, 100, 1, None, 565_640, 0.00441), {"mean_difference": 0.012}, THREE_C_2),  # 3c: α 0.1, one stop
    ],
)
def test_two_sequence_rows_of_tables_4_to_6(args, extra, expected):
    assert rows._two_seq(*args, **extra).to_dict() == expected
    assert ROWS[expected["id"]].to_dict() == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((3, "rtrl", 4, 10.0, 22, 254_000, 5_000_000), RTRL_3),
        ((4, "rtrl", 10, 1.0, 0, None, 5_000_000), RTRL_4),
        ((1, "bptt", 100, 1.0, 0, None, 5_000_000), BPTT_1),  # p = 100: checked every 20 presentations
    ],
)
def test_baseline_rows_of_table_2(args, expected):
    assert rows._baseline(*args).to_dict() == expected
    assert ROWS[expected["id"]].to_dict() == expected
    assert rows._baseline(1, "rtrl", 99, 1.0, 0, None, 7).stop == {"check_every": 100, "max_sequences": 7}


def test_row_to_dict_and_max_sequences():
    row = ROWS["4-1"]
    assert row.max_sequences == 2_000_000 and type(row.max_sequences) is int
    assert row.to_dict()["net"] == {**NET_DEFAULTS, "blocks": 2, "block_size": 2, "inputs": 2, "outputs": 1,
                                    "weights": 93, "bias": "all", "output_gate_bias": None,
                                    "input_gate_bias": (-3.0, -6.0), "init_range": 0.1}


def _same_cell(cell, reference):
    assert sorted(cell.params) == sorted(reference.params)
    for name, value in reference.params.items():
        np.testing.assert_array_equal(cell.params[name], value, err_msg=name)
    for attribute in ("recurrent", "shortcut", "bias", "output_gate", "g", "h", "output", "init_range"):
        assert getattr(cell, attribute) == getattr(reference, attribute), attribute


def test_bias_codes_of_table_10():
    assert BIAS == {"ga": "gates", "b1": "hidden", "all": "all", "none": "none"}


@pytest.mark.parametrize(
    ("row_id", "reference"),
    [
        ("2a", lambda seed: LSTM1997(101, 1, 1, 101, g="logistic", h="identity", output="logistic", recurrent="none",
                                     shortcut=True, bias="none", output_gate=False, init_range=0.2, seed=seed)),
        ("3a-1", lambda seed: LSTM1997(1, 3, 1, 1, recurrent="full", shortcut=False, bias="hidden", init_range=0.1,
                                       input_gate_bias=[-1.0, -3.0, -5.0], output_gate_bias=[-2.0, -4.0, -6.0],
                                       seed=seed)),
        ("1-3", lambda seed: LSTM1997(7, 3, 2, 7, bias="gates", init_range=0.2, output_gate_bias=[-1.0, -2.0, -3.0],
                                      seed=seed)),
        ("4-1", lambda seed: LSTM1997(2, 2, 2, 1, bias="all", input_gate_bias=[-3.0, -6.0], seed=seed)),
    ],
)
def test_nets_build_the_cell_of_their_columns(row_id, reference):
    _same_cell(ROWS[row_id].net.build(7), reference(7))
    _same_cell(ROWS[row_id].net.build(np.random.default_rng(3)), reference(np.random.default_rng(3)))


def test_a_net_with_an_identity_output_builds_it():
    net = Net(2, 1, 3, 2, 0, bias="none", output="identity", init_range=0.5, g="logistic", h="identity")
    _same_cell(net.build(1), LSTM1997(3, 2, 1, 2, bias="none", output="identity", init_range=0.5, g="logistic",
                                      h="identity", seed=1))
    assert net.build(1).params["W_k"].max() > 0.1  # drawn from ±0.5, not the default ±0.1


def test_two_sequence_rows_longer_than_100_steps_are_checked_every_2000():
    """T = 101 is past the T ≤ 100 rows: checks every 2,000 sequences, a 5 million cap."""
    row = rows._two_seq("3a", 9, 101, 3, None, 1, 0.0)
    assert (row.stop["check_every"], row.stop["max_sequences"]) == (2000, 5_000_000)
    assert (row.id, row.label, row.task) == ("3a-9", "T = 101, N = 3", {"T": 101, "N": 3})
