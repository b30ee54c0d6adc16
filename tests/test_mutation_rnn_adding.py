"""yetztml.experiments.rnn_adding: a tiny seeded run of the Elman RNN on the adding problem pinned to its
record (the learning curve pins the forward pass, the hand-derived gradients and Adam; the test pins the
batched evaluation), the success rule, and the defaults the tour relies on."""

from __future__ import annotations

import inspect
import time

import pytest

from yetztml.experiments import rnn_adding
from yetztml.experiments.rnn_adding import TOLERANCE, train_rnn_on_adding

TINY = {"T": 20, "hidden": 3, "batch": 700, "lr": 0.01, "test_size": 300, "seed": 3}


def _record(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


def test_a_tiny_run_is_pinned():
    """Six batches of 700: a curve point per 2,000 errors seen (2,100 and 4,200 sequences); 300 test
    sequences scored in batches of 256 and 44."""
    record = train_rnn_on_adding(sequences=4200, **TINY)
    assert _record(record) == {
        "net": "Elman RNN 2-3-1 (tanh, linear read-out)", "num_weights": 25,
        "method": "full BPTT, Adam lr=0.01, batch 700", "sequences": 4200,
        "curve": [{"sequences": 2100, "train_mae": pytest.approx(0.6840818498377768, rel=1e-9)},
                  {"sequences": 4200, "train_mae": pytest.approx(0.5337332822833363, rel=1e-9)}],
        "test": {"size": 300, "wrong": 294, "mae": pytest.approx(0.4382579019998121, rel=1e-9)},
        "baseline_mae": 0.1625, "success": False,
    }
    assert record["seconds"] > 0


def test_a_run_shorter_than_the_curve_window_has_no_curve_point():
    record = train_rnn_on_adding(sequences=700, **TINY)
    assert (record["sequences"], record["curve"]) == (700, [])
    assert record["test"] == {"size": 300, "wrong": 299, "mae": pytest.approx(0.6736700485980145, rel=1e-9)}


def test_success_is_a_test_without_a_wrong_sequence(monkeypatch):
    """The same 700-sequence run: its largest test error is below 5, so with that tolerance it succeeds."""
    assert TOLERANCE == 0.04
    monkeypatch.setattr(rnn_adding, "TOLERANCE", 5.0)
    record = train_rnn_on_adding(sequences=700, **TINY)
    assert (record["success"], record["test"]["wrong"]) == (True, 0)
    assert record["test"]["mae"] == pytest.approx(0.6736700485980145, rel=1e-9)


def test_defaults_are_the_tours_run():
    defaults = {name: p.default for name, p in inspect.signature(train_rnn_on_adding).parameters.items()}
    assert defaults == {"T": 100, "hidden": 16, "sequences": 20_000, "batch": 32, "lr": 1e-3, "test_size": 2560,
                        "seed": 0}


def test_a_curve_point_is_due_at_exactly_2000_errors_seen():
    """Two batches of 1,000: the window holds 2,000 errors after the second, which is a point already."""
    record = train_rnn_on_adding(**{**TINY, "batch": 1000}, sequences=2000)
    assert record["curve"] == [{"sequences": 2000, "train_mae": pytest.approx(0.7111398042081056, rel=1e-9)}]
    assert record["method"] == "full BPTT, Adam lr=0.01, batch 1000"
    assert record["test"] == {"size": 300, "wrong": 300, "mae": pytest.approx(0.6220528484203123, rel=1e-9)}


def test_an_error_equal_to_the_tolerance_is_wrong(monkeypatch):
    """The 700-sequence run's largest test error is 1.1757271777672718: at that tolerance it alone is wrong."""
    monkeypatch.setattr(rnn_adding, "TOLERANCE", 1.1757271777672718)
    record = train_rnn_on_adding(sequences=700, **TINY)
    assert (record["test"]["wrong"], record["success"]) == (1, False)


def test_seconds_are_measured_from_the_start_of_training():
    started = time.perf_counter()
    record = train_rnn_on_adding(sequences=700, **TINY)
    assert 0 < record["seconds"] <= time.perf_counter() - started


def test_a_run_without_sequences_or_seed_trains_on_20000_from_seed_0():
    """The tour's defaults in effect, not only in the signature: 20 batches of 1,000, a curve point per 2,000."""
    record = train_rnn_on_adding(T=20, hidden=3, lr=0.01, test_size=100, batch=1000)
    assert (record["sequences"], len(record["curve"]), record["curve"][-1]["sequences"]) == (20_000, 10, 20_000)
    assert record["curve"][-1]["train_mae"] == pytest.approx(0.16714258306644508, rel=1e-9)
    assert record["test"] == {"size": 100, "wrong": 88, "mae": pytest.approx(0.17541536095550422, rel=1e-9)}


def test_a_run_without_length_width_batch_or_rate_is_the_tours_net():
    """T = 100, 16 hidden units (337 weights), batches of 32, Adam at 1e-3, seed 0."""
    record = train_rnn_on_adding(sequences=64, test_size=64)
    assert _record(record) == {
        "net": "Elman RNN 2-16-1 (tanh, linear read-out)", "num_weights": 337,
        "method": "full BPTT, Adam lr=0.001, batch 32", "sequences": 64, "curve": [],
        "test": {"size": 64, "wrong": 64, "mae": pytest.approx(0.44617824893531144, rel=1e-9)},
        "baseline_mae": 0.1625, "success": False,
    }


def test_a_run_without_test_size_scores_2560_sequences():
    record = train_rnn_on_adding(T=20, hidden=3, sequences=64, batch=64, lr=0.01)
    assert record["test"] == {"size": 2560, "wrong": 2560, "mae": pytest.approx(0.8811649620490021, rel=1e-9)}
