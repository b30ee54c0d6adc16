"""yetztml.interop.torch refusal by refusal: each error's whole message, a ReLU RNN both ways, and mixed
weight dtypes named in the order the message sorts them."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.cells import GRU, RNN
from yetztml.core.errors import DTypeError, UnsupportedError
from yetztml.interop.torch import from_torch, to_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
torch.set_num_threads(1)


def test_projection_refusal_is_the_whole_message():
    with pytest.raises(UnsupportedError) as info:
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    assert str(info.value) == (
        "from_torch(module).proj_size: expected 0 (LSTM projections are not supported), got 2"
    )


def test_half_weights_refusal_is_the_whole_message():
    with pytest.raises(UnsupportedError) as info:
        from_torch(torch.nn.GRU(3, 4).half())
    assert str(info.value) == (
        "from_torch(module) dtype: expected float32 or float64 weights, got torch.float16. "
        "Convert with module.float() or module.double()."
    )


def test_mixed_weight_dtypes_are_refused_and_listed_sorted():
    module = torch.nn.RNN(2, 3)
    module.weight_hh_l0.data = module.weight_hh_l0.data.double()
    with pytest.raises(UnsupportedError) as info:
        from_torch(module)
    assert str(info.value) == (
        "from_torch(module) dtype: expected float32 or float64 weights, got torch.float32, torch.float64. "
        "Convert with module.float() or module.double()."
    )


def test_logistic_rnn_refusal_is_the_whole_message():
    with pytest.raises(UnsupportedError) as info:
        to_torch(RNN(3, 4, nonlinearity="logistic"))
    assert str(info.value) == (
        "to_torch(cell).nonlinearity: expected 'tanh' or 'relu' (torch.nn.RNN has no other), got 'logistic'"
    )


def test_foreign_object_refusal_is_the_whole_message():
    with pytest.raises(DTypeError) as info:
        to_torch(torch.nn.Linear(3, 4))
    assert str(info.value) == (
        "to_torch(cell): expected a yetztml RNN, LSTM or GRU, a layer or a model of them, got Linear"
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_rnn_exports_as_relu_and_computes_the_same(dtype):
    cell = RNN(2, 3, nonlinearity="relu", seed=4, dtype=dtype)
    module = to_torch(cell)
    assert type(module) is torch.nn.RNN and module.nonlinearity == "relu"
    # A negative pre-activation shows the difference: tanh would give a negative output, relu gives 0.
    x = np.array([[[1.0, -2.0]], [[-3.0, 0.5]], [[2.0, 2.0]]], dtype=dtype)
    out, _ = module(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), cell.forward(x).outputs, rtol=1e-6, atol=1e-7)
    assert (cell.forward(x).outputs >= 0).all() and (cell.forward(x).outputs == 0).any()
    assert from_torch(module).nonlinearity == "relu"


def test_cell_from_torch_carries_the_modules_weights_not_a_seeded_draw():
    module = to_torch(GRU(2, 3, seed=7))
    cell = from_torch(module)
    np.testing.assert_array_equal(cell.params["weight_ih_l0"], GRU(2, 3, seed=7).params["weight_ih_l0"])
    assert "seed" not in cell.config()
