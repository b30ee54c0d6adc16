"""yetztml.torch validation, pinned: each constructor option's message in full, the normalised values in their
places, the default dtype, and the tensor and shape checks (their messages and the tensor returned)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import yetztml.torch as yt  # noqa: E402
from yetztml.core.errors import DTypeError, OptionError, ShapeError, UnsupportedError  # noqa: E402
from yetztml.torch import _checks  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)


def _error(cls, fn) -> str:
    with pytest.raises(cls) as info:
        fn()
    return str(info.value)


def test_options_normalised_in_order():
    import numpy as np

    got = _checks.options("X", np.int64(3), 4, 2, False, True, 1, False)
    assert got == (3, 4, 2, False, True, 1.0, False) and type(got[0]) is int and type(got[5]) is float
    assert _checks.options("X", 3, 4, 1, True, False, 0.5, True) == (3, 4, 1, True, False, 0.5, True)
    m = yt.GRU(2, 3, 2, False, True, 0.25, True)
    assert (m.input_size, m.hidden_size, m.num_layers, m.bias, m.batch_first, m.dropout, m.bidirectional) == (
        2, 3, 2, False, True, 0.25, True)


def test_option_messages_in_full():
    assert _error(OptionError, lambda: yt.LSTM(0, 4)) == "LSTM(input_size=...): expected an integer >= 1, got 0"
    assert _error(OptionError, lambda: yt.LSTM(3, 0)) == "LSTM(hidden_size=...): expected an integer >= 1, got 0"
    assert _error(OptionError, lambda: yt.PeepholeLSTM(0, 4)) == (  # the module's check, not its cell's
        "PeepholeLSTM(input_size=...): expected an integer >= 1, got 0")
    assert _error(OptionError, lambda: yt.PeepholeLSTM(3, 0)) == (
        "PeepholeLSTM(hidden_size=...): expected an integer >= 1, got 0")
    assert _error(OptionError, lambda: yt.GRU(3, 4, num_layers=0)) == (
        "GRU(num_layers=...): expected an integer >= 1, got 0")
    assert _error(OptionError, lambda: yt.RNN(3, 4, dropout=-0.1)) == (
        "RNN(dropout=...): expected a number >= 0.0, got -0.1")
    assert _error(OptionError, lambda: yt.RNN(3, 4, dropout=1.5)) == (
        "RNN(dropout=...): expected a number <= 1.0, got 1.5")
    assert yt.RNN(3, 4, dropout=1.0).dropout == 1.0 and yt.RNN(3, 4, dropout=0.0).dropout == 0.0
    assert yt.LSTM(1, 1, num_layers=1).hidden_size == 1
    assert _error(DTypeError, lambda: yt.LSTM(3, 4, bias=0)) == "LSTM(bias=...): expected True or False, got 0"
    assert _error(DTypeError, lambda: yt.LSTM(3, 4, batch_first="yes")) == (
        "LSTM(batch_first=...): expected True or False, got 'yes'")
    assert _error(DTypeError, lambda: yt.CIFGLSTM(3, 4, bidirectional=None)) == (
        "CIFGLSTM(bidirectional=...): expected True or False, got None")


def test_dtype_default_and_rejection():
    assert _checks.dtype("X", None) is torch.get_default_dtype()
    assert _checks.dtype("X", torch.float64) is torch.float64 and _checks.dtype("X", torch.float32) is torch.float32
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert yt.LSTM(2, 3).weight_ih_l0.dtype == torch.float64
    finally:
        torch.set_default_dtype(old)
    assert _error(DTypeError, lambda: yt.LSTM(3, 4, dtype=torch.float16)) == (
        "LSTM(dtype=...): expected torch.float32 or torch.float64, got torch.float16")


def test_tensor_and_shape_checks():
    t = torch.zeros(2, 3)
    assert _checks.tensor("thing", t, torch.float32) is t
    assert _checks.shape("thing", t, (2, 3), "(A, B)") is t
    assert _checks.shape("thing", t, [2, 3], "(A, B)") is t
    assert _error(DTypeError, lambda: _checks.tensor("thing", 1.5, torch.float32)) == (
        "thing: expected a torch.Tensor, got float")
    assert _error(UnsupportedError, lambda: _checks.tensor("thing", torch.zeros(2, device="meta"), torch.float32)) == (
        "thing: expected a CPU tensor (yetztml's compiled kernels run on the CPU), got a tensor on meta. "
        "Move the model and its inputs with .cpu().")
    assert _error(DTypeError, lambda: _checks.tensor("thing", t, torch.float64)) == (
        "thing: expected dtype torch.float64 (the module's), got torch.float32. "
        "Convert the input with .to(dtype) or the module with .float() / .double().")
    assert _error(ShapeError, lambda: _checks.shape("thing", t, (3, 2), "(A, B)")) == (
        "thing: expected shape (A, B) = (3, 2), got shape (2, 3)")
