"""One training step of the attention encoder–decoder: ours against the same model in PyTorch modules, and
against the matrix products alone. Side by side in one run, random token batches of fixed lengths.

* ours:    ``Seq2Seq.forward`` → softmax cross-entropy → ``Seq2Seq.backward`` → ``Adam.step``
* PyTorch: ``yetztml.interop.torch_seq2seq`` (``nn.LSTM``/``nn.GRU`` over packed sequences, ``nn.LSTMCell``
  stepped in eager PyTorch, the attention in eager PyTorch), weights copied from ours, ``F.cross_entropy``,
  ``backward()``, ``torch.optim.Adam.step``; same sizes, batch, dtype (float32) and thread count
* products: every matrix product of the step, made with NumPy (the same BLAS calls our code makes), on
  random numbers: for each forward product C = A·B (m × k by k × n) also the two of its backward
  (δA = δC·Bᵀ, δB = Aᵀ·δC): encoder input and recurrent products per direction, the decoder's input and
  recurrent products and the attention's scores and context at every step, the key projection, the
  combination layer and the readout to the vocabulary. Nothing else (no activations, softmax, Adam).

    python benchmarks/bench_translate.py --repeats 3
    python benchmarks/bench_translate.py --embed 256 --hidden 512 --batch 128 --attention bahdanau
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import numpy as np  # noqa: E402

from yetztml.apps.translate.loss import smoothed_cross_entropy  # noqa: E402
from yetztml.learning import Adam  # noqa: E402
from yetztml.models.seq2seq import Seq2Seq, pack_pairs  # noqa: E402


def _batch(rng, args):
    src = rng.integers(3, args.src_vocab, (args.src_len, args.batch))
    tgt = rng.integers(3, args.tgt_vocab, (args.tgt_len + 1, args.batch))
    return src, tgt


def ours_step(model, opt, src, tgt):
    S, B = src.shape
    T = tgt.shape[0] - 1
    x, lengths = pack_pairs(src, np.full(B, S), tgt[:-1], np.full(B, T))
    trace = model.forward(x, lengths=lengths)
    _, d = smoothed_cross_entropy(trace.outputs, tgt[1:])
    opt.step(model.backward(trace, d))


def product_shapes(args) -> list[tuple[int, int, int, int]]:
    """(m, k, n, count): the forward products of one step (see the module docstring)."""
    E, H, B, S, T = args.embed, args.hidden, args.batch, args.src_len, args.tgt_len
    G = 4 * H if args.cell == "lstm" else 3 * H
    M = 2 * H
    shapes = [(S * B, E, G, 2), (B, H, G, 2 * S)]  # encoder: inputs, recurrence, both directions
    shapes += [(B, E + H, G, T), (B, H, G, T)]  # decoder: inputs [y | h̃], recurrence
    if args.attention != "none":
        shapes += [(S * B, M, H, 1)]  # key projection (general: W k; Bahdanau: W_k k)
        shapes += [(S, H, 1, B * T), (1, S, M, B * T)]  # scores and context, per sentence and step
    shapes += [(T * B, M + H, H, 1), (T * B, H, args.tgt_vocab, 1)]  # combination, readout
    return shapes


def products_step(operands) -> None:
    for a, b, dc, count in operands:
        for _ in range(count):
            np.dot(a, b)  # C = A·B
            np.dot(dc, b.T)  # δA
            np.dot(a.T, dc)  # δB


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation, allocation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--src-len", type=int, default=14, help="source words (Multi30k German: 12.4 on average)")
    parser.add_argument("--tgt-len", type=int, default=14, help="target words with <eos> (English: 13.0 + 1)")
    parser.add_argument("--src-vocab", type=int, default=7859)
    parser.add_argument("--tgt-vocab", type=int, default=5921)
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--attention", default="luong-general")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    from yetztml.interop.torch_seq2seq import torch_seq2seq

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    src, tgt = _batch(rng, args)
    model = Seq2Seq(args.src_vocab, args.tgt_vocab, args.embed, args.hidden, cell=args.cell,
                    attention=args.attention, dropout=0.3, dtype=np.float32)
    opt = Adam(model.params, lr=1e-3)
    module = torch_seq2seq(model)
    t_opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    t_src, t_len, t_tgt = torch.tensor(src), torch.full((args.batch,), args.src_len), torch.tensor(tgt)

    def theirs() -> None:
        t_opt.zero_grad()
        logits = module(t_src, t_len, t_tgt[:-1])
        torch.nn.functional.cross_entropy(logits.reshape(-1, args.tgt_vocab), t_tgt[1:].reshape(-1)).backward()
        t_opt.step()

    f32 = np.float32
    operands = []
    for m, k, n, count in product_shapes(args):
        operands.append((rng.standard_normal((m, k)).astype(f32), rng.standard_normal((k, n)).astype(f32),
                         rng.standard_normal((m, n)).astype(f32), count))
    flops = sum(3 * 2 * m * k * n * count for m, k, n, count in product_shapes(args))

    t_ours = _time(lambda: ours_step(model, opt, src, tgt), args.repeats)
    t_torch = _time(theirs, args.repeats)
    t_floor = _time(lambda: products_step(operands), args.repeats)
    print(f"embed {args.embed}, hidden {args.hidden}, batch {args.batch}, {args.src_len}/{args.tgt_len} words, "
          f"vocabularies {args.src_vocab}/{args.tgt_vocab}, {args.cell}, {args.attention}, {args.threads} threads, "
          f"float32; median of {args.repeats}")
    print(f"matrix products: {flops / 1e9:.1f} GFLOP per step")
    print(f"ours      {t_ours:8.3f} s/step")
    print(f"PyTorch   {t_torch:8.3f} s/step   ours is {t_torch / t_ours:.2f}x faster")
    print(f"products  {t_floor:8.3f} s/step   ours is {t_ours / t_floor:.2f}x the products alone "
          f"({flops / t_floor / 1e9:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()
