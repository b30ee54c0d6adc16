"""yetztml.torch one-step modules: LSTMCell and GRUCell against nn.LSTMCell / nn.GRUCell (values, state_dicts,
gradients), a step of PeepholeLSTMCell equal to the first step of PeepholeLSTM, float64 gradcheck."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import yetztml.torch as yt  # noqa: E402
from cellchecks import raises  # noqa: E402
from yetztml.core.errors import ShapeError  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)
F64 = torch.float64


@pytest.mark.parametrize("ref_cls, cls", [(torch.nn.LSTMCell, yt.LSTMCell), (torch.nn.GRUCell, yt.GRUCell)],
                         ids=["lstm", "gru"])
@pytest.mark.parametrize("dtype", [F64, torch.float32], ids=["f64", "f32"])
def test_equals_torch_cell(ref_cls, cls, dtype):
    torch.manual_seed(0)
    ref = ref_cls(3, 4, dtype=dtype)
    torch.manual_seed(0)
    ours = cls(3, 4, dtype=dtype)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert all(torch.equal(ours.state_dict()[k], v) for k, v in ref.state_dict().items())
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, generator=gen, dtype=dtype, requires_grad=True)
    parts = [torch.randn(2, 4, generator=gen, dtype=dtype, requires_grad=True) for _ in range(2)]
    hx = tuple(parts) if cls is yt.LSTMCell else parts[0]
    used = parts if cls is yt.LSTMCell else parts[:1]
    bound = 1e-14 if dtype == F64 else 1e-6
    results = []
    for m in (ref, ours):
        out = m(x, hx)
        outs = list(out) if isinstance(out, tuple) else [out]
        loss = sum((o * torch.arange(o.numel(), dtype=dtype).view(o.shape).cos()).sum() for o in outs)
        results.append(outs + list(torch.autograd.grad(loss, [x, *used, *m.parameters()])))
    for a, b in zip(*results, strict=True):
        assert (a - b).abs().max().item() <= bound


def test_unbatched_and_default_state():
    torch.manual_seed(0)
    ref = torch.nn.LSTMCell(3, 2, dtype=F64)
    ours = yt.LSTMCell(3, 2, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, dtype=F64)
    (h1, c1), (h2, c2) = ref(x), ours(x)
    assert h2.shape == (2,) and (h1 - h2).abs().max().item() <= 1e-15 and (c1 - c2).abs().max().item() <= 1e-15
    with raises(ShapeError, "LSTMCell.forward(input)", "(B, 3)", "got shape (2, 4)"):
        ours(torch.zeros(2, 4, dtype=F64))


def test_peephole_cell_is_one_step_of_the_sequence_module():
    seq = yt.PeepholeLSTM(3, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    cell = yt.PeepholeLSTMCell(3, 4, dtype=F64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in seq.state_dict().items()})
    x = torch.randn(3, 2, 3, dtype=F64)
    out, (h_n, c_n) = seq(x)
    h, c = torch.zeros(2, 4, dtype=F64), torch.zeros(2, 4, dtype=F64)
    for t in range(3):
        h, c = cell(x[t], (h, c))
        assert (h - out[t]).abs().max().item() <= 1e-15
    assert (c - c_n[0]).abs().max().item() <= 1e-15


@pytest.mark.parametrize("cls", [yt.LSTMCell, yt.GRUCell, yt.PeepholeLSTMCell, yt.CIFGLSTMCell],
                         ids=["lstm", "gru", "peephole", "cifg"])
def test_gradcheck_float64(cls):
    m = cls(2, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in m.parameters()]
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 2, generator=gen, dtype=F64, requires_grad=True)
    n_state = 1 if cls is yt.GRUCell else 2
    hs = [torch.randn(2, 3, generator=gen, dtype=F64, requires_grad=True) for _ in range(n_state)]

    def f(x, *rest):
        states, weights = rest[:n_state], rest[n_state:]
        hx = tuple(states) if n_state == 2 else states[0]
        return torch.func.functional_call(m, dict(zip(names, weights, strict=True)), (x, hx))

    assert torch.autograd.gradcheck(f, (x, *hs, *params), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_without_torch_the_import_names_the_extra():
    """A Python where ``import torch`` fails (sys.modules entry None) gets one line naming the [torch] extra;
    the rest of yetztml imports without torch."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "import yetztml.cells.lstm_cifg, yetztml.interop\n"
            "try:\n    import yetztml.torch\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == ("yetztml.torch: expected PyTorch to be installed, got no module 'torch'. "
                   "Install the extra: pip install 'yetztml[torch]'.\n")
