"""torch.compile of a model containing yetztml.torch modules: one graph (fullgraph=True, each layer and
direction one opaque yetztml::sweep call), outputs and gradients equal to eager."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import yetztml.torch as yt  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.rnn = yt.PeepholeLSTM(3, 4, bidirectional=True, batch_first=True, generator=gen)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x):
        out, (h, c) = self.rnn(x)
        return self.head(out).sum(-1) + c.sum(0).mean(-1, keepdim=True)


@pytest.mark.parametrize("BACKEND", ["aot_eager", pytest.param(
    "inductor", marks=[pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")])])
def test_compiled_model_equals_eager(BACKEND):
    """aot_eager: the graph torch.compile builds, run eagerly. inductor (the default backend, slow: it
    compiles C++): the same, with the linear head fused around the two opaque yetztml::sweep calls."""
    torch.manual_seed(0)
    model = Tagger()
    x = torch.randn(2, 5, 3)
    eager = model(x)
    g_eager = torch.autograd.grad(eager.square().sum(), list(model.parameters()))
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend=BACKEND)
    got = compiled(x)
    g_got = torch.autograd.grad(got.square().sum(), list(model.parameters()))
    bound = 0.0 if BACKEND == "aot_eager" else 1e-6  # inductor re-associates the head's float32 sums
    assert (got - eager).abs().max().item() <= bound
    for a, b in zip(g_got, g_eager, strict=True):
        assert (a - b).abs().max().item() <= bound * max(1.0, b.abs().max().item())
