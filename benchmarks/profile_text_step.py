"""Where one training step of the sarcasm classifier goes: cProfile over the library's own training loop,
or (``--timers``) wall-clock timers around each part, without a profiler's overhead.

The classifier of ``yetztml demo sarcasm`` (``--layers`` bidirectional LSTM layers; the demo has 2) on the
headlines' first ``--steps`` batches of 64, trained by ``yetztml.learning.Trainer`` with Adam and clipping
as ``yetztml text train`` does; after ``--warmup`` untimed steps (kernel compilation), ``--steps`` steps run
under cProfile. Prints the time per step and the functions that take the most time of their own.

With ``--timers`` the same steps run ``--repeats`` times with ``time.perf_counter`` around the model's forward
and backward, each part's forward and backward, the compiled LSTM kernels, the update (``Trainer.apply``)
and Adam's step; the table gives each one's time per step in the last repeat (a part's time includes the
kernels it calls), the step's "rest" (the step minus the kernels) and the products floor: the matrix products
that the LSTM kernels make for the same batches (per layer and direction, forward X·W_ihᵀ and h·W_hhᵀ at each
step; backward δa·W_hh at each step, δAᵀX, δAᵀH and δA·W_ih), timed alone through the kernels' own BLAS call
(``lstm_products.py``), with the floating-point operations they make and the rate that gives.

One thread unless the environment says otherwise; run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/profile_text_step.py --layers 2 --steps 60
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/profile_text_step.py --layers 2 --steps 40 --timers
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
from headline_batches import headline_batches  # noqa: E402
from lstm_products import lstm_products  # noqa: E402

from yetztml.apps.text import TextConfig, build_classifier  # noqa: E402
from yetztml.cells.lstm import LSTM  # noqa: E402
from yetztml.learning import Adam, Batch, Trainer  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help="the sarcasm headlines CSV")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60, help="profiled training steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--top", type=int, default=15, help="functions listed")
    parser.add_argument("--timers", action="store_true", help="wall-clock timers per part instead of cProfile")
    parser.add_argument("--repeats", type=int, default=3, help="with --timers: timed repeats of --steps steps")
    args = parser.parse_args()
    if not Path(args.data).is_file():
        raise SystemExit(f"profile_text_step: no data file {args.data!r}; pass --data (yetztml data fetch sarcasm)")
    config = TextConfig(layers=args.layers)
    vocab_size, _, plan = headline_batches(args.data, config, args.steps)
    items = [Batch(b.tokens, b.labels[None, :], None, b.lengths) for b in plan]
    model = build_classifier(config, vocab_size, 2)
    trainer = Trainer(model, lambda rng: items[len(trainer.history) % len(items)],
                      optimiser=Adam(model.params, lr=config.lr), loss="cross_entropy", clip_norm=config.clip_norm,
                      progress=False)
    trainer.run(args.warmup)
    if args.timers:
        timed(trainer, model, args, [item.x for item in items], config)
        return
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


def products_floor(tokens: list[np.ndarray], config: TextConfig, repeats: int) -> tuple[float, float]:
    """The LSTM kernels' matrix products for these batches alone (``lstm_products``: the same BLAS calls, no gate
    arithmetic): seconds per batch (best of repeats; the operands are made before the timing) and floating-point
    operations per batch, 2·T·B·G·3(I + H) per layer and direction (G = 4H: forward W_ih x and W_hh h, backward
    W_hhᵀ δa, δW_ih, δW_hh and δx, each 2·T·B·G·I or 2·T·B·G·H)."""
    rng = np.random.default_rng(0)
    H, G = config.hidden, 4 * config.hidden
    f = np.float32
    w_hh = rng.standard_normal((G, H)).astype(f)
    work = []
    flops = 0.0
    for ids in tokens:
        T, B = ids.shape
        for width in [config.embed_dim] + [2 * H] * (config.layers - 1):
            w_ih = rng.standard_normal((G, width)).astype(f)
            flops += 2 * 2 * T * B * G * 3 * (width + H)  # two directions
            work.append((rng.standard_normal((T, B, width)).astype(f), w_ih, w_hh,
                         rng.standard_normal((T + 1, B, H)).astype(f), rng.standard_normal((T, B, G)).astype(f),
                         np.empty((B, G), f), np.empty((B, H), f), np.empty((T, B, width), f),
                         np.empty_like(w_ih), np.empty_like(w_hh)))
    lstm_products(*work[0])  # compiles
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for operands in work:
            for _direction in range(2):
                lstm_products(*operands)
        best = min(best, (time.perf_counter() - start) / len(tokens))
    return best, flops / len(tokens)


def timed(trainer: Trainer, model, args: argparse.Namespace, tokens: list[np.ndarray], config: TextConfig) -> None:
    """``--timers``: wall time per step of each part (see the module docstring)."""
    spent: dict[str, float] = {}

    def wrap(owner, name: str, label: str, static: bool = False) -> None:
        inner = getattr(owner, name)

        def timer(*a, **k):
            start = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, staticmethod(timer) if static else timer)

    wrap(LSTM, "_forward_kernel", "LSTM forward kernels", static=True)
    wrap(LSTM, "_backward_kernel", "LSTM backward kernels", static=True)
    for part, name in zip(model.parts, model.names, strict=True):
        wrap(part, "forward", f"part {name} ({type(part).__name__}) forward")
        wrap(part, "backward", f"part {name} ({type(part).__name__}) backward")
    wrap(model, "forward", "model forward")
    wrap(model, "backward", "model backward")
    wrap(trainer, "apply", "update (Trainer.apply: norm, clipping, Adam)")
    wrap(trainer.optimiser, "step", "Adam's step")
    steps = []
    for _ in range(args.repeats):
        spent.clear()
        start = time.perf_counter()
        trainer.run(len(trainer.history) + args.steps)
        steps.append((time.perf_counter() - start) / args.steps)
    kernels = spent["LSTM forward kernels"] + spent["LSTM backward kernels"]
    print(f"{args.layers} layer(s), {model.num_weights:,} weights: {1e3 * min(steps):.2f}–{1e3 * max(steps):.2f} ms "
          f"per step over {args.repeats} repeats of {args.steps} steps; the last repeat's parts:")
    print("| timed | per step |")
    print("|---|---|")
    for label, seconds in spent.items():
        print(f"| {label} | {1e3 * seconds / args.steps:.2f} ms |")
    print(f"| the step minus the LSTM kernels | {1e3 * (steps[-1] - kernels / args.steps):.2f} ms |")
    floor, flops = products_floor(tokens, config, args.repeats)
    print(f"| the kernels' matrix products alone (same shapes and BLAS) | {1e3 * floor:.2f} ms |")
    print(f"their arithmetic: {flops / 1e9:.2f} GFLOP a step, so {flops / floor / 1e9:.0f} GFLOPS alone and "
          f"{100 * floor / steps[-1]:.0f} % of the last repeat's step")


if __name__ == "__main__":
    main()
