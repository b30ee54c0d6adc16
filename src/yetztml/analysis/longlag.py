"""A tiny long-lag task and a BPTT + Adam loop, so error flow can be compared before and after training.

Task (generated inline from a seeded generator; in the spirit of 1997 §5.2, "noise-free sequences"):
every sequence has T steps and two input channels; channel 0 holds the signal ±1 at t = 0 and uniform
noise in [−1, 1] afterwards, channel 1 marks t = 0 with a 1. The target at the last step is the signal.
Worked example, T = 4: x = [[+1, 1], [0.3, 0], [−0.8, 0], [0.1, 0]] → target +1. The trivial baseline
(always predict 0) has mean squared error 1.0; success is the sign of the prediction matching the
target (chance 50 %).

Model: the cell followed by a linear readout y = W_r h(T−1) + b_r, trained on the mean squared error::

    (LL1)  L = mean_b (y_b − target_b)²,  ∂L/∂h(T−1) = W_rᵀ ∂L/∂y,  ∂L/∂W_r = (∂L/∂y)ᵀ h(T−1)
    (LL2)  the cell's own backward carries ∂L/∂h(T−1) back through time (full BPTT)
    (LL3)  gradients clipped to global norm 1.0, then one Adam step; stop when the last 20 losses average
          below ``stop_loss``
"""

from __future__ import annotations

import numpy as np

from ..cells.base import Cell
from ..learning.clipping import clip_by_global_norm
from ..learning.losses import mse
from ..learning.optimisers import Adam


def long_lag_batch(rng: np.random.Generator, steps: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (T, B, 2) and targets (B, 1) of the task above."""
    signal = rng.choice([-1.0, 1.0], size=batch)
    x = np.zeros((steps, batch, 2))
    x[:, :, 0] = rng.uniform(-1.0, 1.0, size=(steps, batch))
    x[0, :, 0] = signal
    x[0, :, 1] = 1.0
    return x, signal[:, None]


def readout(cell: Cell, x: np.ndarray, weights: dict[str, np.ndarray]):
    """Forward of the cell and the readout: (trace, predictions (B, 1))."""
    trace = cell.forward(x.astype(cell.dtype))
    last = trace.outputs[-1]  # (B, H)
    return trace, last @ weights["W_r"].T + weights["b_r"]


def train(cell: Cell, rng: np.random.Generator, steps: int, length: int, batch: int = 32,
          lr: float = 0.01, stop_loss: float = 0.01) -> dict[str, object]:
    """Train ``cell`` and a fresh readout for at most ``steps`` Adam updates, stopping once the mean loss of
    the last 20 updates is below ``stop_loss``; returns the readout and the losses."""
    H = cell.output_size
    weights = {"W_r": rng.uniform(-0.1, 0.1, size=(1, H)), "b_r": np.zeros(1)}
    params = {**cell.params, **weights}  # the same arrays: Adam updates them in place
    opt = Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        x, target = long_lag_batch(rng, length, batch)
        trace, y = readout(cell, x, weights)
        loss, d_y = mse(y, target)  # (LL1)
        d_outputs = np.zeros_like(trace.outputs)
        d_outputs[-1] = d_y @ weights["W_r"]  # (LL1) ∂L/∂h(T−1)
        grads = dict(cell.backward(trace, d_outputs))  # (LL2)
        grads["W_r"] = d_y.T @ trace.outputs[-1]
        grads["b_r"] = d_y.sum(axis=0)
        clip_by_global_norm(grads, 1.0)  # (LL3)
        opt.step(grads)  # (LL3)
        losses.append(loss)
        if len(losses) >= 20 and np.mean(losses[-20:]) < stop_loss:
            break
    return {"weights": weights, "losses": losses}


def accuracy(cell: Cell, weights: dict[str, np.ndarray], rng: np.random.Generator, length: int,
             batch: int = 256) -> float:
    """Fraction of fresh sequences whose prediction has the target's sign."""
    x, target = long_lag_batch(rng, length, batch)
    _, y = readout(cell, x, weights)
    return float(np.mean(np.sign(y) == target))
