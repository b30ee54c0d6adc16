"""yetztml.apps.text.classifier on a tiny seeded model built here (no training): the encoding of empty texts,
probabilities against the softmax of the network's own logits one text at a time (batching, order, truncation
to ``max_length``, float32 networks, the training flag kept), predictions, the confidently wrong examples of
``evaluate`` in their stable order, and every refusal of ``load_classifier`` word for word."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yetztml.apps.text import TextConfig, build_classifier, load_classifier
from yetztml.apps.text.classifier import Classifier
from yetztml.core.errors import CheckpointError
from yetztml.data import LabelIndex, Tokeniser, Vocab
from yetztml.models import save as save_model


def make(dtype: str = "float64", max_length: int = 3, lowercase: bool = True) -> Classifier:
    """Vocabulary <pad> <unk> a b c d e, classes mid < neg < pos, hidden 3, the last state pooled, seed 0."""
    cfg = TextConfig(hidden=3, embed_dim=3, layers=1, dropout=0.0, bidirectional=False, max_length=max_length,
                     min_freq=1, pool="last", dtype=dtype, lowercase=lowercase)
    tok = Tokeniser(lowercase=lowercase)
    vocab = Vocab.build(tok.tokenise(["a b c d e"]))
    labels = LabelIndex(["mid", "neg", "pos"])
    return Classifier(build_classifier(cfg, len(vocab), 3), vocab, tok, labels, cfg)


def reference(clf: Classifier, ids: np.ndarray) -> np.ndarray:
    """Softmax, in float64, of the logits of one sequence alone (cut to max_length)."""
    ids = ids[: clf.config.max_length]
    logits = clf.model.forward(ids[:, None], lengths=np.array([ids.size])).outputs[0][0].astype(np.float64)
    z = np.exp(logits - logits.max())
    return z / z.sum()


def test_encode_gives_empty_texts_one_unk():
    clf = make()
    got = clf.encode(["", "a b zz", "!!", "E"])
    assert [g.tolist() for g in got] == [[1], [2, 3, 1], [1, 1], [6]]
    assert all(g.dtype == np.int64 for g in got)


def test_probabilities_are_the_softmax_of_each_text_alone_in_order():
    clf = make()
    texts = ["a b", "c d e", "c d e a b", "", "e"]
    got = clf.probabilities(texts, batch_size=2)
    expected = np.array([reference(clf, ids) for ids in clf.encode(texts)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    # the seeded values: the third text is the second cut to max_length = 3 words
    np.testing.assert_allclose(got[0], [0.43518181746704254, 0.24459218480329664, 0.32022599772966087], atol=1e-15)
    np.testing.assert_array_equal(got[1], got[2])
    np.testing.assert_allclose(got[3], [0.4418253527241136, 0.2508128103656204, 0.307361836910266], atol=1e-15)
    assert not np.array_equal(got[0], got[4])
    np.testing.assert_allclose(clf.probabilities(texts), got, rtol=0, atol=1e-15)


def test_a_long_text_is_cut_to_max_length():
    long_clf, short_clf = make(max_length=5), make(max_length=2)
    full = long_clf.probabilities(["a b c d e"])[0]
    np.testing.assert_allclose(full, reference(long_clf, np.array([2, 3, 4, 5, 6])), atol=1e-15)
    cut = short_clf.probabilities(["a b c d e"])[0]
    np.testing.assert_allclose(cut, reference(short_clf, np.array([2, 3])), atol=1e-15)
    assert np.abs(cut - full).max() > 1e-3


def test_more_than_256_texts_are_all_scored():
    clf = make()
    texts = ["a", "b c"] * 150
    got = clf.probabilities(texts)
    np.testing.assert_allclose(got[::2], np.tile(reference(clf, np.array([2])), (150, 1)), atol=1e-15)
    np.testing.assert_allclose(got[1::2], np.tile(reference(clf, np.array([3, 4])), (150, 1)), atol=1e-15)


def test_large_logits_give_the_softmax_of_each_row():
    clf = make()
    clf.model.params["5.weight"][...] *= 1e4  # logits of hundreds to two thousand, far apart between rows
    texts = ["a b", "c d e", "e", "b", "a"]
    got = clf.probabilities(texts)
    assert np.isfinite(got).all()
    expected = np.array([reference(clf, ids) for ids in clf.encode(texts)])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got[4], [0.99996454906, 3.545093e-05, 3.894e-103], rtol=1e-3)
    assert [label for label, _ in clf.predict(texts)] == ["pos", "pos", "pos", "pos", "mid"]


def test_the_batch_size_and_max_length_reach_the_batches(monkeypatch):
    import yetztml.apps.text.classifier as classifier_module

    seen = []
    real = classifier_module.Batches

    def spy(sequences, **options):
        seen.append(options)
        return real(sequences, **options)

    monkeypatch.setattr(classifier_module, "Batches", spy)
    clf = make(max_length=2)
    clf.probabilities(["a b c"] * 3, batch_size=2)
    clf.probabilities(["a"])
    clf.probabilities_of([np.array([2, 3])])
    assert seen == [{"batch_size": 2, "shuffle": False, "max_length": 2}] + [
        {"batch_size": 256, "shuffle": False, "max_length": 2}] * 2


def test_a_float32_network_has_float64_probabilities_of_its_logits():
    clf = make(dtype="float32")
    got = clf.probabilities(["a b", "c", "d e a"])
    assert got.dtype == np.float64
    expected = np.array([reference(clf, ids) for ids in clf.encode(["a b", "c", "d e a"])])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_no_text_gives_an_empty_table_and_no_prediction():
    clf = make()
    got = clf.probabilities([])
    assert got.shape == (0, 3)
    assert clf.probabilities_of([]).shape == (0, 3)
    assert clf.predict([]) == []


@pytest.mark.parametrize("training", [True, False])
def test_the_training_flag_is_kept(training):
    clf = make()
    clf.model.train(training)
    clf.probabilities(["a"])
    assert clf.model.training is training
    clf.model.train(True)
    clf.probabilities([])
    assert clf.model.training is True


def test_the_network_is_scored_in_evaluation_mode():
    cfg = TextConfig(hidden=3, embed_dim=3, layers=1, dropout=0.5, bidirectional=False, min_freq=1, dtype="float64")
    tok = Tokeniser()
    vocab = Vocab.build(tok.tokenise(["a b c"]))
    clf = Classifier(build_classifier(cfg, len(vocab), 2), vocab, tok, LabelIndex(["n", "p"]), cfg)
    clf.model.train(True)
    first = clf.probabilities(["a b c"] * 4)
    np.testing.assert_array_equal(first, clf.probabilities(["a b c"] * 4))
    np.testing.assert_array_equal(first[0], first[3])


def test_predict_gives_the_label_of_the_largest_probability():
    clf = make()
    got = clf.predict(["a b", "e"])
    assert [label for label, _ in got] == ["mid", "mid"]
    np.testing.assert_array_equal(got[1][1], clf.probabilities(["e"])[0])
    clf.model.params["5.bias"][...] += [0.0, 0.0, 5.0]  # the output layer's bias now favours "pos"
    assert [label for label, _ in clf.predict(["a b", "e"])] == ["pos", "pos"]


def test_evaluate_lists_the_confidently_wrong_in_a_stable_order():
    clf = make()
    texts = ["a b", "c d e", "e", "b", "a"] * 8
    labels = ["neg"] * 39 + ["mid"]  # every prediction is "mid": 39 wrong
    result = clf.evaluate(texts, labels)
    assert result["accuracy"] == pytest.approx(1 / 40, abs=1e-15)
    assert result["confusion"] == [[1, 0, 0], [39, 0, 0], [0, 0, 0]]
    wrong = result["confidently_wrong"]
    probs = clf.probabilities(texts)[:, 0]
    # P(mid): "a" 0.4400 > "a b" 0.4352 > "b" 0.4275 > "e" 0.4274 > "c d e" 0.4195; the last "a" is right
    assert probs[4] == pytest.approx(0.4400117589975126, abs=1e-15)
    assert probs[0] == pytest.approx(0.43518181746704254, abs=1e-15)
    assert len(wrong) == 10
    assert [w["text"] for w in wrong] == ["a"] * 7 + ["a b"] * 3
    assert wrong[0] == {"text": "a", "label": "neg", "predicted": "mid", "probability": float(probs[4])}
    assert wrong[9] == {"text": "a b", "label": "neg", "predicted": "mid", "probability": float(probs[0])}
    everything = clf.evaluate(texts, labels, worst=40)["confidently_wrong"]
    assert [w["text"] for w in everything] == ["a"] * 7 + ["a b"] * 8 + ["b"] * 8 + ["e"] * 8 + ["c d e"] * 8
    top = clf.evaluate(texts, labels, worst=3)["confidently_wrong"]
    assert [w["text"] for w in top] == ["a"] * 3


def test_ties_keep_the_order_of_the_texts():
    clf = make()
    texts = ["a b", "c d e", "e", "b", "a"] * 8
    labels = ["neg"] * 40
    wrong = clf.evaluate(texts, labels, worst=12)["confidently_wrong"]
    got = [(w["text"], w["probability"]) for w in wrong]
    probs = clf.probabilities(texts)[:, 0]
    assert got == [("a", float(probs[4]))] * 8 + [("a b", float(probs[0]))] * 4
    # the same texts at other places: each copy is one entry, the first copies first
    texts2 = [t if i % 2 else t.upper() for i, t in enumerate(texts)]  # lowercased: the same probabilities
    wrong2 = clf.evaluate(texts2, labels, worst=40)["confidently_wrong"]
    assert [w["text"] for w in wrong2][:8] == ["A", "a", "A", "a", "A", "a", "A", "a"]


def test_evaluate_scores_every_text_and_lists_ten_by_default():
    clf = make()
    texts = ["a", "a b", "b", "e", "c d e"] * 3
    result = clf.evaluate(texts, ["neg"] * 15)
    assert result["examples"] == 15 and result["accuracy"] == 0.0
    assert len(result["confidently_wrong"]) == 10
    assert [w["text"] for w in result["confidently_wrong"]] == ["a"] * 3 + ["a b"] * 3 + ["b"] * 3 + ["e"]


def test_evaluate_lists_nothing_when_every_prediction_is_right():
    clf = make()
    result = clf.evaluate(["a", "b"], ["mid", "mid"])
    assert result["accuracy"] == 1.0
    assert result["confidently_wrong"] == []


def save(clf: Classifier, folder, **meta_changes) -> None:
    meta = {"task": "text-classification", "config": clf.config.to_json(), "tokeniser": clf.tokeniser.to_json(),
            "labels": clf.labels.to_json(), "vocab_file": "vocab.json", **meta_changes}
    save_model(clf.model, folder, metadata={k: v for k, v in meta.items() if v is not None})
    clf.vocab.save(folder / "vocab.json")


def test_a_saved_classifier_loads_back_as_it_was(tmp_path):
    clf = make(max_length=2, lowercase=False)
    save(clf, tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    assert back.config == clf.config
    assert back.vocab.tokens == clf.vocab.tokens
    assert back.labels.classes == clf.labels.classes
    assert back.tokeniser.to_json() == clf.tokeniser.to_json()
    texts = ["a b c", "E d", ""]
    np.testing.assert_array_equal(back.probabilities(texts), clf.probabilities(texts))
    assert [t.tolist() for t in back.encode(["A a"])] == [[1, 2]]


def test_load_refuses_another_task_word_for_word(tmp_path):
    clf = make()
    save(clf, tmp_path / "m", task="translate")
    folder = str(tmp_path / "m")
    with pytest.raises(CheckpointError) as err:
        load_classifier(folder)
    assert str(err.value) == (f"model directory {folder!r}: expected a model written by `yetztml text train` "
                              "(task 'text-classification'), got task 'translate'")
    save_model(clf.model, tmp_path / "n")
    with pytest.raises(CheckpointError, match=r"expected a model written by .*, got task None$"):
        load_classifier(tmp_path / "n")


def test_load_refuses_a_missing_vocabulary_word_for_word(tmp_path):
    clf = make()
    save(clf, tmp_path / "m")
    (tmp_path / "m" / "vocab.json").unlink()
    (tmp_path / "m" / "vocab.json").mkdir()
    folder = str(tmp_path / "m")
    with pytest.raises(CheckpointError) as err:
        load_classifier(folder)
    assert str(err.value) == f"model directory {folder!r}: expected a vocab.json file, got none"


@pytest.mark.parametrize("key, value, detail", [
    ("tokeniser", None, "'tokeniser'"),
    ("labels", None, "'labels'"),
    ("config", None, "'config'"),
    ("config", 5, "'int' object is not iterable"),
])
def test_load_refuses_missing_or_malformed_metadata_word_for_word(tmp_path, key, value, detail):
    clf = make()
    save(clf, tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    if value is None:
        del doc["metadata"][key]
    else:
        doc["metadata"][key] = value
    (tmp_path / "m" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError) as err:
        load_classifier(tmp_path / "m")
    assert str(err.value) == (f"{tmp_path / 'm' / 'model.json'}: expected the text classifier's metadata, "
                              f"got a missing or malformed entry ({detail})")


def test_load_refuses_a_config_of_the_wrong_type(tmp_path):
    clf = make()
    save(clf, tmp_path / "m", config=["cell"])
    with pytest.raises(CheckpointError, match=r"got a missing or malformed entry \(.*\)$"):
        load_classifier(tmp_path / "m")


@pytest.mark.parametrize("change, detail", [
    ({"colour": 1}, "text configuration: expected keys among"),
    ({"hidden": 0}, "--hidden: expected an integer >= 1, got 0"),
])
def test_load_refuses_a_configuration_the_options_refuse(tmp_path, change, detail):
    """An unknown key or a refused value in the saved configuration names model.json (a CheckpointError),
    not the command-line option alone."""
    clf = make()
    save(clf, tmp_path / "m", config={**clf.config.to_json(), **change})
    with pytest.raises(CheckpointError) as err:
        load_classifier(tmp_path / "m")
    assert str(err.value).startswith(f"{tmp_path / 'm' / 'model.json'}: expected the text classifier's metadata, "
                                     f"got a missing or malformed entry ({detail}")


def test_load_refuses_a_vocabulary_or_labels_of_another_size_word_for_word(tmp_path):
    clf = make()
    folder = str(tmp_path / "m")
    save(clf, tmp_path / "m")
    Vocab(["<pad>", "<unk>", "a", "b"]).save(tmp_path / "m" / "vocab.json")
    with pytest.raises(CheckpointError) as err:
        load_classifier(folder)
    assert str(err.value) == (f"model directory {folder!r}: expected 7 words and 3 classes, "
                              "got 4 words in vocab.json and 3 labels")
    save(clf, tmp_path / "m", labels=LabelIndex(["neg", "pos"]).to_json())
    with pytest.raises(CheckpointError) as err:
        load_classifier(folder)
    assert str(err.value) == (f"model directory {folder!r}: expected 7 words and 3 classes, "
                              "got 7 words in vocab.json and 2 labels")
