"""Embedding: each token id selects a row of a table.

With E (V, D) and token ids x(t, b) ∈ {0, …, V−1}::

    (EMB1)  e(t, b) = E[x(t, b)]                                           (T, B, D)

Backward, with δe(t, b) = ∂L/∂e(t, b)::

    (EMB2)  δE[v] = Σ_{(t, b) : x(t, b) = v} δe(t, b)                      only rows that occur are non-zero

``grads.rows`` lists those rows (sorted), so an optimiser or a reader can use the gradient's sparsity;
``grads["weight"]`` is the full (V, D) array (PyTorch's ``nn.Embedding(sparse=False)``). Token ids are not
differentiable: ``grads.inputs`` is None. With ``padding_idx = p`` row p is initialised to zero and
receives no gradient (PyTorch's convention), so padding contributes nothing.

Once nothing outside the layer holds that array (or a view of it), the next backward zeroes it in its old
rows and fills it again instead of allocating and zeroing V·D new entries (a training step's largest
allocation). Code that writes into it outside ``grads.rows`` and then drops it must write into a copy.

Initialisation: N(0, 1) like ``nn.Embedding``, or a given matrix (``weights=``, e.g. word vectors).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import numba
import numpy as np

from ..cells.base import Grads, Trace
from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.rng import make_rng
from ..core.validation import check_array, check_int, check_sizes
from .base import Layer

__all__ = ["Embedding"]


def _holders(layer: object) -> int:
    """sys.getrefcount of ``layer._last_gradient`` as this function sees it."""
    return sys.getrefcount(layer._last_gradient)  # type: ignore[attr-defined]


#: what :func:`_holders` returns for an array that nothing else holds, measured on this interpreter (how
#: many references a call itself adds differs between Python versions); each outside holder, a view
#: included (it holds its base), adds one. Without the GIL a count can change while it is read: no reuse.
_UNSHARED = (_holders(SimpleNamespace(_last_gradient=np.empty(1))) if getattr(sys, "_is_gil_enabled", lambda: True)()
             else -1)


@numba.njit(cache=True)
def _scatter_rows(ids, d_e, out):  # pragma: no cover - compiled
    """(EMB2) out[ids[n]] += d_e[n] for every row n (ids (N,), d_e (N, D), out (V, D))."""
    for n in range(ids.shape[0]):
        out[ids[n]] += d_e[n]


class Embedding(Layer):
    """A table of V vectors of size D looked up by token id (EMB1)–(EMB2)."""

    name = "embedding"

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        padding_idx: int | None = None,
        weights: object = None,
        batch_first: bool = False,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        num_embeddings, embedding_dim = check_sizes(
            cls, num_embeddings=num_embeddings, embedding_dim=embedding_dim
        )
        super().__init__(num_embeddings, embedding_dim, dtype, batch_first)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = (
            None if padding_idx is None
            else check_int(f"{cls}(padding_idx=...)", padding_idx, minimum=0, maximum=num_embeddings - 1)
        )
        if weights is None:
            table = make_rng(seed).standard_normal((num_embeddings, embedding_dim)).astype(self.dtype)
        else:
            table = check_array(f"{cls}(weights=...)", np.asarray(weights, dtype=self.dtype),
                                shape=(num_embeddings, embedding_dim), names="(V, D)").copy()
        if self.padding_idx is not None:
            table[self.padding_idx] = 0.0
        self.params["weight"] = table
        self._init_args = (self._init_args[0], {**self._init_args[1], "weights": None})  # saved as a weight

    def check_x(self, thing: str, x: object) -> np.ndarray:
        """Token ids: an integer array (T, B) ((B, T) if batch_first) with values in [0, V)."""
        array = np.asarray(x)
        if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
            raise DTypeError(
                message(thing, "integer token ids", f"dtype {array.dtype}", "Encode text with a Vocab first.")
            )
        if array.ndim != 2:
            names = "(B, T)" if self.batch_first else "(T, B)"
            raise ShapeError(message(thing, f"2 dimensions {names}", f"shape {array.shape}"))
        if array.size and (array.min() < 0 or array.max() >= self.num_embeddings):
            bad = array[(array < 0) | (array >= self.num_embeddings)].flat[0]
            raise OptionError(
                message(thing, f"token ids in [0, {self.num_embeddings})", int(bad),
                        "The vocabulary is larger than the embedding table.")
            )
        return array.astype(np.int64, copy=False)

    def forward(self, x: object, state: Any = None) -> Trace:
        """(EMB1) outputs (T, B, D) ((B, T, D) if batch_first)."""
        ids = self.check_x(f"{type(self).__name__}.forward(x)", x)
        self._check_empty_state(state)
        return self._trace(ids, self.params["weight"][ids])  # (EMB1)

    def backward(self, trace: Trace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(EMB2); ``grads.rows`` are the rows that occur, ``grads.inputs`` is None."""
        d = self._check_d_outputs(trace, d_outputs)
        ids = np.ascontiguousarray(trace.x).reshape(-1)
        weight = self._zero_gradient()
        _scatter_rows(ids, np.ascontiguousarray(d).reshape(ids.size, self.embedding_dim), weight)  # (EMB2)
        rows = np.unique(ids)
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0.0
            rows = rows[rows != self.padding_idx]
        grads = self._grads({"weight": weight}, None)
        grads.rows = rows
        self._last_gradient, self._last_rows = weight, rows
        return grads

    def _zero_gradient(self) -> np.ndarray:
        """A zero (V, D) array for (EMB2). The previous call's array, zeroed again in its rows, when nothing
        outside this layer holds it or a view of it any more (its reference count says so); else a new one."""
        table = self.params["weight"]
        if "_last_gradient" in self.__dict__ and _holders(self) == _UNSHARED:
            last = self._last_gradient
            if last.shape == table.shape and last.dtype == table.dtype:
                last[self._last_rows] = 0.0
                return last
        return np.zeros_like(table)
