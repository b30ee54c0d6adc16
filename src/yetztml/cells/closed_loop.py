"""The LSTM modulator stepped inside a feedback loop, shared by the closed-loop models.

A closed-loop model [Naumann, Keijser & Sprekeler 2022, Eq. 4–10] runs a feedforward network from stimuli
x_t to outputs y_t whose gains are set one step late by an LSTM that listens to x_t and y_t. Because y_t
depends on the gains and the gains on earlier LSTM outputs, the LSTM advances one sample at a time inside
the loop. This module holds the parts every closed-loop model
shares (parameters in PyTorch's layout, state, validation). The models are in ``modulation.py``,
``spatial.py`` and ``dale.py``.

The LSTM step (its equations (CL1)–(CL5), backward (CLB1)–(CLB5) and weight gradients (CLW), storage layout
and speed notes) is in :mod:`yetztml.cells.closed_loop_lstm`; σ and tanh, exact or fast, come from
:mod:`yetztml.core.squash` ((A2), (A4)), re-exported here as ``fast_tanh`` and ``squash`` for the models.
"""

from __future__ import annotations

import abc
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, NamedTuple

import numpy as np

from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.rng import make_rng
from ..core.squash import TANH_CLAMP
from ..core.squash import squash_inplace as squash
from ..core.squash import tanh_fine as fast_tanh
from ..core.validation import check_array, check_choice, check_float, check_int, check_sizes
from .base import Cell, Grads, Trace
from .closed_loop_lstm import (
    lstm_backward_start,
    lstm_start,
    lstm_step,
    lstm_step_backward,
    lstm_weight_grads,
)

#: LSTM input choices [Naumann et al. 2022, Fig. 2d]: both stimulus and output, stimulus only, output only.
LSTM_INPUTS = ("xy", "x", "y")
INPUT_CODES = {"xy": 0, "x": 1, "y": 2}

class Workspace:
    """Arrays reused from one forward/backward call to the next (training calls them thousands of times).

    A fresh array of tens of megabytes costs a page fault per 4 KiB on first touch, which for the paper's
    sizes (T = 1000, B = 32, H = 100) took longer than the arithmetic. Pass one ``Workspace`` to every
    ``forward``/``backward`` of a training loop; a trace built in a workspace is valid until the next
    ``forward`` that uses the same workspace.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._children: dict[int, Workspace] = {}
        self.forwards = 0  # forward calls that used it; a trace records its number

    def child(self, index: int) -> Workspace:
        """The workspace of batch chunk ``index`` when a batch is split over threads."""
        if index not in self._children:
            self._children[index] = Workspace()
        return self._children[index]

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array ``name`` of this shape and dtype, reused when the last one fits.

        A reused array is made writable again (a trace seals its arrays, :mod:`yetztml.cells.sealing`); the
        trace that held it is then refused by ``backward`` (``forwards`` counts the traces)."""
        arr = self._arrays.get(name)
        if arr is None or arr.shape != shape or arr.dtype != dtype:
            arr = np.empty(shape, dtype=dtype)
            self._arrays[name] = arr
        elif not arr.flags.writeable:
            arr.flags.writeable = True
        return arr

    @property
    def nbytes(self) -> int:
        """Total size of the arrays held (chunk workspaces included)."""
        own = sum(a.nbytes for a in self._arrays.values())
        return int(own + sum(c.nbytes for c in self._children.values()))


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``threads`` worker threads (the kernels release the GIL)."""
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="yetztml-loop")
    return _POOLS[threads]


def _forget_pools() -> None:
    """In a child made by ``fork`` the parent's pool threads do not exist: its first pool is made afresh
    (otherwise a multi-threaded forward pass there waits for workers that never run)."""
    _POOLS.clear()


os.register_at_fork(after_in_child=_forget_pools)


def batch_chunks(batch: int, threads: int) -> list[slice]:
    """Split ``batch`` trials into at most ``threads`` contiguous, nearly equal chunks."""
    n = max(1, min(threads, batch))
    edges = np.linspace(0, batch, n + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


class LoopState(NamedTuple):
    """State of a closed-loop model: LSTM (h, c), each (B, H), and the modulation state ``mod``."""

    h: np.ndarray
    c: np.ndarray
    mod: np.ndarray


#: Parameter names of the authors' PyTorch modules (``rec_net`` = nn.LSTM, ``hidden2out`` = nn.Linear).
TORCH_NAMES = {
    "weight_ih": "rec_net.weight_ih_l0",
    "weight_hh": "rec_net.weight_hh_l0",
    "bias_ih": "rec_net.bias_ih_l0",
    "bias_hh": "rec_net.bias_hh_l0",
    "weight_out": "hidden2out.weight",
    "bias_out": "hidden2out.bias",
}


class ClosedLoopModel(Cell, abc.ABC):
    """Shared machinery of the closed-loop models: LSTM parameters, state, validation.

    Subclasses set ``n_feedback`` (the readout size U), their fixed weights in ``self.fixed`` and any
    trainable feedforward weights in ``self.params``, and implement ``_run`` and ``_run_backward``.
    """

    name = "closed-loop"

    def __init__(
        self,
        n_sources: int,
        hidden_size: int,
        n_feedback: int,
        lstm_input: str,
        seed,
        dtype: object,
        fast_tanh: bool,
    ) -> None:
        cls = type(self).__name__
        n_sources, hidden_size = check_sizes(cls, n_sources=n_sources, hidden_size=hidden_size)
        super().__init__(n_sources, n_sources, dtype)
        self.n_sources = n_sources
        self.hidden_size = hidden_size
        self.n_feedback = int(n_feedback)
        self.lstm_input = str(check_choice(f"{cls}(lstm_input=...)", lstm_input, LSTM_INPUTS))
        if not isinstance(fast_tanh, (bool, np.bool_)):
            raise DTypeError(message(f"{cls}(fast_tanh=...)", "True or False", repr(fast_tanh)))
        self.fast_tanh = bool(fast_tanh)
        self.lstm_input_size = 2 * n_sources if self.lstm_input == "xy" else n_sources
        self.rng = make_rng(seed)
        self.fixed: dict[str, np.ndarray] = {}
        H = hidden_size
        bound = 1.0 / math.sqrt(H)
        draw = lambda shape: self.rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        # PyTorch's defaults: nn.LSTM U(±1/√H) for every tensor, nn.Linear(H, U) U(±1/√H).
        self.params["weight_ih"] = draw((4 * H, self.lstm_input_size))
        self.params["weight_hh"] = draw((4 * H, H))
        self.params["bias_ih"] = draw((4 * H,))
        self.params["bias_hh"] = draw((4 * H,))
        self.params["weight_out"] = draw((self.n_feedback, H))
        self.params["bias_out"] = draw((self.n_feedback,))

    # -- names and state --------------------------------------------------------------------------------
    @property
    def torch_names(self) -> dict[str, str]:
        """Map from ``params`` keys to the parameter names of the authors' PyTorch modules."""
        return {k: v for k, v in self._torch_names().items() if k in self.params}

    def _torch_names(self) -> dict[str, str]:
        return dict(TORCH_NAMES)

    def astype(self, dtype: object) -> ClosedLoopModel:
        """A copy with parameters and fixed weights cast to ``dtype`` (float32 or float64)."""
        other = super().astype(dtype)
        other.fixed = {k: v.astype(other.dtype) for k, v in self.fixed.items()}
        return other

    @abc.abstractmethod
    def zero_state(self, batch: int):
        """The state at the start of a run (a NamedTuple of (B, ·) arrays)."""

    def lstm_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """W = [W_hh | W_ih | b_ih + b_hh] (4H, K = H+I_l+1) and its transpose, both C-contiguous."""
        p = self.params
        bias = (p["bias_ih"] + p["bias_hh"])[:, None]
        W = np.ascontiguousarray(np.concatenate([p["weight_hh"], p["weight_ih"], bias], axis=1))
        return W, np.ascontiguousarray(W.T)

    # -- validation -------------------------------------------------------------------------------------
    def _prepare(self, x, state, freeze):
        """Validate inputs; return x (T, B, I) contiguous, the initial state (copies) and freeze (T,) uint8."""
        cls = type(self).__name__
        self._check_params_finite()
        x = self._check_input(x)
        T, B, _ = x.shape
        template = self.zero_state(B)
        if state is None:
            state = template
        else:
            state = self._check_state(f"{cls}.forward(state)", state, template)
            state = type(template)(*[np.array(a, dtype=self.dtype, copy=True) for a in state])
        if freeze is None:
            frozen = np.zeros(T, dtype=np.uint8)
        else:
            if not isinstance(freeze, np.ndarray) or freeze.dtype != np.bool_:
                raise DTypeError(
                    message(f"{cls}.forward(freeze)", "a numpy bool array (T,)", type(freeze).__name__,
                            "Pass e.g. np.zeros(T, dtype=bool) with True where the feedback is frozen.")
                )
            if freeze.shape != (T,):
                raise ShapeError(message(f"{cls}.forward(freeze)", f"shape ({T},)", f"shape {freeze.shape}"))
            frozen = freeze.astype(np.uint8)
        return x, state, frozen

    def _prepare_backward(self, trace: Trace, d_outputs, d_final_state, d_u):
        cls = type(self).__name__
        if not isinstance(trace, Trace) or trace.extras.get("model") is not self:
            raise OptionError(
                message(f"{cls}.backward(trace)", "a trace from this model's forward", type(trace).__name__)
            )
        ws = trace.extras["workspace"]
        if trace.extras.get("forward_number") != ws.forwards:
            raise OptionError(message(
                f"{cls}.backward(trace)", "the latest trace of its workspace",
                f"the trace of forward {trace.extras.get('forward_number')} of {ws.forwards} with that workspace",
                "The next forward with the same Workspace overwrites a trace's arrays: run backward first, or "
                "give each trace its own Workspace."))
        d_outputs = np.ascontiguousarray(self._check_d_outputs(trace, d_outputs))
        T, B, _ = trace.x.shape
        if d_final_state is None:
            d_final = [np.zeros_like(a) for a in trace.final_state]
        else:
            d_final = [np.ascontiguousarray(a) for a in
                       self._check_state(f"{cls}.backward(d_final_state)", d_final_state, trace.final_state)]
        if d_u is None:
            d_u = np.zeros((T, B, self.n_feedback), dtype=self.dtype)
        else:
            d_u = np.ascontiguousarray(
                check_array(f"{cls}.backward(d_u)", d_u, shape=(T, B, self.n_feedback), dtype=self.dtype,
                            names="(T, B, U)")
            )
        return d_outputs, d_final, d_u

    @staticmethod
    def _check_tau(cls: str, tau: object) -> float:
        """τ > 0, and τ ≥ 1: the Euler step M += (target − M)/τ overshoots for τ < 1 (diverges below ½)."""
        tau = check_float(f"{cls}(tau=...)", tau, minimum=0.0, strict_minimum=True)
        if tau < 1.0:
            raise OptionError(
                message(f"{cls}(tau=...)", "tau >= 1 (the Euler step with Δt = 1 overshoots below 1)", tau,
                        "Use tau=1 for instantaneous modulation.")
            )
        return tau

    def _lstm_grads(self, dW, dW_out, db_out) -> dict[str, np.ndarray]:
        H = self.hidden_size
        return {
            "weight_ih": np.ascontiguousarray(dW[:, H:-1]),
            "weight_hh": np.ascontiguousarray(dW[:, :H]),
            "bias_ih": np.ascontiguousarray(dW[:, -1]),
            "bias_hh": np.ascontiguousarray(dW[:, -1]),
            "weight_out": dW_out,
            "bias_out": db_out,
        }

    #: Trajectories (time-major, batch on axis 1) that a multi-threaded forward joins across chunks.
    PUBLIC_EXTRAS: ClassVar[tuple[str, ...]] = ("u",)

    def forward(self, x, state=None, freeze=None, workspace: Workspace | None = None, threads: int = 1) -> Trace:
        """Run the closed loop over x (T, B, I); ``freeze`` (T,) bool holds the modulation where True.

        ``workspace`` (a :class:`Workspace`) supplies the trajectory arrays; without one they are new.
        ``threads`` > 1 splits the batch into that many chunks run in parallel threads (the trials of a
        batch are independent until their weight gradients are summed); the results are the same.
        """
        x, state, frozen = self._prepare(x, state, freeze)
        ws = self._check_workspace(workspace)
        threads = check_int(f"{type(self).__name__}.forward(threads)", threads, minimum=1)
        chunks = batch_chunks(x.shape[1], threads)
        if len(chunks) == 1:
            trace = self._run(x, state, frozen, ws)
        else:
            def run(i: int) -> Trace:
                sl = chunks[i]
                part = type(state)(*[np.ascontiguousarray(a[sl]) for a in state])
                return self._run(np.ascontiguousarray(x[:, sl]), part, frozen, ws.child(i))

            parts = list(_pool(len(chunks)).map(run, range(len(chunks))))
            trace = self._join(x, state, parts, chunks)
        ws.forwards += 1
        trace.extras["model"] = self
        trace.extras["workspace"] = ws
        trace.extras["forward_number"] = ws.forwards
        return trace

    def _join(self, x, state, parts: list[Trace], chunks: list[slice]) -> Trace:
        """One trace for the whole batch from the chunk traces (which it keeps for the backward pass)."""
        final = type(state)(*[np.concatenate(leaves, axis=0) for leaves in zip(*[p.final_state for p in parts],
                                                                               strict=True)])
        extras = {key: np.concatenate([p.extras[key] for p in parts], axis=1) for key in self.PUBLIC_EXTRAS}
        extras |= {"chunks": parts, "chunk_slices": chunks, "frozen": parts[0].extras["frozen"]}
        outputs = np.concatenate([p.outputs for p in parts], axis=1)
        return Trace(x=x, outputs=outputs, initial_state=state, final_state=final, extras=extras)

    def backward(self, trace: Trace, d_outputs, d_final_state=None, d_u=None) -> Grads:
        """Gradient of Σ d_outputs·y + Σ d_final_state·final_state + Σ d_u·u through the whole loop.

        ``d_u`` (T, B, U) is an error arriving directly at the LSTM readout u_t (a penalty on the feedback,
        e.g. the L1 regulariser λ·sign(u) of [Naumann et al. 2022, Eq. 16]). Scratch arrays come from the
        trace's workspace; a trace from a multi-threaded forward is differentiated with as many threads.
        """
        d_outputs, d_final, d_u = self._prepare_backward(trace, d_outputs, d_final_state, d_u)
        ws = trace.extras["workspace"]
        if "chunks" not in trace.extras:
            return self._run_backward(trace, d_outputs, d_final, d_u, ws)
        parts, chunks = trace.extras["chunks"], trace.extras["chunk_slices"]

        def run(i: int) -> Grads:
            sl = chunks[i]
            d_fin = [np.ascontiguousarray(a[sl]) for a in d_final]
            return self._run_backward(parts[i], np.ascontiguousarray(d_outputs[:, sl]), d_fin,
                                      np.ascontiguousarray(d_u[:, sl]), ws.child(i))

        grads = list(_pool(len(chunks)).map(run, range(len(chunks))))
        total = {k: sum(g[k] for g in grads[1:]) + grads[0][k] for k in grads[0]}
        inputs = np.concatenate([g.inputs for g in grads], axis=1)
        initial = type(trace.initial_state)(
            *[np.concatenate(leaves, axis=0) for leaves in zip(*[g.initial_state for g in grads], strict=True)]
        )
        return Grads(total, inputs=inputs, initial_state=initial)

    def _check_workspace(self, workspace) -> Workspace:
        if workspace is None:
            return Workspace()
        if not isinstance(workspace, Workspace):
            raise DTypeError(
                message(f"{type(self).__name__}.forward(workspace)", "a yetztml.cells.closed_loop.Workspace or None",
                        type(workspace).__name__)
            )
        return workspace

    def _lstm_buffers(self, ws: Workspace, T: int, B: int) -> tuple[np.ndarray, ...]:
        """R, gates, C, TC, U and the scratch hT (H, B), uT (U, B), from the workspace."""
        H, dt = self.hidden_size, self.dtype
        K = H + self.lstm_input_size + 1
        return (
            ws.get("R", (T + 1, B, K), dt),
            ws.get("gates", (T, 4 * H, B), dt),
            ws.get("C", (T + 1, H, B), dt),
            ws.get("TC", (T, H, B), dt),
            ws.get("U", (T, B, self.n_feedback), dt),
            ws.get("hT", (H, B), dt),
            ws.get("uT", (self.n_feedback, B), dt),
        )

    def _lstm_grad_buffers(self, ws: Workspace, T: int, B: int) -> tuple[np.ndarray, ...]:
        """dA, dU and the scratch dRT (K, B), dc (H, B), daT (4H, B), duT (U, B), from the workspace."""
        H, dt = self.hidden_size, self.dtype
        K = H + self.lstm_input_size + 1
        return (
            ws.get("dA", (T, B, 4 * H), dt),
            ws.get("dU", (T, B, self.n_feedback), dt),
            ws.get("dRT", (K, B), dt),
            ws.get("dc", (H, B), dt),
            ws.get("daT", (4 * H, B), dt),
            ws.get("duT", (self.n_feedback, B), dt),
        )

    @staticmethod
    def _lstm_final(R: np.ndarray, C: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
        """h_{T−1}, c_{T−1} (B, H) from the trajectories."""
        return R[-1, :, :H].copy(), np.ascontiguousarray(C[-1].T)

    @abc.abstractmethod
    def _run(self, x, state, frozen, ws: Workspace) -> Trace:
        """Call the model's forward kernel on validated inputs."""

    @abc.abstractmethod
    def _run_backward(self, trace, d_outputs, d_final, d_u, ws: Workspace) -> Grads:
        """Call the model's backward kernel on validated inputs."""


__all__ = [
    "INPUT_CODES", "LSTM_INPUTS", "TANH_CLAMP", "TORCH_NAMES", "ClosedLoopModel", "LoopState", "Workspace",
    "batch_chunks", "fast_tanh", "lstm_backward_start", "lstm_start", "lstm_step", "lstm_step_backward",
    "lstm_weight_grads", "squash",
]
