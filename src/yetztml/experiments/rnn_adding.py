"""An Elman RNN with a linear read-out on the adding problem (1997 Exp 4), trained by full BPTT + Adam.

The tour's counterpart to LSTM1997 on the same task: same generator, same criterion (|error| < 0.04 at
the sequence end), same test-set size (2560 fresh sequences). The net::

    (RAF1) h(t) = tanh(W_ih x(t) + b_ih + W_hh h(t−1) + b_hh)      (the RNN cell, PyTorch layout)
    (RAF2) y(t) = w_o · h(t) + b_o                                  (linear read-out, every step)
    (RAL1) L = mean over the batch of (y(t_end) − target)²          (error at the sequence end only)

Backward::

    (RAB1) ∂L/∂y(t) = 2 (y − target) / B at the masked step, 0 elsewhere
    (RAB2) ∂L/∂h(t) = ∂L/∂y(t) w_o                                 (into the cell's hand-derived BPTT)
    (RAB3) ∂L/∂w_o = Σ_t ∂L/∂y(t) h(t),  ∂L/∂b_o = Σ_t ∂L/∂y(t)

Full BPTT is the method an Elman net gets at its best; it is given the modern Adam optimiser rather than
the paper's SGD, so a failure is not for want of a good optimiser. The trivial baseline (best constant
output) has mean absolute error 0.1625 (:meth:`yetztml.tasks.Adding.baseline`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..cells.rnn import RNN
from ..core.rng import make_rng
from ..learning.optimisers import Adam
from ..tasks.adding import Adding

#: Absolute error under which a sequence counts as correct [1997 Exp 4].
TOLERANCE = 0.04


def _readout(h: np.ndarray, w_o: np.ndarray, b_o: np.ndarray) -> np.ndarray:
    return h @ w_o + b_o  # (RAF2): (T, B, H)·(H, 1) -> (T, B, 1)


def _evaluate(cell: RNN, w_o, b_o, task: Adding, size: int, batch: int) -> dict[str, Any]:
    errors = []
    for start in range(0, size, batch):
        b = task.batch(min(batch, size - start))
        y = _readout(cell.forward(b.x).outputs, w_o, b_o)
        errors.append((y[..., 0] - b.targets[..., 0])[b.mask])
    err = np.abs(np.concatenate(errors))
    return {"size": size, "wrong": int(np.sum(err >= TOLERANCE)), "mae": float(err.mean())}


def train_rnn_on_adding(
    *,
    T: int = 100,
    hidden: int = 16,
    sequences: int = 20_000,
    batch: int = 32,
    lr: float = 1e-3,
    test_size: int = 2560,
    seed: int = 0,
) -> dict[str, Any]:
    """Train for ``sequences`` presentations; return the learning curve and the test result."""
    rng = make_rng(seed)
    task = Adding(T=T, seed=int(rng.integers(2**31)))
    test_task = Adding(T=T, seed=int(rng.integers(2**31)))
    cell = RNN(2, hidden, nonlinearity="tanh", seed=int(rng.integers(2**31)))
    w_o = rng.uniform(-hidden**-0.5, hidden**-0.5, size=(hidden, 1))
    b_o = np.zeros(1)
    params = {**cell.params, "w_o": w_o, "b_o": b_o}
    optimiser = Adam(params, lr=lr)
    curve, seen, started = [], 0, time.perf_counter()
    window: list[float] = []
    while seen < sequences:
        b = task.batch(batch)
        trace = cell.forward(b.x)
        y = _readout(trace.outputs, w_o, b_o)  # (T, B, 1)
        diff = np.where(b.mask[..., None], y - b.targets, 0.0)
        d_y = 2.0 * diff / batch  # (RAB1)
        grads = dict(cell.backward(trace, d_y * w_o[:, 0]))  # (RAB2)
        grads["w_o"] = np.einsum("tbh,tbk->hk", trace.outputs, d_y)  # (RAB3)
        grads["b_o"] = d_y.sum(axis=(0, 1))
        optimiser.step(grads)
        seen += batch
        window.extend(np.abs(diff[b.mask][..., 0]).tolist())
        if len(window) >= 2000:
            curve.append({"sequences": seen, "train_mae": float(np.mean(window))})
            window = []
    test = _evaluate(cell, w_o, b_o, test_task, test_size, 256)
    return {
        "net": f"Elman RNN 2-{hidden}-1 (tanh, linear read-out)",
        "num_weights": cell.num_weights + hidden + 1,
        "method": f"full BPTT, Adam lr={lr}, batch {batch}",
        "sequences": seen,
        "curve": curve,
        "test": test,
        "baseline_mae": task.baseline().mean_abs_error,
        "success": test["wrong"] == 0,
        "seconds": time.perf_counter() - started,
    }
