"""The training loop: update modes, schedules, determinism, non-finite stops, checkpoint and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from yetztml.cells.rnn import RNN
from yetztml.core.errors import CheckpointError, DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.learning import (
    SGD,
    UPDATE_MODES,
    Adam,
    Clock,
    Trainer,
    decay_per_sequence,
    decay_per_step,
    gradients,
    train,
)

T, B, I, H = 6, 3, 2, 3


class Source:
    """A data source with its own generator (checkpointed via get_state/set_state) that also uses the
    trainer's generator, so both random states must be restored for a resumed run to match."""

    def __init__(self, seed=7, nan_at=None):
        self.gen = np.random.default_rng(seed)
        self.calls = 0
        self.nan_at = nan_at

    def __call__(self, rng):
        x = self.gen.standard_normal((T, B, I))
        if self.calls == self.nan_at:
            x[2, 1, 0] = np.nan
        self.calls += 1
        targets = np.tanh(np.cumsum(x, axis=0))[:, :, :1] * rng.standard_normal((1, 1, H))
        mask = np.zeros((T, B), dtype=bool)
        mask[-1] = True
        mask[T // 2] = rng.random(B) < 0.5
        return x, targets, mask

    def get_state(self):
        return {"gen": self.gen.bit_generator.state, "calls": self.calls}

    def set_state(self, state):
        self.gen.bit_generator.state = state["gen"]
        self.calls = state["calls"]


def _setup(seed=0, update="batch", lr=0.05, checkpoint=None, **kw):
    cell = RNN(I, H, seed=1)
    opt = Adam(cell.params, lr=lr)
    trainer = Trainer(
        cell,
        Source(),
        optimiser=opt,
        loss="mse",
        update=update,
        progress=False,
        checkpoint=checkpoint,
        seed=seed,
        **kw,
    )
    return cell, trainer


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


# -- what one step does -------------------------------------------------------------------------------
@pytest.mark.parametrize("update", ["batch", "sequence"])
def test_steps_equal_a_hand_written_loop(update):
    cell, trainer = _setup(update=update, clip_norm=0.5)
    history = trainer.run(4)
    ref = RNN(I, H, seed=1)
    opt = Adam(ref.params, lr=0.05)
    source, rng, losses = Source(), np.random.default_rng(0), []
    for _ in range(4):
        x, targets, mask = source(rng)
        pieces = (
            [(x, targets, mask)]
            if update == "batch"
            else [(x[:, b : b + 1], targets[:, b : b + 1], mask[:, b : b + 1]) for b in range(B)]
        )
        total = 0.0
        for xs, ts, ms in pieces:
            value, grads = gradients(ref, xs, ts, loss="mse", mask=ms)
            norm = np.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values()))  # (C2), dot order
            if norm > 0.5:
                for g in grads.values():
                    g *= 0.5 / (norm + 1e-6)
            opt.step(grads)
            total += value
        losses.append(total)
    _same(cell.params, ref.params)
    assert history.losses == losses
    assert history.clock.step == 4
    assert history.clock.updates == (4 if update == "batch" else 4 * B)
    assert history.clock.sequences == 4 * B


def test_deterministic_under_a_seed():
    runs = []
    for seed in (5, 5, 6):
        cell, trainer = _setup(seed=seed)
        runs.append((trainer.run(8).losses, {k: v.copy() for k, v in cell.params.items()}))
    assert runs[0][0] == runs[1][0]
    _same(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_schedule_sets_the_rate_of_every_update():
    rates = []
    cell, trainer = _setup(
        update="sequence",
        schedule=decay_per_sequence(0.5),
        callbacks=[lambda step, loss, c: rates.append(trainer.optimiser.lr)],
    )
    trainer.run(2)
    # the last update of step s comes after s·B + B − 1 completed sequences
    assert rates == [0.05 * 0.5 ** (B - 1), 0.05 * 0.5 ** (2 * B - 1)]


def test_decay_per_step_restarts_with_each_sequence():
    schedule = decay_per_step(0.99)
    assert schedule(0.5, Clock(updates=40, updates_in_sequence=3)) == 0.5 * 0.99**3
    assert decay_per_step(0.99, reset_per_sequence=False)(0.5, Clock(updates=40)) == 0.5 * 0.99**40
    with pytest.raises(OptionError, match=r"decay_per_step\(factor\)"):
        decay_per_step(1.5)


def test_an_update_mode_plugs_in():
    """A mode making several updates within one sequence: decay_per_step shrinks the rate inside it."""
    rates = []

    def twice(trainer, x, targets, mask):
        trainer.begin_sequence()
        for _ in range(2):
            value, grads = trainer.gradients(x, targets, mask)
            trainer.apply(grads)
            rates.append(trainer.optimiser.lr)
        trainer.end_sequence(x.shape[1])
        return value

    UPDATE_MODES["twice"] = twice
    try:
        cell = RNN(I, H, seed=1)
        trainer = Trainer(
            cell,
            Source(),
            optimiser=SGD(cell.params, lr=0.5),
            update="twice",
            schedule=decay_per_step(0.9),
            progress=False,
        )
        trainer.run(2)
    finally:
        del UPDATE_MODES["twice"]
    assert rates == [0.5, 0.5 * 0.9, 0.5, 0.5 * 0.9]


def test_callback_can_stop_and_data_can_run_out():
    cell, trainer = _setup(callbacks=[lambda step, loss, c: step == 2])
    history = trainer.run(10)
    assert history.stopped_by_callback and len(history.losses) == 3
    cell = RNN(I, H, seed=1)
    source, rng = Source(), np.random.default_rng(0)
    items = [source(rng) for _ in range(4)]
    history = train(cell, items, optimiser=SGD(cell.params, lr=0.1), loss="mse", steps=10, progress=False)
    assert history.data_exhausted and len(history.losses) == 4


def test_float32_training_keeps_float32():
    cell = RNN(I, H, seed=1, dtype=np.float32)

    def data(rng):
        x, targets, mask = Source()(rng)
        return x.astype(np.float32), targets.astype(np.float32), mask

    history = train(
        cell,
        data,
        optimiser=Adam(cell.params, lr=0.05),
        loss="mse",
        steps=3,
        progress=False,
        method="tbptt",
        gradient_options={"k1": 2, "k2": 4},
    )
    assert all(p.dtype == np.float32 for p in cell.params.values())
    assert len(history.losses) == 3 and all(np.isfinite(history.losses))


def test_progress_bar_is_silent_off_a_terminal(capfd):
    cell = RNN(I, H, seed=1)
    train(cell, Source(), optimiser=SGD(cell.params, lr=0.1), loss="mse", steps=3, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# -- non-finite values -----------------------------------------------------------------------------------
def test_nan_from_the_data_names_the_step_and_rolls_back():
    cell = RNN(I, H, seed=1)
    trainer = Trainer(
        cell, Source(nan_at=3), optimiser=Adam(cell.params, lr=0.05), loss="mse", progress=False
    )
    with pytest.raises(NonFiniteError, match=r"Training step 3 \(counting from 0\): data x: expected finite") as err:
        trainer.run(10)
    assert f"Last finite loss: {trainer.history[-1]:.6g}." in str(err.value)
    ref = RNN(I, H, seed=1)
    Trainer(ref, Source(), optimiser=Adam(ref.params, lr=0.05), loss="mse", progress=False).run(3)
    _same(cell.params, ref.params)
    assert trainer.clock.step == 3 and len(trainer.history) == 3


def test_nan_gradient_from_a_loss_names_the_tensor():
    def broken(outputs, targets, mask=None):
        d = np.ones_like(outputs)
        d[0, 0, 0] = np.inf
        return 1.0, d

    cell = RNN(I, H, seed=1)
    with pytest.raises(NonFiniteError, match=r"Training step 0 .*RNN.backward\(d_outputs\).*Last finite loss: none"):
        train(cell, Source(), optimiser=SGD(cell.params, lr=0.1), loss=broken, steps=2, progress=False)


# -- checkpoints ------------------------------------------------------------------------------------------
def test_interrupt_mid_step_writes_a_consistent_checkpoint(tmp_path):
    """KeyboardInterrupt after some updates of a step: roll back, save, and continue bit-identically."""
    path = tmp_path / "run.npz"
    calls = {"n": 0}

    def mse_interrupted(outputs, targets, mask=None):
        calls["n"] += 1
        if calls["n"] == 3 * B + 2:  # inside step 3, after two of its B updates
            raise KeyboardInterrupt
        from yetztml.learning.losses import mse

        return mse(outputs, targets, mask=mask)

    def build(loss):
        cell = RNN(I, H, seed=1)
        return cell, Trainer(
            cell,
            Source(),
            optimiser=Adam(cell.params, lr=0.05),
            loss=loss,
            update="sequence",
            progress=False,
            checkpoint=path,
            checkpoint_every=100,
        )

    cell_ref, ref = build(mse_interrupted)
    calls["n"] = -(10**9)  # never interrupts
    ref_history = ref.run(6)

    calls["n"] = 0
    cell, trainer = build(mse_interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.run(6)
    assert trainer.clock.step == 3 and len(trainer.history) == 3
    again = trainer.run(6)  # in the same process
    assert again.losses == ref_history.losses
    _same(cell.params, cell_ref.params)

    calls["n"] = 0
    cell2, first = build(mse_interrupted)
    with pytest.raises(KeyboardInterrupt):
        first.run(6)
    cell3, resumed = build(mse_interrupted)  # a fresh trainer from the file
    history = resumed.run(6, resume=True)
    assert history.losses == ref_history.losses
    _same(cell3.params, cell_ref.params)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary files left behind


@pytest.mark.parametrize("make", [lambda params: Adam(params, lr=0.05),
                                  lambda params: SGD(params, lr=0.05, momentum=0.9)], ids=["Adam", "SGD"])
@pytest.mark.parametrize("at", [-1, 0, 2])
def test_an_interrupt_between_the_parameters_of_an_update_rolls_back_exactly(make, at):
    """Ctrl-C lands inside the optimiser's pass over the parameters of step 3, before its parameter ``at``
    (0: before any; 2: after two were updated; −1: as the optimiser's step begins, before it has copied
    anything): the roll-back restores the updated ones and leaves the others (whose roll-back copies,
    kept from an earlier step, are stale) alone; the run then continues as the uninterrupted one, bit for
    bit."""
    def build():
        cell = RNN(I, H, seed=1)
        return cell, Trainer(cell, Source(), optimiser=make(cell.params), loss="mse", progress=False)

    cell_ref, ref = build()
    ref_history = ref.run(6)
    cell, trainer = build()
    name = "step" if at < 0 else "_update"
    original, calls = getattr(type(trainer.optimiser), name), {"n": 0}
    cut = 2 if at < 0 else 2 * len(cell.params) + at  # the third step (its parameter ``at``)

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] - 1 == cut:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    setattr(type(trainer.optimiser), name, interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            trainer.run(6)
    finally:
        setattr(type(trainer.optimiser), name, original)
    assert trainer.clock.step == 2 and trainer.optimiser.steps == 2
    assert trainer.run(6).losses == ref_history.losses
    _same(cell.params, cell_ref.params)


class CutSource(Source):
    """Source whose draw number ``cut_at`` is interrupted after it used both generators: the interrupt
    lands inside the drawing of an item, as a Ctrl-C during a batch's conversion does."""

    def __init__(self, cut_at):
        super().__init__()
        self.cut_at, self.draws = cut_at, 0

    def __call__(self, rng):
        item = super().__call__(rng)
        self.draws += 1
        if self.draws == self.cut_at:
            raise KeyboardInterrupt
        return item


def test_an_interrupt_inside_a_draw_draws_that_item_again(tmp_path):
    """Without the roll-back of the sources, the item being drawn when the interrupt came would be
    skipped: the rerun (in the same process, and from the checkpoint) would train on items 0, 1, 3, ...
    and its losses from step 2 on would differ from the uninterrupted run's."""
    path = tmp_path / "run.npz"

    def build(source):
        cell = RNN(I, H, seed=1)
        return cell, Trainer(cell, source, optimiser=Adam(cell.params, lr=0.05), loss="mse", update="batch",
                             progress=False, checkpoint=path, checkpoint_every=100)

    cell_ref, ref = build(CutSource(cut_at=0))
    straight = ref.run(5).losses
    cell, trainer = build(CutSource(cut_at=3))  # the draw of step 2 is cut
    with pytest.raises(KeyboardInterrupt):
        trainer.run(5)
    assert trainer.history == straight[:2]
    assert trainer.run(5).losses == straight  # in the same process
    _same(cell.params, cell_ref.params)
    cell2, first = build(CutSource(cut_at=3))
    with pytest.raises(KeyboardInterrupt):
        first.run(5)
    cell3, resumed = build(CutSource(cut_at=0))  # a fresh trainer from the file
    assert resumed.run(5, resume=True).losses == straight
    _same(cell3.params, cell_ref.params)


def test_iterator_without_state_is_fast_forwarded(tmp_path):
    def items():
        source, rng = Source(), np.random.default_rng(3)
        while True:
            yield source(rng)

    def build():
        cell = RNN(I, H, seed=1)
        return cell, Trainer(
            cell,
            items(),
            optimiser=SGD(cell.params, lr=0.1, momentum=0.9),
            loss="mse",
            progress=False,
            checkpoint=tmp_path / "it.npz",
            checkpoint_every=3,
        )

    cell_a, a = build()
    full = a.run(9).losses
    cell_b, b = build()
    b.run(4)
    cell_c, c = build()
    assert c.run(9, resume=True).losses == full
    _same(cell_c.params, cell_a.params)


def test_checkpoint_file_reads_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    cell, trainer = _setup(checkpoint=path, checkpoint_every=2)
    trainer.run(3)
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        assert meta["format"] == "yetztml-checkpoint" and meta["clock"]["step"] == 3
        np.testing.assert_array_equal(data["history"], trainer.history)
        np.testing.assert_array_equal(
            data[meta["arrays"]["params"]["weight_hh_l0"]], cell.params["weight_hh_l0"]
        )


def test_resume_refuses_another_configuration(tmp_path):
    path = tmp_path / "c.npz"
    _, trainer = _setup(checkpoint=path)
    trainer.run(2)
    cell = RNN(I, H + 1, seed=1)
    other = Trainer(cell, Source(), optimiser=Adam(cell.params), loss="mse", progress=False, checkpoint=path)
    with pytest.raises(CheckpointError, match=r"params: checkpoint"):
        other.run(4, resume=True)
    _, missing = _setup(checkpoint=tmp_path / "none.npz")
    with pytest.raises(CheckpointError, match=r"resume=False"):
        missing.run(4, resume=True)
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    _, corrupt = _setup(checkpoint=tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match=r"a readable yetztml checkpoint"):
        corrupt.run(4, resume=True)


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from yetztml.cells.rnn import RNN
    from yetztml.learning import Adam, train

    class Source:
        def __init__(self):
            self.gen = np.random.default_rng(11)
        def __call__(self, rng):
            time.sleep(0.004)
            x = self.gen.standard_normal((12, 4, 2))
            return x, np.sin(np.cumsum(x, axis=0))[:, :, :1] * rng.standard_normal((1, 1, 5))
        def get_state(self):
            return self.gen.bit_generator.state
        def set_state(self, state):
            self.gen.bit_generator.state = state

    checkpoint, out, resume = sys.argv[1], sys.argv[2], sys.argv[3] == "resume"
    cell = RNN(2, 5, seed=2)

    def report(step, loss, cell):
        print(step, flush=True)

    history = train(cell, Source(), optimiser=Adam(cell.params, lr=0.01), loss="squared_error", steps=150,
                    checkpoint=None if checkpoint == "-" else checkpoint, checkpoint_every=1, seed=4,
                    callbacks=[report], resume=resume, progress=True)
    np.savez(out, history=np.array(history.losses), **cell.params)
    """
)


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)], capture_output=True, text=True, check=True
    )


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    checkpoint = tmp_path / "run.npz"
    victim = subprocess.Popen(
        [sys.executable, str(script), str(checkpoint), str(tmp_path / "never.npz"), "new"],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in victim.stdout:
        if int(line) >= 7:
            break
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    with np.load(checkpoint, allow_pickle=False) as data:
        done = json.loads(str(data["meta"]))["clock"]["step"]
    assert 7 <= done < 150  # killed mid-run, after some checkpoints
    assert not os.path.exists(tmp_path / "never.npz")

    _run(script, checkpoint, tmp_path / "resumed.npz", "resume")
    _run(script, "-", tmp_path / "straight.npz", "new")
    with np.load(tmp_path / "resumed.npz") as resumed, np.load(tmp_path / "straight.npz") as straight:
        assert set(resumed.files) == set(straight.files)
        for name in straight.files:
            np.testing.assert_array_equal(resumed[name], straight[name])
        assert len(straight["history"]) == 150


# -- bad input -------------------------------------------------------------------------------------------
def test_bad_input():
    cell = RNN(I, H, seed=1)
    opt = SGD(cell.params, lr=0.1)
    with pytest.raises(OptionError, match=r"SGD\(lr\)"):
        SGD(cell.params, lr=-1.0)
    with pytest.raises(OptionError, match=r"built on cell.params"):
        Trainer(cell, Source(), optimiser=SGD(dict(cell.params), lr=0.1))
    with pytest.raises(OptionError, match=r"Trainer\(update\): expected one of 'batch', 'sequence', 'step'"):
        Trainer(cell, Source(), optimiser=opt, update="epoch")
    with pytest.raises(OptionError, match=r"loss: expected one of"):
        Trainer(cell, Source(), optimiser=opt, loss="hinge")
    with pytest.raises(DTypeError, match=r"Trainer\(data\)"):
        Trainer(cell, 42, optimiser=opt)
    with pytest.raises(OptionError, match=r"k2 >= k1"):
        train(
            cell,
            Source(),
            optimiser=opt,
            loss="mse",
            method="tbptt",
            gradient_options={"k1": 3, "k2": 2},
            steps=1,
            progress=False,
        )
    with pytest.raises(OptionError, match=r"Trainer\(method\): expected one of 'bptt', 'tbptt'"):
        train(cell, Source(), optimiser=opt, method="newton", steps=1, progress=False)
    with pytest.raises(ShapeError, match=r"mse\(targets\)"):
        train(
            cell,
            lambda rng: (np.zeros((T, B, I)), np.zeros((T, B, H + 1))),
            optimiser=opt,
            loss="mse",
            steps=1,
            progress=False,
        )
    with pytest.raises(DTypeError, match=r"item"):
        train(cell, lambda rng: np.zeros((T, B, I)), optimiser=opt, steps=1, progress=False)


def test_legacy_random_state_round_trips_through_a_checkpoint(tmp_path):
    """get_state() may return tuples, ndarrays and NumPy scalars (np.random.RandomState does)."""

    class Legacy:
        def __init__(self):
            self.rs = np.random.RandomState(5)

        def __call__(self, rng):
            x = self.rs.standard_normal((T, B, I))
            return x, np.tanh(x[:, :, :1]) * np.ones((1, 1, H))

        def get_state(self):
            return self.rs.get_state()

        def set_state(self, state):
            self.rs.set_state(state)

    def build():
        cell = RNN(I, H, seed=1)
        opt = SGD(cell.params, lr=0.1)
        return cell, Trainer(cell, Legacy(), optimiser=opt, progress=False, checkpoint=tmp_path / "l.npz")

    cell_a, a = build()
    full = a.run(6).losses
    cell_b, b = build()
    b.run(3)
    cell_c, c = build()
    assert c.run(6, resume=True).losses == full
    _same(cell_c.params, cell_a.params)
