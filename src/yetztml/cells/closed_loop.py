"""The LSTM modulator stepped inside a feedback loop, shared by the closed-loop models.

A closed-loop model [Naumann, Keijser & Sprekeler 2022, Eq. 4–10] runs a feedforward network from stimuli
x_t to outputs y_t whose gains are set one step late by an LSTM that listens to x_t and y_t. Because y_t
depends on the gains and the gains on earlier LSTM outputs, the LSTM advances one sample at a time inside
the loop. This module holds that one step, forward and backward, and the parts every closed-loop model
shares (parameters in PyTorch's layout, state, validation). The models are in ``modulation.py``,
``spatial.py`` and ``dale.py``.

Forward, one step (per trial; r_t = [h_{t−1}, in_t, 1] and W = [W_hh | W_ih | b_ih + b_hh], gates in torch
order i, f, g, o):

    (L1) a_t = W r_t = W_hh h_{t−1} + W_ih in_t + b_ih + b_hh         (B, 4H)
    (L2) i_t = σ(a_t^i), f_t = σ(a_t^f), g_t = tanh(a_t^g), o_t = σ(a_t^o)
    (L3) c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t                              (B, H)
    (L4) h_t = o_t ⊙ tanh(c_t)                                        (B, H)
    (L5) u_t = W_out h_t + b_out                                      (B, U)

Backward, one step, given δu_t, δh_t arriving from step t+1 (through (L1)) and δc_t:

    (LB5) δh_t += W_outᵀ δu_t
    (LB4) δo = δh_t ⊙ tanh(c_t);  δc_t += δh_t ⊙ o_t ⊙ (1 − tanh²(c_t))
    (LB3) δi = δc_t ⊙ g_t,  δg = δc_t ⊙ i_t,  δf = δc_t ⊙ c_{t−1};  δc_{t−1} = δc_t ⊙ f_t
    (LB2) δa_t = [δi ⊙ i(1−i), δf ⊙ f(1−f), δg ⊙ (1−g²), δo ⊙ o(1−o)]
    (LB1) δr_t = Wᵀ δa_t = [δh_{t−1}, δin_t, ·]

Weight gradients are summed over all T·B rows after the sweep, one matrix product each (the constant 1 in
r_t makes the last column of ∂W the bias gradient):

    (LW) ∂W = Σ_t δa_tᵀ r_t,  ∂b_ih = ∂b_hh = ∂W[:, −1],  ∂W_out = Σ_t δu_tᵀ h_t,  ∂b_out = Σ_t δu_t

Storage (time-major): ``R`` (T+1, B, H+I_l+1) holds r_t in row t and h_{T−1} in row T; ``gates`` (T, 4H, B)
the activations i, f, g, o; ``C`` (T+1, H, B) holds c_{t−1} in row t; ``TC`` (T, H, B) holds tanh(c_t);
``dA`` (T, B, 4H) holds δa_t. R and dA are batch-major because (LW) reads them as (T·B, ·) matrices; the
arrays only the step functions read are feature-major, (·, B), so that every elementwise loop runs over a
contiguous block of H·B numbers and the per-step products need no transposed copies.

Speed: the per-step products (L1) and (LB1) are computed feature-major, (4H, K)·(K, B) (r_t read in place
through a transposed view of R[t]) and (K, 4H)·(4H, B): OpenBLAS runs these shapes 1.4–1.8× faster than the
batch-major (B, K)·(K, 4H) and (B, 4H)·(4H, K). Transcendentals are the other cost (5 per hidden unit and
sample), and libm's tanh is not vectorised: with ``fast_tanh=True`` the kernels use the rational
approximation :func:`fast_tanh` (|error| < 4e-9 everywhere), which the compiler vectorises;
σ(x) = ½(1 + tanh(x/2)) in both modes. The exact mode (``math.tanh``) is the default and is what the
gradient checks use. Elementwise arithmetic stays in the arrays' dtype (:func:`squash`).
"""

from __future__ import annotations

import abc
import math
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, NamedTuple

import numba
import numpy as np

from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.rng import make_rng
from ..core.validation import check_array, check_choice, check_float, check_int
from .base import Cell, Grads, Trace

#: LSTM input choices [Naumann et al. 2022, Fig. 2d]: both stimulus and output, stimulus only, output only.
LSTM_INPUTS = ("xy", "x", "y")
INPUT_CODES = {"xy": 0, "x": 1, "y": 2}

# Rational approximation tanh(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 10 (clamped outside), fitted by Lawson-weighted
# linear least squares (minimax) in float64; max |error| 3.5e-9 including the clamp (1 − tanh 10 = 4.1e-9).
_P0 = 9.9999999992120525e-01
_P1 = 1.4085529527121451e-01
_P2 = 4.4076315950350720e-03
_P3 = 4.1794157964388640e-05
_P4 = 1.0833655998240447e-07
_P5 = 3.4894728438826227e-11
_Q1 = 4.7418862810331563e-01
_Q2 = 2.9137175101610433e-02
_Q3 = 4.9728878018804202e-04
_Q4 = 2.5586917751099314e-06
_Q5 = 2.8437499767404643e-09
TANH_CLAMP = 10.0


@numba.njit(cache=True, error_model="numpy")
def fast_tanh(x):
    """tanh(x) as a clamped rational function: branch-free, so loops over it vectorise."""
    x = np.minimum(np.maximum(x, -TANH_CLAMP), TANH_CLAMP)
    u = x * x
    p = x * (_P0 + u * (_P1 + u * (_P2 + u * (_P3 + u * (_P4 + u * _P5)))))
    q = 1.0 + u * (_Q1 + u * (_Q2 + u * (_Q3 + u * (_Q4 + u * _Q5))))
    return p / q


@numba.njit(cache=True, error_model="numpy")
def squash(v, logistic, fast):
    """In place on a 1-D array v: σ(v) = ½ + ½ tanh(v/2) if ``logistic``, else tanh(v), in v's own dtype.

    Every constant is cast to v's dtype first, so float32 arrays are computed in float32 (8 lanes per AVX
    instruction) rather than promoted to float64 by Python float literals.
    """
    typ = v.dtype.type
    s = typ(0.5) if logistic else typ(1.0)
    shift = typ(0.5) if logistic else typ(0.0)
    if fast:
        clamp = typ(TANH_CLAMP)
        p0, p1, p2, p3, p4, p5 = typ(_P0), typ(_P1), typ(_P2), typ(_P3), typ(_P4), typ(_P5)
        one, q1, q2, q3, q4, q5 = typ(1.0), typ(_Q1), typ(_Q2), typ(_Q3), typ(_Q4), typ(_Q5)
        for k in range(v.shape[0]):
            x = min(max(s * v[k], -clamp), clamp)
            u = x * x
            p = x * (p0 + u * (p1 + u * (p2 + u * (p3 + u * (p4 + u * p5)))))
            q = one + u * (q1 + u * (q2 + u * (q3 + u * (q4 + u * q5))))
            v[k] = shift + s * (p / q)
    else:
        for k in range(v.shape[0]):
            v[k] = shift + s * math.tanh(s * v[k])


@numba.njit(cache=True, error_model="numpy")
def lstm_step(R, t, W, W_out, b_out, U, gates, C, TC, hT, uT, fast):
    """(L1)–(L5) at step t: reads r_t = R[t] (its last entry is set to 1 here), writes gates[t], C[t+1],
    TC[t], h_t into R[t+1, :, :H] and u_t into U[t]. hT (H, B) and uT (U, B) are scratch.

    Feature-major inside: the product (L1) lands in gates[t] (4H, B), so each activation of (L2) and the
    cell update (L3)–(L4) is one flat loop over a contiguous block of H·B numbers (every block a view that
    starts at index 0, which lets the compiler vectorise the loops).
    """
    H = C.shape[1]
    B, K = R.shape[1], R.shape[2]
    HB = H * B
    n_u = W_out.shape[0]
    r = R[t]
    for b in range(B):
        r[b, K - 1] = 1.0
    a2 = gates[t]
    np.dot(W, r.T, a2)  # (L1) (4H, K)·(K, B) → (4H, B)
    a = a2.reshape(4 * HB)
    squash(a[:2 * HB], True, fast)  # (L2) i, f
    squash(a[2 * HB:3 * HB], False, fast)  # (L2) g
    squash(a[3 * HB:], True, fast)  # (L2) o
    i_g, f_g, g_g, o_g = a[:HB], a[HB:2 * HB], a[2 * HB:3 * HB], a[3 * HB:]
    c_prev = C[t].reshape(HB)
    c_new = C[t + 1].reshape(HB)
    tc = TC[t].reshape(HB)
    for k in range(HB):
        c = f_g[k] * c_prev[k] + i_g[k] * g_g[k]  # (L3)
        c_new[k] = c
        tc[k] = c
    squash(tc, False, fast)
    h = hT.reshape(HB)
    for k in range(HB):
        h[k] = o_g[k] * tc[k]  # (L4)
    h_row = R[t + 1]
    for k in range(H):
        for b in range(B):
            h_row[b, k] = hT[k, b]
    for j in range(n_u):
        u = uT[j]
        for b in range(B):
            u[b] = b_out[j]
        for k in range(H):
            w = W_out[j, k]
            hk = hT[k]
            for b in range(B):
                u[b] += w * hk[b]  # (L5)
    for b in range(B):
        for j in range(n_u):
            U[t, b, j] = uT[j, b]


@numba.njit(cache=True, error_model="numpy")
def lstm_step_backward(t, dU, W_out, WT, gates, C, TC, dA, dRT, dc, daT, duT):
    """(LB5)–(LB1) at step t, feature-major. dRT[:H] (H, B) enters as δh_t and dc (H, B) as δc_t; they leave
    as δh_{t−1} and δc_{t−1}, with δin_t in dRT[H:H+I_l] (row j = input j, column b = trial b).

    Writes δa_t into dA[t] (B, 4H) for the weight gradient (LW); daT (4H, B) and duT (U, B) are scratch.
    """
    H = dc.shape[0]
    B = dc.shape[1]
    G = 4 * H
    HB = H * B
    n_u = W_out.shape[0]
    one = daT.dtype.type(1.0)
    for b in range(B):
        for j in range(n_u):
            duT[j, b] = dU[t, b, j]
    for j in range(n_u):
        du = duT[j]
        for k in range(H):
            w = W_out[j, k]
            dhk = dRT[k]
            for b in range(B):
                dhk[b] += du[b] * w  # (LB5)
    a = gates[t].reshape(4 * HB)
    i_g, f_g, g_g, o_g = a[:HB], a[HB:2 * HB], a[2 * HB:3 * HB], a[3 * HB:]
    c_prev = C[t].reshape(HB)
    tc = TC[t].reshape(HB)
    dh = dRT[:H].reshape(HB)
    dcf = dc.reshape(HB)
    da = daT.reshape(4 * HB)
    da_i, da_f, da_g, da_o = da[:HB], da[HB:2 * HB], da[2 * HB:3 * HB], da[3 * HB:]
    for k in range(HB):
        o = o_g[k]
        th = tc[k]
        da_o[k] = dh[k] * th * o * (one - o)  # (LB4), (LB2) δa^o
        dcf[k] += dh[k] * o * (one - th * th)  # (LB4)
    for k in range(HB):
        i = i_g[k]
        f = f_g[k]
        g = g_g[k]
        da_i[k] = dcf[k] * g * i * (one - i)  # (LB3), (LB2) δa^i
        da_f[k] = dcf[k] * c_prev[k] * f * (one - f)  # δa^f
        da_g[k] = dcf[k] * i * (one - g * g)  # δa^g
        dcf[k] *= f  # (LB3) δc_{t−1}
    da_rows = dA[t]
    for k in range(G):
        for b in range(B):
            da_rows[b, k] = daT[k, b]
    np.dot(WT, daT, dRT)  # (LB1) (K, 4H)·(4H, B) → (K, B)


@numba.njit(cache=True, error_model="numpy")
def lstm_weight_grads(R, dA, dU):
    """(LW): ∂W (4H, K) with the bias gradient in its last column (one product over all T·B rows),
    ∂W_out (U, H), ∂b_out (U) (a loop: a product with U = 4 rows runs slower in BLAS)."""
    T, B, G = dA.shape
    width = R.shape[2]
    H = G // 4
    n_u = dU.shape[2]
    dW = np.dot(dA.reshape(T * B, G).T, R[:T].reshape(T * B, width))
    dW_out = np.zeros((n_u, H), dtype=dA.dtype)
    db_out = np.zeros(n_u, dtype=dA.dtype)
    for t in range(T):
        for b in range(B):
            h = R[t + 1, b, :H]
            for j in range(n_u):
                du = dU[t, b, j]
                db_out[j] += du
                row = dW_out[j]
                for k in range(H):
                    row[k] += du * h[k]
    return dW, dW_out, db_out


@numba.njit(cache=True, error_model="numpy")
def lstm_start(R, C, h0, c0):
    """Row 0 of the trajectories from the initial state: h_{−1} into R[0, :, :H], c_{−1} into C[0] (H, B)."""
    B, H = h0.shape
    K = R.shape[2]
    T = R.shape[0] - 1
    for b in range(B):
        for k in range(H):
            R[0, b, k] = h0[b, k]
            C[0, k, b] = c0[b, k]
        for k in range(H, K):
            R[T, b, k] = 0.0


@numba.njit(cache=True, error_model="numpy")
def lstm_backward_start(dRT, dc, dh_T, dc_T):
    """δh_T into dRT[:H] and δc_T into dc, both feature-major (H, B)."""
    B, H = dh_T.shape
    for b in range(B):
        for k in range(H):
            dRT[k, b] = dh_T[b, k]
            dc[k, b] = dc_T[b, k]


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

    def child(self, index: int) -> Workspace:
        """The workspace of batch chunk ``index`` when a batch is split over threads."""
        if index not in self._children:
            self._children[index] = Workspace()
        return self._children[index]

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array ``name`` of this shape and dtype, reused when the last one fits."""
        arr = self._arrays.get(name)
        if arr is None or arr.shape != shape or arr.dtype != dtype:
            arr = np.empty(shape, dtype=dtype)
            self._arrays[name] = arr
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
        n_sources = check_int(f"{cls}(n_sources=...)", n_sources, minimum=1)
        hidden_size = check_int(f"{cls}(hidden_size=...)", hidden_size, minimum=1)
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
        trace.extras["model"] = self
        trace.extras["workspace"] = ws
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
