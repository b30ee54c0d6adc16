"""The fused 1997 online kernel: one compiled call trains or scores a chunk of packed sequences (B = 1).

The mathematics and the options are those of :mod:`yetztml.learning.online1997_fast` (the Python side:
packed data, stacked weights, validation), whose docstring numbers the equations (OF1)–(OF5). Per step:
u(t) in place (one-hot inputs: only the active unit's entry changes), the products W u(t) with the bias as
the last source, the memory-block equations through the compiled functions of
:mod:`yetztml.cells.block_step` (``gate``, ``cec`` — the CEC update — and ``cell_output``) with σ, g, h
through one exp ((A3) of :mod:`yetztml.core.squash`), the partials (TP1)–(TP3) of
:mod:`yetztml.learning.truncated1997` (skipping the inputs that are 0), the outputs, and at an error step
the weight change (OF3)–(OF5).

The kernels compile with IEEE arithmetic (no fast-math): sums keep their written order, so a run is
reproducible bit for bit from its seed. (Inlined functions take their caller's flags; fast-math on the
entry points changed results by ~1e-16 per sequence and did not change the measured time per step.)
"""

from __future__ import annotations

import numba
import numpy as np

from ..cells.block_step import REC_CELLS, REC_FULL, cec, cell_output, gate
from ..core.activations import apply_exp, derivative

#: Step flags of a packed data set.
ERROR = 1  # an error is injected at this step (training)
CRITERION = 2  # the success criterion reads this step's outputs

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
def _put_input(vec, x, xi, t, first, dense, I):
    """The I input entries of u(t) (BF1) or v(t) (BF8): x[t] (dense), or the one-hot unit xi[t], clearing
    only the previous step's 1 (all I entries on the ``first`` step of a call's sequence)."""
    if dense:
        for m in range(I):
            vec[m] = x[t, m]
        return
    if first:
        for m in range(I):
            vec[m] = 0.0
    else:
        vec[xi[t - 1]] = 0.0
    vec[xi[t]] = 1.0


@numba.njit(cache=True, inline="always")
def _forward(x, xi, t, first, W, Wk, u, net, state, v, y, dims, outputs, partials, dense):
    """(OF1) for step t: u(t), the cell, the partials (if ``partials``), v(t), the outputs (if ``outputs``).

    Inputs are x[t] (dense, x (S, I)) or the one-hot unit xi[t] (xi (S,), x empty): then u and v hold a
    single 1 among their input entries, and sums and partials skip the zero entries (exactly: with no
    forget gate an input column of ∂s/∂w changes only when its input is 1). Only the previous step's 1 is
    cleared, unless ``first`` (the first step of a call's sequence): then all input entries are.
    state: g, s, h(s), h'(s), y^c (N each); y^in, f'_in, y^φ, y^out (1 without output gate), f'_out (C
    each); ∂s/∂w of cell, input-gate and forget-gate weights (N, U + 1 each). The memory-block equations
    are the compiled functions of :mod:`yetztml.cells.block_step` (:func:`gate`, :func:`cec`,
    :func:`cell_output`), in this kernel's own loop (see there why it does not call ``block_step``).
    """
    I, C, S, Cf, Co, rec, shortcut, g_kind, h_kind, k_kind = dims
    st, dS = state
    N = C * S
    H, U1 = W.shape
    m0 = 0  # first source the sums visit
    ix = 0
    _put_input(u, x, xi, t, first, dense, I)  # (BF1)
    if not dense:
        ix = xi[t]
        m0 = I
    for r in range(H):
        a = 0.0 if dense else W[r, ix]
        for m in range(m0, U1):
            a += W[r, m] * u[m]
        net[r] = a
    sparse = (not dense) and Cf == 0
    for j in range(C):
        yi = gate(net[N + j], True)  # (BF3) [1997 eq. 7]
        st[5, j] = yi
        fi = yi * (1.0 - yi)
        st[6, j] = fi
        yf = 1.0
        ff = 0.0
        if Cf > 0:
            yf = gate(net[N + C + j], True)  # (BF4) [Gers 2000]
            st[7, j] = yf
            ff = yf * (1.0 - yf)
        yo = 1.0
        if Co > 0:
            yo = gate(net[N + C + Cf + j], True)  # (BF6) [1997 eq. 8]
            st[9, j] = yo * (1.0 - yo)
        st[8, j] = yo
        for q in range(S):
            c = j * S + q
            sp = st[1, c]
            gc, sn = cec(yf, sp, yi, net[c], g_kind, True)  # (BF2), (BF5) [1997 eq. 9; Gers 2000]
            st[0, c] = gc
            st[1, c] = sn
            if partials:
                kc = derivative(g_kind, net[c], gc) * yi  # (BD1)
                ki = gc * fi  # (BD2)
                if Cf > 0:
                    kf = sp * ff  # (BD3)
                    for m in range(U1):
                        um = u[m]
                        dS[0, c, m] = yf * dS[0, c, m] + kc * um  # (TP1) [1997 eq. 27]
                        dS[1, c, m] = yf * dS[1, c, m] + ki * um  # (TP2) [1997 eq. 25]
                        dS[2, c, m] = yf * dS[2, c, m] + kf * um  # (TP3) [Gers 2000 eqs. 3.10–3.12]
                else:
                    if sparse:
                        dS[0, c, ix] += kc  # (TP1), the one input column that changes
                        dS[1, c, ix] += ki  # (TP2)
                    for m in range(m0, U1):
                        um = u[m]
                        dS[0, c, m] += kc * um  # (TP1) [1997 eq. 27]
                        dS[1, c, m] += ki * um  # (TP2) [1997 eq. 25]
            h, yc = cell_output(yo, sn, h_kind, True)  # (BF7) [1997 eq. 9]
            st[2, c] = h
            st[3, c] = derivative(h_kind, sn, h)
            st[4, c] = yc
    o = 0
    if shortcut:  # (BF8)
        o = I
        _put_input(v, x, xi, t, first, dense, I)
    for c in range(N):
        v[o + c] = st[4, c]
    if outputs:
        K, V1 = Wk.shape
        n0 = I if (shortcut and not dense) else 0
        for k in range(K):
            a = Wk[k, ix] if n0 > 0 else 0.0
            for m in range(n0, V1):
                a += Wk[k, m] * v[m]
            y[k] = apply_exp(k_kind, a)  # (BF9) same step [1997 §5 intro]


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
    """(OF3)–(OF5): the weight change of one step from d (K,) = ε (y − t), added to W and Wk.

    Wk_now (the output weights) is read for e_y^c before anything changes; W, Wk receive the change: the
    weights themselves (online, Wk_now is Wk) or accumulators (per sequence).
    """
    I, C, S, Cf, Co, rec, shortcut, g_kind, h_kind, k_kind = dims
    st, dS = state
    N = C * S
    K, V1 = Wk.shape
    U1 = W.shape[1]
    for k in range(K):
        ek[k] = -d[k] * (derivative(k_kind, y[k], y[k]) if fprime else 1.0)  # (OF3) [1997 eq. 19]
    o = V1 - 1 - N
    for c in range(N):
        a = 0.0
        for k in range(K):
            a += Wk_now[k, o + c] * ek[k]
        eyc[c] = a  # (TE2)
    n0 = I if (shortcut and not dense) else 0
    for k in range(K):  # (TU1) [1997 eq. 22]
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
            eo = lr * st[9, j] * a  # (TE3) [1997 eq. 21], times α
            r = ro + j
            if not dense:
                W[r, ix] += eo * MW[r, ix]
            for m in range(m0, U1):  # (TU2) [1997 eq. 22]
                W[r, m] += eo * MW[r, m] * u[m]
        for q in range(S):
            c = j * S + q
            es = lr * st[8, j] * st[3, c] * eyc[c]  # (TE4) [1997 eq. 23], times α
            for m in range(U1):
                W[c, m] += es * MW[c, m] * dS[0, c, m]  # (TU3) [1997 eq. 28]
                W[N + j, m] += es * MW[N + j, m] * dS[1, c, m]  # (TU4) [1997 eqs. 24, 26]
            if Cf > 0:
                for m in range(U1):
                    W[N + C + j, m] += es * MW[N + C + j, m] * dS[2, c, m]  # (TU5) [Gers 2000]


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
                        d[k] = error_scale * (y[k] - tgt[t, k])  # (OF2)
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


__all__ = ["CRITERION", "ERROR", "run_dense", "run_onehot"]
