"""Attention (AT1)–(AT10): finite differences, PyTorch autograd, masking of the memory's padding."""

import numpy as np
import pytest

from yetztml.core.errors import OptionError, ShapeError
from yetztml.layers import Attention
from yetztml.models import check_model

KINDS = ("luong-dot", "luong-general", "bahdanau")


def _setup(kind, seed=0):
    rng = np.random.default_rng(seed)
    layer = Attention(4, 4 if kind == "luong-dot" else 5, kind, attention_size=3, seed=1)
    x = rng.standard_normal((3, 2, 4))
    memory = rng.standard_normal((6, 2, layer.memory_size))
    return layer, x, memory, np.array([6, 3]), rng


@pytest.mark.parametrize("kind", KINDS)
def test_finite_differences_every_parameter_query_and_memory(kind):
    layer, x, memory, lengths, rng = _setup(kind)
    errors = check_model(layer, x, rng, lengths=lengths, state=memory)
    expected = {"luong-dot": set(), "luong-general": {"W"}, "bahdanau": {"W_q", "W_k", "b", "v"}}[kind]
    assert set(errors) == expected | {"inputs", "initial_state"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("kind", KINDS)
def test_padding_gets_no_weight_and_no_gradient(kind):
    layer, x, memory, lengths, rng = _setup(kind)
    trace = layer.forward(x, memory, lengths=lengths)
    alpha = np.stack([c["alpha"] for c in trace.extras["caches"]])  # (T, B, S)
    assert np.all(alpha[:, 1, 3:] == 0.0)
    np.testing.assert_allclose(alpha.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    changed = memory.copy()
    changed[3:, 1] = 100.0  # padding of sentence 1
    again = layer.forward(x, changed, lengths=lengths)
    assert np.array_equal(again.outputs, trace.outputs)
    grads = layer.backward(trace, rng.standard_normal(trace.outputs.shape))
    assert np.all(grads.initial_state[3:, 1] == 0.0)
    assert np.any(grads.initial_state[:3, 1] != 0.0)


def test_single_valid_step_gives_that_step_as_context():
    layer, x, memory, _, _ = _setup("bahdanau")
    out = layer.forward(x, memory, lengths=np.array([1, 1])).outputs
    assert np.array_equal(out, np.broadcast_to(memory[0], out.shape))


def test_bad_construction_and_memory():
    with pytest.raises(OptionError, match="query size = memory size"):
        Attention(4, 5, "luong-dot")
    with pytest.raises(OptionError, match="bahdanau"):
        Attention(4, 5, "concat")
    layer, x, memory, _, _ = _setup("luong-general")
    with pytest.raises(ShapeError, match="memory"):
        layer.forward(x, None)
    with pytest.raises(OptionError, match="lengths in"):
        layer.forward(x, memory, lengths=np.array([7, 2]))


@pytest.mark.torch
@pytest.mark.parametrize("kind", KINDS)
def test_agrees_with_pytorch_autograd(kind):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    layer, x, memory, lengths, rng = _setup(kind)
    trace = layer.forward(x, memory, lengths=lengths)
    d_out = rng.standard_normal(trace.outputs.shape)
    grads = layer.backward(trace, d_out)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    q = torch.tensor(x, requires_grad=True)  # (T, B, Q)
    k = torch.tensor(memory, requires_grad=True)  # (S, B, M)
    keys = k.permute(1, 0, 2)  # (B, S, M)
    if kind == "luong-dot":
        e = torch.einsum("bsm,tbm->tbs", keys, q)
    elif kind == "luong-general":
        e = torch.einsum("bsm,qm,tbq->tbs", keys, params["W"], q)
    else:
        z = (keys @ params["W_k"].T)[None] + (q @ params["W_q"].T + params["b"])[:, :, None, :]
        e = torch.tanh(z) @ params["v"]
    pad = torch.arange(memory.shape[0])[None, :] >= torch.tensor(lengths)[:, None]  # (B, S)
    alpha = torch.softmax(e.masked_fill(pad[None], float("-inf")), dim=2)
    context = torch.einsum("tbs,bsm->tbm", alpha, keys)
    (context * torch.tensor(d_out)).sum().backward()

    np.testing.assert_allclose(trace.outputs, context.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads.inputs, q.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads.initial_state, k.grad.numpy(), rtol=0, atol=1e-12)
    for name, p in params.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32(kind):
    layer = Attention(4, 4 if kind == "luong-dot" else 5, kind, seed=1, dtype=np.float32)
    assert {p.dtype for p in layer.params.values()} <= {np.dtype(np.float32)}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    memory = rng.standard_normal((4, 3, layer.memory_size)).astype(np.float32)
    trace = layer.forward(x, memory, lengths=np.array([4, 2, 1]))
    grads = layer.backward(trace, np.ones_like(trace.outputs))
    assert trace.outputs.dtype == np.float32 and grads.inputs.dtype == np.float32
    assert grads.initial_state.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
