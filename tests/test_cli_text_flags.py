"""``yetztml text train`` options no other test passes, through :func:`yetztml.cli.main.main`, each read back
from the model directory: the cell, the pooling, one direction, the clipping, the CSV delimiter."""

from __future__ import annotations

import json

from test_text_app import write_data
from yetztml.cli.main import main

TINY = ["--hidden", "8", "--embed-dim", "8", "--epochs", "1", "--batch-size", "16", "--lr", "0.02", "--dropout", "0",
        "--no-figures"]


def test_cell_pool_direction_and_clipping_shape_the_model(tmp_path):
    """GRU 8 → 8 in one direction: 3·8·(8 + 8) + 2·24 = 432 weights, with a 19 × 8 embedding and a 2 × 8 + 2
    read-out, 602 in all; a bidirectional LSTM of the defaults would have another count and parts."""
    data = write_data(tmp_path / "reviews.csv")
    out = tmp_path / "model"
    argv = ["text", "train", "--data", str(data), "--out", str(out), *TINY, "--cell", "gru", "--pool", "mean",
            "--no-bidirectional", "--clip-norm", "0.5"]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert {k: config[k] for k in ("cell", "pool", "bidirectional", "clip_norm")} == {
        "cell": "gru", "pool": "mean", "bidirectional": False, "clip_norm": 0.5}
    parts = json.loads((out / "model.json").read_text())["model"]["config"]["parts"]
    assert [p["class"] for p in parts] == ["Embedding", "Dropout", "GRU", "Pool", "Dropout", "Linear"]
    assert (parts[2]["config"]["bidirectional"], parts[3]["config"]["mode"]) == (False, "mean")
    assert json.loads((out / "result.json").read_text())["weights"] == 602


def test_delimiter_overrides_the_extension(tmp_path, capsys):
    """A .csv file separated by ';': read by its extension it has one column and no 'label'; --delimiter
    ';' reads it."""
    data = tmp_path / "reviews.csv"
    data.write_text(write_data(tmp_path / "plain.csv").read_text().replace('",', '";').replace("text,label",
                                                                                                "text;label"))
    args = ["text", "train", "--data", str(data), *TINY]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    assert "label" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "model"), "--delimiter", ";"]) == 0
    result = json.loads((tmp_path / "model" / "result.json").read_text())
    assert result["data"]["examples"] == {"train": 192, "validation": 24, "test": 24}
