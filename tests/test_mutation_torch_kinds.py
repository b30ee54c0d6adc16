"""yetztml.torch cell kinds, pinned: weight names and shapes, the traced shapes equal to what the kernels return,
one cell per calling thread, bias=False equal to zero biases, the 1997 and GRU gate states against their
equations, the bias gradients of the 1997 cell accumulated, and zero gradients for the zoneout masks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import yetztml.torch as yt  # noqa: E402
from yetztml.torch import _kinds  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64
SPECS = ["lstm", "gru", "cifg", "zoneout", "layernorm", "rnn:tanh", "peephole", "lstm1997:g1997:h1997:2"]


def test_weight_names_and_shapes():
    lstm, block = _kinds.get("lstm"), _kinds.get("lstm1997:g1997:h1997:2")
    assert lstm.weight_names(True) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert lstm.weight_names(False) == ["weight_ih_l0", "weight_hh_l0"]
    assert lstm.weight_shapes(3, 4, True) == [(16, 3), (16, 4), (16,), (16,)]
    assert _kinds.get("peephole").weight_shapes(3, 4, False) == [(16, 3), (16, 4), (12,)]
    assert block.weight_names(True) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert block.weight_names(False) == ["weight_ih", "weight_hh"]
    assert block.weight_shapes(3, 4, True) == [(8, 3), (8, 4), (8,), (8,)]
    assert block.weight_shapes(3, 6, False) == [(12, 3), (12, 6)]
    assert _kinds.get("lstm1997:g1997:h1997:3").weight_shapes(2, 6, False) == [(10, 2), (10, 6)]
    assert (lstm.parts, _kinds.get("gru").parts, block.parts, block.block_size) == (2, 1, 2, 2)
    assert block.options == {"g": "g1997", "h": "h1997", "block_size": "2"} and lstm.name == "lstm"


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_traced_shapes_are_the_kernels(spec, bias):
    """``shapes`` (what torch.compile traces with) equals the arrays the forward kernel returns."""
    kind = _kinds.get(spec)
    T, B, I, H = 3, 2, 5, 4
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s) for s in kind.weight_shapes(I, H, bias)]
    if spec == "zoneout":
        weights += [np.full((T, B, H), 0.5), np.full((T, B, H), 0.5), np.ones((T, B, H))]
    arrays = kind.forward(rng.standard_normal((T, B, I)), [np.zeros((B, H))] * kind.parts, weights, False)
    shapes = kind.shapes(T, B, I, H)
    assert [a.shape for a in arrays] == [tuple(s) for s in shapes]
    assert all(type(n) is int for s in shapes for n in s)  # sizes a fake tensor can be made with


def test_each_thread_gets_its_own_cell():
    kind = _kinds.get("gru")
    x = np.zeros((1, 2, 3))
    weights = [np.zeros(s) for s in kind.weight_shapes(3, 4, True)]
    mine = kind._bind(x, 4, weights)[0]
    assert kind._bind(x, 4, weights)[0] is mine
    other = []
    thread = threading.Thread(target=lambda: other.append(kind._bind(x, 4, weights)[0]))
    thread.start()
    thread.join()
    assert other[0] is not mine
    block = _kinds.get("lstm1997:g1997:h1997:2")
    weights = [np.zeros(s) for s in block.weight_shapes(3, 4, True)]
    mine = block._bind(x, 4, weights)
    assert block._bind(x, 4, weights) is mine
    thread = threading.Thread(target=lambda: other.append(block._bind(x, 4, weights)))
    thread.start()
    thread.join()
    assert other[1] is not mine


@pytest.mark.parametrize("cls, kw", [(yt.LSTM, {}), (yt.GRU, {}), (yt.PeepholeLSTM, {}), (yt.LayerNormLSTM, {}),
                                     (yt.CIFGLSTM, {}), (yt.LSTM1997, {"block_size": 2}),
                                     (yt.LSTM, {"zoneout_h": 0.2})],
                         ids=["lstm", "gru", "peephole", "layernorm", "cifg", "lstm1997", "zoneout"])
def test_no_bias_equals_zero_bias(cls, kw):
    without = cls(3, 4, bias=False, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(0), **kw)
    with_bias = cls(3, 4, bidirectional=True, dtype=F64, **kw)
    state = dict(without.state_dict())
    for name, p in with_bias.named_parameters():
        if name.startswith("bias_"):
            state[name] = torch.zeros_like(p)
    with_bias.load_state_dict(state)
    x = torch.randn(4, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    without.eval()
    with_bias.eval()
    a, b = without(x), with_bias(x)
    assert (a[0] - b[0]).abs().max().item() <= 1e-15
    with torch.no_grad():
        with_bias.bias_hh_l0.fill_(0.3)
    assert (with_bias(x)[0] - a[0]).abs().max().item() > 1e-3


def test_lstm1997_states_and_bias_against_its_equations():
    """Blocks of 2 cells: i and o one column per block, g = 4σ − 2 of the cell input, c = s; no bias."""
    m = yt.LSTM1997(2, 4, block_size=2, bias=False, dtype=F64, return_states=True,
                    generator=torch.Generator().manual_seed(3))
    x = torch.randn(3, 1, 2, dtype=F64, generator=torch.Generator().manual_seed(4))
    out, (h_n, c_n), states = m(x)
    st = states[0]
    assert {k: tuple(v.shape) for k, v in st.items()} == {"i": (3, 1, 2), "o": (3, 1, 2), "g": (3, 1, 4),
                                                          "c": (3, 1, 4)}
    h = c = torch.zeros(1, 4, dtype=F64)
    hs = []
    for t in range(3):
        a = x[t] @ m.weight_ih_l0.T + h @ m.weight_hh_l0.T
        g, i, o = 4 * torch.sigmoid(a[:, :4]) - 2, torch.sigmoid(a[:, 4:6]), torch.sigmoid(a[:, 6:])
        c = c + i.repeat_interleave(2, dim=1) * g
        h = o.repeat_interleave(2, dim=1) * (2 * torch.sigmoid(c) - 1)
        hs.append(h)
        for name, value in (("i", i), ("o", o), ("g", g), ("c", c)):
            assert (st[name][t] - value).abs().max().item() <= 1e-14, (name, t)
        assert (out[t] - h).abs().max().item() <= 1e-14
    got = torch.autograd.grad(out.sin().sum() + c_n.cos().sum(), list(m.parameters()))
    want = torch.autograd.grad(torch.stack(hs).sin().sum() + c.cos().sum(), list(m.parameters()))
    assert len(got) == 2 and all((a - b).abs().max().item() <= 1e-14 for a, b in zip(got, want, strict=True))


def test_gru_states_against_its_equations():
    m = yt.GRU(2, 3, dtype=F64, return_states=True, generator=torch.Generator().manual_seed(5))
    x = torch.randn(3, 2, 2, dtype=F64, generator=torch.Generator().manual_seed(6))
    out, _, states = m(x)
    h = torch.zeros(2, 3, dtype=F64)
    for t in range(3):
        gi = x[t] @ m.weight_ih_l0.T + m.bias_ih_l0
        gh = h @ m.weight_hh_l0.T + m.bias_hh_l0
        r = torch.sigmoid(gi[:, :3] + gh[:, :3])
        z = torch.sigmoid(gi[:, 3:6] + gh[:, 3:6])
        n = torch.tanh(gi[:, 6:] + r * gh[:, 6:])
        h = (1 - z) * n + z * h
        for name, value in (("r", r), ("z", z), ("n", n)):
            assert (states[0][name][t] - value).abs().max().item() <= 1e-14, (name, t)
        assert (out[t] - h).abs().max().item() <= 1e-14


def test_lstm1997_bias_gradients_accumulate_separately():
    """The two bias gradients are equal and are separate tensors: two backward passes give twice each."""
    m = yt.LSTM1997(2, 4, block_size=2, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(7))
    x = torch.randn(3, 2, 2, dtype=F64, generator=torch.Generator().manual_seed(8))
    once = torch.autograd.grad(m(x)[0].sum(), [m.bias_ih_l0, m.bias_hh_l0_reverse])
    for _ in range(2):
        m(x)[0].sum().backward()
    assert torch.equal(m.bias_ih_l0.grad, m.bias_hh_l0.grad)
    assert (m.bias_ih_l0.grad - 2 * once[0]).abs().max().item() <= 1e-14
    assert (m.bias_hh_l0_reverse.grad - 2 * once[1]).abs().max().item() <= 1e-14
    assert torch.equal(m.bias_ih_l0_reverse.grad, m.bias_hh_l0_reverse.grad)


def test_zoneout_masks_get_zero_gradients():
    kind = _kinds.get("zoneout")
    T, B, I, H = 2, 1, 3, 2
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(s) for s in kind.weight_shapes(I, H, True)]
    masks = [np.full((T, B, H), 0.5), np.full((T, B, H), 0.25), np.full((T, B, H), 2.0)]
    x, init = rng.standard_normal((T, B, I)), [rng.standard_normal((B, H)) for _ in range(2)]
    saved = kind.forward(x, init, weights + masks, True)
    dx, d_init, d_w = kind.backward(x, init, weights + masks, saved, np.ones((T, B, H)), [np.zeros((B, H))] * 2, True)
    assert len(d_w) == 7 and [d.shape for d in d_w[4:]] == [(T, B, H)] * 3
    assert all(not d.any() for d in d_w[4:]) and all(d.any() for d in d_w[:4])
    assert dx.shape == (T, B, I) and len(d_init) == 2


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_nonlinearity_reaches_the_cell(nonlinearity):
    torch.manual_seed(0)
    ref = torch.nn.RNN(2, 3, nonlinearity=nonlinearity, dtype=F64)
    ours = yt.RNN(2, 3, nonlinearity=nonlinearity, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 2, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert (ours(x)[0] - ref(x)[0]).abs().max().item() <= 1e-15
    assert (ref(x)[0].min().item() == 0.0) == (nonlinearity == "relu")


def _eager_1997(x, h, c, w_ih, w_hh, b, S):
    """LSTM1997 (g1997, h1997) as an eager loop: outputs and each step's i, o (per block), g and c."""
    H = h.shape[1]
    C = H // S
    outs, steps = [], []
    for t in range(x.shape[0]):
        a = x[t] @ w_ih.T + h @ w_hh.T + b
        g, i, o = 4 * torch.sigmoid(a[:, :H]) - 2, torch.sigmoid(a[:, H : H + C]), torch.sigmoid(a[:, H + C :])
        c = c + i.repeat_interleave(S, dim=1) * g
        h = o.repeat_interleave(S, dim=1) * (2 * torch.sigmoid(c) - 1)
        outs.append(h)
        steps.append({"i": i, "o": o, "g": g, "c": c})
    return torch.stack(outs), steps


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_block_kind_built_by_get_against_the_eager_loop(reverse):
    """The kind as ``get`` builds it on first use (``__wrapped__``: not the cached one), on NumPy arrays: blocks of
    2 cells, outputs, final state rows and every state against the eager loop (← on reversed time)."""
    kind = _kinds.get.__wrapped__("lstm1997:g1997:h1997:2")
    assert (kind.name, kind.parts, kind.block_size) == ("lstm1997:g1997:h1997:2", 2, 2)
    gen = torch.Generator().manual_seed(9)
    T, B, I, H = 3, 2, 2, 4
    w_ih, w_hh = torch.randn(8, I, generator=gen, dtype=F64), torch.randn(8, H, generator=gen, dtype=F64)
    b_ih, b_hh = torch.randn(8, generator=gen, dtype=F64), torch.randn(8, generator=gen, dtype=F64)
    x = torch.randn(T, B, I, generator=gen, dtype=F64)
    h0, c0 = torch.randn(B, H, generator=gen, dtype=F64), torch.randn(B, H, generator=gen, dtype=F64)
    arrays = kind.forward(x.numpy(), [h0.numpy(), c0.numpy()], [w.numpy() for w in (w_ih, w_hh, b_ih, b_hh)], reverse)
    arrays = [torch.from_numpy(a) for a in arrays]
    want, steps = _eager_1997(x.flip(0) if reverse else x, h0, c0, w_ih, w_hh, b_ih + b_hh, 2)
    out = arrays[0][kind.out_rows(T, reverse)]
    assert (out - want).abs().max().item() <= 1e-14  # in the kernel's (reversed) time order
    slot = kind.final_slot(T, reverse)
    assert (arrays[0][slot] - want[-1]).abs().max().item() <= 1e-14
    assert (arrays[1][slot] - steps[-1]["c"]).abs().max().item() <= 1e-14
    states = kind.states(arrays, T, H, reverse)
    assert set(states) == {"i", "o", "g", "c"}
    for t in range(T):
        for name, value in steps[T - 1 - t if reverse else t].items():
            assert (states[name][t] - value).abs().max().item() <= 1e-14, (name, t)


@pytest.mark.parametrize("spec", ["lstm", "gru", "rnn:relu", "zoneout"])
def test_stacked_kinds_built_by_get_compute_torchs_values(spec):
    """Each kind as ``get`` builds it on first use, on NumPy arrays, both directions: outputs and final states equal
    torch.nn's (zoneout with keep-nothing masks d_h = d_c = 0, m_g = 1 is the plain LSTM); its states are named."""
    kind = _kinds.get.__wrapped__(spec)
    torch.manual_seed(0)
    ref = {"gru": torch.nn.GRU(3, 4, dtype=F64), "rnn:relu": torch.nn.RNN(3, 4, nonlinearity="relu", dtype=F64)}.get(
        spec) or torch.nn.LSTM(3, 4, dtype=F64)
    parts = 1 if spec in ("gru", "rnn:relu") else 2
    assert (kind.name, kind.parts) == (spec, parts)
    gen = torch.Generator().manual_seed(1)
    T, B = 3, 2
    x = torch.randn(T, B, 3, generator=gen, dtype=F64)
    init = [torch.randn(B, 4, generator=gen, dtype=F64) for _ in range(parts)]
    weights = [p.detach().numpy() for p in ref.parameters()]
    if spec == "zoneout":
        weights += [np.zeros((T, B, 4)), np.zeros((T, B, 4)), np.ones((T, B, 4))]
    for reverse in (False, True):
        arrays = [torch.from_numpy(a) for a in kind.forward(x.numpy(), [s.numpy() for s in init], weights, reverse)]
        want, fin = ref(x.flip(0) if reverse else x, tuple(s[None] for s in init) if parts == 2 else init[0][None])
        out = arrays[0][kind.out_rows(T, reverse)]
        assert (out - (want.flip(0) if reverse else want)).abs().max().item() <= 1e-14
        finals = list(fin) if parts == 2 else [fin]
        for p in range(parts):
            assert (arrays[p][kind.final_slot(T, reverse)] - finals[p][0]).abs().max().item() <= 1e-14
        names = set(kind.states(arrays, T, 4, reverse))
        assert names == ({"r", "z", "n"} if spec == "gru" else set() if spec == "rnn:relu" else set("ifgoc"))


def test_lstm1997_in_float32_stays_float32():
    """The block cell is built in the input's dtype: float32 outputs and gradients, equal to float64's to
    float32 rounding."""
    results = {}
    ref = yt.LSTM1997(2, 4, block_size=2, bidirectional=True, dtype=F64, generator=torch.Generator().manual_seed(2))
    x64 = torch.randn(3, 2, 2, generator=torch.Generator().manual_seed(3), dtype=F64)
    for dtype in (torch.float32, F64):
        m = yt.LSTM1997(2, 4, block_size=2, bidirectional=True, dtype=dtype)
        m.load_state_dict(ref.state_dict())
        x = x64.to(dtype).requires_grad_()
        out, (h, c) = m(x)
        grads = torch.autograd.grad(out.sum() + c.sum(), [x, *m.parameters()])
        results[dtype] = (out, c, *grads)
    assert all(t.dtype == torch.float32 for t in results[torch.float32])
    for a, b in zip(results[torch.float32], results[F64], strict=True):
        assert (a.double() - b).abs().max().item() <= 1e-5
