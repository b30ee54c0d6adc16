"""Look inside one trial while it trains: outputs, cell states and gates at chosen points of its stream.

A trial that fails gives only "no success after N sequences". :func:`probe` trains the same net on the same
stream as :func:`~yetztml.experiments.lstm1997.trial.run_trial` (same seeds, same online rule, no stop
criterion) and, at each checkpoint, scores ``sample`` fresh sequences with frozen weights:

* the error at the criterion steps (wrong = largest |c − y| ≥ the row's tolerance; mean |c − y|);
* the outputs there (mean, min and max per output unit) — a net whose outputs all sit near 0.5, or at 0
  and 1 whatever the sequence, has stopped carrying information to them;
* at every sequence's last step, the cell states s_c, h'(s_c) and the gate activations y^in, y^out — the
  symptoms of the 1997 paper's internal state drift [1997 §4]: |s_c| large, h'(s_c) ≈ 0, so that the
  error reaching the cell through (HB4) of :mod:`yetztml.cells.lstm1997`, e_s = y^out h'(s) e_{y^c} vanishes;
* the largest output weight from the cells, max |W_k|.

>>> from yetztml.experiments.lstm1997 import resolve_row
>>> from yetztml.experiments.lstm1997.probe import probe
>>> points = probe(resolve_row("2c-1"), trial=0, seed=0, checkpoints=[0, 200], sample=20)
>>> [p["sequences"] for p in points], sorted(points[0]["cells"])
([0, 200], ['h_prime_median', 's_abs_max', 's_abs_median'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...core.errors import OptionError, message
from ...core.validation import check_int
from ...learning.online1997_fast import CRITERION, evaluate
from .rows import Row
from .trial import _Run

#: Rows of the compiled kernel's state array read here (see ``online1997_fast._forward``).
_S, _H_PRIME, _Y_IN, _Y_OUT = 1, 3, 5, 8


def _sequence_ends(run: _Run, data, order: np.ndarray) -> dict[str, np.ndarray]:
    """s, h'(s) (n, N) and y^in, y^out (n, C) at the last step of each sequence of ``order``."""
    N, C = run.cell.num_cells, run.cell.num_blocks
    ends = {"s": np.zeros((order.size, N)), "h_prime": np.zeros((order.size, N)),
            "y_in": np.zeros((order.size, C)), "y_out": np.zeros((order.size, C))}
    st = run.net.state[0]
    for i, seq in enumerate(order):
        evaluate(run.net, data, order=np.array([seq], dtype=np.int64), trusted=True)
        ends["s"][i] = st[_S, :N]
        ends["h_prime"][i] = st[_H_PRIME, :N]
        ends["y_in"][i] = st[_Y_IN, :C]
        ends["y_out"][i] = st[_Y_OUT, :C]
    return ends


def _look(run: _Run, rng: np.random.Generator, sample: int) -> dict[str, Any]:
    data, order = run.source.chunk(rng, sample)
    order = np.arange(data.count, dtype=np.int64) if order is None else order
    outputs = np.zeros((data.steps, run.cell.output_size))
    rec = evaluate(run.net, data, order=order, outputs=outputs).records
    scored = outputs[(data.flags[: data.steps] & CRITERION) != 0]
    ends = _sequence_ends(run, data, order)
    cells = slice(run.net.Wk.shape[1] - 1 - run.cell.num_cells, run.net.Wk.shape[1] - 1)
    return {
        "sequences": int(run.seen),
        "wrong": int(np.count_nonzero(rec[:, 1] >= run.source.tolerance)),
        "sample": int(order.size),
        "mae": float(rec[:, 2].mean()),
        "outputs": {"mean": scored.mean(axis=0).tolist(), "min": scored.min(axis=0).tolist(),
                    "max": scored.max(axis=0).tolist()},
        "cells": {"s_abs_median": np.median(np.abs(ends["s"]), axis=0).tolist(),
                  "s_abs_max": np.abs(ends["s"]).max(axis=0).tolist(),
                  "h_prime_median": np.median(ends["h_prime"], axis=0).tolist()},
        "gates": {"y_in_mean": ends["y_in"].mean(axis=0).tolist(),
                  "y_out_mean": ends["y_out"].mean(axis=0).tolist()},
        "max_abs_output_weight": float(np.abs(run.net.Wk[:, cells]).max()),
    }


def probe(row: Row, trial: int, seed: int, checkpoints: Sequence[int], sample: int = 200) -> list[dict[str, Any]]:
    """Train trial ``trial`` of ``row`` from ``seed`` and describe the net at each checkpoint (sequences seen).

    ``checkpoints`` must increase; ``sample`` fresh sequences (the same ones at every checkpoint) are
    scored each time. Rows trained by a baseline method (RTRL, BPTT) and Exp 1/2a (training on a fixed
    pool, with sequential construction) are not probed: their nets are not plain online LSTM1997 runs.
    """
    thing = "probe"
    if row.method != "lstm" or row.protocol in ("reber",) or row.sequential:
        raise OptionError(message(f"{thing}(row)", "an LSTM row trained on a fresh stream (Exps 2c–6)", row.id))
    sample = check_int(f"{thing}(sample)", sample, minimum=1)
    points = [check_int(f"{thing}(checkpoints)", c, minimum=0) for c in checkpoints]
    if not points or any(b <= a for a, b in zip(points, points[1:], strict=False)):
        raise OptionError(message(f"{thing}(checkpoints)", "a non-empty increasing list", list(checkpoints)))
    run = _Run(row, trial, seed, max_sequences=points[-1])
    looks = []
    for point in points:
        while run.seen < point:
            run.train(min(run.chunk, point - run.seen))
        looks.append(_look(run, np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(trial, 7))),
                           sample))
    return looks


__all__ = ["probe"]
