"""Encoder–decoder with attention and input feeding (Luong et al. 2015), every gradient by hand.

Input layout (the protocol's one array): x = [source ids (S, B); decoder input ids (T, B)] stacked in
time, ``lengths`` (B, 2) = [source length, target length], S = max source length. The decoder input is
``<bos> y(0) … y(T−2)``, the targets (given to the loss, not here) ``y(0) … y(T−1)`` ending in ``<eos>``.

Encoder (a :class:`~yetztml.models.Sequential`: embedding, dropout, recurrent layers, bidirectional ones
reading each sentence from its own last word) gives the memory k(0…S−1) (S, B, M). Then::

    (S2S1)  s(−1) = (tanh(W_br k_last + b_br), 0)      k_last = [k→(len−1) | k←(0)] (bi) or k(len−1)
    (S2S2)  x(t) = [drop(E_t[in(t)]) | h̃(t−1)],   h̃(−1) = 0                        input feeding
    (S2S3)  h(t), s(t) = cell(x(t), s(t−1))                                       LSTM or GRU, one step
    (S2S4)  c(t) = attention(h(t), k, len)                                         (AT1)–(AT5)
    (S2S5)  h̃(t) = tanh(W_c [c(t) | h(t)] + b_c)       without attention: tanh(W_c h(t) + b_c)
    (S2S6)  logits(t) = W_o drop(h̃(t)) + b_o                                      (T, B, V)

Backward, t = T−1…0, with δh̃_in(T−1) = 0 and δs(T−1) = 0::

    (S2S7)  δW_o = Σ δlogits(t) drop(h̃(t))ᵀ,  δb_o = Σ δlogits(t);  δh̃(t) = drop′(W_oᵀ δlogits(t)) + δh̃_in(t)
    (S2S8)  δz = δh̃ ⊙ (1 − h̃²);  δW_c += δz [c | h]ᵀ;  δb_c += δz;  [δc | δh_c] = W_cᵀ δz
    (S2S9)  δh(t) = δh_c + δq(t) where δq is the attention's (AT6)–(AT10); δk accumulates
    (S2S10) the cell's backward of the one step with δh(t) at its output and δs(t) at its final state
            gives δx(t), δs(t−1) and its weights' gradients (summed over t);
            [δy(t) | δh̃_in(t−1)] = δx(t);   δE_t from drop′(δy)                  (EMB2), (DRP3)
    (S2S11) δs(−1) = (δh(−1), ·):  δW_br = δu k_lastᵀ, δb_br = δu, δk_last = W_brᵀ δu,
            δu = δh(−1) ⊙ (1 − h(−1)²);  δk_last reaches k→(len−1) and k←(0)
    (S2S12) δk = the attention's (AT6)–(AT10) + (S2S11); the encoder's backward takes δk

Initialisation. ``init_range=None`` keeps each part's own (PyTorch's module defaults: embeddings N(0, 1),
recurrent cells and attention U(±1/√fan_in), W_br, W_c, W_o U(±1/√fan_in) with zero biases);
``init_range=r`` then draws every parameter again from U(−r, r), the padding rows of both embeddings kept 0
(Luong et al. 2015 §4.1 use r = 0.1). On Multi30k the second learns much faster per step: validation
perplexity 13.85 against 23.17 after one epoch (docs/translate.md, "Initialisation").

The decoder's recurrence runs one step at a time: an LSTM decoder with the cell's equations (LSF1)–(LSF7),
(LSB1)–(LSB9) written with NumPy per step (two BLAS products per step forward and backward, its weight
gradients as one product over all steps; the compiled kernel's cost per call dominated at T = 1), a GRU
decoder through the GRU's compiled kernels with T = 1. The readout and the embeddings run over all steps
at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cells import GRU, LSTM
from ..cells.base import Cell, Grads, Trace, state_leaves
from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.rng import make_rng
from ..core.validation import check_choice, check_float, check_int
from ..layers import Attention, Dropout, Embedding
from .bidirectional import Bidirectional
from .sequential import Sequential

__all__ = ["ATTENTIONS", "CELLS", "Seq2Seq", "pack_pairs", "split_pairs"]

CELLS = {"lstm": LSTM, "gru": GRU}
ATTENTIONS = ("luong-general", "luong-dot", "bahdanau", "none")


def pack_pairs(src: np.ndarray, src_lengths: np.ndarray, tgt_in: np.ndarray, tgt_lengths: np.ndarray):
    """The model's input: x = [src (S, B); tgt_in (T, B)] and lengths (B, 2); S must be max(src_lengths)."""
    x = np.concatenate([src, tgt_in], axis=0).astype(np.int64, copy=False)
    return x, np.stack([src_lengths, tgt_lengths], axis=1).astype(np.int64)


def split_pairs(thing: str, x: np.ndarray, lengths: object):
    """(src, src_lengths, tgt_in, tgt_lengths) from :func:`pack_pairs`'s layout, checked."""
    lengths = np.asarray(lengths)
    B = x.shape[1]
    if lengths.shape != (B, 2) or not np.issubdtype(lengths.dtype, np.integer):
        raise ShapeError(message(thing, f"lengths (B, 2) = [source, target] integers, B = {B}",
                                 f"shape {lengths.shape} dtype {lengths.dtype}", "Build inputs with pack_pairs."))
    S = int(lengths[:, 0].max())
    T = x.shape[0] - S
    if lengths[:, 0].min() < 1 or T < 1 or lengths[:, 1].min() < 1 or lengths[:, 1].max() > T:
        raise OptionError(message(thing, f"source lengths ≥ 1 and target lengths in [1, {max(T, 1)}]",
                                  f"lengths {lengths.tolist()[:4]}… for {x.shape[0]} steps"))
    return x[:S], lengths[:, 0].astype(np.int64), x[S:], lengths[:, 1].astype(np.int64)


def _lstm_step(params: dict[str, np.ndarray], x: np.ndarray, state: Any) -> tuple[np.ndarray, Any, dict]:
    """One step of :mod:`yetztml.cells.lstm` (LSF1)–(LSF7) with NumPy (two BLAS products and the gates), for
    the decoder: the compiled kernel's per-call cost dominates at T = 1. Returns h, the state, the cache."""
    from ..cells.lstm import LSTMState

    h_prev, c_prev = state.h[0], state.c[0]
    H = h_prev.shape[1]
    a = x @ params["weight_ih_l0"].T + h_prev @ params["weight_hh_l0"].T  # (LSF1)
    a += params["bias_ih_l0"] + params["bias_hh_l0"]  # (LSF1)
    gates = np.empty_like(a)
    for lo, hi in ((0, 2 * H), (3 * H, 4 * H)):
        gates[:, lo:hi] = 0.5 * (1.0 + np.tanh(0.5 * a[:, lo:hi]))  # (LSF2), (LSF3), (LSF5) σ(a) = ½(1 + tanh(a/2))
    gates[:, 2 * H : 3 * H] = np.tanh(a[:, 2 * H : 3 * H])  # (LSF4)
    c = gates[:, H : 2 * H] * c_prev + gates[:, :H] * gates[:, 2 * H : 3 * H]  # (LSF6)
    tanh_c = np.tanh(c)
    h = gates[:, 3 * H :] * tanh_c  # (LSF7)
    cache = {"gates": gates, "tanh_c": tanh_c, "c_prev": c_prev, "x": x, "h_prev": h_prev}
    return h, LSTMState(h[None], c[None]), cache


class _LSTMSteps:
    """(S2S10) for an LSTM decoder: the one-step backward of :mod:`yetztml.cells.lstm` (LSB1)–(LSB7), (LSB9)
    written with NumPy per step, and its weight gradients (LSB8) as one product over all T·B rows at the end
    (the T = 1 kernel would make three small products per step)."""

    def __init__(self, model: Seq2Seq) -> None:
        p = model.decoder.params
        self.w_ih, self.w_hh = p["weight_ih_l0"], p["weight_hh_l0"]
        self.dh: np.ndarray | None = None
        self.dc: np.ndarray | None = None
        self.da: list[np.ndarray] = []
        self.inputs: list[np.ndarray] = []
        self.previous: list[np.ndarray] = []

    def step_back(self, t: int, cache: dict[str, Any], d_out: np.ndarray) -> np.ndarray:
        H = self.w_hh.shape[1]
        g4, tc, c_prev = cache["gates"], cache["tanh_c"], cache["c_prev"]
        i, f, g, o = g4[:, :H], g4[:, H : 2 * H], g4[:, 2 * H : 3 * H], g4[:, 3 * H :]
        dh = d_out if self.dh is None else d_out + self.dh  # (LSB1)
        dc = dh * o * (1.0 - tc * tc)  # (LSB2)
        if self.dc is not None:
            dc += self.dc
        da = np.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
                             dh * tc * o * (1.0 - o)], axis=1)  # (LSB4), (LSB5), (LSB6), (LSB3)
        self.dc = dc * f  # (LSB7)
        self.dh = da @ self.w_hh  # (LSB7)
        self.da.append(da)
        self.inputs.append(cache["x"])
        self.previous.append(cache["h_prev"])
        return da @ self.w_ih  # (LSB9)

    def finish(self, grads: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(LSB8) over every step at once; returns (δh(−1), δc(−1)) shaped like the cell's state."""
        da = np.concatenate(self.da[::-1])  # (T·B, 4H) in time order
        grads["decoder.weight_ih_l0"] += da.T @ np.concatenate(self.inputs[::-1])  # (LSB8)
        grads["decoder.weight_hh_l0"] += da.T @ np.concatenate(self.previous[::-1])  # (LSB8)
        db = da.sum(axis=0)  # (LSB8)
        grads["decoder.bias_ih_l0"] += db
        grads["decoder.bias_hh_l0"] += db
        return self.dh[None], self.dc[None]


class Seq2Seq(Cell):
    """Encoder, attention, input-feeding decoder and readout (S2S1)–(S2S12); see the module docstring."""

    name = "seq2seq"
    capabilities = frozenset({"lengths", "stochastic"})

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        embed_dim: int = 256,
        hidden: int = 256,
        *,
        cell: str = "lstm",
        attention: str = "luong-general",
        encoder_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        init_range: float | None = None,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        Vs = check_int(f"{cls}(src_vocab)", src_vocab, minimum=4)
        Vt = check_int(f"{cls}(tgt_vocab)", tgt_vocab, minimum=4)
        E = check_int(f"{cls}(embed_dim)", embed_dim, minimum=1)
        H = check_int(f"{cls}(hidden)", hidden, minimum=1)
        kind = check_choice(f"{cls}(cell)", cell, tuple(CELLS))
        self.attention_kind = check_choice(f"{cls}(attention)", attention, ATTENTIONS)
        L = check_int(f"{cls}(encoder_layers)", encoder_layers, minimum=1)
        if not isinstance(bidirectional, bool):
            raise DTypeError(message(f"{cls}(bidirectional)", "True or False", repr(bidirectional)))
        p = check_float(f"{cls}(dropout)", dropout, 0.0, 0.95)
        r = None if init_range is None else check_float(f"{cls}(init_range)", init_range, 0.0, strict_minimum=True)
        super().__init__(Vs, Vt, dtype)
        rng = make_rng(seed)
        seeds = rng.integers(0, 2**31, 16)
        Cls, dt = CELLS[kind], self.dtype
        parts: list[Cell] = [Embedding(Vs, E, padding_idx=0, seed=int(seeds[0]), dtype=dt),
                             Dropout(E, p, seed=int(seeds[1]), dtype=dt)]
        size = E
        for layer in range(L):
            if layer:
                parts.append(Dropout(size, p, seed=int(seeds[2] + layer), dtype=dt))
            if bidirectional:
                parts.append(Bidirectional(Cls(size, H, seed=int(seeds[3] + 2 * layer), dtype=dt),
                                           Cls(size, H, seed=int(seeds[4] + 2 * layer), dtype=dt)))
                size = 2 * H
            else:
                parts.append(Cls(size, H, seed=int(seeds[3] + layer), dtype=dt))
                size = H
        self.encoder = Sequential(*parts)
        self.memory_size, self.hidden, self.embed_dim, self.bidirectional = size, H, E, bidirectional
        self.tgt_embedding = Embedding(Vt, E, padding_idx=0, seed=int(seeds[5]), dtype=dt)
        self.tgt_dropout = Dropout(E, p, seed=int(seeds[6]), dtype=dt)
        self.out_dropout = Dropout(H, p, seed=int(seeds[7]), dtype=dt)
        self.decoder = Cls(E + H, H, seed=int(seeds[8]), dtype=dt)
        self.attention = None if self.attention_kind == "none" else Attention(
            H, size, self.attention_kind, seed=int(seeds[9]), dtype=dt)
        wr = make_rng(int(seeds[10]))
        combine_in = H + (0 if self.attention is None else size)

        def uniform(rows: int, cols: int) -> np.ndarray:
            return (wr.uniform(-1, 1, (rows, cols)) / np.sqrt(cols)).astype(dt)

        own = {"bridge.weight": uniform(H, size), "bridge.bias": np.zeros(H, dt),
               "combine.weight": uniform(H, combine_in), "combine.bias": np.zeros(H, dt),
               "readout.weight": uniform(Vt, H), "readout.bias": np.zeros(Vt, dt)}
        self.params = {**{f"encoder.{k}": v for k, v in self.encoder.params.items()},
                       **{f"tgt_embedding.{k}": v for k, v in self.tgt_embedding.params.items()},
                       **{f"decoder.{k}": v for k, v in self.decoder.params.items()},
                       **({} if self.attention is None else
                          {f"attention.{k}": v for k, v in self.attention.params.items()}),
                       **own}
        self.init_range = r
        if r is not None:  # every array of the parts, in place: the params dict holds the parts' own arrays
            draw = make_rng(int(seeds[11]))
            for value in self.params.values():
                value[...] = draw.uniform(-r, r, value.shape)
            for embedding in (self.encoder.parts[0], self.tgt_embedding):
                embedding.params["weight"][embedding.padding_idx] = 0.0

    # -- modes, randomness, input ------------------------------------------------------------------
    def _stochastic(self) -> list[Cell]:
        return [self.encoder, self.tgt_dropout, self.out_dropout]

    def train(self, mode: bool = True) -> Seq2Seq:
        super().train(mode)
        for part in self._stochastic():
            part.train(mode)
        return self

    def rng_state(self) -> Any:
        return [p.rng_state() for p in self._stochastic()]

    def set_rng_state(self, state: Any) -> None:
        for part, s in zip(self._stochastic(), state, strict=True):
            part.set_rng_state(s)

    def astype(self, dtype: object) -> Seq2Seq:
        other = Seq2Seq(**{**self.config(), "dtype": dtype})
        other.load_params(self.params)
        return other.train(self.training)

    def check_x(self, thing: str, x: object) -> np.ndarray:
        """Token ids (S + T, B) (see :func:`pack_pairs`), each in the vocabulary of its side."""
        larger = self.tgt_embedding if self.output_size >= self.input_size else self.encoder
        return larger.check_x(thing, x)  # each side is checked against its own table in forward

    # -- the parts a decoder loop shares with training ---------------------------------------------
    def _dec(self, name: str) -> np.ndarray:
        return self.params[name]

    def encode(self, src: np.ndarray, src_lengths: np.ndarray) -> tuple[Trace, Any, Any, Any]:
        """Encoder trace, the prepared memory, the bridge's input k_last (B, M) and s(−1) (S2S1)."""
        src = self.encoder.check_x("Seq2Seq.encode(src)", src)
        if self.encoder.supports("lengths"):
            enc = self.encoder.forward(src, lengths=src_lengths)
        else:
            enc = self.encoder.forward(src)
        k = enc.outputs
        B, H = src.shape[1], self.hidden
        last = k[src_lengths - 1, np.arange(B)]  # (S2S1) k(len−1)
        if self.bidirectional:
            last = np.concatenate([last[:, :H], k[0, :, H:]], axis=1)  # (S2S1) [k→(len−1) | k←(0)]
        h0 = np.tanh(last @ self._dec("bridge.weight").T + self._dec("bridge.bias"))  # (S2S1)
        zeros = np.zeros((1, B, H), self.dtype)
        state = (h0[None], zeros) if isinstance(self.decoder, LSTM) else h0[None]
        if isinstance(self.decoder, LSTM):
            from ..cells.lstm import LSTMState

            state = LSTMState(*state)
        mem = None if self.attention is None else self.attention.prepare(k, src_lengths)
        return enc, mem, last, state

    def step(self, y: np.ndarray, feed: np.ndarray, state: Any, mem: Any) -> tuple[np.ndarray, Any, dict]:
        """One decoder step (S2S2)–(S2S5) from embedded, dropped-out words y (B, E): h̃(t), s(t), cache."""
        x = np.concatenate([y, feed], axis=1)  # (S2S2)
        if isinstance(self.decoder, LSTM):
            h, final, cache = _lstm_step(self.decoder.params, x, state)  # (S2S3)
        else:
            tr = self.decoder.forward(x[None], state)  # (S2S3)
            h, final, cache = tr.outputs[0], tr.final_state, {"trace": tr}
        if self.attention is None:
            joined = h
        else:
            ctx, cache["attn"] = self.attention.attend(h, mem)  # (S2S4)
            joined = np.concatenate([ctx, h], axis=1)
        cache["joined"] = joined
        h_tilde = np.tanh(joined @ self._dec("combine.weight").T + self._dec("combine.bias"))  # (S2S5)
        return h_tilde, final, cache

    def readout(self, h_tilde: np.ndarray) -> np.ndarray:
        """(S2S6) without dropout: logits (…, V)."""
        return h_tilde @ self._dec("readout.weight").T + self._dec("readout.bias")

    # -- the protocol --------------------------------------------------------------------------------
    def forward(self, x: object, state: Any = None, lengths: object = None) -> Trace:
        """(S2S1)–(S2S6): logits (T, B, V_tgt) for every decoder input word."""
        cls = type(self).__name__
        x = self.check_x(f"{cls}.forward(x)", x)
        if lengths is None:
            raise ShapeError(message(f"{cls}.forward(lengths)", "(B, 2) source and target lengths", "None",
                                     "Build inputs with yetztml.models.seq2seq.pack_pairs."))
        src, src_len, tgt_in, tgt_len = split_pairs(f"{cls}.forward(lengths)", x, lengths)
        self.encoder.check_x(f"{cls}.forward(source ids)", src)
        self.tgt_embedding.check_x(f"{cls}.forward(target ids)", tgt_in)
        enc, mem, last, s = self.encode(src, src_len)
        emb = self.tgt_embedding.forward(tgt_in)
        drop_in = self.tgt_dropout.forward(emb.outputs)
        T, B, H = tgt_in.shape[0], tgt_in.shape[1], self.hidden
        h_tilde = np.zeros((T + 1, B, H), self.dtype)  # slot t + 1 holds h̃(t); slot 0 is h̃(−1) = 0
        caches = []
        initial = s
        for t in range(T):
            h_tilde[t + 1], s, cache = self.step(drop_in.outputs[t], h_tilde[t], s, mem)
            caches.append(cache)
        drop_out = self.out_dropout.forward(h_tilde[1:])
        logits = self.readout(drop_out.outputs)  # (S2S6)
        return Trace(x=x, outputs=logits, initial_state=(), final_state=(), extras={
            "enc": enc, "mem": mem, "last": last, "s0": initial, "emb": emb, "drop_in": drop_in,
            "h_tilde": h_tilde, "caches": caches, "drop_out": drop_out, "src_len": src_len})

    def backward(self, trace: Trace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(S2S7)–(S2S12)."""
        d = self._check_d_outputs(trace, d_outputs)
        ex = trace.extras
        T, B, V = d.shape
        H = self.hidden
        grads = {k: np.zeros_like(v) for k, v in self.params.items()
                 if not k.startswith(("encoder.", "tgt_embedding."))}
        rows = d.reshape(T * B, V)
        grads["readout.weight"] = rows.T @ ex["drop_out"].outputs.reshape(T * B, H)  # (S2S7)
        grads["readout.bias"] = rows.sum(axis=0)  # (S2S7)
        d_drop = (rows @ self._dec("readout.weight")).reshape(T, B, H)
        d_h_tilde = self.out_dropout.backward(ex["drop_out"], d_drop).inputs  # (S2S7) drop′
        mem, attn = ex["mem"], self.attention
        d_keys, d_proj = (None, None) if attn is None else attn.zero_accumulators(mem)
        attn_grads = None if attn is None else attn.zero_grads()
        w_c = self._dec("combine.weight")
        d_feed = np.zeros((B, H), self.dtype)
        d_s = None
        lstm = _LSTMSteps(self) if isinstance(self.decoder, LSTM) else None
        d_y = np.empty((T, B, self.embed_dim), self.dtype)
        E = self.embed_dim
        for t in range(T - 1, -1, -1):
            cache = ex["caches"][t]
            ht = ex["h_tilde"][t + 1]
            dz = (d_h_tilde[t] + d_feed) * (1.0 - ht * ht)  # (S2S7), (S2S8)
            grads["combine.weight"] += dz.T @ cache["joined"]  # (S2S8)
            grads["combine.bias"] += dz.sum(axis=0)  # (S2S8)
            d_joined = dz @ w_c  # (S2S8)
            if attn is None:
                d_h = d_joined
            else:
                M = self.memory_size
                d_q = attn.attend_backward(cache["attn"], mem, d_joined[:, :M], attn_grads, d_keys, d_proj)
                d_h = d_joined[:, M:] + d_q  # (S2S9)
            if lstm is not None:
                d_x = lstm.step_back(t, cache, d_h)  # (S2S10)
            else:
                g = self.decoder.backward(cache["trace"], d_h[None], d_s)  # (S2S10)
                for k, v in g.items():
                    grads[f"decoder.{k}"] += v
                d_s = g.initial_state
                d_x = g.inputs[0]
            d_y[t] = d_x[:, :E]  # (S2S10)
            d_feed = d_x[:, E:]  # (S2S10) δh̃_in(t−1)
        if lstm is not None:
            d_s = lstm.finish(grads)
        d_emb = self.tgt_dropout.backward(ex["drop_in"], d_y).inputs  # (DRP3)
        grads.update({f"tgt_embedding.{k}": v for k, v in self.tgt_embedding.backward(ex["emb"], d_emb).items()})
        h0 = state_leaves(ex["s0"])[0][0]
        du = state_leaves(d_s)[0][0] * (1.0 - h0 * h0)  # (S2S11)
        grads["bridge.weight"] = du.T @ ex["last"]  # (S2S11)
        grads["bridge.bias"] = du.sum(axis=0)  # (S2S11)
        d_last = du @ self._dec("bridge.weight")  # (S2S11)
        k = ex["enc"].outputs
        if attn is None:
            d_k = np.zeros_like(k)
        else:
            d_k = attn.prepare_backward(mem, attn_grads, d_keys, d_proj)  # (S2S12)
            grads.update({f"attention.{n}": v for n, v in attn_grads.items()})
        b = np.arange(B)
        if self.bidirectional:
            d_k[ex["src_len"] - 1, b, :H] += d_last[:, :H]  # (S2S11) k→(len−1)
            d_k[0, :, H:] += d_last[:, H:]  # (S2S11) k←(0)
        else:
            d_k[ex["src_len"] - 1, b] += d_last  # (S2S11)
        g_enc = self.encoder.backward(ex["enc"], d_k)  # (S2S12)
        grads.update({f"encoder.{k}": v for k, v in g_enc.items()})
        return Grads({k: grads[k] for k in self.params}, inputs=None, initial_state=())
