"""The translator's report, from its ``result.json`` (never from live objects).

* ``learning-curves.png`` — training loss and validation BLEU (greedy) against minutes of training;
* ``attention.png``       — attention heat maps (target word × source word) of a few validation sentences;
* ``report.md``           — the configuration, our BLEU beside the published numbers, the checks, the
  example translations beside the references and the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_translate_report"]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_curves(result: dict[str, Any], path: Path) -> Path:
    checks = result["checks"]
    minutes = [c["minutes"] for c in checks]
    fig = _figure(8.0, 3.6)
    left, right = fig.subplots(1, 2)
    left.plot(minutes, [c["train_loss"] for c in checks], "o-")
    left.set_xlabel("minutes of training")
    left.set_ylabel("training cross-entropy (mean since the last check)")
    right.plot(minutes, [c["val_bleu"] for c in checks], "o-", color="C2")
    right.set_xlabel("minutes of training")
    right.set_ylabel("validation BLEU (greedy)")
    fig.savefig(path, dpi=110)
    return path


def plot_attention(result: dict[str, Any], path: Path) -> Path | None:
    shown = [e for e in result.get("examples", []) if e.get("attention")][:3]
    if not shown:
        return None
    fig = _figure(4.2 * len(shown), 4.2)
    axes = np.atleast_1d(fig.subplots(1, len(shown)))
    for ax, ex in zip(axes, shown, strict=True):
        weights = np.array(ex["attention"])
        src = ex["source"].split()
        tgt = ex["translation"].split() + ["<eos>"]
        ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(src)), src, rotation=90, fontsize=7)
        ax.set_yticks(range(len(tgt[: weights.shape[0]])), tgt[: weights.shape[0]], fontsize=7)
    fig.savefig(path, dpi=110)
    return path


def write_translate_report(result: dict[str, Any], out: str | Path, translator: Any = None, val: Any = None,
                           figures: bool = True) -> Path:
    """Write ``out/report.md`` (and the figures unless ``figures=False``); returns its path."""
    out = Path(out)
    cfg = result["config"]
    lines = ["# Translation report", "",
             f"Model: {cfg['cell']} encoder–decoder, attention {cfg['attention']}, embeddings {cfg['embed_dim']}, "
             f"hidden {cfg['hidden']}, {result['weights']:,} weights; vocabularies {result['vocabulary']['source']:,}"
             f" (source) and {result['vocabulary']['target']:,} (target); {result['timing']['training_minutes']:.1f} "
             f"minutes of training, {result['timing']['target_words_per_second']:,.0f} target words per second.", "",
             "BLEU: sacrebleu corpus BLEU, `tokenize='none'`, on the lowercased tokenised text.", "",
             "| | BLEU |", "|---|---|",
             f"| ours, validation, greedy | {result['val_bleu_greedy']:.2f} |",
             f"| ours, validation, beam {cfg['beam']} | {result['val_bleu']:.2f} |"]
    if "test" in result:
        lines += [f"| ours, test_2016_flickr, greedy | {result['test_bleu_greedy']:.2f} |",
                  f"| ours, test_2016_flickr, beam {cfg['beam']} | {result['test_bleu']:.2f} |"]
    lines += [f"| published: {name} | {value} |" for name, value in result["references"].items()]
    lines += ["", "## Checks during training", "", "| step | epoch | minutes | training loss | validation BLEU | "
              "validation perplexity | learning rate |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {c['step']} | {c['epoch']:.2f} | {c['minutes']:.1f} | {c['train_loss']:.4f} | {c['val_bleu']:.2f} | "
              f"{c['val_perplexity']:.2f} | {c['lr']:.2g} |" for c in result["checks"]]
    lines += ["", "## Example translations (validation, greedy)", ""]
    for ex in result.get("examples", []):
        lines += [f"- source: {ex['source']}", f"  - ours: {ex['translation']}", f"  - reference: {ex['reference']}"]
    if figures:
        plot_curves(result, out / "learning-curves.png")
        lines += ["", "![learning curves](learning-curves.png)"]
        if plot_attention(result, out / "attention.png") is not None:
            lines += ["", "![attention](attention.png)"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
