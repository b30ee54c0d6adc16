"""yetztml.report.text: the text classifier's ``report.md`` word for word from a hand-made ``result.json``, and
what its two figures draw (read back from the matplotlib figures as they are saved)."""

from __future__ import annotations

import copy

import matplotlib.colors
import matplotlib.figure
import numpy as np
import pytest

from yetztml.report.text import write_text_report

PER_CLASS = {"no": {"precision": 0.625, "recall": 0.8333333, "f1": 0.7142857, "support": 60},
             "yes": {"precision": 0.8571429, "recall": 0.6666667, "f1": 0.75, "support": 90}}
MEASURES = {"classes": ["no", "yes"], "confusion": [[50, 10], [30, 60]], "per_class": PER_CLASS,
            "confidently_wrong": [{"text": "a | b\nc", "label": "no", "predicted": "yes", "probability": 0.98765}]}
RESULT = {
    "data": {"train": "headlines.csv", "split": "seeded stratified 80/10/10",
             "examples": {"train": 1200, "validation": 150, "test": 150}, "truncated_train": 3, "max_length": 40},
    "vocabulary": 5123, "config": {"cell": "lstm", "hidden": 32}, "weights": 12345,
    "epochs": [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_accuracy": 0.7},
               {"epoch": 2, "train_loss": 0.4, "val_loss": 0.45, "val_accuracy": 0.75},
               {"epoch": 3, "train_loss": 0.3, "val_loss": 0.5, "val_accuracy": 0.74}],
    "best_epoch": 2, "stopped_early": True, "timing": {"seconds": 12.6, "words_per_second": 12345.6},
    "val_accuracy": 0.75, "val_macro_f1": 0.7412345, "test_accuracy": 0.73, "test_macro_f1": 0.72,
    "references": {"BiLSTM (published)": "0.85"}, "test": MEASURES,
}


def _expected(split: str, test_row: bool, stopped: str, figures: bool) -> str:
    lines = [
        "# Text classification report",
        "",
        "Data: `headlines.csv` (seeded stratified 80/10/10); examples train 1,200, validation 150, test 150; "
        "vocabulary 5,123 words; 3 training texts truncated at 40 tokens.",
        "",
        "Model: cell = lstm, hidden = 32; 12,345 weights.",
        "",
        f"Training: 3 epochs, best validation accuracy at epoch 2{stopped}; 13 s in all, 12,346 words/s.",
        "",
        "## Accuracy",
        "",
        "| | accuracy | macro-F1 |",
        "|---|---|---|",
        "| ours, validation | 0.7500 | 0.7412 |",
        *(["| ours, test | 0.7300 | 0.7200 |"] if test_row else []),
        "",
        "Published references (accuracy on a held-out split of the sarcasm headlines, `../shared/data/README.md`; "
        "they apply to that data set only):",
        "",
        "| model | accuracy |",
        "|---|---|",
        "| BiLSTM (published) | 0.85 |",
        "",
        f"## Per class ({split})",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
        "| no | 0.6250 | 0.8333 | 0.7143 | 60 |",
        "| yes | 0.8571 | 0.6667 | 0.7500 | 90 |",
        *(["", "![learning curves](learning-curves.png)", "", f"![confusion matrix, {split}](confusion.png)"]
          if figures else []),
        "",
        f"## Most confidently wrong ({split})",
        "",
        "| text | true | predicted | probability |",
        "|---|---|---|---|",
        "| a \\| b c | no | yes | 0.988 |",
    ]
    return "\n".join(lines) + "\n"


def test_report_with_a_test_split_word_for_word(tmp_path, saved):
    path = write_text_report(RESULT, tmp_path)
    assert path == tmp_path / "report.md"
    assert path.read_text() == _expected("test", True, " (stopped early)", True)
    assert [(p, dpi) for _, p, dpi in saved] == [(tmp_path / "learning-curves.png", 110),
                                                  (tmp_path / "confusion.png", 110)]


def test_report_of_a_run_without_a_test_split_uses_validation(tmp_path):
    result = copy.deepcopy(RESULT)
    result["validation"] = result.pop("test")
    del result["test_accuracy"], result["test_macro_f1"]
    result["stopped_early"] = False
    assert write_text_report(result, tmp_path, figures=False).read_text() == _expected("validation", False, "", False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_learning_curves_draw_losses_accuracy_and_the_best_epoch(tmp_path, saved):
    write_text_report(RESULT, tmp_path)
    fig = saved[0][0]
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 3.8))
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    left, right = fig.axes
    assert [ax.get_subplotspec().get_geometry() for ax in (left, right)] == [(1, 2, 0, 0), (1, 2, 1, 1)]
    assert [(list(line.get_xdata()), list(line.get_ydata()), line.get_marker(), line.get_linestyle())
            for line in left.lines] == [([1, 2, 3], [0.6, 0.4, 0.3], "o", "-"), ([1, 2, 3], [0.5, 0.45, 0.5], "s", "-")]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["training (mean over the epoch)", "validation"]
    assert (left.get_xlabel(), left.get_ylabel()) == ("epoch", "cross-entropy")
    curve, best = right.lines
    assert (list(curve.get_xdata()), list(curve.get_ydata()), curve.get_marker()) == ([1, 2, 3], [0.7, 0.75, 0.74], "o")
    assert matplotlib.colors.to_hex(curve.get_color()) == matplotlib.colors.to_hex("C2")
    assert (list(best.get_xdata()), best.get_linestyle()) == ([2, 2], ":")
    assert matplotlib.colors.to_hex(best.get_color()) == matplotlib.colors.to_hex("grey")
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["best epoch (2)"]
    assert (right.get_xlabel(), right.get_ylabel()) == ("epoch", "validation accuracy")


def test_confusion_matrix_draws_counts_in_contrasting_colours(tmp_path, saved):
    write_text_report(RESULT, tmp_path)
    fig = saved[1][0]
    assert tuple(fig.get_size_inches()) == pytest.approx((4.8, 4.2))
    (ax,) = fig.axes
    image = ax.images[0]
    np.testing.assert_array_equal(image.get_array(), [[50, 10], [30, 60]])
    assert image.get_cmap().name == "Blues"
    assert [(t.get_text(), t.get_position(), t.get_color(), t.get_ha(), t.get_va()) for t in ax.texts] == [
        ("50", (0, 0), "white", "center", "center"), ("10", (1, 0), "black", "center", "center"),
        ("30", (0, 1), "black", "center", "center"), ("60", (1, 1), "white", "center", "center")]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["no", "yes"] == [t.get_text() for t in ax.get_yticklabels()]
    assert (list(ax.get_xticks()), list(ax.get_yticks())) == ([0, 1], [0, 1])
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted", "true", "test set")
