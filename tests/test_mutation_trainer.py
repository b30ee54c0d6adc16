"""yetztml.learning.trainer pinned piece by piece: every error's text, the fingerprint and the checkpoint's
metadata as written, when checkpoints are written, the clipping order, the roll-back of a step that fails
after some of its updates, the data sources' kinds, the progress text and the batch axis of batch-first cells.

Each test uses a tiny RNN (2 inputs, 3 units) and data it makes itself; a run is a few steps.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from rich.console import Console

from yetztml.cells.rnn import RNN
from yetztml.core.errors import CheckpointError, DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.layers import Dropout, Linear
from yetztml.learning import SGD, Adam, Batch, Clock, Trainer, decay_per_sequence, gradients, train
from yetztml.learning import trainer as trainer_module
from yetztml.learning.schedules import Constant
from yetztml.learning.trainer import _describe, _ProgressBar, _select
from yetztml.models import Sequential

T, B, I, H = 4, 2, 2, 3


def item(seed: int, batch: int = B, mask: bool = False):
    """One seeded item (x, targets[, mask]) of shape (T, batch, ·)."""
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((T, batch, I))
    targets = np.tanh(gen.standard_normal((T, batch, H)))
    if not mask:
        return x, targets
    m = np.zeros((T, batch), dtype=bool)
    m[-1] = True
    return x, targets, m


class Stateful:
    """A callable source with get_state/set_state; records the generator it was given. It runs dry after 40
    items (no test here needs as many), so that a loop that never counts its steps ends at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.rngs: list[object] = []

    def __call__(self, rng):
        if self.calls >= 40:
            raise StopIteration
        self.rngs.append(rng)
        self.calls += 1
        x, targets = item(self.calls)
        return x, targets * rng.uniform(0.5, 1.0)

    def get_state(self):
        return {"calls": self.calls}

    def set_state(self, state):
        self.calls = state["calls"]


def build(data=None, *, lr=0.1, optimiser=SGD, **options):
    cell = RNN(I, H, seed=1)
    opt = optimiser(cell.params, lr=lr)
    options.setdefault("progress", False)
    return Trainer(cell, Stateful() if data is None else data, optimiser=opt, loss="mse", **options)


def params(cell):
    return {k: v.copy() for k, v in cell.params.items()}


def same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def meta_of(path):
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["meta"]))


# -- the constructor: every check's text, and the defaults it keeps --------------------------------------
def test_constructor_errors_name_the_argument_and_the_fix(tmp_path):
    cell = RNN(I, H, seed=1)
    opt = SGD(cell.params, lr=0.1)
    data = Stateful()
    cases = [
        (DTypeError, {"cell": "rnn"},
         "Trainer(cell): expected a yetztml model, cell or layer, got str. Build one from yetztml.cells / "
         "yetztml.layers, composed with yetztml.models.Sequential; for your own equations subclass "
         "yetztml.cells.Cell (docs/protocol.md)."),
        (OptionError, {"optimiser": "adam"},
         "Trainer(optimiser): expected an optimiser built on cell.params, got str. Use e.g. Adam(cell.params, "
         "lr=1e-3)."),
        (OptionError, {"optimiser": SGD(dict(cell.params), lr=0.1)},
         "Trainer(optimiser): expected an optimiser built on cell.params, got SGD. Use e.g. Adam(cell.params, "
         "lr=1e-3)."),
        (DTypeError, {"schedule": 0.5}, "Trainer(schedule): expected a callable (base_lr, clock) -> lr, got float"),
        (OptionError, {"clip_value": 0.0}, "Trainer(clip_value): expected a number > 0.0, got 0.0"),
        (OptionError, {"clip_norm": 0.0}, "Trainer(clip_norm): expected a number > 0.0, got 0.0"),
        (DTypeError, {"callbacks": [print, 3]}, "Trainer(callbacks): expected callables cb(step, loss, cell), got int"),
        (DTypeError, {"progress": 1}, "Trainer(progress): expected True or False, got 1"),
        (DTypeError, {"status": "acc"}, "Trainer(status): expected a callable returning a str, got str"),
        (OptionError, {"checkpoint_every": 0}, "Trainer(checkpoint_every): expected an integer >= 1, got 0"),
        (OptionError, {"method": "newton"}, "Trainer(method): expected one of 'bptt', 'tbptt'"),
        (OptionError, {"update": "epoch"}, "Trainer(update): expected one of 'batch', 'sequence', 'step', got 'epoch'"),
        (DTypeError, {"data": 42},
         "Trainer(data): expected an iterator of (x, targets[, mask]) or a callable data(rng), got int"),
        (DTypeError, {"checkpoint": 3}, "Trainer(checkpoint): expected a file path, got int"),
    ]
    for error, change, text in cases:
        args = {"cell": cell, "data": data, "optimiser": opt, **change}
        with pytest.raises(error) as info:
            Trainer(args.pop("cell"), args.pop("data"), **args)
        assert str(info.value).startswith(text), (change, str(info.value))
        if "method" not in change:
            assert str(info.value) == text, change


def test_constructor_keeps_its_configuration_and_defaults():
    cell = RNN(I, H, seed=1)
    opt = SGD(cell.params, lr=0.25)
    callbacks = [lambda step, loss, c: None]
    options = {"k1": 2}
    trainer = Trainer(cell, Stateful(), optimiser=opt)
    assert (trainer.loss, trainer.method, trainer.update) == ("squared_error", "bptt", "batch")
    assert trainer.schedule == Constant() and trainer.schedule(0.25, Clock(updates=9)) == 0.25
    assert (trainer.clip_value, trainer.clip_norm, trainer.checkpoint, trainer.status) == (None, None, None, None)
    assert (trainer.gradient_options, trainer.callbacks, trainer.progress) == ({}, (), True)
    assert (trainer.checkpoint_every, trainer.seed, trainer.base_lr) == (100, 0, 0.25)
    assert trainer.clock == Clock() and trainer.history == []
    assert trainer.rng.random() == np.random.default_rng(0).random()
    status = lambda: "ok"  # noqa: E731
    trainer = Trainer(cell, Stateful(), optimiser=opt, loss="mse", method="tbptt", update="sequence",
                      clip_value=2, clip_norm=3, gradient_options=options, callbacks=callbacks, progress=False,
                      status=status, checkpoint_every=7, seed=5)
    assert (trainer.loss, trainer.method, trainer.update) == ("mse", "tbptt", "sequence")
    assert (trainer.clip_value, trainer.clip_norm) == (2.0, 3.0)
    assert trainer.gradient_options == {"k1": 2} and trainer.gradient_options is not options
    assert trainer.callbacks == tuple(callbacks) and trainer.status is status and trainer.progress is False
    assert (trainer.checkpoint_every, trainer.seed) == (7, 5)
    assert trainer.rng.random() == np.random.default_rng(5).random()


# -- the data sources -----------------------------------------------------------------------------------------
def test_a_callable_source_gets_the_trainers_generator_and_is_not_fast_forwarded(tmp_path):
    path = tmp_path / "run.npz"

    class Plain:  # no get_state: its draws come from the trainer's generator alone
        def __init__(self):
            self.calls = 0

        def __call__(self, rng):
            if self.calls >= 40:
                raise StopIteration
            self.calls += 1
            return item(0)[0] * rng.uniform(0.5, 1.5), item(0)[1]

    source = Plain()
    trainer = build(source, checkpoint=path)
    trainer.run(3)
    assert source.calls == 3
    again = Plain()
    resumed = build(again, checkpoint=path)
    resumed.restore()
    assert again.calls == 0  # the generator's state is restored instead
    assert resumed._kind == "callable"
    want = build(Plain()).run(5).losses
    assert resumed.run(5).losses == want


def test_a_source_that_is_both_an_iterator_and_callable_is_read_as_an_iterator():
    class Both:
        def __init__(self):
            self.items = iter([item(1), item(2)])
            self.called = 0

        def __next__(self):
            return next(self.items)

        def __iter__(self):
            return self

        def __call__(self, rng):
            self.called += 1
            return item(3)

    source = Both()
    trainer = build(source)
    assert trainer._kind == "iterator"
    history = trainer.run(5)
    assert source.called == 0 and history.data_exhausted and len(history.losses) == 2


@pytest.mark.parametrize("kind", ["list", "generator"])
def test_an_iterable_or_iterator_without_state_is_fast_forwarded(tmp_path, kind):
    path = tmp_path / "run.npz"
    items = [item(s) for s in range(5)]

    def source():
        return list(items) if kind == "list" else (i for i in items)

    want = build(source()).run(5).losses
    build(source(), checkpoint=path).run(2)
    resumed = build(source(), checkpoint=path)
    assert resumed._kind == "iterator"
    history = resumed.run(5, resume=True)
    assert history.losses == want and not history.data_exhausted


def test_item_errors_name_what_was_given():
    def run_on(value):
        build(lambda rng: value).run(1)

    x, targets = item(0)
    fix = "For padded batches yield yetztml.learning.Batch(x, targets, mask=None, lengths=...)."
    expected = "Trainer(data) item: expected a tuple (x, targets) or (x, targets, mask), or a Batch, got"
    for value, got in [((x,), "a tuple of 1 items"), ((x, targets, None, None), "a tuple of 4 items"),
                       ([x], "a list of 1 items"), (x, "ndarray")]:
        with pytest.raises(DTypeError) as info:
            run_on(value)
        assert str(info.value) == f"{expected} {got}. {fix}"
    bad = x.copy()
    bad[1, 0, 0], bad[2, 1, 1] = np.nan, np.inf
    with pytest.raises(NonFiniteError) as info:
        run_on((bad, targets))
    assert str(info.value) == (
        "Training step 0 (counting from 0): data x: expected finite values, got 2 NaN/inf entries. Last finite "
        "loss: none (first step). The cell keeps the weights from before this step.")


def test_items_as_lists_batches_and_masks_are_read_alike():
    x, targets, mask = item(4, mask=True)
    runs = {
        "tuple": (x, targets, mask),
        "list": [x, targets, mask],
        "batch": Batch(x, targets, mask),
    }
    losses = {name: build([v] * 5).run(2).losses for name, v in runs.items()}
    assert losses["tuple"] == losses["list"] == losses["batch"]
    cell = RNN(I, H, seed=1)
    value, _ = gradients(cell, x, targets, loss="mse", mask=mask)
    assert losses["tuple"][0] == value
    unmasked = build(lambda rng: (x, targets)).run(1).losses
    assert unmasked[0] == gradients(RNN(I, H, seed=1), x, targets, loss="mse")[0] != value


def test_an_item_put_back_is_used_once_before_the_source():
    trainer = build()
    ids = np.zeros((T, B, I), dtype=np.int64)  # token ids: integer x, not checked for NaN
    trainer._pushback, trainer._pushback_sources = (ids, item(0)[1]), {"rng": None}
    got = trainer._next_item()
    assert got[0] is ids and got[2] is None and got[3] is None and trainer.data.calls == 0
    assert trainer._pushback is None and trainer._pushback_sources is None
    np.testing.assert_array_equal(trainer._next_item()[0], item(1)[0])
    assert trainer.data.calls == 1


# -- one update: clipping order, the rate, the counters, non-finite values --------------------------------------
def test_apply_clips_by_value_then_by_norm_of_the_clipped_gradient():
    trainer = build(lr=1.0, clip_value=0.5, clip_norm=1.0)
    cell = trainer.cell
    before = params(cell)
    grads = {k: np.full_like(v, 2.0) for k, v in cell.params.items()}
    grads["extra"] = np.full(3, np.nan)  # not a parameter: ignored
    trainer.apply(grads)
    size = sum(v.size for v in cell.params.values())
    clipped = 0.5 * 1.0 / (np.sqrt(size * 0.25) + 1e-6)  # every entry 0.5, then scaled to norm 1
    for k, v in cell.params.items():
        np.testing.assert_allclose(before[k] - v, clipped, rtol=1e-12)
    assert trainer.clock == Clock(updates=1, updates_in_sequence=1)


def test_apply_clips_by_value_alone_and_sets_the_rate_from_the_schedule():
    trainer = build(lr=1.0, clip_value=0.5, schedule=decay_per_sequence(0.5))
    cell = trainer.cell
    trainer.clock.sequences = 2
    before = params(cell)
    grads = {k: np.where(np.arange(v.size).reshape(v.shape) % 2 == 0, 3.0, -0.25) for k, v in cell.params.items()}
    trainer.apply(grads)
    assert trainer.optimiser.lr == 0.25
    for k, v in cell.params.items():
        np.testing.assert_allclose(before[k] - v, 0.25 * np.clip(grads[k], -0.5, 0.5), rtol=1e-12)


def test_apply_names_the_first_non_finite_gradient_and_a_parameter_that_overflows():
    trainer = build(lr=1.0)
    names = list(trainer.cell.params)
    grads = {k: np.zeros_like(v) for k, v in trainer.cell.params.items()}
    grads[names[1]][0] = np.nan
    grads[names[2]][0] = np.inf
    with pytest.raises(NonFiniteError) as info:
        trainer.apply(grads)
    assert str(info.value) == (f"gradient {names[1]!r}: expected finite values, got NaN/inf entries. Clip gradients "
                               "(clip_norm=...) or lower the learning rate.")
    trainer = build(lr=1e308)
    grads = {k: np.zeros_like(v) for k, v in trainer.cell.params.items()}
    grads[names[2]][...] = -10.0
    with pytest.raises(NonFiniteError) as info:
        trainer.apply(grads)
    assert str(info.value) == (f"parameter {names[2]!r} after the update: expected finite values, got NaN/inf "
                               "entries. Lower the learning rate or clip gradients.")
    assert trainer.clock == Clock(updates=1, updates_in_sequence=1)


def test_a_non_finite_loss_names_the_step_and_the_last_loss(tmp_path):
    calls = {"n": 0}

    def loss(outputs, targets, mask=None):
        calls["n"] += 1
        d = outputs - targets
        return (np.inf if calls["n"] == 3 else 0.125 * calls["n"]), d

    cell = RNN(I, H, seed=1)
    trainer = Trainer(cell, Stateful(), optimiser=SGD(cell.params, lr=0.1), loss=loss, progress=False,
                      checkpoint=tmp_path / "run.npz")
    with pytest.raises(NonFiniteError) as info:
        trainer.run(5)
    assert str(info.value) == (
        "Training step 2 (counting from 0): loss: expected a finite value, got inf. Last finite loss: 0.25. The "
        "cell keeps the weights from before this step and the last checkpoint is left as it was.")
    assert trainer.history == [0.125, 0.25]
    assert not (tmp_path / "run.npz").exists()  # an error that is not an interrupt writes no checkpoint


def test_a_step_that_fails_after_some_updates_is_rolled_back_whole():
    """update='sequence': the second sequence's gradient is NaN in step 2; weights, Adam's moments, the
    counters and the history return to the end of step 1, and the next run draws the same item again."""
    calls = {"n": 0, "fail": 2 * B + 2}

    def loss(outputs, targets, mask=None):
        calls["n"] += 1
        d = 2.0 * (outputs - targets)
        if calls["n"] == calls["fail"]:
            d[0, 0, 0] = np.nan
        return float(np.sum((outputs - targets) ** 2)), d

    def make():
        cell = RNN(I, H, seed=1)
        return Trainer(cell, Stateful(), optimiser=Adam(cell.params, lr=0.05), loss=loss, update="sequence",
                       progress=False)

    trainer = make()
    with pytest.raises(NonFiniteError) as info:
        trainer.run(4)
    assert str(info.value) == (
        "Training step 2 (counting from 0): RNN.backward(d_outputs): expected finite values, got 1 NaN/inf "
        "entries. Last finite loss: 7.8223. The cell keeps the weights from before this step.")
    calls["fail"] = -1
    ref = make()
    ref.run(2)
    same(trainer.cell.params, ref.cell.params)
    same(trainer.optimiser.state_dict()["buffers"]["m"], ref.optimiser.state_dict()["buffers"]["m"])
    assert trainer.optimiser.steps == ref.optimiser.steps == 2 * B
    assert trainer.clock == ref.clock == Clock(step=2, updates=2 * B, sequences=2 * B, updates_in_sequence=1)
    assert trainer.history == ref.history and len(trainer.history) == 2
    assert trainer.data.calls == 3 and trainer._pushback is not None  # step 2's item is kept for the next run
    assert trainer.run(4).losses == ref.run(4).losses
    same(trainer.cell.params, ref.cell.params)
    assert trainer.data.calls == ref.data.calls == 4


def test_step_refuses_lengths_in_the_per_step_mode():
    from yetztml.cells.lstm1997 import LSTM1997

    cell = LSTM1997(I, 1, 1, H, seed=0)
    x, targets = item(0)
    trainer = Trainer(cell, lambda rng: Batch(x, targets, None, np.array([T, T])), optimiser=SGD(cell.params, lr=0.1),
                      method="truncated1997", update="step", progress=False)
    with pytest.raises(OptionError) as info:
        trainer.run(1)
    assert str(info.value) == (
        "Trainer(update='step'): expected items without lengths (the per-step backends run unpadded sequences), "
        "got a Batch with lengths. Use update='batch' for padded batches.")


# -- counters and the batch axis ---------------------------------------------------------------------------------
@pytest.mark.parametrize("update", ["batch", "sequence"])
def test_batch_first_cells_count_their_sequences_on_axis_0(update):
    x, targets = item(2, batch=3)
    cell = RNN(I, H, seed=1, batch_first=True)
    trainer = Trainer(cell, [(np.swapaxes(x, 0, 1), np.swapaxes(targets, 0, 1))] * 5,
                      optimiser=SGD(cell.params, lr=0.1), loss="mse", update=update, progress=False)
    history = trainer.run(2)
    assert history.clock == Clock(step=2, updates=2 if update == "batch" else 6, sequences=6,
                                  updates_in_sequence=1)
    ref = RNN(I, H, seed=1)
    ref_history = Trainer(ref, [(x, targets)] * 5, optimiser=SGD(ref.params, lr=0.1), loss="mse",
                          update=update, progress=False).run(2)
    assert history.losses == pytest.approx(ref_history.losses, rel=1e-12)
    for k, v in ref.params.items():
        np.testing.assert_allclose(cell.params[k], v, rtol=1e-12, atol=1e-15)


def test_select_takes_one_sequence_and_shares_the_rest():
    a = np.arange(24.0).reshape(4, 3, 2)
    np.testing.assert_array_equal(_select(a, 1, 1, 3), a[:, 1:2])
    np.testing.assert_array_equal(_select(a, 2, 0, 4), a[2:3])
    shared = np.ones((4, 1, 2))
    assert _select(shared, 2, 1, 3) is shared
    flat = np.arange(4.0)
    assert _select(flat, 0, 1, 3) is flat  # no batch axis
    assert _select(np.arange(3.0), 1, 0, 3).tolist() == [1.0]
    listed = [[1, 2, 3]]
    assert _select(listed, 0, 1, 3) is listed
    assert _select(None, 0, 1, 3) is None


def test_sequence_mode_shares_a_mask_of_size_one_over_the_batch():
    x, targets = item(5, batch=3)
    mask = np.zeros((T, 1), dtype=bool)
    mask[-1] = True
    seq = build(lambda rng: (x, targets, mask), update="sequence")
    value = seq.run(1).losses[0]
    ref = RNN(I, H, seed=1)
    opt = SGD(ref.params, lr=0.1)
    total = 0.0
    for b in range(3):
        v, g = gradients(ref, x[:, b:b + 1], targets[:, b:b + 1], loss="mse", mask=mask)
        opt.step(g)
        total += v
    assert value == total
    same(seq.cell.params, ref.params)


# -- the fingerprint and the checkpoint's metadata ---------------------------------------------------------------
def test_the_checkpoint_records_fingerprint_clock_rate_and_sources(tmp_path):
    path = tmp_path / "run.npz"
    source = Stateful()
    trainer = build(source, optimiser=Adam, lr=0.05, checkpoint=path, seed=np.int64(3), clip_norm=2,
                    gradient_options={"reduction": "sum", "beta": np.float32(0.5)})
    trainer.loss = "smooth_l1"
    trainer.run(2)
    meta = meta_of(path)
    assert meta["fingerprint"] == {
        "cell": "RNN",
        "params": {"weight_ih_l0": [[H, I], "float64"], "weight_hh_l0": [[H, H], "float64"],
                   "bias_ih_l0": [[H], "float64"], "bias_hh_l0": [[H], "float64"]},
        "optimiser": "Adam",
        "loss": "smooth_l1",
        "method": "bptt",
        "update": "batch",
        "seed": 3,
        "schedule": "Constant()",
        "clip_value": None,
        "clip_norm": 2.0,
        "gradient_options": {"beta": 0.5, "reduction": "sum"},
    }
    assert list(meta["fingerprint"]["gradient_options"]) == ["beta", "reduction"]
    assert meta["clock"] == {"step": 2, "updates": 2, "sequences": 2 * B, "updates_in_sequence": 1}
    assert meta["base_lr"] == 0.05
    assert meta["sources"]["data"] == {"calls": 2}
    assert "model_rng" not in meta["sources"]
    state = meta["sources"]["rng"]
    fresh = np.random.default_rng(0)
    fresh.bit_generator.state = state
    assert fresh.random() == trainer.rng.random()


def test_the_fingerprint_names_losses_seeds_and_options_without_addresses():
    class Loss:
        def __call__(self, outputs, targets, mask=None):
            return 0.0, np.zeros_like(outputs)

        def __repr__(self):
            return "Loss()"

    def my_loss(outputs, targets, mask=None):
        return 0.0, np.zeros_like(outputs)

    trainer = build(seed=np.random.default_rng(1), gradient_options={"k1": 2, "k2": (4, np.int32(5))},
                    schedule=decay_per_sequence(0.5))
    print_ = print
    trainer.gradient_options["fn"] = print_
    fp = trainer._fingerprint()
    assert fp["seed"] == "a Generator"
    assert fp["schedule"] == "DecayPerSequence(factor=0.5)"
    assert fp["gradient_options"] == {"fn": "print", "k1": 2, "k2": [4, 5]}
    assert list(fp["gradient_options"]) == ["fn", "k1", "k2"]
    trainer.loss = my_loss
    assert trainer._fingerprint()["loss"] == (
        "test_the_fingerprint_names_losses_seeds_and_options_without_addresses.<locals>.my_loss")
    trainer.loss = Loss()
    assert trainer._fingerprint()["loss"] == "Loss()"
    float32 = RNN(I, H, seed=1, dtype=np.float32)
    fp32 = Trainer(float32, Stateful(), optimiser=SGD(float32.params, lr=0.1), progress=False,
                   seed=np.int64(7))._fingerprint()
    assert fp32["params"]["weight_hh_l0"] == [[H, H], "float32"] and fp32["seed"] == 7
    assert type(fp32["seed"]) is int


def test_describe_keeps_plain_data_and_names_the_rest():
    class Named:
        pass

    assert [_describe(v) for v in (None, True, 3, 0.5, "s")] == [None, True, 3, 0.5, "s"]
    assert _describe(np.float32(0.5)) == 0.5 and type(_describe(np.int64(2))) is int
    assert _describe((1, [np.int8(2), "a"])) == [1, [2, "a"]]
    assert _describe(Constant()) == "Constant()"
    assert _describe(Constant) == "Constant"  # a dataclass type is named, not repr'd
    assert _describe(Named()) == "test_describe_keeps_plain_data_and_names_the_rest.<locals>.Named"
    assert _describe(np.zeros(2)) == "ndarray"
    assert _describe(len) == "len"


def test_a_model_with_dropout_checkpoints_its_generator(tmp_path):
    path = tmp_path / "run.npz"
    model = Sequential(Dropout(I, 0.5, seed=4), Linear(I, H, seed=5))
    trainer = Trainer(model, Stateful(), optimiser=SGD(model.params, lr=0.1), loss="mse", progress=False,
                      checkpoint=path)
    trainer.run(2)
    meta = meta_of(path)
    assert meta["sources"]["model_rng"] == json.loads(json.dumps(model.rng_state()))
    assert meta["fingerprint"]["cell"] == "Sequential"


# -- save and restore ------------------------------------------------------------------------------------------
def test_save_and_restore_errors(tmp_path):
    trainer = build()
    with pytest.raises(OptionError) as info:
        trainer.save()
    assert str(info.value) == "Trainer.save: expected a checkpoint path, got None. Pass checkpoint='run.npz'."
    with pytest.raises(OptionError) as info:
        trainer.run(2, resume=True)
    assert str(info.value) == "resume=True: expected a checkpoint path, got checkpoint=None"

    def saving(trainer, x, targets, mask):
        trainer.save()

    trainer_module.UPDATE_MODES["saving"] = saving
    try:
        inside = build(checkpoint=tmp_path / "run.npz", update="saving")
        inside.clock.step = 4
        with pytest.raises(OptionError) as info:
            inside.run(6)
    finally:
        del trainer_module.UPDATE_MODES["saving"]
    assert str(info.value) == ("Trainer.save: expected no step in progress, got step 4 running. Save from a "
                               "callback or after run() returns.")
    assert not (tmp_path / "run.npz").exists()


def test_a_resume_names_every_field_that_differs(tmp_path):
    path = tmp_path / "run.npz"
    build(checkpoint=path).run(2)
    other = build(checkpoint=path, update="sequence", seed=4)
    with pytest.raises(CheckpointError) as info:
        other.run(3, resume=True)
    assert str(info.value) == (
        f"checkpoint {str(path)!r}: expected the same run configuration, got update: checkpoint 'batch', now "
        "'sequence'; seed: checkpoint 0, now 4")


def test_an_old_checkpoint_is_checked_on_a_new_field_only_when_it_has_it(tmp_path):
    """A field missing from the checkpoint is skipped only if it is one of the later fields."""
    path = tmp_path / "run.npz"
    build(checkpoint=path).run(2)
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["fingerprint"]["seed"], meta["fingerprint"]["clip_norm"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError) as info:
        build(checkpoint=path, clip_norm=1.0).run(3, resume=True)
    assert str(info.value).endswith("got seed: checkpoint None, now 0")


def test_restore_takes_the_rate_and_counters_from_the_checkpoint_and_drops_a_pending_item(tmp_path):
    path = tmp_path / "run.npz"
    first = build(lr=0.1, checkpoint=path, schedule=decay_per_sequence(0.5))
    first.run(2)
    later = build(lr=0.3, checkpoint=path, schedule=decay_per_sequence(0.5))
    later._pushback, later._pushback_sources = item(9), {"rng": None}
    later.restore()
    assert later.base_lr == 0.1 and type(later.base_lr) is float
    assert later.clock == Clock(step=2, updates=2, sequences=2 * B, updates_in_sequence=1)
    assert later.clock is not first.clock
    assert later._pushback is None and later._pushback_sources is None
    assert later.history == first.history
    assert later.data.calls == 2
    straight = build(lr=0.1, schedule=decay_per_sequence(0.5))
    assert later.run(4).losses == straight.run(4).losses
    same(later.cell.params, straight.cell.params)


def test_save_after_a_rolled_back_step_records_the_sources_before_its_item(tmp_path):
    path = tmp_path / "run.npz"
    trainer = build(checkpoint=path, callbacks=[lambda step, loss, c: None])
    trainer.run(2)

    def interrupt(step, loss, cell):
        raise KeyboardInterrupt

    trainer.callbacks = (interrupt,)
    with pytest.raises(KeyboardInterrupt):
        trainer.run(4)
    # the callback ran after step 2 completed: nothing to roll back, and the file holds step 3
    assert meta_of(path)["clock"]["step"] == 3 and meta_of(path)["sources"]["data"] == {"calls": 3}
    calls = {"n": 0}

    def mode(trainer, x, targets, mask):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return trainer_module.UPDATE_MODES["batch"](trainer, x, targets, mask)

    trainer_module.UPDATE_MODES["flaky"] = mode
    try:
        trainer.callbacks = ()
        trainer.update = "flaky"
        with pytest.raises(KeyboardInterrupt):
            trainer.run(5)
        assert trainer._pushback is not None and trainer.data.calls == 4
        trainer.save()
        meta = meta_of(path)
        assert meta["clock"]["step"] == 3 and meta["sources"]["data"] == {"calls": 3}
    finally:
        del trainer_module.UPDATE_MODES["flaky"]


# -- the loop: when checkpoints are written, callbacks, what run returns -----------------------------------------
def test_checkpoints_are_written_every_n_steps_at_a_stop_and_at_the_end(tmp_path, monkeypatch):
    saved = []
    original = trainer_module.Trainer.save

    def spy(self):
        saved.append(self.clock.step)
        original(self)

    monkeypatch.setattr(trainer_module.Trainer, "save", spy)
    build(checkpoint=tmp_path / "a.npz", checkpoint_every=3).run(7)
    assert saved == [3, 6, 7]
    saved.clear()
    build(checkpoint=tmp_path / "b.npz", checkpoint_every=2, callbacks=[lambda s, loss, c: s == 2]).run(7)
    assert saved == [2, 3]
    saved.clear()
    history = build([item(0)] * 3, checkpoint=tmp_path / "c.npz", checkpoint_every=2).run(7)
    assert saved == [2, 3] and history.data_exhausted  # 3 items: the end of the data saves
    saved.clear()
    history = build([item(0)] * 3).run(7)
    assert saved == [] and history.data_exhausted and not history.stopped_by_callback


def test_every_callback_runs_and_only_true_stops():
    seen = []
    cbs = [
        lambda step, loss, cell: seen.append(("a", step)) or step == 1,
        lambda step, loss, cell: seen.append(("b", step, loss, cell)) or 1,
    ]
    trainer = build(callbacks=cbs)
    history = trainer.run(5)
    assert history.stopped_by_callback and not history.data_exhausted
    assert [s for s in seen if s[0] == "a"] == [("a", 0), ("a", 1)]
    assert [s[2] for s in seen if s[0] == "b"] == history.losses and len(history.losses) == 2
    assert all(s[3] is trainer.cell for s in seen if s[0] == "b")
    again = trainer.run(3)  # a fresh run(): only step 2, callback a says False
    assert again.stopped_by_callback is False and again.data_exhausted is False


def test_run_returns_copies_and_checks_its_arguments():
    trainer = build()
    history = trainer.run(3)
    assert history.losses == trainer.history and history.losses is not trainer.history
    assert history.clock == trainer.clock and history.clock is not trainer.clock
    assert trainer.run(3).losses == history.losses  # already done: no more steps
    with pytest.raises(OptionError) as info:
        trainer.run(-1)
    assert str(info.value) == "Trainer.run(steps): expected an integer >= 0, got -1"
    with pytest.raises(DTypeError) as info:
        trainer.run(4, resume=1)
    assert str(info.value) == "Trainer.run(resume): expected True or False, got 1"
    assert trainer.clock.step == 3


def test_seeded_losses_are_pinned():
    history = build(optimiser=Adam, lr=0.05, seed=2).run(3)
    assert history.losses == pytest.approx(PINNED, rel=1e-10)


PINNED = [0.31300842278925783, 0.39633499621015866, 0.6950227779394089]


def test_an_interrupt_behind_another_error_is_raised_itself_after_a_save(tmp_path):
    path = tmp_path / "run.npz"

    def mode(trainer, x, targets, mask):
        if trainer.clock.step == 2:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as inner:
                raise SystemError("returned a result with an exception set") from inner
        return trainer_module.UPDATE_MODES["batch"](trainer, x, targets, mask)

    trainer_module.UPDATE_MODES["compiled"] = mode
    try:
        trainer = build(checkpoint=path, update="compiled")
        with pytest.raises(KeyboardInterrupt) as info:
            trainer.run(5)
    finally:
        del trainer_module.UPDATE_MODES["compiled"]
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert meta_of(path)["clock"]["step"] == 2


def test_an_interrupt_without_a_checkpoint_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def stop(step, loss, cell):
        raise KeyboardInterrupt

    trainer = build(callbacks=[stop])
    with pytest.raises(KeyboardInterrupt):
        trainer.run(3)
    assert list(tmp_path.iterdir()) == [] and trainer.clock.step == 1


def test_train_passes_steps_resume_and_options(tmp_path):
    path = tmp_path / "run.npz"
    cell = RNN(I, H, seed=1)
    first = train(cell, Stateful(), steps=2, optimiser=SGD(cell.params, lr=0.1), loss="mse", progress=False,
                  checkpoint=path)
    cell2 = RNN(I, H, seed=9)  # other weights: only the checkpoint's make the run equal the straight one
    resumed = train(cell2, Stateful(), steps=3, resume=True, optimiser=SGD(cell2.params, lr=0.1), loss="mse",
                    progress=False, checkpoint=path)
    straight = build().run(3)
    assert resumed.losses[:2] == first.losses and resumed.losses == straight.losses


# -- the checkpoint path and the progress text --------------------------------------------------------------
def test_the_checkpoint_path_is_checked_before_training(tmp_path):
    assert build(checkpoint=tmp_path / "run.npz").checkpoint == str(tmp_path / "run.npz")
    cases = [
        (tmp_path, f"Trainer(checkpoint={str(tmp_path)!r}): expected a file path, got a directory. Name a file "
                   "inside it, e.g. run.npz."),
        (tmp_path / "no" / "run.npz",
         f"Trainer(checkpoint={str(tmp_path / 'no' / 'run.npz')!r}): expected a path in an existing folder, got "
         f"no folder {str(tmp_path / 'no')!r}. Create the folder first."),
    ]
    for path, text in cases:
        with pytest.raises(OptionError) as info:
            build(checkpoint=path)
        assert str(info.value) == text


def test_an_unwritable_folder_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setattr(trainer_module.os, "access", lambda p, mode: not (p == folder and mode == os.W_OK))
    with pytest.raises(OptionError) as info:
        build(checkpoint=str(folder / "run.npz"))
    assert str(info.value) == (f"Trainer(checkpoint={str(folder / 'run.npz')!r}): expected a writable folder, got "
                               f"{str(folder)!r}, which is not writable")


@pytest.fixture
def on_terminal(monkeypatch):
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))


def test_the_progress_bar_shows_the_mean_of_the_last_100_losses_and_the_status(on_terminal):
    history = [1000.0] * 5 + [1.0] * 99 + [3.0]
    bar = _ProgressBar(True, 200, 105, history, status=lambda: "acc 0.5")
    assert list(bar.recent) == [1.0] * 99 + [3.0] and bar.recent.maxlen == 100
    task = bar.bar.progress.tasks[0]
    assert (bar.bar.label, bar.bar.total, bar.bar.first, task.completed) == ("training", 200, 105, 105)
    with bar:
        bar.advance(5.0)
    assert task.completed == 106 and task.fields["info"] == "loss 1.06  acc 0.5"
    plain = _ProgressBar(True, 5, 0, [])
    assert plain._text() == "loss –"
    with plain:
        plain.advance(0.123456)
    assert plain.bar.progress.tasks[0].fields["info"] == "loss 0.1235"
    off = _ProgressBar(False, 5, 0, [], status=lambda: 1 / 0)
    off.advance(1.0)  # no bar: the status is not asked for
    assert off.bar.progress is None and list(off.recent) == [1.0]


def test_the_trainers_bar_follows_the_run(on_terminal, monkeypatch):
    shown = []
    monkeypatch.setattr(trainer_module._ProgressBar, "advance",
                        lambda self, loss: (self.recent.append(loss), shown.append(self._text())))
    trainer = build(progress=True, status=lambda: "ok")
    history = trainer.run(2)
    assert shown == [f"loss {history.losses[0]:.4g}  ok", f"loss {np.mean(history.losses):.4g}  ok"]


# -- random and data states that live on: what a roll-back and a checkpoint must copy -----------------------------
class Logged:
    """A source whose get_state() returns its live, nested record (a copy must be deep to keep it)."""

    def __init__(self, nan_at=None):
        self.record = {"drawn": []}
        self.nan_at = nan_at

    def __call__(self, rng):
        n = len(self.record["drawn"])
        if n >= 40:
            raise StopIteration
        self.record["drawn"].append(n)
        x, targets = item(n)
        if n == self.nan_at:
            x[0, 0, 0] = np.nan
        return x, targets

    def get_state(self):
        return self.record

    def set_state(self, state):
        self.record = {"drawn": list(state["drawn"])}


def test_the_sources_are_copied_deeply_before_each_step(tmp_path):
    path = tmp_path / "run.npz"
    source = Logged(nan_at=2)
    trainer = build(source, checkpoint=path)
    with pytest.raises(NonFiniteError):
        trainer.run(4)
    assert source.record["drawn"] == [0, 1, 2]
    trainer.save()  # the sources from before the failed step's item was drawn
    assert meta_of(path)["sources"]["data"] == {"drawn": [0, 1]}


class Counting(RNN):
    """A cell with its own 'random' state: a live record of its forward calls (a user's Cell may return such)."""

    def __init__(self):
        super().__init__(I, H, seed=1)
        self.calls = {"n": [0]}

    def forward(self, *args, **kwargs):
        self.calls["n"][0] += 1
        return super().forward(*args, **kwargs)

    def rng_state(self):
        return self.calls

    def set_rng_state(self, state):
        self.calls = {"n": list(state["n"])}


def test_a_model_state_is_copied_deeply_and_rolled_back(tmp_path):
    calls = {"n": 0}

    def loss(outputs, targets, mask=None):
        calls["n"] += 1
        d = outputs - targets
        if calls["n"] == 2 * B + 2:  # step 2, second sequence
            d[0, 0, 0] = np.nan
        return float(np.sum(d**2)), d

    cell = Counting()
    trainer = Trainer(cell, Stateful(), optimiser=SGD(cell.params, lr=0.1), loss=loss, update="sequence",
                      progress=False, checkpoint=tmp_path / "run.npz")
    with pytest.raises(NonFiniteError):
        trainer.run(4)
    assert cell.calls == {"n": [2 * B]}  # the failed step's forward passes are undone
    trainer.save()
    assert meta_of(tmp_path / "run.npz")["sources"]["model_rng"] == {"n": [2 * B]}


def test_a_failed_step_draws_the_same_dropout_masks_again():
    calls = {"n": 0, "fail": 3}

    def loss(outputs, targets, mask=None):
        calls["n"] += 1
        d = outputs - targets
        if calls["n"] == calls["fail"]:
            d[...] = np.nan
        return float(np.sum(d**2)), d

    def make():
        model = Sequential(Dropout(I, 0.5, seed=4), Linear(I, H, seed=5))
        return Trainer(model, Stateful(), optimiser=SGD(model.params, lr=0.1), loss=loss, progress=False)

    failing = make()
    with pytest.raises(NonFiniteError):
        failing.run(5)
    calls["fail"] = -1
    resumed = failing.run(5)
    straight = make().run(5)
    assert resumed.losses == straight.losses


def test_an_iterator_with_a_state_is_restored_not_fast_forwarded(tmp_path):
    path = tmp_path / "run.npz"

    class Stream:
        def __init__(self):
            self.n = 0

        def __iter__(self):
            return self

        def __next__(self):
            if self.n >= 40:
                raise StopIteration
            self.n += 1
            return item(self.n)

        def get_state(self):
            return self.n

        def set_state(self, n):
            self.n = n

    build(Stream(), checkpoint=path).run(3)
    stream = Stream()
    resumed = build(stream, checkpoint=path)
    resumed.restore()
    assert resumed._kind == "iterator" and stream.n == 3
    assert resumed.run(5).losses == build(Stream()).run(5).losses


def test_a_step_that_fails_twice_keeps_the_sources_from_before_its_item(tmp_path):
    path = tmp_path / "run.npz"
    calls = {"n": 0}

    def mode(trainer, x, targets, mask):
        calls["n"] += 1
        if calls["n"] in (2, 3):
            raise KeyboardInterrupt
        return trainer_module.UPDATE_MODES["batch"](trainer, x, targets, mask)

    trainer_module.UPDATE_MODES["flaky"] = mode
    try:
        trainer = build(checkpoint=path, update="flaky")
        for _ in range(2):
            with pytest.raises(KeyboardInterrupt):
                trainer.run(4)
            assert meta_of(path)["sources"]["data"] == {"calls": 1} and trainer.data.calls == 2
        assert trainer.run(4).losses == build().run(4).losses
    finally:
        del trainer_module.UPDATE_MODES["flaky"]


# -- padded batches: the mask and the lengths reach the gradient --------------------------------------------------
def pooled(seed=0):
    from yetztml.cells import LSTM
    from yetztml.layers import Embedding, Pool

    return Sequential(Embedding(9, 3, padding_idx=0, seed=seed), LSTM(3, 4, seed=seed + 1), Pool(4, "mean"),
                      Linear(4, 2, seed=seed + 2))


class Padded:
    """Padded batches of 3 sequences (the first and last selected by the mask); dry after 40."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, rng):
        if self.calls >= 40:
            raise StopIteration
        self.calls += 1
        lengths = np.array([2, 5, 3])
        ids = np.zeros((5, 3), dtype=np.int64)
        for b, n in enumerate(lengths):
            ids[:n, b] = rng.integers(1, 9, n)
        labels = np.array([[0, 1, 1]])
        mask = np.array([[True, False, True]])
        return Batch(ids, labels, mask, lengths)


@pytest.mark.parametrize("update", ["batch", "sequence"])
def test_a_padded_batch_gives_its_mask_and_each_sequence_its_length(update):
    model = pooled()
    history = Trainer(model, Padded(), optimiser=SGD(model.params, lr=0.5), loss="cross_entropy", update=update,
                      progress=False, seed=2).run(2)
    ref = pooled()
    opt = SGD(ref.params, lr=0.5)
    rng, losses, padded = np.random.default_rng(2), [], Padded()
    for _ in range(2):
        ids, labels, mask, lengths = padded(rng)
        pieces = [(ids, labels, mask, lengths)] if update == "batch" else [
            (ids[:, b:b + 1], labels[:, b:b + 1], mask[:, b:b + 1], lengths[b:b + 1]) for b in range(3)]
        total = 0.0
        for piece in pieces:
            value, grads = gradients(ref, piece[0], piece[1], loss="cross_entropy", mask=piece[2], lengths=piece[3])
            opt.step(grads)
            total += value
        losses.append(total)
    assert history.losses == losses
    same(model.params, ref.params)
    assert history.clock.sequences == 6 and history.clock.updates == (2 if update == "batch" else 6)


# -- the bar the loop draws ---------------------------------------------------------------------------------------
def test_the_loop_draws_its_bar_from_the_steps_done(on_terminal, monkeypatch):
    made = []

    class Recording(_ProgressBar):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(trainer_module, "_ProgressBar", Recording)
    trainer = build(progress=True, status=lambda: "ok")
    first = trainer.run(2)
    second = trainer.run(3)
    task = made[1].bar.progress.tasks[0]
    assert (made[1].bar.total, made[1].bar.first, task.completed) == (3, 2, 3)
    assert task.fields["info"] == f"loss {np.mean(second.losses):.4g}  ok" and first.losses == second.losses[:2]
    assert made[0].bar.progress.tasks[0].fields["info"] == f"loss {np.mean(first.losses):.4g}  ok"
    build(progress=False).run(1)
    assert made[2].bar.progress is None


def test_apply_refuses_a_gradient_of_another_shape_or_kind_or_a_missing_one():
    """A plug-in update mode may hand apply() anything: a wrong shape would broadcast in the optimiser."""
    trainer = build()
    before = params(trainer.cell)
    good = {k: np.ones_like(v) for k, v in trainer.cell.params.items()}
    cases = [
        ({**good, "weight_hh_l0": np.ones(H)}, ShapeError,
         f"gradient 'weight_hh_l0': expected an array of shape ({H}, {H}), got ({H},)"),
        ({**good, "bias_ih_l0": [1.0] * H}, ShapeError, f"gradient 'bias_ih_l0': expected an array of shape ({H},), "
                                                        f"got ({H},)"),
        ({**good, "bias_hh_l0": np.ones(H, dtype=np.int64)}, DTypeError,
         "gradient 'bias_hh_l0': expected a float array, got dtype int64"),
        ({k: v for k, v in good.items() if k not in ("weight_ih_l0", "bias_hh_l0")}, OptionError,
         "gradients: expected one for every parameter, got none for ['weight_ih_l0', 'bias_hh_l0']"),
    ]
    for grads, error, text in cases:
        with pytest.raises(error) as info:
            trainer.apply(grads)
        assert str(info.value) == text
    same(trainer.cell.params, before)
    assert trainer.clock == Clock() and trainer.optimiser.steps == 0
    trainer.apply({**good, "extra": "ignored"})
    for k, v in trainer.cell.params.items():
        np.testing.assert_allclose(v, before[k] - 0.1, rtol=1e-15)


def test_lengths_may_come_with_the_gradient_options_for_plain_items():
    """Items (x, targets, mask) of one padding pattern: the lengths given once, as a gradient option."""
    rng = np.random.default_rng(4)
    batch = Padded()(rng)
    via_batch, via_options = pooled(), pooled()
    a = Trainer(via_batch, [batch] * 3, optimiser=SGD(via_batch.params, lr=0.5), loss="cross_entropy",
                progress=False).run(3)
    b = Trainer(via_options, [tuple(batch[:3])] * 3, optimiser=SGD(via_options.params, lr=0.5),
                loss="cross_entropy", gradient_options={"lengths": batch.lengths}, progress=False).run(3)
    assert a.losses == b.losses
    same(via_batch.params, via_options.params)


def test_the_step_error_keeps_the_inner_text_without_its_final_full_stop():
    def nan_gradient(trainer, x, targets, mask):
        value, grads = trainer.gradients(x, targets, mask)
        grads["bias_hh_l0"][1] = np.nan
        trainer.apply(grads)
        return value

    def own_error(trainer, x, targets, mask):
        raise NonFiniteError("overflow in unit X.")

    texts = []
    for name, mode in (("nan_gradient", nan_gradient), ("own_error", own_error)):
        trainer_module.UPDATE_MODES[name] = mode
        try:
            with pytest.raises(NonFiniteError) as info:
                build(update=name).run(2)
            texts.append(str(info.value))
        finally:
            del trainer_module.UPDATE_MODES[name]
    tail = " Last finite loss: none (first step). The cell keeps the weights from before this step."
    assert texts == [
        "Training step 0 (counting from 0): gradient 'bias_hh_l0': expected finite values, got NaN/inf entries. "
        "Clip gradients (clip_norm=...) or lower the learning rate." + tail,
        "Training step 0 (counting from 0): overflow in unit X." + tail,
    ]
