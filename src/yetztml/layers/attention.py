"""Attention over a memory of encoder outputs, masked over each source sentence's padding.

A query q (B, Q) reads a memory K = k(0…S−1) (S, B, M) (the keys are the values: the encoder outputs);
sequence b's memory is steps 0…len_b − 1, the rest padding. Three score functions::

    (AT1)  dot:        e(s) = q · k(s)                                          (needs Q = M)
    (AT2)  general:    e(s) = q · P(s),   P(s) = W k(s)                         W (Q, M)
    (AT3)  bahdanau:   e(s) = v · u(s),   u(s) = tanh(W_q q + K'(s) + b),   K'(s) = W_k k(s)
                                                                           W_q (A, Q), W_k (A, M), b, v (A,)
    (AT4)  α(s) = exp e(s) / Σ_{r < len} exp e(r)  for s < len;   α(s) = 0 at padding
    (AT5)  c = Σ_s α(s) k(s)                                                     context (B, M)

P(s) and K'(s) depend on the memory only, so :meth:`Attention.prepare` computes them once per batch of
sentences and :meth:`Attention.attend` uses them at every decoder step. Backward, given δc (and
optionally δα from a loss on the weights)::

    (AT6)  δα(s) += δc · k(s);   δk(s) += α(s) δc                                from (AT5)
    (AT7)  δe(s) = α(s) (δα(s) − Σ_r α(r) δα(r))                                from (AT4); 0 at padding
    (AT8)  dot:      δq = Σ_s δe(s) k(s);   δk(s) += δe(s) q                     from (AT1)
    (AT9)  general:  δq = Σ_s δe(s) P(s);   δP(s) = δe(s) q;
                     δW = Σ_{s,b} δP(s) k(s)ᵀ;   δk(s) += Wᵀ δP(s)                from (AT2)
    (AT10) bahdanau: δv = Σ_{s,b} δe(s) u(s);   δz(s) = δe(s) v ⊙ (1 − u(s)²);   δq = W_qᵀ Σ_s δz(s);
                     δW_q = Σ_b (Σ_s δz(s)) qᵀ;   δb = Σ_{s,b} δz(s);   δK'(s) = δz(s);
                     δW_k = Σ_{s,b} δK'(s) k(s)ᵀ;   δk(s) += W_kᵀ δK'(s)          from (AT3)

The per-step backward (:meth:`Attention.attend_backward`) returns δq and adds δk and δP / δK' into
accumulators; :meth:`Attention.prepare_backward` turns the accumulated δP / δK' into δW / δW_k and their
share of δk, once per batch. Arrays inside the per-step functions are batch-major: memory (B, S, M).

As a layer of the protocol, ``forward(x, state, lengths)`` reads the queries x (T, B, Q) (one per step,
each attending independently) with ``state`` = the memory (S, B, M) and ``lengths`` = its lengths (B,);
outputs are the contexts (T, B, M), ``grads.inputs`` = δq and ``grads.initial_state`` = δmemory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells.base import Grads, Trace
from ..core.errors import OptionError, ShapeError, message
from ..core.rng import make_rng
from ..core.validation import check_array, check_choice, check_int, check_sizes
from .base import Layer, check_lengths

__all__ = ["KINDS", "Attention", "Memory"]

#: Score functions by name.
KINDS = ("bahdanau", "luong-dot", "luong-general")


@dataclass
class Memory:
    """A prepared memory: keys (B, S, M), the padding mask (B, S) and the key projection, if any."""

    keys: np.ndarray  # (B, S, M)
    valid: np.ndarray  # (B, S) bool
    projected: np.ndarray | None  # (B, S, Q) P for general, (B, S, A) K' for bahdanau


class Attention(Layer):
    """Additive (Bahdanau) or multiplicative (Luong dot / general) attention (AT1)–(AT10)."""

    name = "attention"
    capabilities = frozenset({"lengths"})

    def __init__(
        self,
        query_size: int,
        memory_size: int,
        kind: str = "luong-general",
        attention_size: int | None = None,
        *,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        query_size, memory_size = check_sizes(cls, query_size=query_size, memory_size=memory_size)
        self.kind = check_choice(f"{cls}(kind=...)", kind, KINDS)
        if self.kind == "luong-dot" and query_size != memory_size:
            raise OptionError(
                message(f"{cls}(kind='luong-dot')", f"query size = memory size ({memory_size})", query_size,
                        "Use kind='luong-general' or 'bahdanau' for different sizes.")
            )
        super().__init__(query_size, memory_size, dtype)
        self.query_size, self.memory_size = query_size, memory_size
        self.attention_size = query_size if attention_size is None else check_int(
            f"{cls}(attention_size=...)", attention_size, minimum=1)
        rng = make_rng(seed)
        A, Q, M = self.attention_size, query_size, memory_size
        if self.kind == "luong-general":
            self.params["W"] = (rng.uniform(-1, 1, (Q, M)) / np.sqrt(M)).astype(self.dtype)
        elif self.kind == "bahdanau":
            self.params["W_q"] = (rng.uniform(-1, 1, (A, Q)) / np.sqrt(Q)).astype(self.dtype)
            self.params["W_k"] = (rng.uniform(-1, 1, (A, M)) / np.sqrt(M)).astype(self.dtype)
            self.params["b"] = np.zeros(A, self.dtype)
            self.params["v"] = (rng.uniform(-1, 1, A) / np.sqrt(A)).astype(self.dtype)

    # -- the per-step interface used by a decoder ---------------------------------------------------
    def prepare(self, memory: np.ndarray, lengths: np.ndarray) -> Memory:
        """The memory (S, B, M) batch-major, its mask (AT4) and its projection (AT2)/(AT3)."""
        keys = np.ascontiguousarray(memory.transpose(1, 0, 2))  # (B, S, M)
        valid = np.arange(keys.shape[1])[None, :] < lengths[:, None]  # (B, S)
        projected = None
        if self.kind != "luong-dot":
            w = self.params["W" if self.kind == "luong-general" else "W_k"]
            B, S, M = keys.shape
            projected = (keys.reshape(B * S, M) @ w.T).reshape(B, S, -1)  # (AT2) W k(s), (AT3) W_k k(s); one GEMM
        return Memory(keys, valid, projected)

    def attend(self, query: np.ndarray, mem: Memory) -> tuple[np.ndarray, dict[str, Any]]:
        """Context (B, M) of one query (B, Q) and what the backward needs (``cache["alpha"]`` (B, S))."""
        cache: dict[str, Any] = {"q": query}
        if self.kind == "luong-dot":
            e = np.einsum("bsm,bm->bs", mem.keys, query)  # (AT1)
        elif self.kind == "luong-general":
            e = np.einsum("bsq,bq->bs", mem.projected, query)  # (AT2)
        else:
            z = mem.projected + (query @ self.params["W_q"].T + self.params["b"])[:, None, :]
            u = np.tanh(z)  # (AT3)
            cache["u"] = u
            e = u @ self.params["v"]  # (AT3)
        e = np.where(mem.valid, e, -np.inf)
        e = e - e.max(axis=1, keepdims=True)
        alpha = np.exp(e)  # (AT4), exp(−inf) = 0 at padding
        alpha /= alpha.sum(axis=1, keepdims=True)
        cache["alpha"] = alpha
        context = np.einsum("bs,bsm->bm", alpha, mem.keys)  # (AT5)
        return context, cache

    def attend_backward(
        self, cache: dict[str, Any], mem: Memory, d_context: np.ndarray, grads: dict[str, np.ndarray],
        d_keys: np.ndarray, d_projected: np.ndarray | None, d_alpha: np.ndarray | None = None,
    ) -> np.ndarray:
        """δq (B, Q) of one step; adds into ``grads`` (v, W_q, b), ``d_keys`` (B, S, M), ``d_projected``."""
        alpha, q = cache["alpha"], cache["q"]
        da = np.einsum("bm,bsm->bs", d_context, mem.keys)  # (AT6) δα(s) = δc · k(s)
        if d_alpha is not None:
            da = da + d_alpha
        d_keys += alpha[:, :, None] * d_context[:, None, :]  # (AT6) δk(s) += α(s) δc
        de = alpha * (da - np.sum(alpha * da, axis=1, keepdims=True))  # (AT7)
        if self.kind == "luong-dot":
            d_keys += de[:, :, None] * q[:, None, :]  # (AT8)
            return np.einsum("bs,bsm->bm", de, mem.keys)  # (AT8)
        if self.kind == "luong-general":
            d_projected += de[:, :, None] * q[:, None, :]  # (AT9) δP(s) = δe(s) q
            return np.einsum("bs,bsq->bq", de, mem.projected)  # (AT9)
        u = cache["u"]
        grads["v"] += np.einsum("bs,bsa->a", de, u)  # (AT10) δv
        dz = de[:, :, None] * self.params["v"] * (1.0 - u * u)  # (AT10) δz(s)
        d_projected += dz  # (AT10) δK'(s) = δz(s)
        dz_sum = dz.sum(axis=1)  # (B, A)
        grads["W_q"] += dz_sum.T @ q  # (AT10)
        grads["b"] += dz_sum.sum(axis=0)  # (AT10)
        return dz_sum @ self.params["W_q"]  # (AT10) δq = W_qᵀ Σ_s δz(s)

    def prepare_backward(
        self, mem: Memory, grads: dict[str, np.ndarray], d_keys: np.ndarray, d_projected: np.ndarray | None
    ) -> np.ndarray:
        """The memory's gradient (S, B, M) from the accumulated δk and δP / δK'; adds δW / δW_k."""
        if self.kind != "luong-dot":
            name = "W" if self.kind == "luong-general" else "W_k"
            M = self.memory_size
            rows = d_projected.reshape(-1, d_projected.shape[2])
            grads[name] += rows.T @ mem.keys.reshape(-1, M)  # (AT9) δW, (AT10) δW_k = Σ δP(s) k(s)ᵀ
            d_keys = d_keys + (rows @ self.params[name]).reshape(d_keys.shape)  # (AT9), (AT10) δk(s) += Wᵀ δP(s)
        return np.ascontiguousarray(d_keys.transpose(1, 0, 2))

    def zero_accumulators(self, mem: Memory) -> tuple[np.ndarray, np.ndarray | None]:
        """Zero δk (B, S, M) and δP / δK' accumulators for :meth:`attend_backward`."""
        d_proj = None if mem.projected is None else np.zeros_like(mem.projected)
        return np.zeros_like(mem.keys), d_proj

    # -- the protocol: T queries over one memory ------------------------------------------------------
    def check_memory(self, thing: str, memory: object, lengths: object, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """The memory (S, B, M) and its lengths (B,), validated."""
        if memory is None:
            raise ShapeError(message(thing, f"a memory (S, {batch}, {self.memory_size}) as the state", "None"))
        memory = check_array(thing, memory, shape=(None, batch, self.memory_size), dtype=self.dtype,
                             names="(S, B, M)")
        S = memory.shape[0]
        lengths = np.full(batch, S, np.int64) if lengths is None else check_lengths(
            f"{type(self).__name__}.forward(lengths)", lengths, S, batch)
        return memory, lengths

    def forward(self, x: object, state: Any = None, lengths: object = None) -> Trace:
        """Contexts (T, B, M) for queries x (T, B, Q) over the memory ``state`` (S, B, M) (AT1)–(AT5)."""
        cls = type(self).__name__
        x = self.check_x(f"{cls}.forward(x)", x)
        memory, lengths = self.check_memory(f"{cls}.forward(state)", state, lengths, x.shape[1])
        mem = self.prepare(memory, lengths)
        contexts, caches = np.empty((x.shape[0], x.shape[1], self.memory_size), self.dtype), []
        for t in range(x.shape[0]):
            contexts[t], cache = self.attend(x[t], mem)
            caches.append(cache)
        return Trace(x=x, outputs=contexts, initial_state=memory, final_state=(),
                     extras={"memory": mem, "caches": caches})

    def backward(self, trace: Trace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(AT6)–(AT10) over every query."""
        d = self._check_d_outputs(trace, d_outputs)
        mem = trace.extras["memory"]
        grads = self.zero_grads()
        d_keys, d_proj = self.zero_accumulators(mem)
        dx = np.empty_like(trace.x)
        for t, cache in enumerate(trace.extras["caches"]):
            dx[t] = self.attend_backward(cache, mem, d[t], grads, d_keys, d_proj)
        d_memory = self.prepare_backward(mem, grads, d_keys, d_proj)
        return Grads(grads, inputs=dx, initial_state=d_memory)
