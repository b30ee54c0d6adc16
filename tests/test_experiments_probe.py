"""The trial probe reads the net it trains correctly and refuses rows it cannot probe."""

import numpy as np
import pytest

from yetztml.core.errors import OptionError
from yetztml.experiments.lstm1997 import resolve_row
from yetztml.experiments.lstm1997.probe import probe
from yetztml.experiments.lstm1997.trial import _Run


def _reference(row, seed, trial):
    """The untrained net of the trial and the probe's one sample sequence, run through the cell itself."""
    run = _Run(row, trial, seed, None)
    data, _ = run.source.chunk(np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(trial, 7))), 1)
    x = np.eye(run.cell.input_size)[data.index[: data.steps]] if data.onehot else data.x[: data.steps]
    trace = run.cell.forward(x[:, None, :])
    y_c, y_in, y_out, s = trace.final_state
    return trace.outputs[-1, 0], s[0], y_in[0], y_out[0]


@pytest.mark.parametrize("row_id", ["2c-1", "4-1"])
def test_untrained_probe_equals_the_cell_forward_pass(row_id):
    row = resolve_row(row_id)
    (point,) = probe(row, trial=3, seed=5, checkpoints=[0], sample=1)
    out, s, y_in, y_out = _reference(row, 5, 3)
    assert point["sequences"] == 0 and point["sample"] == 1
    np.testing.assert_allclose(point["outputs"]["mean"], out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(point["cells"]["s_abs_max"], np.abs(s), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(point["gates"]["y_in_mean"], y_in, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(point["gates"]["y_out_mean"], y_out, rtol=1e-12, atol=1e-14)
    h = 2.0 / (1.0 + np.exp(-s)) - 1.0
    np.testing.assert_allclose(point["cells"]["h_prime_median"], 0.5 * (1 + h) * (1 - h), rtol=1e-12)


def test_probe_trains_between_checkpoints():
    row = resolve_row("2c-1")
    first, later = probe(row, trial=0, seed=0, checkpoints=[0, 300], sample=5)
    assert later["sequences"] == 300
    assert later["max_abs_output_weight"] != first["max_abs_output_weight"]
    assert (first["wrong"], later["wrong"], later["sample"]) == (5, 5, 5)  # 300 sequences: still all wrong
    assert (first["max_abs_output_weight"], later["max_abs_output_weight"]) == pytest.approx(
        (0.17778956986049588, 0.1799405579481333), rel=1e-9)


@pytest.mark.parametrize("checkpoints", [[], [100, 50], [10, 10], [-1]])
def test_bad_checkpoints_are_refused(checkpoints):
    with pytest.raises(OptionError, match="checkpoints"):
        probe(resolve_row("2c-1"), trial=0, seed=0, checkpoints=checkpoints)


@pytest.mark.parametrize("row_id", ["1-5", "2a", "2a-rtrl-1"])
def test_rows_without_a_plain_stream_are_refused(row_id):
    with pytest.raises(OptionError, match="probe"):
        probe(resolve_row(row_id), trial=0, seed=0, checkpoints=[0])

