"""BPTT and truncated BPTT drivers: finite differences, named equivalences, an independent torch reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from yetztml.cells.lstm import LSTM
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.rnn import RNN
from yetztml.core.errors import DTypeError, OptionError, ShapeError, UnsupportedError
from yetztml.core.gradcheck import numerical_gradient, relative_error
from yetztml.learning.gradients import gradients
from yetztml.learning.losses import squared_error

torch.set_num_threads(1)

T, B, I, H = 11, 2, 3, 4


def _cell(kind, **kw):
    if kind == "rnn":
        return RNN(I, H, seed=3, **kw)
    if kind == "lstm":
        return LSTM(I, H, seed=3, **kw)
    return LSTM1997(I, 2, 2, H, seed=3, init_range=0.5, **kw)


def _state(cell, rng):
    """A random initial state with the structure of the cell's final state."""
    final = cell.forward(np.zeros((1, B, I), dtype=cell.dtype)).final_state
    if isinstance(final, np.ndarray):
        return 0.5 * rng.standard_normal(final.shape)
    return type(final)(*[0.5 * rng.standard_normal(a.shape) for a in final])


def _targets(loss, rng, shape=(T, B, H)):
    if loss == "cross_entropy":
        return rng.integers(0, shape[-1], size=shape[:-1])
    return rng.standard_normal(shape)


def _leaves(state):
    return [state] if isinstance(state, np.ndarray) else list(state)


def _assert_grads_close(a, b, tol):
    for key in a:
        assert relative_error(a[key], b[key]) <= tol, key
    assert relative_error(a.inputs, b.inputs) <= tol
    for p, q in zip(_leaves(a.initial_state), _leaves(b.initial_state), strict=True):
        assert relative_error(p, q) <= tol


# -- (G1) bptt is the exact gradient -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm", "lstm1997"])
@pytest.mark.parametrize(
    "loss, kw", [("squared_error", {}), ("mse", {}), ("cross_entropy", {}), ("smooth_l1", {"beta": 0.5})]
)
def test_bptt_equals_finite_differences_of_the_whole_loss(rng, kind, loss, kw):
    cell = _cell(kind)
    x = rng.standard_normal((6, B, I))
    targets = _targets(loss, rng, (6, B, H))
    mask = rng.random((6, B)) < 0.7
    mask[-1] = True
    state = _state(cell, rng)
    value, grads = gradients(cell, x, targets, loss=loss, mask=mask, state=state, **kw)
    for name, param in cell.params.items():
        numeric = numerical_gradient(
            lambda: gradients(cell, x, targets, loss=loss, mask=mask, state=state, **kw)[0], param
        )
        assert relative_error(grads[name], numeric) <= 1e-6, name
    numeric_x = numerical_gradient(
        lambda: gradients(cell, x, targets, loss=loss, mask=mask, state=state, **kw)[0], x
    )
    assert relative_error(grads.inputs, numeric_x) <= 1e-6
    assert value == gradients(cell, x, targets, loss=loss, mask=mask, state=state, **kw)[0]


# -- (G2) tbptt: named equivalences ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm", "lstm1997"])
@pytest.mark.parametrize("k", [T, T + 5])
def test_tbptt_with_one_window_covering_the_sequence_is_bptt(rng, kind, k):
    cell = _cell(kind)
    x = rng.standard_normal((T, B, I))
    targets = _targets("mse", rng)
    mask = rng.random((T, B)) < 0.5
    state = _state(cell, rng)
    v_b, g_b = gradients(cell, x, targets, loss="mse", mask=mask, state=state)
    v_t, g_t = gradients(cell, x, targets, loss="mse", mask=mask, state=state, method="tbptt", k1=k, k2=k)
    assert v_t == v_b
    _assert_grads_close(g_t, g_b, 1e-10)


@pytest.mark.parametrize("k1", [1, 3, 4])
def test_tbptt_with_windows_reaching_the_start_is_bptt(rng, k1):
    """k2 >= T: every window starts at t = 0, so every error flows all the way back."""
    cell = _cell("lstm")
    x = rng.standard_normal((T, B, I))
    targets = _targets("squared_error", rng)
    _, g_b = gradients(cell, x, targets)
    _, g_t = gradients(cell, x, targets, method="tbptt", k1=k1, k2=T)
    _assert_grads_close(g_t, g_b, 1e-10)


def test_tbptt_truncate_recurrent_with_one_window_is_truncated_bptt(rng):
    cell = _cell("lstm1997")
    x = rng.standard_normal((T, B, I))
    targets = _targets("squared_error", rng)
    _, g_b = gradients(cell, x, targets, truncate_recurrent=True)
    trace = cell.forward(x)
    _, d = squared_error(trace.outputs, targets)
    direct = cell.backward(trace, d, truncate=True)
    _assert_grads_close(g_b, direct, 0.0)
    _, full = gradients(cell, x, targets)
    assert relative_error(g_b["W_in"], full["W_in"]) > 1e-6  # the option really changes the gradient
    _, g_t = gradients(cell, x, targets, method="tbptt", k1=T, truncate_recurrent=True)
    _assert_grads_close(g_t, g_b, 1e-10)


def test_tbptt_batch_first_equals_time_major(rng):
    tm, bf = _cell("lstm"), _cell("lstm", batch_first=True)
    x = rng.standard_normal((T, B, I))
    targets = _targets("squared_error", rng)
    mask = rng.random((T, B)) < 0.6
    v1, g1 = gradients(tm, x, targets, mask=mask, method="tbptt", k1=3, k2=5)
    v2, g2 = gradients(
        bf,
        x.transpose(1, 0, 2).copy(),
        targets.transpose(1, 0, 2).copy(),
        mask=mask.T,
        method="tbptt",
        k1=3,
        k2=5,
    )
    assert v1 == pytest.approx(v2, rel=1e-13)
    for key in g1:
        assert relative_error(g1[key], g2[key]) <= 1e-12
    assert relative_error(g1.inputs, g2.inputs.transpose(1, 0, 2)) <= 1e-12


# -- (G2) tbptt against an independent torch reference ----------------------------------------------
def _mirror(cell):
    module_type = torch.nn.RNN if isinstance(cell, RNN) else torch.nn.LSTM
    module = module_type(I, H, dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(cell.params[name]))
    return module


def _torch_tbptt(cell, x, targets, mask, state, k1, k2):
    """Explicit chunking: for each chunk, rerun its window from the detached state, inject its errors."""
    module = _mirror(cell)
    lstm = isinstance(cell, LSTM)
    xt = torch.tensor(x, requires_grad=True)
    init = tuple(torch.tensor(s, requires_grad=True) for s in _leaves(state))
    m = torch.tensor(mask)[..., None].double()
    n = m.expand(T, B, H).sum()

    def loss_of(outputs):  # mse over selected elements, the whole sequence
        return (((outputs - torch.tensor(targets)) ** 2) * m).sum() / n

    with torch.no_grad():  # the state entering every time step, and the full outputs
        states, outs, st = [], [], init if lstm else init[0]
        for t in range(T):
            states.append(st)
            o, st = module(xt[t : t + 1], st)
            outs.append(o[0])
        full = torch.stack(outs)
    total, prev = 0.0, 0
    for end in list(range(k1, T, k1)) + [T]:
        start = max(0, end - k2)
        if start == 0:
            st = init if lstm else init[0]
        else:
            st = tuple(s.detach() for s in states[start]) if lstm else states[start].detach()
        window, _ = module(xt[start:end], st)
        outputs = torch.cat([full[:prev], window[prev - start :], full[end:]])  # only the chunk is live
        chunk_loss = loss_of(outputs)
        chunk_loss.backward()
        total += chunk_loss.item()
        prev = end
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    return grads, xt.grad.numpy(), [s.grad.numpy() for s in init], loss_of(full).item()


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("k1, k2", [(1, 1), (3, 3), (4, 4), (2, 5), (3, 4), (4, 9), (5, 12)])
def test_tbptt_matches_explicit_chunking_in_torch(rng, kind, k1, k2):
    cell = _cell(kind)
    x = rng.standard_normal((T, B, I))
    targets = rng.standard_normal((T, B, H))
    mask = rng.random((T, B)) < 0.7
    state = _state(cell, rng)
    value, grads = gradients(
        cell, x, targets, loss="mse", mask=mask, state=state, method="tbptt", k1=k1, k2=k2
    )
    ref, ref_x, ref_state, ref_value = _torch_tbptt(cell, x, targets, mask, state, k1, k2)
    assert value == pytest.approx(ref_value, rel=1e-12)
    for key in cell.params:
        assert relative_error(grads[key], ref[key]) <= 1e-10, key
    assert relative_error(grads.inputs, ref_x) <= 1e-10
    for ours, theirs in zip(_leaves(grads.initial_state), ref_state, strict=True):
        assert relative_error(ours, theirs) <= 1e-10


def test_short_windows_really_truncate(rng):
    cell = _cell("rnn")
    x = rng.standard_normal((T, B, I))
    targets = rng.standard_normal((T, B, H))
    _, g_b = gradients(cell, x, targets)
    _, g_t = gradients(cell, x, targets, method="tbptt", k1=2, k2=2)
    gap = relative_error(g_t["weight_hh_l0"], g_b["weight_hh_l0"])
    assert gap > 1e-3
    # by how much (float64, the rng fixture's data; 1e-9 relative): windows of another length would differ
    assert gap == pytest.approx(0.3557203455976588, rel=1e-9)


# -- validation ---------------------------------------------------------------------------------------
def test_bad_options(rng):
    cell = _cell("rnn")
    x = rng.standard_normal((T, B, I))
    targets = rng.standard_normal((T, B, H))
    with pytest.raises(
        OptionError,
        match=r"gradients\(method\): expected one of 'bptt', 'tbptt', 'rtrl', 'truncated1997', got 'newton'",
    ):
        gradients(cell, x, targets, method="newton")
    with pytest.raises(OptionError, match=r"k2 >= k1 = 4"):
        gradients(cell, x, targets, method="tbptt", k1=4, k2=2)
    with pytest.raises(OptionError, match=r"k1 applies to method 'tbptt'"):
        gradients(cell, x, targets, k1=3)
    with pytest.raises(OptionError, match=r"Pass k1"):
        gradients(cell, x, targets, method="tbptt")
    with pytest.raises(OptionError, match=r"one of 'squared_error'"):
        gradients(cell, x, targets, loss="l2")
    with pytest.raises(OptionError, match=r"unknown \['beta'\]"):
        gradients(cell, x, targets, loss="mse", beta=1.0)
    with pytest.raises(ShapeError, match=r"mse\(targets\)"):
        gradients(cell, x, targets[:, :, :2], loss="mse")
    with pytest.raises(ShapeError, match=r"gradients\(x\)"):
        gradients(cell, x[:, :, :2], targets)
    with pytest.raises(
        UnsupportedError, match=r"truncate_recurrent=True.*LSTM1997, LSTMForget and LSTMPeephole"
    ):
        gradients(cell, x, targets, truncate_recurrent=True)
    with pytest.raises(UnsupportedError, match=r"bidirectional"):
        gradients(RNN(I, H, bidirectional=True), x, rng.standard_normal((T, B, 2 * H)), method="tbptt", k1=2)
    with pytest.raises(DTypeError, match=r"a yetztml cell"):
        gradients(object(), x, targets)


def test_custom_loss_callable(rng):
    cell = _cell("rnn")
    x = rng.standard_normal((T, B, I))

    def total_output(outputs, targets, mask=None):
        return float(np.sum(outputs)), np.ones_like(outputs)

    value, grads = gradients(cell, x, None, loss=total_output)
    trace = cell.forward(x)
    assert value == float(np.sum(trace.outputs))
    direct = cell.backward(trace, np.ones_like(trace.outputs))
    _assert_grads_close(grads, direct, 0.0)
