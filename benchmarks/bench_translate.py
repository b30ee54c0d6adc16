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

``--threads`` sets PyTorch's threads and the BLAS threads NumPy and our kernels use (before NumPy loads).
Each repeat times the three in turn, in rotating order, so that load from other processes hits all alike;
the table gives medians of the wall time and of the process's CPU time (all threads together). On a
shared machine the CPU-time ratios are the steadier ones; with one thread they measure the same work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--threads", type=int, default=2)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = str(max(1, _pre.parse_known_args()[0].threads))

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


def _time(fns: dict[str, object], repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, the functions timed in turn, rotating the order."""
    for fn in fns.values():
        fn()  # warm-up (compilation, allocation)
    names = list(fns)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            w, c = time.perf_counter(), time.process_time()
            fns[name]()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    return {n: (statistics.median(wall[n]), statistics.median(cpu[n])) for n in names}


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

    t = _time({"ours": lambda: ours_step(model, opt, src, tgt), "PyTorch": theirs,
               "products": lambda: products_step(operands)}, args.repeats)
    print(f"embed {args.embed}, hidden {args.hidden}, batch {args.batch}, {args.src_len}/{args.tgt_len} words, "
          f"vocabularies {args.src_vocab}/{args.tgt_vocab}, {args.cell}, {args.attention}, {args.threads} threads, "
          f"float32; median of {args.repeats}; load {os.getloadavg()[0]:.2f}")
    print(f"matrix products: {flops / 1e9:.1f} GFLOP per step")
    print("| | wall s/step | CPU s/step | PyTorch / ours (wall, CPU) | ours / products (wall, CPU) |")
    print("|---|---|---|---|---|")
    for name, (wall, cpu) in t.items():
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {t['PyTorch'][0] / wall:.2f}x, {t['PyTorch'][1] / cpu:.2f}x "
              f"| {wall / t['products'][0]:.2f}x, {cpu / t['products'][1]:.2f}x |")
    print(f"products at {flops / t['products'][0] / 1e9:.1f} GFLOP/s (wall)")

if __name__ == "__main__":
    main()
