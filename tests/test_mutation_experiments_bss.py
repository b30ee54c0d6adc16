"""`experiments/bss.py` pinned: every option's check and its message, the configuration's defaults, the models
and task a configuration builds, the child seeds, the run-folder rule with its messages, and what ``run_bss``
and ``run_bss_variants`` write and return (tiny sizes, a fraction of a second each)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from yetztml.cells.dale import DaleRateNet
from yetztml.cells.modulation import ModulationNet
from yetztml.cells.spatial import SpatialNet
from yetztml.core.blas import blas_threads
from yetztml.core.errors import CheckpointError, DTypeError, OptionError, ShapeError
from yetztml.core.results import versions
from yetztml.experiments import bss
from yetztml.report import bss_figures
from yetztml.tasks.bss import BSSTask

TINY = dict(batch_size=3, n_steps=60, n_test=4, n_monitor=2, eval_every=2, hidden_size=8, n_units=10,
            progress=False, analyses=False, figures=False, threads=1)
#: Seed 3, TINY, two batches of the Fig. 1 model (float32; the thread count moves them by about 1e-8 relative).
SEED3_CLARITY_OUTPUT = 0.3624097672548085
SEED3_CLARITY_STIMULUS = 0.40767067169263854
SEED3_LOSS = [12.374649965322678, 13.816818826879784]
SEED3_CHILDREN = {"model": 819382448, "train": 1645421708, "monitor": 3451799802, "test": 118549108,
                  "analyses": 2942680743}

TAU_MESSAGE = ("bss: tau: expected tau >= 1 (the Euler step with Δt = 1 overshoots below 1), got 0.5. "
               "Use tau=1 for instantaneous modulation.")


@pytest.mark.parametrize(
    ("field", "value", "error", "text"),
    [
        ("model", "lstm", OptionError, "bss: model: expected one of 'modulation', 'spatial', 'dale', got 'lstm'"),
        ("sources", "speech", OptionError, "bss: sources: expected one of 'chords', 'sines', 'ica', got 'speech'"),
        ("batches", 0, OptionError, "bss: batches: expected an integer >= 1, got 0"),
        ("seed", -1, OptionError, "bss: seed: expected an integer >= 0, got -1"),
        ("n_sources", 1, OptionError, "bss: n_sources: expected an integer >= 2, got 1"),
        ("n_sources", 3, OptionError, "bss: n_sources: expected an integer <= 2, got 3"),
        ("batch_size", 0, OptionError, "bss: batch_size: expected an integer >= 1, got 0"),
        ("n_steps", 1, OptionError, "bss: n_steps: expected an integer >= 2, got 1"),
        ("n_steps", 16001, OptionError, "bss: n_steps: expected an integer <= 16000, got 16001"),
        ("noise", -0.5, OptionError, "bss: noise: expected a number >= 0.0, got -0.5"),
        ("hidden_size", 0, OptionError, "bss: hidden_size: expected an integer >= 1, got 0"),
        ("tau", 0.0, OptionError, "bss: tau: expected a number > 0.0, got 0.0"),
        ("tau", 0.5, OptionError, TAU_MESSAGE),
        ("mode", "additive?", OptionError, "bss: mode: expected one of 'multiplicative', 'additive', got 'additive?'"),
        ("lstm_input", "z", OptionError, "bss: lstm_input: expected one of 'xy', 'x', 'y', got 'z'"),
        ("n_units", 0, OptionError, "bss: n_units: expected an integer >= 1, got 0"),
        ("n_feedback", 0, OptionError, "bss: n_feedback: expected an integer >= 1, got 0"),
        ("kernel", "gauss", OptionError, "bss: kernel: expected one of 'von_mises', 'box', 'uniform', got 'gauss'"),
        ("width", 0.0, OptionError, "bss: width: expected a number > 0.0, got 0.0"),
        ("target", "rate", OptionError, "bss: target: expected one of 'gain', 'excitation', 'inhibition', got 'rate'"),
        ("lambda_out", -1.0, OptionError, "bss: lambda_out: expected a number >= 0.0, got -1.0"),
        ("lr", 0.0, OptionError, "bss: lr: expected a number > 0.0, got 0.0"),
        ("clip", 0.0, OptionError, "bss: clip: expected a number > 0.0, got 0.0"),
        ("n_test", 1, OptionError, "bss: n_test: expected an integer >= 2, got 1"),
        ("eval_every", 0, OptionError, "bss: eval_every: expected an integer >= 1, got 0"),
        ("n_monitor", 0, OptionError, "bss: n_monitor: expected an integer >= 1, got 0"),
        ("checkpoint_every", 0, OptionError, "bss: checkpoint_every: expected an integer >= 1, got 0"),
        ("dtype", "int8", DTypeError, "bss: dtype: expected float32 or float64, got int8"),
        ("tanh", "slow", OptionError, "bss: tanh: expected one of 'fast', 'exact', got 'slow'"),
        ("blas_threads", 0, OptionError, "bss: blas_threads: expected an integer >= 1, got 0"),
        ("threads", 0, OptionError, "bss: threads: expected an integer >= 1, got 0"),
        ("test_contexts", np.eye(2), OptionError, "bss: test_contexts: expected at least 2 contexts, got 1"),
        ("test_contexts", np.ones((2, 2, 2)), OptionError, "bss: test_contexts[0]: expected an invertible matrix, "
         "got a singular one (det = 0). A context must be invertible for the sources to be recoverable."),
        ("test_contexts", np.ones((2, 3, 3)), ShapeError, "bss: test_contexts: expected 2 × 2 matrices (one row per "
         "source), got shape (2, 3, 3)"),
    ],
)
def test_each_option_is_checked_with_its_message(field, value, error, text):
    with pytest.raises(error) as caught:
        bss.validate(bss.BSSConfig(**{field: value}))
    assert str(caught.value) == text


def test_three_sources_only_with_the_ica_set():
    assert bss.validate(bss.BSSConfig(sources="ica", n_sources=3)).n_sources == 3
    with pytest.raises(OptionError) as caught:
        bss.validate(bss.BSSConfig(sources="ica", n_sources=4))
    assert str(caught.value) == "bss: n_sources: expected an integer <= 3, got 4"


def test_every_option_at_its_bound_is_accepted(monkeypatch):
    monkeypatch.setattr(bss, "available_cores", lambda: 8)
    low = bss.validate(bss.BSSConfig(
        batches=1, seed=0, n_sources=2, batch_size=1, n_steps=2, noise=0.0, hidden_size=1, tau=1.0, n_units=1,
        n_feedback=1, kernel="uniform", width=1e-9, lambda_out=0.0, lr=1e-9, clip=1e-9, n_test=2, eval_every=1,
        n_monitor=1, checkpoint_every=1, dtype="float64", blas_threads=1, threads=1))
    assert (low.tau, low.threads, low.n_test, low.dtype) == (1.0, 1, 2, "float64")
    assert bss.validate(bss.BSSConfig(n_steps=16000)).n_steps == 16000
    assert bss.validate(bss.BSSConfig(batch_size=5)).threads == 5  # None: the cores, at most one per trial
    assert bss.validate(bss.BSSConfig(batch_size=5, threads=2)).threads == 2


def test_test_contexts_become_float_matrices_and_set_n_test():
    A = [[[1, 0], [0, 2]], [[2, 1], [1, 2]], [[0, 1], [1, 0]]]
    config = bss.validate(bss.BSSConfig(test_contexts=np.asarray(A), n_test=20))
    assert config.n_test == 3 and config.test_contexts.dtype == np.float64
    np.testing.assert_array_equal(config.test_contexts, A)
    assert config.to_json()["test_contexts"] == [[[1.0, 0.0], [0.0, 2.0]], [[2.0, 1.0], [1.0, 2.0]],
                                                 [[0.0, 1.0], [1.0, 0.0]]]
    assert bss.BSSConfig().to_json()["test_contexts"] is None
    two = bss.validate(bss.BSSConfig(test_contexts=np.asarray(A[:2]), n_test=20))  # two contexts are enough
    assert two.n_test == 2 and two.test_contexts.shape == (2, 2, 2)


@pytest.mark.parametrize(("model", "tau", "expected"), [("modulation", None, 1.0), ("spatial", None, 100.0),
                                                        ("dale", None, 100.0), ("dale", 7, 7.0)])
def test_tau_defaults_per_model(model, tau, expected):
    config = bss.BSSConfig(model=model, tau=tau)
    assert config.resolved_tau() == expected and type(config.resolved_tau()) is float
    assert config.to_json()["tau"] == expected and config.tau == tau


def test_default_threads_is_the_cores_at_most_one_per_trial(monkeypatch):
    monkeypatch.setattr(bss, "available_cores", lambda: 6)
    assert [bss.default_threads(b) for b in (0, 1, 4, 6, 32)] == [1, 1, 4, 6, 6]
    assert [bss.default_threads(b) for b in (True, 2.0, "3", None)] == [6, 6, 6, 6]  # not a batch size


def test_build_model_hands_each_model_its_options():
    config = bss.validate(bss.BSSConfig(hidden_size=5, n_units=7, n_feedback=3, kernel="box", width=0.4,
                                        mode="additive", lstm_input="y", target="inhibition", learn_ro=False,
                                        dtype="float64", tanh="exact", tau=20.0))
    common = {"n_sources": 2, "hidden_size": 5, "tau": 20.0, "lstm_input": "y", "seed": 9,
              "dtype": np.dtype("float64"), "fast_tanh": False}
    config.model = "modulation"
    net = bss.build_model(config, 9)
    assert type(net) is ModulationNet and net._init_args == ((), {"mode": "additive", **common})
    config.model = "spatial"
    net = bss.build_model(config, 9)
    assert type(net) is SpatialNet
    assert net._init_args == ((), {"n_units": 7, "n_feedback": 3, "kernel": "box", "width": 0.4, **common})
    config.model = "dale"
    net = bss.build_model(config, 9)
    assert type(net) is DaleRateNet
    assert net._init_args == ((), {"n_feedback": 3, "kernel": "box", "width": 0.4, "target": "inhibition",
                                   "learn_ro": False, **common})
    config.tanh = "fast"
    assert bss.build_model(config, 9).fast_tanh is True


def test_build_task_uses_the_config_and_the_seed():
    config = bss.validate(bss.BSSConfig(sources="sines", noise=0.05, n_steps=30, dtype="float64"))
    task = bss.build_task(config, 11)
    assert (task.sources_kind, task.n_sources, task.noise, task.n_steps) == ("sines", 2, 0.05, 30)
    batch = task.train_batch(2)
    same = BSSTask("sines", n_sources=2, noise=0.05, n_steps=30, seed=11, dtype=np.dtype("float64")).train_batch(2)
    assert batch.x.dtype == np.float64
    np.testing.assert_array_equal(batch.x, same.x)
    three = bss.build_task(bss.validate(bss.BSSConfig(sources="ica", n_sources=3, n_steps=30)), 11)
    assert (three.sources_kind, three.n_sources, three.train_batch(2).x.shape) == ("ica", 3, (30, 2, 3))
    two = bss.build_task(bss.validate(bss.BSSConfig(sources="ica", n_sources=2, n_steps=30)), 11)
    assert (two.n_sources, two.train_batch(2).x.shape) == (2, (30, 2, 2))  # two of the set's three sources


def test_child_seeds_are_pinned():
    assert bss.seeds(3) == SEED3_CHILDREN
    assert bss.seeds(0) == {"model": 3757552657, "train": 673228719, "monitor": 3241444873, "test": 3685993406,
                            "analyses": 1216546553}


def test_out_must_be_a_folder_name(tmp_path):
    (tmp_path / "file").write_text("x")
    cases = {
        "": "bss: out: expected a folder name, got ''. Give --out DIR.",
        "  ": "bss: out: expected a folder name, got '  '. Give --out DIR.",
        str(tmp_path / "file"): f"bss: out: expected a folder (or a path where one can be made), got "
                                f"'{tmp_path / 'file'}', an existing file. Choose another --out.",
        str(tmp_path / "file" / "a" / "b"): f"bss: out: expected a folder (or a path where one can be made), got "
                                            f"'{tmp_path / 'file' / 'a' / 'b'}', under the file "
                                            f"'{tmp_path / 'file'}'. Choose another --out.",
    }
    for out, text in cases.items():
        with pytest.raises(OptionError) as caught:
            bss.check_out(out)
        assert str(caught.value) == text
    assert bss.check_out(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"


def test_the_run_folder_rule(tmp_path):
    config = bss.validate(bss.BSSConfig(batches=2, **{k: v for k, v in TINY.items() if k != "progress"}))
    with pytest.raises(OptionError) as caught:
        bss.prepare_folder(tmp_path, config, resume=True, force=True)
    assert str(caught.value) == ("bss: resume and force: expected one of them, got both. --resume continues the "
                                 "run in --out, --force starts it over.")
    assert bss.prepare_folder(tmp_path, config) is False
    with pytest.raises(CheckpointError) as caught:
        bss.prepare_folder(tmp_path, config, resume=True)
    assert str(caught.value) == (f"bss: resume: expected a checkpoint to continue from in '{tmp_path}', got none "
                                 "(no checkpoint.npz). Drop --resume to start a new run there.")
    (tmp_path / "result.json").write_text("{}")
    with pytest.raises(CheckpointError) as caught:
        bss.prepare_folder(tmp_path, config)
    assert str(caught.value) == (f"output folder '{tmp_path}': expected a new folder or a run to resume, got a "
                                 "result.json without its checkpoint.npz. Use another --out, or --force to start over.")
    assert bss.prepare_folder(tmp_path, config, force=True) is False
    (tmp_path / "result.json").unlink()
    (tmp_path / "checkpoint.npz").write_bytes(b"")
    with pytest.raises(CheckpointError, match="an empty file"):  # a checkpoint there is checked
        bss.prepare_folder(tmp_path, config)
    assert bss.prepare_folder(tmp_path, config, force=True) is False


def test_a_run_writes_and_returns_its_result(tmp_path):
    out = tmp_path / "a" / "b"  # parents are made
    started = time.perf_counter()
    result = bss.run_bss(batches=2, seed=3, out=str(out), **TINY)
    elapsed = time.perf_counter() - started
    with blas_threads(1) as expected_blas:
        pass
    config = bss.validate(bss.BSSConfig(batches=2, seed=3, **{k: v for k, v in TINY.items() if k != "progress"}))
    assert (result["job"], result["model"], result["model_class"], result["num_weights"]) == (
        "yetztml demo bss", "modulation", "ModulationNet", 484)
    assert (result["seed"], result["seeds"], result["batches"]) == (3, SEED3_CHILDREN, 2)
    assert result["config"] == config.to_json() and result["versions"] == versions()
    assert result["blas_threads"] == expected_blas
    assert result["training"]["loss"] == pytest.approx(SEED3_LOSS, rel=1e-6)
    assert result["seconds_per_batch"] == result["training"]["seconds_per_batch"]
    assert result["clarity_output"] == pytest.approx(SEED3_CLARITY_OUTPUT, rel=1e-6)
    assert result["clarity_stimulus"] == pytest.approx(SEED3_CLARITY_STIMULUS, rel=1e-12)
    assert result["clarity_output"] == result["evaluation"]["clarity_output"]
    assert result["clarity_stimulus"] == result["evaluation"]["clarity_stimulus"]
    assert "_arrays" not in result["evaluation"] and "figures" not in result
    assert result["training"]["training_seconds"] <= result["seconds_total"] <= elapsed
    assert json.loads((out / "result.json").read_text()) == json.loads(json.dumps(result))
    assert "| quantity | reference | ours |" in (out / "report.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "report.md", "result.json"]


def test_unknown_options_are_named(tmp_path):
    with pytest.raises(OptionError) as caught:
        bss.run_bss(out=tmp_path, zeta=2, learning_rate=1)
    assert str(caught.value) == ("run_bss: expected options among the BSSConfig fields, got unknown "
                                 "['learning_rate', 'zeta']")
    assert list(tmp_path.iterdir()) == []


def test_resume_and_force_reach_the_folder_rule(tmp_path):
    with pytest.raises(CheckpointError, match="bss: resume: expected a checkpoint"):
        bss.run_bss(batches=1, out=tmp_path / "r", resume=True, **TINY)
    assert not (tmp_path / "r").exists()
    bss.run_bss(batches=1, seed=3, out=tmp_path / "r", **TINY)
    with pytest.raises(CheckpointError, match=r"a run differing in seed \(3 there, 4 here\)"):
        bss.run_bss(batches=1, seed=4, out=tmp_path / "r", **TINY)
    other = bss.run_bss(batches=1, seed=4, out=tmp_path / "r", force=True, **TINY)
    assert other["seed"] == 4 and other["training"]["resumed_from"] == 0


def test_force_removes_the_run_files_before_training(tmp_path, monkeypatch):
    bss.run_bss(batches=1, seed=3, out=tmp_path, **TINY)
    (tmp_path / "notes.txt").write_text("kept")

    def fail(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr(bss, "train", fail)
    with pytest.raises(RuntimeError, match="stop"):
        bss.run_bss(batches=1, seed=3, out=tmp_path, force=True, **TINY)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(RuntimeError, match="stop"):  # nothing to remove in a new folder
        bss.run_bss(batches=1, seed=3, out=tmp_path / "new", force=True, **TINY)
    assert list((tmp_path / "new").iterdir()) == []


def test_resume_is_handed_to_training(tmp_path):
    bss.run_bss(batches=1, seed=3, out=tmp_path, **dict(TINY, checkpoint_every=1))
    result = bss.run_bss(batches=2, seed=3, out=tmp_path, **dict(TINY, checkpoint_every=1))
    assert result["training"]["resumed_from"] == 1
    assert result["training"]["loss"] == pytest.approx(SEED3_LOSS, rel=1e-6)


def test_progress_is_handed_to_training(tmp_path, capsys):
    bss.run_bss(batches=2, seed=3, out=tmp_path / "on", **dict(TINY, progress=True))
    assert "training: batch 2/2" in capsys.readouterr().err
    bss.run_bss(batches=2, seed=3, out=tmp_path / "off", **TINY)
    assert "training" not in capsys.readouterr().err


def test_figures_get_the_result_and_the_traces_and_result_json_comes_first(tmp_path, monkeypatch):
    calls = []

    def figures(out, result, arrays):
        calls.append((out, sorted(result), sorted(arrays)))
        saved = json.loads((out / "result.json").read_text())
        assert saved["clarity_output"] == result["clarity_output"] and "figures" not in saved
        return ["fig.png"]

    monkeypatch.setattr(bss_figures, "write_figures", figures)
    result = bss.run_bss(batches=1, seed=3, out=tmp_path, **dict(TINY, figures=True))
    assert calls == [(tmp_path, sorted(set(result) - {"figures"}),
                      ["A", "W", "correlations_x", "correlations_y", "output_error", "s", "weight_error", "x", "y"])]
    assert result["figures"] == ["fig.png"]
    assert json.loads((tmp_path / "result.json").read_text())["figures"] == ["fig.png"]


def test_a_failing_figure_leaves_the_numbers(tmp_path, monkeypatch):
    def figures(out, result, arrays):
        raise RuntimeError("no figure")

    monkeypatch.setattr(bss_figures, "write_figures", figures)
    with pytest.raises(RuntimeError):
        bss.run_bss(batches=1, seed=3, out=tmp_path, **dict(TINY, figures=True))
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["seed"] == 3 and saved["batches"] == 1 and not (tmp_path / "report.md").exists()


def test_variants_are_checked_before_running(tmp_path, monkeypatch):
    monkeypatch.setattr(bss, "run_bss", lambda **kwargs: pytest.fail("ran"))
    cases = [
        (dict(taus=()), "run_bss_variants: expected at least one tau and one input, got (), ('xy', 'x', 'y')"),
        (dict(inputs=()), "run_bss_variants: expected at least one tau and one input, got "
                          "(1.0, 10.0, 100.0, 1000.0), ()"),
        (dict(taus=(1.0, 0.5)), TAU_MESSAGE),
        (dict(inputs=("xy", "q")), "run_bss_variants: inputs: expected one of 'xy', 'x', 'y', got 'q'"),
    ]
    for kwargs, text in cases:
        with pytest.raises(OptionError) as caught:
            bss.run_bss_variants(out=tmp_path / "v", **kwargs)
        assert str(caught.value) == text
    with pytest.raises(OptionError, match="bss: out: expected a folder name"):
        bss.run_bss_variants(out="")
    assert not (tmp_path / "v").exists()


def test_variants_run_every_tau_for_every_input(tmp_path, monkeypatch):
    calls, drawn = [], []

    def run(**kwargs):
        calls.append(kwargs)
        tau = kwargs["tau"]
        return {"config": {"tau": tau * 10, "lstm_input": kwargs["lstm_input"] + "!"}, "batches": int(tau),
                "clarity_output": tau / 100, "evaluation": {"clarity_output_per_context": {"std": tau / 1000}},
                "seconds_per_batch": tau / 10}

    monkeypatch.setattr(bss, "run_bss", run)
    monkeypatch.setattr(bss_figures, "figure_variants", lambda path, results: drawn.append((path, results)))
    summary = bss.run_bss_variants(taus=(1, 2.5), inputs=("y", "x"), batches=7, seed=5, out=str(tmp_path),
                                   noise=0.2)
    assert calls == [
        {"model": "modulation", "batches": 7, "seed": 5, "out": tmp_path / "tau1-y", "tau": 1, "lstm_input": "y",
         "noise": 0.2},
        {"model": "modulation", "batches": 7, "seed": 5, "out": tmp_path / "tau2.5-y", "tau": 2.5,
         "lstm_input": "y", "noise": 0.2},
        {"model": "modulation", "batches": 7, "seed": 5, "out": tmp_path / "tau1-x", "tau": 1, "lstm_input": "x",
         "noise": 0.2},
        {"model": "modulation", "batches": 7, "seed": 5, "out": tmp_path / "tau2.5-x", "tau": 2.5,
         "lstm_input": "x", "noise": 0.2},
    ]
    rows = [{"tau": t * 10, "lstm_input": i + "!", "batches": int(t), "clarity_output": t / 100,
             "clarity_output_std": t / 1000, "seconds_per_batch": t / 10} for i in ("y", "x") for t in (1, 2.5)]
    assert summary == {"job": "yetztml demo bss variants", "seed": 5, "versions": versions(), "runs": rows}
    assert json.loads((tmp_path / "variants.json").read_text()) == summary
    assert len(drawn) == 1 and drawn[0][0] == tmp_path / "fig2_variants.png"
    assert [r["config"]["tau"] for r in drawn[0][1]] == [10, 25.0, 10, 25.0]


class Stop(Exception):
    """Raised by the training stand-in: the run got as far as training."""


def test_run_bss_defaults(tmp_path, monkeypatch):
    seen = {}

    def train(net, task, config, child, out, resume, progress):
        seen.update(config=config, out=out, resume=resume, progress=progress, net=net)
        raise Stop

    monkeypatch.setattr(bss, "train", train)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Stop):
        bss.run_bss()
    config = seen["config"]
    assert (config.model, config.batches, config.seed) == ("modulation", 6000, 0)
    assert (seen["out"], seen["resume"], seen["progress"]) == (bss.Path("bss-run"), False, True)
    assert type(seen["net"]) is ModulationNet and sorted(p.name for p in tmp_path.iterdir()) == ["bss-run"]
    (tmp_path / "bss-run" / "result.json").write_text("{}")
    with pytest.raises(CheckpointError, match="a result.json without its checkpoint.npz"):  # not forced
        bss.run_bss()


def test_run_bss_variants_defaults(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(bss, "run_bss", lambda **kwargs: calls.append(kwargs) or pytest.fail("ran"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pytest.fail.Exception):
        bss.run_bss_variants()
    assert calls == [{"model": "modulation", "batches": 6000, "seed": 0, "out": bss.Path("bss-variants/tau1-xy"),
                      "tau": 1.0, "lstm_input": "xy"}]


def test_the_model_reaches_the_run(tmp_path):
    result = bss.run_bss(model="dale", batches=1, seed=3, out=tmp_path, **TINY)
    assert (result["model"], result["model_class"], result["num_weights"]) == ("dale", "DaleRateNet", 684)
    assert result["config"]["model"] == "dale" and result["config"]["tau"] == 100.0
    assert result["clarity_output"] == pytest.approx(0.23658262687506657, rel=1e-6)
