"""Error flow: recursion (eq. 1) = path sum (eq. 2) = finite differences = the cells' own backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.analysis.errorflow import (
    carousel_flow,
    error_flow,
    finite_difference_flow,
    hochreiter_path_sum,
    path_sum,
)
from yetztml.analysis.linearise import BackwardLinearisation, linearise
from yetztml.analysis.unitnet import UnitNet
from yetztml.cells.gradcheck import check_cell
from yetztml.cells.gru import GRU
from yetztml.cells.lstm import LSTM
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.cells.rnn import RNN
from yetztml.cells.sealing import release
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, UnsupportedError
from yetztml.core.gradcheck import relative_error


def unit_net(rng, n=3, activation="tanh", scale=1.0):
    return UnitNet(rng.standard_normal((n, n)) * scale, activation, V=rng.standard_normal((n, 2)))


def run(cell, rng, steps=6, batch=2):
    x = rng.standard_normal((steps, batch, cell.input_size)).astype(cell.dtype)
    return cell.forward(x.transpose(1, 0, 2) if getattr(cell, "batch_first", False) else x)


# -- eq. 1 (recursion) against eq. 2 (path sum) ---------------------------------------------------------
@pytest.mark.parametrize("activation", ["logistic", "tanh", "identity"])
def test_recursion_equals_hochreiter_path_sum(rng, activation):
    net = unit_net(rng, 3, activation, scale=1.5)
    trace = run(net, rng, steps=7)
    lin = linearise(net, trace, batch=1)
    flow = error_flow(lin, 5, keep="all")
    W, t = net.params["W"], lin.length - 1
    for q in range(1, 6):
        fprime = np.array([lin.fprime[t - m] for m in range(1, q + 1)])  # f'(net(t−m)), m = 1…q
        literal = hochreiter_path_sum(W, fprime)  # [1997 eq. 2]
        recursive = flow.matrices["net"][q]  # [1997 eq. 1]
        assert np.max(np.abs(recursive - literal)) <= 1e-10 * max(1.0, np.max(np.abs(literal)))
        assert np.max(np.abs(recursive - path_sum(lin, q))) <= 1e-10 * max(1.0, np.max(np.abs(literal)))


def test_eq1_first_lag_is_fprime_times_w_uv(rng):
    net = unit_net(rng, 3, "logistic")
    lin = linearise(net, run(net, rng))
    phi = error_flow(lin, 1, keep=[1]).matrices["net"][1]
    t = lin.length - 1
    W = net.params["W"]
    for v in range(3):
        for u in range(3):
            assert phi[v, u] == pytest.approx(lin.fprime[t - 1, v] * W[u, v], rel=1e-14)  # f'_v(net_v(t−1)) w_uv


def test_printed_index_order_of_eq2_is_the_transposed_net(rng):
    """Eq. (2) as printed (w_{l_m l_{m−1}}) equals eq. (1) only for symmetric W."""
    net = unit_net(rng, 3, "tanh")
    lin = linearise(net, run(net, rng))
    t, W, q = lin.length - 1, net.params["W"], 3
    fprime = np.array([lin.fprime[t - m] for m in range(1, q + 1)])
    recursive = error_flow(lin, q, keep=[q]).matrices["net"][q]
    printed = hochreiter_path_sum(np.ascontiguousarray(W.T), fprime)
    assert np.max(np.abs(recursive - printed)) > 1e-3
    sym = UnitNet(W + W.T, "tanh", V=net.params["V"])
    lin_s = linearise(sym, run(sym, rng))
    fprime_s = np.array([lin_s.fprime[lin_s.length - 1 - m] for m in range(1, q + 1)])
    recursive_s = error_flow(lin_s, q, keep=[q]).matrices["net"][q]
    assert np.max(np.abs(recursive_s - hochreiter_path_sum(sym.params["W"].T.copy(), fprime_s))) <= 1e-12


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 3), q=st.integers(1, 4),
       activation=st.sampled_from(["logistic", "tanh", "identity", "relu"]))
def test_recursion_equals_path_sum_random_nets(seed, n, q, activation):
    rng = np.random.default_rng(seed)
    net = UnitNet(rng.standard_normal((n, n)) * 2.0, activation, V=rng.standard_normal((n, 2)))
    lin = linearise(net, run(net, rng, steps=q + 2, batch=1))
    for source, target in (("net", "net"), ("y", "y"), ("net", "y"), ("y", "net")):
        phi = error_flow(lin, q, source=source, targets=(target,), keep=[q]).matrices[target][q]
        ref = path_sum(lin, q, source=source, target=target)
        assert np.max(np.abs(phi - ref)) <= 1e-10 * max(1.0, np.max(np.abs(ref)))


@pytest.mark.parametrize("make", [
    lambda: LSTM(2, 2, seed=3),
    lambda: LSTM1997(2, 1, 2, 1, init_range=1.0, seed=3),
    lambda: LSTMForget(2, 1, 1, 1, init_range=1.0, seed=3),
])
def test_recursion_equals_path_sum_gated_cells(rng, make):
    cell = make()
    trace = run(cell, rng, steps=5)
    for truncate in (False, True) if not isinstance(cell, LSTM) else (False,):
        lin = linearise(cell, trace, truncate=truncate)
        flow = error_flow(lin, 3, keep="all")
        for target in lin.default_targets:
            for q in (1, 2, 3):
                ref = path_sum(lin, q, target=target)
                assert np.max(np.abs(flow.matrices[target][q] - ref)) <= 1e-10 * max(1.0, np.max(np.abs(ref)))


# -- finite differences and the cells' own backward ------------------------------------------------------
CELLS = {
    "unit-logistic": lambda: UnitNet(np.random.default_rng(1).standard_normal((3, 3)), "logistic",
                                     V=np.random.default_rng(2).standard_normal((3, 2))),
    "rnn-tanh": lambda: RNN(2, 3, seed=1),
    "rnn-logistic": lambda: RNN(2, 3, nonlinearity="logistic", seed=1),
    "lstm": lambda: LSTM(2, 3, seed=1),
    "lstm-batch-first": lambda: LSTM(2, 3, batch_first=True, seed=1),
    "lstm1997": lambda: LSTM1997(2, 2, 2, 1, init_range=0.8, seed=1),
    "lstm1997-cells-no-out": lambda: LSTM1997(2, 2, 1, 1, recurrent="cells", output_gate=False, init_range=0.8,
                                              seed=1),
    "lstm-forget": lambda: LSTMForget(2, 2, 2, 1, init_range=0.8, seed=1),
    "gru": lambda: GRU(2, 3, seed=1),
    "lstm-peephole": lambda: LSTMPeephole(2, 2, 1, 1, init_range=0.8, seed=1),
    "rnn-2-layers": lambda: RNN(2, 2, num_layers=2, seed=1),
}


#: absolute roundoff of central differences at eps = 1e-6 on O(1) states (≈ 1e-16 / 1e-6, with margin)
FD_ROUNDOFF = 1e-9


@pytest.mark.parametrize("name", list(CELLS))
def test_state_flow_matches_finite_differences(rng, name):
    cell = CELLS[name]()
    trace = run(cell, rng, steps=6)
    lin = linearise(cell, trace, batch=1)
    groups = list(lin.groups)
    for source in groups:
        flow = error_flow(lin, 6, source=source, targets=groups, keep="all")
        for q in (1, 3, 6):  # q = 6 reaches the initial state
            fd = finite_difference_flow(cell, trace, q, batch=1)
            for target in groups:
                if lin.size(target) and lin.size(source):
                    ref = fd[lin.groups[source], lin.groups[target]].T  # Φ_q[v, u] = ∂z_u(t)/∂z_v(t−q)
                    diff = np.max(np.abs(flow.matrices[target][q] - ref))
                    assert diff <= 1e-6 * np.max(np.abs(ref)) + FD_ROUNDOFF, (source, target, q)


def test_hochreiter_flow_matches_perturbed_net(rng):
    """∂ϑ_v(t−q)/∂ϑ_u(t) = ∂net_u(t)/∂net_v(t−q): perturb net_v(t−q), rerun the net, read net(t)."""
    net = unit_net(rng, 3, "logistic", scale=2.0)
    trace = run(net, rng, steps=8, batch=1)
    t, eps = 7, 1e-6
    flow = error_flow(linearise(net, trace), 5, keep="all")
    for q in (1, 2, 5):
        fd = np.empty((3, 3))
        for v in range(3):
            ends = []
            for sign in (1.0, -1.0):
                net_tq = trace.net[t - q, 0].copy()
                net_tq[v] += sign * eps
                start = 1.0 / (1.0 + np.exp(-net_tq))[None]  # y(t−q) = f(net(t−q) ± ε e_v)
                ends.append(net.forward(trace.x[t - q + 1 : t + 1], start).net[-1, 0])
            fd[v] = (ends[0] - ends[1]) / (2 * eps)
        assert relative_error(flow.matrices["net"][q], fd) <= 1e-7


@pytest.mark.parametrize("name", ["unit-logistic", "rnn-logistic", "lstm", "lstm1997", "lstm-forget",
                                  "lstm1997-cells-no-out"])
def test_analytic_linearisation_equals_backward(rng, name):
    cell = CELLS[name]()
    trace = run(cell, rng, steps=5)
    truncations = (False, True) if hasattr(cell, "num_blocks") else (False,)
    for truncate in truncations:
        a = linearise(cell, trace, batch=1, truncate=truncate)
        b = linearise(cell, trace, batch=1, truncate=truncate, method="backward")
        assert isinstance(b, BackwardLinearisation) and not isinstance(a, BackwardLinearisation)
        assert a.groups == b.groups
        for t in range(5):
            assert np.max(np.abs(a.step(t) - b.step(t))) <= 1e-12
            assert np.max(np.abs(a.state(t) - b.state(t))) <= 1e-12
        assert np.max(np.abs(a.state(-1) - b.state(-1))) == 0.0


def test_unit_net_backward_is_exact(rng):
    net = unit_net(rng, 3, "logistic")
    errors = check_cell(net, rng.standard_normal((5, 2, 2)), rng)
    assert max(errors.values()) <= 1e-6


def test_truncated_flow_equals_cells_truncated_backward(rng):
    """y^c(t) → s(t−q) under truncation = ∂/∂s(t−q) of the cell's backward(truncate=True) from t−q."""
    cell = LSTM1997(2, 2, 2, 1, init_range=0.8, seed=4)
    trace = run(cell, rng, steps=8, batch=1)
    lin = linearise(cell, trace, truncate=True)
    t = 7
    flow = error_flow(lin, 6, source="y_c", targets=("s",), keep="all")
    for q in (1, 4, 6):
        start = type(trace.initial_state)(*[np.ascontiguousarray(a[t - q][None, 0]) for a in
                                            (trace.y_c, trace.y_in, trace.y_out, trace.s)])
        tail = cell.forward(trace.x[t - q + 1 : t + 1], start)
        rows = []
        for u in range(4):
            d_fin = type(start)(*[np.zeros_like(a) for a in start])
            d_fin.y_c[0, u] = 1.0
            grads = cell.backward(tail, np.zeros_like(tail.outputs), d_fin, truncate=True)
            rows.append(grads.initial_state.s[0])
        assert np.max(np.abs(flow.matrices["s"][q] - np.array(rows).T)) <= 1e-14


# -- carousel and rescaling ------------------------------------------------------------------------------
def test_carousel_of_1997_cell_is_exactly_one_and_lstm_is_forget_product(rng):
    cell = LSTM1997(2, 2, 2, 1, seed=0)
    lin = linearise(cell, run(cell, rng, steps=10))
    assert np.all(carousel_flow(lin) == 1.0)
    lstm = LSTM(2, 3, seed=0)
    trace = run(lstm, rng, steps=10)
    f = trace.layers[0][0].gates[:, 0, 3:6]  # (T, H) forget gates
    expected = np.cumprod(f[::-1], axis=0)  # Π_{m=0..q−1} f(t−m)
    assert np.max(np.abs(carousel_flow(linearise(lstm, trace)) - expected)) <= 1e-15


def test_log10_flow_stays_exact_below_float_range():
    """One logistic unit over 3000 steps: the flow (~1e−2000) underflows, its log10 does not."""
    w = 0.9
    unit = UnitNet(np.array([[w]]), "logistic", V=np.array([[1.0]]))
    rng = np.random.default_rng(0)
    trace = unit.forward(rng.standard_normal((3001, 1, 1)))
    lin = linearise(unit, trace)
    flow = error_flow(lin)
    q = flow.lags
    t = 3000
    logs = np.log10(lin.fprime[t - q, 0]) + np.log10(w)  # log10 |f'(net(t−m)) w|, m = q
    expected = np.cumsum(logs)
    assert np.max(np.abs(flow.curves["net"].log10_max - expected)) <= 1e-9
    assert flow.curves["net"].max[-1] == 0.0 and expected[-1] < -1000


def test_summaries_agree_with_kept_matrices(rng):
    cell = LSTM(2, 3, seed=2)
    lin = linearise(cell, run(cell, rng, steps=8))
    flow = error_flow(lin, 6, keep="all")
    for b, curve in flow.curves.items():
        for q in range(1, 7):
            m = flow.matrices[b][q]
            assert curve.max[q - 1] == pytest.approx(np.max(np.abs(m)), rel=1e-14)
            assert curve.norm[q - 1] == pytest.approx(np.linalg.norm(m), rel=1e-12)
            assert curve.total[q - 1] == pytest.approx(np.max(np.abs(m.sum(axis=1))), rel=1e-12)
            assert curve.log10_max[q - 1] == pytest.approx(np.log10(np.max(np.abs(m))), abs=1e-12)


def test_float32_cell_is_analysed_in_float64(rng):
    cell = LSTM(2, 3, seed=5)
    x = rng.standard_normal((6, 1, 2))
    f64 = error_flow(linearise(cell, cell.forward(x)))
    c32 = cell.astype(np.float32)
    f32 = error_flow(linearise(c32, c32.forward(x.astype(np.float32))))
    assert np.max(np.abs(f64.curves["h"].log10_max - f32.curves["h"].log10_max)) <= 1e-4


# -- bad input -------------------------------------------------------------------------------------------
def test_lag_larger_than_sequence_names_the_range(rng):
    cell = RNN(2, 3, seed=0)
    lin = linearise(cell, run(cell, rng, steps=5))
    with pytest.raises(OptionError, match="from 1 to 4"):
        error_flow(lin, 5)  # the net target exists from t = 0: at most t = 4 lags
    with pytest.raises(OptionError, match="from 1 to 5"):
        error_flow(lin, 6, source="h", targets=("h",))  # states reach the initial state
    with pytest.raises(OptionError, match="from 1 to 5"):
        finite_difference_flow(cell, run(cell, rng, steps=5), 6)
    with pytest.raises(OptionError, match="integer <= 4"):
        error_flow(lin, 1, t=7)
    with pytest.raises(OptionError, match=">= 1"):
        error_flow(lin, 0)


def test_unknown_names_list_the_allowed_ones(rng):
    cell = LSTM(2, 3, seed=0)
    lin = linearise(cell, run(cell, rng))
    with pytest.raises(OptionError, match="'net_i'"):
        error_flow(lin, 2, targets=("gates",))
    with pytest.raises(OptionError, match="'h', 'c'"):
        error_flow(lin, 2, source="y")
    with pytest.raises(OptionError, match="'auto', 'analytic', 'backward'"):
        linearise(cell, run(cell, rng), method="exact")


def test_non_finite_trajectory_is_refused(rng):
    cell = LSTM(2, 3, seed=0)
    trace = release(run(cell, rng))  # a trace is read-only unless released
    trace.layers[0][0].c[3, 0, 1] = np.nan
    with pytest.raises(NonFiniteError, match="finite values"):
        linearise(cell, trace)
    net = unit_net(rng)
    tr = release(run(net, rng))
    tr.net[2, 0, 0] = np.inf
    with pytest.raises(NonFiniteError, match=r"trace\.net"):
        linearise(net, tr)


def test_unsupported_cells_and_options(rng):
    with pytest.raises(DTypeError, match="a yetztml cell"):
        linearise("lstm", None)
    with pytest.raises(DTypeError, match="a Linearisation"):
        error_flow("lstm")
    bi = RNN(2, 3, bidirectional=True, seed=0)
    with pytest.raises(UnsupportedError, match="bidirectional=False"):
        linearise(bi, run(bi, rng))
    rnn = RNN(2, 3, seed=0)
    with pytest.raises(UnsupportedError, match="memory-block cell"):
        linearise(rnn, run(rnn, rng), truncate=True)
    gru = GRU(2, 3, seed=0)
    with pytest.raises(UnsupportedError, match="method='backward'"):
        linearise(gru, run(gru, rng), method="analytic")
    with pytest.raises(OptionError, match="integer <= 1"):
        linearise(rnn, run(rnn, rng), batch=2)
    lin = linearise(rnn, run(rnn, rng))
    with pytest.raises(UnsupportedError, match="cell state"):
        carousel_flow(lin)
    with pytest.raises(OptionError, match="at most"):
        path_sum(linearise(rnn, run(rnn, rng, steps=20)), 15)
