"""The sarcasm classifier trained for N steps (the demo's configuration, its first N batches), saving the
losses and weights, so that two runs — under different ``YETZTML_KERNEL_BLAS`` choices or BLAS thread counts
— can be compared byte for byte (``--compare A.npz B.npz`` prints the first step whose loss differs).

Run from the repository root::

    OPENBLAS_NUM_THREADS=2 python benchmarks/blas_choice_training.py numpy.npz --steps 334
    OPENBLAS_NUM_THREADS=2 YETZTML_KERNEL_BLAS=scipy python benchmarks/blas_choice_training.py scipy.npz --steps 334
    python benchmarks/blas_choice_training.py --compare numpy.npz scipy.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"


def train(out: str, steps: int, data: str) -> None:
    from headline_batches import headline_batches

    from yetztml.apps.text import TextConfig, build_classifier
    from yetztml.core.gemm_library import kernel_blas
    from yetztml.learning import Adam, Batch, Trainer

    config = TextConfig()
    vocab_size, _, plan = headline_batches(data, config, steps)
    items = [Batch(b.tokens, b.labels[None, :], None, b.lengths) for b in plan]
    model = build_classifier(config, vocab_size, 2)
    trainer = Trainer(model, lambda rng: items[len(trainer.history)], optimiser=Adam(model.params, lr=config.lr),
                      loss="cross_entropy", clip_norm=config.clip_norm, progress=False)
    history = trainer.run(steps)
    print(f"kernels' BLAS {kernel_blas()}: last loss {history.losses[-1]!r}")
    np.savez(out, losses=np.array(history.losses), **{k.replace(".", "_"): v for k, v in model.params.items()})


def compare(a: str, b: str) -> None:
    x, y = np.load(a), np.load(b)
    first = next((i for i, (u, v) in enumerate(zip(x["losses"], y["losses"], strict=True)) if u != v), None)
    differ = [k for k in x.files if x[k].tobytes() != y[k].tobytes()]
    print(f"first step whose loss differs: {first}; arrays that differ: {len(differ)} of {len(x.files)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", help="where to save the losses and weights (.npz)")
    parser.add_argument("--steps", type=int, default=334)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
    elif args.out:
        if not Path(args.data).is_file():
            raise SystemExit(f"blas_choice_training: no data file {args.data!r}; pass --data")
        train(args.out, args.steps, args.data)
    else:
        parser.error("give OUT, or --compare A B")


if __name__ == "__main__":
    main()
