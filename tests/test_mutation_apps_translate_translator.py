"""yetztml.apps.translate.translator on a tiny seeded model built here (no training): the source encoding,
translations against :func:`decode` one sentence at a time (the configuration's beam, length penalty and
maximum output, batching, the cut count, attention weights only when asked), perplexity against the
teacher-forced log-likelihood of each sentence alone, BLEU's settings, ``evaluate``'s record, and every
refusal of ``load_translator`` word for word."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from yetztml.apps.translate import TranslateConfig, Translator, bleu, decode, load_translator
from yetztml.apps.translate.loss import word_log_probs
from yetztml.core.errors import CheckpointError
from yetztml.data import Tokeniser, Vocab
from yetztml.models import save as save_model
from yetztml.models.seq2seq import Seq2Seq, pack_pairs

TOKENISER = Tokeniser(lowercase=True, mode="whitespace")
SRC = Vocab.build(TOKENISER.tokenise(["a b c d"]))  # <pad> <unk> a b c d
TGT = Vocab.build(TOKENISER.tokenise(["x y z"]), bos_eos=True)  # <pad> <unk> <bos> <eos> x y z
TEXTS = ["a b", "c", "d a b c", "b b", "", "zz a"]


def make(seed: int = 7, **changes) -> Translator:
    base = dict(hidden=4, embed_dim=3, dropout=0.0, beam=3, max_output=6, max_length=3, dtype="float64",
                bidirectional=False, attention="bahdanau", cell="gru")
    cfg = TranslateConfig(**{**base, **changes})
    model = Seq2Seq(len(SRC), len(TGT), cfg.embed_dim, cfg.hidden, cell=cfg.cell, attention=cfg.attention,
                    bidirectional=cfg.bidirectional, dropout=cfg.dropout, seed=seed, dtype=np.dtype(cfg.dtype))
    return Translator(model, SRC, TGT, TOKENISER, cfg)


def alone(tr: Translator, ids: np.ndarray, beam: int, max_output: int):
    """decode of one sentence by itself: (text, cut, attention)."""
    got = decode(tr.model, ids[:, None], np.array([ids.size]), TGT.bos_id, TGT.eos_id, beam=beam,
                 max_output=max_output, length_penalty=tr.config.length_penalty)
    return " ".join(TGT.decode(got.ids[0])), got.stopped, got.attention[0]


def test_encode_lowercases_cuts_and_gives_empty_sources_one_unk():
    got = make().encode(["A b ZZ d", "", "a b c d", "c"])
    assert [g.tolist() for g in got] == [[2, 3, 1], [1], [2, 3, 4], [4]]


def test_the_configuration_gives_beam_length_penalty_and_maximum_output():
    tr = make()
    assert tr.translate(TEXTS) == (["y y", "z z x <unk> z x", "y y y", "y y y", "<unk> y <unk> <unk> <unk> <unk>",
                                    "y y"], 2)
    assert tr.translate(TEXTS, beam=1) == (["y", "z x <unk> <unk> z <unk>", "y y y", "y y y", "y y y y y", "y"], 1)
    assert tr.translate(TEXTS, max_output=2) == (["y", "z x", "y y", "y y", "y y", "y"], 4)
    raw = make(length_penalty=0.0)
    assert raw.translate(TEXTS) == (["", "z z x <unk> z x", "y y", "y y", "<unk> y <unk> <unk> <unk> <unk>", ""], 2)
    assert make(max_output=2).translate(TEXTS) == (["y", "z x", "y y", "y y", "y y", "y"], 4)
    assert make(beam=1).translate(TEXTS)[0][0] == "y"


@pytest.mark.parametrize("beam, max_output", [(1, 6), (3, 6), (3, 2), (2, 4)])
def test_batched_translations_equal_each_sentence_decoded_alone(beam, max_output):
    tr = make()
    ids = tr.encode(TEXTS)
    expected = [alone(tr, s, beam, max_output) for s in ids]
    for batch_size in (64, 4, 1):
        hyps, stopped, weights = tr.translate_ids(ids, beam, batch_size=batch_size, max_output=max_output,
                                                  attention=True)
        assert hyps == [e[0] for e in expected]
        assert stopped == sum(e[1] for e in expected)
        for w, e in zip(weights, expected, strict=True):
            np.testing.assert_allclose(w[:, : e[2].shape[1]], e[2], rtol=0, atol=1e-13)
            assert np.all(w[:, e[2].shape[1]:] == 0)
    assert tr.translate_ids(ids, beam, max_output=max_output)[2] == [None] * len(ids)


def test_more_than_64_sentences_are_all_translated_and_counted():
    tr = make()
    hyps, stopped, weights = tr.translate_ids(tr.encode(TEXTS * 12))
    assert hyps == tr.translate(TEXTS)[0] * 12
    assert stopped == 24
    assert weights == [None] * 72


def test_sentences_go_to_the_decoder_64_at_a_time_shortest_first(monkeypatch):
    import yetztml.apps.translate.translator as translator_module

    widths, firsts = [], []
    real = translator_module.decode

    def spy(model, src, lengths, *args, **kwargs):
        widths.append(src.shape[1])
        firsts.append(lengths.tolist())
        return real(model, src, lengths, *args, **kwargs)

    monkeypatch.setattr(translator_module, "decode", spy)
    tr = make()
    tr.translate_ids(tr.encode(TEXTS * 12))
    assert widths == [64, 8]
    assert firsts[0][:24] == [1] * 24 and firsts[1] == [3] * 8  # sorted by length: 1-word first, 3-word last
    widths.clear()
    tr.translate_ids(tr.encode(TEXTS), batch_size=4)
    assert widths == [4, 2]


def test_perplexity_goes_64_sentences_at_a_time(monkeypatch):
    tr = make()
    widths = []
    real = tr.model.forward

    def spy(x, **kwargs):
        widths.append(x.shape[1])
        return real(x, **kwargs)

    monkeypatch.setattr(tr.model, "forward", spy)
    tr.perplexity(tr.encode(TEXTS * 12), REFS * 12)
    assert widths == [64, 8]


def test_attention_weights_are_the_words_by_the_source_positions():
    tr = make()
    _, _, weights = tr.translate_ids(tr.encode(["a b", "c"]), beam=1, attention=True)
    assert weights[0].shape == (2, 2)  # "y" and <eos> over the two source words
    assert weights[1].shape == (6, 2)  # cut at 6 words; the source padded to the longer one
    np.testing.assert_allclose(weights[0].sum(axis=1), 1.0, atol=1e-14)
    np.testing.assert_array_equal(weights[1][:, 1], 0.0)


REFS = ["x y", "z", "", "y y y", "X", "z x"]


def teacher_forced(tr: Translator, ids: np.ndarray, reference: str) -> tuple[float, int]:
    """−Σ log p of the reference words and <eos>, one sentence alone; and their number."""
    words = TGT.encode(reference.split(), bos=True, eos=True)
    x, lengths = pack_pairs(ids[:, None], np.array([ids.size]), words[:-1, None], np.array([words.size - 1]))
    log_p = word_log_probs(tr.model.forward(x, lengths=lengths).outputs)[:, 0]
    return -float(sum(log_p[t, w] for t, w in enumerate(words[1:]))), words.size - 1


def test_perplexity_is_the_exp_of_the_mean_word_loss():
    tr = make()
    ids = tr.encode(TEXTS)
    parts = [teacher_forced(tr, s, r.lower()) for s, r in zip(ids, REFS, strict=True)]
    expected = np.exp(sum(p[0] for p in parts) / sum(p[1] for p in parts))
    assert sum(p[1] for p in parts) == 15
    for batch_size in (64, 4, 1):
        assert tr.perplexity(ids, REFS, batch_size=batch_size) == pytest.approx(expected, rel=1e-13)
    assert tr.perplexity(ids, REFS) == pytest.approx(6.749344240757748, rel=1e-13)


def test_perplexity_of_one_empty_reference_is_that_of_its_eos():
    tr = make()
    loss, count = teacher_forced(tr, np.array([2]), "")
    assert count == 1
    assert tr.perplexity(tr.encode(["a"]), [""]) == pytest.approx(np.exp(loss), rel=1e-13)
    assert tr.perplexity(tr.encode(["a"]), [""]) == pytest.approx(6.350034154442331, rel=1e-13)
    assert tr.perplexity([], []) == 1.0


def test_perplexity_uses_the_model_in_evaluation_mode():
    tr = make(dropout=0.5)
    ids = tr.encode(TEXTS)
    tr.model.train(True)
    first = tr.perplexity(ids, REFS)
    assert tr.model.training is False
    tr.model.train(True)
    assert tr.perplexity(ids, REFS) == first
    loss = sum(teacher_forced(tr, s, r.lower())[0] for s, r in zip(ids, REFS, strict=True))
    assert first == pytest.approx(np.exp(loss / 15), rel=1e-13)


def test_translating_leaves_the_model_in_evaluation_mode_and_is_unchanged_by_dropout():
    tr = make(dropout=0.5)
    tr.model.train(True)
    first = tr.translate(TEXTS)
    tr.model.train(True)
    assert tr.translate(TEXTS) == first


def test_evaluate_records_every_value():
    tr = make()
    got = tr.evaluate(TEXTS, REFS)
    hyps = tr.translate(TEXTS)[0]
    assert got == {"bleu": bleu(hyps, ["x y", "z", "", "y y y", "x", "z x"]),
                   "perplexity": tr.perplexity(tr.encode(TEXTS), REFS), "beam": 3, "sentences": 6,
                   "stopped_at_max_length": 2, "max_output": 6,
                   "bleu_kind": "sacrebleu corpus BLEU, tokenize='none', on lowercased tokenised text"}
    assert got["bleu"] == pytest.approx(12.404207500850907, abs=1e-12)
    greedy = tr.evaluate(TEXTS, REFS, beam=1)
    assert greedy["beam"] == 1
    assert greedy["stopped_at_max_length"] == 1
    assert greedy["bleu"] == bleu(tr.translate(TEXTS, beam=1)[0], ["x y", "z", "", "y y y", "x", "z x"])


def test_bleu_takes_the_words_as_they_are_split():
    hyps, refs = ["a,b c", "x.y z w"], ["a , b c", "x . y z w"]
    assert bleu(hyps, refs) == 0.0  # "a,b" is one word; the 13a tokeniser would split it and score 100
    assert bleu(["the cat sat on the mat", "a dog"], ["the cat sat on a mat", "a dog ran"]) == pytest.approx(
        49.27817047811719, abs=1e-12)


def test_bleu_does_not_warn_about_tokenised_periods(caplog):
    with caplog.at_level(logging.WARNING):
        assert bleu(["a b c d ."] * 100, ["a b c d ."] * 100) == pytest.approx(100.0, abs=1e-9)
    assert caplog.records == []


def save(tr: Translator, folder, **meta_changes) -> None:
    meta = {"task": "translate", "config": tr.config.to_json(), "tokeniser": tr.tokeniser.to_json(),
            "src_vocab_file": "src_vocab.json", "tgt_vocab_file": "tgt_vocab.json", **meta_changes}
    save_model(tr.model, folder, metadata={k: v for k, v in meta.items() if v is not None})
    tr.src_vocab.save(folder / "src_vocab.json")
    tr.tgt_vocab.save(folder / "tgt_vocab.json")


def test_a_saved_translator_loads_back_as_it_was(tmp_path):
    tr = make(length_penalty=0.0, max_output=4)
    save(tr, tmp_path / "m")
    back = load_translator(tmp_path / "m")
    assert back.config == tr.config
    assert back.src_vocab.tokens == SRC.tokens and back.tgt_vocab.tokens == TGT.tokens
    assert back.tokeniser.to_json() == TOKENISER.to_json()
    assert back.translate(TEXTS) == tr.translate(TEXTS)


def test_load_refuses_another_task_or_model_word_for_word(tmp_path):
    tr = make()
    folder = str(tmp_path / "m")
    save(tr, tmp_path / "m", task="text-classification")
    expected = (f"model directory {folder!r}: expected a translation model (task 'translate'), got task "
                "'text-classification'. Train one with `yetztml text train --task translate`.")
    with pytest.raises(CheckpointError) as err:
        load_translator(folder)
    assert str(err.value) == expected
    save_model(tr.model, tmp_path / "n")
    with pytest.raises(CheckpointError, match=r"expected a translation model \(task 'translate'\), got task None\."):
        load_translator(tmp_path / "n")
    from yetztml.layers import Linear

    save_model(Linear(2, 2, seed=0), tmp_path / "o", metadata={"task": "translate"})
    with pytest.raises(CheckpointError, match=r"got task 'translate'\. Train one"):
        load_translator(tmp_path / "o")


def test_load_passes_on_the_refusal_of_a_missing_or_damaged_vocabulary(tmp_path):
    tr = make()
    folder = tmp_path / "m"
    save(tr, folder)
    (folder / "tgt_vocab.json").write_text("")
    with pytest.raises(CheckpointError) as err:
        load_translator(folder)
    assert str(err.value) == (f"{folder / 'tgt_vocab.json'}: expected a vocabulary JSON file, got JSONDecodeError: "
                              "Expecting value: line 1 column 1 (char 0)")
    (folder / "src_vocab.json").unlink()
    with pytest.raises(CheckpointError, match=r"src_vocab\.json: expected a vocabulary JSON file, got FileNotFound"):
        load_translator(folder)


@pytest.mark.parametrize("damage, detail", [
    ("no config", "KeyError: 'config'"),
    ("no tokeniser", "KeyError: 'tokeniser'"),
    ("config not an object", "TypeError: 'int' object is not iterable"),
])
def test_load_refuses_unreadable_vocabularies_and_metadata_word_for_word(tmp_path, damage, detail):
    tr = make()
    folder = tmp_path / "m"
    save(tr, folder)
    doc = json.loads((folder / "model.json").read_text())
    if damage == "config not an object":
        doc["metadata"]["config"] = 5
    else:
        del doc["metadata"][damage.split()[1]]
    (folder / "model.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError) as err:
        load_translator(folder)
    assert str(err.value) == (f"model directory {str(folder)!r}: expected readable vocabularies and metadata, got "
                              f"{detail}. Train the model again.")


@pytest.mark.parametrize("change, detail", [
    ({"colour": 1}, "OptionError: translation configuration: expected keys among"),
    ({"hidden": 0}, "OptionError: --hidden: expected an integer >= 1, got 0"),
])
def test_load_refuses_a_configuration_the_options_refuse(tmp_path, change, detail):
    """An unknown key or a refused value in the saved configuration names the model directory."""
    tr = make()
    folder = tmp_path / "m"
    save(tr, folder, config={**tr.config.to_json(), **change})
    with pytest.raises(CheckpointError) as err:
        load_translator(folder)
    assert str(err.value).startswith(f"model directory {str(folder)!r}: expected readable vocabularies and "
                                     f"metadata, got {detail}")
    assert str(err.value).endswith(". Train the model again.")


def test_load_refuses_vocabularies_of_other_sizes_word_for_word(tmp_path):
    tr = make()
    folder = tmp_path / "m"
    save(tr, folder)
    Vocab(["<pad>", "<unk>", "a"]).save(folder / "src_vocab.json")
    with pytest.raises(CheckpointError) as err:
        load_translator(folder)
    assert str(err.value) == f"model directory {str(folder)!r}: expected vocabularies of 6 and 7 words, got 3 and 7"
    save(tr, folder)
    Vocab.build([["x"]], bos_eos=True).save(folder / "tgt_vocab.json")
    with pytest.raises(CheckpointError) as err:
        load_translator(folder)
    assert str(err.value) == f"model directory {str(folder)!r}: expected vocabularies of 6 and 7 words, got 6 and 5"
