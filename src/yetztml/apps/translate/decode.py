"""Greedy and beam-search decoding, batched over sentences, with a maximum output length.

Beam search keeps k hypotheses per sentence (B·k decoder rows). With log p_t the decoder's log-softmax::

    (DEC1)  score(y_1…y_n) = Σ_t log p_t(y_t)                 over words other than <pad> (id 0) and <bos>;
                                                              a finished hypothesis (it emitted <eos>)
                                                              keeps its score and extends by <eos> only
    (DEC2)  each step keeps the k best of the k·V extensions of every sentence, by score
    (DEC3)  the answer is the finished hypothesis (or, at the maximum length, any) with the best
            score / n^α, n its number of words including <eos>, α = ``length_penalty`` (0: raw score)

Pruning is by raw score (DEC2), so a beam larger than the number of prefixes is exhaustive search.
Greedy search is k = 1. Decoding stops when every hypothesis has finished or after ``max_output`` words;
``stopped`` counts the sentences cut at the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...models.seq2seq import Seq2Seq
from .loss import word_log_probs

__all__ = ["Decoded", "decode"]


@dataclass
class Decoded:
    """Token ids per sentence (without <bos>/<eos>), attention weights (n, S) of each, and the cut count."""

    ids: list[list[int]]
    attention: list[np.ndarray | None]
    stopped: int


def _take(state, index):
    if isinstance(state, np.ndarray):
        return state[:, index]
    return type(state)(*(leaf[:, index] for leaf in state))


def decode(model: Seq2Seq, src: np.ndarray, src_lengths: np.ndarray, bos: int, eos: int, *, beam: int = 1,
           max_output: int = 100, length_penalty: float = 1.0) -> Decoded:
    """Translate a padded batch src (S, B) (DEC1)–(DEC3); the model is used in evaluation mode."""
    model.eval()
    B, k = src.shape[1], beam
    _, mem, _, state = model.encode(src, src_lengths)
    rows = np.repeat(np.arange(B), k)  # decoder row r belongs to sentence rows[r]
    state = _take(state, rows)
    if mem is not None:
        mem = type(mem)(mem.keys[rows], mem.valid[rows], None if mem.projected is None else mem.projected[rows])
    table = model.params["tgt_embedding.weight"]
    feed = np.zeros((B * k, model.hidden), model.dtype)
    score = np.tile(np.r_[0.0, np.full(k - 1, -np.inf)], B)  # one live hypothesis per sentence at first
    done = np.zeros(B * k, bool)
    length = np.zeros(B * k, np.int64)
    words = np.full((B * k, 0), eos, np.int64)
    weights: list[np.ndarray] = []
    last = np.full(B * k, bos, np.int64)
    for _ in range(max_output):
        feed, state, cache = model.step(table[last], feed, state, mem)
        log_p = word_log_probs(model.readout(feed))  # (B·k, V)
        V = log_p.shape[1]
        log_p[:, [0, bos]] = -np.inf  # (DEC1) <pad> and <bos> are never emitted
        log_p[done] = -np.inf
        log_p[done, eos] = 0.0  # (DEC1) a finished hypothesis extends by <eos> at no cost
        cand = (score[:, None] + log_p).reshape(B, k * V)
        best = np.argsort(-cand, axis=1, kind="stable")[:, :k]  # (DEC2)
        origin = (np.arange(B)[:, None] * k + best // V).reshape(-1)
        last = (best % V).reshape(-1)
        score = np.take_along_axis(cand, best, axis=1).reshape(-1)
        state, feed = _take(state, origin), feed[origin]
        words = np.concatenate([words[origin], last[:, None]], axis=1)
        if "attn" in cache:
            weights = [w[origin] for w in weights] + [cache["attn"]["alpha"][origin]]
        length = np.where(done[origin], length[origin], length[origin] + 1)
        done = done[origin] | (last == eos)
        if done.all():
            break
    norm = (score / np.maximum(length, 1) ** length_penalty if length_penalty else score).reshape(B, k)  # (DEC3)
    finished = (done & np.isfinite(score)).reshape(B, k)
    best_finished = np.argmax(np.where(finished, norm, -np.inf), axis=1)
    chosen = np.where(finished.any(axis=1), best_finished, np.argmax(norm, axis=1)) + np.arange(B) * k  # (DEC3)
    ids, attn, stopped = [], [], 0
    for r in chosen:
        seq = [int(w) for w in words[r, : length[r]]]
        if seq and seq[-1] == eos:
            seq = seq[:-1]
        else:
            stopped += 1
        ids.append(seq)
        attn.append(np.stack([w[r] for w in weights])[: max(length[r], 1)] if weights else None)
    return Decoded(ids, attn, stopped)
