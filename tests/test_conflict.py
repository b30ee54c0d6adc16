"""Input and output weight conflict (1997 §3.2): per-step terms of the gradient, read from the nets' own
backward, against the full backward, finite differences of the per-step-perturbed loss and the closed forms."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from yetztml.analysis import conflict as wc
from yetztml.analysis.naive_cec import NaiveCEC
from yetztml.cli.main import main
from yetztml.core.errors import OptionError
from yetztml.core.gradcheck import numerical_gradients, relative_error
from yetztml.learning.losses import squared_error

NETS = [(kind, build) for kind in wc.KINDS for build in (wc.naive_net, wc.gated_net)]


def _randomised(build, kind, seed):
    cell, sources, probes = build(kind, seed)
    rng = np.random.default_rng(seed)
    for value in cell.params.values():  # away from the small initial weights: every term matters
        value += rng.uniform(-0.8, 0.8, size=value.shape)
    return cell, sources, probes


def _loss(cell, x, targets, mask, state=None):
    return squared_error(cell.forward(x, state).outputs, targets, mask=mask)[0]


@pytest.mark.parametrize(("kind", "build"), NETS)
def test_per_step_terms_sum_to_the_full_backward(kind, build):
    cell, sources, _ = _randomised(build, kind, 3)
    x, targets, mask = wc.conflict_batch(kind, np.random.default_rng(4), 9, 5)
    trace, _, d_outputs = wc.loss_gradient(cell, x, targets, mask)
    full = cell.backward(trace, d_outputs)
    terms = wc.per_step(cell, trace, d_outputs, sources)
    assert len(terms) == 9
    for name in cell.params:
        if name.startswith("b_"):
            continue  # biases are weights from the bias unit here; the cells are built with bias="none"
        total = sum(term[name] for term in terms)
        assert np.max(np.abs(total - full[name])) <= 1e-10 * max(1.0, np.max(np.abs(full[name])))
    assert set(cell.params) == set(full)


def _perturbed_at(cell, x, targets, mask, t, name, index, eps):
    """E with params[name][index] + eps used at step t only: forward in three pieces, state carried."""
    losses = []
    for sign in (1.0, -1.0):
        outputs = []
        state = None
        for lo, hi, bump in ((0, t, 0.0), (t, t + 1, sign * eps), (t + 1, x.shape[0], 0.0)):
            if lo == hi:
                continue
            cell.params[name][index] += bump
            trace = cell.forward(x[lo:hi], state)
            cell.params[name][index] -= bump
            outputs.append(trace.outputs)
            state = trace.final_state
        losses.append(squared_error(np.concatenate(outputs), targets, mask=mask)[0])
    return (losses[0] - losses[1]) / (2 * eps)


@pytest.mark.parametrize(("kind", "build"), NETS)
def test_each_per_step_term_matches_finite_differences_of_the_step_perturbed_loss(kind, build):
    cell, sources, probes = _randomised(build, kind, 5)
    T = 6
    x, targets, mask = wc.conflict_batch(kind, np.random.default_rng(6), T, 3)
    trace, _, d_outputs = wc.loss_gradient(cell, x, targets, mask)
    terms = wc.per_step(cell, trace, d_outputs, sources)
    for probe in probes:
        for t in range(T):
            fd = _perturbed_at(cell, x, targets, mask, t, probe.name, probe.index, 1e-6) / x.shape[1]
            assert terms[t][probe.name][probe.index] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_naive_cec_gradient_matches_finite_differences(rng):
    net = NaiveCEC(3, 2, init_range=0.7, seed=1)
    x = rng.standard_normal((7, 4, 3))
    targets = rng.standard_normal((7, 4, 2))
    trace = net.forward(x)
    _, d = squared_error(trace.outputs, targets)
    grads = net.backward(trace, d)
    numeric = numerical_gradients(lambda: _loss(net, x, targets, None), net.params)
    for name in net.params:
        assert relative_error(grads[name], numeric[name]) <= 1e-8
    assert trace.y[:, 0, 0] == pytest.approx(np.cumsum(x[:, 0] @ net.params["w_ji"][0]))  # (NC1): s is a sum


def test_naive_cec_state_carries_across_calls(rng):
    net = NaiveCEC(3, 1, seed=2)
    x = rng.standard_normal((8, 2, 3))
    whole = net.forward(x).outputs
    first = net.forward(x[:3])
    assert np.array_equal(np.concatenate([first.outputs, net.forward(x[3:], first.final_state).outputs]), whole)


def test_opposing_fraction_by_hand():
    assert wc.opposing_fraction([0.3, -0.1, -0.1]) == pytest.approx(0.4)  # G = 0.1 > 0: 0.2 of 0.5 opposes
    assert wc.opposing_fraction([-0.3, 0.1, 0.1]) == pytest.approx(0.4)
    assert wc.opposing_fraction([0.2, 0.1, 0.0]) == 0.0
    assert wc.opposing_fraction([0.0, 0.0]) == 0.0


def test_output_conflict_per_step_terms_equal_the_closed_form_wc7():
    """(WC7) exactly, on a batch with x(0) = +1 and −1 once each (the expectation over the sign)."""
    net, sources, _ = wc.naive_net("output", 0)
    w_v, w_m, w_b, w_kj = 0.7, -0.2, 0.05, 1.3
    net.params["w_ji"][:] = [[w_v, w_m, w_b]]
    net.params["w_kj"][:] = [[w_kj]]
    T = 7
    x, targets, mask = wc.conflict_batch("output", np.random.default_rng(0), T, 2)
    x[0, :, 0] = [1.0, -1.0]
    targets[-1, :, 0] = [1.0, -1.0]
    trace, _, d_outputs = wc.loss_gradient(net, x, targets, mask)
    p = np.array([c["w_kj"][0, 0] for c in wc.per_step(net, trace, d_outputs, sources)])
    c = w_b * (np.arange(T) + 1.0)
    c[-1] += w_m
    expected = 2 * w_kj * (w_v**2 + c**2)
    expected[-1] = 2 * (w_kj * (w_v**2 + c[-1] ** 2) - w_v)
    assert np.max(np.abs(p - expected)) <= 1e-13


def test_input_conflict_per_step_terms_follow_wc6_on_many_sequences():
    net, sources, _ = wc.naive_net("input", 0)
    net.params["w_ji"][:] = [[0.4, 0.3, -0.02]]
    net.params["w_kj"][:] = [[1.5]]
    a = 0.6
    data = wc.conflict_batch("input", np.random.default_rng(1), 8, 40000)
    trace, _, d_outputs = wc.loss_gradient(net, *data)
    p = np.array([c["w_ji"][0, 0] for c in wc.per_step(net, trace, d_outputs, sources)])
    assert p[0] == pytest.approx(2 * 1.5 * (a - 1), abs=0.03)  # store: raise w_ji
    assert p[1:] == pytest.approx(np.full(7, 2 * 1.5 * a / 3), abs=0.03)  # protect: lower it


def test_conflict_training_seeded_values():
    out = wc.conflict("input", 11, 0, sequences=200, budget=1000, every=100)
    naive, gated = out["naive"], out["gated"]
    assert naive["solved"] is False and naive["updates"] == 1000
    assert gated["solved"] is True and gated["updates"] == 700
    assert naive["opposing_fraction"] == pytest.approx(0.3889, abs=1e-4)
    assert gated["opposing_fraction"] == 0.0  # stopped once solved: every step pushes W_c the same way
    assert naive["final_loss"] == pytest.approx(naive["balance"]["loss_at_balance"], abs=0.05)  # (WC6) stall
    assert naive["balance"]["a_star"] == pytest.approx(3 / 13)
    assert len(naive["per_step"]) == 11 and naive["weight"] == "w_ji[value]"
    assert set(gated["end"]["weights"]) == {"W_c[value]", "W_in[value]", "W_in[marker]", "W_in[bias]"}
    assert gated["end"]["weights"]["W_in[marker]"]["per_step"][1:] == [0.0] * 10  # the marker is only at t = 0
    assert gated["max_error"] < wc.TOLERANCE <= naive["max_error"]
    # Adam steps through BLAS products: pinned to 1e-6 relative (room for another BLAS's summation order)
    assert (naive["max_error"], gated["max_error"]) == pytest.approx((1.7911905695425, 0.2216528483364706), rel=1e-6)
    assert naive["final_loss"] == pytest.approx(0.7554776406115464, rel=1e-6)
    assert naive["opposing_fraction"] == pytest.approx(0.38891983226265914, rel=1e-6)


def test_bad_options_are_refused():
    with pytest.raises(OptionError, match="conflict kind"):
        wc.conflict("both", 5, 0)
    with pytest.raises(OptionError, match="conflict budget"):
        wc.conflict("input", 5, 0, budget=10, every=100)


def test_cli_output_conflict_json_and_figures(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["errorflow", "--scenario", "output-conflict", "--lags", "10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "naive (naive CEC unit): not solved after 3000 updates" in printed
    data = json.loads((out / "output-conflict.json").read_text())
    for net in ("naive", "gated"):
        assert {"opposing_fraction", "per_step", "solved", "updates"} <= set(data[net])
        assert len(data[net]["per_step"]) == 11
    assert data["naive"]["solved"] is False and data["gated"]["solved"] is True
    assert data["naive"]["opposing_fraction"] == pytest.approx(0.4991, abs=1e-4)  # the standstill: ½
    assert data["gated"]["updates"] == 200
    # seed 0, Adam through BLAS products: pinned to 1e-6 relative (room for another BLAS's summation order).
    # The naive unit stalls at (WC7)'s balance a* = 1/steps = 1/11, loss 10/11; the gated one solves the task.
    naive, gated = data["naive"], data["gated"]
    assert naive["updates"] == 3000 and naive["balance"]["a_star"] == pytest.approx(1 / 11, rel=1e-12)
    assert naive["balance"]["loss_at_balance"] == pytest.approx(10 / 11, rel=1e-12)
    assert (naive["final_loss"], naive["max_error"]) == pytest.approx((0.9086757026179191, 0.9145882232957318),
                                                                      rel=1e-6)
    assert (gated["final_loss"], gated["max_error"]) == pytest.approx((0.17981715674645415, 0.2433362617747834),
                                                                      rel=1e-6)
    assert (naive["per_step"][0], naive["per_step"][-1]) == pytest.approx((0.3283518379476126, -3.290858382662118),
                                                                          rel=1e-6)
    assert (gated["per_step"][0], gated["per_step"][-1]) == pytest.approx(
        (0.011669039552810956, -0.17784086962467416), rel=1e-6)
    for name in ("output-conflict-per-step.png", "output-conflict-training.png"):
        assert (out / name).stat().st_size > 20000
    assert data["flow"] == [1.0] * 10  # the naive CEC carries the error back unscaled


def test_per_step_of_a_trace_with_every_source_zero_is_zero():
    cell, sources, _ = _randomised(wc.gated_net, "input", 1)
    x, targets, mask = wc.conflict_batch("input", np.random.default_rng(2), 5, 2)
    trace, _, d_outputs = wc.loss_gradient(cell, x, targets, mask)
    blank = dataclasses.replace(trace, **{f: np.zeros_like(getattr(trace, f)) for f in sources})
    assert all(np.all(v == 0.0) for k, v in cell.backward(blank, d_outputs).items() if k.startswith("W"))


@pytest.mark.torch
def test_naive_cec_gradient_agrees_with_pytorch_autograd(rng):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    net = NaiveCEC(3, 2, init_range=0.7, seed=3)
    x = rng.standard_normal((6, 4, 3))
    targets = rng.standard_normal((6, 4, 2))
    trace = net.forward(x)
    _, d = squared_error(trace.outputs, targets)
    grads = net.backward(trace, d)
    w_ji = torch.tensor(net.params["w_ji"], requires_grad=True)
    w_kj = torch.tensor(net.params["w_kj"], requires_grad=True)
    s = torch.cumsum(torch.tensor(x) @ w_ji.T, dim=0)  # the CEC: s(t) = s(t−1) + w_ji x(t)
    loss = ((s @ w_kj.T - torch.tensor(targets)) ** 2).sum()
    loss.backward()
    assert relative_error(grads["w_ji"], w_ji.grad.numpy()) <= 1e-12
    assert relative_error(grads["w_kj"], w_kj.grad.numpy()) <= 1e-12
