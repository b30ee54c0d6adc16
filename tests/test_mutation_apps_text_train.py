"""yetztml.apps.text.train (what `yetztml text train` and `demo sarcasm` run) on tiny data made here: the
splits and their names, every value of ``result.json`` and of the files beside it (a counting clock makes the
timings exact), what the Trainer is given, the log lines and the progress text, patience, the refusals of a
run directory word for word, ``force``, and the resume of a run interrupted after the epoch that stopped it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import yetztml.apps.text.train as text_train
from run_recording import record_run
from yetztml.apps.text import TextConfig, load_classifier, train_classifier
from yetztml.core.errors import CheckpointError, DataError, OptionError
from yetztml.core.results import versions
from yetztml.data import LabelledTexts
from yetztml.learning.schedules import DecayPerSequence
from yetztml.models import load as load_model

WORDS = ["a", "the", "film", "plot", "old", "new"]


def texts(n: int = 60, path: str = "d.csv", seed: int = 0) -> LabelledTexts:
    """Three words of WORDS; the odd examples ('pos') have 'great' as their second word."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        words = [str(w) for w in rng.choice(WORDS, 3)]
        if i % 2:
            words.insert(1, "great")
        rows.append(" ".join(words))
        labels.append("pos" if i % 2 else "neg")
    return LabelledTexts(rows, labels, path)


def config(**changes) -> TextConfig:
    base = {"hidden": 3, "embed_dim": 3, "epochs": 4, "batch_size": 8, "lr": 0.2, "dropout": 0.0,
            "patience": 5, "min_freq": 1, "bidirectional": False, "layers": 1}
    return TextConfig(**{**base, **changes})


@pytest.fixture
def recorded(monkeypatch):
    """The run's clock made exact, and the Trainer it builds recorded with its options and progress text."""
    return record_run(monkeypatch, text_train)


def untimed(epochs):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in epochs]


def test_a_seeded_run_writes_every_value(tmp_path, recorded):
    cfg = config()
    lines: list[str] = []
    out = tmp_path / "run"
    result = train_classifier(cfg, texts(), out, progress=False, log=lines.append)
    assert result["task"] == "text-classification" and result["config"] == cfg.to_json()
    assert result["data"] == {
        "train": "d.csv (train split)", "validation": "d.csv (validation split)", "test": "d.csv (test split)",
        "split": "stratified 80/10/10 split of --data", "examples": {"train": 48, "validation": 6, "test": 6},
        "classes": {"neg": 30, "pos": 30}, "truncated_train": 0, "max_length": 60}
    assert (result["vocabulary"], result["weights"]) == (9, 131)
    # seeded: the validation accuracy rises at epoch 4 only; the clock gives 1 ms per reading
    assert untimed(result["epochs"]) == [
        {"epoch": 1, "train_loss": pytest.approx(1.438447, abs=1e-6), "val_accuracy": 0.5,
         "val_loss": pytest.approx(0.805409, abs=1e-6)},
        {"epoch": 2, "train_loss": pytest.approx(0.954950, abs=1e-6), "val_accuracy": 0.5,
         "val_loss": pytest.approx(0.720556, abs=1e-6)},
        {"epoch": 3, "train_loss": pytest.approx(0.787553, abs=1e-6), "val_accuracy": 0.5,
         "val_loss": pytest.approx(0.644018, abs=1e-6)},
        {"epoch": 4, "train_loss": pytest.approx(0.582503, abs=1e-6), "val_accuracy": 1.0,
         "val_loss": pytest.approx(0.361358, abs=1e-6)}]
    # readings: start 1, the run's clock 2, the progress text 3, the validations 4 to 7
    assert [e["seconds"] for e in result["epochs"]] == pytest.approx([0.003, 0.004, 0.005, 0.006])
    assert (result["best_epoch"], result["stopped_early"]) == (4, False)
    # 24 steps of 6 batches: 48 texts, 3.5 words each on average, 168 words per step over 0.006 s
    assert result["timing"] == pytest.approx(
        {"seconds": 0.008, "training_seconds_this_run": 0.006, "words_per_second": 24 * 28 / 0.006})
    assert result["versions"] == versions() and result["references"] == text_train.REFERENCES
    assert (result["val_accuracy"], result["val_macro_f1"]) == (1.0, 1.0)
    assert result["validation"]["examples"] == 6 and result["validation"]["confusion"] == [[3, 0], [0, 3]]
    assert (result["test_accuracy"], result["test_macro_f1"]) == (5 / 6, pytest.approx(0.828571, abs=1e-6))
    assert result["test"]["examples"] == 6 and result["test"]["confusion"] == [[2, 1], [0, 3]]
    # the progress text after the run: the last epoch's accuracy, words over the readings 2 to 10 (now)
    assert recorded["options"]["status"]() == "val acc 1.0000  84,000 words/s"
    assert lines == [
        "epoch 1/4: train loss 1.4384, validation accuracy 0.5000, loss 0.8054  (best)",
        "epoch 2/4: train loss 0.9550, validation accuracy 0.5000, loss 0.7206",
        "epoch 3/4: train loss 0.7876, validation accuracy 0.5000, loss 0.6440",
        "epoch 4/4: train loss 0.5825, validation accuracy 1.0000, loss 0.3614  (best)",
    ]
    # the files: checkpoint and best/ gone; config.json the signature; history.json the epochs
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "history.json", "model.json", "result.json", "vocab.json", "weights.npz"]
    assert json.loads((out / "config.json").read_text()) == {"config": cfg.to_json(), "data": {
        "data": "d.csv", "data_examples": 60, "val": None, "val_examples": 0, "test": None, "test_examples": 0}}
    assert json.loads((out / "history.json").read_text()) == {"epochs": result["epochs"]}
    assert json.loads((out / "result.json").read_text()) == json.loads(json.dumps(result))
    metadata = load_model(out).metadata
    assert metadata == {"task": "text-classification", "config": cfg.to_json(),
                        "tokeniser": {"lowercase": True, "mode": "words"},
                        "labels": metadata["labels"], "vocab_file": "vocab.json"}
    classifier = load_classifier(out)
    assert list(classifier.labels.classes) == ["neg", "pos"] and len(classifier.vocab) == 9
    # the weights of epoch 4 (seeded): one of the eight first texts wrong ('a a the')
    predicted = [label for label, _ in classifier.predict(texts(8).texts)]
    assert predicted == ["neg", "pos", "pos", "pos"] + ["neg", "pos"] * 2


def test_the_trainer_is_given_the_configuration_and_the_progress_text(tmp_path, recorded):
    cfg = config(epochs=2, clip_norm=0.75, seed=4)
    train_classifier(cfg, texts(), tmp_path / "run", progress=False)
    options = recorded["options"]
    assert (options["loss"], options["clip_norm"], options["progress"], options["seed"]) == (
        "cross_entropy", 0.75, False, 4)
    assert (options["checkpoint"], options["checkpoint_every"]) == (tmp_path / "run" / "checkpoint.npz", 6)
    assert options["optimiser"].lr == 0.2 and type(options["optimiser"]).__name__ == "Adam"
    assert [cb.__name__ for cb in options["callbacks"]] == ["end_of_epoch"]
    assert recorded["status_at_start"] == "0 words/s"
    # after 12 steps of 28 words: the last validation's accuracy and the words per second of the clock
    # readings: start 1, the run's clock 2, the progress text 3, validations 4 and 5, the end 6 and 7; now 8
    assert options["status"]() == f"val acc 1.0000  {12 * 28 / 0.006:,.0f} words/s" == "val acc 1.0000  56,000 words/s"
    train_classifier(cfg, texts(), tmp_path / "shown")  # a bar by default (silent off a terminal)
    assert recorded["options"]["progress"] is True


def test_lr_decay_multiplies_the_rate_by_its_value_per_epoch_text_by_text(tmp_path, recorded):
    train_classifier(config(epochs=1), texts(), tmp_path / "constant", progress=False)
    assert recorded["options"]["schedule"] is None  # 1.0: the trainer's constant rate
    cfg = config(epochs=2, lr_decay=0.5)
    rates: list[float] = []
    real_step = text_train.Adam.step

    def step(self, grads, **kw):
        rates.append(self.lr)
        return real_step(self, grads, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_train.Adam, "step", step)
        train_classifier(cfg, texts(), tmp_path / "run", progress=False)
    schedule = recorded["options"]["schedule"]
    assert schedule == DecayPerSequence(0.5 ** (1 / 48))  # 48 training texts in the 80/10/10 split
    # 12 updates of batches of 8 texts: before update u, 8u texts are done, so the rate is 0.2 * 0.5^(8u/48)
    assert rates == pytest.approx([0.2 * 0.5 ** (8 * u / 48) for u in range(12)], rel=1e-12)
    assert rates[6] == pytest.approx(0.1, rel=1e-12)  # the second epoch starts at half the rate
    assert recorded["trainer"].clock.sequences == 96
    with pytest.raises(OptionError, match="--lr-decay"):
        config(lr_decay=1.5)
    with pytest.raises(OptionError, match="--lr-decay"):
        config(lr_decay=0.0)


def test_a_test_file_without_validation_splits_the_training_data_90_10(tmp_path, recorded):
    test = texts(10, "t.csv", seed=1)
    result = train_classifier(config(epochs=1), texts(), tmp_path / "run", test=test, progress=False)
    assert result["data"] == {
        "train": "d.csv (train split)", "validation": "d.csv (validation split)", "test": "t.csv",
        "split": "stratified 90/10 split of --data for validation; --test given",
        "examples": {"train": 54, "validation": 6, "test": 10}, "classes": {"neg": 30, "pos": 30},
        "truncated_train": 0, "max_length": 60}
    assert result["test"]["examples"] == 10 and result["test_accuracy"] == result["test"]["accuracy"]
    assert result["test_macro_f1"] == result["test"]["macro_f1"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"] == {
        "data": "d.csv", "data_examples": 60, "val": None, "val_examples": 0, "test": "t.csv", "test_examples": 10}


def test_files_given_are_used_as_they_are(tmp_path, recorded):
    val, test = texts(8, "v.csv", seed=2), texts(6, "t.csv", seed=3)
    result = train_classifier(config(epochs=1), texts(20), tmp_path / "run", val=val, test=test, progress=False)
    assert result["data"]["split"] == "files given"
    named = (result["data"]["train"], result["data"]["validation"], result["data"]["test"])
    assert named == ("d.csv", "v.csv", "t.csv")
    assert result["data"]["examples"] == {"train": 20, "validation": 8, "test": 6}
    assert result["validation"]["examples"] == 8 and result["test"]["examples"] == 6
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"] == {
        "data": "d.csv", "data_examples": 20, "val": "v.csv", "val_examples": 8, "test": "t.csv", "test_examples": 6}
    alone = train_classifier(config(epochs=1), texts(20), tmp_path / "new" / "alone", val=val, progress=False)
    assert (alone["data"]["test"], alone["data"]["examples"]["test"]) == (None, 0)
    assert not {"test", "test_accuracy", "test_macro_f1"} & set(alone)
    assert alone["data"]["split"] == "files given"


def test_patience_stops_the_run_at_the_epoch_it_names(tmp_path, recorded):
    lines: list[str] = []
    result = train_classifier(config(lr=1e-12, epochs=6, patience=2), texts(), tmp_path / "run", progress=False,
                              log=lines.append)
    assert [e["epoch"] for e in result["epochs"]] == [1, 2, 3]  # accuracy never better than epoch 1's
    assert [e["val_accuracy"] for e in result["epochs"]] == [0.5, 0.5, 0.5]
    assert (result["best_epoch"], result["stopped_early"]) == (1, True)
    assert [line.endswith("(best)") for line in lines] == [True, False, False]
    assert lines[2].startswith("epoch 3/6: train loss ")


def test_max_length_truncation_and_empty_texts(tmp_path, recorded):
    data = texts(20)
    data.texts[0] = "   "  # no token at all: one <unk>
    result = train_classifier(config(epochs=1, max_length=2), data, tmp_path / "run", val=texts(4, "v.csv"),
                              progress=False)
    # 19 texts of 3 or 4 words are cut to 2; the empty one is one <unk>: 39 words in 3 steps
    assert (result["data"]["truncated_train"], result["data"]["max_length"]) == (19, 2)
    assert result["timing"]["words_per_second"] == pytest.approx(3 * 13 / 0.003)
    assert result["epochs"][0]["train_loss"] == pytest.approx(0.746856, abs=1e-6)  # seeded, padded batches
    assert result["vocabulary"] == 9


@pytest.mark.parametrize("changes, words, tokeniser", [
    # <pad>, <unk>, the seven words of texts() and 'rare' (twice): 'The' (twice) a word of its own
    ({"min_freq": 2, "lowercase": False}, 11, {"lowercase": False, "mode": "words"}),
    ({"min_freq": 3}, 9, {"lowercase": True, "mode": "words"}),  # 'rare' left out
    ({"max_vocab": 5}, 5, {"lowercase": True, "mode": "words"}),  # <pad>, <unk> and the three most frequent
])
def test_the_vocabulary_follows_min_freq_max_vocab_and_case(tmp_path, recorded, changes, words, tokeniser):
    data = texts(20)
    data.texts[0] = "The rare film"
    data.texts[2] = "The rare plot"
    result = train_classifier(config(epochs=1, **changes), data, tmp_path / "run", val=texts(4, "v.csv"),
                              progress=False)
    assert result["vocabulary"] == words
    classifier = load_classifier(tmp_path / "run")
    assert classifier.tokeniser.to_json() == tokeniser and len(classifier.vocab) == words


def test_one_batch_an_epoch_names_each_epoch(tmp_path, recorded):
    lines: list[str] = []
    result = train_classifier(config(epochs=2, batch_size=64), texts(), tmp_path / "run", progress=False,
                              log=lines.append)
    assert [e["epoch"] for e in result["epochs"]] == [1, 2] and recorded["options"]["checkpoint_every"] == 1
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]


def test_padded_batches_train_with_their_lengths(tmp_path, recorded):
    data = texts(20)
    data.texts[0], data.texts[1] = "a", "the great film plot old new a the film"  # one word and nine in a batch
    result = train_classifier(config(epochs=1), data, tmp_path / "run", val=texts(4, "v.csv"), progress=False)
    assert result["epochs"][0]["train_loss"] == pytest.approx(0.781157, abs=1e-6)  # 0.780470 over the padding


def test_initial_vectors_reach_the_embedding(tmp_path, recorded):
    seen = []

    def vectors(vocab):
        seen.append(len(vocab))
        return np.arange(len(vocab) * 3, dtype=np.float64).reshape(len(vocab), 3) / 10

    train_classifier(config(epochs=1, lr=1e-12), texts(20), tmp_path / "run", val=texts(4, "v.csv"),
                     vectors=vectors, progress=False)
    assert seen == [9]
    weights = load_classifier(tmp_path / "run").model.parts[0].params
    (embedding,) = weights.values()
    expected = np.arange(27).reshape(9, 3) / 10
    expected[0] = 0.0  # the padding row
    np.testing.assert_allclose(embedding, expected, atol=1e-6)


def test_the_run_directory_refusals_word_for_word(tmp_path, recorded):
    file = tmp_path / "file"
    file.write_text("x")
    for force in (False, True):
        with pytest.raises(OptionError) as err:
            train_classifier(config(), texts(), file, progress=False, force=force)
        assert str(err.value) == (f"--out {str(file)!r}: expected a directory, got an existing file. "
                                  "Choose another --out.")
    out = tmp_path / "run"
    train_classifier(config(epochs=1), texts(), out, progress=False)
    with pytest.raises(OptionError) as err:
        train_classifier(config(epochs=1), texts(), out, progress=False)
    assert str(err.value) == (f"--out {str(out)!r}: expected a new directory or an interrupted run, got a finished "
                              "run. Use another --out, or --force to train again from scratch.")
    (out / "result.json").unlink()
    with pytest.raises(OptionError) as err:
        train_classifier(config(epochs=1), texts(), out, progress=False)
    assert str(err.value) == (f"--out {str(out)!r}: expected a new directory or an interrupted run, got a "
                              "directory holding a model. Use another --out, or --force.")
    (out / "model.json").unlink()
    assert train_classifier(config(epochs=1), texts(), out, progress=False)["best_epoch"] == 1  # no model: a new run
    (tmp_path / "empty").mkdir()
    assert train_classifier(config(epochs=1), texts(), tmp_path / "empty", progress=False)["best_epoch"] == 1


def test_another_configuration_is_refused_with_the_differing_values(tmp_path, recorded):
    out = tmp_path / "cut"

    def stop(line):
        if line.startswith("epoch 1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_classifier(config(epochs=2), texts(), out, progress=False, log=stop)
    with pytest.raises(CheckpointError) as err:
        train_classifier(config(epochs=2, hidden=4, lr=0.1), texts(40), out, progress=False)
    assert str(err.value) == (
        f"--out {str(out)!r}: expected an interrupted run of the same configuration, got a run with other values "
        "of ['data_examples', 'hidden', 'lr']. Rerun with that run's options to resume it, use another --out, "
        "or --force to start over.")
    (out / "config.json").unlink()  # no configuration recorded: every value differs from none
    with pytest.raises(CheckpointError, match=r"other values of \['batch_size', 'bidirectional', "):
        train_classifier(config(epochs=2), texts(), out, progress=False)


def test_bad_labels_are_named_with_their_file(tmp_path, recorded):
    with pytest.raises(DataError) as err:
        train_classifier(config(epochs=1), LabelledTexts(["a film", "the plot"], ["pos", "pos"], "one.csv"),
                         tmp_path / "one", progress=False)
    assert str(err.value) == ("one.csv: expected at least 2 classes, got 1 (every label is 'pos'). A classifier "
                              "learns from examples of each class; check the label column.")
    val = texts(4, "v.csv")
    val.labels[0] = "meh"
    with pytest.raises(DataError) as err:
        train_classifier(config(epochs=1), texts(20), tmp_path / "val", val=val, progress=False)
    assert str(err.value) == ("v.csv: expected labels among ['neg', 'pos'], got 'meh'. Every class must occur in "
                              "the training data.")
    assert not (tmp_path / "one").exists() and not (tmp_path / "val").exists()  # refused before anything is written


def test_force_starts_over_after_the_data_is_checked_and_keeps_other_files(tmp_path, recorded):
    out = tmp_path / "run"
    train_classifier(config(epochs=1), texts(), out, progress=False)
    for name in ("report.md", "learning-curves.png", "confusion.png", "checkpoint.npz", "notes.txt"):
        (out / name).write_text("x")
    (out / "best").mkdir()
    (out / "best" / "model.json").write_text("{}")
    one_class = LabelledTexts(["a film", "the plot"], ["pos", "pos"], "one.csv")
    with pytest.raises(Exception, match="at least 2 classes"):
        train_classifier(config(epochs=1), one_class, out, progress=False, force=True)
    assert (out / "result.json").is_file() and (out / "report.md").is_file()  # nothing removed yet
    result = train_classifier(config(epochs=2), texts(), out, progress=False, force=True)
    assert len(result["epochs"]) == 2
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "history.json", "model.json", "notes.txt", "result.json", "vocab.json", "weights.npz"]
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2


def test_force_removes_a_stale_best_model_and_copes_with_missing_files(tmp_path, recorded):
    out = tmp_path / "run"
    out.mkdir()
    (out / "result.json").write_text("{}")  # a finished run's file alone: every other file of a run is missing
    (out / "best").mkdir()
    (out / "best" / "stale.txt").write_text("x")

    def stop(line):
        raise KeyboardInterrupt  # after the first validation saved its model in best/

    with pytest.raises(KeyboardInterrupt):
        train_classifier(config(epochs=2), texts(), out, progress=False, force=True, log=stop)
    assert sorted(p.name for p in (out / "best").iterdir()) == ["model.json", "weights.npz"]
    assert not (out / "result.json").exists()
    assert len(train_classifier(config(epochs=1), texts(), tmp_path / "new", progress=False, force=True)["epochs"]) == 1


def _interrupt_at_the_end(monkeypatch, out, cfg):
    """Run until the model of the best epoch is to be restored (the checkpoint of the last step written)."""

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(text_train, "load_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(cfg, texts(), out, progress=False)
    monkeypatch.setattr(text_train, "load_model", load_model)
    assert (out / "checkpoint.npz").is_file() and not (out / "result.json").exists()


def test_a_run_stopped_by_patience_trains_no_further_when_resumed(tmp_path, monkeypatch, recorded):
    cfg = config(lr=1e-12, epochs=6, patience=2)
    straight = train_classifier(cfg, texts(), tmp_path / "whole", progress=False)
    _interrupt_at_the_end(monkeypatch, tmp_path / "cut", cfg)
    lines: list[str] = []
    resumed = train_classifier(cfg, texts(), tmp_path / "cut", progress=False, log=lines.append)
    assert lines == []  # nothing trained, nothing validated again
    assert recorded["trainer"].clock.step == 18
    assert untimed(resumed["epochs"]) == untimed(straight["epochs"])
    assert (resumed["best_epoch"], resumed["stopped_early"]) == (1, True)
    assert resumed["validation"] == straight["validation"]


def test_a_run_that_wrote_its_result_but_kept_its_checkpoint_is_resumed(tmp_path, monkeypatch, recorded):
    cfg = config(epochs=2)
    out = tmp_path / "cut"
    _interrupt_at_the_end(monkeypatch, out, cfg)
    (out / "result.json").write_text("{}")  # as if the process died between result.json and the checkpoint's removal
    resumed = train_classifier(cfg, texts(), out, progress=False)
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2] and recorded["trainer"].clock.step == 12
    assert json.loads((out / "result.json").read_text())["best_epoch"] == resumed["best_epoch"]
    assert not (out / "checkpoint.npz").exists()


def test_an_interrupted_run_written_before_lr_decay_existed_resumes(tmp_path, monkeypatch, recorded):
    cfg = config(epochs=2)
    straight = train_classifier(cfg, texts(), tmp_path / "whole", progress=False)
    out = tmp_path / "cut"
    _interrupt_at_the_end(monkeypatch, out, cfg)
    saved = json.loads((out / "config.json").read_text())
    del saved["config"]["lr_decay"], saved["config"]["tokenise"]  # as the code before the fields wrote it
    (out / "config.json").write_text(json.dumps(saved))
    assert TextConfig.LATER == {"lr_decay": 1.0, "tokenise": "words"}
    resumed = train_classifier(cfg, texts(), out, progress=False)
    assert untimed(resumed["epochs"]) == untimed(straight["epochs"])
    _interrupt_at_the_end(monkeypatch, tmp_path / "again", cfg)
    with pytest.raises(CheckpointError, match=r"other values of \['lr_decay'\]"):  # another value still differs
        train_classifier(config(epochs=2, lr_decay=0.5), texts(), tmp_path / "again", progress=False)


def test_a_run_interrupted_in_its_first_step_resumes_from_nothing(tmp_path, monkeypatch, recorded):
    cfg = config(epochs=2, patience=1)
    whole = train_classifier(cfg, texts(), tmp_path / "whole", progress=False)
    real = text_train.Trainer

    def interrupted(*args, **options):  # a Trainer whose first step is interrupted before it draws a batch
        trainer = real(*args, **options)

        def step():
            raise KeyboardInterrupt

        trainer._step = step
        return trainer

    monkeypatch.setattr(text_train, "Trainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(cfg, texts(), tmp_path / "cut", progress=False)
    assert (tmp_path / "cut" / "checkpoint.npz").is_file() and not (tmp_path / "cut" / "history.json").exists()
    monkeypatch.setattr(text_train, "Trainer", real)
    resumed = train_classifier(cfg, texts(), tmp_path / "cut", progress=False)
    assert untimed(resumed["epochs"]) == untimed(whole["epochs"])
    assert (resumed["best_epoch"], resumed["stopped_early"]) == (whole["best_epoch"], whole["stopped_early"])


def test_a_finished_training_without_its_history_is_refused(tmp_path, monkeypatch, recorded):
    cfg = config(epochs=1)
    out = tmp_path / "cut"
    _interrupt_at_the_end(monkeypatch, out, cfg)
    (out / "history.json").unlink()
    with pytest.raises(CheckpointError) as err:
        train_classifier(cfg, texts(), out, progress=False)
    assert str(err.value) == f"run in {str(out)!r}: expected at least one finished epoch, got none"


def test_an_epoch_recorded_before_its_checkpoint_is_recorded_once(tmp_path, recorded):
    cfg = config(epochs=3, patience=3)  # two epochs recorded at the crash: not yet patience's end
    whole = train_classifier(cfg, texts(), tmp_path / "whole", progress=False)

    out = tmp_path / "cut"

    def crash(line):
        if line.startswith("epoch 2/"):  # as if the process died after history.json, before the checkpoint
            (out / "older.npz").write_bytes((out / "checkpoint.npz").read_bytes())  # the one of epoch 1
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_classifier(cfg, texts(), out, progress=False, log=crash)
    (out / "older.npz").replace(out / "checkpoint.npz")
    assert len(json.loads((out / "history.json").read_text())["epochs"]) == 2
    resumed = train_classifier(cfg, texts(), tmp_path / "cut", progress=False)
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2, 3]
    assert untimed(resumed["epochs"]) == untimed(whole["epochs"])
    assert (resumed["best_epoch"], resumed["stopped_early"]) == (whole["best_epoch"], False)
