"""The encoder–decoder of :mod:`yetztml.models.seq2seq` written with PyTorch modules, weights copied.

``torch_seq2seq(model)`` returns an ``nn.Module`` computing (S2S1)–(S2S6) with ``nn.Embedding``,
``nn.LSTM`` / ``nn.GRU`` over packed sequences (bidirectional layers read each sentence from its own last
word), ``nn.LSTMCell`` / ``nn.GRUCell`` stepped in eager PyTorch, the attention scores (AT1)–(AT5) in eager
PyTorch, and ``nn.Dropout``; ``module.ours`` maps each of our parameter names to the module's tensor.
It is the reference the tests check our gradients against and the plain-PyTorch
side of ``benchmarks/bench_translate.py``. torch is imported inside the function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models.seq2seq import Seq2Seq

__all__ = ["torch_seq2seq"]


def torch_seq2seq(model: Seq2Seq, dropout: float | None = None) -> Any:
    """An ``nn.Module`` ``(src (S, B), src_lengths (B,), tgt_in (T, B)) -> logits (T, B, V)`` like ``model``."""
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    cfg = model.config()
    p = cfg["dropout"] if dropout is None else dropout
    dt = torch.float64 if model.dtype == np.float64 else torch.float32
    rnn = nn.LSTM if cfg["cell"] == "lstm" else nn.GRU
    step_cell = nn.LSTMCell if cfg["cell"] == "lstm" else nn.GRUCell
    H, E, M, bi = model.hidden, model.embed_dim, model.memory_size, cfg["bidirectional"]
    params = model.params
    made: dict[str, Any] = {}

    def t(name: str) -> Any:
        made[name] = nn.Parameter(torch.tensor(params[name], dtype=dt))
        return made[name]

    class TorchSeq2Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.src_emb = nn.Embedding(cfg["src_vocab"], E, padding_idx=0, dtype=dt)
            self.src_emb.weight = t("encoder.0.weight")
            self.layers = nn.ModuleList()
            size = E
            for layer in range(cfg["encoder_layers"]):
                part = 2 + 2 * layer  # encoder parts: embedding, dropout, then layer, dropout, layer, …
                r = rnn(size, H, bidirectional=bi, dtype=dt)
                for w in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                    if bi:
                        setattr(r, w, t(f"encoder.{part}.forward.{w}"))
                        setattr(r, w + "_reverse", t(f"encoder.{part}.reverse.{w}"))
                    else:
                        setattr(r, w, t(f"encoder.{part}.{w}"))
                self.layers.append(r)
                size = M
            self.drop = nn.Dropout(p)
            self.tgt_emb = nn.Embedding(cfg["tgt_vocab"], E, padding_idx=0, dtype=dt)
            self.tgt_emb.weight = t("tgt_embedding.weight")
            self.cell = step_cell(E + H, H, dtype=dt)
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(self.cell, w, t(f"decoder.{w}_l0"))
            self.attention = cfg["attention"]
            self.attn = nn.ParameterDict({k.split(".", 1)[1]: t(k) for k in params if k.startswith("attention.")})
            self.bridge = nn.Linear(M, H, dtype=dt)
            self.combine = nn.Linear(H + (0 if self.attention == "none" else M), H, dtype=dt)
            self.readout = nn.Linear(H, cfg["tgt_vocab"], dtype=dt)
            for name in ("bridge", "combine", "readout"):
                getattr(self, name).weight = t(f"{name}.weight")
                getattr(self, name).bias = t(f"{name}.bias")
            self.ours = dict(made)  # our parameter name -> the module's tensor

        def forward(self, src: Any, src_lengths: Any, tgt_in: Any) -> Any:
            S, B = src.shape
            k = self.drop(self.src_emb(src))
            for n, r in enumerate(self.layers):
                if n:
                    k = self.drop(k)
                packed = pack_padded_sequence(k, src_lengths, enforce_sorted=False)
                k = pad_packed_sequence(r(packed)[0], total_length=S)[0]  # (S, B, M)
            b = torch.arange(B)
            last = k[src_lengths - 1, b]
            if bi:
                last = torch.cat([last[:, :H], k[0, :, H:]], dim=1)  # (S2S1)
            h = torch.tanh(self.bridge(last))
            c = torch.zeros_like(h)
            keys = k.transpose(0, 1)  # (B, S, M)
            pad = torch.arange(S)[None, :] >= src_lengths[:, None]
            proj = None
            if self.attention == "luong-general":
                proj = keys @ self.attn["W"].T
            elif self.attention == "bahdanau":
                proj = keys @ self.attn["W_k"].T
            y = self.drop(self.tgt_emb(tgt_in))
            feed = torch.zeros(B, H, dtype=k.dtype)
            outs = []
            for step in range(tgt_in.shape[0]):
                x = torch.cat([y[step], feed], dim=1)  # (S2S2)
                if isinstance(self.cell, nn.LSTMCell):
                    h, c = self.cell(x, (h, c))
                else:
                    h = self.cell(x, h)
                if self.attention == "none":
                    joined = h
                else:
                    if self.attention == "luong-dot":
                        e = torch.einsum("bsm,bm->bs", keys, h)
                    elif self.attention == "luong-general":
                        e = torch.einsum("bsq,bq->bs", proj, h)
                    else:
                        z = proj + (h @ self.attn["W_q"].T + self.attn["b"])[:, None, :]
                        e = torch.tanh(z) @ self.attn["v"]
                    alpha = torch.softmax(e.masked_fill(pad, float("-inf")), dim=1)
                    ctx = torch.einsum("bs,bsm->bm", alpha, keys)
                    joined = torch.cat([ctx, h], dim=1)
                feed = torch.tanh(self.combine(joined))  # (S2S5)
                outs.append(feed)
            return self.readout(self.drop(torch.stack(outs)))  # (S2S6)

    return TorchSeq2Seq()
