"""Whole models to and from PyTorch: the exported module computes the same outputs (with lengths and
padding), and the round trip returns the same weights."""

from __future__ import annotations

import numpy as np
import pytest

from cellchecks import raises
from yetztml.cells import GRU, LSTM
from yetztml.core.errors import DTypeError, UnsupportedError
from yetztml.core.gradcheck import relative_error
from yetztml.interop.torch import from_torch, to_torch
from yetztml.layers import Dropout, Embedding, Linear, Pool
from yetztml.models import Bidirectional, Sequential

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
torch.set_num_threads(1)


@pytest.mark.parametrize("mode", ["last", "mean", "max", "maxmean"])
def test_text_model_exports_with_equal_outputs_and_round_trips(rng, mode):
    width = 12 if mode == "maxmean" else 6
    model = Sequential(
        Embedding(10, 3, padding_idx=0, seed=1), Dropout(3, 0.4),
        Bidirectional(LSTM(3, 4, seed=2), GRU(3, 2, seed=3)), Pool(6, mode), Dropout(width, 0.5),
        Linear(width, 2, seed=4),
    ).eval()
    module = to_torch(model).eval()
    assert type(module).__name__ == "TorchSequential"
    ids = rng.integers(1, 10, (6, 3))
    lengths = np.array([6, 2, 5])
    ids[2:, 1] = 0
    ids[5:, 2] = 0
    ours = model.forward(ids, lengths=lengths).outputs
    theirs = module(torch.tensor(ids), torch.tensor(lengths)).detach().numpy()
    assert relative_error(ours, theirs) < 1e-13
    back = from_torch(module)
    assert back.describe() == model.describe()
    for key, value in model.params.items():
        np.testing.assert_array_equal(back.params[key], value)


def test_regression_model_with_a_last_step_readout(rng):
    model = Sequential(LSTM(2, 5, num_layers=2, batch_first=True, seed=1),
                       Linear(5, 1, steps="last", batch_first=True, seed=2))
    module = to_torch(model)
    x = rng.standard_normal((4, 7, 2))
    theirs = module(torch.tensor(x)).detach().numpy()
    assert theirs.shape == (4, 1, 1)
    assert relative_error(model.forward(x).outputs, theirs) < 1e-13
    back = from_torch(module)
    assert back[1].steps == "last" and back.batch_first
    np.testing.assert_array_equal(back.forward(x).outputs, model.forward(x).outputs)


def test_unsupported_modules_are_named():
    with raises(DTypeError, "from_torch(module)", "Conv1d"):
        from_torch(torch.nn.Conv1d(2, 2, 1))
    with raises(UnsupportedError, "inside a TorchSequential"):
        from_torch(torch.nn.Dropout(0.2))
