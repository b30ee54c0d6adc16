"""The 1997 online algorithm fused into one compiled call per chunk of sequences (memory blocks, B = 1).

The same mathematics as :mod:`~yetztml.learning.truncated1997` (its (P1)–(P3), (E1)–(E4), (U1)–(U5)) and
its online mode (:func:`~yetztml.learning.online.online_sgd`), specialised for the paper reproductions:
many short sequences presented one at a time, error at chosen steps, a weight change right after every
step with error. Per step t of a sequence, with u(t) = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1); 1]
(the recurrent part set by the cell's ``recurrent`` option, the trailing 1 is the bias source) and
v(t) = [x(t) (shortcut only); y^c(t); 1]::

    (K1) forward (F1)–(F9) of the cell and the partials (P1)–(P3) [1997 eqs. 7–9, 25, 27; Gers 2000]
    (K2) at a step with error: d_k = ε (y^k(t) − t^k(t))          ε = ``error_scale`` (1: eqs. 19–28)
    (K3) e_k = −f'_k(net_k(t)) d_k   (−d_k with ``output_derivative=False``)        [1997 eq. 19]
    (K4) e_out, e_s from e_k through the output weights as (E2)–(E4)           [1997 eqs. 21, 23]
    (K5) Δw = α m_w (e_l y^m)   for output units and output gates,                   [1997 eq. 22]
         Δw = α m_w Σ_v e_s ∂s/∂w for cells, input and forget gates         [1997 eqs. 24, 26, 28]
         α = lr · decayᶜ (c = steps since the sequence began, or since the run began), m_w ∈ {0, 1}
         the trainability mask (0 for absent biases and frozen weights)

With ε = 1 and the output derivative kept, (K2)–(K5) is the appendix's rule Δw = α e y with
e_k = f'_k (t^k − y^k): the "as written" reading. The generic kernel with the squared error
(gradient 2(y − t)) and learning rate lr/2 makes exactly the same changes; a test proves it.

Every weight change of a step reads the weights before any is written. Activations (and partials) start
from 0 at every sequence [1997 §5] unless a call continues the previous call's last sequence. With
``per_sequence`` the weights stay fixed within a sequence and the summed changes (K5) are applied at its
end: then one sequence's change is −(α/2) × the ``truncated1997`` gradient of the squared error (a test).

Inputs are dense rows x(t) or, for the one-hot tasks, the index of the active unit: sums skip the zero
inputs, and without forget gates only the active input's column of ∂s/∂w changes (exactly). The two forms
are two compiled entry points, :func:`run_dense` and :func:`run_onehot`, of one inlined loop.

Per-sequence records, over the steps flagged as criterion steps (``CRITERION``): the largest and the mean
|c^k − y^k| (c the criterion targets, e.g. the noise-free targets of Exp 3c), and over the error steps
Σ_k (t^k − y^k)². A sliding window over the last ``window`` sequences can stop training at the first
sequence after which the window is full, holds fewer than ``max_wrong`` sequences whose largest
criterion error is ≥ ``tolerance``, and whose mean criterion error is below ``max_mean_error`` (ST3(β) of
1997 Table 11 is window 2000, max_wrong 1, max_mean_error β). ``stop_tolerance`` > 0 ends the call at the
first criterion step with an error ≥ it (Gers 2000's streams), after that step's weight change.

The kernels compile with IEEE arithmetic (no fast-math): sums keep their written order, so a run is
reproducible bit for bit from its seed. (Inlined functions take their caller's flags; fast-math on the
entry points changed results by ~1e-16 per sequence and did not change the measured time per step.)

Shapes: S packed steps, n sequences, I inputs, K outputs, C blocks of S_b cells, N = C·S_b, H = N + C
(+ C forget gates) (+ C output gates) rows, U + 1 sources of cells and gates, V + 1 of the outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from ..cells.block_cell import MemoryBlockCell
from ..cells.blocks import REC_CELLS, REC_FULL
from ..core import activations
from ..core.errors import DTypeError, NonFiniteError, OptionError, ShapeError, UnsupportedError, message
from ..core.validation import check_float, check_int

#: Step flags of a packed data set.
ERROR = 1  # an error is injected at this step (training)
CRITERION = 2  # the success criterion reads this step's outputs

_LOGISTIC = activations.LOGISTIC
_G1997 = activations.G1997
_H1997 = activations.H1997
_TANH = activations.TANH
_IDENTITY = activations.IDENTITY


@numba.njit(cache=True, inline="always")
def _f(kind, x):
    """The squashing functions through exp (one libm call): σ, 4σ − 2, 2σ − 1, tanh, identity."""
    if kind == _LOGISTIC:
        return 1.0 / (1.0 + math.exp(-x))
    if kind == _G1997:
        return 4.0 / (1.0 + math.exp(-x)) - 2.0
    if kind == _H1997:
        return 2.0 / (1.0 + math.exp(-x)) - 1.0
    if kind == _TANH:
        return math.tanh(x)
    return x


@numba.njit(cache=True, inline="always")
def _df(kind, y):
    """f' written with y = f(x) (see :mod:`yetztml.core.activations`)."""
    if kind == _LOGISTIC:
        return y * (1.0 - y)
    if kind == _G1997:
        return 0.25 * (2.0 + y) * (2.0 - y)
    if kind == _H1997:
        return 0.5 * (1.0 + y) * (1.0 - y)
    if kind == _TANH:
        return 1.0 - y * y
    return 1.0


@numba.njit(cache=True, inline="always")
def _begin(u, v, state, I):
    """Zero activations, state and partials at a sequence start; the bias sources are 1."""
    st, dS = state
    u[:] = 0.0
    u[u.shape[0] - 1] = 1.0
    v[:] = 0.0
    v[v.shape[0] - 1] = 1.0
    st[1, :] = 0.0
    st[4, :] = 0.0
    st[5, :] = 0.0
    st[7, :] = 0.0
    st[8, :] = 0.0
    dS[:, :, :] = 0.0


@numba.njit(cache=True, inline="always")
def _forward(x, xi, t, first, W, Wk, u, net, state, v, y, dims, outputs, partials, dense):
    """(K1) for step t: u(t), the cell, the partials (if ``partials``), v(t), the outputs (if ``outputs``).

    Inputs are x[t] (dense, x (S, I)) or the one-hot unit xi[t] (xi (S,), x empty): then u and v hold a
    single 1 among their input entries, and sums and partials skip the zero entries (exactly: with no
    forget gate an input column of ∂s/∂w changes only when its input is 1). Only the previous step's 1 is
    cleared, unless ``first`` (the first step of a call's sequence): then all input entries are.
    state: g, s, h(s), h'(s), y^c (N each); y^in, f'_in, y^φ, y^out, f'_out (C each); ∂s/∂w of cell,
    input-gate and forget-gate weights (N, U + 1 each).
    """
    I, C, S, Cf, Co, rec, shortcut, g_kind, h_kind, k_kind = dims
    st, dS = state
    N = C * S
    H, U1 = W.shape
    m0 = 0  # first source the sums visit
    ix = 0
    if dense:
        for m in range(I):  # (F1)
            u[m] = x[t, m]
    else:
        if first:
            for m in range(I):
                u[m] = 0.0
        else:
            u[xi[t - 1]] = 0.0
        ix = xi[t]
        u[ix] = 1.0  # (F1), one-hot input
        m0 = I
    for r in range(H):
        a = 0.0 if dense else W[r, ix]
        for m in range(m0, U1):
            a += W[r, m] * u[m]
        net[r] = a
    sparse = (not dense) and Cf == 0
    for j in range(C):
        yi = 1.0 / (1.0 + math.exp(-net[N + j]))  # (F3) [1997 eq. 7]
        st[5, j] = yi
        fi = yi * (1.0 - yi)
        st[6, j] = fi
        yf = 1.0
        ff = 0.0
        if Cf > 0:
            yf = 1.0 / (1.0 + math.exp(-net[N + C + j]))  # (F4) [Gers 2000]
            st[7, j] = yf
            ff = yf * (1.0 - yf)
        yo = 1.0
        if Co > 0:
            yo = 1.0 / (1.0 + math.exp(-net[N + C + Cf + j]))  # (F6) [1997 eq. 8]
            st[9, j] = yo * (1.0 - yo)
        st[8, j] = yo
        for q in range(S):
            c = j * S + q
            gc = _f(g_kind, net[c])  # (F2) [1997 eq. 9]
            st[0, c] = gc
            sp = st[1, c]
            sn = yf * sp + yi * gc  # (F5) [1997 eq. 9; Gers 2000]
            st[1, c] = sn
            if partials:
                kc = _df(g_kind, gc) * yi
                ki = gc * fi
                if Cf > 0:
                    kf = sp * ff
                    for m in range(U1):
                        um = u[m]
                        dS[0, c, m] = yf * dS[0, c, m] + kc * um  # (P1) [1997 eq. 27]
                        dS[1, c, m] = yf * dS[1, c, m] + ki * um  # (P2) [1997 eq. 25]
                        dS[2, c, m] = yf * dS[2, c, m] + kf * um  # (P3) [Gers 2000 eqs. 3.10–3.12]
                else:
                    if sparse:
                        dS[0, c, ix] += kc  # (P1), the one input column that changes
                        dS[1, c, ix] += ki  # (P2)
                    for m in range(m0, U1):
                        um = u[m]
                        dS[0, c, m] += kc * um  # (P1) [1997 eq. 27]
                        dS[1, c, m] += ki * um  # (P2) [1997 eq. 25]
            h = _f(h_kind, sn)
            st[2, c] = h
            st[3, c] = _df(h_kind, h)
            st[4, c] = yo * h  # (F7) [1997 eq. 9]
    o = 0
    if shortcut:  # (F8)
        o = I
        if dense:
            for m in range(I):
                v[m] = x[t, m]
        else:
            if first:
                for m in range(I):
                    v[m] = 0.0
            else:
                v[xi[t - 1]] = 0.0
            v[ix] = 1.0
    for c in range(N):
        v[o + c] = st[4, c]
    if outputs:
        K, V1 = Wk.shape
        n0 = I if (shortcut and not dense) else 0
        for k in range(K):
            a = Wk[k, ix] if n0 > 0 else 0.0
            for m in range(n0, V1):
                a += Wk[k, m] * v[m]
            y[k] = _f(k_kind, a)  # (F9) same step [1997 §5 intro]


@numba.njit(cache=True, inline="always")
def _carry(u, state, dims):
    """Step t's activations become the recurrent sources of u(t+1)."""
    I, C, S, Cf, Co, rec, shortcut, g_kind, h_kind, k_kind = dims
    st, dS = state
    N = C * S
    if rec >= REC_CELLS:
        for c in range(N):
            u[I + c] = st[4, c]
    if rec == REC_FULL:
        o = I + N
        for j in range(C):
            u[o + j] = st[5, j]
        o += C
        for j in range(Cf):
            u[o + j] = st[7, j]
        o += Cf
        for j in range(Co):
            u[o + j] = st[8, j]


@numba.njit(cache=True, inline="always")
def _update(d, Wk_now, W, Wk, MW, MWk, u, state, v, y, ek, eyc, dims, lr, fprime, ix, dense):
    """(K3)–(K5): the weight change of one step from d (K,) = ε (y − t), added to W and Wk.

    Wk_now (the output weights) is read for e_y^c before anything changes; W, Wk receive the change: the
    weights themselves (online, Wk_now is Wk) or accumulators (per sequence).
    """
    I, C, S, Cf, Co, rec, shortcut, g_kind, h_kind, k_kind = dims
    st, dS = state
    N = C * S
    K, V1 = Wk.shape
    U1 = W.shape[1]
    for k in range(K):
        ek[k] = -d[k] * (_df(k_kind, y[k]) if fprime else 1.0)  # (K3) [1997 eq. 19]
    o = V1 - 1 - N
    for c in range(N):
        a = 0.0
        for k in range(K):
            a += Wk_now[k, o + c] * ek[k]
        eyc[c] = a  # (E2)
    n0 = I if (shortcut and not dense) else 0
    for k in range(K):  # (U1) [1997 eq. 22]
        a = lr * ek[k]
        if n0 > 0:
            Wk[k, ix] += a * MWk[k, ix]  # the one-hot input, v = 1
        for m in range(n0, V1):
            Wk[k, m] += a * MWk[k, m] * v[m]
    m0 = 0 if dense else I
    ro = N + C + Cf
    for j in range(C):
        if Co > 0:
            a = 0.0
            for q in range(S):
                a += st[2, j * S + q] * eyc[j * S + q]
            eo = lr * st[9, j] * a  # (E3) [1997 eq. 21], times α
            r = ro + j
            if not dense:
                W[r, ix] += eo * MW[r, ix]
            for m in range(m0, U1):  # (U2) [1997 eq. 22]
                W[r, m] += eo * MW[r, m] * u[m]
        for q in range(S):
            c = j * S + q
            es = lr * st[8, j] * st[3, c] * eyc[c]  # (E4) [1997 eq. 23], times α
            for m in range(U1):
                W[c, m] += es * MW[c, m] * dS[0, c, m]  # (U3) [1997 eq. 28]
                W[N + j, m] += es * MW[N + j, m] * dS[1, c, m]  # (U4) [1997 eqs. 24, 26]
            if Cf > 0:
                for m in range(U1):
                    W[N + C + j, m] += es * MW[N + C + j, m] * dS[2, c, m]  # (U5) [Gers 2000]


@numba.njit(cache=True, inline="always")
def _score(t, y, tgt, ctgt, f, rec_i, K):
    """Add step t's errors to the sequence record [Σ (t − y)², max |c − y|, Σ |c − y|, criterion count]."""
    if f & ERROR:
        for k in range(K):
            e = tgt[t, k] - y[k]
            rec_i[0] += e * e
    if f & CRITERION:
        for k in range(K):
            e = abs(ctgt[t, k] - y[k])
            if e > rec_i[1]:
                rec_i[1] = e
            rec_i[2] += e
        rec_i[3] += K


@numba.njit(cache=True, inline="always")
def _apply(W, Wk, dW, dWk):
    """Add the summed changes of a sequence to the weights; clear the sums."""
    W += dW
    Wk += dWk
    dW[:, :] = 0.0
    dWk[:, :] = 0.0


@numba.njit(cache=True, inline="always")
def _close(rec_i, steps):
    """Turn the criterion error sum into a mean; record the steps run."""
    crit = rec_i[3]
    rec_i[2] = rec_i[2] / crit if crit > 0 else 0.0
    rec_i[3] = steps


@numba.njit(cache=True, inline="always")
def _run(data, net, opts, stop, out, dense):
    """The sequences order[0], order[1], … of a packed set; online weight changes when ``train``.

    data = (x, xi, tgt, ctgt, flags, starts, order): x (S, I) or xi (S,) (see :func:`_forward`), tgt and
    ctgt (S, K), flags (S,) uint8, starts (n + 1,), order (m,) int64.
    net = (W, Wk, MW, MWk, u, v, state, dims); opts = (train, lr, decay, count, reset_count,
    error_scale, fprime, continue_first); stop = (tolerance, max_wrong, max_mean, stop_tol, ring, wstate);
    out = (records, outputs). ``records`` (m, 4) receives [Σ (t − y)² over error steps, max |c − y| and
    mean |c − y| over criterion steps, steps run]; ``outputs`` (S, K) (or empty) receives y at the
    flagged steps. The sliding window (length ``ring.shape[0]``, none if 0) keeps [wrong, mean error] per
    sequence in ``ring`` and [filled, next slot, wrong count, error sum] in ``wstate``; both persist
    between calls. Returns (sequences done, stop reason: 0 none, 1 window rule, 2 ``stop_tol``, count).
    """
    x, xi, tgt, ctgt, flags, starts, order = data
    W, Wk, MW, MWk, u, v, state, dims, dW, dWk = net
    train, lr, decay, count, reset_count, error_scale, fprime, continue_first, per_sequence = opts
    tolerance, max_wrong, max_mean, stop_tol, stop_each, ring, wstate = stop
    records, outputs = out
    K = Wk.shape[0]
    N = dims[1] * dims[2]
    I = dims[0]
    window = ring.shape[0]
    keep = outputs.shape[0] > 0
    y = np.zeros(K)
    d = np.zeros(K)
    ek = np.zeros(K)
    eyc = np.zeros(N)
    net = np.zeros(W.shape[0])
    for i in range(order.shape[0]):
        seq = order[i]
        if not (i == 0 and continue_first):
            _begin(u, v, state, I)
            if reset_count:
                count = 0
        rec_i = records[i]
        rec_i[:] = 0.0
        end = starts[seq + 1]
        for t in range(starts[seq], end):
            f = flags[t]
            _forward(x, xi, t, t == starts[seq], W, Wk, u, net, state, v, y, dims, f != 0, train, dense)
            if f != 0:
                _score(t, y, tgt, ctgt, f, rec_i, K)
                if keep:
                    for k in range(K):
                        outputs[t, k] = y[k]
                if train and (f & ERROR):
                    for k in range(K):
                        d[k] = error_scale * (y[k] - tgt[t, k])  # (K2)
                    alpha = lr if decay == 1.0 else lr * decay ** float(count)
                    ix = 0 if dense else xi[t]
                    if per_sequence:  # weights fixed within the sequence; changes summed, applied at its end
                        _update(d, Wk, dW, dWk, MW, MWk, u, state, v, y, ek, eyc, dims, alpha, fprime, ix, dense)
                    else:
                        _update(d, Wk, W, Wk, MW, MWk, u, state, v, y, ek, eyc, dims, alpha, fprime, ix, dense)
            count += 1
            _carry(u, state, dims)
            if stop_tol > 0.0 and (f & CRITERION):
                bad = False
                for k in range(K):
                    if abs(ctgt[t, k] - y[k]) >= stop_tol:
                        bad = True
                if bad and not stop_each:
                    _close(rec_i, t - starts[seq] + 1)
                    if per_sequence:
                        _apply(W, Wk, dW, dWk)
                    return i + 1, 2, count
                if bad:  # ``stop_each``: this sequence ends here, the next one starts
                    end = t + 1
                    break
        _close(rec_i, end - starts[seq])
        if per_sequence:
            _apply(W, Wk, dW, dWk)
        if window > 0:
            bad = 1.0 if rec_i[1] >= tolerance else 0.0
            slot = int(wstate[1])
            if wstate[0] >= window:
                wstate[2] -= ring[slot, 0]
                wstate[3] -= ring[slot, 1]
            else:
                wstate[0] += 1
            ring[slot, 0] = bad
            ring[slot, 1] = rec_i[2]
            wstate[1] = (slot + 1) % window
            wstate[2] += bad
            wstate[3] += rec_i[2]
            if wstate[0] >= window and wstate[2] < max_wrong and wstate[3] / window < max_mean:
                return i + 1, 1, count
    return order.shape[0], 0, count


@numba.njit(cache=True)
def run_dense(data, net, opts, stop, out):
    """:func:`_run` for dense inputs x (S, I): ``dense`` is a constant there, its branches compile away."""
    return _run(data, net, opts, stop, out, True)


@numba.njit(cache=True)
def run_onehot(data, net, opts, stop, out):
    """:func:`_run` for one-hot inputs xi (S,)."""
    return _run(data, net, opts, stop, out, False)



# -- Python side: the packed data, the stacked weights, validation ----------------------------------
@dataclass(frozen=True)
class Packed:
    """Sequences laid end to end. Sequence i is rows starts[i] … starts[i + 1] − 1 of:

    x (S, I) dense inputs, or ``index`` (S,) the one-hot input unit of each step (then x is (0, I));
    targets and criterion targets (S, K); flags (S,) uint8 with :data:`ERROR` and :data:`CRITERION`
    bits; starts (n + 1,) int64.
    """

    x: np.ndarray
    index: np.ndarray
    targets: np.ndarray
    criterion_targets: np.ndarray
    flags: np.ndarray
    starts: np.ndarray

    @property
    def count(self) -> int:
        """Number of sequences n."""
        return int(self.starts.shape[0] - 1)

    @property
    def steps(self) -> int:
        """Number of steps of all sequences."""
        return int(self.starts[-1])

    @property
    def onehot(self) -> bool:
        return self.x.shape[0] == 0

    def check(self, thing: str, input_size: int, output_size: int) -> Packed:
        """Validate shapes, dtypes, finiteness and index ranges; return self."""
        n = self.count
        if self.starts.dtype != np.int64 or self.starts.ndim != 1 or n < 0 or self.starts[0] != 0:
            raise ShapeError(message(f"{thing} starts", "int64 (n + 1,) beginning with 0", self.starts.dtype))
        if n > 0 and np.any(np.diff(self.starts) < 1):
            raise ShapeError(message(f"{thing} starts", "strictly increasing offsets", "an empty sequence"))
        S = self.steps
        arrays = [("targets", self.targets, output_size), ("criterion_targets", self.criterion_targets, output_size)]
        if not self.onehot:
            arrays.append(("x", self.x, input_size))
        for name, array, width in arrays:
            if array.dtype != np.float64:
                raise DTypeError(message(f"{thing} {name}", "float64", array.dtype))
            if array.ndim != 2 or array.shape[0] < S or array.shape[1] != width:
                raise ShapeError(message(f"{thing} {name}", f"shape (>= {S}, {width})", array.shape))
            if not np.all(np.isfinite(array[:S])):
                raise NonFiniteError(message(f"{thing} {name}", "finite values", "NaN/inf"))
        if self.onehot:
            index = self.index[:S]
            if self.index.dtype != np.int64 or index.shape[0] != S:
                raise ShapeError(message(f"{thing} index", f"int64 ({S},)", f"{self.index.dtype} {self.index.shape}"))
            if S and (index.min() < 0 or index.max() >= input_size):
                raise OptionError(message(f"{thing} index", f"input units in [0, {input_size})", "out of range"))
        if self.flags.dtype != np.uint8 or self.flags.shape[0] < S:
            raise ShapeError(message(f"{thing} flags", f"uint8 (>= {S},)", f"{self.flags.dtype} {self.flags.shape}"))
        return self


def pack(samples, *, criterion_targets=None, criterion_steps=None, onehot: bool = False) -> Packed:
    """Pack task samples (x (T, I), targets (T, K), mask (T,)) end to end.

    Error steps are the samples' masks; criterion steps (a list of (T,) bool) default to the same steps
    and criterion targets to the targets. ``onehot`` stores each step's input as the index of its single 1.
    """
    samples = list(samples)
    lengths = np.array([s.x.shape[0] for s in samples], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    x = np.concatenate([s.x for s in samples]).astype(np.float64)
    tgt = np.ascontiguousarray(np.concatenate([s.targets for s in samples]), dtype=np.float64)
    flags = np.concatenate([s.mask for s in samples]).astype(np.uint8) * np.uint8(ERROR)
    crit = flags.astype(bool) if criterion_steps is None else np.concatenate(list(criterion_steps))
    flags |= crit.astype(np.uint8) * np.uint8(CRITERION)
    ctgt = tgt if criterion_targets is None else np.concatenate(list(criterion_targets)).astype(np.float64)
    if onehot:
        if not np.all((x == 0.0) | (x == 1.0)) or not np.all(x.sum(axis=1) == 1.0):
            raise OptionError(message("pack(onehot=True)", "one-hot input rows", "other inputs"))
        index = x.argmax(axis=1).astype(np.int64)
        x = np.zeros((0, x.shape[1]))
    else:
        index = np.zeros(0, np.int64)
    return Packed(np.ascontiguousarray(x), index, tgt, np.ascontiguousarray(ctgt), flags, starts)


class FastNet:
    """A memory-block cell's weights stacked for the kernels, with a trainability mask and a workspace.

    W (H, U + 1): rows W_c, W_in, W_phi, W_out with their biases as the last column; Wk (K, V + 1): W_k
    and b_k. Absent biases are 0 with mask 0. ``to_cell`` writes the weights back into the cell.
    Supports LSTM1997 and LSTMForget (no peepholes), float64.
    """

    def __init__(self, cell: MemoryBlockCell) -> None:
        thing = "FastNet(cell)"
        if not isinstance(cell, MemoryBlockCell) or cell.peepholes:
            raise UnsupportedError(
                message(thing, "an LSTM1997 or LSTMForget cell (no peepholes)", type(cell).__name__)
            )
        if cell.dtype != np.float64:
            raise DTypeError(message(thing, "a float64 cell", str(cell.dtype), "Build the cell with dtype=np.float64."))
        self.cell = cell
        C, S, N = cell.num_blocks, cell.block_size, cell.num_cells
        Cf = C if cell.forget_gate else 0
        Co = C if cell.output_gate else 0
        U, K, V = cell.num_sources, cell.output_size, cell.num_output_sources
        self.rows = {"c": (0, N), "in": (N, N + C), "phi": (N + C, N + C + Cf), "out": (N + C + Cf, N + C + Cf + Co)}
        H = N + C + Cf + Co
        self.W = np.zeros((H, U + 1))
        self.Wk = np.zeros((K, V + 1))
        self.dW = np.zeros((H, U + 1))  # summed changes of a sequence (per-sequence updates)
        self.dWk = np.zeros((K, V + 1))
        self.MW = np.ones((H, U + 1))
        self.MWk = np.ones((K, V + 1))
        self.dims = (
            cell.input_size, C, S, Cf, Co, {"none": 0, "cells": REC_CELLS, "full": REC_FULL}[cell.recurrent],
            bool(cell.shortcut), activations.CODES[cell.g], activations.CODES[cell.h],
            activations.CODES[cell.output],
        )
        self.u = np.zeros(U + 1)
        self.v = np.zeros(V + 1)
        self.state = (np.zeros((10, max(N, C))), np.zeros((3 if Cf else 2, N, U + 1)))
        self.load()

    def load(self) -> None:
        """Copy the cell's parameters into W, Wk; absent biases get mask 0."""
        p = self.cell.params
        for unit, (a, b) in self.rows.items():
            if a == b:
                continue
            self.W[a:b, :-1] = p[f"W_{unit}"]
            bias = p.get(f"b_{unit}")
            self.W[a:b, -1] = 0.0 if bias is None else bias
            self.MW[a:b, -1] = 0.0 if bias is None else 1.0
        self.Wk[:, :-1] = p["W_k"]
        self.Wk[:, -1] = p.get("b_k", 0.0)
        self.MWk[:, -1] = 1.0 if "b_k" in p else 0.0

    def to_cell(self) -> None:
        """Write W, Wk back into the cell's parameter arrays (in place)."""
        p = self.cell.params
        for unit, (a, b) in self.rows.items():
            if a == b:
                continue
            p[f"W_{unit}"][...] = self.W[a:b, :-1]
            if f"b_{unit}" in p:
                p[f"b_{unit}"][...] = self.W[a:b, -1]
        p["W_k"][...] = self.Wk[:, :-1]
        if "b_k" in p:
            p["b_k"][...] = self.Wk[:, -1]

    def set_trainable(self, unit: str, trainable: bool, columns: slice | None = None) -> None:
        """Allow or forbid changes to a unit's weights ("c", "in", "phi", "out" or "k"; some columns).

        Absent biases stay untrainable.
        """
        value = 1.0 if trainable else 0.0
        cols = slice(None) if columns is None else columns
        if unit == "k":
            self.MWk[:, cols] = value
            self.MWk[:, -1] *= 1.0 if "b_k" in self.cell.params else 0.0
            return
        check_choice_unit = tuple(self.rows)
        if unit not in self.rows:
            raise OptionError(message("FastNet.set_trainable(unit)", f"one of {check_choice_unit + ('k',)}", unit))
        a, b = self.rows[unit]
        self.MW[a:b, cols] = value
        if f"b_{unit}" not in self.cell.params:
            self.MW[a:b, -1] = 0.0

    def check_finite(self) -> None:
        """NonFiniteError if a weight became NaN/inf (learning rate too large)."""
        if not (np.all(np.isfinite(self.W)) and np.all(np.isfinite(self.Wk))):
            raise NonFiniteError(
                message("weights after online training", "finite values", "NaN/inf", "Lower the learning rate.")
            )


class Window:
    """The sliding-window stop rule over training sequences (ST3(β) of 1997 Table 11 and relatives).

    Stop after the first sequence at which the last ``length`` sequences hold fewer than ``max_wrong``
    sequences whose largest criterion error is ≥ the tolerance, and their mean criterion error is
    below ``max_mean_error``. The window's contents persist across calls; ``active=False`` keeps
    filling it without stopping.
    """

    def __init__(self, length: int, max_wrong: float = 1.0, max_mean_error: float = math.inf) -> None:
        self.length = check_int("Window(length)", length, minimum=1)
        self.max_wrong = check_float("Window(max_wrong)", max_wrong, minimum=0.0)
        self.max_mean_error = float(max_mean_error)
        self.ring = np.zeros((self.length, 2))
        self.state = np.zeros(4)  # filled, next slot, wrong count, error sum
        self.active = True

    @property
    def filled(self) -> int:
        return int(self.state[0])

    @property
    def wrong(self) -> int:
        return int(round(self.state[2]))

    @property
    def mean_error(self) -> float:
        return float(self.state[3] / max(1, self.filled))


_NO_RING = np.zeros((0, 2))
_NO_OUTPUTS = np.zeros((0, 0))


@dataclass
class Outcome:
    """What one kernel call did: sequences processed, why it stopped, per-sequence records."""

    done: int
    reason: str  # "end", "window" or "error"
    count: int
    records: np.ndarray  # (done, 4): sse, max criterion error, mean criterion error, steps


_REASONS = ("end", "window", "error")


def train_online(
    net: FastNet,
    data: Packed,
    *,
    lr: float,
    order: np.ndarray | None = None,
    tolerance: float = math.inf,
    window: Window | None = None,
    error_scale: float = 1.0,
    output_derivative: bool = True,
    decay: float = 1.0,
    reset_count: bool = True,
    count: int = 0,
    stop_tolerance: float = 0.0,
    continue_state: bool = False,
    per_sequence: bool = False,
    trusted: bool = False,
) -> Outcome:
    """Train ``net`` online on the sequences of ``data`` (in ``order``, default all in turn).

    ``lr`` is the paper's α with ``error_scale=1`` (eqs. 19–28: Δw = α e y). ``tolerance`` defines a
    correct sequence for the window rule; ``stop_tolerance`` > 0 stops at the first step whose criterion
    error reaches it. ``decay`` < 1 scales α by decayᶜ, c the steps since the sequence began
    (``reset_count``) or since the run began (``count`` carried by the caller). ``continue_state``
    continues the first sequence from the state and partials the previous call left (a stream cut into
    chunks). ``per_sequence`` holds the weights fixed within each sequence and applies the summed changes
    at its end (the same rule, other timing). Weights stay in ``net`` (``net.to_cell()`` writes them back).
    ``trusted`` skips the checks of ``data`` (for sets built by compiled generators, many small calls).
    """
    return _call(net, data, order, True, lr, tolerance, window, error_scale, output_derivative, decay,
                 reset_count, count, stop_tolerance, continue_state, None, per_sequence, trusted, False)


def evaluate(
    net: FastNet,
    data: Packed,
    *,
    order: np.ndarray | None = None,
    tolerance: float = math.inf,
    stop_tolerance: float = 0.0,
    continue_state: bool = False,
    outputs: np.ndarray | None = None,
    trusted: bool = False,
    stop_each: bool = False,
) -> Outcome:
    """Forward only over ``data``: per-sequence records; y at the flagged steps into ``outputs`` (S, K).

    ``stop_each`` makes ``stop_tolerance`` end only the sequence with the error (its record's step count
    says where), not the call: many independent streams scored in one call.
    """
    return _call(net, data, order, False, 0.0, tolerance, None, 1.0, True, 1.0, True, 0, stop_tolerance,
                 continue_state, outputs, False, trusted, stop_each)


def _call(net, data, order, train, lr, tolerance, window, error_scale, output_derivative, decay, reset_count,
          count, stop_tolerance, continue_state, outputs, per_sequence, trusted, stop_each) -> Outcome:
    thing = "train_online" if train else "evaluate"
    if not isinstance(net, FastNet):
        raise DTypeError(message(f"{thing}(net)", "a FastNet", type(net).__name__))
    if not isinstance(data, Packed):
        raise DTypeError(message(f"{thing}(data)", "a Packed data set", type(data).__name__))
    if not trusted:
        data.check(f"{thing}(data)", net.cell.input_size, net.cell.output_size)
    if order is None:
        order = np.arange(data.count, dtype=np.int64)
    elif order.dtype != np.int64 or order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= data.count)):
        raise OptionError(message(f"{thing}(order)", f"int64 sequence numbers in [0, {data.count})", "other values"))
    lr = check_float(f"{thing}(lr)", lr, minimum=0.0)
    error_scale = check_float(f"{thing}(error_scale)", error_scale)
    decay = check_float(f"{thing}(decay)", decay, minimum=0.0, maximum=1.0, strict_minimum=True)
    stop_tolerance = check_float(f"{thing}(stop_tolerance)", stop_tolerance, minimum=0.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, float | int) or not tolerance > 0:
        raise OptionError(message(f"{thing}(tolerance)", "a number > 0", repr(tolerance)))
    count = check_int(f"{thing}(count)", count, minimum=0)
    ring, wstate, max_wrong, max_mean = _NO_RING, np.zeros(4), 0.0, 0.0
    if window is not None:
        ring, wstate = window.ring, window.state
        if window.active:
            max_wrong, max_mean = float(window.max_wrong), float(window.max_mean_error)
    if outputs is None:
        outputs = _NO_OUTPUTS
    elif outputs.shape != (data.steps, net.cell.output_size) or outputs.dtype != np.float64:
        raise ShapeError(message(f"{thing}(outputs)", f"float64 {(data.steps, net.cell.output_size)}", outputs.shape))
    records = np.zeros((order.shape[0], 4))
    xi = data.index if data.onehot else np.zeros(0, np.int64)
    kernel = run_onehot if data.onehot else run_dense
    done, reason, final = kernel(
        (data.x, xi, data.targets, data.criterion_targets, data.flags, data.starts, order),
        (net.W, net.Wk, net.MW, net.MWk, net.u, net.v, net.state, net.dims, net.dW, net.dWk),
        (train, lr, decay, count, bool(reset_count), error_scale, bool(output_derivative), bool(continue_state),
         bool(per_sequence)),
        (float(tolerance), max_wrong, max_mean, stop_tolerance, bool(stop_each), ring, wstate),
        (records, outputs),
    )
    if train:
        net.check_finite()
    return Outcome(int(done), _REASONS[reason], int(final), records[:done])


__all__ = ["CRITERION", "ERROR", "FastNet", "Outcome", "Packed", "Window", "evaluate", "pack", "run_dense",
           "run_onehot", "train_online"]
