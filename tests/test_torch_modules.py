"""yetztml.torch sequence modules against torch.nn.LSTM / GRU / RNN: outputs, final states and the gradients
of the input, the initial state and every weight, padded and packed, both layouts, 2 layers, both directions;
float64 gradcheck of every module; peephole and 1997 modules against eager torch loops of their equations."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import yetztml.torch as yt  # noqa: E402
from cellchecks import raises  # noqa: E402
from yetztml.core.errors import DTypeError, ShapeError, UnsupportedError  # noqa: E402
from yetztml.core.gradcheck import relative_error  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)

PAIRS = {
    "lstm": (torch.nn.LSTM, yt.LSTM, {}),
    "gru": (torch.nn.GRU, yt.GRU, {}),
    "rnn-tanh": (torch.nn.RNN, yt.RNN, {"nonlinearity": "tanh"}),
    "rnn-relu": (torch.nn.RNN, yt.RNN, {"nonlinearity": "relu"}),
}
#: (output and state, gradients) bounds on the normwise relative error, per dtype.
TOL = {torch.float64: (1e-12, 1e-11), torch.float32: (1e-6, 1e-5)}


def _run(module, x, hx, lengths, batch_first, weights_out):
    """Forward and backward of a fixed random loss on output, h_n (and c_n); returns arrays to compare."""
    inp = x if lengths is None else pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, fin = module(inp, hx)
    if lengths is not None:
        out, _ = pad_packed_sequence(out, batch_first=batch_first)
    fins = list(fin) if isinstance(fin, tuple) else [fin]
    g = torch.Generator().manual_seed(7)
    loss = (out * torch.randn(out.shape, generator=g, dtype=x.dtype)).sum()
    for f in fins:
        loss = loss + (f * torch.randn(f.shape, generator=g, dtype=x.dtype)).sum()
    hs = list(hx) if isinstance(hx, tuple) else [hx]
    grads = torch.autograd.grad(loss, [x, *hs, *module.parameters()])
    names = ["output"] + [f"final{i}" for i in range(len(fins))] + ["dx"] + [f"dh0_{i}" for i in range(len(hs))]
    names += [f"d{n}" for n, _ in module.named_parameters()]
    weights_out.extend(n for n, _ in module.named_parameters())
    return dict(zip(names, [out, *fins, *grads], strict=True))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("kind", list(PAIRS))
def test_equals_torch_module(kind, packed, dtype):
    """2 layers, both directions, batch_first, random initial state; lengths 6, 2, 4 (unsorted) when packed."""
    ref_cls, our_cls, extra = PAIRS[kind]
    T, B, I, H = 6, 3, 3, 4
    torch.manual_seed(0)
    ref = ref_cls(I, H, num_layers=2, bidirectional=True, batch_first=True, dtype=dtype, **extra)
    ours = our_cls(I, H, num_layers=2, bidirectional=True, batch_first=True, dtype=dtype, **extra)
    ours.load_state_dict(ref.state_dict())
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(B, T, I, generator=gen, dtype=dtype, requires_grad=True)
    parts = 2 if kind == "lstm" else 1
    hs = [(0.5 * torch.randn(4, B, H, generator=gen, dtype=dtype)).requires_grad_() for _ in range(parts)]
    hx = tuple(hs) if parts == 2 else hs[0]
    lengths = torch.tensor([6, 2, 4]) if packed else None
    names: list[str] = []
    want = _run(ref, x, hx, lengths, True, names)
    got = _run(ours, x, hx, lengths, True, [])
    assert set(want) == set(got) and len(want) == 2 + 2 * parts + len(names)
    for key, value in want.items():
        bound = TOL[dtype][0 if key in ("output", "final0", "final1") else 1]
        assert got[key].dtype == dtype
        assert relative_error(got[key].detach().numpy(), value.detach().numpy()) <= bound, key


@pytest.mark.parametrize("layers, bidirectional, batch_first, bias", [(1, False, False, True), (2, False, True, False),
                                                                       (1, True, False, False), (3, True, False, True)])
@pytest.mark.parametrize("kind", list(PAIRS))
def test_every_layer_and_direction_combination(kind, layers, bidirectional, batch_first, bias):
    """float64, packed with random lengths, default zero state: outputs, h_n and the gradients of the input and
    every weight equal torch's to 1e-12."""
    ref_cls, our_cls, extra = PAIRS[kind]
    torch.manual_seed(layers)
    kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
              dtype=torch.float64, **extra)
    ref, ours = ref_cls(2, 3, **kw), our_cls(2, 3, **kw)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn((4, 5, 2) if batch_first else (5, 4, 2), dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 1, 3, 3])
    results = []
    for m in (ref, ours):
        out, fin = m(pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False))
        h = fin[0] if isinstance(fin, tuple) else fin
        loss = (out.data * out.data.detach().cos()).sum() + (h * h.detach().sin()).sum()
        results.append([out.data, h, *torch.autograd.grad(loss, [x, *m.parameters()])])
    for a, b in zip(*results, strict=True):
        assert relative_error(b.detach().numpy(), a.detach().numpy()) <= 1e-12


@pytest.mark.parametrize("kind", list(PAIRS))
def test_state_dict_both_ways(kind):
    """Same global seed → the same initial weights as torch (same names, order, draws); and a state_dict
    moved either way gives the same outputs."""
    ref_cls, our_cls, extra = PAIRS[kind]
    torch.manual_seed(3)
    ref = ref_cls(2, 3, num_layers=2, bidirectional=True, **extra)
    torch.manual_seed(3)
    ours = our_cls(2, 3, num_layers=2, bidirectional=True, **extra)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    trained = our_cls(2, 3, num_layers=2, bidirectional=True, generator=torch.Generator().manual_seed(9), **extra)
    ref.load_state_dict(trained.state_dict())
    x = torch.randn(4, 2, 2)
    assert torch.allclose(ref(x)[0], trained(x)[0], atol=1e-6, rtol=0)
    assert not torch.allclose(ours(x)[0], trained(x)[0], atol=1e-3, rtol=0)


def test_dropout_between_layers_matches_torch():
    """Training-mode dropout draws the same masks as nn.LSTM from the same generator state, padded and packed;
    in eval mode there is none."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, num_layers=3, dropout=0.5, bidirectional=True, dtype=torch.float64)
    ours = yt.LSTM(3, 4, num_layers=3, dropout=0.5, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    for inp in (x, pack_padded_sequence(x, torch.tensor([5, 3]))):
        torch.manual_seed(11)
        a = ref(inp)[0]
        torch.manual_seed(11)
        b = ours(inp)[0]
        a, b = (a.data, b.data) if isinstance(inp, torch.nn.utils.rnn.PackedSequence) else (a, b)
        assert (a - b).abs().max().item() <= 1e-14
    ours.eval()
    torch.manual_seed(11)
    first = ours(x)[0]
    assert torch.equal(first, ours(x)[0])
    assert not torch.equal(first, b)


def test_unbatched_input_like_torch():
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 2, num_layers=2, dtype=torch.float64)
    ours = yt.GRU(3, 2, num_layers=2, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(4, 3, dtype=torch.float64), torch.randn(2, 2, dtype=torch.float64)
    (oa, ha), (ob, hb) = ref(x, h0), ours(x, h0)
    assert ob.shape == (4, 2) and hb.shape == (2, 2)
    assert (oa - ob).abs().max().item() <= 1e-14 and (ha - hb).abs().max().item() <= 1e-14


def _gradcheck(module, x, hx, lengths=None):
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in module.parameters()]
    hs = list(hx) if isinstance(hx, tuple) else [hx]

    def f(x, *rest):
        states, weights = rest[: len(hs)], rest[len(hs) :]
        h = tuple(states) if len(states) == 2 else states[0]
        inp = x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, fin = torch.func.functional_call(module, dict(zip(names, weights, strict=True)), (inp, h))
        out = out.data if lengths is not None else out
        return (out, *fin) if isinstance(fin, tuple) else (out, fin)

    return torch.autograd.gradcheck(f, (x, *hs, *params), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize(
    "cls, extra, layers",
    [(yt.LSTM, {}, 2), (yt.GRU, {}, 2), (yt.RNN, {}, 1), (yt.PeepholeLSTM, {}, 1),
     (yt.LSTM1997, {"block_size": 2}, 1), (yt.CIFGLSTM, {}, 1)],
    ids=["lstm", "gru", "rnn", "peephole", "lstm1997", "cifg"],
)
def test_gradcheck_float64(cls, extra, layers):
    """torch.autograd.gradcheck of input, initial state and every weight, both directions, packed (2 layers
    for LSTM and GRU; the layer stacking is the same code for every module)."""
    module = cls(2, 2, num_layers=layers, bidirectional=True, dtype=torch.float64,
                 generator=torch.Generator().manual_seed(0), **extra)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    parts = 1 if cls in (yt.GRU, yt.RNN) else 2
    hs = [(0.5 * torch.randn(2 * layers, 2, 2, generator=gen, dtype=torch.float64)).requires_grad_()
          for _ in range(parts)]
    hx = tuple(hs) if parts == 2 else hs[0]
    assert _gradcheck(module, x, hx, lengths=torch.tensor([1, 3]))


def _peephole_loop(m, x, h, c):
    """PeepholeLSTM written the way users write it: an eager loop of its equations (one layer, →)."""
    H = m.hidden_size
    w_ih, w_hh, b = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0 + m.bias_hh_l0
    p_i, p_f, p_o = m.weight_peephole_l0.split(H)
    outs = []
    for t in range(x.shape[0]):
        a = x[t] @ w_ih.T + h @ w_hh.T + b
        i = torch.sigmoid(a[:, :H] + p_i * c)
        f = torch.sigmoid(a[:, H : 2 * H] + p_f * c)
        c = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        o = torch.sigmoid(a[:, 3 * H :] + p_o * c)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), h, c


def _lstm1997_loop(m, x, h, c):
    """LSTM1997 as an eager loop: rows (cell inputs H | input gates C | output gates C), blocks of S cells."""
    H, S = m.hidden_size, m.block_size
    C = H // S
    w_ih, w_hh, b = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0 + m.bias_hh_l0
    outs = []
    for t in range(x.shape[0]):
        a = x[t] @ w_ih.T + h @ w_hh.T + b
        g = 4 * torch.sigmoid(a[:, :H]) - 2
        y_in = torch.sigmoid(a[:, H : H + C]).repeat_interleave(S, dim=1)
        y_out = torch.sigmoid(a[:, H + C :]).repeat_interleave(S, dim=1)
        c = c + y_in * g
        h = y_out * (2 * torch.sigmoid(c) - 1)
        outs.append(h)
    return torch.stack(outs), h, c


@pytest.mark.parametrize("cls, loop, extra", [(yt.PeepholeLSTM, _peephole_loop, {}),
                                              (yt.LSTM1997, _lstm1997_loop, {"block_size": 3})],
                         ids=["peephole", "lstm1997"])
def test_block_modules_equal_eager_loops(cls, loop, extra):
    """Outputs, final state and every gradient equal the eager loop of the module's equations (float64)."""
    m = cls(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4), **extra)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(5, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    h0, c0 = (torch.randn(2, 6, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(2))
    out, (h_n, c_n) = m(x, (h0[None], c0[None]))
    ref_out, ref_h, ref_c = loop(m, x, h0, c0)
    w = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    got = torch.autograd.grad((out * w).sum() + (c_n ** 2).sum(), [x, h0, c0, *m.parameters()])
    want = torch.autograd.grad((ref_out * w).sum() + (ref_c ** 2).sum(), [x, h0, c0, *m.parameters()],
                               allow_unused=True)
    assert (out - ref_out).abs().max().item() <= 1e-14
    assert (h_n[0] - ref_h).abs().max().item() <= 1e-14 and (c_n[0] - ref_c).abs().max().item() <= 1e-14
    for (name, _), a, b in zip([("x", 0), ("h0", 0), ("c0", 0), *m.named_parameters()], got, want, strict=True):
        assert (a - b).abs().max().item() <= 1e-12, name


def test_peephole_with_zero_peepholes_is_nn_lstm():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    m = yt.PeepholeLSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    missing = m.load_state_dict(ref.state_dict(), strict=False).missing_keys
    assert missing == ["weight_peephole_l0", "weight_peephole_l0_reverse", "weight_peephole_l1",
                       "weight_peephole_l1_reverse"]
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert (m(x)[0] - ref(x)[0]).abs().max().item() > 1e-3  # random peepholes matter
    with torch.no_grad():
        for name in missing:
            getattr(m, name).zero_()
    assert (m(x)[0] - ref(x)[0]).abs().max().item() <= 1e-14


def test_trains_like_nn_lstm():
    """50 Adam steps of a small regression model: the same loss curve as with nn.LSTM, to float32 rounding."""
    def model(rnn_cls):
        torch.manual_seed(0)
        return torch.nn.ModuleDict({"rnn": rnn_cls(3, 8, num_layers=2, batch_first=True),
                                    "head": torch.nn.Linear(8, 1)})

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 10, 3, generator=gen), torch.randn(16, 1, generator=gen)
    curves = []
    for cls in (torch.nn.LSTM, yt.LSTM):
        m = model(cls)
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        losses = []
        for _ in range(50):
            opt.zero_grad()
            out, _ = m["rnn"](x)
            loss = torch.nn.functional.mse_loss(m["head"](out[:, -1]), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        curves.append(np.array(losses))
    assert curves[0][-1] < 0.1 * curves[0][0]  # it learns
    assert np.max(np.abs(curves[0] - curves[1]) / curves[0]) <= 2e-5  # measured 5.2e-6 over a 15x loss drop


def test_errors_name_the_fix():
    m = yt.LSTM(3, 4)
    with raises(UnsupportedError, "CPU tensor", "got a tensor on meta", ".cpu()"):
        m(torch.empty(5, 2, 3, device="meta"))
    with raises(UnsupportedError, "LSTM parameters", "CPU tensor", "got a tensor on meta"):
        yt.LSTM(3, 4, device="meta")(torch.zeros(5, 2, 3))
    with raises(DTypeError, "dtype torch.float32", "got torch.float64"):
        m(torch.zeros(5, 2, 3, dtype=torch.float64))
    with raises(ShapeError, "input size 3", "got 2"):
        m(torch.zeros(5, 2, 2))
    with raises(ShapeError, "forward(h_0)", "(2, 2, 4)", "got shape (1, 2, 4)"):
        yt.LSTM(3, 4, num_layers=2)(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))
    with raises(DTypeError, "LSTM(bidirectional=...)", "True or False"):
        yt.LSTM(3, 4, bidirectional=1)
    with raises(ShapeError, "LSTM1997(hidden_size=...)", "multiple of block_size=3", "got 4"):
        yt.LSTM1997(3, 4, block_size=3)


def test_cifg_is_nn_lstm_with_forget_rows_minus_input_rows():
    """σ(−a) = 1 − σ(a): nn.LSTM with rows (i, −i, g, o) computes CIFGLSTM, packed, 2 layers, both directions;
    the weight gradients combine as δW_i − δW_f."""
    m = yt.CIFGLSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    H = 4
    ref.load_state_dict({k: torch.cat([v[:H], -v[:H], v[H:]]) for k, v in m.state_dict().items()})
    x = torch.randn(5, 3, 3, dtype=torch.float64, requires_grad=True)
    results = []
    for mod in (m, ref):
        out, (h, c) = mod(pack_padded_sequence(x, torch.tensor([5, 2, 4]), enforce_sorted=False))
        out = pad_packed_sequence(out)[0]
        loss = (out * out.detach().cos()).sum() + (c * c.detach().sin()).sum()
        results.append((out, c, torch.autograd.grad(loss, [x, *mod.parameters()])))
    assert (results[0][0] - results[1][0]).abs().max().item() <= 1e-14
    assert (results[0][1] - results[1][1]).abs().max().item() <= 1e-14
    assert (results[0][2][0] - results[1][2][0]).abs().max().item() <= 1e-13
    for a, b in zip(results[0][2][1:], results[1][2][1:], strict=True):
        assert (a - torch.cat([b[:H] - b[H : 2 * H], b[2 * H :]])).abs().max().item() <= 1e-13



@pytest.mark.parametrize("used", ["c_n", "h_n"])
def test_loss_on_one_final_state_part_only(used):
    """Only c_n (no error reaches the outputs: the operator's first gradient is None) or only h_n, packed."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = yt.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(5, 3, 3, dtype=torch.float64, requires_grad=True)
    grads = []
    for m in (ref, ours):
        _, (h, c) = m(pack_padded_sequence(x, torch.tensor([5, 4, 2])))
        grads.append(torch.autograd.grad((c if used == "c_n" else h).pow(2).sum(), [x, *m.parameters()]))
    for a, b in zip(*grads, strict=True):
        assert (a - b).abs().max().item() <= 1e-14
