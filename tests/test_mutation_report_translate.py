"""yetztml.report.translate: the translator's ``report.md`` word for word from a hand-made ``result.json``, and
what its figures draw (read back from the matplotlib figures as they are saved)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import matplotlib.colors
import matplotlib.figure
import numpy as np
import pytest

from yetztml.report.translate import write_translate_report

ATTENTION = [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]
RESULT = {
    "config": {"cell": "lstm", "attention": "luong-general", "embed_dim": 64, "hidden": 128, "beam": 5},
    "weights": 1234567, "vocabulary": {"source": 5000, "target": 6000},
    "timing": {"training_minutes": 12.34, "target_words_per_second": 4567.8},
    "val_bleu_greedy": 20.123, "val_bleu": 21.456, "test": {}, "test_bleu_greedy": 19.5, "test_bleu": 20.25,
    "references": {"Luong 2015": "25.9"},
    "checks": [{"step": 100, "epoch": 0.5, "minutes": 1.25, "train_loss": 4.56789, "val_bleu": 3.21,
                "val_perplexity": 45.678, "lr": 0.001},
               {"step": 200, "epoch": 1.0, "minutes": 2.5, "train_loss": 3.5, "val_bleu": 8.0,
                "val_perplexity": 20.0, "lr": 0.0005}],
    "examples": [{"source": "ein hund", "translation": "a dog", "reference": "a dog .", "attention": ATTENTION},
                 {"source": "zwei", "translation": "two", "reference": "two ."}],
}


def _expected(test: bool, figures: bool, attention: bool) -> str:
    lines = [
        "# Translation report", "",
        "Model: lstm encoder–decoder, attention luong-general, embeddings 64, hidden 128, 1,234,567 weights; "
        "vocabularies 5,000 (source) and 6,000 (target); 12.3 minutes of training, 4,568 target words per second.",
        "",
        "BLEU: sacrebleu corpus BLEU, `tokenize='none'`, on the lowercased tokenised text.", "",
        "| | BLEU |", "|---|---|",
        "| ours, validation, greedy | 20.12 |",
        "| ours, validation, beam 5 | 21.46 |",
        *(["| ours, test_2016_flickr, greedy | 19.50 |", "| ours, test_2016_flickr, beam 5 | 20.25 |"] if test else []),
        "| published: Luong 2015 | 25.9 |",
        "", "## Checks during training", "",
        "| step | epoch | minutes | training loss | validation BLEU | validation perplexity | learning rate |",
        "|---|---|---|---|---|---|---|",
        "| 100 | 0.50 | 1.2 | 4.5679 | 3.21 | 45.68 | 0.001 |",
        "| 200 | 1.00 | 2.5 | 3.5000 | 8.00 | 20.00 | 0.0005 |",
        "", "## Example translations (validation, greedy)", "",
        "- source: ein hund", "  - ours: a dog", "  - reference: a dog .",
        "- source: zwei", "  - ours: two", "  - reference: two .",
        *(["", "![learning curves](learning-curves.png)"] if figures else []),
        *(["", "![attention](attention.png)"] if attention else []),
    ]
    return "\n".join(lines) + "\n"


def test_report_with_test_scores_and_both_figures_word_for_word(tmp_path, saved):
    path = write_translate_report(RESULT, tmp_path)
    assert path == tmp_path / "report.md"
    assert path.read_text(encoding="utf-8") == _expected(True, True, True)
    assert [(p, dpi) for _, p, dpi in saved] == [(tmp_path / "learning-curves.png", 110),
                                                  (tmp_path / "attention.png", 110)]


def test_report_without_test_scores_or_attention(tmp_path, saved):
    result = copy.deepcopy(RESULT)
    del result["test"]
    del result["examples"][0]["attention"]
    assert write_translate_report(result, tmp_path).read_text(encoding="utf-8") == _expected(False, True, False)
    assert [p.name for _, p, _ in saved] == ["learning-curves.png"]
    assert write_translate_report(result, tmp_path, figures=False).read_text(encoding="utf-8") == _expected(
        False, False, False)
    assert len(saved) == 1


def test_learning_curves_against_minutes(tmp_path, saved):
    write_translate_report(RESULT, tmp_path)
    fig = saved[0][0]
    assert tuple(fig.get_size_inches()) == pytest.approx((8.0, 3.6))
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    left, right = fig.axes
    assert [ax.get_subplotspec().get_geometry() for ax in (left, right)] == [(1, 2, 0, 0), (1, 2, 1, 1)]
    (loss,), (bleu,) = left.lines, right.lines
    assert (list(loss.get_xdata()), list(loss.get_ydata()), loss.get_marker(), loss.get_linestyle()) == (
        [1.25, 2.5], [4.56789, 3.5], "o", "-")
    assert (list(bleu.get_xdata()), list(bleu.get_ydata()), bleu.get_marker(), bleu.get_linestyle()) == (
        [1.25, 2.5], [3.21, 8.0], "o", "-")
    assert matplotlib.colors.to_hex(bleu.get_color()) == matplotlib.colors.to_hex("C2")
    assert (left.get_xlabel(), left.get_ylabel()) == ("minutes of training",
                                                      "training cross-entropy (mean since the last check)")
    assert (right.get_xlabel(), right.get_ylabel()) == ("minutes of training", "validation BLEU (greedy)")


def test_attention_maps_show_at_most_three_examples_with_their_words(tmp_path, saved):
    result = copy.deepcopy(RESULT)
    result["examples"] = [{**RESULT["examples"][0], "source": f"ein hund {k}"[:8]} for k in range(4)]
    write_translate_report(result, tmp_path)
    fig = saved[1][0]
    assert tuple(fig.get_size_inches()) == pytest.approx((12.6, 4.2))
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(1, 3, k, k) for k in range(3)]
    ax = fig.axes[0]
    image = ax.images[0]
    np.testing.assert_array_equal(image.get_array(), ATTENTION)
    assert (image.get_cmap().name, image.get_clim()) == ("Greys", (0.0, 1.0))
    assert ax.get_aspect() == "auto"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ein", "hund"]
    assert [(t.get_rotation(), t.get_fontsize()) for t in ax.get_xticklabels()] == [(90.0, 7.0)] * 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "dog", "<eos>"]
    assert [t.get_fontsize() for t in ax.get_yticklabels()] == [7.0] * 3
    assert (list(ax.get_xticks()), list(ax.get_yticks())) == ([0, 1], [0, 1, 2])


def test_one_attention_map_is_drawn_alone_with_a_row_per_weighted_target_word(tmp_path, saved):
    result = copy.deepcopy(RESULT)
    result["examples"][0]["attention"] = ATTENTION[:2]  # stopped before <eos>: two rows of weights
    write_translate_report(result, tmp_path)
    fig = saved[1][0]
    assert tuple(fig.get_size_inches()) == pytest.approx((4.2, 4.2))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "dog"]
    assert list(ax.get_yticks()) == [0, 1]


def test_report_without_examples_has_no_examples_and_no_attention(tmp_path, saved):
    result = {k: v for k, v in RESULT.items() if k != "examples"}
    text = write_translate_report(result, tmp_path).read_text(encoding="utf-8")
    assert text.endswith("## Example translations (validation, greedy)\n\n\n![learning curves](learning-curves.png)\n")
    assert [p.name for _, p, _ in saved] == ["learning-curves.png"]


def test_report_is_utf8_under_an_ascii_locale(tmp_path):
    """A server with the C locale and no UTF-8 mode writes text files as ASCII by default; the report (an en
    dash in "encoder–decoder") is written as UTF-8 all the same."""
    (tmp_path / "here").mkdir()
    expected = write_translate_report(RESULT, tmp_path / "here", figures=False).read_bytes()
    code = ("import json, sys; from yetztml.report.translate import write_translate_report; "
            "write_translate_report(json.loads(sys.argv[1]), sys.argv[2], figures=False)")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    (tmp_path / "c").mkdir()
    done = subprocess.run([sys.executable, "-c", code, json.dumps(RESULT), str(tmp_path / "c")], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c" / "report.md").read_bytes() == expected
