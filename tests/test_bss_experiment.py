"""The feedback-modulation experiment end to end, at tiny sizes: result.json, report, resume, bad input."""

from __future__ import annotations

import argparse
import json
import os
import signal

import numpy as np
import pytest

from yetztml.cli.demo_bss import add_arguments, options_from_args
from yetztml.core.blas import blas_threads, get_blas_threads
from yetztml.core.errors import CheckpointError, DTypeError, OptionError, ShapeError
from yetztml.experiments.bss import run_bss, run_bss_variants
from yetztml.experiments.runner import available_cores
from yetztml.learning import checkpoint as ckpt
from yetztml.tasks.bss import BSSTask

TINY = dict(batch_size=3, n_steps=60, n_test=4, n_monitor=2, eval_every=2, hidden_size=8, n_units=10,
            progress=False)


#: Seed 1, TINY sizes, three batches: mean output clarity and output clarity of each of the four test contexts.
#: Pinned to 1e-6 relative: the float32 gradient of a batch is summed over the threads' shares of its trials,
#: so the thread count (the machine's cores) moves these values by about 1e-8 relative, nothing more.
SMOKE_CLARITY = {
    "modulation": (0.5477527759794686, [0.4880269119611243, 0.5391018739002853, 0.609982820649955,
                                        0.5538994974065097]),
    "spatial": (0.6878641742644523, [0.632944735181352, 0.9239798625965829, 0.7479908569261852,
                                     0.44654124235368936]),
    "dale": (0.4698568931576662, [0.47274139308231794, 0.5050922537182754, 0.44989055183306126,
                                  0.4517033739970103]),
}
#: The stimulus (the mixtures, before any model) of the same four contexts: no training, so to 1e-12.
#: The training loss of each of the three batches, same seed, sizes and tolerance (float32, summed by threads).
SMOKE_LOSS = {
    "modulation": [2.4502792976099474, 15.043760957067658, 15.336592328587908],
    "spatial": [3.117636321490415, 12.746099441777746, 12.44902288221367],
    "dale": [2.503029378331023, 8.203059293257068, 8.861588801073742],
}
SMOKE_STIMULUS = (0.4769940932148736, [0.41159897462013445, 0.5967749765251981, 0.4610440374247914,
                                       0.43855838428937066])


@pytest.mark.parametrize("model", ["modulation", "spatial", "dale"])
def test_smoke_run_writes_result_and_report(model, tmp_path):
    result = run_bss(model=model, batches=3, seed=1, out=tmp_path, figures=model == "spatial", **TINY)
    data = json.loads((tmp_path / "result.json").read_text())
    for key in ("clarity_stimulus", "clarity_output", "seconds_per_batch", "batches", "config", "seed", "versions"):
        assert key in data
    assert data["batches"] == 3 and data["seed"] == 1 and data["config"]["model"] == model
    clarity, per_context = SMOKE_CLARITY[model]
    assert data["clarity_output"] == pytest.approx(clarity, rel=1e-6)
    assert data["evaluation"]["clarity_output_per_context"]["values"] == pytest.approx(per_context, rel=1e-6)
    assert data["clarity_stimulus"] == pytest.approx(SMOKE_STIMULUS[0], rel=1e-12)
    assert data["evaluation"]["clarity_stimulus_per_context"]["values"] == pytest.approx(SMOKE_STIMULUS[1],
                                                                                         rel=1e-12)
    assert data["seconds_per_batch"] > 0.0
    assert data["training"]["loss"] == pytest.approx(SMOKE_LOSS[model], rel=1e-6)
    assert [c["batch"] for c in data["training"]["curve"]] == [2, 3]
    # the curve's loss is the mean over the last 20 batches (here all so far): catches the last batch alone
    losses = SMOKE_LOSS[model]
    assert [c["loss"] for c in data["training"]["curve"]] == pytest.approx(
        [np.mean(losses[:2]), np.mean(losses)], rel=1e-6)
    assert data["clarity_output"] == pytest.approx(result["clarity_output"])
    report = (tmp_path / "report.md").read_text()
    assert "| quantity | reference | ours |" in report
    # the report's table holds this run's clarities: mean ± spread over the contexts, and the worst context
    # (a report that showed the stimulus's, or another statistic, would print other numbers)
    rows = {line.split(" | ")[0]: line.split(" | ")[-1] for line in report.splitlines() if line.startswith("| ")}
    output = "| output clarity" + (" (mean over contexts)" if model == "modulation" else "")
    stimulus = "| stimulus clarity" + (" (mean over contexts)" if model == "modulation" else "")
    assert rows[output] == f"{clarity:.3f} ± {np.std(per_context):.3f} |"
    if model != "dale":  # the Dale model's table has no worst-context row (no reference to set it beside)
        assert rows["| output clarity, worst context"] == f"{min(per_context):.3f} |"
    assert rows[stimulus] == f"{SMOKE_STIMULUS[0]:.3f} ± {np.std(SMOKE_STIMULUS[1]):.3f} |"
    if model == "modulation":
        assert "transient_weight_error" in data["evaluation"]
    else:
        assert data["evaluation"]["freeze"]["repetitions"] == 40
    if model == "spatial":
        assert data["figures"] == ["fig1_unmixing.png", "fig3_spatial.png", "fig4_populations.png",
                                   "fig5_freeze.png"]
        assert all((tmp_path / f).stat().st_size > 1000 for f in data["figures"])


def test_resume_continues_bit_identically(tmp_path):
    options = dict(TINY, analyses=False, figures=False, checkpoint_every=2)
    straight = run_bss(model="modulation", batches=4, seed=2, out=tmp_path / "a", **options)
    run_bss(model="modulation", batches=2, seed=2, out=tmp_path / "b", **options)
    resumed = run_bss(model="modulation", batches=4, seed=2, out=tmp_path / "b", resume=True, **options)
    assert resumed["training"]["resumed_from"] == 2
    assert resumed["training"]["loss"] == straight["training"]["loss"]
    assert resumed["clarity_output"] == straight["clarity_output"]
    with pytest.raises(CheckpointError):
        run_bss(model="modulation", batches=5, seed=3, out=tmp_path / "b", resume=True, **options)


def test_training_lowers_the_loss(tmp_path):
    """Sixty small batches of the Fig. 1 model: the summed SmoothL1 loss falls well below its start."""
    result = run_bss(model="modulation", batches=60, seed=0, out=tmp_path, batch_size=16, n_steps=100, n_test=2,
                     hidden_size=16, lr=1e-2, eval_every=1000, analyses=False, figures=False, progress=False)
    loss = np.asarray(result["training"]["loss"])
    assert loss[-10:].mean() < 0.8 * loss[:10].mean()
    # seeded: pinned to 1e-6 relative (float32; 1 or 2 threads summing the batch differ by about 1e-8)
    assert (loss[:10].mean(), loss[-10:].mean()) == pytest.approx((10.872210548444311, 5.992782471723065), rel=1e-6)
    assert result["clarity_output"] == pytest.approx(0.5937880009682963, rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(model="lstm"), OptionError),
        (dict(sources="speech"), OptionError),
        (dict(tau=0.0), OptionError),
        (dict(tau=-1.0), OptionError),
        (dict(batches=0), OptionError),
        (dict(batches=2.5), DTypeError),
        (dict(lstm_input="z"), OptionError),
        (dict(test_contexts=np.array([[1.0, 2.0], [2.0, 4.0]])), OptionError),
        (dict(test_contexts=np.ones((3, 2, 3))), ShapeError),
        (dict(test_contexts=np.eye(2)), OptionError),
        (dict(learning_rate=0.1), OptionError),
        (dict(n_sources=3), OptionError),
    ],
)
def test_bad_input_raises_catalogue_errors(kwargs, error, tmp_path):
    options = {"model": "modulation", "batches": 1, **kwargs}
    with pytest.raises(error):
        run_bss(out=tmp_path, progress=False, **options)
    assert not (tmp_path / "result.json").exists()


def test_user_test_contexts_are_used(tmp_path):
    A = np.array([[[0.7, 0.3], [0.2, 0.8]], [[0.4, 0.6], [0.9, 0.1]], [[0.5, 0.5], [0.0, 1.0]]])
    result = run_bss(model="modulation", batches=1, seed=0, out=tmp_path, test_contexts=A, analyses=False,
                     figures=False, **{k: v for k, v in TINY.items() if k != "n_test"})
    assert result["evaluation"]["n_test"] == 3
    np.testing.assert_allclose(result["evaluation"]["contexts"], A)
    # and evaluated on: the stimulus clarity of each of the three (seed 0, no training: 1e-12 relative) and the
    # output's (float32 training: 1e-6, as above); contexts recorded but drawn at random would give others
    assert result["evaluation"]["clarity_stimulus_per_context"]["values"] == pytest.approx(
        [0.4732870043964242, 0.6178670762489127, 0.4447037553496068], rel=1e-12)
    assert result["clarity_output"] == pytest.approx(0.4120060276367299, rel=1e-6)


def test_command_line_options_round_trip(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--model", "dale", "--batches", "7", "--seed", "4", "--out", str(tmp_path),
                              "--tau", "50", "--no-figures", "--tanh", "exact"])
    options = options_from_args(args)
    assert options["model"] == "dale" and options["batches"] == 7 and options["seed"] == 4
    assert options["tau"] == 50.0 and options["figures"] is False and options["analyses"] is True
    assert options["tanh"] == "exact" and options["out"] == str(tmp_path)
    defaults = options_from_args(parser.parse_args([]))
    assert defaults["batches"] == 6_000 and defaults["tau"] is None and defaults["dtype"] == "float32"
    assert defaults["threads"] == min(available_cores(), 32) and defaults["force"] is False
    paper = options_from_args(parser.parse_args(["--paper-protocol"]))
    assert paper["batches"] == 10_000
    assert options_from_args(parser.parse_args(["--paper-protocol", "--batches", "7"]))["batches"] == 7


def test_blas_threads_are_set_and_restored():
    """NumPy's and SciPy's wheels bundle OpenBLAS: both are found, pinned to 1 thread, then restored."""
    with blas_threads(1) as changed:
        inside = get_blas_threads()
    after = get_blas_threads()
    assert changed and set(changed) <= set(inside)
    assert all(inside[name] == 1 for name in changed)
    with blas_threads(2):
        assert all(n == 2 for n in get_blas_threads().values())
    assert get_blas_threads() == after
    with pytest.raises(OptionError):
        with blas_threads(0):
            pass


def test_timescale_and_input_variants_figure(tmp_path):
    options = dict(TINY, analyses=False, figures=False)
    summary = run_bss_variants(taus=(1.0, 30.0), inputs=("xy", "y"), batches=1, seed=0, out=tmp_path, **options)
    assert [(r["tau"], r["lstm_input"]) for r in summary["runs"]] == [(1.0, "xy"), (30.0, "xy"), (1.0, "y"),
                                                                       (30.0, "y")]
    # seed 0, one batch each, float32 (1e-6 relative, as above): the timescale and the input both change the
    # net, so a variant that ignored its tau or its input would repeat another run's clarity
    assert [r["clarity_output"] for r in summary["runs"]] == pytest.approx(
        [0.33406472858773045, 0.2934306266470739, 0.488255232446366, 0.5642133911156062], rel=1e-6)
    assert (tmp_path / "fig2_variants.png").stat().st_size > 1000
    assert json.loads((tmp_path / "variants.json").read_text())["runs"][1]["tau"] == 30.0
    with pytest.raises(OptionError):
        run_bss_variants(taus=(0.0,), out=tmp_path, **options)


def test_progress_off_a_terminal_is_one_line_per_clarity_check(tmp_path, capsys):
    options = {**TINY, "progress": True}
    run_bss(model="modulation", batches=4, seed=0, out=tmp_path, analyses=False, figures=False, **options)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("training: batch")]
    assert [line.split()[2] for line in lines] == ["2/4", "4/4"]
    assert all("clarity" in line and "s/batch" in line and "min left" in line for line in lines)


@pytest.mark.parametrize("moment", [0, 2, 4])
def test_interrupt_during_any_batch_keeps_it_and_the_rerun_matches(moment, tmp_path, monkeypatch):
    """SIGINT while batch ``moment`` runs is held to the batch's end: the checkpoint holds moment + 1 batches
    (though it is due only every 3), and the same call again ends with the uninterrupted losses."""
    options = dict(TINY, analyses=False, figures=False, checkpoint_every=3, threads=1)
    straight = run_bss(model="modulation", batches=5, seed=2, out=tmp_path / "a", **options)
    original, calls = BSSTask.train_batch, []

    def train_batch(self, batch_size):
        if len(calls) == moment:
            os.kill(os.getpid(), signal.SIGINT)
        calls.append(1)
        return original(self, batch_size)

    monkeypatch.setattr(BSSTask, "train_batch", train_batch)
    with pytest.raises(KeyboardInterrupt):
        run_bss(model="modulation", batches=5, seed=2, out=tmp_path / "b", **options)
    monkeypatch.undo()
    assert len(calls) == moment + 1
    assert ckpt.load(tmp_path / "b" / "checkpoint.npz")[3]["batches_done"] == moment + 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed = run_bss(model="modulation", batches=5, seed=2, out=tmp_path / "b", **options)
    assert resumed["training"]["resumed_from"] == moment + 1
    assert resumed["training"]["loss"] == straight["training"]["loss"]
    assert resumed["clarity_output"] == straight["clarity_output"]


def test_a_second_interrupt_is_not_held(tmp_path, monkeypatch):
    """Two SIGINTs in one batch: the second raises at once, the checkpoint keeps the last one written."""
    options = dict(TINY, analyses=False, figures=False, checkpoint_every=3, threads=1)
    original, calls = BSSTask.train_batch, []

    def train_batch(self, batch_size):
        calls.append(1)
        if len(calls) == 5:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch_size)

    monkeypatch.setattr(BSSTask, "train_batch", train_batch)
    with pytest.raises(KeyboardInterrupt):
        run_bss(model="modulation", batches=6, seed=2, out=tmp_path, **options)
    assert ckpt.load(tmp_path / "checkpoint.npz")[3]["batches_done"] == 3
