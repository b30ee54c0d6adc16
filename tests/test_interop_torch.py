"""PyTorch interop: converted cells reproduce nn.RNN / nn.LSTM / nn.GRU (outputs, final states, gradients
by torch autograd on the same loss), weights round-trip exactly, unsupported options are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cellchecks import raises
from yetztml.cells.gru import GRU
from yetztml.cells.lstm import LSTM, LSTMState
from yetztml.cells.rnn import RNN
from yetztml.core.errors import DTypeError, UnsupportedError
from yetztml.core.gradcheck import relative_error
from yetztml.interop.torch import from_torch, to_torch

pytestmark = pytest.mark.torch
torch.set_num_threads(1)

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _compare(module: torch.nn.Module, kind: str, seed: int, T: int = 5, B: int = 3) -> None:
    """Run module and from_torch(module) on the same input, state and loss; compare everything."""
    cell = from_torch(module)
    assert type(cell) is CELLS[kind]
    rng = np.random.default_rng(seed)
    L, D, H = module.num_layers, 2 if module.bidirectional else 1, module.hidden_size
    np_dtype = cell.dtype
    x = rng.standard_normal((B, T, module.input_size) if module.batch_first else (T, B, module.input_size))
    x = x.astype(np_dtype)
    parts = 2 if kind == "lstm" else 1
    state = [(0.5 * rng.standard_normal((L * D, B, H))).astype(np_dtype) for _ in range(parts)]
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in state]
    out, fin = module(xt, tuple(st) if kind == "lstm" else st[0])
    fin = list(fin) if kind == "lstm" else [fin]

    trace = cell.forward(x, LSTMState(*state) if kind == "lstm" else state[0])
    ours_fin = list(trace.final_state) if kind == "lstm" else [trace.final_state]
    assert relative_error(trace.outputs, out.detach().numpy()) <= 1e-5
    for a, b in zip(ours_fin, fin, strict=True):
        assert relative_error(a, b.detach().numpy()) <= 1e-5

    d_out = rng.standard_normal(out.shape).astype(np_dtype)
    d_fin = [rng.standard_normal(f.shape).astype(np_dtype) for f in fin]
    loss = (out * torch.tensor(d_out)).sum() + sum((f * torch.tensor(d)).sum() for f, d in zip(fin, d_fin, strict=True))
    loss.backward()
    grads = cell.backward(trace, d_out, LSTMState(*d_fin) if kind == "lstm" else d_fin[0])
    named = dict(module.named_parameters())
    assert set(named) == set(grads)
    for name, param in named.items():
        assert relative_error(grads[name], param.grad.numpy()) <= 1e-4, name
    assert relative_error(grads.inputs, xt.grad.numpy()) <= 1e-4
    ours_init = list(grads.initial_state) if kind == "lstm" else [grads.initial_state]
    for a, s in zip(ours_init, st, strict=True):
        assert relative_error(a, s.grad.numpy()) <= 1e-4


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_from_torch_reproduces_the_module_in_float32(kind, num_layers, bidirectional, batch_first):
    torch.manual_seed(num_layers + 2 * bidirectional + 4 * batch_first)
    module = MODULES[kind](4, 5, num_layers, bidirectional=bidirectional, batch_first=batch_first)
    _compare(module, kind, seed=num_layers)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_from_torch_without_biases(kind):
    torch.manual_seed(1)
    module = MODULES[kind](3, 4, 2, bias=False, bidirectional=True)
    assert not from_torch(module).bias
    _compare(module, kind, seed=2)


def test_from_torch_relu_rnn():
    torch.manual_seed(2)
    module = torch.nn.RNN(3, 4, 2, nonlinearity="relu", bias=False, batch_first=True)
    assert from_torch(module).nonlinearity == "relu"
    _compare(module, "rnn", seed=3)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_from_torch_float64_agrees_to_rounding(kind):
    torch.manual_seed(3)
    module = MODULES[kind](3, 4, 2, bidirectional=True).double()
    cell = from_torch(module)
    assert cell.dtype == np.float64
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    out, _ = module(torch.tensor(x))
    assert relative_error(cell.forward(x).outputs, out.detach().numpy()) <= 1e-13


def test_dropout_is_not_applied_so_the_cell_equals_the_module_in_eval_mode():
    torch.manual_seed(4)
    module = torch.nn.LSTM(3, 4, 2, dropout=0.5).eval()
    cell = from_torch(module)
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    out, _ = module(torch.tensor(x))
    assert relative_error(cell.forward(x).outputs, out.detach().numpy()) <= 1e-5


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_torch_round_trip_is_exact(kind, dtype):
    cell = CELLS[kind](3, 4, 2, bidirectional=True, batch_first=True, bias=kind != "gru", seed=5, dtype=dtype)
    module = to_torch(cell)
    assert type(module) is MODULES[kind]
    assert (module.num_layers, module.bidirectional, module.batch_first, module.bias) == (2, True, True, kind != "gru")
    assert list(module.state_dict()) == list(cell.params)
    for name, value in module.state_dict().items():
        assert value.numpy().dtype == dtype
        assert np.array_equal(value.numpy(), cell.params[name])
    back = from_torch(module)
    assert back.dtype == cell.dtype and type(back) is type(cell)
    for name, value in cell.params.items():
        assert np.array_equal(back.params[name], value)
    again = to_torch(from_torch(module))
    for name, value in module.state_dict().items():
        assert torch.equal(again.state_dict()[name], value)


def test_to_torch_module_computes_what_the_cell_computes():
    cell = GRU(3, 4, 2, bidirectional=True, seed=6)
    module = to_torch(cell)
    x = np.random.default_rng(2).standard_normal((5, 2, 3))
    out, h_n = module(torch.tensor(x))
    trace = cell.forward(x)
    assert relative_error(trace.outputs, out.detach().numpy()) <= 1e-13
    assert relative_error(trace.final_state, h_n.detach().numpy()) <= 1e-13


def test_to_torch_leaves_torch_global_generator_alone():
    torch.manual_seed(0)
    before = torch.get_rng_state().clone()
    to_torch(LSTM(3, 4, 2))
    assert torch.equal(before, torch.get_rng_state())


def test_unsupported_torch_options_are_refused():
    with raises(UnsupportedError, "proj_size", "0 (LSTM projections are not supported)", "got 2"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with raises(UnsupportedError, "float32 or float64", "torch.float16"):
        from_torch(torch.nn.GRU(3, 4).half())
    with raises(DTypeError, "nn.RNN/LSTM/GRU, nn.Linear, nn.Embedding or a module made by to_torch", "Conv1d"):
        from_torch(torch.nn.Conv1d(3, 4, 1))
    with raises(UnsupportedError, "nonlinearity", "'logistic'"):
        to_torch(RNN(3, 4, nonlinearity="logistic"))
    with raises(DTypeError, "a yetztml RNN, LSTM or GRU, a layer or a model of them", "Linear"):
        to_torch(torch.nn.Linear(3, 4))
