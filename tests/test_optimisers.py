"""Optimisers against torch.optim over many steps, state round trips, and validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from yetztml.core.errors import CheckpointError, DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.learning.optimisers import SGD, Adam

torch.set_num_threads(1)

SHAPES = {"W": (3, 4), "b": (3,)}


def _params(rng):
    return {k: rng.standard_normal(s) for k, s in SHAPES.items()}


def _grad_sequence(rng, n):
    return [{k: rng.standard_normal(s) for k, s in SHAPES.items()} for _ in range(n)]


def _run_pair(ours, theirs, params, tparams, grads, lr_change=None):
    for i, g in enumerate(grads):
        if lr_change is not None and i == lr_change[0]:
            ours.lr = lr_change[1]
            for group in theirs.param_groups:
                group["lr"] = lr_change[1]
        ours.step(g)
        for k, p in tparams.items():
            p.grad = torch.tensor(g[k])
        theirs.step()
    return max(float(np.max(np.abs(params[k] - tparams[k].detach().numpy()))) for k in params)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_torch_over_100_steps(rng, weight_decay):
    params = _params(rng)
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours = Adam(params, lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=weight_decay)
    theirs = torch.optim.Adam(
        list(tparams.values()), lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=weight_decay
    )
    err = _run_pair(ours, theirs, params, tparams, _grad_sequence(rng, 100), lr_change=(60, 0.003))
    assert err <= 1e-6
    assert err <= 1e-12  # same arithmetic in float64: far closer than required


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_torch(rng, momentum, nesterov):
    params = _params(rng)
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours = SGD(params, lr=0.05, momentum=momentum, nesterov=nesterov)
    theirs = torch.optim.SGD(list(tparams.values()), lr=0.05, momentum=momentum, nesterov=nesterov)
    err = _run_pair(ours, theirs, params, tparams, _grad_sequence(rng, 100), lr_change=(30, 0.01))
    assert err <= 1e-12


def test_plain_sgd_is_one_formula(rng):
    params = _params(rng)
    before = {k: v.copy() for k, v in params.items()}
    g = _grad_sequence(rng, 1)[0]
    SGD(params, lr=0.25).step(g)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k] - 0.25 * g[k])


@pytest.mark.parametrize("make", [lambda p: Adam(p, lr=0.01), lambda p: SGD(p, lr=0.1, momentum=0.5)])
def test_state_dict_round_trip_continues_bit_identically(rng, make):
    grads = _grad_sequence(rng, 40)
    start = _params(rng)
    full = {k: v.copy() for k, v in start.items()}
    uninterrupted = make(full)
    for g in grads:
        uninterrupted.step(g)
    first_half = {k: v.copy() for k, v in start.items()}
    first = make(first_half)
    for g in grads[:20]:
        first.step(g)
    saved = first.state_dict()
    saved_params = {k: v.copy() for k, v in first_half.items()}
    first.step(grads[20])  # must not leak into the saved copy
    resumed = {k: v.copy() for k, v in saved_params.items()}
    second = make(resumed)
    second.load_state_dict(saved)
    for g in grads[20:]:
        second.step(g)
    for k in full:
        np.testing.assert_array_equal(resumed[k], full[k])
    assert second.steps == 40


def test_optimiser_follows_replaced_arrays(rng):
    params = _params(rng)
    opt = SGD(params, lr=1.0)
    params["W"] = np.zeros(SHAPES["W"])
    opt.step({k: np.ones(s) for k, s in SHAPES.items()})
    np.testing.assert_array_equal(params["W"], -np.ones(SHAPES["W"]))


def test_float32_parameters_stay_float32(rng):
    params = {k: v.astype(np.float32) for k, v in _params(rng).items()}
    opt = Adam(params, lr=0.01)
    opt.step(_grad_sequence(rng, 1)[0])
    assert all(p.dtype == np.float32 for p in params.values())


def test_validation(rng):
    params = _params(rng)
    with pytest.raises(OptionError, match=r"SGD\(lr\): expected a number >= 0"):
        SGD(params, lr=-0.1)
    opt = Adam(params)
    with pytest.raises(OptionError, match=r"Adam\(lr\)"):
        opt.lr = -1.0
    with pytest.raises(OptionError, match=r"unknown \['V'\]"):
        opt.step({**_grad_sequence(rng, 1)[0], "V": np.zeros(2)})
    with pytest.raises(OptionError, match=r"missing \['b'\]"):
        opt.step({"W": np.zeros(SHAPES["W"])})
    with pytest.raises(ShapeError, match=r"Adam.step\(grads\)\['b'\]: expected shape \(3,\)"):
        opt.step({"W": np.zeros(SHAPES["W"]), "b": np.zeros(4)})
    with pytest.raises(NonFiniteError, match=r"\['W'\]"):
        opt.step({"W": np.full(SHAPES["W"], np.nan), "b": np.zeros(3)})
    with pytest.raises(OptionError, match=r"momentum > 0"):
        SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(OptionError, match=r"Adam\(betas"):
        Adam(params, betas=(0.9, 1.0))
    with pytest.raises(DTypeError, match=r"non-empty dict"):
        SGD([], lr=0.1)
    with pytest.raises(CheckpointError, match=r"the state of a 'SGD'"):
        Adam(params).load_state_dict(SGD(params, lr=0.1).state_dict())
    state = Adam(params).state_dict()
    state["buffers"]["m"] = {"W": np.zeros((2, 2)), "b": np.zeros(3)}
    with pytest.raises(CheckpointError, match=r"shape \(3, 4\)"):
        Adam(params).load_state_dict(state)
    assert opt.steps == 0  # rejected steps change nothing


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_compiled_adam_rounds_like_the_numpy_expressions(dtype, weight_decay):
    """The compiled (O4)–(O6) equals, bit for bit, the NumPy expressions its docstring names (float32 in float32)."""
    rng = np.random.default_rng(7)
    p = {"w": rng.standard_normal((5, 7)).astype(dtype)}
    ref = p["w"].copy()
    m, v = np.zeros_like(ref), np.zeros_like(ref)
    opt = Adam(p, lr=0.003, betas=(0.85, 0.995), eps=1e-7, weight_decay=weight_decay)
    for n in range(1, 6):
        g = rng.standard_normal(ref.shape).astype(dtype)
        opt.step({"w": g})
        gd = g + weight_decay * ref if weight_decay else g
        m *= 0.85
        m += (1.0 - 0.85) * gd
        v *= 0.995
        v += (1.0 - 0.995) * gd * gd
        step, sqrt_bc2, eps = dtype(0.003 / (1.0 - 0.85**n)), dtype(np.sqrt(1.0 - 0.995**n)), dtype(1e-7)
        ref -= step * (m / (np.sqrt(v) / sqrt_bc2 + eps))  # every scalar in the dtype
        np.testing.assert_array_equal(p["w"], ref)
        np.testing.assert_array_equal(opt.m["w"], m)
        np.testing.assert_array_equal(opt.v["w"], v)


@pytest.mark.parametrize("make", [
    lambda p: Adam(p, lr=0.01, weight_decay=0.1),
    lambda p: SGD(p, lr=0.1, momentum=0.9),
])
def test_restore_undoes_the_updates_since_keep(make):
    """step(keep=k) then more updates, then restore(k): parameters, buffers, counter and rate as before."""
    rng = np.random.default_rng(3)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(3).astype(np.float32)}
    opt = make(params)
    grads = lambda: {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in params.items()}  # noqa: E731
    opt.step(grads())
    before = {k: v.copy() for k, v in params.items()}
    state = opt.state_dict()
    keep: dict = {}
    assert opt.step(grads(), keep=keep) == []
    opt.lr = 0.5
    opt.step(grads(), checked=True)
    assert not np.array_equal(params["W"], before["W"])
    opt.restore(keep)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    after = opt.state_dict()
    assert (after["steps"], after["hyper"]) == (state["steps"], state["hyper"]) == (1, after["hyper"])
    for name, buf in state["buffers"].items():
        for k, v in buf.items():
            np.testing.assert_array_equal(after["buffers"][name][k], v)


def test_restore_of_a_first_momentum_step_removes_its_buffer():
    params = {"w": np.ones(3)}
    opt = SGD(params, lr=0.1, momentum=0.9)
    keep: dict = {}
    opt.step({"w": np.ones(3)}, keep=keep)
    assert set(opt.buffer) == {"w"}
    opt.restore(keep)
    assert opt.buffer == {} and opt.steps == 0
    np.testing.assert_array_equal(params["w"], np.ones(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_names_the_parameters_that_overflowed(dtype):
    """Adam's compiled pass reports a non-finite result per parameter (x − x ≠ 0), SGD's check too."""
    big = np.finfo(dtype).max
    params = {"a": np.array([0.99 * big, 1.0], dtype=dtype), "b": np.array([1.0, -1.0], dtype=dtype)}
    opt = Adam(params, lr=float(big) / 20)  # first step: lr / (1 − β₁) · m/√(v/(1 − β₂)) = 0.05 big onto 0.99 big
    assert opt.step({"a": np.array([-1.0, 0.0], dtype=dtype), "b": np.zeros(2, dtype=dtype)}) == ["a"]
    assert np.isinf(params["a"][0]) and params["a"][1] == 1.0
    sgd = SGD({"c": np.array([big], dtype=dtype)}, lr=float(big))
    assert sgd.step({"c": np.array([-1.0], dtype=dtype)}) == ["c"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_without_eps_on_a_zero_gradient_reports_the_nan_it_makes(dtype):
    """eps = 0 and a weight whose gradient has always been 0: m/√v is 0/0. The compiled pass has no
    zero-division check (so that it vectorises): the weight becomes NaN and ``step`` names it, as the
    overflow above, where a checked division would raise ZeroDivisionError from inside the kernel."""
    params = {"w": np.array([0.5, 2.0], dtype=dtype)}
    opt = Adam(params, lr=0.1, eps=0.0)
    assert opt.step({"w": np.array([0.0, 1.0], dtype=dtype)}) == ["w"]
    assert np.isnan(params["w"][0])
    assert params["w"][1] == dtype(2.0) - dtype(0.1)  # m̂/√v̂ = 1 exactly for the other weight
