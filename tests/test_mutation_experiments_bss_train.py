"""`experiments/bss_train.py` pinned: the initial state, the loss with and without the penalty, the monitor's
clarity, the checkpoint's reading and its messages, the resume checks, and the training loop's record, its
checkpoint and evaluation cadence, its progress text and its handling of a held interrupt (tiny sizes).

``smooth_l1_sum`` is a Numba kernel (``@njit``), not mutated; ``tests/test_bss_speed.py`` checks it against
``learning.losses.smooth_l1``."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from yetztml.analysis.clarity import signal_clarity
from yetztml.cells.closed_loop import Workspace
from yetztml.core.errors import CheckpointError, NonFiniteError, ShapeError
from yetztml.experiments import bss
from yetztml.experiments import bss_train as bt
from yetztml.learning import checkpoint as ckpt
from yetztml.learning.losses import smooth_l1
from yetztml.tasks.bss import BSSTask

#: Seed 1, five batches of the config below (lr 1e-2, gradients clipped at 1e-3 so that the clip acts).
LOSS = [0.695657118766489, 1.6252153523632809, 0.9582821740265893, 1.7478559321864413, 2.086224031745598]
CURVE = [(2, 0.25290219873070574, 1.160436235564885), (4, 0.2065350293908456, 1.2567526443357),
         (5, 0.38285983981871524, 1.4226469218176796)]


def config(**changes):
    base = dict(batch_size=2, n_steps=30, hidden_size=4, n_monitor=2, n_test=2, eval_every=2, checkpoint_every=2,
                lr=1e-2, clip=1e-3, threads=1, batches=5, analyses=False, figures=False)
    return bss.validate(bss.BSSConfig(**(base | changes)))


def train(cfg, out, resume=False, progress=False, seed=1):
    child = bss.seeds(seed)
    out.mkdir(parents=True, exist_ok=True)
    net = bss.build_model(cfg, child["model"])
    task = bss.build_task(cfg, child["train"])
    return bt.train(net, task, cfg, child, out, resume=resume, progress=progress), net


def test_initial_state_zero_and_the_dale_release_probabilities():
    cfg = config(model="dale", hidden_size=3, n_feedback=2)
    net = bss.build_model(cfg, 0)
    for testing, std in ((False, 0.01), (True, 0.1)):
        state = bt.initial_state(net, 2, np.random.default_rng(4), testing=testing)
        expected = np.random.default_rng(4).normal(0.5, std, size=(2, 100)).astype(np.float32)
        assert state.p.dtype == np.float32
        np.testing.assert_array_equal(state.p, expected)
        np.testing.assert_array_equal(state.h, np.zeros((2, 3), np.float32))
    modulation = bss.build_model(config(), 0)
    rng = np.random.default_rng(4)
    state = bt.initial_state(modulation, 3, rng, testing=True)
    assert all(np.array_equal(a, b) for a, b in zip(state, modulation.zero_state(3), strict=True))
    assert rng.random() == np.random.default_rng(4).random()  # drew nothing


def _trace(net, cfg, seed=2):
    batch = BSSTask("chords", n_sources=2, noise=cfg.noise, n_steps=cfg.n_steps, seed=seed,
                    dtype=np.dtype("float32")).train_batch(3)
    return net.forward(batch.x, net.zero_state(3)), batch.s


def test_batch_loss_is_the_mean_smooth_l1_summed_over_time():
    cfg = config()
    net = bss.build_model(cfg, 0)
    trace, s = _trace(net, cfg)
    value, dy, d_u = bt.batch_loss(net, trace, s, 1e-3)  # a penalty only for the Dale network
    y = trace.outputs.astype(np.float64)
    assert value == pytest.approx(smooth_l1(y, s.astype(np.float64), reduction="sum")[0] / 6, rel=1e-12)
    d = y - s
    np.testing.assert_allclose(dy, np.where(np.abs(d) < 1, d, np.sign(d)) / 6, rtol=1e-5, atol=1e-9)
    assert d_u is None and type(value) is float
    with pytest.raises(ShapeError) as caught:
        bt.batch_loss(net, trace, s[:, :2], 0.0)
    assert str(caught.value) == "batch_loss(s): expected the shape of the outputs (30, 3, 2), got shape (30, 2, 2)"


def test_batch_loss_of_the_dale_network_adds_the_output_penalty():
    cfg = config(model="dale")
    net = bss.build_model(cfg, 0)
    trace, s = _trace(net, cfg)
    plain, dy, none = bt.batch_loss(net, trace, s, 0.0)
    value, dy2, d_u = bt.batch_loss(net, trace, s, 0.25)
    u = trace.extras["u"]
    assert none is None and np.array_equal(dy, dy2)
    assert value == pytest.approx(plain + 0.25 * np.abs(u.astype(np.float64)).sum(), rel=1e-12)
    assert d_u.dtype == np.float32 and np.abs(u).sum() > 0
    np.testing.assert_array_equal(d_u, (0.25 * np.sign(u)).astype(np.float32))


def test_the_monitor_scores_fixed_contexts_at_batch_size_one():
    cfg = config(n_monitor=3)
    monitor = bt.Monitor(cfg, 5, np.dtype("float32"))
    run = BSSTask("chords", n_sources=2, noise=cfg.noise, n_steps=30, seed=5, dtype=np.dtype("float32")).test_run(3)
    np.testing.assert_array_equal(monitor.run.x, run.x)
    assert (monitor.n_steps, monitor.state_rng_seed) == (30, 5)
    net = bss.build_model(cfg, 7)
    trace = net.forward(run.x, net.zero_state(1))
    expected = signal_clarity(run.s[:, 0], trace.outputs[:, 0], 30).mean
    assert monitor.clarity(net) == expected == pytest.approx(0.14516194778266633, rel=1e-6)
    assert bt.Monitor(config(), 5, np.dtype("float32")).clarity(bss.build_model(config(), 7)) == pytest.approx(
        0.08217637739641596, rel=1e-6)
    two = bt.Monitor(config(sources="ica", n_sources=2), 5, np.dtype("float32"))  # two of the three sources
    assert two.run.x.shape == (60, 1, 2)
    sines = bt.Monitor(config(sources="sines", noise=0.05, n_monitor=2), 5, np.dtype("float32"))
    same = BSSTask("sines", n_sources=2, noise=0.05, n_steps=30, seed=5, dtype=np.dtype("float32")).test_run(2)
    np.testing.assert_array_equal(sines.run.x, same.x)


def test_the_monitor_starts_the_dale_network_from_its_seeded_test_state(monkeypatch):
    cfg = config(model="dale")
    monitor = bt.Monitor(cfg, 5, np.dtype("float32"))
    net = bss.build_model(cfg, 7)
    seen = []
    forward = net.forward
    monkeypatch.setattr(net, "forward", lambda x, state, **kw: seen.append(state.p) or forward(x, state, **kw))
    monitor.clarity(net)
    expected = np.random.default_rng(5).normal(0.5, 0.1, size=(1, 100)).astype(np.float32)
    np.testing.assert_array_equal(seen[0], expected)
    assert monitor.workspace is not None


def test_the_fingerprint_is_the_resume_fields_of_the_config():
    fingerprint = bt._fingerprint(config(model="spatial"))
    assert list(fingerprint) == list(bt.FINGERPRINT)
    assert (fingerprint["tau"], fingerprint["model"], fingerprint["lr"], fingerprint["threads"]) == (
        100.0, "spatial", 0.01, 1)


def _bad_checkpoint(path, text):
    with pytest.raises(CheckpointError) as caught:
        bt.read_checkpoint(path)
    assert str(caught.value) == text


def test_unreadable_checkpoints_are_one_message(tmp_path):
    fix = "Use --force to start the run over, or another --out."
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(b"")
    _bad_checkpoint(path, f"checkpoint '{path}': expected a readable yetztml checkpoint, got an empty file. {fix}")
    path.write_bytes(b"12345")
    _bad_checkpoint(path, f"checkpoint '{path}': expected a readable yetztml checkpoint, got 5 bytes that are not an"
                          f" .npz. {fix}")
    _bad_checkpoint(tmp_path / "none.npz", f"checkpoint '{tmp_path / 'none.npz'}': expected a readable yetztml "
                                           f"checkpoint, got FileNotFoundError: [Errno 2] No such file or directory:"
                                           f" '{tmp_path / 'none.npz'}'. {fix}")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.npy", b"")
    with pytest.raises(CheckpointError) as caught:  # ckpt.load's own message, which names the file
        bt.read_checkpoint(path)
    assert str(caught.value).startswith(f"checkpoint '{path}': expected a readable yetztml checkpoint, got KeyError")
    assert str(caught.value).endswith("Check the path, or start a new run (resume=False).")


def test_a_checkpoint_under_an_escaped_name_is_named_as_given(tmp_path):
    folder = tmp_path / "a\\b"  # repr doubles the backslash: ckpt.load's message does not hold the name as given
    folder.mkdir()
    path = folder / "checkpoint.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.npy", b"")
    with pytest.raises(CheckpointError) as caught:
        bt.read_checkpoint(path)
    text = str(caught.value)
    assert text.startswith(f"checkpoint {str(path)!r}: expected a readable yetztml checkpoint, got (checkpoint ")
    assert text.endswith("Use --force to start the run over, or another --out.")
    assert isinstance(caught.value.__cause__, CheckpointError)


def test_a_checkpoint_of_another_program_is_refused(tmp_path):
    path = tmp_path / "checkpoint.npz"
    text = (f"checkpoint '{path}': expected a checkpoint of `demo bss`, got one without its run's configuration. "
            "Use --force to start the run over, or another --out.")
    for meta in ({}, {"fingerprint": [], "batches_done": 1}, {"fingerprint": {}, "batches_done": 1.0}):
        ckpt.save(path, {"w": np.zeros(1)}, {"name": "adam", "buffers": {}}, [], meta)
        _bad_checkpoint(path, text)
    ckpt.save(path, {"w": np.zeros(1)}, {"name": "adam", "buffers": {}}, [], {"fingerprint": {}, "batches_done": 1})
    assert bt.read_checkpoint(path)[3]["batches_done"] == 1


def test_resume_checks_name_what_differs_and_the_batches(tmp_path):
    cfg = config()
    folder = tmp_path / "run"
    meta = {"fingerprint": bt._fingerprint(config(seed=4, lr=0.5)), "batches_done": 3}
    with pytest.raises(CheckpointError) as caught:
        bt.check_resumable(folder / "checkpoint.npz", cfg, meta)
    assert str(caught.value) == (
        f"output folder '{folder}': expected a run of the same configuration (a rerun resumes it) or a new folder, "
        "got a run differing in lr (0.5 there, 0.01 here), seed (4 there, 0 here). Rerun with the options of the "
        "run there to continue it, use another --out, or --force to start over.")
    meta = {"fingerprint": bt._fingerprint(cfg) | {"extra": 1}, "batches_done": 3}
    with pytest.raises(CheckpointError, match=r"differing in extra \(1 there, None here\)\."):
        bt.check_resumable(folder / "checkpoint.npz", cfg, meta)
    meta = {"fingerprint": bt._fingerprint(cfg), "batches_done": 6}
    with pytest.raises(CheckpointError) as caught:
        bt.check_resumable(folder / "checkpoint.npz", cfg, meta)
    assert str(caught.value) == (
        f"output folder '{folder}': expected a run of at most --batches 5 batches, got one with 6 batches done. "
        "Rerun with --batches 6 or more to continue it, use another --out, or --force to start over.")
    assert bt.check_resumable(folder / "checkpoint.npz", cfg, meta | {"batches_done": 5}) == 5


def test_check_resumable_reads_the_checkpoint_when_not_given(tmp_path):
    train(config(batches=2), tmp_path)
    assert bt.check_resumable(tmp_path / "checkpoint.npz", config(batches=3)) == 2
    with pytest.raises(CheckpointError, match=r"seed \(0 there, 1 here\)"):
        bt.check_resumable(tmp_path / "checkpoint.npz", config(batches=3, seed=1))


def test_training_record_losses_curve_and_times(tmp_path):
    record, net = train(config(), tmp_path)
    assert record["loss"] == pytest.approx(LOSS, rel=1e-6)
    assert [(c["batch"], c["clarity_output"], c["loss"]) for c in record["curve"]] == [
        (b, pytest.approx(c, rel=1e-6), pytest.approx(v, rel=1e-6)) for b, c, v in CURVE]
    assert CURVE[1][2] == pytest.approx(np.mean(LOSS[:4]), rel=1e-12)
    assert (record["batches"], record["resumed_from"], record["checkpoint"]) == (5, 0, str(tmp_path / "checkpoint.npz"))
    meta = ckpt.load(tmp_path / "checkpoint.npz")[3]
    times, cpu = meta["times"], meta["cpu_times"]
    assert len(times) == len(cpu) == 5 and meta["batches_done"] == 5
    assert record["seconds_per_batch"] == float(np.median(times[1:]))
    assert record["seconds_per_batch_mean"] == float(np.mean(times[1:]))
    assert record["cpu_seconds_per_batch"] == float(np.median(cpu[1:]))
    assert (record["first_batch_seconds"], record["training_seconds"]) == (times[0], float(np.sum(times)))
    assert 0.0 < record["monitor_seconds"] < record["training_seconds"] + 10.0
    assert meta["curve"] == json.loads(json.dumps(record["curve"]))


class Clock:
    """perf_counter returns i³ at its i-th call, process_time 2·i³: every interval differs from the others."""

    def __init__(self):
        self.wall, self.cpu = 0, 0

    def perf_counter(self):
        self.wall += 1
        return float((self.wall - 1) ** 3)

    def process_time(self):
        self.cpu += 1
        return float(2 * (self.cpu - 1) ** 3)


def test_the_times_of_the_record(tmp_path, monkeypatch):
    monkeypatch.setattr(bt, "time", Clock())
    record, _ = train(config(batches=4, eval_every=10), tmp_path)
    # wall: batches 0–1, 8–27, 64–125, 216–343, then the clarity check 512–729
    assert ckpt.load(tmp_path / "checkpoint.npz")[3]["times"] == [1.0, 19.0, 61.0, 127.0]
    assert (record["seconds_per_batch"], record["seconds_per_batch_mean"], record["cpu_seconds_per_batch"]) == (
        61.0, 69.0, 122.0)
    assert (record["first_batch_seconds"], record["training_seconds"], record["monitor_seconds"]) == (
        1.0, 208.0, 217.0)
    monkeypatch.setattr(bt, "time", Clock())
    record, _ = train(config(batches=3, eval_every=1), tmp_path / "b")
    # wall: batch 0–1, check 8–27, batch 64–125, check 216–343, batch 512–729, check 1000–1331
    assert (record["training_seconds"], record["monitor_seconds"]) == (1.0 + 61.0 + 217.0, 19.0 + 127.0 + 331.0)


@pytest.mark.parametrize("batches", [1, 2])
def test_a_short_run_times_its_batches(batches, tmp_path):
    record, _ = train(config(batches=batches), tmp_path)
    times = ckpt.load(tmp_path / "checkpoint.npz")[3]["times"]
    assert record["seconds_per_batch"] == times[-1] and record["seconds_per_batch_mean"] == times[-1]
    assert record["cpu_seconds_per_batch"] == ckpt.load(tmp_path / "checkpoint.npz")[3]["cpu_times"][-1]
    assert record["loss"] == pytest.approx(LOSS[:batches], rel=1e-6)


def test_the_checkpoint_holds_what_a_resume_needs(tmp_path):
    straight, net = train(config(), tmp_path / "a")
    train(config(batches=3), tmp_path / "b")
    resumed, again = train(config(), tmp_path / "b", resume=True)
    assert resumed["resumed_from"] == 3 and resumed["loss"] == straight["loss"]
    assert resumed["curve"][:1] + resumed["curve"][2:] == straight["curve"]
    assert resumed["curve"][1]["batch"] == 3  # the first run's last batch was checked
    for name, value in net.params.items():
        np.testing.assert_array_equal(again.params[name], value)
    arrays, opt, history, meta = ckpt.load(tmp_path / "b" / "checkpoint.npz")
    assert history == straight["loss"] and meta["batches_done"] == 5
    assert meta["fingerprint"] == bt._fingerprint(config())
    assert sorted(k for k in arrays if k.startswith("state/")) == ["state/0", "state/1", "state/2"]
    assert len(meta["times"]) == len(meta["cpu_times"]) == 5


def test_a_finished_run_resumed_trains_nothing(tmp_path):
    first, _ = train(config(batches=2), tmp_path)
    again, _ = train(config(batches=2), tmp_path, resume=True)
    assert again["resumed_from"] == 2 and again["loss"] == first["loss"]
    assert again["curve"] == first["curve"] and again["monitor_seconds"] == 0.0


def test_the_dale_penalty_reaches_the_training_loss(tmp_path):
    record, _ = train(config(model="dale", lambda_out=0.5, batches=2), tmp_path)
    assert record["loss"] == pytest.approx([15.612869984074644, 16.283379630690867], rel=1e-6)
    assert record["curve"][0]["clarity_output"] == pytest.approx(0.16750744413847263, rel=1e-6)


def test_checkpoints_and_clarity_checks_are_due_on_their_cadence(tmp_path, monkeypatch):
    saved = []
    save = bt._save
    monkeypatch.setattr(bt, "_save", lambda path, net, opt, state, history, meta: saved.append(meta["batches_done"])
                        or save(path, net, opt, state, history, meta))
    record, _ = train(config(batches=7, eval_every=3, checkpoint_every=2), tmp_path / "a")
    assert saved == [2, 4, 6, 7] and [c["batch"] for c in record["curve"]] == [3, 6, 7]
    saved.clear()
    record, _ = train(config(batches=7, eval_every=2, checkpoint_every=3), tmp_path / "b")
    assert saved == [3, 6, 7] and [c["batch"] for c in record["curve"]] == [2, 4, 6, 7]


class Recorder:
    """A stand-in for the progress bar: what the loop shows."""

    made: list = []

    def __init__(self, label, total, done=0, enabled=True, unit="step"):
        self.calls = [("new", label, total, done, enabled, unit)]
        Recorder.made.append(self)

    def advance(self, info=""):
        self.calls.append(("advance", info))

    def line(self, info, done=None):
        self.calls.append(("line", info, done))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def test_the_progress_shows_the_loss_and_clarity(tmp_path, monkeypatch):
    Recorder.made = []
    monkeypatch.setattr(bt, "ProgressBar", Recorder)
    train(config(batches=3), tmp_path, progress=True)
    calls = [(c[0], c[1].rsplit("  ", 1)[0] if c[0] == "advance" else c[1], *c[2:]) for c in Recorder.made[0].calls]
    assert calls == [
        ("new", "training", 3, 0, True, "batch"),
        ("advance", f"loss {LOSS[0]:.4g}  clarity –"),
        ("line", f"loss {np.mean(LOSS[:2]):.4g}  clarity {CURVE[0][1]:.3f}", 2),
        ("advance", f"loss {np.mean(LOSS[:2]):.4g}  clarity {CURVE[0][1]:.3f}"),
        ("line", "loss 1.093  clarity 0.329", 3),
        ("advance", "loss 1.093  clarity 0.329"),
    ]
    assert all(c[1].endswith(" s/batch") for c in Recorder.made[0].calls if c[0] == "advance")
    Recorder.made = []
    train(config(batches=5, eval_every=10), tmp_path, resume=True, progress=False)  # batch 4: no check
    assert Recorder.made[0].calls[0] == ("new", "training", 5, 3, False, "batch")
    assert Recorder.made[0].calls[1][0] == "advance"
    assert Recorder.made[0].calls[1][1].startswith("loss 1.257  clarity 0.329  ")  # the checkpoint's last check


def test_the_loss_window_is_the_last_twenty_batches(tmp_path):
    cfg = dict(batch_size=1, n_steps=4, hidden_size=2, eval_every=1000, checkpoint_every=1000)
    record, _ = train(config(batches=23, **cfg), tmp_path / "a")
    assert record["curve"][0]["loss"] == pytest.approx(np.mean(record["loss"][-20:]), rel=1e-12)
    train(config(batches=21, **cfg), tmp_path / "b")
    resumed, _ = train(config(batches=23, **cfg), tmp_path / "b", resume=True)
    assert resumed["curve"][-1]["loss"] == record["curve"][0]["loss"]


def test_a_non_finite_loss_stops_with_the_batch_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(bt, "batch_loss", lambda net, trace, s, lam: (float("nan"), None, None))
    with pytest.raises(NonFiniteError) as caught:
        train(config(), tmp_path)
    assert str(caught.value) == ("bss training, batch 0: expected a finite loss, got nan. Lower --lr or use --dtype "
                                 "float64.")


def test_the_thread_count_reaches_the_forward_pass(tmp_path, monkeypatch):
    cfg = config(batches=1, threads=2)
    child = bss.seeds(0)
    net = bss.build_model(cfg, child["model"])
    seen = []
    forward = net.forward
    # recorded, then run on one thread: no process-wide pool of threads is made (a process forked from this
    # one could not use it)
    monkeypatch.setattr(net, "forward", lambda x, state, **kw: seen.append(kw.get("threads"))
                        or forward(x, state, **(kw | {"threads": 1})))
    bt.train(net, bss.build_task(cfg, child["train"]), cfg, child, tmp_path, resume=False, progress=False)
    assert seen == [2, None]  # the batch, then the monitor's run at batch size 1


class Held:
    """A stand-in for HeldSignals: a signal is pending once ``at`` batches have computed their loss."""

    def __init__(self, counter, at):
        self.counter, self.at = counter, at

    @property
    def pending(self):
        return [2] if len(self.counter) == self.at else []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def deliver(self):
        raise KeyboardInterrupt


@pytest.mark.parametrize(("at", "expected"), [(3, [2, 3]), (2, [2])])
def test_an_interrupt_keeps_the_finished_batch_then_passes_on(at, expected, tmp_path, monkeypatch):
    saved, counter = [], []
    save, loss = bt._save, bt.batch_loss
    monkeypatch.setattr(bt, "_save", lambda path, net, opt, state, history, meta: saved.append(meta["batches_done"])
                        or save(path, net, opt, state, history, meta))
    monkeypatch.setattr(bt, "batch_loss", lambda *args: counter.append(1) or loss(*args))
    monkeypatch.setattr(bt, "HeldSignals", lambda: Held(counter, at))
    with pytest.raises(KeyboardInterrupt):
        train(config(checkpoint_every=2), tmp_path)
    assert saved == expected and len(counter) == at
    _, _, history, meta = ckpt.load(tmp_path / "checkpoint.npz")
    assert meta["batches_done"] == at and history == pytest.approx(LOSS[:at], rel=1e-6)
    assert len(meta["times"]) == len(meta["cpu_times"]) == at and [c["batch"] for c in meta["curve"]] == [2]


def test_a_checkpoint_without_times_reports_none(tmp_path):
    """A finished run whose checkpoint holds no batch times (the file rewritten without them): the record's
    times are NaN, not an error."""
    train(config(batches=2), tmp_path)
    arrays, opt, history, meta = ckpt.load(tmp_path / "checkpoint.npz")
    ckpt.save(tmp_path / "checkpoint.npz", arrays, opt, history, meta | {"times": [], "cpu_times": []})
    record, _ = train(config(batches=2), tmp_path, resume=True)
    assert record["loss"] == history and record["training_seconds"] == 0.0
    for key in ("seconds_per_batch", "seconds_per_batch_mean", "cpu_seconds_per_batch", "first_batch_seconds"):
        assert np.isnan(record[key]), key


def test_a_resumed_state_is_converted_to_the_models_dtype(tmp_path):
    """State arrays stored in another float type (the file rewritten) are read in the model's dtype."""
    straight, _ = train(config(), tmp_path / "a")
    train(config(batches=3), tmp_path / "b")
    path = tmp_path / "b" / "checkpoint.npz"
    arrays, opt, history, meta = ckpt.load(path)
    wide = {k: v.astype(np.float64) if k.startswith("state/") else v for k, v in arrays.items()}
    ckpt.save(path, wide, opt, history, meta)
    resumed, _ = train(config(), tmp_path / "b", resume=True)
    assert resumed["loss"] == straight["loss"]


def test_training_resumed_directly_checks_the_checkpoint(tmp_path):
    train(config(batches=2), tmp_path)
    with pytest.raises(CheckpointError) as caught:
        train(config(batches=3, lr=0.5), tmp_path, resume=True)
    assert str(caught.value).startswith(f"output folder '{tmp_path}': expected a run of the same configuration")
    assert "lr (0.01 there, 0.5 here)" in str(caught.value)


def test_one_workspace_serves_every_batch(tmp_path, monkeypatch):
    """The loop's forward passes reuse one workspace (no allocation per batch); the monitor keeps its own."""
    cfg = config(batches=3)  # clarity checks after batches 2 and 3
    child = bss.seeds(0)
    net = bss.build_model(cfg, child["model"])
    seen = []
    forward = net.forward
    monkeypatch.setattr(net, "forward",
                        lambda x, state, **kw: seen.append(kw.get("workspace")) or forward(x, state, **kw))
    bt.train(net, bss.build_task(cfg, child["train"]), cfg, child, tmp_path, resume=False, progress=False)
    assert len(seen) == 5 and isinstance(seen[0], Workspace) and isinstance(seen[2], Workspace)
    assert seen[0] is seen[1] is seen[3] and seen[2] is seen[4] and seen[2] is not seen[0]


def test_the_penalty_gradient_is_zero_where_the_output_is_zero():
    """A zero read-out of the LSTM puts out u = 0 exactly: λ·sign(0) = 0, no infinity."""
    cfg = config(model="dale")
    net = bss.build_model(cfg, 0)
    for name in ("weight_out", "bias_out"):
        net.params[name][...] = 0.0
    trace, s = _trace(net, cfg)
    assert not np.any(trace.extras["u"])
    value, _, d_u = bt.batch_loss(net, trace, s, 0.25)
    np.testing.assert_array_equal(d_u, np.zeros_like(trace.extras["u"]))
    assert value == bt.batch_loss(net, trace, s, 0.0)[0]
