"""yetztml.torch sequence modules, pinned where the comparisons with torch.nn leave room: initial draws and
layer-norm constants, repr, every error message in full, the hidden state given or defaulted in each layout,
packed runs against each sequence run alone, the per-layer states of every layout and direction, dropout and
zoneout masks, and the options that pick the cell kind."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import yetztml.torch as yt  # noqa: E402
from yetztml.core.errors import DTypeError, OptionError, ShapeError, UnsupportedError  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64


def _error(cls, fn) -> str:
    with pytest.raises(cls) as info:
        fn()
    return str(info.value)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _close(a, b, bound: float = 1e-14) -> bool:
    return a.shape == b.shape and (a - b).abs().max().item() <= bound


# -- initial parameters ------------------------------------------------------------------------------------


def test_layer_norm_gains_and_biases_are_one_and_zero_and_the_rest_draw_in_order():
    """U(−1/√H, 1/√H) from the given generator for every weight, in registration order; ln gains 1, biases 0,
    drawing nothing (H = 4: bound 0.5)."""
    m = yt.LayerNormLSTM(3, 4, dtype=F64, generator=_gen(0))
    ref = _gen(0)
    ln = [n for n, _ in m.named_parameters() if n.startswith("ln_")]
    assert ln == ["ln_ih_weight_l0", "ln_ih_bias_l0", "ln_hh_weight_l0", "ln_hh_bias_l0", "ln_c_weight_l0",
                  "ln_c_bias_l0"]
    for name, p in m.named_parameters():
        if name in ln:
            assert torch.equal(p.detach(), torch.full_like(p, 1.0 if "_weight" in name else 0.0)), name
        else:
            want = torch.empty(p.shape, dtype=F64).uniform_(-0.5, 0.5, generator=ref)
            assert torch.equal(p.detach(), want), name
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(7.0)
    m.reset_parameters(_gen(0))
    again = yt.LayerNormLSTM(3, 4, dtype=F64, generator=_gen(0))
    assert all(torch.equal(a, b) for a, b in zip(m.parameters(), again.parameters(), strict=True))


def test_default_generator_is_torchs_global_one():
    torch.manual_seed(5)
    a = yt.GRU(2, 9, dtype=F64)
    torch.manual_seed(5)
    b = torch.nn.GRU(2, 9, dtype=F64)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert a.weight_hh_l0.abs().max().item() <= 1 / 3 and a.weight_hh_l0.abs().max().item() > 0.3


def test_parameters_are_created_on_the_given_device():
    m = yt.LSTM(3, 4, num_layers=2, device="meta")
    assert {p.device.type for p in m.parameters()} == {"meta"}
    assert m.weight_ih_l1.shape == (16, 4) and m.weight_ih_l0.dtype == torch.get_default_dtype()


def test_parameter_names_and_widths_of_stacked_bidirectional_layers():
    m = yt.PeepholeLSTM(3, 2, num_layers=2, bidirectional=True, bias=False)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("weight_ih_l0", (8, 3)), ("weight_hh_l0", (8, 2)), ("weight_peephole_l0", (6,)),
        ("weight_ih_l0_reverse", (8, 3)), ("weight_hh_l0_reverse", (8, 2)), ("weight_peephole_l0_reverse", (6,)),
        ("weight_ih_l1", (8, 4)), ("weight_hh_l1", (8, 2)), ("weight_peephole_l1", (6,)),
        ("weight_ih_l1_reverse", (8, 4)), ("weight_hh_l1_reverse", (8, 2)), ("weight_peephole_l1_reverse", (6,)),
    ]
    assert m.num_directions == 2 and yt.PeepholeLSTM(3, 2).num_directions == 1


def test_repr_lists_the_options_that_differ_from_the_defaults():
    assert repr(yt.LSTM(3, 4)) == "LSTM(3, 4)"
    m = yt.GRU(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)
    assert repr(m) == "GRU(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"
    assert repr(yt.RNN(2, 5, dropout=0.25)) == "RNN(2, 5, dropout=0.25)"
    assert repr(yt.LSTM1997(3, 4)) == "LSTM1997(3, 4)" and repr(yt.PeepholeLSTM(3, 4)) == "PeepholeLSTM(3, 4)"


# -- error messages ----------------------------------------------------------------------------------------


def test_constructor_errors_in_full():
    assert _error(DTypeError, lambda: yt.LSTM(3, 4, return_states=1)) == (
        "LSTM(return_states=...): expected True or False, got 1")
    assert _error(OptionError, lambda: yt.LSTM(3, 4, zoneout_c=-0.5)) == (
        "LSTM(zoneout_c=...): expected a number >= 0.0, got -0.5")
    assert _error(OptionError, lambda: yt.LSTM(3, 4, zoneout_h=1.01)) == (
        "LSTM(zoneout_h=...): expected a number <= 1.0, got 1.01")
    assert _error(OptionError, lambda: yt.LSTM(3, 4, zoneout_h=-0.5)) == (
        "LSTM(zoneout_h=...): expected a number >= 0.0, got -0.5")
    assert _error(OptionError, lambda: yt.LSTM(3, 4, zoneout_c=1.5)) == (
        "LSTM(zoneout_c=...): expected a number <= 1.0, got 1.5")
    assert _error(OptionError, lambda: yt.LSTM(3, 4, recurrent_dropout=1.0)) == (
        "LSTM(recurrent_dropout=...): expected a number <= 0.999, got 1.0")
    assert _error(OptionError, lambda: yt.LSTM(3, 4, recurrent_dropout=-0.1)) == (
        "LSTM(recurrent_dropout=...): expected a number >= 0.0, got -0.1")
    assert _error(OptionError, lambda: yt.RNN(3, 4, nonlinearity="sigmoid")) == (
        "RNN(nonlinearity=...): expected one of 'tanh', 'relu', got 'sigmoid'")
    assert _error(OptionError, lambda: yt.LSTM1997(3, 4, block_size=0)) == (
        "LSTM1997(block_size=...): expected an integer >= 1, got 0")
    assert _error(ShapeError, lambda: yt.LSTM1997(3, 4, block_size=3)) == (
        "LSTM1997(hidden_size=...): expected a multiple of block_size=3, got 4")
    assert _error(DTypeError, lambda: yt.LSTM1997(3, 4.0, block_size=3)) == (
        "LSTM1997(hidden_size=...): expected an integer, got float 4.0")
    assert _error(OptionError, lambda: yt.LSTM1997(3, 4, g="relu")) == (
        "LSTM1997(g=...): expected one of 'g1997', 'logistic', 'tanh', 'identity', got 'relu'")
    assert _error(OptionError, lambda: yt.LSTM1997(3, 4, h="relu")) == (
        "LSTM1997(h=...): expected one of 'h1997', 'logistic', 'tanh', 'identity', got 'relu'")


def test_forward_errors_in_full():
    m = yt.LSTM(3, 4)
    x = torch.zeros(5, 2, 3)
    assert _error(ShapeError, lambda: m(torch.zeros(1, 5, 2, 3))) == (
        "LSTM.forward(input): expected a 3-D (T, B, I) or 2-D (T, I) tensor, got 4-D shape (1, 5, 2, 3)")
    assert _error(ShapeError, lambda: m(torch.zeros(3))) == (
        "LSTM.forward(input): expected a 3-D (T, B, I) or 2-D (T, I) tensor, got 1-D shape (3,)")
    assert _error(ShapeError, lambda: m(torch.zeros(5, 2, 2))) == (
        "LSTM.forward(input): expected input size 3 in the last axis, got 2")
    assert _error(DTypeError, lambda: m([[0.0]])) == "LSTM.forward(input): expected a torch.Tensor, got list"
    four = pack_padded_sequence(torch.zeros(5, 2, 1, 3), torch.tensor([5, 3]))
    assert _error(ShapeError, lambda: m(four)) == (
        "LSTM.forward(input.data): expected a 2-D (N, I) tensor, packed from (T, B, I), got 3-D shape (8, 1, 3)")
    packed = pack_padded_sequence(torch.zeros(5, 2, 3, dtype=F64), torch.tensor([5, 3]))
    assert _error(DTypeError, lambda: m(packed)) == (
        "LSTM.forward(input.data): expected dtype torch.float32 (the module's), got torch.float64. "
        "Convert the input with .to(dtype) or the module with .float() / .double().")
    assert _error(UnsupportedError, lambda: yt.GRU(3, 4, device="meta")(x)) == (
        "GRU parameters: expected a CPU tensor (yetztml's compiled kernels run on the CPU), got a tensor on meta. "
        "Move the model and its inputs with .cpu().")
    h = torch.zeros(1, 2, 4)
    assert _error(DTypeError, lambda: m(x, h)) == "LSTM.forward(hx): expected a pair (h_0, c_0), got Tensor"
    assert _error(DTypeError, lambda: m(x, (h, h, h))) == "LSTM.forward(hx): expected a pair (h_0, c_0), got tuple"
    assert _error(ShapeError, lambda: m(x, (h, torch.zeros(1, 3, 4)))) == (
        "LSTM.forward(c_0): expected shape (num_layers·D, B, H) = (1, 2, 4), got shape (1, 3, 4)")
    assert _error(DTypeError, lambda: m(x, (h.double(), h))) == (
        "LSTM.forward(h_0): expected dtype torch.float32 (the module's), got torch.float64. "
        "Convert the input with .to(dtype) or the module with .float() / .double().")
    assert _error(DTypeError, lambda: m(x, (h, h.double()))).startswith("LSTM.forward(c_0): expected dtype")
    assert _error(ShapeError, lambda: yt.LSTM(3, 4, num_layers=2, bidirectional=True)(x[:, 0], (h[:, 0], h[:, 0]))) == (
        "LSTM.forward(h_0): expected shape (num_layers·D, H) = (4, 4), got shape (1, 4)")
    assert _error(DTypeError, lambda: yt.GRU(3, 4)(x, (h,))) == "GRU.forward(h_0): expected a torch.Tensor, got tuple"


# -- hidden states and layouts -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [yt.LSTM, yt.GRU])
def test_given_state_in_each_layout_equals_torch(cls):
    """Unbatched, batch_first and time-major, with a given state, a list pair and the default zeros."""
    ref_cls = torch.nn.LSTM if cls is yt.LSTM else torch.nn.GRU
    torch.manual_seed(0)
    ref = ref_cls(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    ours = cls(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    gen = _gen(1)
    x = torch.randn(5, 4, 3, generator=gen, dtype=F64)  # more sequences than inputs
    hs = [torch.randn(4, 4, 4, generator=gen, dtype=F64) for _ in range(2)]
    hx = tuple(hs) if cls is yt.LSTM else hs[0]
    for inp, h, bf in ((x, hx, False), (x[:, 1], tuple(s[:, 1] for s in hs) if cls is yt.LSTM else hs[0][:, 1],
                                                  False), (x, None, False), (x.transpose(0, 1), hx, True)):
        ref.batch_first = ours.batch_first = bf
        a, b = ref(inp, h), ours(inp, h)
        assert _close(b[0], a[0])
        for p, q in zip(a[1] if cls is yt.LSTM else [a[1]], b[1] if cls is yt.LSTM else [b[1]], strict=True):
            assert _close(q, p)
    if cls is yt.LSTM:
        ours.batch_first = False
        assert torch.equal(ours(x, list(hs))[0], ours(x, hx)[0])


def test_packed_equals_each_sequence_run_alone():
    """Lengths giving three runs (unsorted and sorted), two runs with the last batch size equal to the second,
    and one run; 2 layers, both directions, a given state: each sequence's output rows and final state are
    those of the sequence run by itself."""
    for cls, parts in ((yt.LSTM, 2), (yt.RNN, 1), (yt.LSTM1997, 2)):
        m = cls(3, 4, num_layers=2, bidirectional=True, dtype=F64, generator=_gen(2))
        gen = _gen(3)
        x = torch.randn(5, 3, 3, generator=gen, dtype=F64)
        hs = [torch.randn(4, 3, 4, generator=gen, dtype=F64) for _ in range(parts)]
        for lengths, sort in (([3, 5, 1], False), ([3, 5, 1], True), ([5, 1, 1], True), ([4, 4, 4], True),
                              ([3, 1, 5], False)):
            order = [1, 0, 2] if lengths == [3, 5, 1] and sort else [0, 1, 2]
            xs, hs_ = x[:, order], [s[:, order] for s in hs]
            lens = [lengths[i] for i in order]
            hx = tuple(hs_) if parts == 2 else hs_[0]
            packed = pack_padded_sequence(xs, torch.tensor(lens), enforce_sorted=sort)
            out, fin = m(packed, hx)
            for mine, given in ((out.sorted_indices, packed.sorted_indices),
                                (out.unsorted_indices, packed.unsorted_indices)):
                assert (mine is None and given is None) if sort else torch.equal(mine, given)
            padded, _ = pad_packed_sequence(out)
            fins = list(fin) if parts == 2 else [fin]
            for b, n in enumerate(lens):
                one = tuple(s[:, b : b + 1] for s in hs_) if parts == 2 else hs_[0][:, b : b + 1]
                o1, f1 = m(xs[:n, b : b + 1], one)
                assert _close(padded[:n, b : b + 1], o1, 1e-13), (cls, sort, b)
                for f, g in zip(fins, list(f1) if parts == 2 else [f1], strict=True):
                    assert _close(f[:, b : b + 1], g, 1e-13), (cls, sort, b)


def _reverse_alone(m, cls, kw):
    """A one-direction module with the reverse weights of layer 0 of ``m``."""
    r = cls(3, 4, dtype=F64, return_states=True, **kw)
    r.load_state_dict({k.replace("_l0_reverse", "_l0"): v for k, v in m.state_dict().items() if "_l0_reverse" in k})
    return r


@pytest.mark.parametrize("cls, kw, names, half", [
    (yt.LSTM, {}, "ifgoc", {}), (yt.GRU, {}, "rzn", {}), (yt.CIFGLSTM, {}, "igoc", {}),
    (yt.LSTM1997, {"block_size": 2}, "igoc", {"i": 2, "o": 2}),
], ids=["lstm", "gru", "cifg", "lstm1997"])
def test_states_of_both_directions_in_each_layout(cls, kw, names, half):
    """return_states: the ← half equals a one-direction module with the ← weights run on reversed time;
    batch_first transposes, unbatched squeezes, packed rows are the padded values of each sequence."""
    m = cls(3, 4, num_layers=2, bidirectional=True, dtype=F64, return_states=True, generator=_gen(4), **kw)
    x = torch.randn(5, 2, 3, generator=_gen(5), dtype=F64)
    out, _, states = m(x)
    assert len(states) == 2 and set(states[0]) == set(names) and not states[0][names[0]].requires_grad
    fwd = cls(3, 4, dtype=F64, return_states=True, **kw)
    fwd.load_state_dict({k: v for k, v in m.state_dict().items() if k.endswith("_l0")})
    rev = _reverse_alone(m, cls, kw)
    ref_f, ref_r = fwd(x)[2][0], rev(x.flip(0))[2][0]
    for name in names:
        k = half.get(name, 4)
        assert states[0][name].shape == (5, 2, 2 * k)
        assert _close(states[0][name][..., :k], ref_f[name]), name
        assert _close(states[0][name][..., k:], ref_r[name].flip(0)), name
    m.batch_first = True
    _, _, bf = m(x.transpose(0, 1))
    m.batch_first = False
    _, _, one = m(x[:, 1])
    lengths = torch.tensor([5, 3])
    packed, _, pk = m(pack_padded_sequence(x, lengths))
    short, _, sh = m(x[:3, 1:])
    for layer in range(2):
        for name in names:
            assert _close(bf[layer][name], states[layer][name].transpose(0, 1)), name
            assert _close(one[layer][name], states[layer][name][:, 1]), name
            rows, _ = pad_packed_sequence(packed._replace(data=pk[layer][name]))
            assert _close(rows[:, :1], states[layer][name][:, :1]), name
            assert _close(rows[:3, 1:], sh[layer][name]), name


def test_dropout_only_between_layers_in_training():
    """nn.LSTM's masks from the same generator state, padded and packed (two and three runs); none in evaluation mode,
    none after the last layer."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.4, dtype=F64)
    ours = yt.LSTM(3, 4, num_layers=2, dropout=0.4, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    plain = yt.LSTM(3, 4, num_layers=2, dtype=F64)
    plain.load_state_dict(ref.state_dict())
    x = torch.randn(4, 3, 3, generator=_gen(6), dtype=F64)
    for inp in (x, pack_padded_sequence(x, torch.tensor([4, 2, 2])), pack_padded_sequence(x, torch.tensor([4, 3, 1]))):
        torch.manual_seed(8)
        a = ref(inp)
        torch.manual_seed(8)
        b = ours(inp)
        get = (lambda o: o.data) if isinstance(inp, torch.nn.utils.rnn.PackedSequence) else (lambda o: o)
        assert _close(get(b[0]), get(a[0]))
        assert _close(b[1][0], a[1][0]) and _close(b[1][1], a[1][1])
        assert (get(b[0]) - get(plain(inp)[0])).abs().max().item() > 1e-3
        ours.eval()
        assert torch.equal(get(ours(inp)[0]), get(plain(inp)[0]))
        ours.train()
    one = yt.LSTM(3, 4, dropout=0.4, dtype=F64)
    one.load_state_dict({k: v for k, v in ref.state_dict().items() if k.endswith("_l0")})
    single = yt.LSTM(3, 4, dtype=F64)
    single.load_state_dict(one.state_dict())
    assert torch.equal(one(x)[0], single(x)[0])  # one layer: no dropout at all


# -- options that pick the cell ----------------------------------------------------------------------------


def test_zoneout_options_each_select_the_zoneout_cell():
    assert yt.LSTM(3, 4).kind.name == "lstm"
    for kw in ({"zoneout_h": 0.1}, {"zoneout_c": 0.1}, {"recurrent_dropout": 0.1}):
        m = yt.LSTM(3, 4, **kw)
        assert m.kind.name == "zoneout", kw
        assert (m.zoneout_h, m.zoneout_c, m.recurrent_dropout) == (kw.get("zoneout_h", 0.0), kw.get("zoneout_c", 0.0),
                                                                   kw.get("recurrent_dropout", 0.0))
    assert yt.LSTM(3, 4)._masks(2, 1, torch.zeros(1)) == []


def test_zoneout_masks_in_training_and_evaluation():
    m = yt.LSTM(3, 4, zoneout_h=0.3, zoneout_c=0.6, recurrent_dropout=0.2, dtype=F64)
    like = torch.zeros(1, dtype=F64)
    torch.manual_seed(1)
    masks = m._masks(5, 2, like)
    torch.manual_seed(1)
    want = [torch.bernoulli(torch.full((5, 2, 4), p, dtype=F64)) for p in (0.3, 0.6, 0.8)]
    want[2] = want[2] / 0.8
    assert all(torch.equal(a, b) for a, b in zip(masks, want, strict=True))
    assert set(masks[2].unique().tolist()) == {0.0, 1.25}
    m.eval()
    masks = m._masks(5, 2, like)
    assert [mk.shape for mk in masks] == [(5, 2, 4)] * 3 and [mk.dtype for mk in masks] == [F64] * 3
    assert [set(mk.unique().tolist()) for mk in masks] == [{0.3}, {0.6}, {1.0}]


def test_rnn_and_lstm1997_kinds_follow_their_options():
    assert yt.RNN(3, 4).kind.name == "rnn:tanh" and yt.RNN(3, 4, nonlinearity="relu").kind.name == "rnn:relu"
    m = yt.LSTM1997(3, 4, block_size=2, g="tanh", h="identity")
    assert m.kind.name == "lstm1997:tanh:identity:2" and (m.block_size, m.g, m.h) == (2, "tanh", "identity")
    assert yt.LSTM1997(3, 4).kind.name == "lstm1997:g1997:h1997:1"
    for cls, name in ((yt.GRU, "gru"), (yt.PeepholeLSTM, "peephole"), (yt.CIFGLSTM, "cifg"),
                      (yt.LayerNormLSTM, "layernorm")):
        assert cls(3, 4).kind.name == name


def test_lstm1997_squashing_options_change_the_computation():
    """g = tanh, h = identity: h(t) = y_out · s(t), s(t) = s(t−1) + y_in · tanh(a_c) (one cell per block)."""
    m = yt.LSTM1997(2, 3, g="tanh", h="identity", dtype=F64, generator=_gen(7))
    x = torch.randn(4, 1, 2, generator=_gen(8), dtype=F64)
    out, (h_n, c_n) = m(x)
    w_ih, w_hh, b = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0 + m.bias_hh_l0
    h = c = torch.zeros(1, 3, dtype=F64)
    for t in range(4):
        a = x[t] @ w_ih.T + h @ w_hh.T + b
        c = c + torch.sigmoid(a[:, 3:6]) * torch.tanh(a[:, :3])
        h = torch.sigmoid(a[:, 6:]) * c
        assert _close(out[t], h.detach())
    assert _close(c_n[0], c.detach()) and _close(h_n[0], h.detach())
