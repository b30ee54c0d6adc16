"""Table 2 baselines: RTRL and BPTT on Exp 2a with the paper's net (one self-recurrent hidden unit).

The net and both algorithms are in :mod:`yetztml.learning.tiny_rnn`. Protocol as the LSTM row of
Exp 2a: the two training sequences drawn with probability ½ each (as the task draws them), success when
both are predicted with every output's |error| < 0.25 at every step (which is the paper's test on
10,000 random sequences, since only these two exist), checked every ``check_every`` presentations, and
at most ``max_sequences`` presentations (the paper's 5 million, reduced where the cost demands; the row
says so).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...learning.tiny_rnn import TinyRNN, rtrl_sequence, train_presentations
from ...tasks.base import draw_order
from .. import progress
from .rows import Row
from .trial import CURVE_POINTS, Curve


def _pool(p: int) -> tuple[np.ndarray, np.ndarray]:
    """The two 2a sequences (class 0: x, class 1: y) as input indices (2, p) and targets (2, p, p + 1)."""
    xi = np.zeros((2, p), np.int64)
    tgt = np.zeros((2, p, p + 1))
    for label in (0, 1):
        first = p - 1 + label
        symbols = np.concatenate([[first], np.arange(p - 1), [first]])
        xi[label] = symbols[:-1]
        tgt[label, np.arange(p), symbols[1:]] = 1.0
    return xi, tgt


def _max_error(net: TinyRNN, xi: np.ndarray, tgt: np.ndarray) -> float:
    worst = 0.0
    g = net.zero_grads()
    for j in range(xi.shape[0]):
        y = np.zeros(tgt.shape[1:])
        w = (net.w_h.copy(), net.w_hh.copy(), net.W_o.copy())
        rtrl_sequence(*w, xi[j], tgt[j], 0.0, False, *g, y)
        worst = float(np.maximum(worst, np.abs(tgt[j] - y).max()))  # NaN propagates (Python's max drops it)
    return worst


def run_baseline_trial(row: Row, trial: int, seed: int, max_sequences: int | None = None) -> dict[str, Any]:
    """One trial of a Table 2 RTRL / BPTT row."""
    started = time.perf_counter()
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(trial,))
    init, train = (np.random.default_rng(s) for s in ss.spawn(2))
    p = int(row.task["p"])
    net = TinyRNN(p + 1, p + 1, row.baseline["init_range"], init)
    xi, tgt = _pool(p)
    cap = int(max_sequences if max_sequences is not None else row.max_sequences)
    every = int(row.stop["check_every"])
    seen, success, curve, worst = 0, False, Curve(), None
    while seen < cap:
        n = min(every, cap - seen)
        order = draw_order(train, 2, n)
        sse = train_presentations(net.w_h, net.w_hh, net.W_o, xi, tgt, order, row.alpha, row.method == "bptt")
        seen += n
        records = np.zeros((n, 4))
        records[:, 0] = sse
        records[:, 2] = np.sqrt(sse / (p * (p + 1)))
        curve.add(seen, records, np.inf)
        worst = _max_error(net, xi, tgt)
        progress.report(trial, seen, cap, f"largest output error {worst:.3g}")
        if not np.isfinite(worst):
            break
        if worst < 0.25:
            success = True
            break
    wall = time.perf_counter() - started
    return {
        "trial": int(trial), "seed": int(seed), "success": success, "sequences": int(seen),
        "reason": "criterion" if success else "cap", "max_error": worst, "weights": net.num_weights,
        "steps": int(seen * p), "wall_s": wall, "us_per_step": 1e6 * wall / max(1, seen * p),
        "curve": curve.to_dict(CURVE_POINTS),
    }


__all__ = ["run_baseline_trial"]
