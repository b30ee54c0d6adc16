"""Resuming a checkpointed run: every field of the configuration fingerprint refuses a changed value, and
a resumed run equals the uninterrupted one exactly for every update mode and every counter a schedule reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.rnn import RNN
from yetztml.core.errors import CheckpointError
from yetztml.learning import SGD, Adam, Trainer, decay_per_sequence, decay_per_step
from yetztml.learning.losses import mse

T, B, I, H = 5, 3, 2, 3


class Source:
    """Seeded items (x, targets, mask) with a checkpointable generator; reads the trainer's generator too."""

    def __init__(self, inputs=I, outputs=H, seed=7):
        self.gen = np.random.default_rng(seed)
        self.inputs, self.outputs = inputs, outputs

    def __call__(self, rng):
        x = self.gen.standard_normal((T, B, self.inputs))
        targets = np.tanh(np.cumsum(x, axis=0))[:, :, :1] * rng.uniform(0.2, 0.8, (1, 1, self.outputs))
        mask = np.zeros((T, B), dtype=bool)
        mask[-1] = True
        mask[T // 2] = rng.random(B) < 0.5
        return x, targets, mask

    def get_state(self):
        return self.gen.bit_generator.state

    def set_state(self, state):
        self.gen.bit_generator.state = state


OPTIMISERS = {"adam": lambda params: Adam(params, lr=0.05), "sgd": lambda params: SGD(params, lr=0.05)}


def _rnn_trainer(path, optimiser="adam", loss="mse", method="bptt", update="batch", seed=0, **options):
    cell = RNN(I, H, seed=1)
    return Trainer(cell, Source(), optimiser=OPTIMISERS[optimiser](cell.params), loss=loss, method=method,
                   update=update, seed=seed, progress=False, checkpoint=path, **options)


# -- the fingerprint: a resume with another value of any field is refused, naming the field -----------------
@pytest.mark.parametrize(
    ("field", "changed", "detail"),
    [
        ("optimiser", {"optimiser": "sgd"}, "optimiser: checkpoint 'Adam', now 'SGD'"),
        ("loss", {"loss": "squared_error"}, "loss: checkpoint 'mse', now 'squared_error'"),
        ("method", {"method": "tbptt"}, "method: checkpoint 'bptt', now 'tbptt'"),
        ("update", {"update": "sequence"}, "update: checkpoint 'batch', now 'sequence'"),
        ("seed", {"seed": 1}, "seed: checkpoint 0, now 1"),
        ("schedule", {"schedule": decay_per_sequence(0.5)},
         "schedule: checkpoint 'Constant()', now 'DecayPerSequence(factor=0.5)'"),
        ("clip_value", {"clip_value": 2.0}, "clip_value: checkpoint None, now 2.0"),
        ("clip_norm", {"clip_norm": 1.5}, "clip_norm: checkpoint None, now 1.5"),
        ("gradient_options", {"gradient_options": {"truncate_recurrent": True}},
         "gradient_options: checkpoint {}, now {'truncate_recurrent': True}"),
    ],
)
def test_resume_refuses_a_changed_field(tmp_path, field, changed, detail):
    path = tmp_path / "run.npz"
    _rnn_trainer(path).run(2)
    other = _rnn_trainer(path, **changed)
    before = {k: v.copy() for k, v in other.cell.params.items()}
    with pytest.raises(CheckpointError, match="the same run configuration") as info:
        other.run(4, resume=True)
    assert str(info.value).count(": checkpoint ") == 1 and detail in str(info.value)
    assert other.clock.step == 0 and other.history == []  # nothing was loaded
    for key, value in before.items():
        np.testing.assert_array_equal(other.cell.params[key], value)


def test_a_changed_schedule_parameter_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    _rnn_trainer(path, schedule=decay_per_step(0.9, reset_per_sequence=False)).run(2)
    other = _rnn_trainer(path, schedule=decay_per_step(0.9))
    with pytest.raises(CheckpointError, match=r"schedule: checkpoint 'DecayPerStep\(factor=0.9, "
                                              r"reset_per_sequence=False\)', now 'DecayPerStep\(factor=0.9, "
                                              r"reset_per_sequence=True\)'"):
        other.run(4, resume=True)


def test_a_checkpoint_without_the_later_fields_is_checked_on_the_others(tmp_path):
    """A checkpoint written before the schedule, clipping and gradient options were recorded resumes."""
    path = tmp_path / "run.npz"
    _rnn_trainer(path).run(2)
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"]))
    for field in ("schedule", "clip_value", "clip_norm", "gradient_options"):
        del meta["fingerprint"][field]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    assert _rnn_trainer(path, clip_norm=1.5).run(3, resume=True).clock.step == 3
    with pytest.raises(CheckpointError, match="optimiser: checkpoint 'Adam', now 'SGD'"):
        _rnn_trainer(path, optimiser="sgd").run(4, resume=True)


def test_resume_with_the_same_configuration_is_accepted(tmp_path):
    """Every field changed from the defaults above, the same on both sides; the loss given by name in the
    checkpointed run and as the function of that name in the resumed one."""
    path = tmp_path / "run.npz"
    options = {"optimiser": "sgd", "method": "tbptt", "update": "sequence", "seed": 3,
               "gradient_options": {"k1": 2}, "schedule": decay_per_step(0.9, reset_per_sequence=False),
               "clip_value": 3.0, "clip_norm": 2.5}
    _rnn_trainer(path, loss="mse", **options).run(2)
    same = _rnn_trainer(path, loss=mse, **options)
    history = same.run(3, resume=True)
    assert (history.clock.step, history.clock.updates, len(history.losses)) == (3, 3 * B, 3)


# -- the clock: a resumed run equals the uninterrupted one, for every update mode and counter ---------------
def _lstm_trainer(path, schedule, general=False):
    """update="step" on a memory-block cell: the compiled kernel (T5), or with a clip that never acts the
    general per-step path (T4)."""
    cell = LSTM1997(I, 2, 2, H, init_range=0.5, seed=3)
    items = [Source(seed=11 + i)(np.random.default_rng(i)) for i in range(6)]
    return Trainer(cell, items, optimiser=SGD(cell.params, lr=0.3), method="truncated1997", update="step",
                   schedule=schedule, progress=False, checkpoint=path, checkpoint_every=100,
                   **({"clip_norm": 1e12} if general else {}))


def _build(mode, path, schedule):
    if mode in ("step", "step-general"):
        return _lstm_trainer(path, schedule, general=mode == "step-general")
    return _rnn_trainer(path, optimiser="sgd", update=mode, schedule=schedule, checkpoint_every=100)


SCHEDULES = {
    "per-update": lambda: decay_per_step(0.9, reset_per_sequence=False),  # reads clock.updates
    "per-sequence": lambda: decay_per_sequence(0.9),  # reads clock.sequences
    "per-update-in-sequence": lambda: decay_per_step(0.9),  # reads clock.updates_in_sequence
}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("mode", ["batch", "sequence", "step", "step-general"])
def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path, mode, schedule):
    straight = _build(mode, tmp_path / "straight.npz", SCHEDULES[schedule]())
    want = straight.run(6)
    _build(mode, tmp_path / "run.npz", SCHEDULES[schedule]()).run(3)
    resumed = _build(mode, tmp_path / "run.npz", SCHEDULES[schedule]())
    got = resumed.run(6, resume=True)
    assert got.losses == want.losses
    assert got.clock == want.clock and resumed.optimiser.lr == straight.optimiser.lr
    assert resumed.optimiser.steps == straight.optimiser.steps == want.clock.updates
    for key, value in straight.cell.params.items():
        np.testing.assert_array_equal(resumed.cell.params[key], value, err_msg=key)
    updates = {"batch": 6, "sequence": 6 * B, "step": 6 * B * T, "step-general": 6 * B * T}[mode]
    assert (want.clock.step, want.clock.updates, want.clock.sequences) == (6, updates, 6 * B)
    # the rate of the last update: what the schedule read from the clock just before it
    before_last = {"per-update": updates - 1, "per-sequence": 5 * B if mode == "batch" else 6 * B - 1,
                   "per-update-in-sequence": T - 1 if mode.startswith("step") else 0}[schedule]
    assert straight.optimiser.lr == pytest.approx(straight.base_lr * 0.9**before_last, rel=1e-12)


def test_gradient_options_are_compared_by_value(tmp_path):
    """A NumPy scalar is recorded as its number: the same value resumes, another one is refused."""
    path = tmp_path / "run.npz"
    _rnn_trainer(path, loss="smooth_l1", gradient_options={"beta": np.float64(0.3)}).run(2)
    assert _rnn_trainer(path, loss="smooth_l1", gradient_options={"beta": 0.3}).run(3, resume=True).clock.step == 3
    with pytest.raises(CheckpointError, match=r"gradient_options: checkpoint \{'beta': 0.3\}, now \{'beta': 0.4\}"):
        _rnn_trainer(path, loss="smooth_l1", gradient_options={"beta": 0.4}).run(4, resume=True)
