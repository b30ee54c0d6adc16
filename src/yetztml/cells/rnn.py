"""Elman RNN in PyTorch's layout (``nn.RNN``), with the squashing function φ ∈ {tanh, relu, logistic}.

One layer, → direction (← reads t = T−1…0 and its "previous" state is h(t+1))::

    (RNF1)  a(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh                        (B, H)
    (RNF2)  h(t) = φ(a(t))                                                      hidden state = output

Backward, t = T−1…0, with δh(T−1) = δh_n arriving from the final state::

    (RNB1)  δh(t) += δoutputs(t)
    (RNB2)  δa(t) = δh(t) ⊙ φ'(a(t))       φ' from h(t): 1 − h² (tanh), [h > 0] (relu), h(1 − h) (logistic)
    (RNB3)  δh(t−1) = W_hhᵀ δa(t)                                               from (RNF1)
    (RNB4)  δW_ih = Σ_t δa(t) x(t)ᵀ,  δW_hh = Σ_t δa(t) h(t−1)ᵀ,  δb_ih = δb_hh = Σ_t δa(t)
    (RNB5)  δx(t) = W_ihᵀ δa(t)

The initial-state gradient is δh(−1) after the last step of the sweep. Layers and the reverse
direction are stacked by :mod:`yetztml.cells.stack` (ST1)–(ST7). relu's derivative at 0 is 0 (PyTorch's).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numba
import numpy as np

from ..core import activations, squash
from ..core.linalg import gemm_nn, gemm_nt
from .stack import Stacked
from .sweep import slots, start_sweep, summed_sweep_grads

NONLINEARITIES = ("tanh", "relu", "logistic")


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def rnn_forward(x, w_ih, w_hh, b_ih, b_hh, h0, kind, reverse, fast, h):
    """One layer, one direction. x (T, B, I); w_ih (H, I); w_hh (H, H); b_* (H,); h0 (B, H).

    ``kind`` is the activation code of φ. Fills h (T+1, B, H), the initial state in slot T·reverse.
    ``fast`` selects the rational tanh of :mod:`yetztml.core.squash` for tanh and logistic.
    """
    T, B, I = x.shape
    H = h0.shape[1]
    b = b_ih + b_hh  # (H,)
    rec = np.empty((B, H), dtype=x.dtype)  # W_hh h(t−1), one step
    outputs = h[1 - reverse : T + 1 - reverse]  # (T, B, H) hold W_ih x(t) until each step overwrites them
    start_sweep(x, w_ih, h0, h, outputs, reverse)  # (RNF1) W_ih x(t), all T·B rows at once
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, rec, False)  # (RNF1) W_hh h(t−1)
        for n in range(B):
            a = h[cur, n]  # (H,) W_ih x(t); becomes h(t)
            r = rec[n]
            if kind == activations.TANH:
                for j in range(H):
                    a[j] = squash.tanh(a[j] + r[j] + b[j], fast)  # (RNF1), (RNF2)
            elif kind == activations.LOGISTIC:
                for j in range(H):
                    a[j] = squash.logistic(a[j] + r[j] + b[j], fast)  # (RNF1), (RNF2)
            else:
                for j in range(H):
                    a[j] = activations.apply(kind, a[j] + r[j] + b[j])  # (RNF1), (RNF2)


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def rnn_backward(x, w_ih, w_hh, h, d_out, dh_n, kind, reverse, da, dx):
    """Backward of :func:`rnn_forward`. d_out (T, B, H); dh_n (B, H) at the final state.

    Fills da (T, B, H) with δa and dx (T, B, I) with δx; returns δW_ih (H, I), δW_hh (H, H),
    δb (H,) (= δb_ih = δb_hh) and δh0 (B, H).
    """
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()  # (B, H)
    for s in range(T):
        t, _, cur = slots(T, T - 1 - s, reverse)
        for n in range(B):
            y = h[cur, n]  # (H,) h(t) = φ(a(t))
            dy = d_out[t, n]
            dhn = dh[n]
            d1 = da[t, n]
            for j in range(H):
                # φ'(a) from y = φ(a); relu's test a > 0 is the same as y > 0
                d1[j] = (dhn[j] + dy[j]) * activations.derivative(kind, y[j], y[j])  # (RNB1), (RNB2)
        gemm_nn(da[t], w_hh, dh, False)  # (RNB3) δh(t−1) = W_hhᵀ δa(t), as rows: δa (B, H) · W_hh (H, H)
    dw_ih, dw_hh, db = summed_sweep_grads(x, h, w_ih, w_hh, da, reverse, dx)  # (RNB4), (RNB5) as (SW2)–(SW4)
    return dw_ih, dw_hh, db, dh


class RNN(Stacked):
    """Elman network with PyTorch's ``nn.RNN`` layout, parameters and initialisation.

    ``nonlinearity`` is ``"tanh"``, ``"relu"`` or ``"logistic"`` (alias ``"sigmoid"``; PyTorch has no
    logistic RNN, so such a cell cannot be exported with ``to_torch``).

    >>> import numpy as np
    >>> cell = RNN(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, seed=0)
    >>> trace = cell.forward(np.zeros((4, 2, 3)))
    >>> trace.outputs.shape, trace.final_state.shape
    ((4, 2, 10), (4, 2, 5))
    """

    capabilities = frozenset({"rtrl"})

    name: ClassVar[str] = "rnn"
    gate_blocks: ClassVar[int] = 1
    _forward_kernel: ClassVar[Any] = staticmethod(rnn_forward)
    _backward_kernel: ClassVar[Any] = staticmethod(rnn_backward)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        self.kind = activations.code("RNN(nonlinearity=...)", nonlinearity, NONLINEARITIES)
        self.nonlinearity = activations.NAMES[self.kind]
        super().__init__(input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional, seed=seed, dtype=dtype)

    def _kernel_options(self) -> tuple[int]:
        """φ's activation code, which both kernels take after the initial state (its error, backward)."""
        return (self.kind,)
