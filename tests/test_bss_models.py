"""Closed-loop models of the feedback-modulation demonstration: hand-derived backward proven twice.

1. float64 central finite differences for every parameter, the inputs and the initial state
   (``check_cell``), and for the extra paths ``check_cell`` does not exercise (δu, frozen feedback);
2. agreement with PyTorch autograd on an independent implementation of each model written here from the
   spec's pseudocode (torch.nn.LSTMCell stepped inside the loop), outputs, final state and all gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from uncompiled import assert_uncompiled_equal
from yetztml.cells.closed_loop import TANH_CLAMP, Workspace, fast_tanh
from yetztml.cells.dale import DaleRateNet
from yetztml.cells.gradcheck import check_cell
from yetztml.cells.modulation import ModulationNet
from yetztml.cells.spatial import SpatialNet, modulation_kernel
from yetztml.core.errors import DTypeError, OptionError, ShapeError
from yetztml.core.gradcheck import numerical_gradient, relative_error

torch.set_num_threads(1)

T, B = 6, 3

CONFIGS = [
    (ModulationNet, dict(hidden_size=5)),
    (ModulationNet, dict(hidden_size=4, mode="additive", tau=3.0, lstm_input="x")),
    (ModulationNet, dict(hidden_size=4, tau=2.0, lstm_input="y")),
    (SpatialNet, dict(hidden_size=5, n_units=6, n_feedback=2, tau=2.0)),
    (SpatialNet, dict(hidden_size=4, n_units=6, n_feedback=3, kernel="box", learn_wx=True, learn_ro=True,
                      tau=1.0, lstm_input="x")),
    (SpatialNet, dict(hidden_size=4, n_units=5, n_feedback=2, kernel="uniform", tau=4.0, lstm_input="y")),
    (DaleRateNet, dict(hidden_size=5, n_lower=4, n_higher=6, n_inhibitory=3, n_feedback=2, tau=3.0,
                       learn_wx=True, learn_hl=True, learn_ro=True)),
    (DaleRateNet, dict(hidden_size=4, n_lower=4, n_higher=6, n_inhibitory=3, n_feedback=2, tau=2.0,
                       target="excitation", lstm_input="x", learn_ro=True)),
    (DaleRateNet, dict(hidden_size=4, n_lower=5, n_higher=6, n_inhibitory=2, n_feedback=3, tau=1.0,
                       target="inhibition", kernel="box", lstm_input="y", learn_wx=True, learn_hl=True)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONFIGS)]


def random_state(net, rng):
    """A random, well-conditioned initial state (Dale: release probabilities in (0.2, 0.8))."""
    state = net.zero_state(B)
    leaves = [0.5 * rng.standard_normal(a.shape) for a in state]
    state = type(state)(*leaves)
    if isinstance(net, DaleRateNet):
        state = state._replace(p=rng.uniform(0.2, 0.8, state.p.shape))
    return state


def build(cls, kw, seed=1):
    return cls(seed=seed, dtype=np.float64, **kw)


@pytest.mark.parametrize(("cls", "kw"), CONFIGS, ids=IDS)
def test_finite_differences_every_parameter(cls, kw, rng):
    net = build(cls, kw)
    x = rng.standard_normal((T, B, 2))
    with np.errstate(all="raise"):
        errors = check_cell(net, x, rng, state=random_state(net, rng))
    assert set(net.params) | {"inputs", "initial_state"} == set(errors)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize(("cls", "kw"), [CONFIGS[0], CONFIGS[3], CONFIGS[6]], ids=[IDS[0], IDS[3], IDS[6]])
def test_finite_differences_through_u_and_frozen_feedback(cls, kw, rng):
    """δu (the Dale L1 penalty's path) and steps with the feedback frozen, both against central differences."""
    net = build(cls, kw)
    x = rng.standard_normal((T, B, 2))
    state = random_state(net, rng)
    freeze = np.array([False, True, True, False, True, False])
    trace = net.forward(x, state, freeze=freeze)
    d_y = rng.standard_normal(trace.outputs.shape)
    d_u = rng.standard_normal(trace.extras["u"].shape)
    d_fin = type(state)(*[rng.standard_normal(a.shape) for a in trace.final_state])

    def loss() -> float:
        tr = net.forward(x, state, freeze=freeze)
        total = float(np.sum(d_y * tr.outputs) + np.sum(d_u * tr.extras["u"]))
        return total + sum(float(np.sum(d * a)) for d, a in zip(d_fin, tr.final_state, strict=True))

    grads = net.backward(trace, d_y, d_fin, d_u=d_u)
    for name, value in net.params.items():
        assert relative_error(grads[name], numerical_gradient(loss, value)) < 1e-6, name
    assert relative_error(grads.inputs, numerical_gradient(loss, x)) < 1e-6
    for i, leaf in enumerate(state):
        assert relative_error(grads.initial_state[i], numerical_gradient(loss, leaf)) < 1e-6, i


# -- PyTorch references, written from the spec's pseudocode ------------------------------------------------


def _lstm(net, params):
    cell = torch.nn.LSTMCell(net.lstm_input_size, net.hidden_size, dtype=torch.float64)
    lin = torch.nn.Linear(net.hidden_size, net.n_feedback, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(params[name]))
        lin.weight.copy_(torch.from_numpy(params["weight_out"]))
        lin.bias.copy_(torch.from_numpy(params["bias_out"]))
    named = {"weight_ih": cell.weight_ih, "weight_hh": cell.weight_hh, "bias_ih": cell.bias_ih,
             "bias_hh": cell.bias_hh, "weight_out": lin.weight, "bias_out": lin.bias}
    return cell, lin, named


def _lstm_input(mode, x, y):
    return {"xy": torch.cat([x, y], dim=1), "x": x, "y": y}[mode]


def torch_run(net, x, state, freeze):
    """Outputs, u and final state of ``net`` computed by torch, plus the leaves to differentiate."""
    cell, lin, named = _lstm(net, net.params)
    leaves = dict(named)
    for name in net.params:
        if name not in leaves:
            leaves[name] = torch.tensor(net.params[name], requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    init = [torch.tensor(a, requires_grad=True) for a in state]
    fixed = {k: torch.from_numpy(v) for k, v in net.fixed.items()}
    get = lambda name: leaves[name] if name in leaves else fixed[name]
    h, c = init[0], init[1]
    ys, us = [], []
    if isinstance(net, ModulationNet):
        W = init[2]
        W0 = fixed["W0"]
        for t in range(x.shape[0]):
            y = torch.einsum("bij,bj->bi", W, xt[t])  # y_t = W_{t−1} x_t
            h, c = cell(_lstm_input(net.lstm_input, xt[t], y), (h, c))
            u = lin(h)
            U = u.reshape(-1, net.n_sources, net.n_sources)  # row-major
            target = W0 * U if net.mode == "multiplicative" else W0 + U
            W = W if freeze[t] else W + (target - W) / net.tau
            ys.append(y)
            us.append(u)
        final = (h, c, W)
    elif isinstance(net, SpatialNet):
        M = init[2]
        for t in range(x.shape[0]):
            z = M * (xt[t] @ get("W_x").T)
            y = z @ get("W_ro").T
            h, c = cell(_lstm_input(net.lstm_input, xt[t], y), (h, c))
            u = lin(h)
            M = M if freeze[t] else M + (u @ fixed["K"].T - M) / net.tau
            ys.append(y)
            us.append(u)
        final = (h, c, M)
    else:
        m, p = init[2], init[3]
        relu = torch.relu
        for t in range(x.shape[0]):
            zL = relu(xt[t] @ get("W_x").T)
            e = zL @ torch.abs(get("W_HL")).T
            inh = zL @ fixed["W_inh"].T
            if net.target == "gain":
                zH = p * relu(e - inh)
            elif net.target == "excitation":
                zH = relu(p * e - inh)
            else:
                zH = relu(e - p * inh)
            y = zH @ get("W_ro").T
            h, c = cell(_lstm_input(net.lstm_input, xt[t], y), (h, c))
            u = lin(h)
            m = m + (u - m) / net.tau
            p = p if freeze[t] else 1.0 - torch.sigmoid(m @ fixed["K"].T)
            ys.append(y)
            us.append(u)
        final = (h, c, m, p)
    return torch.stack(ys), torch.stack(us), final, leaves, xt, init


@pytest.mark.parametrize(("cls", "kw"), CONFIGS, ids=IDS)
def test_agrees_with_pytorch_autograd(cls, kw, rng):
    net = build(cls, kw, seed=3)
    x = rng.standard_normal((T, B, 2))
    state = random_state(net, rng)
    freeze = np.array([False, False, True, True, False, False])
    trace = net.forward(x, state, freeze=freeze)
    y_t, u_t, final_t, leaves, xt, init = torch_run(net, x, state, freeze)
    np.testing.assert_allclose(trace.outputs, y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trace.extras["u"], u_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(trace.final_state, final_t, strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    d_y = rng.standard_normal(trace.outputs.shape)
    d_u = rng.standard_normal(trace.extras["u"].shape)
    d_fin = [rng.standard_normal(a.shape) for a in trace.final_state]
    loss = (y_t * torch.from_numpy(d_y)).sum() + (u_t * torch.from_numpy(d_u)).sum()
    loss = loss + sum((f * torch.from_numpy(d)).sum() for f, d in zip(final_t, d_fin, strict=True))
    loss.backward()
    grads = net.backward(trace, d_y, type(trace.final_state)(*d_fin), d_u=d_u)
    for name in net.params:
        assert relative_error(grads[name], leaves[name].grad.numpy()) < 1e-10, name
    assert relative_error(grads.inputs, xt.grad.numpy()) < 1e-10
    for ours, leaf in zip(grads.initial_state, init, strict=True):
        assert relative_error(ours, leaf.grad.numpy()) < 1e-10


# -- numerics, dtypes, workspace, validation ---------------------------------------------------------------


def test_fast_tanh_error_bound():
    x = np.linspace(-30.0, 30.0, 600_001)
    approx = np.array([fast_tanh.py_func(v) for v in x[::50]])
    assert np.max(np.abs(approx - np.tanh(x[::50]))) < 4e-9
    assert fast_tanh(TANH_CLAMP + 5.0) == fast_tanh(TANH_CLAMP)
    assert fast_tanh(0.0) == 0.0


@pytest.mark.parametrize(("cls", "kw"), [CONFIGS[0], CONFIGS[3], CONFIGS[6]], ids=[IDS[0], IDS[3], IDS[6]])
def test_fast_tanh_model_matches_exact(cls, kw, rng):
    x = rng.standard_normal((40, B, 2))
    exact = build(cls, kw)
    fast = cls(seed=1, dtype=np.float64, fast_tanh=True, **kw)
    tr_e, tr_f = exact.forward(x), fast.forward(x)
    assert np.max(np.abs(tr_e.outputs - tr_f.outputs)) < 1e-7
    d = rng.standard_normal(tr_e.outputs.shape)
    g_e, g_f = exact.backward(tr_e, d), fast.backward(tr_f, d)
    assert max(relative_error(g_e[k], g_f[k]) for k in exact.params) < 1e-6


def test_float32_matches_float64(rng):
    x = rng.standard_normal((50, 3, 2))
    net64 = SpatialNet(hidden_size=8, n_units=10, n_feedback=2, tau=5.0, seed=2)
    net32 = net64.astype(np.float32)
    assert all(v.dtype == np.float32 for v in net32.fixed.values())
    assert all(v.dtype == np.float64 for v in net64.fixed.values())
    tr64, tr32 = net64.forward(x), net32.forward(x.astype(np.float32))
    assert tr32.outputs.dtype == np.float32
    np.testing.assert_allclose(tr32.outputs, tr64.outputs, atol=1e-5)
    d = rng.standard_normal(tr64.outputs.shape)
    g64, g32 = net64.backward(tr64, d), net32.backward(tr32, d.astype(np.float32))
    assert all(g32[k].dtype == np.float32 for k in net32.params)
    assert max(relative_error(g64[k], g32[k]) for k in net64.params) < 1e-4


def test_workspace_reuse_gives_identical_results(rng):
    net = DaleRateNet(hidden_size=6, n_lower=5, n_higher=8, n_inhibitory=3, n_feedback=2, learn_ro=True, seed=0)
    ws = Workspace()
    x1, x2 = rng.standard_normal((20, B, 2)), rng.standard_normal((20, B, 2))
    d = rng.standard_normal((20, B, 2))
    fresh = net.backward(net.forward(x2), d)
    net.backward(net.forward(x1, workspace=ws), d)
    reused = net.backward(net.forward(x2, workspace=ws), d)
    for k in net.params:
        np.testing.assert_array_equal(fresh[k], reused[k])
    assert ws.nbytes > 0


def test_modulation_tau1_multiplicative_is_w0_times_readout(rng):
    """With τ = 1, W_t = W_0 ⊙ U_t (the Fig. 1 model) and y_t = W_{t−1} x_t, W_{−1} = 0."""
    net = ModulationNet(hidden_size=5, seed=0)
    x = rng.standard_normal((5, B, 2))
    tr = net.forward(x)
    U = tr.extras["u"].reshape(5, B, 2, 2)
    np.testing.assert_allclose(tr.extras["W"][1:], net.fixed["W0"] * U, rtol=1e-12)
    np.testing.assert_array_equal(tr.outputs[0], 0.0)
    np.testing.assert_allclose(tr.outputs[1], np.einsum("bij,bj->bi", tr.extras["W"][1], x[1]), rtol=1e-12)


def test_parameter_counts_and_torch_names():
    net = ModulationNet()
    assert net.num_weights == 42_804  # [M]: 4·100·(4+100) + 800 biases + readout 404
    spatial = SpatialNet()
    assert spatial.num_weights == 4 * 100 * 104 + 800 + 4 * 100 + 4
    assert net.torch_names["weight_hh"] == "rec_net.weight_hh_l0"
    assert net.torch_names["weight_out"] == "hidden2out.weight"
    dale = DaleRateNet(learn_ro=True)
    assert dale.torch_names["W_ro"] == "Wro"
    assert dale.fixed["W_inh"].shape == (100, 40)
    # (DF2)'s feedforward inhibition is the product W^HI W^IL of two positive draws (20 inhibitory units), and
    # seed 0's draw sums to this (float64 BLAS product of 100 × 20 by 20 × 40: 1e-9 relative)
    W_inh, W_HI, W_IL = dale.fixed["W_inh"], dale.fixed["W_HI"], dale.fixed["W_IL"]
    assert (W_HI.shape, W_IL.shape) == ((100, 20), (20, 40))
    np.testing.assert_allclose(W_inh, W_HI @ W_IL, rtol=1e-12)
    assert W_HI.min() >= 0.0 and W_IL.min() >= 0.0
    assert W_inh.sum() == pytest.approx(952.1180566942434, rel=1e-9)


def test_kernels():
    K = modulation_kernel("von_mises", 100, 4, 0.2)
    np.testing.assert_allclose(K.max(axis=0), 1.0)
    assert np.argmax(K[:, 1]) == 25  # feedback signal j peaks at unit Z·j/U
    box = modulation_kernel("box", 100, 4)
    assert box.sum() == 100 and np.all(box.sum(axis=1) == 1)
    assert np.all(modulation_kernel("uniform", 10, 3) == 1)


@pytest.mark.parametrize(
    ("build_bad", "error"),
    [
        (lambda: ModulationNet(tau=0.0), OptionError),
        (lambda: ModulationNet(tau=-2.0), OptionError),
        (lambda: SpatialNet(tau=0.5), OptionError),
        (lambda: ModulationNet(lstm_input="z"), OptionError),
        (lambda: ModulationNet(mode="divisive"), OptionError),
        (lambda: SpatialNet(kernel="gauss"), OptionError),
        (lambda: DaleRateNet(target="both"), OptionError),
        (lambda: ModulationNet(hidden_size=0), OptionError),
        (lambda: ModulationNet(fast_tanh="yes"), DTypeError),
    ],
)
def test_constructor_errors(build_bad, error):
    with pytest.raises(error):
        build_bad()


def test_forward_and_backward_errors(rng):
    net = ModulationNet(hidden_size=4, seed=0)
    with pytest.raises(ShapeError):
        net.forward(rng.standard_normal((5, 2, 3)))
    with pytest.raises(DTypeError):
        net.forward(rng.standard_normal((5, 2, 2)).astype(np.float32))
    with pytest.raises(ShapeError):
        net.forward(rng.standard_normal((5, 2, 2)), freeze=np.zeros(4, dtype=bool))
    with pytest.raises(DTypeError):
        net.forward(rng.standard_normal((5, 2, 2)), freeze=np.zeros(5))
    with pytest.raises(ShapeError):
        net.forward(rng.standard_normal((5, 2, 2)), state=(np.zeros((2, 4)), np.zeros((2, 4))))
    trace = net.forward(rng.standard_normal((5, 2, 2)))
    with pytest.raises(ShapeError):
        net.backward(trace, np.zeros((5, 2, 3)))
    with pytest.raises(ShapeError):
        net.backward(trace, np.zeros((5, 2, 2)), d_u=np.zeros((5, 2, 3)))
    other = ModulationNet(hidden_size=4, seed=1)
    with pytest.raises(OptionError):
        other.backward(trace, np.zeros((5, 2, 2)))


@pytest.mark.parametrize(("cls", "kw"), [CONFIGS[1], CONFIGS[4], CONFIGS[6]], ids=[IDS[1], IDS[4], IDS[6]])
def test_batch_split_over_threads_matches_one_thread(cls, kw, rng):
    """Trials are independent until their gradients are summed: 2 threads give the 1-thread results."""
    net = build(cls, kw)
    x = rng.standard_normal((T, 5, 2))
    state = net.zero_state(5)
    d_y = rng.standard_normal((T, 5, 2))
    d_u = rng.standard_normal((T, 5, net.n_feedback))
    one = net.forward(x, state)
    two = net.forward(x, state, workspace=Workspace(), threads=2)
    np.testing.assert_array_equal(one.outputs, two.outputs)
    for a, b in zip(one.final_state, two.final_state, strict=True):
        np.testing.assert_array_equal(a, b)
    for key in cls.PUBLIC_EXTRAS:
        np.testing.assert_array_equal(one.extras[key], two.extras[key])
    g1, g2 = net.backward(one, d_y, d_u=d_u), net.backward(two, d_y, d_u=d_u)
    for k in net.params:
        assert relative_error(g1[k], g2[k]) < 1e-13, k
    # δx and δ(initial state) are per trial, but each thread multiplies its own rows by the weights: BLAS
    # picks its kernel by the number of rows, so the last bit may differ (OpenBLAS in NumPy 2.4 does).
    assert relative_error(g1.inputs, g2.inputs) < 1e-13
    for a, b in zip(g1.initial_state, g2.initial_state, strict=True):
        assert relative_error(a, b) < 1e-13


UNCOMPILED = r'''
import sys
import types

import numba
import numpy as np

from yetztml.cells import modulated_linear
from yetztml.cells.dale import DaleRateNet
from yetztml.cells.modulation import ModulationNet
from yetztml.cells.spatial import SpatialNet


def models():
    yield "mod", ModulationNet(hidden_size=4, tau=2.0, seed=1)
    yield "mod_fast", ModulationNet(hidden_size=4, mode="additive", lstm_input="y", fast_tanh=True, seed=2)
    yield "spatial", SpatialNet(hidden_size=4, n_units=6, n_feedback=2, tau=3.0, learn_ro=True, seed=3)
    yield "dale", DaleRateNet(hidden_size=4, n_lower=3, n_higher=5, n_inhibitory=2, n_feedback=2, tau=2.0,
                              learn_wx=True, learn_hl=True, learn_ro=True, fast_tanh=True, seed=4)


def run():
    out = {"jit_disabled": np.array(bool(numba.config.DISABLE_JIT)),
           "kernel_is_python": np.array(isinstance(modulated_linear.gain_loop_forward, types.FunctionType))}
    for name, net in models():
        rng = np.random.default_rng(0)
        x = rng.standard_normal((5, 2, 2))
        freeze = np.array([False, True, False, False, True])
        trace = net.forward(x, freeze=freeze)
        d_out = rng.standard_normal(trace.outputs.shape)
        d_u = rng.standard_normal(trace.extras["u"].shape)
        grads = net.backward(trace, d_out, d_u=d_u)
        out[f"{name}/outputs"] = trace.outputs
        for i, leaf in enumerate(trace.final_state):
            out[f"{name}/final{i}"] = leaf
        for key, value in grads.items():
            out[f"{name}/d_{key}"] = value
        out[f"{name}/d_inputs"] = grads.inputs
        for i, leaf in enumerate(grads.initial_state):
            out[f"{name}/d_initial{i}"] = leaf
    return out


if __name__ == "__main__":
    np.savez(sys.argv[1], **run())
'''


def test_compiled_kernels_equal_their_python_source(tmp_path):
    """The kernels run as plain Python with NUMBA_DISABLE_JIT=1 and give the compiled results."""
    assert_uncompiled_equal(UNCOMPILED, tmp_path, min_keys=40)
