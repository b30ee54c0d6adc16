"""yetztml.torch one-step modules, pinned: every cell a step of its sequence module (batched, unbatched, given
or default state), parameter names and draws, repr, and every error message in full."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import yetztml.torch as yt  # noqa: E402
from yetztml.core.errors import DTypeError, OptionError, ShapeError, UnsupportedError  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64
CELLS = [(yt.LSTMCell, yt.LSTM, 2), (yt.GRUCell, yt.GRU, 1), (yt.PeepholeLSTMCell, yt.PeepholeLSTM, 2),
         (yt.CIFGLSTMCell, yt.CIFGLSTM, 2), (yt.LayerNormLSTMCell, yt.LayerNormLSTM, 2)]


def _error(cls, fn) -> str:
    with pytest.raises(cls) as info:
        fn()
    return str(info.value)


def _close(a, b) -> bool:
    return a.shape == b.shape and (a - b).abs().max().item() <= 1e-15


@pytest.mark.parametrize("cell_cls, seq_cls, parts", CELLS, ids=["lstm", "gru", "peephole", "cifg", "layernorm"])
def test_a_step_is_the_first_step_of_the_sequence_module(cell_cls, seq_cls, parts):
    seq = seq_cls(3, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    if seq_cls is yt.LayerNormLSTM:
        with torch.no_grad():
            for name, p in seq.named_parameters():
                if name.startswith("ln_"):
                    p.add_(0.1 * torch.arange(p.numel(), dtype=F64))
    cell = cell_cls(3, 4, dtype=F64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in seq.state_dict().items()})
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, generator=gen, dtype=F64)
    hs = [torch.randn(2, 4, generator=gen, dtype=F64) for _ in range(parts)]
    hx = tuple(hs) if parts == 2 else hs[0]
    seq_hx = tuple(h[None] for h in hs) if parts == 2 else hs[0][None]
    for given, seq_given in ((hx, seq_hx), (None, None)):
        _, fin = seq(x[None], seq_given)
        got = cell(x, given)
        fins, gots = (list(fin), list(got)) if parts == 2 else ([fin], [got])
        assert len(gots) == parts
        for a, b in zip(gots, fins, strict=True):
            assert _close(a, b[0])
    full = cell(x, hx)
    one = cell(x[1], tuple(h[1] for h in hs) if parts == 2 else hs[0][1])
    for a, b in zip(list(one) if parts == 2 else [one], list(full) if parts == 2 else [full], strict=True):
        assert _close(a, b[1])
    default = cell(x[1])
    assert (default[0] if parts == 2 else default).shape == (4,)
    if parts == 2:
        assert torch.equal(cell(x, list(hs))[0], cell(x, hx)[0])


def test_names_draws_bias_and_repr():
    cell = yt.LSTMCell(3, 4, bias=False, dtype=F64, generator=torch.Generator().manual_seed(0))
    ref = torch.Generator().manual_seed(0)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]
    for p in cell.parameters():
        assert torch.equal(p.detach(), torch.empty(p.shape, dtype=F64).uniform_(-0.5, 0.5, generator=ref))
    torch.manual_seed(3)
    nn_cell = torch.nn.LSTMCell(3, 4, bias=False, dtype=F64)
    cell.load_state_dict(nn_cell.state_dict())
    x = torch.randn(2, 3, dtype=F64)
    assert all(_close(a, b) for a, b in zip(cell(x), nn_cell(x), strict=True))
    cell.reset_parameters(torch.Generator().manual_seed(0))
    assert torch.equal(cell.weight_hh, yt.LSTMCell(3, 4, bias=False, dtype=F64,
                                                   generator=torch.Generator().manual_seed(0)).weight_hh)
    assert repr(cell) == "LSTMCell(3, 4, bias=False)" and repr(yt.GRUCell(2, 5)) == "GRUCell(2, 5)"
    assert [n for n, _ in yt.PeepholeLSTMCell(3, 4).named_parameters()] == [
        "weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole"]
    meta = yt.GRUCell(3, 4, device="meta")
    assert {p.device.type for p in meta.parameters()} == {"meta"} and meta.weight_ih.shape == (12, 3)
    assert (cell.input_size, cell.hidden_size, cell.bias) == (3, 4, False)
    tiny = yt.LSTMCell(1, 1)
    assert (tiny.input_size, tiny.hidden_size, tiny.weight_ih.shape) == (1, 1, (4, 1))


def test_errors_in_full():
    assert _error(OptionError, lambda: yt.LSTMCell(0, 4)) == "LSTMCell(input_size=...): expected an integer >= 1, got 0"
    assert _error(OptionError, lambda: yt.GRUCell(3, 0)) == "GRUCell(hidden_size=...): expected an integer >= 1, got 0"
    assert _error(DTypeError, lambda: yt.GRUCell(3, 4, bias=1)) == "GRUCell(bias=...): expected True or False, got 1"
    assert _error(DTypeError, lambda: yt.LSTMCell(3, 4, dtype=torch.int32)) == (
        "LSTMCell(dtype=...): expected torch.float32 or torch.float64, got torch.int32")
    m = yt.LSTMCell(3, 4)
    x, h = torch.zeros(2, 3), torch.zeros(2, 4)
    assert _error(ShapeError, lambda: m(torch.zeros(1, 2, 3))) == (
        "LSTMCell.forward(input): expected shape (B, 3) or (3,), got shape (1, 2, 3)")
    assert _error(ShapeError, lambda: m(torch.zeros(2, 2))) == (
        "LSTMCell.forward(input): expected shape (B, 3) or (3,), got shape (2, 2)")
    assert _error(DTypeError, lambda: m(x.double())) == (
        "LSTMCell.forward(input): expected dtype torch.float32 (the module's), got torch.float64. "
        "Convert the input with .to(dtype) or the module with .float() / .double().")
    assert _error(DTypeError, lambda: m(x, h)) == "LSTMCell.forward(hx): expected a pair (h, c), got Tensor"
    assert _error(DTypeError, lambda: m(x, (h, h, h))) == "LSTMCell.forward(hx): expected a pair (h, c), got tuple"
    assert _error(ShapeError, lambda: m(x, (h, torch.zeros(2, 5)))) == (
        "LSTMCell.forward(c): expected shape (B, H) = (2, 4), got shape (2, 5)")
    assert _error(ShapeError, lambda: m(x[0], (h[0], h))) == (
        "LSTMCell.forward(c): expected shape (H,) = (4,), got shape (2, 4)")
    assert _error(DTypeError, lambda: m(x, (h.double(), h))) == (
        "LSTMCell.forward(h): expected dtype torch.float32 (the module's), got torch.float64. "
        "Convert the input with .to(dtype) or the module with .float() / .double().")
    assert _error(DTypeError, lambda: yt.GRUCell(3, 4)(x, (h,))) == (
        "GRUCell.forward(h): expected a torch.Tensor, got tuple")
    assert _error(UnsupportedError, lambda: yt.CIFGLSTMCell(3, 4, device="meta")(x)) == (
        "CIFGLSTMCell parameters: expected a CPU tensor (yetztml's compiled kernels run on the CPU), got a tensor "
        "on meta. Move the model and its inputs with .cpu().")
