"""return_states=True: every gate activation and cell state over time, recomputed here from the module's own
outputs and weights (both directions, batch_first, packed); detached; off by default."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

import yetztml.torch as yt  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64


def _gates(m, x, h_prev, sfx):
    a = (x @ getattr(m, "weight_ih" + sfx).T + getattr(m, "bias_ih" + sfx) + h_prev @ getattr(m, "weight_hh" + sfx).T
         + getattr(m, "bias_hh" + sfx))
    i, f, g, o = a.chunk(4, dim=-1)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def test_lstm_gates_and_cell_states_recomputed_from_outputs():
    H = 4
    m = yt.LSTM(3, H, bidirectional=True, batch_first=True, dtype=F64, return_states=True,
                generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 5, 3, dtype=F64)  # (B, T, I)
    out, (h_n, c_n), states = m(x)
    assert len(states) == 1 and set(states[0]) == {"i", "f", "g", "o", "c"}
    st = {k: v.transpose(0, 1) for k, v in states[0].items()}  # (T, B, 2H)
    y = out.transpose(0, 1)
    xt = x.transpose(0, 1)
    zero = torch.zeros(2, H, dtype=F64)
    for d, sfx in ((0, "_l0"), (1, "_l0_reverse")):
        cols = slice(d * H, (d + 1) * H)
        c_prev = zero
        for t in range(5) if d == 0 else reversed(range(5)):
            h_prev = zero if (t == 0 and d == 0) or (t == 4 and d == 1) else y[t - 1 if d == 0 else t + 1, :, cols]
            i, f, g, o = _gates(m, xt[t], h_prev, sfx)
            for name, value in zip("ifgo", (i, f, g, o), strict=True):
                assert (st[name][t, :, cols] - value).abs().max().item() <= 1e-14, (name, d, t)
            c_prev = f * c_prev + i * g
            assert (st["c"][t, :, cols] - c_prev).abs().max().item() <= 1e-14
        assert (c_prev - c_n[d]).abs().max().item() <= 1e-15
    assert not any(v.requires_grad for v in states[0].values())
    assert len(yt.LSTM(3, H, dtype=F64)(x.transpose(0, 1))) == 2  # off by default: (output, (h_n, c_n))


def test_packed_states_are_rows_of_the_packed_data():
    """Each sequence's own last cell state (→) sits where its last output sits in the packed data."""
    m = yt.CIFGLSTM(3, 4, num_layers=2, dtype=F64, return_states=True, generator=torch.Generator().manual_seed(1))
    x = torch.randn(6, 3, 3, dtype=F64)
    lengths = torch.tensor([6, 2, 4])
    out, (h_n, c_n), states = m(pack_padded_sequence(x, lengths, enforce_sorted=False))
    assert states[1]["c"].shape == out.data.shape
    c_pad, _ = pad_packed_sequence(out._replace(data=states[1]["c"]))
    i_pad, _ = pad_packed_sequence(out._replace(data=states[1]["i"]))
    for b, n in enumerate(lengths.tolist()):
        assert (c_pad[n - 1, b] - c_n[1, b]).abs().max().item() <= 1e-15
        assert i_pad[n:, b].abs().sum().item() == 0.0  # padding past each length
    y, _ = pad_packed_sequence(out)
    o_pad, _ = pad_packed_sequence(out._replace(data=states[1]["o"]))
    assert (o_pad * torch.tanh(c_pad) - y).abs().max().item() <= 1e-15  # (CF7) row by row
