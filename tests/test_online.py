"""Weight updates at every time step (update="step"): a hand-computed example, equivalences, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.cells.base import state_leaves
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.cells.rnn import RNN
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError, UnsupportedError
from yetztml.learning import SGD, Adam, Trainer, decay_per_step, gradients, online_sgd
from yetztml.learning.losses import mse, smooth_l1
from yetztml.learning.schedules import DecayPerStep


def _trainer(cell, items, lr, **options):
    options.setdefault("method", "truncated1997")
    return Trainer(cell, list(items), optimiser=SGD(cell.params, lr=lr), update="step", progress=False, **options)


def _params(cell):
    return {k: v.copy() for k, v in cell.params.items()}


# -- the paper's update equations, by hand, for one memory cell and two time steps ---------------------
def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _hand(p, x, target, mask, alpha):
    """Weights after step 1 and after step 2 of the 1997 online rule, written out from App. A.1.

    One block of one cell, connectivity "F" (u(t) = [x(t), y^c(t−1), y^in(t−1), y^out(t−1)]), biases on
    every unit, logistic output, the squared error E(t) = (t^k − y^k)² [eq. 16] at the steps in ``mask``.
    """
    w = {k: v.astype(np.float64).ravel().copy() for k, v in p.items()}
    y_c = y_in = y_out = s = 0.0  # activations reset to 0 [1997 §5]
    ds_in = np.zeros(5)  # ∂s/∂w_{in m}, m = the four sources and the bias
    ds_c = np.zeros(5)  # ∂s/∂w_{c m}
    after = []
    for t in range(2):
        y_m = np.array([x[t], y_c, y_in, y_out, 1.0])  # y^m(t−1) and the bias unit
        net_c = w["W_c"] @ y_m[:4] + w["b_c"][0]
        g = 4.0 * _sig(net_c) - 2.0  # [eq. 5]
        g_prime = 4.0 * _sig(net_c) * (1.0 - _sig(net_c))
        y_in = _sig(w["W_in"] @ y_m[:4] + w["b_in"][0])  # [eq. 7]
        f_in_prime = y_in * (1.0 - y_in)
        s = s + y_in * g  # [eq. 9], the CEC
        y_out = _sig(w["W_out"] @ y_m[:4] + w["b_out"][0])  # [eq. 8]
        f_out_prime = y_out * (1.0 - y_out)
        h = 2.0 * _sig(s) - 1.0  # [eq. 4]
        h_prime = 2.0 * _sig(s) * (1.0 - _sig(s))
        y_c = y_out * h  # [eq. 9]
        y_k = _sig(w["W_k"][0] * y_c + w["b_k"][0])  # output at the same step [1997 §5 intro]
        e_k = y_k * (1.0 - y_k) * (target[t] - y_k) if mask[t] else 0.0  # [eq. 19]
        e_out = f_out_prime * h * w["W_k"][0] * e_k  # [eq. 21], with the weights before this step's change
        e_s = y_out * h_prime * w["W_k"][0] * e_k  # [eq. 23]
        ds_in = ds_in + g * f_in_prime * y_m  # [eq. 25]
        ds_c = ds_c + g_prime * y_in * y_m  # [eq. 27]
        w["W_k"] = w["W_k"] + alpha * e_k * y_c  # [eq. 22], output unit fed by y^c(t)
        w["b_k"] = w["b_k"] + alpha * e_k
        w["W_out"] = w["W_out"] + alpha * e_out * y_m[:4]  # [eq. 22]
        w["b_out"] = w["b_out"] + alpha * e_out
        w["W_in"] = w["W_in"] + alpha * e_s * ds_in[:4]  # [eq. 26]
        w["b_in"] = w["b_in"] + alpha * e_s * ds_in[4]
        w["W_c"] = w["W_c"] + alpha * e_s * ds_c[:4]  # [eq. 28]
        w["b_c"] = w["b_c"] + alpha * e_s * ds_c[4]
        after.append({k: v.reshape(p[k].shape).copy() for k, v in w.items()})
    return after


@pytest.mark.parametrize("mask", [[True, True], [False, True], [True, False]])
@pytest.mark.parametrize("compiled", [True, False])
def test_two_steps_by_hand(mask, compiled):
    alpha = 0.7
    x = np.array([1.0, -0.5])
    target = np.array([0.9, 0.1])
    make = lambda: LSTM1997(1, 1, 1, 1, bias="all", init_range=0.8, seed=21)
    start = _params(make())
    want = _hand(start, x, target, mask, alpha)
    # E(t) = (t − y)² has ∂E/∂y = −2(t − y), so the paper's α e_k y^m is SGD on squared_error with lr = α/2.
    options = {} if compiled else {"clip_norm": 1e12}  # clipping that never acts takes the general path
    for steps, expected in ((1, want[0]), (2, want[1])):
        cell = make()
        item = (x[:steps, None, None], target[:steps, None, None], np.array(mask[:steps])[:, None])
        _trainer(cell, [item], alpha / 2, **options).run(1)
        for key, value in expected.items():
            np.testing.assert_allclose(cell.params[key], value, rtol=1e-12, atol=1e-15, err_msg=key)
    if any(mask):  # the weights did move
        assert max(np.max(np.abs(want[1][k] - start[k])) for k in start) > 1e-4


def test_online_sgd_is_the_same_rule():
    cell = LSTM1997(1, 1, 1, 1, bias="all", init_range=0.8, seed=21)
    want = _hand(_params(cell), [1.0, -0.5], [0.9, 0.1], [True, True], 0.7)[1]
    online_sgd(cell, np.array([1.0, -0.5])[:, None, None], np.array([0.9, 0.1])[:, None, None], lr=0.35)
    for key, value in want.items():
        np.testing.assert_allclose(cell.params[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


# -- the compiled path (T5) is the general path (T4) ------------------------------------------------------
CELLS = [
    lambda dt=np.float64: LSTM1997(2, 2, 2, 1, init_range=0.5, seed=3, dtype=dt),
    lambda dt=np.float64: LSTMForget(2, 2, 2, 2, recurrent="cells", shortcut=True, init_range=0.5, seed=3, dtype=dt),
    lambda dt=np.float64: LSTMPeephole(2, 1, 2, 1, h="h1997", init_range=0.5, seed=3, dtype=dt),
]


def _items(cell, count, T=9, B=3, seed=0, end_only=False):
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(count):
        x = rng.standard_normal((T, B, cell.input_size)).astype(cell.dtype)
        targets = rng.random((T, B, cell.output_size)).astype(cell.dtype)
        mask = rng.random((T, B)) < 0.5
        if end_only:
            mask[...] = False
            mask[-1] = True
        targets[~mask] = np.nan  # never read
        items.append((x, targets, mask))
    return items


@pytest.mark.parametrize("make", CELLS)
@pytest.mark.parametrize("schedule", [None, decay_per_step(0.9), decay_per_step(0.95, reset_per_sequence=False)])
def test_compiled_path_equals_general_path(make, schedule):
    runs = []
    for options in ({}, {"clip_value": 1e12}):
        cell = make()
        trainer = _trainer(cell, _items(cell, 3), 0.2, schedule=schedule, **options)
        history = trainer.run(3)
        runs.append((cell, trainer, history))
    (c1, t1, h1), (c2, t2, h2) = runs
    for key in c1.params:
        np.testing.assert_allclose(c1.params[key], c2.params[key], rtol=1e-13, atol=1e-15, err_msg=key)
    np.testing.assert_allclose(h1.losses, h2.losses, rtol=1e-13)
    assert t1.clock == t2.clock and t1.clock.updates == 3 * 3 * 9 and t1.clock.sequences == 9
    assert t1.clock.updates_in_sequence == 9 and t1.optimiser.steps == t2.optimiser.steps == 81
    assert t1.optimiser.lr == pytest.approx(t2.optimiser.lr, rel=1e-15)


def test_decay_per_step_acts_at_every_time_step():
    cell = LSTMForget(2, 2, 1, 1, init_range=0.5, seed=4)
    seen = []
    decay = DecayPerStep(0.9)

    def recording(base_lr, clock):  # a schedule the compiled path does not know: the general path runs
        seen.append(clock.updates_in_sequence)
        return decay(base_lr, clock)

    items = _items(cell, 1, T=5, B=2)
    reference = LSTMForget(2, 2, 1, 1, init_range=0.5, seed=4)
    _trainer(cell, items, 0.3, schedule=recording).run(1)
    assert seen == [0, 1, 2, 3, 4] * 2  # one update per time step, the count restarting with each sequence
    _trainer(reference, items, 0.3, schedule=decay_per_step(0.9)).run(1)  # compiled path
    for key in cell.params:
        np.testing.assert_allclose(reference.params[key], cell.params[key], rtol=1e-13, atol=1e-15)


def test_step_equals_sequence_updates_with_targets_at_the_end():
    """Errors only at the last step: per-step and per-sequence updates coincide [1997 §5, Exp 3–6]."""
    a, b = CELLS[1](), CELLS[1]()
    items = _items(a, 3, end_only=True)
    _trainer(a, items, 0.2).run(3)
    Trainer(b, list(items), optimiser=SGD(b.params, lr=0.2), method="truncated1997", update="sequence",
            progress=False).run(3)
    for key in a.params:
        np.testing.assert_allclose(a.params[key], b.params[key], rtol=1e-12, atol=1e-15, err_msg=key)


def test_per_step_updates_differ_from_per_sequence_updates():
    a, b = CELLS[0](), CELLS[0]()
    items = _items(a, 1)
    _trainer(a, items, 0.5).run(1)
    Trainer(b, list(items), optimiser=SGD(b.params, lr=0.5), method="truncated1997", update="sequence",
            progress=False).run(1)
    gap = max(np.max(np.abs(a.params[k] - b.params[k])) for k in a.params)
    assert gap > 1e-6
    # by how much, seed 3's cell on seed 0's sequence (float64, 9 steps of 2-block products: 1e-9 relative);
    # a per-step mode that used another rate, or skipped or repeated a step, would give another gap
    assert gap == pytest.approx(0.003308335548828728, rel=1e-9)


def test_online_sgd_equals_the_trainer():
    a, b = CELLS[2](), CELLS[2]()
    (x, targets, mask), = _items(a, 1)
    _trainer(a, [(x, targets, mask)], 0.2, schedule=decay_per_step(0.9)).run(1)
    online_sgd(b, x, targets, mask, lr=0.2, decay=0.9)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


# -- other losses, optimisers, methods ----------------------------------------------------------------
def test_loss_is_applied_per_step():
    """lr = 0: the step mode's loss is Σ_t loss(y(t), target(t)); sum losses give the sequence loss."""
    cell = LSTMForget(2, 1, 2, 2, seed=5)
    (x, targets, mask), = _items(cell, 1, B=1)
    targets = np.nan_to_num(targets)
    smooth = _trainer(cell, [(x, targets, mask)], 0.0, loss="smooth_l1", gradient_options={"beta": 0.3}).run(1)
    value, _ = gradients(cell, x, targets, loss="smooth_l1", mask=mask, beta=0.3)
    assert smooth.losses[0] == pytest.approx(value, rel=1e-12)
    mean = _trainer(cell, [(x, targets, mask)], 0.0, loss="mse").run(1)
    outputs = cell.forward(x).outputs
    per_step = sum(mse(outputs[t : t + 1], targets[t : t + 1], mask=mask[t : t + 1])[0] for t in range(len(x)))
    assert mean.losses[0] == pytest.approx(per_step, rel=1e-12)
    assert smooth_l1(outputs, targets, beta=0.3, mask=mask)[0] == pytest.approx(value, rel=1e-12)


def test_adam_makes_one_update_per_step():
    cell = CELLS[0]()
    trainer = Trainer(cell, _items(cell, 1, T=4, B=2), optimiser=Adam(cell.params, lr=1e-3), loss="squared_error",
                      method="truncated1997", update="step", progress=False)
    trainer.run(1)
    assert trainer.optimiser.steps == 8 and trainer.clock.updates == 8


def test_online_rtrl_first_two_steps():
    """Online RTRL on an RNN: step 0's gradient is BPTT's; step 1 chains P(0) (old weights) into new ones."""
    make = lambda: RNN(2, 3, seed=6)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 1, 2))
    targets = rng.standard_normal((2, 1, 3))
    lr = 0.1
    cell = make()
    _trainer(cell, [(x, targets)], lr, method="rtrl").run(1)
    ref = make()
    w0 = _params(ref)
    _, g0 = gradients(ref, x[:1], targets[:1])
    z0 = ref.forward(x[:1]).final_state  # (1, 1, H), computed with w0
    sens = {k: np.zeros((3,) + v.shape) for k, v in w0.items()}  # P(0) = ∂z(0)/∂θ at w0
    trace = ref.forward(x[:1])
    for i in range(3):
        unit = np.zeros((1, 1, 3))
        unit[0, 0, i] = 1.0
        g = ref.backward(trace, np.zeros_like(trace.outputs), d_final_state=unit)
        for k in sens:
            sens[k][i] = g[k]
    ref.load_params({k: w0[k] - lr * g0[k] for k in w0})
    _, g1 = gradients(ref, x[1:], targets[1:], state=z0)  # direct part and ∂ℓ_1/∂z(0), weights w1
    d_z0 = state_leaves(g1.initial_state)[0].reshape(3)
    for k in w0:
        step1 = g1[k] + np.tensordot(d_z0, sens[k], axes=1)
        np.testing.assert_allclose(cell.params[k], w0[k] - lr * g0[k] - lr * step1, rtol=1e-12, atol=1e-14)


# -- refusals, validation, non-finite values ---------------------------------------------------------------
def test_methods_without_per_step_gradients_are_refused():
    cell = CELLS[0]()
    trainer = _trainer(cell, _items(cell, 1), 0.1, method="bptt")
    with pytest.raises(UnsupportedError, match="'truncated1997' or 'rtrl'"):
        trainer.run(1)
    trainer = _trainer(RNN(2, 1), [(np.zeros((3, 1, 2)), np.zeros((3, 1, 1)))], 0.1, method="truncated1997")
    with pytest.raises(UnsupportedError, match="LSTM1997, LSTMForget and LSTMPeephole"):
        trainer.run(1)


def test_method_options_are_refused():
    cell = CELLS[0]()
    trainer = _trainer(cell, _items(cell, 1), 0.1, gradient_options={"k1": 2})
    with pytest.raises(OptionError, match="k1"):
        trainer.run(1)


def test_bad_data_is_refused():
    cell = CELLS[0]()
    x = np.zeros((4, 2, 2))
    cases = [
        ((x, np.zeros((4, 2, 3))), ShapeError),
        ((x, np.zeros((3, 2, 1))), ShapeError),
        ((x, np.zeros((4, 2, 1)), np.ones((4, 2))), DTypeError),
        ((x, np.zeros((4, 2, 1)), np.ones((3, 2), bool)), ShapeError),
        ((x, np.full((4, 2, 1), np.nan)), NonFiniteError),
        ((x.astype(np.float32), np.zeros((4, 2, 1))), DTypeError),
    ]
    for item, error in cases:
        for options in ({}, {"clip_value": 1e12}):
            with pytest.raises(error):
                _trainer(cell, [item], 0.1, **options).run(1)


def test_non_finite_weights_roll_back():
    """An identity output unit and a huge rate: the weights overflow within the item; the step is undone."""
    cell = LSTM1997(2, 2, 2, 1, output="identity", init_range=0.5, seed=3)
    before = _params(cell)
    (x, targets, mask), = _items(cell, 1, T=20)
    trainer = _trainer(cell, [(x, np.nan_to_num(targets), np.ones_like(mask))], 1e300)
    with pytest.raises(NonFiniteError, match="Training step 0"):
        trainer.run(1)
    for key in before:
        np.testing.assert_array_equal(cell.params[key], before[key])
    assert trainer.clock.updates == 0 and trainer.optimiser.steps == 0


def test_online_sgd_validates():
    cell = CELLS[0]()
    x, t = np.zeros((3, 1, 2)), np.zeros((3, 1, 1))
    with pytest.raises(OptionError):
        online_sgd(cell, x, t, lr=-1.0)
    with pytest.raises(OptionError):
        online_sgd(cell, x, t, lr=0.1, decay=1.5)
    with pytest.raises(ShapeError):
        online_sgd(cell, x, np.zeros((3, 1, 2)), lr=0.1)
    with pytest.raises(UnsupportedError):
        online_sgd(RNN(2, 1), x, t, lr=0.1)
