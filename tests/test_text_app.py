"""Text classification end to end on tiny data made here: `yetztml text train | evaluate | predict`, the
run directory's habits (finished runs refused, interrupted runs resumed bit-identically, --force), the
model directory, and the errors a user meets first."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yetztml.apps.text import TextConfig, load_classifier, train_classifier
from yetztml.cli.main import main
from yetztml.data import read_csv

WORDS = ["the", "a", "film", "plot", "actor", "scene", "story", "music", "long", "short", "old", "new"]
GOOD = ["great", "fun", "superb"]


def write_data(path, n=240, seed=0):
    """Label 'pos' when one of GOOD occurs, else 'neg'; commas inside quoted texts."""
    rng = np.random.default_rng(seed)
    rows = ["text,label"]
    for i in range(n):
        words = list(rng.choice(WORDS, rng.integers(3, 9)))
        if i % 2:
            words.insert(int(rng.integers(0, len(words))), str(rng.choice(GOOD)))
        rows.append(f'"{" ".join(words)}, really",{"pos" if i % 2 else "neg"}')
    path.write_text("\n".join(rows) + "\n")
    return path


SMALL = ["--hidden", "8", "--embed-dim", "8", "--epochs", "6", "--batch-size", "16", "--lr", "0.02",
         "--dropout", "0", "--patience", "10", "--layers", "1", "--no-figures"]


def test_train_evaluate_predict_through_the_command_line(tmp_path, capsys):
    data = write_data(tmp_path / "reviews.csv")
    out = tmp_path / "model"
    assert main(["text", "train", "--data", str(data), "--out", str(out), *SMALL]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["data"]["examples"] == {"train": 192, "validation": 24, "test": 24}
    assert [e["epoch"] for e in result["epochs"]] == [1, 2, 3, 4, 5, 6] and result["best_epoch"] == 5
    assert (result["test_accuracy"], result["val_accuracy"]) == (1.0, 1.0)  # seeded; a broken gradient stays near 0.5
    assert result["test"]["confusion"] == [[12, 0], [0, 12]] and result["test"]["classes"] == ["neg", "pos"]
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "history.json", "model.json", "report.md", "result.json", "vocab.json", "weights.npz"]
    capsys.readouterr()
    assert main(["text", "evaluate", "--model", str(out), "--data", str(data), "--json", str(tmp_path / "m.json")]) == 0
    printed = capsys.readouterr().out
    assert "240 texts, accuracy 0.9875, macro-F1 0.9875" in printed  # seeded: 3 of 240 wrong
    assert json.loads((tmp_path / "m.json").read_text())["confusion"] == [[117, 3], [0, 120]]
    (tmp_path / "new.txt").write_text("a great film\nthe old plot\n")
    assert main(["text", "predict", "--model", str(out), "--input", str(tmp_path / "new.txt")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "label\tp(neg)\tp(pos)\ttext"
    assert [line.split("\t")[0] for line in lines[1:]] == ["pos", "neg"]
    assert lines[1].endswith("\ta great film")


def test_run_directory_habits(tmp_path, capsys):
    data = write_data(tmp_path / "reviews.csv")
    out = tmp_path / "model"
    args = ["text", "train", "--data", str(data), "--out", str(out), *SMALL]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "a finished run" in err and "--force" in err
    assert main([*args, "--force", "--epochs", "1"]) == 0
    assert len(json.loads((out / "result.json").read_text())["epochs"]) == 1


def test_an_interrupted_run_resumes_bit_identically(tmp_path):
    data = read_csv(write_data(tmp_path / "reviews.csv"), "text", "label")
    config = TextConfig(hidden=6, embed_dim=6, epochs=3, batch_size=16, lr=0.01, patience=5, seed=3)
    whole = train_classifier(config, data, tmp_path / "whole", progress=False)

    def stop_after_first_epoch(line):
        if line.startswith("epoch 1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, data, tmp_path / "cut", progress=False, log=stop_after_first_epoch)
    assert (tmp_path / "cut" / "checkpoint.npz").is_file()
    with pytest.raises(Exception, match="other values of \\['hidden'\\]"):
        train_classifier(TextConfig(**{**config.to_json(), "hidden": 7}), data, tmp_path / "cut", progress=False)
    resumed = train_classifier(config, data, tmp_path / "cut", progress=False)
    assert [e["train_loss"] for e in resumed["epochs"]] == [e["train_loss"] for e in whole["epochs"]]
    a, b = load_classifier(tmp_path / "whole"), load_classifier(tmp_path / "cut")
    for key in a.model.params:
        np.testing.assert_array_equal(a.model.params[key], b.model.params[key])


#: Seed 0, one epoch of each cell: the reloaded model's p(pos) of the two texts, the epoch's training loss and
#: the validation accuracy of 8 examples. float32 training through BLAS: the floats to 1e-5 relative (another
#: BLAS's summation order moves them by about 1e-7); a cell built or reloaded as another cell would not give them.
EVERY_CELL = {
    "gru": ([0.5054962525866733, 0.49756956152069315], 0.6783142589410676, 5 / 8),
    "rnn": ([0.5058370747161348, 0.5117832040350765], 0.694725327427424, 3 / 8),
    "lstm1997": ([0.5143658512608568, 0.5145588306047086], 0.6927535971607711, 4 / 8),
    "peephole": ([0.521283502831496, 0.516956664721722], 0.6940873026190016, 4 / 8),
}


@pytest.mark.parametrize("cell", ["gru", "rnn", "lstm1997", "peephole"])
def test_every_cell_trains_and_reloads(tmp_path, cell):
    data = read_csv(write_data(tmp_path / "reviews.csv", n=80), "text", "label")
    config = TextConfig(cell=cell, hidden=4, embed_dim=4, epochs=1, batch_size=16, layers=2, pool="mean")
    result = train_classifier(config, data, tmp_path / cell, progress=False)
    classifier = load_classifier(tmp_path / cell)
    assert type(classifier.model.parts[2]).__name__ == "Bidirectional"
    probs = classifier.probabilities(["a great film", "old plot"])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0)
    assert result["validation"]["examples"] == 8
    p_pos, loss, accuracy = EVERY_CELL[cell]
    assert probs[:, 1] == pytest.approx(p_pos, rel=1e-5)
    assert result["epochs"][-1]["train_loss"] == pytest.approx(loss, rel=1e-5)
    assert result["validation"]["accuracy"] == accuracy


def test_errors_a_user_meets_first(tmp_path, capsys):
    data = write_data(tmp_path / "reviews.csv")
    out = str(tmp_path / "m")
    assert main(["text", "train", "--data", str(data), "--label-column", "sentiment", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "sentiment" in err and "text" in err and "label" in err and len(err.strip().splitlines()) == 1
    one = tmp_path / "one.csv"
    one.write_text("text,label\na film,1\nthe plot,1\n")
    assert main(["text", "train", "--data", str(one), "--out", str(tmp_path / "m")]) == 2
    assert "at least 2 classes" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{oops")
    assert main(["text", "evaluate", "--model", str(tmp_path / "broken"), "--data", str(data)]) == 2
    assert "valid JSON" in capsys.readouterr().err
    assert main(["text", "train", "--data", str(data), "--out", str(tmp_path / "m"), "--hidden", "0"]) == 2
    assert "--hidden" in capsys.readouterr().err
