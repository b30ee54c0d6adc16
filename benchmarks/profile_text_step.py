"""Where one training step of the sarcasm classifier goes: cProfile over the library's own training loop.

The classifier of ``yetztml demo sarcasm`` (``--layers`` bidirectional LSTM layers; the demo has 2) on the
headlines' first ``--steps`` batches of 64, trained by ``yetztml.learning.Trainer`` with Adam and clipping
as ``yetztml text train`` does; after ``--warmup`` untimed steps (kernel compilation), ``--steps`` steps run
under cProfile. Prints the time per step and the functions that take the most time of their own. One thread
unless the environment says otherwise; run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/profile_text_step.py --layers 2 --steps 60
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from yetztml.apps.text import TextConfig, build_classifier  # noqa: E402
from yetztml.data import Batches, Tokeniser, Vocab, read_csv, stratified_split  # noqa: E402
from yetztml.learning import Adam, Batch, Trainer  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help="the sarcasm headlines CSV")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60, help="profiled training steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--top", type=int, default=15, help="functions listed")
    args = parser.parse_args()
    if not Path(args.data).is_file():
        raise SystemExit(f"profile_text_step: no data file {args.data!r}; pass --data (yetztml data fetch sarcasm)")
    data = read_csv(args.data, "text", "is_sarcastic")
    split = stratified_split(data.labels, 0)
    tokens = Tokeniser().tokenise([data.texts[i] for i in split.train])
    config = TextConfig(layers=args.layers)
    vocab = Vocab.build(tokens, min_freq=config.min_freq)
    labels = np.array([data.labels[i] for i in split.train], dtype=np.int64)
    batches = Batches(vocab.encode_all(tokens), labels, batch_size=config.batch_size, rng=np.random.default_rng(1),
                      max_length=config.max_length)
    items = [Batch(b.tokens, b.labels[None, :], None, b.lengths) for b in
             (batches.next_batch() for _ in range(args.steps))]
    model = build_classifier(config, len(vocab), 2)
    trainer = Trainer(model, lambda rng: items[len(trainer.history) % len(items)],
                      optimiser=Adam(model.params, lr=config.lr), loss="cross_entropy", clip_norm=config.clip_norm,
                      progress=False)
    trainer.run(args.warmup)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    trainer.run(args.warmup + args.steps)
    profile.disable()
    seconds = time.perf_counter() - start
    print(f"{args.layers} layer(s), {model.num_weights:,} weights: {1e3 * seconds / args.steps:.1f} ms per step "
          f"under cProfile ({args.steps} steps)")
    stats = pstats.Stats(profile)
    total = stats.total_tt
    print("| function | calls | own time per step | share of the step |")
    print("|---|---|---|---|")
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[: args.top]
    for (file, line, name), (_, calls, own, _, _) in rows:
        where = f"{Path(file).name}:{line}({name})" if line else name
        print(f"| `{where}` | {calls} | {1e3 * own / args.steps:.2f} ms | {100 * own / total:.0f} % |")


if __name__ == "__main__":
    main()
