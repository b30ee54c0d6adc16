"""The text classifier's report, from its ``result.json`` (never from live objects).

* ``learning-curves.png`` — training loss and validation loss per epoch, validation accuracy beside;
* ``confusion.png``       — the test (or validation) confusion matrix, counts in the cells;
* ``report.md``           — the configuration, our numbers beside the published references, the per-class
  table, the figures and the most confidently wrong examples.

matplotlib is imported inside the functions and drawn through ``matplotlib.figure.Figure``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_text_report"]


def _figure(width: float = 7.0, height: float = 3.8):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_curves(result: dict[str, Any], path: Path) -> Path:
    epochs = [e["epoch"] for e in result["epochs"]]
    fig = _figure()
    left, right = fig.subplots(1, 2)
    left.plot(epochs, [e["train_loss"] for e in result["epochs"]], "o-", label="training (mean over the epoch)")
    left.plot(epochs, [e["val_loss"] for e in result["epochs"]], "s-", label="validation")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy")
    left.legend()
    right.plot(epochs, [e["val_accuracy"] for e in result["epochs"]], "o-", color="C2")
    right.axvline(result["best_epoch"], color="grey", linestyle=":", label=f"best epoch ({result['best_epoch']})")
    right.set_xlabel("epoch")
    right.set_ylabel("validation accuracy")
    right.legend()
    fig.savefig(path, dpi=110)
    return path


def plot_confusion(measures: dict[str, Any], title: str, path: Path) -> Path:
    matrix = np.array(measures["confusion"])
    classes = measures["classes"]
    fig = _figure(4.2 + 0.3 * len(classes), 3.6 + 0.3 * len(classes))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > matrix.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.savefig(path, dpi=110)
    return path


def write_text_report(result: dict[str, Any], out: str | Path, figures: bool = True) -> Path:
    """Write ``report.md`` (and the figures) into ``out``; returns the report's path."""
    out = Path(out)
    split = "test" if "test" in result else "validation"
    measures = result[split]
    lines = [
        "# Text classification report",
        "",
        f"Data: `{result['data']['train']}` ({result['data']['split']}); examples "
        + ", ".join(f"{k} {v:,}" for k, v in result["data"]["examples"].items())
        + f"; vocabulary {result['vocabulary']:,} words; {result['data']['truncated_train']} training texts "
        f"truncated at {result['data']['max_length']} tokens.",
        "",
        "Model: " + ", ".join(f"{k} = {v}" for k, v in result["config"].items()) + f"; {result['weights']:,} weights.",
        "",
        f"Training: {len(result['epochs'])} epochs, best validation accuracy at epoch {result['best_epoch']}"
        + (" (stopped early)" if result["stopped_early"] else "")
        + f"; {result['timing']['seconds']:.0f} s in all, {result['timing']['words_per_second']:,.0f} words/s.",
        "",
        "## Accuracy",
        "",
        "| | accuracy | macro-F1 |",
        "|---|---|---|",
        f"| ours, validation | {result['val_accuracy']:.4f} | {result['val_macro_f1']:.4f} |",
    ]
    if "test_accuracy" in result:
        lines.append(f"| ours, test | {result['test_accuracy']:.4f} | {result['test_macro_f1']:.4f} |")
    lines += ["", "Published references (accuracy on a held-out split of the sarcasm headlines, "
              "`../shared/data/README.md`; they apply to that data set only):", "",
              "| model | accuracy |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in result["references"].items()]
    lines += ["", f"## Per class ({split})", "", "| class | precision | recall | F1 | support |",
              "|---|---|---|---|---|"]
    for label, row in measures["per_class"].items():
        lines.append(
            f"| {label} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['support']} |"
        )
    if figures:
        plot_curves(result, out / "learning-curves.png")
        plot_confusion(measures, f"{split} set", out / "confusion.png")
        lines += ["", "![learning curves](learning-curves.png)", "", f"![confusion matrix, {split}](confusion.png)"]
    lines += ["", f"## Most confidently wrong ({split})", "", "| text | true | predicted | probability |",
              "|---|---|---|---|"]
    for row in measures["confidently_wrong"]:
        text = row["text"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {text} | {row['label']} | {row['predicted']} | {row['probability']:.3f} |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
