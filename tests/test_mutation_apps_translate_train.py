"""yetztml.apps.translate.train (what `text train --task translate` and `demo translate` run) on tiny parallel
text made here: every value of ``result.json`` and of the files beside it (a counting clock makes the timings
exact), what the Trainer is given, the log lines and the progress text, when validations happen (every
``val_every`` steps, at the last step, when time is up), what they measure (``val_limit``), the learning-rate
decay, patience, the refusals of a run directory word for word, ``force``, and the resume of a stopped run."""

from __future__ import annotations

import json

import numpy as np
import pytest

import yetztml.apps.translate.train as translate_train
from run_recording import Clock, record_run
from yetztml.apps.translate import TranslateConfig, load_translator, train_translator
from yetztml.apps.translate.loss import smoothed_cross_entropy
from yetztml.core.errors import CheckpointError, DataError, OptionError
from yetztml.core.results import versions
from yetztml.data import ParallelTexts
from yetztml.models import load as load_model

WORDS = [f"w{i}" for i in range(5)]


def pairs(n: int, name: str, seed: int) -> ParallelTexts:
    """Two or three words; the target is the source reversed and upper-cased."""
    rng = np.random.default_rng(seed)
    sources, targets = [], []
    for _ in range(n):
        words = [str(w) for w in rng.choice(WORDS, int(rng.integers(2, 4)))]
        sources.append(" ".join(words))
        targets.append(" ".join(w.upper() for w in words[::-1]))
    return ParallelTexts(sources, targets, f"{name}.src", f"{name}.tgt")


def config(**changes) -> TranslateConfig:
    base = {"hidden": 4, "embed_dim": 4, "dropout": 0.0, "lr": 0.05, "min_freq": 1, "lowercase": False, "beam": 2,
            "batch_size": 8, "epochs": 3, "max_output": 6, "dtype": "float64", "patience": 5,
            "init_range": None}  # the pinned numbers: PyTorch's initialisation
    return TranslateConfig(**{**base, **changes})


@pytest.fixture
def recorded(monkeypatch):
    """The run's clock made exact, and the Trainer it builds recorded with its options and progress text."""
    return record_run(monkeypatch, translate_train)


def close(got, expected) -> bool:
    """Equal, numbers to 1e-9 relative (the seeded values as this machine computes them)."""
    if isinstance(expected, dict):
        return (isinstance(got, dict) and got.keys() == expected.keys()
                and all(close(got[k], v) for k, v in expected.items()))
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(close, got, expected))
    if isinstance(expected, float):
        return got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    return got == expected and type(got) is type(expected)


def unclocked(checks):
    return [{k: v for k, v in c.items() if k != "minutes"} for c in checks]


def test_a_seeded_run_writes_every_value(tmp_path, recorded):
    cfg = config()
    val = pairs(6, "val", 1)
    val.sources[1] = "w1 w9 w4"  # a word never seen in training
    val.skipped_empty = 1  # as the reader counts them
    train = pairs(24, "train", 0)
    train.skipped_empty = 2
    lines: list[str] = []
    out = tmp_path / "run"
    result = train_translator(cfg, train, val, out, progress=False, log=lines.append)
    assert result["task"] == "translate" and result["config"] == cfg.to_json()
    assert result["data"] == {"src": "train.src", "tgt": "train.tgt", "pairs": 24, "val_src": "val.src",
                              "val_pairs": 6, "skipped_empty": 2, "val_skipped_empty": 1, "truncated_sources": 0,
                              "truncated_targets": 0}
    assert result["vocabulary"] == {"source": 7, "target": 9}  # 5 words + pad, unk; + bos, eos
    assert result["weights"] == 773
    assert close(result["checks"], CHECKS)
    assert (result["best_step"], result["stopped_early"]) == (9, False)
    assert close(result["validation"], VALIDATION)
    assert (result["val_bleu"], result["val_bleu_greedy"]) == (VALIDATION["beam"]["bleu"], VALIDATION["greedy"]["bleu"])
    # 3 epochs of 85 target words (<eos> counted); readings: start 1, clock 2, progress 3, checks 4-6, end 7-9
    assert result["timing"] == pytest.approx({"seconds": 0.008, "training_minutes": 0.005 / 60,
                                              "target_words_per_second": 3 * 85 / 0.006})
    assert result["versions"] == versions() and result["references"] == translate_train.REFERENCES
    assert close(result["examples"], EXAMPLES)
    assert lines == LINES
    # the progress text after the run: the last validation's BLEU (2.46, the earlier ones 1.61)
    assert recorded["options"]["status"]().startswith("val BLEU 2.46  ")
    assert sorted(p.name for p in out.iterdir()) == [
        "best", "config.json", "history.json", "model.json", "result.json", "src_vocab.json", "tgt_vocab.json",
        "weights.npz"]
    assert json.loads((out / "config.json").read_text()) == {"config": cfg.to_json(), "data": {
        "src": "train.src", "tgt": "train.tgt", "pairs": 24, "val_src": "val.src", "val_pairs": 6}}
    assert json.loads((out / "history.json").read_text()) == {"checks": result["checks"]}
    assert json.loads((out / "result.json").read_text()) == json.loads(json.dumps(result))
    assert load_model(out).metadata == {"task": "translate", "config": cfg.to_json(),
                                        "tokeniser": {"lowercase": False, "mode": "whitespace"},
                                        "src_vocab_file": "src_vocab.json", "tgt_vocab_file": "tgt_vocab.json"}
    translator = load_translator(out)
    assert (len(translator.src_vocab), len(translator.tgt_vocab)) == (7, 9)
    with np.load(out / "weights.npz") as weights:
        assert {str(w.dtype) for w in weights.values()} == {"float64"}




def test_the_trainer_is_given_the_configuration_and_the_progress_text(tmp_path, recorded):
    cfg = config(epochs=1, clip_norm=0.75, seed=4, label_smoothing=0.1, val_every=2)
    train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), tmp_path / "run", progress=False)
    options = recorded["options"]
    assert (options["loss"], options["gradient_options"], options["clip_norm"], options["progress"]) == (
        smoothed_cross_entropy, {"smoothing": 0.1}, 0.75, False)
    assert (options["checkpoint"], options["checkpoint_every"], options["seed"]) == (
        tmp_path / "run" / "checkpoint.npz", 2, 4)
    assert options["optimiser"].lr == 0.05 and type(options["optimiser"]).__name__ == "Adam"
    assert [cb.__name__ for cb in options["callbacks"]] == ["check"]
    assert recorded["status_at_start"] == "0 target words/s"
    # after 3 steps (85 target words): readings start 1, clock 2, progress 3, the checks of steps 2 and 3 at 4
    # and 5, the end 6 to 8, now 9
    text = options["status"]()
    bleu = json.loads((tmp_path / "run" / "history.json").read_text())["checks"][-1]["val_bleu"]
    assert text == f"val BLEU {bleu:.2f}  {85 / 0.007:,.0f} target words/s"
    train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), tmp_path / "shown")  # a bar by default
    assert recorded["options"]["progress"] is True


@pytest.mark.parametrize("val_every, epochs, steps", [
    (2, 2, [2, 4, 6]),  # 3 steps an epoch
    (2, 1, [2, 3]),  # the last step is validated too
    (10, 1, [3]),  # fewer steps than val_every: the last one
])
def test_validations_come_every_val_every_steps_and_after_the_last(tmp_path, recorded, val_every, epochs, steps):
    result = train_translator(config(epochs=epochs, val_every=val_every), pairs(24, "train", 0), pairs(6, "val", 1),
                              tmp_path / "run", progress=False)
    assert [c["step"] for c in result["checks"]] == steps
    assert [c["epoch"] for c in result["checks"]] == pytest.approx([s / 3 for s in steps])
    assert result["best_step"] in steps and result["stopped_early"] is False


def test_a_validation_measures_the_first_val_limit_pairs(tmp_path, recorded, monkeypatch):
    scored = []
    real = translate_train.bleu

    def bleu(hypotheses, references):
        scored.append(list(references))
        return real(hypotheses, references)

    monkeypatch.setattr(translate_train, "bleu", bleu)
    val = pairs(6, "val", 1)
    val.targets[0] = "W3  W2"  # the reference as tokenised
    result = train_translator(config(epochs=1, val_limit=2), pairs(24, "train", 0), val, tmp_path / "run",
                              progress=False)
    assert scored == [["W3 W2", "W4 W0 W0"]]
    translator = load_translator(tmp_path / "run")
    ppl = translator.perplexity(translator.encode(val.sources[:2]), val.targets[:2])
    assert result["checks"][0]["val_perplexity"] == pytest.approx(ppl, rel=1e-12)
    assert result["validation"]["greedy"]["sentences"] == 6  # the final measures take every pair
    scored.clear()
    train_translator(config(epochs=1, val_limit=50), pairs(24, "train", 0), val, tmp_path / "all", progress=False)
    assert len(scored[0]) == 6


def test_time_stops_the_run_at_the_validation_it_forces(tmp_path, recorded, monkeypatch):
    monkeypatch.setattr(translate_train, "time", Clock(6.0))  # a tenth of a minute per reading
    lines: list[str] = []
    result = train_translator(config(epochs=4, max_minutes=1.0), pairs(24, "train", 0), pairs(6, "val", 1),
                              tmp_path / "run", progress=False, log=lines.append)
    # readings: start 1, clock 2, progress 3; then per step one for the time, one per validation
    # readings: start 1, clock 2, progress 3; then one a step for the time, one a validation: the step at
    # minute 1.0 ends the run with a validation of its own
    assert [c["step"] for c in result["checks"]] == [3, 6, 7]
    assert [c["minutes"] for c in result["checks"]] == pytest.approx([0.5, 0.9, 1.1])
    assert (result["stopped_early"], result["timing"]["training_minutes"]) == (True, pytest.approx(1.2))
    assert result["best_step"] == 3  # every BLEU equal (seeded): the first is the best, its weights kept
    with np.load(tmp_path / "run" / "best" / "weights.npz") as best, np.load(tmp_path / "run" / "weights.npz") as final:
        assert all(np.array_equal(best[k], final[k]) for k in best.files)
    assert result["validation"]["greedy"]["perplexity"] == pytest.approx(result["checks"][0]["val_perplexity"])
    assert [line.split(": ")[0] for line in lines] == [
        "step 3 (epoch 1.00, 0.5 min)", "step 6 (epoch 2.00, 0.9 min)", "step 7 (epoch 2.33, 1.1 min)"]



def test_a_perplexity_plateau_decays_the_rate_and_patience_stops_the_run(tmp_path, recorded):
    lines: list[str] = []
    result = train_translator(config(epochs=2, val_every=1, lr=0.3, decay=0.5, patience=3), pairs(24, "train", 0),
                              pairs(6, "val", 1), tmp_path / "run", progress=False, log=lines.append)
    checks = result["checks"]
    # seeded: perplexity 8.58, 7.62, 5.49, then 6.16 and 5.52 (no lower than 5.49: the rate halves after each);
    # the best BLEU at step 2, three validations without a better one stop the run at step 5
    assert [round(c["val_perplexity"], 2) for c in checks] == [8.58, 7.62, 5.49, 6.16, 5.52]
    assert [c["lr"] for c in checks] == [0.3, 0.3, 0.3, 0.3, 0.15]
    assert recorded["trainer"].base_lr == pytest.approx(0.075)
    assert (result["best_step"], result["stopped_early"]) == (2, True)
    assert [line.endswith("(best)") for line in lines] == [True, True, False, False, False]
    assert lines[1] == "step 2 (epoch 0.67, 0.0 min): train loss 2.1261, validation BLEU 7.96, perplexity 7.62  (best)"


def test_truncation_empty_sources_float32_and_a_model_without_attention(tmp_path, recorded):
    train = pairs(24, "train", 0)
    train.sources[0] = "  "  # no word: one <unk>
    cfg = config(epochs=1, max_length=2, dtype="float32", attention="none", beam=1)
    result = train_translator(cfg, train, pairs(6, "val", 1), tmp_path / "run", progress=False)
    # 13 pairs of three words: their sources cut to two but the one emptied, every target cut (with <eos> kept)
    assert (result["data"]["truncated_sources"], result["data"]["truncated_targets"]) == (12, 13)
    assert result["checks"][0]["train_loss"] == pytest.approx(2.0542635, rel=1e-6)  # seeded, float32
    assert [e["attention"] for e in result["examples"]] == [None] * 4
    assert result["validation"]["beam"] == result["validation"]["greedy"] and result["validation"]["beam"]["beam"] == 1
    assert result["val_bleu"] == result["val_bleu_greedy"]
    with np.load(tmp_path / "run" / "weights.npz") as weights:
        assert {str(w.dtype) for w in weights.values()} == {"float32"}


def test_the_run_directory_refusals_word_for_word(tmp_path, recorded):
    train, val = pairs(24, "train", 0), pairs(6, "val", 1)
    file = tmp_path / "file"
    file.write_text("x")
    for force in (False, True):
        with pytest.raises(OptionError) as err:
            train_translator(config(), train, val, file, progress=False, force=force)
        assert str(err.value) == (f"--out {str(file)!r}: expected a directory, got an existing file. "
                                  "Choose another --out.")
    out = tmp_path / "run"
    train_translator(config(epochs=1), train, val, out, progress=False)
    finished = (f"--out {str(out)!r}: expected a new directory or an interrupted run, got a finished run. Use "
                "another --out, or --force to train again.")
    result = (out / "result.json").read_text()
    for gone in (None, "result.json", "model.json"):  # a model and a result, a model alone, a result alone
        if gone:
            (out / gone).unlink()
        if gone == "model.json":
            (out / "result.json").write_text(result)
        with pytest.raises(OptionError) as err:
            train_translator(config(epochs=1), train, val, out, progress=False)
        assert str(err.value) == finished
    (out / "result.json").unlink()
    assert len(train_translator(config(epochs=1), train, val, out, progress=False)["checks"]) == 1
    fresh = train_translator(config(epochs=1), train, val, tmp_path / "fresh", progress=False, force=True)
    assert len(fresh["checks"]) == 1  # force on a new folder: nothing to remove


@pytest.mark.parametrize("which", ["train", "val"])
def test_pairs_of_unequal_length_are_refused_before_anything_is_written(tmp_path, recorded, which):
    data = {"train": pairs(24, "train", 0), "val": pairs(6, "val", 1)}
    data[which].targets.pop()
    with pytest.raises(DataError) as err:
        train_translator(config(), data["train"], data["val"], tmp_path / "run", progress=False)
    n = len(data[which].sources)
    assert str(err.value) == (f"{which}.src and {which}.tgt: expected one target sentence per source sentence, got "
                              f"{n} and {n - 1}")
    assert not (tmp_path / "run").exists()


def test_an_interrupted_run_of_another_configuration_is_refused_and_force_starts_over(tmp_path, recorded):
    train, val = pairs(24, "train", 0), pairs(6, "val", 1)
    out = tmp_path / "cut"

    def stop(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_translator(config(epochs=2), train, val, out, progress=False, log=stop)
    refused = (f"--out {str(out)!r}: expected an interrupted run of the same configuration, got a run of another "
               "configuration or data. Rerun with that run's options, use another --out, or --force.")
    with pytest.raises(CheckpointError) as err:
        train_translator(config(epochs=3), train, val, out, progress=False)
    assert str(err.value) == refused
    with pytest.raises(CheckpointError) as err:
        train_translator(config(epochs=2), pairs(20, "train", 0), val, out, progress=False)
    assert str(err.value) == refused
    for name in ("report.md", "learning-curves.png", "attention.png", "result.json", "notes.txt"):
        (out / name).write_text("x")
    (out / "best" / "stale.txt").write_text("x")
    result = train_translator(config(epochs=1), train, val, out, progress=False, force=True)
    assert len(result["checks"]) == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "best", "config.json", "history.json", "model.json", "notes.txt", "result.json", "src_vocab.json",
        "tgt_vocab.json", "weights.npz"]
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 1
    assert sorted(p.name for p in (out / "best").iterdir()) == ["model.json", "weights.npz"]
    (out / "config.json").unlink()
    (out / "checkpoint.npz").write_bytes(b"")  # a checkpoint without its configuration: another run's
    with pytest.raises(CheckpointError) as err:
        train_translator(config(epochs=1), train, val, out, progress=False)
    assert str(err.value) == refused


def test_an_interrupted_run_resumes_where_it_was_with_its_minutes(tmp_path, recorded, monkeypatch):
    train, val = pairs(24, "train", 0), pairs(6, "val", 1)
    whole = train_translator(config(epochs=3), train, val, tmp_path / "whole", progress=False)
    out = tmp_path / "cut"

    def crash_at_the_second(line):
        if line.startswith("step 6 "):  # as if the process died after history.json, before the checkpoint
            (out / "older.npz").write_bytes((out / "checkpoint.npz").read_bytes())  # the one of step 3
            raise KeyboardInterrupt

    monkeypatch.setattr(translate_train, "time", Clock())
    with pytest.raises(KeyboardInterrupt):
        train_translator(config(epochs=3), train, val, out, progress=False, log=crash_at_the_second)
    (out / "older.npz").replace(out / "checkpoint.npz")
    recorded_before = json.loads((out / "history.json").read_text())["checks"]
    assert [c["step"] for c in recorded_before] == [3, 6]
    assert [c["minutes"] for c in recorded_before] == pytest.approx([0.002 / 60, 0.003 / 60])
    monkeypatch.setattr(translate_train, "time", Clock())
    resumed = train_translator(config(epochs=3), train, val, out, progress=False)
    assert [c["step"] for c in resumed["checks"]] == [3, 6, 9]  # step 6 validated again, recorded once
    assert unclocked(resumed["checks"]) == unclocked(whole["checks"])
    # the minutes of the run before (0.003) go on: readings start 1, clock 2, progress 3, checks 4 and 5, end 6
    assert [c["minutes"] for c in resumed["checks"]] == pytest.approx([0.002 / 60, 0.005 / 60, 0.006 / 60])
    assert resumed["timing"]["training_minutes"] == pytest.approx(0.007 / 60)
    with np.load(out / "weights.npz") as w1, np.load(tmp_path / "whole" / "weights.npz") as w2:
        assert all(np.array_equal(w1[k], w2[k]) for k in w2.files)


def _interrupt_at_the_end(monkeypatch, out, cfg):
    """Run until the model of the best validation is to be restored (the checkpoint of the last step written)."""

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(translate_train, "load_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), out, progress=False)
    monkeypatch.setattr(translate_train, "load_model", load_model)
    assert (out / "checkpoint.npz").is_file() and not (out / "result.json").exists()


def test_a_run_written_before_init_range_existed_is_read_as_pytorchs_initialisation(tmp_path, recorded, monkeypatch):
    cfg = config(epochs=2)  # init_range None: what runs before the option had
    straight = train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), tmp_path / "whole", progress=False)
    out = tmp_path / "cut"
    _interrupt_at_the_end(monkeypatch, out, cfg)
    saved = json.loads((out / "config.json").read_text())
    del saved["config"]["init_range"]  # as the code before the option wrote it
    (out / "config.json").write_text(json.dumps(saved))
    assert TranslateConfig.LATER == {"init_range": None}
    with pytest.raises(CheckpointError):  # today's default, U(-0.1, 0.1), is another run's
        train_translator(config(epochs=2, init_range=0.1), pairs(24, "train", 0), pairs(6, "val", 1), out,
                         progress=False)
    resumed = train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), out, progress=False)
    untimed = [[{k: v for k, v in c.items() if k != "minutes"} for c in r["checks"]] for r in (resumed, straight)]
    assert untimed[0] == untimed[1] and len(untimed[0]) == 2
    # a finished model directory of that time reads back with the initialisation its weights had
    meta = json.loads((out / "model.json").read_text())
    del meta["metadata"]["config"]["init_range"]
    (out / "model.json").write_text(json.dumps(meta))
    assert load_translator(out).config.init_range is None
    assert TranslateConfig.from_json({"hidden": 8}).init_range is None
    assert TranslateConfig().init_range == 0.1


@pytest.mark.parametrize("stop", ["patience", "time"])
def test_a_run_stopped_by_its_last_validation_trains_no_further_when_resumed(tmp_path, recorded, monkeypatch, stop):
    cfg = (config(epochs=2, val_every=1, lr=0.3, patience=3) if stop == "patience"
           else config(epochs=4, max_minutes=1.0))
    monkeypatch.setattr(translate_train, "time", Clock(6.0))
    straight = train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), tmp_path / "whole", progress=False)
    monkeypatch.setattr(translate_train, "time", Clock(6.0))
    _interrupt_at_the_end(monkeypatch, tmp_path / "cut", cfg)
    monkeypatch.setattr(translate_train, "time", Clock(6.0))
    lines: list[str] = []
    resumed = train_translator(cfg, pairs(24, "train", 0), pairs(6, "val", 1), tmp_path / "cut", progress=False,
                               log=lines.append)
    assert lines == []  # nothing trained, nothing validated again
    steps = 5 if stop == "patience" else 7
    assert recorded["trainer"].clock.step == steps and resumed["checks"][-1]["step"] == steps
    assert resumed["checks"] == straight["checks"]
    assert (resumed["best_step"], resumed["stopped_early"]) == (straight["best_step"], True)
    # the minutes before (those of the last validation) and two readings more: the progress text, the end
    minutes = straight["checks"][-1]["minutes"]
    assert resumed["timing"]["training_minutes"] == pytest.approx(minutes + 0.2)



def test_another_model_and_vocabulary_follow_their_configuration(tmp_path, recorded):
    train = pairs(24, "train", 0)
    train.sources[0], train.targets[0] = "w1 w8", "W8 W1"  # a word once on each side
    cfg = config(epochs=1, cell="gru", layers=2, bidirectional=False, attention="luong-dot", dropout=0.2, seed=3,
                 min_freq=2, tokenise="words", lowercase=True)
    out = tmp_path / "new" / "run"  # its folder made too
    result = train_translator(cfg, train, pairs(6, "val", 1), out, progress=False)
    assert result["vocabulary"] == {"source": 7, "target": 9}  # w8 / W8 (once) left out, lowercased
    assert result["weights"] == 573  # 453 with one encoder layer
    # seeded: 2.130058 without dropout, 2.137272 with seed 0
    assert result["checks"][0]["train_loss"] == pytest.approx(2.1404288, rel=1e-7)
    assert load_model(out).metadata["tokeniser"] == {"lowercase": True, "mode": "words"}
    assert load_translator(out).translate(["W1 w2"]) == ([""], 0)  # seeded: <eos> at once



def test_a_run_interrupted_in_its_first_step_resumes_from_nothing(tmp_path, recorded, monkeypatch):
    cfg = config(epochs=1, patience=1, max_minutes=100.0)
    train, val = pairs(24, "train", 0), pairs(6, "val", 1)
    whole = train_translator(cfg, train, val, tmp_path / "whole", progress=False)
    real = translate_train.Trainer

    def interrupted(*args, **options):  # a Trainer whose first step is interrupted before it draws a batch
        trainer = real(*args, **options)

        def step():
            raise KeyboardInterrupt

        trainer._step = step
        return trainer

    monkeypatch.setattr(translate_train, "Trainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_translator(cfg, train, val, tmp_path / "cut", progress=False)
    assert (tmp_path / "cut" / "checkpoint.npz").is_file() and not (tmp_path / "cut" / "history.json").exists()
    monkeypatch.setattr(translate_train, "Trainer", real)
    resumed = train_translator(cfg, train, val, tmp_path / "cut", progress=False)
    assert unclocked(resumed["checks"]) == unclocked(whole["checks"]) and len(resumed["checks"]) == 1



def test_a_resumed_run_before_patience_ends_trains_on(tmp_path, recorded):
    cfg = config(epochs=2, val_every=1, lr=0.3, patience=2)
    train, val = pairs(24, "train", 0), pairs(6, "val", 1)
    whole = train_translator(cfg, train, val, tmp_path / "whole", progress=False)
    assert [c["step"] for c in whole["checks"]] == [1, 2, 3, 4]  # the best BLEU at step 2, patience's end at 4

    def stop(line):
        if line.startswith("step 2 "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_translator(cfg, train, val, tmp_path / "cut", progress=False, log=stop)
    resumed = train_translator(cfg, train, val, tmp_path / "cut", progress=False)
    assert unclocked(resumed["checks"]) == unclocked(whole["checks"])
    assert (resumed["best_step"], resumed["stopped_early"]) == (2, True)



def test_the_second_validation_can_decay_the_rate(tmp_path, recorded):
    result = train_translator(config(epochs=2, val_every=1, lr=0.5, decay=0.5, patience=3), pairs(24, "train", 0),
                              pairs(6, "val", 1), tmp_path / "run", progress=False)
    # seeded: perplexity 9.41, then 14.96 (higher: the rate halves), 9.45 (higher than 9.41: halves again)
    assert [round(c["val_perplexity"], 2) for c in result["checks"]] == [9.41, 14.96, 9.45, 7.46]
    assert [c["lr"] for c in result["checks"]] == [0.5, 0.5, 0.25, 0.125]


# The seeded run's values (float64; a wrong split, seed, vocabulary or loss changes them all)
CHECKS = [{'step': 3,
  'epoch': 1.0,
  'minutes': 3.3333333333333335e-05,
  'train_loss': 2.168809029817126,
  'val_bleu': 1.608739146233707,
  'val_perplexity': 8.18076032210059,
  'lr': 0.05},
 {'step': 6,
  'epoch': 2.0,
  'minutes': 5e-05,
  'train_loss': 2.02747184610554,
  'val_bleu': 1.608739146233707,
  'val_perplexity': 7.275909827084044,
  'lr': 0.05},
 {'step': 9,
  'epoch': 3.0,
  'minutes': 6.666666666666667e-05,
  'train_loss': 1.8845504388273442,
  'val_bleu': 2.4620333186435355,
  'val_perplexity': 6.3675947230215435,
  'lr': 0.05}]
VALIDATION = {'greedy': {'bleu': 2.4620333186435355,
            'perplexity': 6.3675947230215435,
            'beam': 1,
            'sentences': 6,
            'stopped_at_max_length': 3,
            'max_output': 6,
            'bleu_kind': "sacrebleu corpus BLEU, tokenize='none', on lowercased tokenised text"},
 'beam': {'bleu': 0.0,
          'perplexity': 6.3675947230215435,
          'beam': 2,
          'sentences': 6,
          'stopped_at_max_length': 0,
          'max_output': 6,
          'bleu_kind': "sacrebleu corpus BLEU, tokenize='none', on lowercased tokenised text"}}
EXAMPLES = [{'source': 'w2 w3',
  'raw_source': 'w2 w3',
  'reference': 'W3 W2',
  'translation': 'W3 W3 W3 W3 W3 W3',
  'attention': [[0.4505, 0.5495],
                [0.5031, 0.4969],
                [0.5203, 0.4797],
                [0.5268, 0.4732],
                [0.5302, 0.4698],
                [0.5328, 0.4672]]},
 {'source': 'w1 <unk> w4',
  'raw_source': 'w1 w9 w4',
  'reference': 'W4 W0 W0',
  'translation': 'W3 W3 W3 W3 W3 W3',
  'attention': [[0.2949, 0.3203, 0.3847],
                [0.3399, 0.331, 0.3291],
                [0.3582, 0.3416, 0.3002],
                [0.3669, 0.3469, 0.2862],
                [0.3725, 0.3498, 0.2777],
                [0.3768, 0.3516, 0.2716]]},
 {'source': 'w1 w1 w4',
  'raw_source': 'w1 w1 w4',
  'reference': 'W4 W1 W1',
  'translation': 'W3 W3 W3',
  'attention': [[0.2956, 0.3221, 0.3823],
                [0.3333, 0.3466, 0.3201],
                [0.344, 0.3594, 0.2966],
                [0.3478, 0.3663, 0.2859]]},
 {'source': 'w1 w4',
  'raw_source': 'w1 w4',
  'reference': 'W4 W1',
  'translation': 'W3 W3 W3 W3',
  'attention': [[0.4536, 0.5464], [0.5138, 0.4862], [0.5407, 0.4593], [0.5538, 0.4462], [0.5622, 0.4378]]}]
LINES = ['step 3 (epoch 1.00, 0.0 min): train loss 2.1688, validation BLEU 1.61, perplexity 8.18  (best)',
 'step 6 (epoch 2.00, 0.0 min): train loss 2.0275, validation BLEU 1.61, perplexity 7.28',
 'step 9 (epoch 3.00, 0.0 min): train loss 1.8846, validation BLEU 2.46, perplexity 6.37  (best)']
