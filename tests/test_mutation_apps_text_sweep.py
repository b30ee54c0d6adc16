"""yetztml.apps.text.sweep: what ``train_trial`` gives ``train_classifier`` (the configuration, the texts, a
temporary folder removed afterwards, no progress), every value of its record, its wall time, its refusal of a
second trial, and ``summarize``; one real tiny run agrees with ``train_classifier`` itself."""

from __future__ import annotations

import os

import numpy as np
import pytest

import yetztml.apps.text.sweep as text_sweep
import yetztml.apps.text.train as text_train
from yetztml.apps.text import TextConfig, train_classifier
from yetztml.apps.text.sweep import COLUMNS, REQUIRED, summarize, train_trial
from yetztml.core.errors import OptionError
from yetztml.data import LabelledTexts


class Clock:
    """perf_counter advancing by a fixed step per call."""

    def __init__(self, start: float, step: float) -> None:
        self.t, self.step = start - step, step

    def perf_counter(self) -> float:
        self.t += self.step
        return self.t


RESULT = {
    "config": {"seed": 4},
    "val_accuracy": np.float64(0.75),
    "val_macro_f1": np.float64(0.5),
    "test_accuracy": 0.25,
    "test_macro_f1": 0.125,
    "best_epoch": np.int64(2),
    "stopped_early": np.bool_(True),
    "epochs": [{"epoch": 1, "train_loss": 0.9, "val_accuracy": 0.5, "val_loss": 0.8, "seconds": 1.0},
               {"epoch": 2, "train_loss": 0.7, "val_accuracy": 0.75, "val_loss": 0.6, "seconds": 1.0},
               {"epoch": 3, "train_loss": 0.6, "val_accuracy": 0.5, "val_loss": 0.7, "seconds": 1.0}],
    "data": {"examples": {"train": 8, "validation": 4, "test": 4}},
    "vocabulary": 11,
    "weights": 321,
    "timing": {"words_per_second": 1234.5},
}


@pytest.fixture
def recorded(monkeypatch):
    seen: dict = {}

    def fake(config, train, folder, val=None, test=None, progress=True):
        seen.update(config=config, train=train, folder=folder, val=val, test=test, progress=progress,
                    existed=os.path.isdir(folder))
        return seen.get("result", RESULT)

    monkeypatch.setattr(text_sweep, "train_classifier", fake)
    monkeypatch.setattr(text_sweep, "time", Clock(100.0, 2.5))
    return seen


def test_the_record_holds_every_value_of_the_run(recorded):
    train, val, test = (LabelledTexts(["a"], ["x"], n) for n in ("t.csv", "v.csv", "s.csv"))
    record = train_trial(0, TextConfig(hidden=5).to_json(), train, val, test)
    assert record == {
        "trial": 0, "seed": 4, "val_accuracy": 0.75, "val_macro_f1": 0.5, "test_accuracy": 0.25,
        "test_macro_f1": 0.125, "best_epoch": 2, "epochs_run": 3, "stopped_early": True,
        "epochs": [{"epoch": 1, "train_loss": 0.9, "val_accuracy": 0.5, "val_loss": 0.8},
                   {"epoch": 2, "train_loss": 0.7, "val_accuracy": 0.75, "val_loss": 0.6},
                   {"epoch": 3, "train_loss": 0.6, "val_accuracy": 0.5, "val_loss": 0.7}],
        "examples": {"train": 8, "validation": 4, "test": 4}, "vocabulary": 11, "weights": 321,
        "words_per_second": 1234.5, "wall_s": 2.5}
    assert [type(record[k]) for k in ("val_accuracy", "val_macro_f1", "best_epoch", "stopped_early")] == [
        float, float, int, bool]
    for key, kind in REQUIRED.items():
        assert isinstance(record[key], kind)
    assert recorded["config"] == TextConfig(hidden=5)
    assert (recorded["train"], recorded["val"], recorded["test"]) == (train, val, test)
    assert recorded["progress"] is False
    assert recorded["existed"]
    assert os.path.basename(recorded["folder"]).startswith("yetztml-sweep-")
    assert not os.path.exists(recorded["folder"])


def test_a_run_without_test_data_records_none(recorded):
    recorded["result"] = {k: v for k, v in RESULT.items() if not k.startswith("test_")}
    record = train_trial(0, TextConfig().to_json(), LabelledTexts(["a"], ["x"], "t.csv"))
    assert record["test_accuracy"] is None and record["test_macro_f1"] is None
    assert recorded["val"] is None and recorded["test"] is None


def test_a_second_trial_is_refused_word_for_word(recorded):
    with pytest.raises(OptionError) as err:
        train_trial(1, TextConfig().to_json(), LabelledTexts(["a"], ["x"], "t.csv"))
    assert str(err.value) == "text train trial: expected trial 0 (one run per point; vary seed for more), got 1"
    assert "config" not in recorded


def test_summarize_takes_the_first_record_and_the_total_wall_time():
    assert summarize([]) == dict.fromkeys(COLUMNS)
    records = [{"val_accuracy": 0.5, "val_macro_f1": 0.25, "test_accuracy": None, "best_epoch": 3, "epochs_run": 4,
                "wall_s": 1.5, "seed": 0},
               {"val_accuracy": 0.9, "val_macro_f1": 0.8, "test_accuracy": 0.7, "best_epoch": 1, "epochs_run": 1,
                "wall_s": 2.0}]
    assert summarize(records) == {"val_accuracy": 0.5, "val_macro_f1": 0.25, "test_accuracy": None,
                                  "test_macro_f1": None, "best_epoch": 3, "epochs_run": 4, "wall_s_total": 3.5}
    assert COLUMNS == ("val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1", "best_epoch", "epochs_run",
                       "wall_s_total")


def test_a_real_trial_agrees_with_train_classifier(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    rows = [" ".join(rng.choice(["a", "the", "film", "plot"], 3)) + (" great" if i % 2 else "") for i in range(40)]
    data = LabelledTexts(rows, ["pos" if i % 2 else "neg" for i in range(40)], "d.csv")
    cfg = TextConfig(hidden=3, embed_dim=3, epochs=2, batch_size=8, lr=0.2, dropout=0.0, min_freq=1,
                     bidirectional=False)
    monkeypatch.setattr(text_train, "time", Clock(0.0, 0.001))
    record = train_trial(0, cfg.to_json(), data)
    monkeypatch.setattr(text_train, "time", Clock(0.0, 0.001))
    result = train_classifier(cfg, data, tmp_path / "run", progress=False)
    assert record["val_accuracy"] == result["val_accuracy"]
    assert record["words_per_second"] == result["timing"]["words_per_second"]
    assert record["epochs"] == [{k: e[k] for k in ("epoch", "train_loss", "val_accuracy", "val_loss")}
                                for e in result["epochs"]]
    assert (record["epochs_run"], record["best_epoch"], record["vocabulary"]) == (2, result["best_epoch"], 7)
