"""Would averaging the weights of consecutive epochs lift the sarcasm classifier's accuracy? A probe.

Trains the measured configuration (``TextConfig(layers=2)``, what ``yetztml text train`` runs by default) on
the headlines' seeded 80/10/10 split, once per ``--seeds`` seed, through ``train_classifier`` itself. The
weights are recorded at each epoch's end, when the training loop validates them (it does so through
``Classifier.probabilities_of``, which this script wraps). Afterwards, for each epoch e and each window k in
``--windows``, the mean of the weights of epochs e−k+1…e is evaluated on the validation and test splits;
``ema`` is the per-epoch exponential average with weight ``--ema`` on the past. As the training loop does,
the epoch with the best validation accuracy (the earliest among equals) is chosen for each window, and its
test accuracy reported; k = 1 is the training loop's own choice and must reproduce ``result.json``.

The training loop stops ``patience`` epochs after its best one, so a window can only average epochs that
were run. Two BLAS threads, as the measured configuration's table (``docs/reproduction.md``)::

    OPENBLAS_NUM_THREADS=2 python benchmarks/probe_weight_averaging.py --seeds 0 1 2 --out runs/averaging
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

from yetztml.apps.text import TextConfig, train_classifier  # noqa: E402
from yetztml.apps.text.classifier import Classifier, load_classifier  # noqa: E402
from yetztml.data import LabelledTexts, read_csv, stratified_split  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help="the sarcasm headlines CSV")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 2, 3, 4], help="epochs averaged")
    parser.add_argument("--ema", type=float, default=0.5, help="the exponential average's weight on the past")
    parser.add_argument("--out", default="runs/averaging", help="folder for the runs (one per seed)")
    args = parser.parse_args()
    if not Path(args.data).is_file():
        raise SystemExit(f"probe_weight_averaging: no data file {args.data!r}; pass --data")
    data = read_csv(args.data, "text", "is_sarcastic")
    snapshots: list[dict[str, np.ndarray]] = []
    validate = Classifier.probabilities_of

    def recording(self: Classifier, sequences, batch_size: int = 256) -> np.ndarray:
        if self.model.training:  # the training loop's validation at an epoch's end
            snapshots.append({k: v.copy() for k, v in self.model.params.items()})
        return validate(self, sequences, batch_size)

    Classifier.probabilities_of = recording
    chosen: dict[str, list[tuple[int, float, float]]] = {}
    for seed in args.seeds:
        snapshots.clear()
        out = Path(args.out) / f"s{seed}"
        result = train_classifier(TextConfig(layers=2, seed=seed), data, out, force=True, progress=False)
        print(f"seed {seed}: result.json validation {result['val_accuracy']:.4f}, test {result['test_accuracy']:.4f},"
              f" best epoch {result['best_epoch']} of {len(snapshots)}")
        split = stratified_split(data.labels, seed)
        val, test = data.subset(split.val, "validation split"), data.subset(split.test, "test split")
        classifier = load_classifier(out)

        def accuracy(params: dict[str, np.ndarray], texts: LabelledTexts, clf: Classifier = classifier) -> float:
            clf.model.load_params(params)
            predicted = clf.probabilities(texts.texts).argmax(axis=1)
            return float(np.mean(predicted == clf.labels.encode(texts.labels)))

        averages: dict[str, list[tuple[int, dict[str, np.ndarray]]]] = {}
        for k in args.windows:
            averages[f"mean of {k}"] = [
                (e + 1, {n: np.mean([s[n] for s in snapshots[e + 1 - k : e + 1]], axis=0).astype(w.dtype)
                         for n, w in snapshots[0].items()})
                for e in range(k - 1, len(snapshots))
            ]
        running: dict[str, np.ndarray] = {}
        averages["ema"] = []
        for e, snap in enumerate(snapshots):
            running = {n: (w.copy() if not running else (args.ema * running[n] + (1 - args.ema) * w).astype(w.dtype))
                       for n, w in snap.items()}
            averages["ema"].append((e + 1, running))
        for name, series in averages.items():
            scored = [(epoch, accuracy(params, val)) for epoch, params in series]
            epoch, val_acc = max(scored, key=lambda r: (r[1], -r[0]))
            params = dict(series)[epoch]
            test_acc = accuracy(params, test)
            chosen.setdefault(name, []).append((epoch, val_acc, test_acc))
            print(f"  {name}: epoch {epoch}, validation {val_acc:.4f}, test {test_acc:.4f}", flush=True)
    print("| weights | chosen epochs | validation (mean) | test | test mean |")
    print("|---|---|---|---|---|")
    for name, rows in chosen.items():
        epochs = " / ".join(str(r[0]) for r in rows)
        vals = " / ".join(f"{r[1]:.4f}" for r in rows)
        tests = " / ".join(f"{r[2]:.4f}" for r in rows)
        print(f"| {name} | {epochs} | {vals} ({np.mean([r[1] for r in rows]):.4f}) | {tests} |"
              f" {np.mean([r[2] for r in rows]):.4f} |")


if __name__ == "__main__":
    main()
