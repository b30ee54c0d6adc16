"""Tokeniser rules (TK1)–(TK4), vocabulary rules (V1)–(V4) and its JSON, GloVe-format word vectors."""

from __future__ import annotations

import doctest
import gzip
import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import yetztml.data.tokenise
import yetztml.data.vocab
from yetztml.core.errors import CheckpointError, DataError, OptionError
from yetztml.data import Tokeniser, Vocab, read_word_vectors


def test_doctests():
    assert doctest.testmod(yetztml.data.tokenise).failed == 0
    assert doctest.testmod(yetztml.data.vocab).failed == 0
    assert doctest.testmod(yetztml.data).failed == 0


def test_words_punctuation_and_apostrophes_inside_words():
    tok = Tokeniser()
    assert tok("Former Versace store clerk sues over secret 'black code' for minority shoppers") == [
        "former", "versace", "store", "clerk", "sues", "over", "secret",
        "'", "black", "code", "'", "for", "minority", "shoppers",
    ]  # fmt: skip
    assert tok("Boehner just wants wife to listen, not debt-reduction ideas") == [
        "boehner", "just", "wants", "wife", "to", "listen", ",", "not", "debt", "-", "reduction", "ideas",
    ]  # fmt: skip
    assert tok("rock'n'roll isn't o'brien's ''quote'' $3.50 #1") == [
        "rock'n'roll", "isn't", "o'brien's", "'", "'", "quote", "'", "'", "$", "3", ".", "50", "#", "1",
    ]  # fmt: skip


def test_nfc_typographic_apostrophes_and_lowercase_option():
    tok = Tokeniser()
    assert tok("Cafe\u0301 DON\u2019T say\u02bcs \u2018hi\u2019") == [
        "café",
        "don't",
        "say's",
        "\u2018",
        "hi",
        "'",
    ]
    assert Tokeniser(lowercase=False)("Mom's DOG") == ["Mom's", "DOG"]
    assert Tokeniser(mode="whitespace")("a man &apos;s  Dog .\t!") == ["a", "man", "&apos;s", "dog", ".", "!"]


def test_clitics_mode_splits_a_words_last_english_clitic():
    """(TK5): each clitic, the lazy stem (isn't → is n't, not isn' t), only the last clitic, apostrophes inside
    names kept, nothing split off a bare clitic, and the (TK1)–(TK3) rules first (typographic apostrophe)."""
    tok = Tokeniser(mode="clitics")
    assert tok("Son\u2019s dog isn't here; we'd, they've, I'm, he'll, you're") == [
        "son", "'s", "dog", "is", "n't", "here", ";", "we", "'d", ",", "they", "'ve", ",", "i", "'m", ",", "he",
        "'ll", ",", "you", "'re"]
    assert tok("o'brien's rock'n'roll can't we'd've n't 's 'quoted'") == [
        "o'brien", "'s", "rock'n'roll", "ca", "n't", "we'd", "'ve", "n't", "'", "s", "'", "quoted", "'"]
    assert Tokeniser(mode="clitics", lowercase=False)("Trump's") == ["Trump", "'s"]
    assert Tokeniser.from_json(tok.to_json()) == tok and tok.to_json() == {"lowercase": True, "mode": "clitics"}


@given(st.text(max_size=40))
def test_clitics_mode_only_cuts_the_word_tokens(text):
    """Joined back, the clitics mode's tokens are the words mode's: it only cuts tokens, never drops or adds."""
    assert "".join(Tokeniser(mode="clitics")(text)) == "".join(Tokeniser()(text))


@given(st.text(max_size=40))
def test_every_non_space_character_is_in_exactly_one_token(text):
    normalised = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\u02bc", "'").lower()
    assert "".join(Tokeniser()(text)) == "".join(normalised.split())


def test_tokeniser_options_validated_and_json_round_trip():
    tok = Tokeniser(lowercase=False, mode="whitespace")
    assert Tokeniser.from_json(json.loads(json.dumps(tok.to_json()))) == tok
    assert tok.to_json() == {"lowercase": False, "mode": "whitespace"}
    with pytest.raises(
        OptionError, match=r"Tokeniser\(mode\): expected one of 'words', 'whitespace', 'clitics', got 'chars'"
    ):
        Tokeniser(mode="chars")
    with pytest.raises(CheckpointError, match="tokeniser JSON"):
        Tokeniser.from_json({"lowercase": "yes", "mode": "words"})


LISTS = [["the", "dog", "sat"], ["the", "cat", "sat", "down"], ["a", "dog", "the"]]


def test_vocab_frequency_order_ties_by_token_and_specials_first():
    v = Vocab.build(LISTS)
    # the: 3; dog, sat: 2; a, cat, down: 1 (ties by token)
    assert v.tokens == ["<pad>", "<unk>", "the", "dog", "sat", "a", "cat", "down"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id, len(v)) == (0, 1, None, None, 8)
    assert Vocab.build(LISTS[::-1]).tokens == v.tokens  # independent of the texts' order
    assert v["cat"] == 6 and v["zebra"] == 1 and "cat" in v and "zebra" not in v


def test_vocab_min_freq_max_size_and_bos_eos():
    assert Vocab.build(LISTS, min_freq=2).tokens == ["<pad>", "<unk>", "the", "dog", "sat"]
    assert Vocab.build(LISTS, max_size=4).tokens == ["<pad>", "<unk>", "the", "dog"]  # specials count
    v = Vocab.build(LISTS, min_freq=2, bos_eos=True)
    assert v.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "the", "dog", "sat"]
    assert (v.bos_id, v.eos_id, v.num_specials) == (2, 3, 4)
    assert Vocab.build([["<pad>", "<unk>", "x", "<pad>"]]).tokens == ["<pad>", "<unk>", "x"]
    with pytest.raises(OptionError, match=r"Vocab.build\(max_size\): expected an integer >= 4, got 3"):
        Vocab.build(LISTS, max_size=3, bos_eos=True)
    with pytest.raises(OptionError, match=r"min_freq\): expected an integer >= 1, got 0"):
        Vocab.build(LISTS, min_freq=0)


def test_encode_decode():
    v = Vocab.build(LISTS, bos_eos=True)
    ids = v.encode(["the", "zebra", "sat"], bos=True, eos=True)
    assert ids.dtype == np.int64 and ids.tolist() == [2, 4, 1, 6, 3]
    assert [a.tolist() for a in v.encode_all([["dog"], []])] == [[5], []]
    assert v.decode([2, 4, 1, 6, 3, 5, 5]) == ["the", "<unk>", "sat"]  # stops at <eos>
    assert v.decode(np.array([4, 0, 0])) == ["the"]
    with pytest.raises(OptionError, match=r"Vocab.decode\(ids\): expected ids in \[0, 10\), got 10"):
        v.decode([4, 10])
    with pytest.raises(OptionError, match="Build it with bos_eos=True"):
        Vocab.build(LISTS).encode(["the"], eos=True)


def test_vocab_json_and_file_round_trip(tmp_path):
    v = Vocab.build(LISTS + [["naïve", "日本"]], min_freq=1, max_size=20)
    again = Vocab.from_json(json.loads(json.dumps(v.to_json())))
    assert again == v and again.tokens == v.tokens and (again.min_freq, again.max_size) == (1, 20)
    v.save(tmp_path / "vocab.json")
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded.tokens == v.tokens and loaded["日本"] == v["日本"]
    assert json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))["format"] == "yetztml-vocab"


def test_vocab_refuses_other_versions_and_damaged_files(tmp_path):
    obj = Vocab.build(LISTS).to_json()
    with pytest.raises(CheckpointError, match="expected 1, got 2. It was written by another version"):
        Vocab.from_json({**obj, "version": 2})
    with pytest.raises(CheckpointError, match=r"expected a list starting \['<pad>', '<unk>'\]"):
        Vocab.from_json({**obj, "tokens": ["the", "<pad>", "<unk>"]})
    (tmp_path / "v.json").write_text('{"format": "yetztml-vocab", "tok')
    with pytest.raises(
        CheckpointError, match=r"v\.json: expected a vocabulary JSON file, got JSONDecodeError"
    ):
        Vocab.load(tmp_path / "v.json")


GLOVE = "the 0.5 -1 2\ndog 1e-1 0 0\nthe 9 9 9\nnew york 1 2 3\n<unk> 7 7 7\nzebra 3 3 3\n"


def test_word_vectors_found_rows_first_occurrence_and_words_with_spaces(tmp_path):
    v = Vocab(["<pad>", "<unk>", "the", "dog", "cat", "new york"])
    p = tmp_path / "glove.txt"
    p.write_text(GLOVE)
    wv = read_word_vectors(p, v, 3)
    assert wv.matrix.dtype == np.float32 and wv.matrix.shape == (6, 3)
    np.testing.assert_array_equal(
        wv.matrix,
        np.array([[0, 0, 0], [0, 0, 0], [0.5, -1, 2], [0.1, 0, 0], [0, 0, 0], [1, 2, 3]], np.float32),
    )
    assert wv.found.tolist() == [False, False, True, True, False, True] and wv.found_count == 3
    gz = tmp_path / "glove.txt.gz"
    gz.write_bytes(gzip.compress(("4 3\n" + GLOVE).encode()))  # a word2vec header line
    wv64 = read_word_vectors(gz, v, 3, dtype=np.float64)
    assert wv64.matrix.dtype == np.float64 and wv64.found_count == 3 and wv64.matrix[3, 0] == 0.1


def test_word_vectors_errors_name_the_line(tmp_path):
    v = Vocab(["<pad>", "<unk>", "the"])
    p = tmp_path / "g.txt"
    p.write_text(GLOVE)
    with pytest.raises(DataError) as err:
        read_word_vectors(p, v, 2)
    assert str(err.value) == (
        f"{p}, line 1: expected a word and 2 numbers, got 4 fields. "
        "Pass the file's dimension as dim (this line suggests 3)."
    )
    p.write_text("the 1 2 3\nthe 1 x 3\n")
    assert read_word_vectors(p, v, 3).found_count == 1  # a later duplicate is not parsed
    p.write_text("dog 1 2 3\nthe 1 x 3\n")
    with pytest.raises(DataError, match=r"g\.txt, line 2: expected 3 numbers after the word"):
        read_word_vectors(p, v, 3)
    p.write_text("3 50\nthe 1 2 3\n")
    with pytest.raises(DataError, match=r"line 1: expected vectors of dimension 3, got a header saying 50"):
        read_word_vectors(p, v, 3)
    p.write_text("the nan 2 3\n")
    with pytest.raises(DataError, match=r"line 1: expected finite numbers, got NaN or inf"):
        read_word_vectors(p, v, 3)
