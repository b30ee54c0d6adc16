"""Experiment 1's success criterion and its per-position diagnostic, on constructed outputs and a short run."""

from __future__ import annotations

import numpy as np

from yetztml.experiments.lstm1997 import ROWS
from yetztml.experiments.lstm1997.trial import (
    REBER_POSITIONS,
    _reber_check,
    _Run,
    reber_step_correct,
    reber_wrong_steps,
    run_trial,
)
from yetztml.learning.online1997_fast import pack
from yetztml.tasks import make_task
from yetztml.tasks.reber import INDEX, SYMBOLS


def _legal(*sets: str) -> np.ndarray:
    return np.array([[c in s for c in SYMBOLS] for s in sets])


def _outputs(*rows: dict[str, float]) -> np.ndarray:
    out = np.zeros((len(rows), len(SYMBOLS)))
    for t, row in enumerate(rows):
        for c, v in row.items():
            out[t, INDEX[c]] = v
    return out


def test_criterion_on_constructed_outputs():
    legal = _legal("TP", "TP", "TP", "E", "E", "SX")
    outputs = _outputs(
        {"T": 0.4, "P": 0.3, "X": 0.2},  # both legal above every other: correct
        {"T": 0.9, "P": 0.2, "X": 0.25},  # the most active is legal, the second legal is not above X: wrong
        {"T": 0.3, "P": 0.3, "B": 0.29},  # equal legal outputs are fine
        {"E": 0.3, "S": 0.3},  # a tie with an illegal output fails
        {"E": 0.01},  # a low but strictly largest output is correct
        {"S": 0.6, "X": 0.5, "V": 0.5},  # the illegal V equals a legal output: wrong
    )
    assert reber_step_correct(outputs, legal).tolist() == [True, False, True, False, True, False]


def test_criterion_agrees_with_the_task(rng):
    task = make_task("1", seed=4)
    for sample in task.train_samples()[:20]:
        outputs = rng.uniform(size=sample.targets.shape)
        outputs[rng.uniform(size=sample.length) < 0.5] = sample.info["legal"][0]  # some steps near correct
        outputs += 0.5 * sample.info["legal"] * rng.uniform(size=sample.targets.shape)
        expected = task.step_correct(outputs, sample)
        assert reber_step_correct(outputs, sample.info["legal"]).tolist() == expected.tolist()


def test_wrong_steps_counted_by_position():
    task = make_task("1", seed=2)
    samples = [task.encode("BTBTXSETE"), task.encode("BPBPVPXVVEPE"), task.encode("BTBTSSXSETE")]
    data = pack(samples, onehot=True)
    legal = np.concatenate([s.info["legal"] for s in samples])
    perfect = legal.astype(float)
    ok = reber_step_correct(perfect, legal)
    assert ok.all()
    assert reber_wrong_steps(ok, data.starts) == dict.fromkeys(REBER_POSITIONS, 0)
    # the long-lag step predicts the outer symbol, the second string's second symbol P
    a, b = data.starts[1], data.starts[2]
    assert "".join(SYMBOLS[k] for k in np.flatnonzero(legal[b - 2])) == "P"
    wrong = perfect.copy()
    wrong[b - 2] = _outputs({"T": 0.6, "P": 0.5})[0]  # long-lag step of string 1: T over P
    wrong[a] = 0.0  # second-symbol step of string 1: all outputs equal
    wrong[a + 3, INDEX["E"]] = 2.0  # an inner step of string 1
    wrong[data.starts[3] - 1, INDEX["B"]] = 1.0  # final step of string 2: B ties with E
    counts = reber_wrong_steps(reber_step_correct(wrong, legal), data.starts)
    assert counts == {"second": 1, "inner": 1, "long_lag": 1, "final": 1}


def test_protocol_check_matches_the_task_on_a_trained_net():
    run = _Run(ROWS["1-5"], 0, 0, 300)
    run.train(300)
    legal = np.concatenate([s.info["legal"] for s in run.source.samples])
    correct, ok = _reber_check(run, run.source.pool, legal)
    run.net.to_cell()
    task = run.source.pool_task
    expected = []
    for sample in run.source.samples:
        y = run.cell.forward(sample.x[:, None, :]).y_k[:, 0]  # (T, K)
        expected.append(task.step_correct(y, sample))
    assert ok.tolist() == np.concatenate(expected).tolist()
    assert correct == sum(bool(e.all()) for e in expected)


def test_trial_record_carries_the_diagnostic():
    record = run_trial(ROWS["1-5"], 0, 0, 300)
    for part, size in (("train", 256), ("test", record["test"]["size"])):
        counts = record["wrong_steps"][part]
        assert set(counts) == set(REBER_POSITIONS)
        strings_wrong = size - record[f"{part}_correct"]
        assert strings_wrong <= sum(counts.values())
        assert (strings_wrong == 0) == (sum(counts.values()) == 0)
    assert record["test"]["wrong"] == record["test"]["size"] - record["test_correct"]
    # seed 0 after 300 sequences: no string right yet; the second symbol is already predicted everywhere
    assert (record["train_correct"], record["test_correct"], record["test"]["wrong"]) == (0, 0, 256)
    assert record["wrong_steps"] == {"train": {"second": 0, "inner": 2057, "long_lag": 113, "final": 7},
                                     "test": {"second": 0, "inner": 2605, "long_lag": 123, "final": 0}}
