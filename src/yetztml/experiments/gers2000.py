"""Gers, Schmidhuber & Cummins (2000), Table 2: the continual embedded Reber grammar (CERG).

The net [spec §5, G00-N]: 7 inputs, 4 memory blocks of 2 cells, 7 outputs; cell outputs feed cell inputs,
all gates and the outputs (``recurrent="cells"``); the inputs also feed the outputs (``shortcut``); gates
and outputs have biases; weights U[−0.2, 0.2]; input- and output-gate biases −0.5, −1.0, −1.5, −2.0,
forget-gate biases +0.5, +1.0, +1.5, +2.0 (424 weights with forget gates, 360 without). g, h as in 1997
(the paper's CERG squashing functions are unverified). Learning as the 1997 rows: online, after every
step, e_k = f'_k (t − y), Δw = α e y, α = 0.5, reset to 0.5 at the start of each training stream; with
"α decay" multiplied by 0.99 after every step of the stream.

Protocol. A training stream is embedded Reber strings one after another (no reset between them, except
in the "external reset" row, which resets activations and partials at every string's start); the target
of each step is the set of legal next symbols (multi-hot). A stream ends at the first step where an
output is 0.49 or more from its target (that step's weight change is made), or after 100,000 symbols.
After every training stream the net is tested on 10 test streams (no weight change, same ending rule);
"perfect" = all 10 reach 100,000 symbols; training stops there or after ``max_streams`` training streams
(the paper's 30,000). Nets are classed at their end: perfect, "good" (mean error-free test length
> 1000) or "rest". The paper averages 100 nets; ``--trials`` may run fewer, and ``max_steps`` caps the
total steps of a net (training and tests), which the result reports.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..cells.lstm1997 import LSTM1997
from ..cells.lstm_forget import LSTMForget
from ..core.errors import NonFiniteError, OptionError, message
from ..core.validation import check_int, check_seed
from ..learning.online1997_fast import CRITERION, ERROR, FastNet, Packed, evaluate, train_online
from ..tasks import reber
from . import progress
from .runner import TrialPlan, available_cores, check_counts, run_trials, write_result

#: A stream ends after this many symbols.
STREAM_LENGTH = 100_000
#: An output at distance >= this from its target is an error.
TOLERANCE = 0.49
#: Test streams after each training stream.
TEST_STREAMS = 10
#: Mean error-free test-stream length above which a non-perfect net is "good".
GOOD_LENGTH = 1000


def stream_chunk(rng: np.random.Generator, n_strings: int, reset: bool) -> Packed:
    """The next ``n_strings`` strings of a stream, one sequence (no reset) or one per string (reset)."""
    index, legal, starts = reber.packed(rng, n_strings)
    if not reset:
        starts = np.array([0, index.shape[0]], np.int64)
    flags = np.full(index.shape[0], ERROR | CRITERION, np.uint8)
    return Packed(np.zeros((0, 7)), index, legal, legal, flags, starts)


@dataclass(frozen=True)
class GersRow:
    """One row of Gers 2000 Table 2 and the paper's values (% of 100 nets; ⟨mean length⟩)."""

    id: str
    label: str
    forget: bool
    reset: bool
    decay: float  # α factor per step of a stream (1: none)
    state_decay: float | None  # fixed self-weight of the CEC (state decay row), or None
    paper: dict[str, Any]
    trials: int = 100
    alpha: float = 0.5
    max_streams: int = 30_000
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ROWS: dict[str, GersRow] = {
    r.id: r
    for r in [
        GersRow("reset", "Standard LSTM with external reset", False, True, 1.0, None,
                {"perfect_pct": 74, "perfect_streams": 7_441, "good_pct": 0, "rest_pct": 26, "rest_length": 31}),
        GersRow("standard", "Standard LSTM", False, False, 1.0, None,
                {"perfect_pct": 0, "good_pct": 1, "good_length": 1_166, "rest_pct": 99, "rest_length": 37}),
        GersRow("state-decay", "LSTM with state decay (0.9)", True, False, 1.0, 0.9,
                {"perfect_pct": 0, "good_pct": 0, "rest_pct": 100, "rest_length": 56},
                notes="state decay as a forget gate frozen at 0.9 (W_phi = 0, b_phi = ln 9, untrained)"),
        GersRow("forget", "LSTM with forget gates", True, False, 1.0, None,
                {"perfect_pct": 18, "perfect_streams": 18_889, "good_pct": 29, "good_length": 39_171,
                 "rest_pct": 53, "rest_length": 145}),
        GersRow("forget-decay", "LSTM with forget gates and sequential α decay", True, False, 0.99, None,
                {"perfect_pct": 62, "perfect_streams": 14_087, "good_pct": 6, "good_length": 68_464,
                 "rest_pct": 32, "rest_length": 30}),
    ]
}


def get_row(name: str) -> GersRow:
    if name not in ROWS:
        raise OptionError(message("Gers 2000 row", "one of " + ", ".join(repr(r) for r in ROWS), repr(name)))
    return ROWS[name]


def print_rows() -> None:
    print("Gers, Schmidhuber & Cummins 2000, Table 2 (CERG); select with --row NAME:")
    for r in ROWS.values():
        print(f"  {r.id:<13} {r.label:<48} paper: " + ", ".join(f"{k}={v}" for k, v in r.paper.items()))


def build_net(row: GersRow, rng: np.random.Generator) -> FastNet:
    """The CERG net of the row, weights U[−0.2, 0.2], the blockwise gate-bias inits."""
    common = dict(recurrent="cells", shortcut=True, bias={"gates", "outputs"}, init_range=0.2,
                  input_gate_bias=[-0.5, -1.0, -1.5, -2.0], output_gate_bias=[-0.5, -1.0, -1.5, -2.0], seed=rng)
    if row.forget:
        cell = LSTMForget(7, 4, 2, 7, forget_gate_bias=[0.5, 1.0, 1.5, 2.0], **common)
    else:
        cell = LSTM1997(7, 4, 2, 7, **common)
    if row.state_decay is not None:
        cell.params["W_phi"][...] = 0.0
        cell.params["b_phi"][...] = math.log(row.state_decay / (1.0 - row.state_decay))
    net = FastNet(cell)
    if row.state_decay is not None:
        net.set_trainable("phi", False)
    return net


@dataclass
class _Budget:
    max_steps: int | None
    used: int = 0
    exhausted: bool = field(default=False)

    def spend(self, steps: int) -> None:
        self.used += steps
        if self.max_steps is not None and self.used >= self.max_steps:
            self.exhausted = True


def _stream(net: FastNet, row: GersRow, rng: np.random.Generator, train: bool, budget: _Budget) -> int:
    """One stream: train (or test) until the first error or STREAM_LENGTH symbols; its error-free length."""
    length, count, strings, first = 0, 0, 4, True
    while length < STREAM_LENGTH:
        data = stream_chunk(rng, strings, row.reset)
        strings = min(4 * strings, 4096)
        room = STREAM_LENGTH - length
        if data.steps > room:  # cut the stream at exactly STREAM_LENGTH symbols
            if row.reset:
                starts = np.append(data.starts[data.starts < room], room).astype(np.int64)
            else:
                starts = np.array([0, room], np.int64)
            data = Packed(data.x, data.index[:room], data.targets[:room], data.criterion_targets[:room],
                          data.flags[:room], starts)
        keep = not first and not row.reset
        if train:
            out = train_online(net, data, lr=row.alpha, decay=row.decay, reset_count=False, count=count,
                               stop_tolerance=TOLERANCE, continue_state=keep, trusted=True)
            count = out.count
        else:
            out = evaluate(net, data, stop_tolerance=TOLERANCE, continue_state=keep, trusted=True)
        steps = int(out.records[:, 3].sum())
        budget.spend(steps)
        if out.reason == "error":
            return length + steps - 1
        length += steps
        first = False
        if budget.exhausted:
            break
    return length


def _tests(net: FastNet, row: GersRow, rng: np.random.Generator, budget: _Budget) -> list[int]:
    """The error-free lengths of TEST_STREAMS fresh test streams (no weight change).

    Each stream has its own generator (seeded from ``rng``). Without external reset, the first 8 strings
    of all streams are scored in one call, each ending at its first error; a stream still error-free at
    the end of those strings is scored again in full from its own generator (same strings, same result).
    """
    seeds = rng.integers(0, 2**63, size=TEST_STREAMS)
    if row.reset:
        return [_stream(net, row, np.random.default_rng(s), False, budget) for s in seeds]
    parts = [stream_chunk(np.random.default_rng(s), 8, False) for s in seeds]
    starts = np.concatenate([[0], np.cumsum([p.steps for p in parts])]).astype(np.int64)
    index = np.concatenate([p.index for p in parts])
    legal = np.concatenate([p.targets for p in parts])
    flags = np.concatenate([p.flags for p in parts])
    out = evaluate(net, Packed(np.zeros((0, 7)), index, legal, legal, flags, starts), stop_tolerance=TOLERANCE,
                   trusted=True, stop_each=True)
    budget.spend(int(out.records[:, 3].sum()))
    lengths = []
    for i, s in enumerate(seeds):
        steps = int(out.records[i, 3])
        if steps < parts[i].steps:
            lengths.append(steps - 1)  # the error came at step ``steps``
        else:
            lengths.append(_stream(net, row, np.random.default_rng(s), False, budget))
    return lengths


def run_net(row: GersRow, trial: int, seed: int, max_streams: int | None = None,
            max_steps: int | None = None) -> dict[str, Any]:
    """Train one net by the protocol of the module docstring; its JSON record."""
    started = time.perf_counter()
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(trial,))
    init, train, test = (np.random.default_rng(s) for s in ss.spawn(3))
    net = build_net(row, init)
    cap = row.max_streams if max_streams is None else int(max_streams)
    budget = _Budget(max_steps)
    streams, perfect, lengths, curve = 0, False, [], {"sequences": [], "mae": [], "wrong_fraction": [], "sse": []}
    train_lengths = []
    diverged = None
    while streams < cap and not budget.exhausted:
        try:
            train_lengths.append(_stream(net, row, train, True, budget))
        except NonFiniteError as err:  # the weights blew up: the net ends here, recorded as such
            diverged = str(err)
            lengths = [0] * TEST_STREAMS
            break
        streams += 1
        lengths = _tests(net, row, test, budget)
        progress.report(trial, streams, cap, f"mean test length {statistics.fmean(lengths):,.0f}", unit="streams")
        if streams % max(1, cap // 200) == 0 or min(lengths) >= STREAM_LENGTH:
            curve["sequences"].append(streams)
            curve["mae"].append(statistics.fmean(lengths))
            curve["wrong_fraction"].append(statistics.fmean(train_lengths[-max(1, cap // 200):]))
            curve["sse"].append(0.0)
        if min(lengths) >= STREAM_LENGTH:
            perfect = True
            break
    mean_len = statistics.fmean(lengths) if lengths else 0.0
    cls = "perfect" if perfect else ("good" if mean_len > GOOD_LENGTH else "rest")
    reason = "criterion" if perfect else "diverged" if diverged else "steps cap" if budget.exhausted else "cap"
    wall = time.perf_counter() - started
    return {
        "trial": int(trial), "seed": int(seed), "success": perfect, "sequences": streams, "streams": streams,
        "class": cls, "test_length_mean": mean_len, "test_lengths": lengths,
        "reason": reason,
        "steps": budget.used, "wall_s": wall, "us_per_step": 1e6 * wall / max(1, budget.used),
        "weights": net.cell.num_weights, "curve": curve,
    }


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """% perfect / good / rest, mean streams to perfect, mean error-free lengths of good and rest nets."""
    n = len(records)
    out: dict[str, Any] = {"trials": n, "capped_by_steps": sum(r["reason"] == "steps cap" for r in records)}
    for cls in ("perfect", "good", "rest"):
        part = [r for r in records if r["class"] == cls]
        out[f"{cls}_pct"] = 100.0 * len(part) / n if n else math.nan
        if cls == "perfect" and part:
            out["perfect_streams_mean"] = statistics.fmean(r["streams"] for r in part)
        if cls != "perfect" and part:
            out[f"{cls}_length_mean"] = statistics.fmean(r["test_length_mean"] for r in part)
    out["success_pct"] = out["perfect_pct"]
    out["wall_s_total"] = sum(r["wall_s"] for r in records)
    out["us_per_step"] = 1e6 * out["wall_s_total"] / max(1, sum(r["steps"] for r in records))
    return out


def _net(trial: int, row: GersRow, seed: int, max_streams: int | None, max_steps: int | None) -> dict[str, Any]:
    return run_net(row, trial, seed, max_streams, max_steps)


#: Fields every net's record has (checked when records are read back for a resume).
REQUIRED = {"success": bool, "streams": int, "class": str, "test_length_mean": (int, float), "reason": str,
            "steps": int, "wall_s": (int, float)}


def trial_plan(row: GersRow, seed: int = 0, max_streams: int | None = None,
               max_steps: int | None = None) -> TrialPlan:
    """The nets of ``row`` as the runner runs them (net i from the seed sequence (seed, i)): what
    :func:`reproduce` and ``yetztml sweep`` hand to a backend."""
    config = {"paper": "gers2000", "row": row.to_dict(), "seed": int(seed),
              "max_streams": max_streams or row.max_streams, "max_steps": max_steps}
    return TrialPlan(_net, {"row": row, "seed": seed, "max_streams": max_streams, "max_steps": max_steps},
                     config, REQUIRED)


def reproduce(row: GersRow, *, trials: int | None = None, seed: int = 0, out: str | Path, jobs: int | None = None,
              max_streams: int | None = None, max_steps: int | None = None, on_record=None,
              on_progress=None, backend=None) -> dict[str, Any]:
    """Train ``trials`` nets (default 100) of ``row`` into ``out`` (resumable); write ``out/result.json``.
    ``on_record``, ``on_progress`` and ``backend`` (default: local processes, ``jobs`` at a time) are passed
    to :func:`yetztml.experiments.runner.run_trials`."""
    seed = check_seed("seed", seed)
    trials, caps = check_counts(trials, row.trials, max_streams=max_streams, max_steps=max_steps)
    jobs = available_cores() if jobs is None else check_int("jobs", jobs, minimum=1)
    plan = trial_plan(row, seed, **caps)
    started = time.perf_counter()
    records = run_trials(plan.fn, trials, out, plan.config, plan.kwargs, jobs, on_record, on_progress=on_progress,
                         backend=backend, required=plan.required)
    head = {
        "paper": "Gers, Schmidhuber & Cummins 2000",
        "row": row.id, "table": 2, "experiment": "CERG", "label": row.label,
        "variant": {"name": "as-written", "summary": "the spec's setup (§5)", "reason": "Gers 2000 Table 2"},
    }
    about = {
        "conventions": {
            "learning_rate": "α = 0.5 as in 1997 eqs. 19–28 (e_k = f'(t − y), Δw = α e y), reset per stream"
                             + (f", × {row.decay} per step" if row.decay != 1.0 else ""),
            "update": "online, after every step",
            "reset": "at every string start" if row.reset else "only at the start of a stream",
        },
        "paper_values": row.paper,
        "curve_x": "training streams",
        "curve_y": "mean error-free length of the 10 test streams",
    }
    config = {**plan.config, "trials": trials, "jobs": jobs, "max_sequences": plan.config["max_streams"]}
    return write_result(out, head=head, config=config, about=about, summary=summarize(records), records=records,
                        seconds=time.perf_counter() - started)


__all__ = ["REQUIRED", "ROWS", "GersRow", "build_net", "get_row", "print_rows", "reproduce", "run_net",
           "stream_chunk", "summarize", "trial_plan"]
