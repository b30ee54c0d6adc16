"""Input and output weight conflict [1997 §3.2]: what every time step tells one weight, measured exactly.

**Task** (store and protect; T steps, three input units: value, marker, and a bias unit that is always 1)::

    (WC1) input  conflict: x_value(0) = ±1 (the relevant input), x_value(t) ~ U[−1, 1] for t ≥ 1 (irrelevant
                           inputs on the same connection), x_marker(0) = 1; target d(T−1) = x_value(0), the
                           only step with a target
          output conflict: x_value(0) = ±1, x_value(t) = 0 for t ≥ 1, x_marker(T−1) = 1 (the query);
                           targets d(t) = 0 for t < T−1 (stay silent), d(T−1) = x_value(0)

A bias is the weight from the bias unit (the paper's "bias units"), so every quantity below is a weight on
a source that is read at every step. **Loss and per-step contributions** (u(t) the source vector of the
unit r fed by weight w = w_ri; δ_r(t) = ∂E/∂net_r(t) from the net's own backward)::

    (WC2) E = Σ_t m(t) (y(t) − d(t))²   per sequence, m(t) = 1 at steps with a target        [1997 eq. 16]
    (WC3) ∂E/∂w_ri = Σ_t c_t,   c_t = δ_r(t) u_i(t)   the term step t adds in (BB10) resp. (UB3)/(NC4)
    (WC4) p_t = (1/M) Σ_b c_t^b   (mean over M sequences),   G = Σ_t p_t
    (WC5) ρ = Σ_t |p_t| [p_t G < 0] / Σ_t |p_t|   the share of the per-step signal opposing the update

c_t is read from the backward itself: the backward uses the sources u (LSTM1997: u, v; the naive unit:
x, s) only in the outer products (WC3), so the same backward on a trace whose sources are zero except at
step t returns exactly c_t (:func:`per_step`); the tests check Σ_t c_t against the ordinary backward and
each c_t against finite differences of the loss with the weight perturbed at step t alone.

**The naive unit** (:class:`~yetztml.analysis.naive_cec.NaiveCEC`: s(t) = s(t−1) + Σ_i w_ji x_i(t),
y(t) = w_kj s(t)). With a = w_kj w_ji(value) and σ² = 1/3 the variance of U[−1, 1], the expectations are::

    (WC6) input,  w_ji(value): p_0 = 2 w_kj (a − 1)  (store),   p_t = 2 w_kj a σ²  for t ≥ 1  (protect)
          G = 0 at a* = 3/(T + 2), where E = 1 − a* = (T − 1)/(T + 2); ρ → 1/2 as G → 0
    (WC7) output, w_kj: p_t = 2 w_kj (w_ji² + c_t²) for t < T−1 (protect: be silent),
                        p_{T−1} = 2 (w_kj (w_ji² + c²) − w_ji)  (retrieve),   c_t = s(t) − w_ji x_value(0)
          with c ≡ 0: G = 0 at a* = 1/T, where E = (T − 1)/T; ρ → 1/2 as G → 0

so gradient descent stops where the store (retrieve) step and the protect steps cancel: half the signal
opposes the other half and the loss stays near (T−1)/(T+2) (resp. (T−1)/T) of the trivial baseline 1.

**The 1997 memory cell** (LSTM1997, one block of one cell, u = x): for the input conflict without output
gate, y^in(t) multiplies every c_t of W_c (eq. B6), so once the gate is shut after the marker the cell's
input weight hears only the store step; the opposing signals reach the gate's weights instead, where they
are the timing: open at t = 0, closed after. For the output conflict y^out(t) multiplies h(s(t)) on its
way to W_k the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells.base import Cell, Trace
from ..core.rng import make_rng
from ..core.validation import check_choice, check_int
from .naive_cec import NaiveCEC

KINDS = ("input", "output")
CHANNELS = ("value", "marker", "bias")
NOISE_VARIANCE = 1.0 / 3.0  # Var U[−1, 1]
TOLERANCE = 0.25  # success: every target within 0.25 [1997 §5, Exp. 2 criterion]


def conflict_batch(kind: str, rng: np.random.Generator, steps: int, batch: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(WC1): inputs (T, B, 3) [value, marker, bias], targets (T, B, 1), mask (T, B) of the steps with a target.

    >>> x, d, m = conflict_batch("output", np.random.default_rng(0), 4, 1)
    >>> x[:, 0].tolist()                       # [value, marker, bias] per step
    [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    >>> d[:, 0, 0].tolist(), m[:, 0].tolist()  # silent until the query, then the value
    ([0.0, 0.0, 0.0, 1.0], [True, True, True, True])
    """
    check_choice("conflict task", kind, KINDS)
    steps = check_int("conflict task steps", steps, minimum=2)
    batch = check_int("conflict task batch", batch, minimum=1)
    signal = rng.choice([-1.0, 1.0], size=batch)
    x = np.zeros((steps, batch, 3))
    x[:, :, 2] = 1.0  # the bias unit
    x[0, :, 0] = signal  # the relevant input
    targets = np.zeros((steps, batch, 1))
    targets[-1, :, 0] = signal
    if kind == "input":
        x[1:, :, 0] = rng.uniform(-1.0, 1.0, size=(steps - 1, batch))  # irrelevant inputs, same connection
        x[0, :, 1] = 1.0  # "store now"
        mask = np.zeros((steps, batch), dtype=bool)
        mask[-1] = True
    else:
        x[-1, :, 1] = 1.0  # "answer now"
        mask = np.ones((steps, batch), dtype=bool)  # silent (d = 0) until the last step
    return x, targets, mask


# -- the nets --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    """A scalar weight whose per-step contributions are reported: ``params[name][index]``."""

    label: str
    name: str
    index: tuple[int, int]


def naive_net(kind: str, seed: int) -> tuple[Cell, tuple[str, ...], list[Probe]]:
    """The naive unit, the trace fields that hold its sources, and the probes (the weight in question first)."""
    net = NaiveCEC(3, 1, init_range=0.1, seed=seed)
    if kind == "input":
        probes = [Probe(f"w_ji[{c}]", "w_ji", (0, i)) for i, c in enumerate(CHANNELS)]
    else:
        probes = [Probe("w_kj", "w_kj", (0, 0))]
    return net, ("x", "y"), probes


def gated_net(kind: str, seed: int) -> tuple[Cell, tuple[str, ...], list[Probe]]:
    """LSTM1997, one block of one cell, u = x; input gate (input conflict) or input and output gate (output
    conflict) starting at bias −2 (mostly shut, as the paper's negative gate biases [1997 §4]); linear output."""
    from ..cells.lstm1997 import LSTM1997

    cell = LSTM1997(3, 1, 1, 1, recurrent="none", bias="none", output="identity", output_gate=kind == "output",
                    init_range=0.1, seed=seed)
    gate = "W_in" if kind == "input" else "W_out"
    cell.params[gate][0, 2] = -2.0  # the gate's bias (weight from the bias unit)
    first = Probe("W_c[value]", "W_c", (0, 0)) if kind == "input" else Probe("W_k", "W_k", (0, 0))
    gates = [Probe(f"{gate}[{c}]", gate, (0, i)) for i, c in enumerate(CHANNELS)]
    return cell, ("u", "v"), [first, *gates]


# -- (WC3)–(WC5) -----------------------------------------------------------------------------------------
def loss_gradient(cell: Cell, x: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> tuple[Trace, float, np.ndarray]:
    """Forward, the mean over sequences of (WC2), and its gradient with respect to the outputs."""
    from ..learning.losses import squared_error

    trace = cell.forward(x)
    value, d_outputs = squared_error(trace.outputs, targets, mask=mask)  # (WC2)
    batch = x.shape[1]
    return trace, value / batch, d_outputs / batch


def per_step(cell: Cell, trace: Trace, d_outputs: np.ndarray, sources: tuple[str, ...]) -> list[dict[str, np.ndarray]]:
    """(WC3)–(WC4) c_t for every parameter, step by step: the cell's backward with the ``sources`` fields of
    the trace zeroed at every step but t. Sums over t to ``cell.backward(trace, d_outputs)``."""
    steps = trace.x.shape[0]
    out = []
    for t in range(steps):
        only_t = {}
        for field in sources:
            array = getattr(trace, field)
            keep = np.zeros_like(array)
            keep[t] = array[t]
            only_t[field] = keep
        out.append(dict(cell.backward(dataclasses.replace(trace, **only_t), d_outputs)))  # (WC3)
    return out


def opposing_fraction(per_step_values: np.ndarray) -> float:
    """(WC5) the share of Σ_t |p_t| carried by steps whose sign opposes G = Σ_t p_t (0.0 if all are zero)."""
    p = np.asarray(per_step_values, dtype=np.float64)
    total, size = float(np.sum(p)), float(np.sum(np.abs(p)))
    if size == 0.0:
        return 0.0
    return float(np.sum(np.abs(p[p * total < 0.0])) / size)  # (WC5)


def measure(cell: Cell, sources: tuple[str, ...], probes: list[Probe], data: tuple[np.ndarray, ...]
            ) -> dict[str, Any]:
    """Loss, per-step contributions p_t, G and ρ of every probe on a fixed evaluation set."""
    trace, value, d_outputs = loss_gradient(cell, *data)
    steps = per_step(cell, trace, d_outputs, sources)
    out: dict[str, Any] = {"loss": value, "weights": {}}
    for probe in probes:
        p = np.array([c[probe.name][probe.index] for c in steps])  # (WC4)
        out["weights"][probe.label] = {"value": float(cell.params[probe.name][probe.index]),
                                       "per_step": p.tolist(), "gradient": float(p.sum()),
                                       "opposing_fraction": opposing_fraction(p)}
    return out


def solved(cell: Cell, data: tuple[np.ndarray, ...]) -> tuple[bool, float]:
    """Whether every target of the evaluation set is met within :data:`TOLERANCE`; the largest error."""
    x, targets, mask = data
    error = float(np.max(np.abs(cell.forward(x).outputs - targets)[mask]))
    return error < TOLERANCE, error


# -- training ------------------------------------------------------------------------------------------
def train(cell: Cell, sources: tuple[str, ...], probes: list[Probe], kind: str, steps: int, seed: int,
          evaluation: tuple[np.ndarray, ...], budget: int, every: int, batch: int = 16, lr: float = 0.01
          ) -> dict[str, Any]:
    """Adam through :class:`~yetztml.learning.Trainer` (loss (WC2), full BPTT, one update per batch) for at
    most ``budget`` updates, stopping when :func:`solved`; per-step contributions every ``every`` updates."""
    from ..learning import Adam, Trainer  # imported here: the CLI loads this module to list the scenarios

    checkpoints = [{"updates": 0, **measure(cell, sources, probes, evaluation)}]
    state = {"solved": solved(cell, evaluation)[0]}

    def watch(step: int, loss: float, net: Cell) -> bool:
        done = step + 1
        if done % every and done != budget:
            return False
        checkpoints.append({"updates": done, **measure(net, sources, probes, evaluation)})
        state["solved"] = solved(net, evaluation)[0]
        return state["solved"]

    data: Callable[[np.random.Generator], tuple] = lambda rng: conflict_batch(kind, rng, steps, batch)
    trainer = Trainer(cell, data, optimiser=Adam(cell.params, lr=lr), loss="squared_error", method="bptt",
                      update="batch", callbacks=[] if state["solved"] else [watch], progress=False, seed=seed)
    history = trainer.run(0 if state["solved"] else budget)
    return {"checkpoints": checkpoints, "losses": [v / batch for v in history.losses],
            "updates": trainer.clock.updates, "solved": state["solved"], "max_error": solved(cell, evaluation)[1]}


def conflict(kind: str, steps: int, seed: int, sequences: int = 500, budget: int = 3000, every: int = 100
             ) -> dict[str, dict[str, Any]]:
    """Both nets on the ``kind`` task with T = ``steps``, measured on one evaluation set of ``sequences``
    sequences before training, every ``every`` updates and at the end; ``{"naive": …, "gated": …}``."""
    check_choice("conflict kind", kind, KINDS)
    steps = check_int("conflict steps", steps, minimum=3)
    every = check_int("conflict every", every, minimum=1)
    budget = check_int("conflict budget", budget, minimum=every)
    rng = make_rng(seed)
    evaluation = conflict_batch(kind, rng, steps, sequences)
    init_seed, data_seed = (int(s) for s in rng.integers(2**31, size=2))
    out: dict[str, dict[str, Any]] = {}
    for name, build in (("naive", naive_net), ("gated", gated_net)):
        cell, sources, probes = build(kind, init_seed)
        run = train(cell, sources, probes, kind, steps, data_seed, evaluation, budget, every)
        start, end = run["checkpoints"][0], run["checkpoints"][-1]
        main = probes[0].label
        out[name] = {
            "weight": main, "opposing_fraction": end["weights"][main]["opposing_fraction"],
            "per_step": end["weights"][main]["per_step"], "solved": run["solved"], "updates": run["updates"],
            "max_error": run["max_error"], "final_loss": end["loss"], "losses": run["losses"],
            "start": start, "end": end,
            "trajectory": {"updates": [c["updates"] for c in run["checkpoints"]],
                           "loss": [c["loss"] for c in run["checkpoints"]],
                           **{p.label: [c["weights"][p.label]["opposing_fraction"] for c in run["checkpoints"]]
                              for p in probes}},
            "params": {k: v.tolist() for k, v in cell.params.items()},
        }
    out["naive"]["balance"] = balance(kind, steps, out["naive"]["params"])
    return out


def balance(kind: str, steps: int, params: dict[str, list]) -> dict[str, float]:
    """Where (WC6)/(WC7) put the naive unit's standstill, beside the product a = w_kj w_ji(value) it reached."""
    a = float(params["w_kj"][0][0] * params["w_ji"][0][0])
    a_star = 3.0 / (steps + 2) if kind == "input" else 1.0 / steps  # (WC6) / (WC7)
    return {"a": a, "a_star": a_star, "loss_at_balance": 1.0 - a_star}


SUMMARIES = {
    "input": "one weight must store x(0) and ignore x(1…): naive CEC unit vs LSTM1997 with input gate",
    "output": "one weight must answer at T−1 and stay silent before: naive CEC unit vs LSTM1997 with output gate",
}


def _scenario(kind: str, lags: int, seed: int) -> dict[str, Any]:
    """The registered scenario: T = lags + 1 steps (the relevant input lies ``lags`` steps before the target),
    in the result schema of :mod:`.scenarios`; its ``flow`` is the naive CEC's scaling factor, exactly 1.0."""
    from .errorflow import error_flow
    from .linearise import linearise

    steps = lags + 1
    out = conflict(kind, steps, seed)
    unit = NaiveCEC(3, 1, seed=0)._unit()
    flow = error_flow(linearise(unit, unit.forward(conflict_batch(kind, make_rng(seed), steps, 1)[0])), lags)
    log_flow = flow.curves["net"].log10_max
    naive, gated = out["naive"], out["gated"]
    checks = {"naive_solved": naive["solved"], "gated_solved": gated["solved"],
              "naive_opposing_fraction": naive["opposing_fraction"],
              "gated_opposing_fraction": gated["opposing_fraction"],
              "naive_final_loss": naive["final_loss"], "gated_final_loss": gated["final_loss"],
              "naive_predicted_loss_at_balance": naive["balance"]["loss_at_balance"],
              "gated_updates": gated["updates"]}
    return {
        "scenario": f"{kind}-conflict", "summary": SUMMARIES[kind],
        "definition": "p_t = mean over sequences of step t's term of ∂E/∂w (WC3)–(WC4); opposing fraction (WC5)",
        "config": {"kind": kind, "steps": steps, "inputs": list(CHANNELS), "evaluation_sequences": 500,
                   "max_updates": 3000, "batch": 16, "optimiser": "Adam lr 0.01", "loss": "squared_error",
                   "criterion": f"every target within {TOLERANCE}", "gate_bias": -2.0},
        "lags": list(range(1, lags + 1)), "flow": np.power(10.0, log_flow).tolist(),
        "log10_flow": log_flow.tolist(), "bound": None, "log10_bound": None,
        "flow_label": "naive CEC: ∂ϑ_s(t−q)/∂ϑ_s(t)", "curves": {}, "pairs": [], "gates": None,
        "checks": checks, "naive": naive, "gated": gated,
    }


def input_conflict(lags: int, seed: int) -> dict[str, Any]:
    """The ``input-conflict`` scenario (see :func:`_scenario`)."""
    return _scenario("input", lags, seed)


def output_conflict(lags: int, seed: int) -> dict[str, Any]:
    """The ``output-conflict`` scenario (see :func:`_scenario`)."""
    return _scenario("output", lags, seed)
