"""LSTM as published in 1997: memory blocks with input and output gates around a constant error carousel.

Forward, step t, block j, cell c = c_j^v (σ logistic; u(t) and v(t) are the source vectors)::

    (HF1) u(t)       = [x(t); y^c(t−1); y^in(t−1); y^out(t−1)]         recurrent="full" (1997 connectivity "F")
    (HF2) net_c(t)   = W_c u(t) + b_c;          g_c(t) = g(net_c(t))                   [1997 eq. 9]
    (HF3) net_in(t)  = W_in u(t) + b_in;        y^in(t) = σ(net_in(t))                 [1997 eq. 7]
    (HF5) s(t)       = s(t−1) + y^in(t) g_c(t),  s(−1) = 0                              [1997 eq. 9]
    (HF6) net_out(t) = W_out u(t) + b_out;      y^out(t) = σ(net_out(t))               [1997 eq. 8]
    (HF7) y^c(t)     = y^out(t) h(s(t))                                                [1997 eq. 9]
    (HF8) v(t)       = [x(t) (shortcut only); y^c(t)]
    (HF9) net_k(t)   = W_k v(t) + b_k;          y^k(t) = f_k(net_k(t))   same step t   [1997 §5 intro]

g(x) = 4σ(x) − 2 ∈ [−2, 2] [1997 eq. 5], h(x) = 2σ(x) − 1 ∈ [−1, 1] [1997 eq. 4]: the text's ranges, not the
swapped Table 10 caption. (HF4), the forget gate, is absent: the CEC's self-weight is fixed at 1.0.

Backward (full BPTT; δ = ∂L/∂net, ε = error arriving through u(t+1) or the final state)::

    (HB1) δ_k(t)    = ∂L/∂y^k(t) f_k'(net_k(t))
    (HB2) ∂L/∂y^c(t) = [W_kᵀ δ_k(t)]_c + ε_c(t)
    (HB3) δ_out(t)  = σ'(net_out(t)) (Σ_v ∂L/∂y^c(t) h(s(t)) + ε_out(t))            [1997 eq. 21]
    (HB4) ∂L/∂s(t)  = ∂L/∂y^c(t) y^out(t) h'(s(t)) + ε_s(t)                          [1997 eq. 23]
    (HB5) δ_in(t)   = σ'(net_in(t)) (Σ_v ∂L/∂s(t) g_c(t) + ε_in(t))                  [1997 eqs. 25–26]
    (HB6) δ_c(t)    = ∂L/∂s(t) y^in(t) g'(net_c(t))                                  [1997 eqs. 27–28]
    (HB8) ε_s(t−1)  = ∂L/∂s(t)                       the CEC: ∂s(t)/∂s(t−1) = 1     [1997 eq. 30]
    (HB9) ∂L/∂u(t)  = W_hᵀ δ_h(t) → ∂L/∂x(t), ε(t−1)
    (HB10) ∂L/∂W = Σ_t δ(t) u(t)ᵀ, ∂L/∂b = Σ_t δ(t); ∂L/∂W_k = Σ_t δ_k(t) v(t)ᵀ, ∂L/∂b_k = Σ_t δ_k(t)

``truncate=True`` sets ε(t−1) = 0 in (HB9): no error flows back through y^u(t−1) into net_c, net_in, net_out
[1997 App. A.1, eqs. 12–15]; inside the cell it flows back through the CEC (HB8) unscaled.

Options: ``recurrent`` "full" / "cells" (only y^c(t−1) in u) / "none" (u = x, the "B" net of Exp 2a);
``shortcut`` (x feeds the outputs); ``bias`` "none" / "gates" ("ga") / "hidden" ("b1") / "all" or a set of
{"cells", "gates", "outputs"}; ``output_gate=False`` sets y^out ≡ 1. The kernels are in
:mod:`yetztml.cells.blocks`; equations with paper references in docs/equations/lstm1997.md.
"""

from __future__ import annotations

from typing import ClassVar

from .block_cell import MemoryBlockCell


class LSTM1997(MemoryBlockCell):
    """The 1997 memory-block LSTM (Hochreiter & Schmidhuber 1997, App. A.1).

    >>> import numpy as np
    >>> cell = LSTM1997(7, num_blocks=4, block_size=1, output_size=7, bias="gates", init_range=0.2,
    ...                 output_gate_bias=[-1, -2, -3, -4], seed=0)
    >>> cell.num_weights                      # Exp 1, Table 1
    264
    >>> trace = cell.forward(np.zeros((5, 1, 7)))
    >>> trace.outputs.shape, trace.s.shape    # (T, B, K), (T, B, C·S)
    ((5, 1, 7), (5, 1, 4))
    """

    capabilities = frozenset({"truncate", "rtrl", "truncated1997"})

    name: ClassVar[str] = "lstm1997"

    pinned: ClassVar[dict[str, object]] = {"forget_gate": False, "peepholes": False}
