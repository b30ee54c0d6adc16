"""yetztml.apps.translate.config: every refusal of TranslateConfig word for word, each bound accepted where
it is allowed, and the JSON form (every field, unknown keys refused)."""

from __future__ import annotations

import pytest

from yetztml.apps.translate import TranslateConfig
from yetztml.core.errors import DTypeError, OptionError


@pytest.mark.parametrize("changes, text", [
    ({"cell": "rnn"}, "--cell: expected one of 'lstm', 'gru', got 'rnn'"),
    ({"attention": "dot"}, "--attention: expected one of 'luong-general', 'luong-dot', 'bahdanau', 'none', "
                           "got 'dot'"),
    ({"dtype": "float16"}, "--dtype: expected one of 'float32', 'float64', got 'float16'"),
    ({"tokenise": "chars"}, "--tokenise: expected one of 'whitespace', 'words', 'clitics', got 'chars'"),
    ({"hidden": 0}, "--hidden: expected an integer >= 1, got 0"),
    ({"layers": 0}, "--layers: expected an integer >= 1, got 0"),
    ({"embed_dim": 0}, "--embed-dim: expected an integer >= 1, got 0"),
    ({"epochs": 0}, "--epochs: expected an integer >= 1, got 0"),
    ({"batch_size": 0}, "--batch-size: expected an integer >= 1, got 0"),
    ({"patience": 0}, "--patience: expected an integer >= 1, got 0"),
    ({"max_length": 0}, "--max-length: expected an integer >= 1, got 0"),
    ({"max_output": 0}, "--max-output: expected an integer >= 1, got 0"),
    ({"min_freq": 0}, "--min-freq: expected an integer >= 1, got 0"),
    ({"beam": 0}, "--beam: expected an integer >= 1, got 0"),
    ({"val_every": 0}, "--val-every: expected an integer >= 1, got 0"),
    ({"val_limit": 0}, "--val-limit: expected an integer >= 1, got 0"),
    ({"max_minutes": 0.0}, "--max-minutes: expected a number > 0.0, got 0.0"),
    ({"attention": "luong-dot"}, "--attention luong-dot: expected a unidirectional encoder (--no-bidirectional), "
                                 "whose outputs have the decoder's size, got --bidirectional. Use --attention "
                                 "luong-general or bahdanau with a bidirectional encoder."),
    ({"seed": -1}, "--seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
    ({"dropout": 0.96}, "--dropout: expected a number <= 0.95, got 0.96"),
    ({"dropout": -0.1}, "--dropout: expected a number >= 0.0, got -0.1"),
    ({"label_smoothing": 0.51}, "--label-smoothing: expected a number <= 0.5, got 0.51"),
    ({"label_smoothing": -0.1}, "--label-smoothing: expected a number >= 0.0, got -0.1"),
    ({"decay": 0.0}, "--decay: expected a number > 0.0, got 0.0"),
    ({"decay": 1.01}, "--decay: expected a number <= 1.0, got 1.01"),
    ({"lr": 0.0}, "--lr: expected a number > 0.0, got 0.0"),
    ({"clip_norm": 0.0}, "--clip-norm: expected a number > 0.0, got 0.0"),
    ({"length_penalty": -0.5}, "--length-penalty: expected a number >= 0.0, got -0.5"),
    ({"length_penalty": 5.5}, "--length-penalty: expected a number <= 5.0, got 5.5"),
    ({"bidirectional": 0}, "TranslateConfig(bidirectional): expected True or False, got 0"),
    ({"lowercase": None}, "TranslateConfig(lowercase): expected True or False, got None"),
])
def test_each_refusal_word_for_word(changes, text):
    with pytest.raises(OptionError) as err:
        TranslateConfig(**changes)
    assert str(err.value) == text


def test_non_integers_are_refused_by_their_option_names():
    with pytest.raises(DTypeError, match=r"^--val-every: expected an integer, got float 2\.0$"):
        TranslateConfig(val_every=2.0)
    with pytest.raises(DTypeError, match=r"^--max-output: expected an integer, got str '9'$"):
        TranslateConfig(max_output="9")
    with pytest.raises(DTypeError, match=r"^--max-minutes: expected a real number, got str '1'$"):
        TranslateConfig(max_minutes="1")


def test_every_bound_is_accepted_where_it_is_allowed():
    edge = dict(hidden=1, layers=1, embed_dim=1, epochs=1, batch_size=1, patience=1, max_length=1, max_output=1,
                min_freq=1, beam=1, val_every=1, val_limit=1, max_minutes=1e-9, seed=0, dropout=0.95,
                label_smoothing=0.5, decay=1.0, lr=1e-12, clip_norm=1e-12, length_penalty=5.0,
                attention="luong-dot", bidirectional=False, lowercase=False, tokenise="words", cell="gru")
    assert TranslateConfig(**edge).to_json() == {**TranslateConfig().to_json(), **edge}
    low = TranslateConfig(dropout=0.0, label_smoothing=0.0, length_penalty=0.0)
    assert (low.dropout, low.label_smoothing, low.length_penalty) == (0.0, 0.0, 0.0)
    assert (low.val_every, low.val_limit, low.max_minutes) == (None, None, None)
    assert TranslateConfig(attention="none").attention == "none"
    assert TranslateConfig(attention="bahdanau").attention == "bahdanau"


def test_the_json_form_holds_every_field_and_reads_back():
    cfg = TranslateConfig(cell="gru", hidden=8, val_every=3, max_minutes=2.5)
    assert cfg.to_json() == {
        "cell": "gru", "attention": "luong-general", "hidden": 8, "embed_dim": 256, "layers": 1,
        "bidirectional": True, "dropout": 0.3, "init_range": 0.1, "epochs": 10, "batch_size": 64, "lr": 1e-3,
        "clip_norm": 5.0,
        "label_smoothing": 0.0, "decay": 0.5, "patience": 3, "val_every": 3, "val_limit": None,
        "max_minutes": 2.5, "seed": 0, "max_length": 50, "max_output": 100, "min_freq": 2, "beam": 5,
        "length_penalty": 1.0, "lowercase": True, "tokenise": "whitespace", "dtype": "float32"}
    assert TranslateConfig.from_json(cfg.to_json()) == cfg
    # a missing key takes its default, except a field added later: the value runs written before it had
    assert TranslateConfig.from_json({"beam": 2}) == TranslateConfig(beam=2, init_range=None)
    assert TranslateConfig.from_json({"beam": 2, "init_range": 0.1}) == TranslateConfig(beam=2)


def test_unknown_keys_are_refused_sorted_word_for_word():
    with pytest.raises(OptionError) as err:
        TranslateConfig.from_json({"beam": 2, "zeta": 1, "alpha": 2})
    assert str(err.value) == (
        "translation configuration: expected keys among ['attention', 'batch_size', 'beam', 'bidirectional', "
        "'cell', 'clip_norm', 'decay', 'dropout', 'dtype', 'embed_dim', 'epochs', 'hidden', 'init_range', "
        "'label_smoothing', 'layers', 'length_penalty', 'lowercase', 'lr', 'max_length', 'max_minutes', "
        "'max_output', 'min_freq', 'patience', 'seed', 'tokenise', 'val_every', 'val_limit'], "
        "got unknown ['alpha', 'zeta']")
