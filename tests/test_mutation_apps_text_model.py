"""yetztml.apps.text.model: the layers ``build_classifier`` stacks for each configuration (sizes, cells, the
dropout between layers, the pooling), the seeds each part draws (pinned training-mode outputs, dropout masks
included), initial vectors, and ``encoder_cell`` for every ``--cell``."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.apps.text import TextConfig, build_classifier
from yetztml.apps.text.model import encoder_cell
from yetztml.cells import GRU, LSTM, LSTM1997, RNN, LSTMPeepholeStacked
from yetztml.layers import Dropout, Embedding, Linear, Pool
from yetztml.models import Bidirectional

X = np.array([[2, 3, 4], [5, 1, 0], [4, 0, 0]])  # (T, B) token ids, padded with 0
LENGTHS = np.array([3, 2, 1])

CASES = [
    (dict(cell="lstm", hidden=3, embed_dim=2, layers=1, dropout=0.25, seed=1),
     [[-0.13193461, -0.20321983], [-0.13574636, -0.20325616], [-0.11696787, -0.18284699]]),
    (dict(cell="gru", hidden=3, embed_dim=2, layers=2, bidirectional=False, dropout=0.25, seed=2, pool="last"),
     [[-0.76314676, 0.36266088], [-0.70104051, 0.38564572], [-0.39725316, 0.48140398]]),
    (dict(cell="lstm1997", hidden=2, embed_dim=2, layers=2, dropout=0.25, seed=3, dtype="float64"),
     [[0.27105572, 0.12004297], [0.27165952, 0.14528795], [0.26962511, 0.12107943]]),
    (dict(cell="peephole", hidden=2, embed_dim=3, layers=1, bidirectional=False, dropout=0.0, seed=4, pool="mean"),
     [[-0.29927084, 0.13560247], [-0.18598461, 0.20148435], [-0.28220353, 0.1824095]]),
    (dict(cell="rnn", hidden=2, embed_dim=2, layers=1, dropout=0.5, seed=5, dtype="float64"),
     [[1.24616938, 0.76572141], [0.62983958, 0.70558388], [0.37358902, 0.32729897]]),
]


@pytest.mark.parametrize("changes, logits", CASES)
def test_the_seeded_network_of_each_configuration(changes, logits):
    model = build_classifier(TextConfig(**changes), 6, 2)
    model.train(True)
    out = model.forward(X, lengths=LENGTHS).outputs[0]
    assert out.dtype == np.dtype(changes.get("dtype", "float32"))
    np.testing.assert_allclose(out, logits, rtol=0, atol=1e-7)


def kinds(model):
    return [type(p).__name__ for p in model.parts]


def test_one_bidirectional_layer():
    model = build_classifier(TextConfig(hidden=3, embed_dim=2, layers=1, dropout=0.25, pool="last"), 6, 4)
    assert kinds(model) == ["Embedding", "Dropout", "Bidirectional", "Pool", "Dropout", "Linear"]
    emb, drop, bi, pool, drop2, lin = model.parts
    assert emb.config() == {"num_embeddings": 6, "embedding_dim": 2, "padding_idx": 0, "weights": None,
                            "batch_first": False, "dtype": "float32"}
    assert [drop.config()["size"], drop.config()["p"], drop2.config()["size"], drop2.config()["p"]] == [
        2, 0.25, 6, 0.25]
    assert isinstance(bi.forward_cell, LSTM) and isinstance(bi.reverse_cell, LSTM)
    assert (bi.forward_cell.input_size, bi.forward_cell.hidden_size, bi.output_size) == (2, 3, 6)
    assert not np.array_equal(bi.forward_cell.params["weight_ih_l0"], bi.reverse_cell.params["weight_ih_l0"])
    assert pool.config() == {"size": 6, "mode": "last", "batch_first": False, "dtype": "float32"}
    assert (lin.config()["in_features"], lin.config()["out_features"]) == (6, 4)


def test_two_layers_have_dropout_between_them():
    model = build_classifier(TextConfig(cell="gru", hidden=3, embed_dim=2, layers=2, bidirectional=False,
                                        dropout=0.1, dtype="float64"), 5, 3)
    assert kinds(model) == ["Embedding", "Dropout", "GRU", "Dropout", "GRU", "Pool", "Dropout", "Linear"]
    assert (model.parts[2].input_size, model.parts[4].input_size, model.parts[4].hidden_size) == (2, 3, 3)
    assert model.parts[3].config()["size"] == 3 and model.parts[3].config()["p"] == 0.1
    assert model.parts[5].mode == "max"
    assert model.dtype == np.float64
    three = build_classifier(TextConfig(hidden=2, embed_dim=2, layers=3, dropout=0.2), 5, 3)
    assert kinds(three) == ["Embedding", "Dropout", "Bidirectional", "Dropout", "Bidirectional", "Dropout",
                            "Bidirectional", "Pool", "Dropout", "Linear"]
    assert [p.input_size for p in three.parts if isinstance(p, Bidirectional)] == [2, 4, 4]


def test_initial_vectors_fill_the_embedding():
    vectors = np.arange(10, dtype=np.float64).reshape(5, 2) / 10
    model = build_classifier(TextConfig(hidden=2, embed_dim=2, dtype="float64"), 5, 2, vectors)
    np.testing.assert_array_equal(model.parts[0].params["weight"][1:], vectors[1:])
    np.testing.assert_array_equal(model.parts[0].params["weight"][0], 0.0)  # the padding row
    plain = build_classifier(TextConfig(hidden=2, embed_dim=2, dtype="float64"), 5, 2)
    assert not np.array_equal(plain.parts[0].params["weight"], vectors)


@pytest.mark.parametrize("kind, cls", [("lstm", LSTM), ("gru", GRU), ("rnn", RNN), ("lstm1997", LSTM1997),
                                       ("peephole", LSTMPeepholeStacked)])
def test_encoder_cell_of_each_kind(kind, cls):
    cell = encoder_cell(kind, 2, 3, 5, "float64")
    assert type(cell) is cls
    assert cell.dtype == np.float64 and cell.output_size == 3
    if kind == "lstm1997":
        expected = LSTM1997(2, 3, 1, 3, output="identity", seed=5, dtype="float64")
        assert cell.config() == expected.config()
        assert (cell.config()["num_blocks"], cell.config()["block_size"], cell.config()["output"]) == (3, 1,
                                                                                                       "identity")
    else:
        expected = cls(2, 3, seed=5, dtype="float64")
        assert (cell.input_size, cell.hidden_size) == (2, 3)
    for name, value in expected.params.items():
        np.testing.assert_array_equal(cell.params[name], value)
    other = encoder_cell(kind, 2, 3, 6, "float32")
    assert other.dtype == np.float32


def test_the_layers_are_yetztml_layers():
    model = build_classifier(TextConfig(hidden=2, embed_dim=2, layers=1, bidirectional=False), 4, 2)
    assert [type(p) for p in model.parts] == [Embedding, Dropout, LSTM, Pool, Dropout, Linear]
