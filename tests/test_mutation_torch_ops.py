"""yetztml.torch custom operator, pinned: what ``run`` returns in each direction (outputs, final state slot,
trajectories marked non-differentiable), and the backward with the error on the outputs only, on h_n only or
on c_n only, and through every cell kind in both directions (fast-mode gradcheck, float64)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

import yetztml.torch as yt  # noqa: E402
from yetztml.torch import _ops  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64


def _inputs(parts: int, B: int = 2, T: int = 3):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(T, B, 3, generator=gen, dtype=F64, requires_grad=True)
    init = [torch.randn(B, 4, generator=gen, dtype=F64, requires_grad=True) for _ in range(parts)]
    return x, init


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_run_returns_outputs_final_state_and_detached_trajectories(reverse):
    m = yt.LSTM(3, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    x, init = _inputs(2)
    out, fin, arrays = _ops.run(x, init, list(m.parameters()), m.kind, reverse)
    h, c = arrays[0], arrays[1]
    assert h.shape == (4, 2, 4) and len(arrays) == len(m.kind.fields)
    assert torch.equal(out, h[0:3] if reverse else h[1:4])
    assert torch.equal(fin[0], h[0 if reverse else 3]) and torch.equal(fin[1], c[0 if reverse else 3])
    first = 3 if reverse else 0
    assert torch.equal(h[first], init[0].detach()) and torch.equal(c[first], init[1].detach())
    assert h.requires_grad and c.requires_grad and not any(a.requires_grad for a in arrays[2:])
    ref = yt.LSTM(3, 4, dtype=F64)
    ref.load_state_dict(m.state_dict())
    want, (h_n, c_n) = ref(x.flip(0) if reverse else x, tuple(s[None] for s in init))
    assert (out - (want.flip(0) if reverse else want)).abs().max().item() <= 1e-15
    # a reverse sweep and a forward sweep of the flipped input may round one step differently (the final state
    # is compared exactly with the run's own trajectory above)
    assert max((fin[0] - h_n[0]).abs().max().item(), (fin[1] - c_n[0]).abs().max().item()) <= 1e-15


def test_run_of_a_forward_only_cell_in_reverse_flips_its_outputs():
    m = yt.LSTM1997(3, 4, block_size=2, dtype=F64, generator=torch.Generator().manual_seed(1))
    x, init = _inputs(2)
    fwd, fin_f, _ = _ops.run(x.flip(0), init, list(m.parameters()), m.kind, False)
    rev, fin_r, arrays = _ops.run(x, init, list(m.parameters()), m.kind, True)
    assert torch.equal(rev, fwd.flip(0)) and torch.equal(fin_r[0], fin_f[0]) and torch.equal(fin_r[1], fin_f[1])
    assert torch.equal(fin_r[0], arrays[0][2]) and torch.equal(fwd[2], fin_f[0])
    assert not any(a.requires_grad for a in arrays[2:]) and arrays[1].requires_grad


@pytest.mark.parametrize("used", ["output", "h_n", "c_n"])
def test_gradient_with_error_on_one_result_only(used):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, bidirectional=True, dtype=F64)
    ours = yt.LSTM(3, 4, bidirectional=True, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 2, 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(2, 2, 4, dtype=F64, requires_grad=True)
    c0 = torch.randn(2, 2, 4, dtype=F64, requires_grad=True)
    grads = []
    for m in (ref, ours):
        out, (h, c) = m(x, (h0, c0))
        value = {"output": out, "h_n": h, "c_n": c}[used]
        grads.append(torch.autograd.grad(value.sin().sum(), [x, h0, c0, *m.parameters()]))
    for a, b in zip(*grads, strict=True):
        assert (a - b).abs().max().item() <= 1e-14


KINDS = [(yt.LSTM, {}), (yt.GRU, {}), (yt.RNN, {"nonlinearity": "relu"}), (yt.PeepholeLSTM, {}), (yt.CIFGLSTM, {}),
         (yt.LayerNormLSTM, {}), (yt.LSTM1997, {"block_size": 2}), (yt.LSTM1997, {"bias": False}),
         (yt.LSTM, {"zoneout_h": 0.3, "zoneout_c": 0.4, "recurrent_dropout": 0.2})]


@pytest.mark.parametrize("cls, kw", KINDS, ids=["lstm", "gru", "rnn", "peephole", "cifg", "layernorm", "lstm1997",
                                                 "lstm1997-nobias", "zoneout"])
def test_gradcheck_every_kind_both_directions(cls, kw):
    m = cls(2, 2, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(0), **kw)
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in m.parameters()]
    parts = 1 if cls in (yt.GRU, yt.RNN) else 2
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 2, 2, generator=gen, dtype=F64, requires_grad=True)
    hs = [(0.5 * torch.randn(2, 2, 2, generator=gen, dtype=F64)).requires_grad_() for _ in range(parts)]

    def f(x, *rest):
        torch.manual_seed(3)  # the same zoneout masks for every evaluation
        states, weights = rest[:parts], rest[parts:]
        hx = tuple(states) if parts == 2 else states[0]
        out, fin = torch.func.functional_call(m, dict(zip(names, weights, strict=True)),
                                              (pack_padded_sequence(x, torch.tensor([3, 2])), hx))
        return (out.data, *fin) if parts == 2 else (out.data, fin)

    assert torch.autograd.gradcheck(f, (x, *hs, *params), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True)


def test_compiled_backward_equals_eager():
    """torch.compile (aot_eager) traces the backward with the fake implementations: the same gradients of the
    input and every weight as eager, for an error on the outputs and on c_n."""
    m = yt.LSTM(3, 4, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(1), requires_grad=True)

    def loss(x):
        out, (h, c) = m(x)
        return out.sin().sum() + c.cos().sum()

    want = torch.autograd.grad(loss(x), [x, *m.parameters()])
    got = torch.autograd.grad(torch.compile(loss, backend="aot_eager", fullgraph=True)(x), [x, *m.parameters()])
    assert len(got) == 9 and all((a - b).abs().max().item() <= 1e-15 for a, b in zip(got, want, strict=True))
