"""``yetztml text train`` options no other test passes, through :func:`yetztml.cli.main.main`, each read back
from the model directory: the cell, the pooling, one direction, the clipping, the tokeniser, the CSV delimiter; and
``demo sarcasm``'s --cell, --epochs and --seed."""

from __future__ import annotations

import json

import numpy as np

from test_text_app import write_data
from yetztml.cli.main import main

TINY = ["--hidden", "8", "--embed-dim", "8", "--epochs", "1", "--batch-size", "16", "--lr", "0.02", "--dropout", "0",
        "--layers", "1", "--no-figures"]


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


def test_tokenise_clitics_reaches_the_vocabulary_and_the_saved_tokeniser(tmp_path, capsys):
    """--tokenise clitics: "film's" and "isn't" become "film" "'s" and "is" "n't", so the vocabulary holds
    "'s" and "n't" and no "film's", and the model directory records the tokeniser's mode. Without the flag
    (words) "film's" stays a word of the vocabulary."""
    data = write_data(tmp_path / "reviews.csv")
    data.write_text(data.read_text().replace("film", "film's").replace("really", "isn't really"))
    out, plain = tmp_path / "model", tmp_path / "plain"
    assert main(["text", "train", "--data", str(data), "--out", str(out), *TINY, "--tokenise", "clitics"]) == 0
    assert main(["text", "train", "--data", str(data), "--out", str(plain), *TINY]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["tokenise"] == "clitics"
    assert json.loads((plain / "config.json").read_text())["config"]["tokenise"] == "words"
    tokens = json.loads((out / "vocab.json").read_text())["tokens"]
    plain_tokens = json.loads((plain / "vocab.json").read_text())["tokens"]
    assert {"'s", "n't", "film", "is"} <= set(tokens) and "film's" not in tokens and "isn't" not in tokens
    assert "film's" in plain_tokens and "'s" not in plain_tokens
    saved = json.loads((out / "model.json").read_text())["metadata"]["tokeniser"]
    assert saved == {"lowercase": True, "mode": "clitics"}


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


def test_files_columns_sizes_and_vectors(tmp_path, capsys):
    """--val/--test files instead of a split, --text-column, --layers, --max-length, --max-vocab, --vectors.

    Two bidirectional LSTM layers of 8 over 8-wide embeddings: 2·(4·8·16 + 64) + 2·(4·8·24 + 64) = 2,816
    recurrent weights, 10 × 8 embedding, 2 × 16 + 2 read-out: 2,930. Three tokens a text cut every text."""
    files = {}
    for name, n, seed in (("train", 240, 0), ("val", 30, 1), ("test", 20, 2)):
        path = write_data(tmp_path / f"{name}.csv", n=n, seed=seed)
        path.write_text(path.read_text().replace("text,label", "review,label", 1))
        files[name] = str(path)
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("film " + " ".join(["-0.25"] * 8) + "\nnowhere " + " ".join(["0.5"] * 8) + "\n")
    out = tmp_path / "model"
    argv = ["text", "train", "--data", files["train"], "--val", files["val"], "--test", files["test"],
            "--text-column", "review", "--out", str(out), *TINY, "--layers", "2", "--max-length", "3",
            "--max-vocab", "10", "--vectors", str(vectors)]
    assert main(argv) == 0
    assert f"word vectors: 1 of 10 words found in {vectors}" in capsys.readouterr().out
    result = json.loads((out / "result.json").read_text())
    assert result["data"]["examples"] == {"train": 240, "validation": 30, "test": 20}
    assert (result["data"]["split"], result["data"]["truncated_train"], result["data"]["max_length"]) == (
        "files given", 240, 3)
    assert (result["vocabulary"], result["weights"], result["config"]["layers"]) == (10, 2930, 2)
    # --max-vocab 10: the two specials and the eight most frequent tokens of the training file (a vocabulary
    # built from every file, or cut another way, holds other words)
    assert json.loads((out / "vocab.json").read_text())["tokens"] == [
        "<pad>", "<unk>", ",", "really", "old", "story", "film", "actor", "music", "short"]


def test_demo_sarcasm_trains_the_measured_configuration_with_the_cell_seed_and_epochs_given(tmp_path, capsys):
    """``demo sarcasm``: columns is_sarcastic and text, the measured configuration (two bidirectional layers of 128
    units, 128-wide embeddings) with --cell gru, --epochs 1 and --seed 3: 496,642 weights over a 12-word vocabulary
    (200,194 with one layer; the second bidirectional GRU layer adds 2 · (3·128·(256 + 128) + 2·3·128))."""
    words = ["man", "city", "local", "news", "report", "says", "finally", "area", "nation", "study"]
    rng = np.random.default_rng(0)
    rows = ["is_sarcastic,text"]
    for i in range(80):
        picked = list(rng.choice(words, 5))
        rows.append(f'{i % 2},"{" ".join((["area"] if i % 2 else []) + picked)}"')
    data = tmp_path / "headlines.csv"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "model"
    argv = ["demo", "sarcasm", "--data", str(data), "--out", str(out), "--cell", "gru", "--epochs", "1", "--seed", "3",
            "--no-figures"]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert {k: config[k] for k in ("cell", "epochs", "seed", "hidden", "embed_dim", "bidirectional", "layers")} == {
        "cell": "gru", "epochs": 1, "seed": 3, "hidden": 128, "embed_dim": 128, "bidirectional": True, "layers": 2}
    result = json.loads((out / "result.json").read_text())
    assert result["data"]["examples"] == {"train": 64, "validation": 8, "test": 8}
    assert (result["weights"], result["vocabulary"], [e["epoch"] for e in result["epochs"]]) == (496_642, 12, [1])
    capsys.readouterr()
    assert main(argv) == 2  # a finished run is refused (--force, as for text train, starts over)
    assert "--force" in capsys.readouterr().err
