"""LSTM with forget gates (Gers, Schmidhuber & Cummins 2000): the block's cells can reset their own state.

Forward, step t, block j, cell c = c_j^v (σ logistic)::

    (FGF1) u(t)       = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]     recurrent="full"
    (FGF2) net_c(t)   = W_c u(t) + b_c;          g_c(t) = g(net_c(t))                   [1997 eq. 9]
    (FGF3) net_in(t)  = W_in u(t) + b_in;        y^in(t) = σ(net_in(t))                 [1997 eq. 7]
    (FGF4) net_φ(t)   = W_phi u(t) + b_phi;      y^φ(t) = σ(net_φ(t))                   [Gers 2000]
    (FGF5) s(t)       = y^φ(t) s(t−1) + y^in(t) g_c(t),  s(−1) = 0                       [Gers 2000]
    (FGF6) net_out(t) = W_out u(t) + b_out;      y^out(t) = σ(net_out(t))               [1997 eq. 8]
    (FGF7) y^c(t)     = y^out(t) h(s(t))                                                [1997 eq. 9]
    (FGF8) v(t)       = [x(t) (shortcut only); y^c(t)]
    (FGF9) net_k(t)   = W_k v(t) + b_k;          y^k(t) = f_k(net_k(t))   same step t   [1997 §5 intro]

One forget gate per block, shared by its S cells. With y^φ ≡ 1, (FGF5) is the 1997 CEC and the cell is
:class:`~yetztml.cells.lstm1997.LSTM1997`. Under recurrent="full" the forget gates' activations are
sources too, like the other gates' in the 1997 connectivity "F".

Backward (full BPTT; δ = ∂L/∂net, ε = error arriving through u(t+1) or the final state)::

    (FGB1) δ_k(t)    = ∂L/∂y^k(t) f_k'(net_k(t))
    (FGB2) ∂L/∂y^c(t) = [W_kᵀ δ_k(t)]_c + ε_c(t)
    (FGB3) δ_out(t)  = σ'(net_out(t)) (Σ_v ∂L/∂y^c(t) h(s(t)) + ε_out(t))            [1997 eq. 21]
    (FGB4) ∂L/∂s(t)  = ∂L/∂y^c(t) y^out(t) h'(s(t)) + ε_s(t)                          [1997 eq. 23]
    (FGB5) δ_in(t)   = σ'(net_in(t)) (Σ_v ∂L/∂s(t) g_c(t) + ε_in(t))                  [1997 eqs. 25–26]
    (FGB6) δ_c(t)    = ∂L/∂s(t) y^in(t) g'(net_c(t))                                  [1997 eqs. 27–28]
    (FGB7) δ_φ(t)    = σ'(net_φ(t)) (Σ_v ∂L/∂s(t) s(t−1) + ε_φ(t))                    [Gers 2000 eqs. 3.10–3.12]
    (FGB8) ε_s(t−1)  = y^φ(t) ∂L/∂s(t)
    (FGB9) ∂L/∂u(t)  = W_hᵀ δ_h(t) → ∂L/∂x(t), ε(t−1)
    (FGB10) ∂L/∂W = Σ_t δ(t) u(t)ᵀ, ∂L/∂b = Σ_t δ(t); ∂L/∂W_k = Σ_t δ_k(t) v(t)ᵀ, ∂L/∂b_k = Σ_t δ_k(t)

``truncate=True`` sets ε(t−1) = 0 in (FGB9) (no error through y^u(t−1) into net_c, net_in, net_φ, net_out); the
state edge (FGB8) stays, scaled by y^φ(t) as in the truncated partials [Gers 2000 eqs. 3.10–3.12].

The Gers 2000 CERG net (424 weights) is ``LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True,
bias={"gates", "outputs"})``. Equations with paper references: docs/equations/lstm_forget.md.
"""

from __future__ import annotations

from typing import ClassVar

from .block_cell import MemoryBlockCell


class LSTMForget(MemoryBlockCell):
    """Memory-block LSTM with one forget gate per block (Gers, Schmidhuber & Cummins 2000).

    >>> cell = LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True, bias={"gates", "outputs"},
    ...                   forget_gate_bias=[0.5, 1.0, 1.5, 2.0], init_range=0.2, seed=0)
    >>> cell.num_weights                      # CERG
    424
    """

    capabilities = frozenset({"truncate", "rtrl", "truncated1997"})

    name: ClassVar[str] = "lstm-forget"

    pinned: ClassVar[dict[str, object]] = {"forget_gate": True, "peepholes": False}
