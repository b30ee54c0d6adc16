"""LSTM with forget gates and peephole connections (Gers, Schraudolph & Schmidhuber 2002).

Forward, step t, block j, cell c = c_j^v (σ logistic; P s means Σ_v P[j, v] s_{c_j^v}, the block's cells)::

    (PHF1) u(t)       = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]     recurrent="full"
    (PHF2) net_c(t)   = W_c u(t) + b_c;                      g_c(t) = g(net_c(t))       [1997 eq. 9]
    (PHF3) net_in(t)  = W_in u(t) + b_in + P_in s(t−1);      y^in(t) = σ(net_in(t))     [Gers 2002 §3]
    (PHF4) net_φ(t)   = W_phi u(t) + b_phi + P_phi s(t−1);   y^φ(t) = σ(net_φ(t))       [Gers 2002 §3]
    (PHF5) s(t)       = y^φ(t) s(t−1) + y^in(t) g_c(t),  s(−1) = 0                       [Gers 2000]
    (PHF6) net_out(t) = W_out u(t) + b_out + P_out s(t);     y^out(t) = σ(net_out(t))   [Gers 2002 §3]
    (PHF7) y^c(t)     = y^out(t) h(s(t))                     h = identity by default    [Gers 2002 §3]
    (PHF8) v(t)       = [x(t) (shortcut only); y^c(t)]
    (PHF9) net_k(t)   = W_k v(t) + b_k;                      y^k(t) = f_k(net_k(t))     same step t

The input and forget gates peek at the old state s(t−1); the output gate, computed after the update, peeks
at the new state s(t). Gers 2002 drops h from (PHF7), so ``h="identity"`` is the default here; h stays
selectable (h="h1997" gives the 1997 squash). g keeps the family default 4σ − 2: it is a per-experiment
setting (the 2002 timing tasks use g = identity), not part of the cell's equations.
``forget_gate=False`` removes (PHF4) (y^φ ≡ 1, P_phi absent).

Backward (full BPTT; δ = ∂L/∂net, ε = error arriving through u(t+1) or the final state)::

    (PHB1) δ_k(t)    = ∂L/∂y^k(t) f_k'(net_k(t))
    (PHB2) ∂L/∂y^c(t) = [W_kᵀ δ_k(t)]_c + ε_c(t)
    (PHB3) δ_out(t)  = σ'(net_out(t)) (Σ_v ∂L/∂y^c(t) h(s(t)) + ε_out(t))            [1997 eq. 21]
    (PHB4) ∂L/∂s(t)  = ∂L/∂y^c(t) y^out(t) h'(s(t)) + ε_s(t) + P_out δ_out(t)         [1997 eq. 23]
    (PHB5) δ_in(t)   = σ'(net_in(t)) (Σ_v ∂L/∂s(t) g_c(t) + ε_in(t))
    (PHB6) δ_c(t)    = ∂L/∂s(t) y^in(t) g'(net_c(t))
    (PHB7) δ_φ(t)    = σ'(net_φ(t)) (Σ_v ∂L/∂s(t) s(t−1) + ε_φ(t))
    (PHB8) ε_s(t−1)  = y^φ(t) ∂L/∂s(t) + P_in δ_in(t) + P_phi δ_φ(t)
    (PHB9) ∂L/∂u(t)  = W_hᵀ δ_h(t) → ∂L/∂x(t), ε(t−1)
    (PHB10) ∂L/∂W = Σ_t δ(t) u(t)ᵀ, ∂L/∂b = Σ_t δ(t), ∂L/∂W_k = Σ_t δ_k(t) v(t)ᵀ, ∂L/∂b_k = Σ_t δ_k(t),
          ∂L/∂P_in = Σ_t δ_in(t) s(t−1), ∂L/∂P_phi = Σ_t δ_φ(t) s(t−1), ∂L/∂P_out = Σ_t δ_out(t) s(t)

``truncate=True`` sets ε(t−1) = 0 in (PHB9) and drops the peephole terms P_out δ_out of (PHB4) and
P_in δ_in + P_phi δ_φ of (PHB8): "no error signals are propagated back from gates via peephole connections
to the CEC" [Gers 2002 §3]. The CEC edge y^φ(t) ∂L/∂s(t) stays; peephole weights still get (PHB10).

The 2002 timing net (17 weights) is ``LSTMPeephole(1, 1, 1, 1, recurrent="cells", bias="all")``, one reading
of its connectivity. Equations with paper references: docs/equations/lstm_peephole.md.
"""

from __future__ import annotations

from typing import ClassVar

from .block_cell import MemoryBlockCell


class LSTMPeephole(MemoryBlockCell):
    """Memory-block LSTM with forget gates and peepholes from each cell's state to its block's gates.

    >>> cell = LSTMPeephole(1, 1, 1, 1, recurrent="cells", bias="all", g="identity",
    ...                     forget_gate_bias=[-2.0], input_gate_bias=[0.0], output_gate_bias=[2.0], seed=0)
    >>> cell.num_weights, cell.params["P_in"].shape
    (17, (1, 1))
    """

    capabilities = frozenset({"truncate", "rtrl", "truncated1997"})

    name: ClassVar[str] = "lstm-peephole"

    pinned: ClassVar[dict[str, object]] = {"peepholes": True}
    defaults: ClassVar[dict[str, object]] = {"h": "identity"}
