"""yetztml.torch.LayerNormLSTM and LayerNormLSTMCell against an eager loop built from
torch.nn.functional.layer_norm: outputs, final state and every gradient (float64); float64 gradcheck of the
module (both directions, packed) and of the cell; nn.LSTM weights load into it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

import yetztml.torch as yt  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64
LN = torch.nn.functional.layer_norm


def _moved(m, seed):
    """Gains and LN biases moved off 1 and 0, so that a wrong gain or bias path shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("ln_"):
                p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return m


def _loop(m, x, h, c, sfx="_l0"):
    """The layer-normalised LSTM as users write it in torch: an eager loop, LN per gate block."""
    H = m.hidden_size
    P = {n.removesuffix(sfx): p for n, p in m.named_parameters() if n.endswith(sfx)}

    def block_ln(z, g, b):
        return (LN(z.view(-1, 4, H), (H,)) * g.view(4, H) + b.view(4, H)).view(-1, 4 * H)

    outs = []
    for t in range(x.shape[0]):
        a = (block_ln(x[t] @ P["weight_ih"].T, P["ln_ih_weight"], P["ln_ih_bias"])
             + block_ln(h @ P["weight_hh"].T, P["ln_hh_weight"], P["ln_hh_bias"]) + P["bias_ih"] + P["bias_hh"])
        i, f, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H : 2 * H]), torch.sigmoid(a[:, 3 * H :])
        c = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        h = o * torch.tanh(LN(c, (H,), P["ln_c_weight"], P["ln_c_bias"]))
        outs.append(h)
    return torch.stack(outs), h, c


def test_equals_eager_layer_norm_loop():
    m = _moved(yt.LayerNormLSTM(3, 5, dtype=F64, generator=torch.Generator().manual_seed(0)), 1)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(6, 2, 3, generator=gen, dtype=F64, requires_grad=True)
    h0, c0 = (torch.randn(2, 5, generator=gen, dtype=F64, requires_grad=True) for _ in range(2))
    w = torch.randn(6, 2, 5, generator=gen, dtype=F64)
    out, (h_n, c_n) = m(x, (h0[None], c0[None]))
    ref, ref_h, ref_c = _loop(m, x, h0, c0)
    inputs = [x, h0, c0, *m.parameters()]
    got = torch.autograd.grad((out * w).sum() + (c_n[0] * w[0]).sum(), inputs)
    want = torch.autograd.grad((ref * w).sum() + (ref_c * w[0]).sum(), inputs)
    assert (out - ref).abs().max().item() <= 1e-14
    assert (c_n[0] - ref_c).abs().max().item() <= 1e-14 and (h_n[0] - ref_h).abs().max().item() <= 1e-14
    names = ["x", "h0", "c0"] + [n for n, _ in m.named_parameters()]
    for name, a, b in zip(names, got, want, strict=True):
        assert (a - b).abs().max().item() <= 1e-12, name


def test_cell_is_one_step_and_takes_nn_lstm_cell_weights():
    ref = torch.nn.LSTMCell(3, 4, dtype=F64)
    cell = yt.LayerNormLSTMCell(3, 4, dtype=F64)
    missing = cell.load_state_dict(ref.state_dict(), strict=False).missing_keys
    assert missing == ["ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_c_weight", "ln_c_bias"]
    assert all(torch.equal(getattr(cell, n), torch.full_like(getattr(cell, n), float(n.endswith("weight"))))
               for n in missing)
    _moved(cell, 3)
    x, h, c = torch.randn(2, 3, dtype=F64), torch.randn(2, 4, dtype=F64), torch.randn(2, 4, dtype=F64)
    h1, c1 = cell(x, (h, c))
    _, ref_h, ref_c = _loop(cell, x[None], h, c, sfx="")
    assert (h1 - ref_h).abs().max().item() <= 1e-14 and (c1 - ref_c).abs().max().item() <= 1e-14


def _gradcheck(m, args):
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in m.parameters()]
    n_args = len(args)

    def f(*inputs):
        x, *state = inputs[:n_args]
        weights = inputs[n_args:]
        if m.__class__ is yt.LayerNormLSTM:
            x = pack_padded_sequence(x, torch.tensor([3, 1]))
        out = torch.func.functional_call(m, dict(zip(names, weights, strict=True)), (x, tuple(state)))
        return out if isinstance(out[0], torch.Tensor) else (out[0].data, *out[1])

    return torch.autograd.gradcheck(f, (*args, *params), eps=1e-7, atol=1e-6, rtol=1e-5)


def test_gradcheck_float64():
    gen = torch.Generator().manual_seed(4)
    m = _moved(yt.LayerNormLSTM(2, 2, bidirectional=True, dtype=F64, generator=gen), 5)
    args = [torch.randn(3, 2, 2, generator=gen, dtype=F64, requires_grad=True)]
    args += [torch.randn(2, 2, 2, generator=gen, dtype=F64, requires_grad=True) for _ in range(2)]
    assert _gradcheck(m, args)
    cell = _moved(yt.LayerNormLSTMCell(2, 3, dtype=F64, generator=gen), 6)
    args = [torch.randn(2, 2, generator=gen, dtype=F64, requires_grad=True)]
    args += [torch.randn(2, 3, generator=gen, dtype=F64, requires_grad=True) for _ in range(2)]
    assert _gradcheck(cell, args)
