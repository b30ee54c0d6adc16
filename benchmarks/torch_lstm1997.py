"""The 1997 LSTM of Experiment 4 in PyTorch eager mode: autograd, ``.detach()`` truncation, per-sequence SGD.

A reference for ``bench_truncated1997.py``, written independently of yetztml's kernels from the equations
(C blocks of S cells, N = C·S, U = I + N + 2C sources; σ logistic; states kept as (C, S))::

    (HF1) u(t)       = [x(t); y^c(t−1); y^in(t−1); y^out(t−1)]        all three detached (the truncation)
    (HF2) g(t)       = 4σ(W_c u(t) + b_c) − 2                                        [1997 eqs. 5, 9]
    (HF3) y^in(t)    = σ(W_in u(t) + b_in)                                           [1997 eq. 7]
    (HF5) s(t)       = s(t−1) + y^in(t) g(t),  s(−1) = 0     differentiable: the CEC [1997 eq. 9]
    (HF6) y^out(t)   = σ(W_out u(t) + b_out)                                         [1997 eq. 8]
    (HF7) y^c(t)     = y^out(t) (2σ(s(t)) − 1)                                       [1997 eqs. 4, 9]
    (HF9) y^k(t)     = σ(W_k y^c(t) + b_k)       same step t, only where an error arrives [1997 §5 intro]
    (L)  E          = Σ_k (y^k(T−1) − target_k)²                the squared error at the sequence end
    (O)  w          ← w − α ∂E/∂w                                once per sequence

Detaching every recurrent activation that enters (HF1) while keeping s(t−1) → s(t) differentiable gives
exactly the 1997 truncated gradient with the weights held fixed over the sequence [1997 App. A.1,
eqs. 12–15]; ``truncate=False`` keeps (HF1) differentiable (full BPTT). Weights and biases are the leaf
tensors named like ``LSTM1997.params``; the three hidden weight matrices are stacked once per sequence so
that each step costs one matrix-vector product and one logistic. The output unit is evaluated only at
the step with an error (the adding task's last step): outputs elsewhere do not change the gradient, and
skipping them makes this reference faster, never slower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

#: The parameters of the Exp 4 net, in the order of ``LSTM1997.params`` (bias="all", output gate).
NAMES = ("W_c", "b_c", "W_in", "b_in", "W_out", "b_out", "W_k", "b_k")


class TorchLSTM1997:
    """The 1997 memory-block net with connectivity "full", all biases, logistic output, no shortcut."""

    def __init__(
        self,
        params: Mapping[str, np.ndarray],
        num_blocks: int,
        block_size: int,
        *,
        dtype: torch.dtype = torch.float64,
        truncate: bool = True,
    ) -> None:
        missing = sorted(set(NAMES) - set(params))
        if missing:
            raise ValueError(f"TorchLSTM1997(params): expected the keys {list(NAMES)}, got {missing} missing.")
        self.C, self.S = num_blocks, block_size
        self.truncate = truncate
        self.dtype = dtype
        self.params = {
            name: torch.tensor(np.asarray(params[name]), dtype=dtype).requires_grad_(True) for name in NAMES
        }
        N = self.C * self.S
        if self.params["W_c"].shape[0] != N or self.params["W_k"].shape[1] != N:
            raise ValueError(f"TorchLSTM1997(params): expected W_c with {N} rows and W_k with {N} columns.")

    @classmethod
    def from_cell(cls, cell, *, dtype: torch.dtype = torch.float64, truncate: bool = True) -> TorchLSTM1997:
        """The same net and initial weights as a yetztml ``LSTM1997`` of the Exp 4 configuration."""
        options = (cell.recurrent, cell.g, cell.h, cell.output, cell.shortcut, cell.output_gate, sorted(cell.bias))
        wanted = ("full", "g1997", "h1997", "logistic", False, True, ["cells", "gates", "outputs"])
        if options != wanted or cell.forget_gate or cell.peepholes:
            raise ValueError(f"TorchLSTM1997.from_cell: expected the Exp 4 configuration {wanted}, got {options}.")
        return cls(cell.params, cell.num_blocks, cell.block_size, dtype=dtype, truncate=truncate)

    def sequence_loss(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(HF1)–(HF9) over x (L, I) from the zero state and (L): the squared error of the last step."""
        p, C, S = self.params, self.C, self.S
        N = C * S
        W_h = torch.cat((p["W_c"], p["W_in"], p["W_out"]))  # (N + 2C, U)
        b_h = torch.cat((p["b_c"], p["b_in"], p["b_out"]))  # (N + 2C,)
        y_c = x.new_zeros(C, S)
        y_in = x.new_zeros(C)
        y_out = x.new_zeros(C)
        s = x.new_zeros(C, S)
        for x_t in x.unbind(0):
            if self.truncate:
                u = torch.cat((x_t, y_c.detach().reshape(N), y_in.detach(), y_out.detach()))  # (HF1), truncated
            else:
                u = torch.cat((x_t, y_c.reshape(N), y_in, y_out))  # (HF1)
            act = torch.sigmoid(torch.addmv(b_h, W_h, u))  # σ of every net input, (N + 2C,)
            g = 4.0 * act[:N].view(C, S) - 2.0  # (HF2)
            y_in = act[N : N + C]  # (HF3)
            y_out = act[N + C :]  # (HF6)
            s = s + y_in.unsqueeze(1) * g  # (HF5)
            y_c = y_out.unsqueeze(1) * (2.0 * torch.sigmoid(s) - 1.0)  # (HF7)
        y_k = torch.sigmoid(torch.addmv(p["b_k"], p["W_k"], y_c.reshape(N)))  # (HF9)
        return ((y_k - target) ** 2).sum()  # (L)

    def gradients(self, x: torch.Tensor, target: torch.Tensor) -> tuple[float, dict[str, np.ndarray]]:
        """E and ∂E/∂w of one sequence, as NumPy arrays keyed like the parameters (weights unchanged)."""
        loss = self.sequence_loss(x, target)
        grads = torch.autograd.grad(loss, [self.params[name] for name in NAMES])
        return loss.item(), {name: g.numpy().copy() for name, g in zip(NAMES, grads, strict=True)}

    def train(self, xs: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], lr: float) -> float:
        """(O) after each sequence, in order; returns Σ E (each measured before its own update)."""
        leaves = [self.params[name] for name in NAMES]
        total = 0.0
        for x, target in zip(xs, targets, strict=True):
            loss = self.sequence_loss(x, target)
            loss.backward()
            with torch.no_grad():
                for w in leaves:
                    w.sub_(lr * w.grad)  # (O)
                    w.grad = None
            total += loss.item()
        return total

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Current weights, keyed like ``LSTM1997.params``."""
        return {name: w.detach().numpy().copy() for name, w in self.params.items()}


def sequences(samples, dtype: torch.dtype = torch.float64) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Inputs (L, I) and end targets (K,) of task samples whose error is at the last step only."""
    xs, targets = [], []
    for sample in samples:
        if not (sample.mask[-1] and sample.mask.sum() == 1):
            raise ValueError("sequences(samples): expected samples with an error at the last step only.")
        xs.append(torch.tensor(sample.x, dtype=dtype))
        targets.append(torch.tensor(sample.targets[-1], dtype=dtype))
    return xs, targets


__all__ = ["NAMES", "TorchLSTM1997", "sequences"]
