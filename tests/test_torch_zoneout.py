"""yetztml.torch.LSTM with zoneout / recurrent dropout: evaluation mode equals the NumPy cell's expectation
masks, training masks follow torch's generator, float64 gradcheck in both modes (packed, both directions)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

import yetztml.torch as yt  # noqa: E402
from cellchecks import raises  # noqa: E402
from yetztml.cells.lstm_zoneout import LSTMZoneout  # noqa: E402
from yetztml.core.errors import OptionError  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64
P = dict(zoneout_h=0.3, zoneout_c=0.2, recurrent_dropout=0.25)


def _module(**kw):
    return yt.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(0),
                   **{**P, **kw})


def test_eval_equals_numpy_cell_expectations():
    m = _module().eval()
    cell = LSTMZoneout(3, 4, 2, bidirectional=True, training=False, **P)
    cell.load_params({k: v.detach().numpy() for k, v in m.state_dict().items()})
    x = torch.randn(5, 2, 3, dtype=F64)
    out, (h, c) = m(x)
    trace = cell.forward(x.numpy())
    assert (out.detach() - torch.tensor(trace.outputs)).abs().max().item() <= 1e-15
    assert (c.detach() - torch.tensor(trace.final_state.c)).abs().max().item() <= 1e-15


def test_training_masks_follow_torch_generator_and_zero_is_plain_lstm():
    m = _module()
    x = torch.randn(5, 2, 3, dtype=F64)
    torch.manual_seed(0)
    a = m(x)[0]
    torch.manual_seed(0)
    assert torch.equal(a, m(x)[0])
    assert (a - m(x)[0]).abs().max().item() > 1e-3
    plain = yt.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    plain.load_state_dict(m.state_dict())
    assert plain.kind.name == "lstm" and m.kind.name == "zoneout"
    zero = _module(zoneout_h=0.0, zoneout_c=0.0, recurrent_dropout=0.0)
    assert torch.equal(zero(x)[0], plain(x)[0])
    with raises(OptionError, "LSTM(zoneout_h=...)", "<= 1.0", "got 1.5"):
        yt.LSTM(3, 4, zoneout_h=1.5)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradcheck_float64(training):
    m = yt.LSTM(2, 2, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(0), **P)
    m.train(training)
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in m.parameters()]
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 2, generator=gen, dtype=F64, requires_grad=True)
    hs = [torch.randn(2, 2, 2, generator=gen, dtype=F64, requires_grad=True) for _ in range(2)]

    def f(x, h, c, *weights):
        torch.manual_seed(3)  # the same masks for every evaluation
        packed = pack_padded_sequence(x, torch.tensor([3, 2]))
        out, (h_n, c_n) = torch.func.functional_call(m, dict(zip(names, weights, strict=True)), (packed, (h, c)))
        return out.data, h_n, c_n

    assert torch.autograd.gradcheck(f, (x, *hs, *params), eps=1e-6, atol=1e-7, rtol=1e-5)
