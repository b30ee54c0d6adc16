"""One training step of the sarcasm classifier: yetztml against the same model built from PyTorch modules.

Ours: ``yetztml.apps.text.build_classifier`` (Embedding → Dropout → ``--layers`` bidirectional LSTM layers
with Dropout between them → max pool over the valid words → Dropout → Linear; ``demo sarcasm`` stacks two,
the default here is one), trained by ``yetztml.learning.Trainer`` with Adam and clipping by global
norm — the loop ``yetztml text train`` runs. PyTorch: ``nn.Embedding(padding_idx=0)`` → ``nn.Dropout`` →
``nn.LSTM(bidirectional=True, num_layers=--layers, dropout between layers)`` on ``pack_padded_sequence`` →
masked max over the valid steps → ``nn.Dropout`` → ``nn.Linear``, ``torch.optim.Adam`` and
``clip_grad_norm_``: the same sizes, batches (the same padded batches, in the same order), optimiser and dtype
(float32), one thread each.

Before timing, the PyTorch model receives our initial weights and both compute the logits of one batch
in evaluation mode: they must agree (the printed max abs difference), so the timing compares one
computation. Then each repeat times ``--steps`` training steps of each side in turn (interleaved, so that
load from other processes hits both alike); the table gives medians per step, the ratio PyTorch / ours
(> 1: ours faster), and the epoch time this implies (steps per epoch × median step).

``--variant`` measures changes that were not made to the library, because each would alter every seeded
number (``benchmarks/README.md``, "2026-12-05"): ``float32-dropout`` (our dropout masks from float32 uniform
draws), ``no-rollback`` (Adam's step without the training loop's roll-back copy) and ``whole-split-buckets``
(length buckets over the whole training split instead of pools of 50 batches; both sides get those batches).
One variant undoes a change that was made: ``fresh-embedding-gradient`` allocates the embedding's (V, D)
gradient afresh at every step, as the library did before its ``Embedding`` reused that array.

Run from the repository root (the data path is the shared copy; pass your own with --data)::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_text.py --steps 40 --repeats 5 [--layers 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from headline_batches import headline_batches  # noqa: E402

from yetztml.apps.text import TextConfig, build_classifier  # noqa: E402
from yetztml.layers import Dropout  # noqa: E402
from yetztml.learning import Adam, Batch, Trainer  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"


class TorchClassifier(torch.nn.Module):
    """The same classifier from PyTorch modules (max pool over each sequence's valid steps)."""

    def __init__(self, vocab: int, embed: int, hidden: int, classes: int, dropout: float, layers: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = torch.nn.LSTM(embed, hidden, num_layers=layers, bidirectional=True,
                                  dropout=dropout if layers > 1 else 0.0)
        self.linear = torch.nn.Linear(2 * hidden, classes)
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.embedding(tokens))  # (T, B, E)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=tokens.shape[0], padding_value=-torch.inf)
        return self.linear(self.drop(out.max(dim=0).values))


VARIANTS = ("float32-dropout", "no-rollback", "whole-split-buckets", "fresh-embedding-gradient")


class Float32Draws:
    """``--variant float32-dropout``: a dropout layer's generator that draws its uniforms in float32."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.bit_generator = rng, rng.bit_generator

    def random(self, size: int) -> np.ndarray:
        return self.rng.random(size, dtype=np.float32)


class AdamWithoutRollBack(Adam):
    """``--variant no-rollback``: Adam's step without the roll-back copy the training loop asks for."""

    def step(self, grads, *, checked: bool = False, keep=None):
        return super().step(grads, checked=checked, keep=None)


def copy_weights(ours, theirs: TorchClassifier, layers: int) -> None:
    """Our parts: 0 embedding, 1 dropout, 2 + 2l the bidirectional layer l (dropouts between), then pool,
    dropout and the linear map at 2·layers + 3."""
    p = ours.params
    last = 2 * layers + 3
    state = {"embedding.weight": p["0.weight"], "linear.weight": p[f"{last}.weight"],
             "linear.bias": p[f"{last}.bias"]}
    for layer in range(layers):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            state[f"lstm.{kind}_l{layer}"] = p[f"{2 + 2 * layer}.forward.{kind}_l0"]
            state[f"lstm.{kind}_l{layer}_reverse"] = p[f"{2 + 2 * layer}.reverse.{kind}_l0"]
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help="the sarcasm headlines CSV")
    parser.add_argument("--steps", type=int, default=40, help="training steps per sample")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--embed-dim", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1, help="bidirectional LSTM layers (the demo has 2)")
    parser.add_argument("--variant", action="append", default=[], choices=VARIANTS,
                        help="a change not made to the library, or one undone (repeatable; module docstring)")
    args = parser.parse_args()
    if not Path(args.data).is_file():
        raise SystemExit(f"bench_text: no data file {args.data!r}; pass --data (yetztml data fetch sarcasm)")
    torch.set_num_threads(1)
    config = TextConfig(hidden=args.hidden, embed_dim=args.embed_dim, batch_size=args.batch_size,
                        layers=args.layers)
    vocab_size, per_epoch, plan = headline_batches(  # the measured configuration's vocabulary
        args.data, config, args.steps, bucket_batches=None if "whole-split-buckets" in args.variant else 50)
    ours = build_classifier(config, vocab_size, 2)
    theirs = TorchClassifier(vocab_size, config.embed_dim, config.hidden, 2, config.dropout, args.layers)
    copy_weights(ours, theirs, args.layers)
    first = plan[0]
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        ref = theirs(torch.from_numpy(first.tokens), torch.from_numpy(first.lengths)).numpy()
    diff = float(np.max(np.abs(ours.forward(first.tokens, lengths=first.lengths).outputs[0] - ref)))
    ours.train()
    theirs.train()
    print(f"same model: max |logits ours − PyTorch| = {diff:.2e} (float32, evaluation mode)")
    items = [Batch(b.tokens, b.labels[None, :], None, b.lengths) for b in plan]
    if "float32-dropout" in args.variant:
        for part in ours.parts:
            if isinstance(part, Dropout):
                part.rng = Float32Draws(part.rng)
    if "fresh-embedding-gradient" in args.variant:
        table = ours.parts[0].params["weight"]
        ours.parts[0]._zero_gradient = lambda: np.zeros_like(table)
    optimiser = (AdamWithoutRollBack if "no-rollback" in args.variant else Adam)(ours.params, lr=config.lr)
    trainer = Trainer(ours, lambda rng: items[len(trainer.history) % len(items)], optimiser=optimiser,
                      loss="cross_entropy", clip_norm=config.clip_norm, progress=False)
    opt = torch.optim.Adam(theirs.parameters(), lr=config.lr)
    tensors = [(torch.from_numpy(b.tokens), torch.from_numpy(b.lengths), torch.from_numpy(b.labels)) for b in plan]

    def run_ours() -> None:
        trainer.run(len(trainer.history) + args.steps)

    def run_theirs() -> None:
        for tok_ids, lengths, y in tensors:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(theirs(tok_ids, lengths), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(theirs.parameters(), config.clip_norm)
            opt.step()

    run_ours()
    run_theirs()  # warm-up (compilation, allocator)
    times: dict[str, list[float]] = {"yetztml": [], "PyTorch": []}
    cpu: dict[str, list[float]] = {"yetztml": [], "PyTorch": []}
    for _ in range(args.repeats):
        for name, fn in (("yetztml", run_ours), ("PyTorch", run_theirs)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append((time.perf_counter() - start) / args.steps)
            cpu[name].append((time.process_time() - start_cpu) / args.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
    print(f"vocabulary {vocab_size:,}, {ours.num_weights:,} weights, {per_epoch} batches of {config.batch_size}/epoch")
    print("| implementation | median per step | range | epoch (projected) | median CPU time per step |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {1e3 * med[name]:.1f} ms | {1e3 * min(values):.1f}–{1e3 * max(values):.1f} ms "
              f"| {med[name] * per_epoch:.1f} s | {1e3 * med_cpu[name]:.1f} ms |")
    print(f"ratio PyTorch / yetztml: {med['PyTorch'] / med['yetztml']:.2f}x wall, "
          f"{med_cpu['PyTorch'] / med_cpu['yetztml']:.2f}x CPU time (one thread each: the same work, steadier "
          "than wall time when other processes share the cores)")


if __name__ == "__main__":
    main()
