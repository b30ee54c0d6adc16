"""The fused 1997 online kernel equals the truncated-gradient online algorithm, and its other duties."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.core.errors import DTypeError, OptionError, ShapeError, UnsupportedError
from yetztml.learning import online_sgd
from yetztml.learning.online1997_fast import FastNet, Packed, Window, evaluate, pack, train_online
from yetztml.tasks import make_task

TOL = 1e-12


def _padded(cell, samples):
    """The samples as the generic kernel's (T, B, ·) batch with an error mask."""
    T, n = max(s.length for s in samples), len(samples)
    x = np.zeros((T, n, cell.input_size))
    tg = np.zeros((T, n, cell.output_size))
    m = np.zeros((T, n), bool)
    for i, s in enumerate(samples):
        x[: s.length, i], tg[: s.length, i], m[: s.length, i] = s.x, s.targets, s.mask
    return x, tg, m


def _max_diff(a, b):
    return max(float(np.max(np.abs(a.params[k] - b.params[k]))) for k in a.params)


NETS = {
    "exp4": (lambda: LSTM1997(2, 2, 2, 1, bias="all", init_range=0.1, input_gate_bias=[-3.0, -6.0], seed=1),
             ("4", {"T": 20}), False),
    "exp1": (lambda: LSTM1997(7, 3, 2, 7, bias="gates", init_range=0.2, output_gate_bias=[-1.0, -2.0, -3.0],
                              seed=2), ("1", {}), True),
    "cerg": (lambda: LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True, bias={"gates", "outputs"},
                                forget_gate_bias=[0.5, 1.0, 1.5, 2.0], init_range=0.2, seed=3), ("1", {}), True),
    "exp2a": (lambda: LSTM1997(11, 1, 1, 11, recurrent="none", shortcut=True, bias="none", output_gate=False,
                               g="logistic", h="identity", init_range=0.2, seed=4), ("2a", {"p": 10}), True),
    "exp2c": (lambda: LSTM1997(14, 2, 1, 2, bias="none", init_range=0.2, seed=5), ("2c", {"p": 10, "q": 10}), True),
    "exp3": (lambda: LSTM1997(1, 3, 1, 1, bias="hidden", output_gate_bias=[-2.0, -4.0, -6.0],
                              input_gate_bias=[-1.0, -3.0, -5.0], seed=6), ("3a", {"T": 15, "N": 3}), False),
}


@pytest.mark.parametrize("name", list(NETS))
def test_equals_the_generic_online_algorithm(name):
    """α with e_k = f'(t − y) (eqs. 19–28) is the generic kernel's squared error at lr = α/2."""
    build, (task, options), onehot = NETS[name]
    samples = [make_task(task, seed=7, **options).sample() for _ in range(12)]
    ours, theirs = build(), build()
    net = FastNet(ours)
    train_online(net, pack(samples, onehot=onehot), lr=0.4)
    net.to_cell()
    online_sgd(theirs, *_padded(theirs, samples), lr=0.2)
    assert _max_diff(ours, theirs) < TOL
    assert _max_diff(ours, build()) > 1e-4  # the weights did change


@pytest.mark.parametrize("onehot", [False, True])
def test_dense_and_onehot_inputs_agree(onehot):
    samples = [make_task("6a", seed=3).sample() for _ in range(4)]
    a, b = LSTM1997(8, 2, 2, 4, seed=0), LSTM1997(8, 2, 2, 4, seed=0)
    na, nb = FastNet(a), FastNet(b)
    train_online(na, pack(samples, onehot=False), lr=0.5)
    train_online(nb, pack(samples, onehot=True), lr=0.5)
    assert np.max(np.abs(na.W - nb.W)) < TOL and np.max(np.abs(na.Wk - nb.Wk)) < TOL


def test_error_scale_two_is_the_literal_eq17():
    """error_scale = 2 (Δw = −α ∂E/∂w with E of eq. 16) equals the generic kernel at lr = α."""
    build, (task, options), _ = NETS["exp4"]
    samples = [make_task(task, seed=1, **options).sample() for _ in range(8)]
    ours, theirs = build(), build()
    net = FastNet(ours)
    train_online(net, pack(samples), lr=0.5, error_scale=2.0)
    net.to_cell()
    online_sgd(theirs, *_padded(theirs, samples), lr=0.5)
    assert _max_diff(ours, theirs) < TOL


def test_output_derivative_matters_only_for_squashed_outputs():
    samples = [make_task("4", seed=2, T=20).sample() for _ in range(6)]
    results = {}
    for output in ("identity", "logistic"):
        for keep in (True, False):
            cell = LSTM1997(2, 2, 2, 1, output=output, seed=0)
            net = FastNet(cell)
            train_online(net, pack(samples), lr=0.5, output_derivative=keep)
            results[output, keep] = net.Wk.copy()
    assert np.array_equal(results["identity", True], results["identity", False])
    assert not np.allclose(results["logistic", True], results["logistic", False])


def test_evaluate_is_the_forward_pass_and_changes_nothing():
    cell = LSTM1997(1, 3, 1, 1, bias="hidden", seed=0)
    task = make_task("3a", seed=0, T=10, N=1)
    samples = [task.sample() for _ in range(3)]
    data = pack(samples, criterion_steps=[np.ones(s.length, bool) for s in samples])
    net = FastNet(cell)
    before = net.W.copy(), net.Wk.copy()
    outputs = np.zeros((data.steps, 1))
    out = evaluate(net, data, outputs=outputs)
    assert np.array_equal(before[0], net.W) and np.array_equal(before[1], net.Wk)
    for i, s in enumerate(samples):
        want = cell.forward(s.x[:, None, :]).outputs[:, 0]
        got = outputs[data.starts[i] : data.starts[i + 1]]
        assert np.max(np.abs(want - got)) < 1e-13
        assert out.records[i, 1] == pytest.approx(np.max(np.abs(s.targets - want)))
        assert out.records[i, 3] == s.length


def test_window_rule_stops_where_the_rule_first_holds():
    """With lr = 0 the records are fixed; the stop must be the first index where the window rule holds."""
    cell = LSTM1997(2, 2, 2, 1, seed=0)
    task = make_task("4", seed=5, T=20)
    data = pack([task.sample() for _ in range(300)])
    net = FastNet(cell)
    full = evaluate(net, data).records
    tol, length, max_wrong, max_mean = 0.2, 10, 4, 0.15
    bad = full[:, 1] >= tol
    expect = None
    for i in range(length - 1, len(full)):
        w = slice(i - length + 1, i + 1)
        if bad[w].sum() < max_wrong and full[w, 2].mean() < max_mean:
            expect = i + 1
            break
    assert expect is not None and expect > length
    window = Window(length, max_wrong, max_mean)
    done = 0
    for part in np.array_split(np.arange(300, dtype=np.int64), 7):  # across calls: the window persists
        out = train_online(net, data, lr=0.0, order=part, tolerance=tol, window=window)
        done += out.done
        if out.reason == "window":
            break
    assert done == expect


def test_stop_tolerance_ends_at_the_first_bad_step_and_streams_continue():
    cell = LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True, bias={"gates", "outputs"}, seed=0)
    task = make_task("cerg", seed=1)
    stream = task.stream(60)
    data = pack([stream], onehot=True)
    net = FastNet(cell)
    outputs = np.zeros((60, 7))
    evaluate(net, data, outputs=outputs)
    first_bad = int(np.argmax(np.any(np.abs(stream.targets - outputs) >= 0.3, axis=1)))
    out = evaluate(net, data, stop_tolerance=0.3)
    assert out.reason == "error" and out.records[0, 3] == first_bad + 1
    half = Packed(data.x, data.index[:30], data.targets[:30], data.criterion_targets[:30], data.flags[:30],
                  np.array([0, 30], np.int64))
    rest = Packed(data.x, data.index[30:], data.targets[30:], data.criterion_targets[30:], data.flags[30:],
                  np.array([0, 30], np.int64))
    a, b = copy.deepcopy(cell), copy.deepcopy(cell)
    na, nb = FastNet(a), FastNet(b)
    whole = train_online(na, data, lr=0.5, decay=0.99, reset_count=False)
    first = train_online(nb, half, lr=0.5, decay=0.99, reset_count=False)
    second = train_online(nb, rest, lr=0.5, decay=0.99, reset_count=False, count=first.count, continue_state=True)
    assert second.count == whole.count == 60
    assert np.max(np.abs(na.W - nb.W)) < TOL and np.max(np.abs(na.Wk - nb.Wk)) < TOL


def test_frozen_weights_stay_put():
    cell = LSTM1997(2, 2, 2, 1, seed=0)
    net = FastNet(cell)
    net.set_trainable("c", False)
    net.set_trainable("k", False, slice(0, 2))
    before = net.W.copy(), net.Wk.copy()
    train_online(net, pack([make_task("4", seed=0, T=20).sample() for _ in range(5)]), lr=1.0)
    a, b = net.rows["c"]
    assert np.array_equal(net.W[a:b], before[0][a:b]) and np.array_equal(net.Wk[:, :2], before[1][:, :2])
    assert not np.array_equal(net.W[b:], before[0][b:])


def test_refusals():
    with pytest.raises(UnsupportedError):
        FastNet(LSTMPeephole(2, 1, 1, 1, seed=0))
    with pytest.raises(DTypeError):
        FastNet(LSTM1997(2, 1, 1, 1, dtype=np.float32, seed=0))
    net = FastNet(LSTM1997(2, 1, 1, 1, seed=0))
    data = pack([make_task("4", seed=0, T=20).sample()])
    with pytest.raises(OptionError):
        train_online(net, data, lr=-1.0)
    with pytest.raises(OptionError):
        train_online(net, data, lr=0.1, tolerance=0.0)
    with pytest.raises(OptionError):
        train_online(net, data, lr=0.1, order=np.array([3], np.int64))
    with pytest.raises(ShapeError):
        train_online(FastNet(LSTM1997(3, 1, 1, 1, seed=0)), data, lr=0.1)
    with pytest.raises(OptionError):
        net.set_trainable("gate", False)
    # refused before computing: the weights are the cell's, untouched (not merely finite)
    assert np.array_equal(net.W, FastNet(LSTM1997(2, 1, 1, 1, seed=0)).W)
    assert np.array_equal(net.Wk, FastNet(LSTM1997(2, 1, 1, 1, seed=0)).Wk)


def test_per_sequence_updates_are_the_summed_truncated_gradient():
    """One sequence with per_sequence=True changes the weights by −(α/2) × the truncated1997 gradient."""
    from yetztml.learning import gradients

    sample = make_task("1", seed=3).sample()
    cell = LSTM1997(7, 3, 2, 7, bias="gates", init_range=0.2, output_gate_bias=[-1.0, -2.0, -3.0], seed=2)
    ref = copy.deepcopy(cell)
    _, grads = gradients(ref, sample.x[:, None, :], sample.targets[:, None, :], loss="squared_error",
                         method="truncated1997")
    net = FastNet(cell)
    train_online(net, pack([sample], onehot=True), lr=0.5, per_sequence=True)
    net.to_cell()
    for key in cell.params:
        assert np.max(np.abs(cell.params[key] - (ref.params[key] - 0.25 * grads[key]))) < TOL
    online = FastNet(copy.deepcopy(ref))
    train_online(online, pack([sample], onehot=True), lr=0.5)
    assert np.max(np.abs(online.Wk - net.Wk)) > 1e-6  # per step differs when error comes at every step


def test_stop_each_ends_only_the_sequence_with_the_error():
    # weights from U[-1, 1] (seed 3) and tolerance 0.8: the four streams meet their first error at different
    # steps (with the default small weights every stream errs at step 1, which would not tell stop_each from
    # ending every sequence at the first error anywhere)
    cell = LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True, bias={"gates", "outputs"}, init_range=1.0,
                      seed=3)
    streams = [make_task("cerg", seed=s).stream(40) for s in range(4)]
    net = FastNet(cell)
    alone = [evaluate(net, pack([s], onehot=True), stop_tolerance=0.8).records[0, 3] for s in streams]
    together = evaluate(net, pack(streams, onehot=True), stop_tolerance=0.8, stop_each=True)
    assert together.done == 4 and together.records[:, 3].tolist() == alone
    assert alone == [6, 8, 23, 9]
