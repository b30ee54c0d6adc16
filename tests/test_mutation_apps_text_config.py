"""yetztml.apps.text.config: every refusal of TextConfig word for word, each bound accepted where it is
allowed, and the JSON form (every field, unknown keys refused)."""

from __future__ import annotations

import pytest

from yetztml.apps.text.config import CELLS, POOLS, TextConfig
from yetztml.core.errors import DTypeError, OptionError


@pytest.mark.parametrize("changes, text", [
    ({"cell": "lstm2"}, "--cell: expected one of 'lstm', 'gru', 'rnn', 'lstm1997', 'peephole', got 'lstm2'"),
    ({"pool": "sum"}, "--pool: expected one of 'last', 'mean', 'max', 'maxmean', got 'sum'"),
    ({"dtype": "float16"}, "--dtype: expected one of 'float32', 'float64', got 'float16'"),
    ({"hidden": 0}, "--hidden: expected an integer >= 1, got 0"),
    ({"layers": 0}, "--layers: expected an integer >= 1, got 0"),
    ({"embed_dim": 0}, "--embed-dim: expected an integer >= 1, got 0"),
    ({"epochs": 0}, "--epochs: expected an integer >= 1, got 0"),
    ({"batch_size": 0}, "--batch-size: expected an integer >= 1, got 0"),
    ({"patience": 0}, "--patience: expected an integer >= 1, got 0"),
    ({"max_length": 0}, "--max-length: expected an integer >= 1, got 0"),
    ({"min_freq": 0}, "--min-freq: expected an integer >= 1, got 0"),
    ({"max_vocab": 2}, "--max-vocab: expected an integer >= 3, got 2"),
    ({"seed": -1}, "--seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
    ({"dropout": 0.96}, "--dropout: expected a number <= 0.95, got 0.96"),
    ({"dropout": -0.01}, "--dropout: expected a number >= 0.0, got -0.01"),
    ({"lr": 0.0}, "--lr: expected a number > 0.0, got 0.0"),
    ({"clip_norm": 0.0}, "--clip-norm: expected a number > 0.0, got 0.0"),
    ({"bidirectional": 1}, "TextConfig(bidirectional): expected True or False, got 1"),
    ({"lowercase": "yes"}, "TextConfig(lowercase): expected True or False, got 'yes'"),
])
def test_each_refusal_word_for_word(changes, text):
    with pytest.raises(OptionError) as err:
        TextConfig(**changes)
    assert str(err.value) == text


def test_a_non_integer_size_is_refused_by_its_option_name():
    with pytest.raises(DTypeError, match=r"^--batch-size: expected an integer, got float 2\.0$"):
        TextConfig(batch_size=2.0)
    with pytest.raises(DTypeError, match=r"^--max-vocab: expected an integer, got str '9'$"):
        TextConfig(max_vocab="9")


def test_every_bound_is_accepted_where_it_is_allowed():
    edge = dict(hidden=1, layers=1, embed_dim=1, epochs=1, batch_size=1, patience=1, max_length=1, min_freq=1,
                max_vocab=3, seed=0, dropout=0.95, lr=1e-12, lr_decay=1e-12, clip_norm=1e-12, bidirectional=False,
                lowercase=False)
    assert TextConfig(lr_decay=1.0).lr_decay == 1.0
    assert TextConfig(**edge).to_json() == {**TextConfig().to_json(), **edge}
    assert TextConfig(dropout=0.0).dropout == 0.0
    assert TextConfig().max_vocab is None
    for cell in CELLS:
        assert TextConfig(cell=cell).cell == cell
    for pool in POOLS:
        assert TextConfig(pool=pool).pool == pool
    assert CELLS == ("lstm", "gru", "rnn", "lstm1997", "peephole") and POOLS == ("last", "mean", "max", "maxmean")


def test_the_json_form_holds_every_field_and_reads_back():
    cfg = TextConfig(cell="gru", hidden=7, max_vocab=50, lowercase=False, tokenise="clitics", dtype="float64")
    assert cfg.to_json() == {
        "cell": "gru", "hidden": 7, "layers": 2, "bidirectional": True, "embed_dim": 128, "dropout": 0.5,
        "pool": "max", "epochs": 12, "batch_size": 64, "lr": 2e-3, "lr_decay": 1.0, "clip_norm": 5.0, "patience": 3,
        "seed": 0, "max_length": 60, "min_freq": 2, "max_vocab": 50, "lowercase": False, "tokenise": "clitics",
        "dtype": "float64"}
    assert TextConfig.from_json(cfg.to_json()) == cfg
    assert TextConfig.from_json({"hidden": 9}) == TextConfig(hidden=9)
    # a field added later is filled at the value older runs had, and kept when present
    assert TextConfig.completed({"hidden": 9}) == {"lr_decay": 1.0, "tokenise": "words", "hidden": 9}
    assert TextConfig.completed({"lr_decay": 0.5}) == {"lr_decay": 0.5, "tokenise": "words"}


def test_unknown_keys_are_refused_sorted_word_for_word():
    with pytest.raises(OptionError) as err:
        TextConfig.from_json({"hidden": 9, "zeta": 1, "alpha": 2})
    assert str(err.value) == (
        "text configuration: expected keys among ['batch_size', 'bidirectional', 'cell', 'clip_norm', 'dropout', "
        "'dtype', 'embed_dim', 'epochs', 'hidden', 'layers', 'lowercase', 'lr', 'lr_decay', 'max_length', "
        "'max_vocab', 'min_freq', 'patience', 'pool', 'seed', 'tokenise'], got unknown ['alpha', 'zeta']")
