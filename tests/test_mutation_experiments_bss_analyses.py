"""`experiments/bss_analyses.py` pinned on untrained float64 models at tiny sizes (20 samples per context):
the lags of the transient, the statistics, the hidden populations, the freeze experiment's angles, the
noise sweep and the whole evaluation of each model, with and without the analyses."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.analysis.bss_eval import PCA
from yetztml.experiments import bss
from yetztml.experiments import bss_analyses as ba
from yetztml.experiments.bss_train import initial_state
from yetztml.tasks.bss import BSSTask, random_mixing

A2 = np.array([[[1.0, 0.5], [0.2, 1.0]], [[0.3, 1.0], [1.0, 0.1]]])
#: ``evaluate`` at seed 2: the stimulus clarity, a property of the test contexts alone, the same for every model.
CLARITY_STIMULUS = 0.11100167891850582


def config(**changes):
    base = dict(batch_size=2, n_steps=20, hidden_size=4, n_units=6, n_test=4, threads=1, batches=1,
                dtype="float64")
    return bss.validate(bss.BSSConfig(**(base | changes)))


def test_lags_are_the_specs_within_a_context_and_its_last_sample():
    assert ba.lags(1000) == (0, 10, 50, 100, 200, 500, 999)
    assert ba.lags(60) == (0, 10, 50, 59)
    assert ba.lags(11) == (0, 10)
    assert ba.lags(51) == (0, 10, 50)
    assert ba.lags(2) == (0, 1)


def test_stats():
    assert ba._stats(np.array([1, 2, 3, 6], dtype=np.int64)) == {
        "mean": 3.0, "std": pytest.approx(1.8708286933869707, rel=1e-15), "min": 1.0, "max": 6.0,
        "values": [1.0, 2.0, 3.0, 6.0]}
    assert all(type(v) is float for v in ba._stats([1, 2])["values"])


def test_populations_of_each_model():
    cfg = config()
    run = ba._task(cfg, 3).test_run(2)
    net = bss.build_model(cfg, 5)
    assert ba.populations(net, net.forward(run.x, net.zero_state(1))) == {}
    cfg.model = "spatial"
    net = bss.build_model(cfg, 5)
    trace = net.forward(run.x, net.zero_state(1))
    pops = ba.populations(net, trace)
    assert list(pops) == ["z"]
    np.testing.assert_array_equal(pops["z"], net.z(trace)[:, 0])
    cfg.model = "dale"
    net = bss.build_model(cfg, 5)
    trace = net.forward(run.x, net.zero_state(1))
    pops = ba.populations(net, trace)
    assert list(pops) == ["zL", "zH"] and pops["zL"].shape == (40, 40) and pops["zH"].shape == (40, 100)
    np.testing.assert_array_equal(pops["zL"], trace.extras["zL"][:, 0])
    np.testing.assert_array_equal(pops["zH"], trace.extras["zH"][:, 0])


def test_the_task_of_the_analyses():
    cfg = config(sources="sines", noise=0.05, n_steps=30, dtype="float32")
    task = ba._task(cfg, 4)
    assert (task.sources_kind, task.n_sources, task.noise, task.n_steps) == ("sines", 2, 0.05, 30)
    assert ba._task(cfg, 4, noise=0.0).noise == 0.0 and ba._task(cfg, 4, noise=0.3).noise == 0.3
    assert ba._task(config(sources="ica", n_sources=2), 4).n_sources == 2  # two of the set's three sources
    run = task.test_run(2)
    same = BSSTask("sines", n_sources=2, noise=0.05, n_steps=30, seed=4, dtype=np.dtype("float32")).test_run(2)
    assert run.x.dtype == np.float32
    np.testing.assert_array_equal(run.x, same.x)


def _freeze(model, repetitions):
    cfg = config(model=model)
    net = bss.build_model(cfg, 5)
    run = ba._task(cfg, 3).test_run(4)
    trace = net.forward(run.x, net.zero_state(1))
    pca = PCA(next(iter(ba.populations(net, trace).values())).astype(np.float64), 3)
    return net, pca, ba.freeze_experiment(net, cfg, pca, 8, repetitions=repetitions)


def test_freeze_experiment_spatial():
    net, pca, out = _freeze("spatial", 4)
    example = out.pop("_example")
    assert out == {
        "repetitions": 4,
        "angle_context_change": {
            "mean": pytest.approx(0.7392193365979915, rel=1e-9), "std": pytest.approx(0.355401917679259, rel=1e-9),
            "min": pytest.approx(0.15987534589423422, rel=1e-9), "max": pytest.approx(1.0870220895433267, rel=1e-9),
            "values": pytest.approx([0.7505145864945594, 0.959465324459846, 0.15987534589423422,
                                     1.0870220895433267], rel=1e-9),
            "median": pytest.approx(0.8549899554772027, rel=1e-9)},
        "angle_feedback": {
            "mean": pytest.approx(0.8415727474070049, rel=1e-9), "std": pytest.approx(0.5160287828325896, rel=1e-9),
            "min": pytest.approx(0.21086434734734885, rel=1e-9), "max": pytest.approx(1.3745040812748544, rel=1e-9),
            "values": pytest.approx([1.3745040812748544, 1.3255209022711323, 0.21086434734734885,
                                     0.4554016587346841], rel=1e-9),
            "median": pytest.approx(0.8904612805029082, rel=1e-9)},
        "context_distance": pytest.approx([0.9629620752272856, 0.666626718858115, 0.44126448239593136,
                                           0.5575143312135308], rel=1e-12),
        "same_side": [False, False, True, False],
        "pearson_r_distance_angle_feedback": pytest.approx(0.8557000261154253, rel=1e-9),
        "angle_feedback_same_side_mean": pytest.approx(0.21086434734734885, rel=1e-9),
        "angle_feedback_other_side_mean": pytest.approx(1.0518088807602235, rel=1e-9),
    }
    # the first repetition, for the figure: two contexts of 20 samples, feedback frozen for samples 20–29
    assert {k: np.shape(v) for k, v in example.items()} == {"subs": (40, 3), "s": (40, 2), "y": (40, 2),
                                                            "A": (2, 2, 2), "mod": (40, 6)}
    np.testing.assert_array_equal(example["subs"][:, :2], example["y"])
    rng = np.random.default_rng(8)
    A = random_mixing(rng, 2, 2, ba._task(config(), 9).det_threshold)
    np.testing.assert_array_equal(example["A"], A)
    run = ba._task(config(), 9).test_run(contexts=A)
    frozen = np.zeros(40, dtype=bool)
    frozen[20:30] = True
    trace = net.forward(run.x, initial_state(net, 1, rng, testing=True), freeze=frozen)
    np.testing.assert_array_equal(example["y"], trace.outputs[:, 0])
    np.testing.assert_array_equal(example["s"], run.s[:, 0])
    np.testing.assert_array_equal(example["mod"], trace.extras["M"][1:, 0])
    np.testing.assert_array_equal(example["subs"][:, 2], pca.transform(net.z(trace)[:, 0])[:, 0])


def test_freeze_experiment_dale():
    net, _, out = _freeze("dale", 4)
    example = out.pop("_example")
    assert out["angle_context_change"]["values"] == pytest.approx(
        [3.388532016567554, 65.18325013018521, 40.04736725582904, 28.459571540947753], rel=1e-9)
    assert out["angle_feedback"]["values"] == pytest.approx(
        [41.8914080853146, 79.46294273349228, 50.934560711859106, 81.70357759231747], rel=1e-9)
    assert out["angle_feedback"]["median"] == pytest.approx(65.1987517226757, rel=1e-9)
    assert out["same_side"] == [False, False, True, True]
    assert out["pearson_r_distance_angle_feedback"] == pytest.approx(-0.05646468019249215, rel=1e-9)
    assert out["angle_feedback_same_side_mean"] == pytest.approx(66.31906915208829, rel=1e-9)
    assert out["angle_feedback_other_side_mean"] == pytest.approx(60.677175409403446, rel=1e-9)
    assert example["mod"].shape == (40, 100) and example["subs"].shape == (40, 3)


def test_one_repetition_has_no_correlation_and_one_side_only():
    _, _, out = _freeze("spatial", 1)
    assert out["repetitions"] == 1 and out["same_side"] == [False]
    assert np.isnan(out["pearson_r_distance_angle_feedback"]) and np.isnan(out["angle_feedback_same_side_mean"])
    assert out["angle_feedback_other_side_mean"] == pytest.approx(1.3745040812748544, rel=1e-9)
    assert out["angle_context_change"]["median"] == pytest.approx(0.7505145864945594, rel=1e-9)


def test_the_default_freeze_has_forty_repetitions():
    assert ba.FREEZE_REPETITIONS == 40
    cfg = config(model="spatial", n_steps=6)
    net = bss.build_model(cfg, 5)
    pca = PCA(np.random.default_rng(0).normal(size=(12, 6)), 3)
    assert ba.freeze_experiment(net, cfg, pca, 8)["repetitions"] == 40


def test_noise_sweep():
    net = bss.build_model(config(), 5)
    out = ba.noise_sweep(net, config(), A2, 6, levels=(0.01, 0.3))
    assert out == {
        "signal_std": pytest.approx(0.6056948284888848, rel=1e-12),
        "levels": [
            {"noise": 0.01, "snr_db": pytest.approx(35.64507731218535, rel=1e-12),
             "clarity_output": pytest.approx(0.1412500689031982, rel=1e-9),
             "clarity_stimulus": pytest.approx(0.19771657756619437, rel=1e-12)},
            {"noise": 0.3, "snr_db": pytest.approx(6.102652217792101, rel=1e-12),
             "clarity_output": pytest.approx(0.11764695677345305, rel=1e-9),
             "clarity_stimulus": pytest.approx(0.1662503200058199, rel=1e-12)},
        ],
    }
    assert [row["noise"] for row in ba.noise_sweep(net, config(), A2, 6)["levels"]] == list(ba.NOISE_LEVELS)


def _evaluate(model, **changes):
    cfg = config(model=model, **changes)
    child = bss.seeds(2)
    net = bss.build_model(cfg, child["model"])
    out = ba.evaluate(net, cfg, child)
    rng = np.random.default_rng(child["analyses"])
    run = ba._task(cfg, child["test"]).test_run(cfg.n_test, contexts=cfg.test_contexts)
    trace = net.forward(run.x, initial_state(net, 1, rng, testing=True))
    return net, out, out.pop("_arrays"), run, trace


def test_evaluate_the_modulation_network():
    net, out, arrays, run, trace = _evaluate("modulation")
    assert sorted(out) == ["clarity_output", "clarity_output_per_context", "clarity_stimulus",
                           "clarity_stimulus_per_context", "contexts", "decoding_r2", "mse_output", "n_test",
                           "noise_sweep", "transient_output_error", "transient_weight_error", "unit_clarity"]
    assert out["n_test"] == 4 and out["contexts"] == run.A.tolist()
    assert out["clarity_stimulus"] == pytest.approx(CLARITY_STIMULUS, rel=1e-12)
    assert out["clarity_output"] == pytest.approx(0.09196720601591313, rel=1e-9)
    assert out["clarity_output_per_context"]["mean"] == out["clarity_output"]
    assert out["clarity_stimulus_per_context"]["mean"] == out["clarity_stimulus"]
    assert len(out["clarity_output_per_context"]["values"]) == 4
    assert out["mse_output"] == pytest.approx(0.536549434696122, rel=1e-9)
    assert out["transient_output_error"] == {"0": pytest.approx(0.7012486654429492, rel=1e-9),
                                             "10": pytest.approx(0.9209860866399527, rel=1e-9),
                                             "19": pytest.approx(1.0216342765992814, rel=1e-9)}
    assert out["transient_weight_error"] == {"0": pytest.approx(4.024830639517567, rel=1e-9),
                                             "10": pytest.approx(4.079592013281192, rel=1e-9),
                                             "19": pytest.approx(4.118279043897269, rel=1e-9)}
    assert list(out["unit_clarity"]) == ["x", "y"]
    assert (out["unit_clarity"]["x"]["mean"], out["unit_clarity"]["x"]["max"]) == (
        pytest.approx(0.11100167891850582, rel=1e-9), pytest.approx(0.17645294117616295, rel=1e-9))
    assert (out["unit_clarity"]["y"]["mean"], out["unit_clarity"]["y"]["max"]) == (
        pytest.approx(0.09196720601591313, rel=1e-9), pytest.approx(0.12485085054033146, rel=1e-9))
    assert len(out["unit_clarity"]["y"]["values"]) == 2
    assert out["decoding_r2"]["x"]["values"] == pytest.approx([-6.818719668191285, -3.723100686512075], rel=1e-6)
    assert out["decoding_r2"]["y"]["values"] == pytest.approx([-31.911729254290158, -4.87720532974068], rel=1e-6)
    assert out["decoding_r2"]["y"]["mean"] == pytest.approx(np.mean(out["decoding_r2"]["y"]["values"]))
    sweep = out["noise_sweep"]
    assert sweep["signal_std"] == pytest.approx(0.5117450914564152, rel=1e-12)
    assert sweep["levels"][0]["clarity_output"] == pytest.approx(0.09220810097630368, rel=1e-9)
    assert sweep["levels"][-1]["clarity_output"] == pytest.approx(0.07050624765480894, rel=1e-9)
    assert sweep["levels"][-1]["clarity_stimulus"] == pytest.approx(0.06931129191248331, rel=1e-12)
    assert sorted(arrays) == ["A", "W", "correlations_x", "correlations_y", "output_error", "s", "weight_error",
                              "x", "y"]
    np.testing.assert_array_equal(arrays["s"], run.s[:, 0])
    np.testing.assert_array_equal(arrays["x"], run.x[:, 0])
    np.testing.assert_array_equal(arrays["y"], trace.outputs[:, 0])
    np.testing.assert_array_equal(arrays["A"], run.A)
    np.testing.assert_array_equal(arrays["W"], trace.extras["W"][1:, 0])
    assert arrays["W"].shape == (80, 2, 2) and arrays["weight_error"].shape == (80,)
    assert arrays["output_error"].shape == (80,) and arrays["correlations_y"].shape == arrays["correlations_x"].shape


def test_evaluate_the_spatial_network():
    net, out, arrays, run, trace = _evaluate("spatial")
    assert "transient_weight_error" not in out
    assert out["clarity_stimulus"] == pytest.approx(CLARITY_STIMULUS, rel=1e-12)
    assert out["clarity_output"] == pytest.approx(0.21066981160950243, rel=1e-9)
    assert out["mse_output"] == pytest.approx(0.33680307439589957, rel=1e-9)
    assert list(out["unit_clarity"]) == ["x", "z", "y"]
    assert (out["unit_clarity"]["z"]["mean"], out["unit_clarity"]["z"]["max"]) == (
        pytest.approx(0.22104089075197594, rel=1e-9), pytest.approx(0.3236748620860014, rel=1e-9))
    assert len(out["unit_clarity"]["z"]["values"]) == 6 and len(out["decoding_r2"]["z"]["values"]) == 2
    assert out["decoding_r2"]["y"]["values"] == pytest.approx([-2.409181025793991, -33.30143834414987], rel=1e-6)
    freeze = out["freeze"]
    assert freeze["repetitions"] == 40
    assert freeze["angle_feedback"]["median"] == pytest.approx(3.8510961823842544, rel=1e-9)
    assert freeze["pearson_r_distance_angle_feedback"] == pytest.approx(-0.04406359081244928, rel=1e-9)
    assert out["noise_sweep"]["levels"][-1]["clarity_output"] == pytest.approx(0.10264769645042478, rel=1e-9)
    assert sorted(arrays) == ["A", "K", "W_eff", "correlations_x", "correlations_y", "freeze_example", "mod",
                              "output_error", "s", "x", "y"]
    M = trace.extras["M"][1:, 0]
    np.testing.assert_array_equal(arrays["mod"], M)
    Wx, Wro = net.weight(net.WX), net.weight(net.WRO)
    np.testing.assert_allclose(arrays["W_eff"][7], Wro @ np.diag(M[7]) @ Wx, rtol=1e-12)
    assert arrays["W_eff"].shape == (80, 2, 2) and arrays["K"] is net.fixed["K"]
    assert sorted(arrays["freeze_example"]) == ["A", "mod", "s", "subs", "y"]


def test_evaluate_the_dale_network():
    net, out, arrays, run, trace = _evaluate("dale")
    assert out["clarity_output"] == pytest.approx(0.1775530769616286, rel=1e-9)
    assert out["mse_output"] == pytest.approx(0.49003493433837875, rel=1e-9)
    assert list(out["unit_clarity"]) == ["x", "zL", "zH", "y"]
    assert (out["unit_clarity"]["zH"]["mean"], out["unit_clarity"]["zH"]["max"]) == (
        pytest.approx(0.18308582565516898, rel=1e-9), pytest.approx(0.4918590636506938, rel=1e-9))
    assert out["unit_clarity"]["zL"]["mean"] == pytest.approx(0.17132419620440778, rel=1e-9)
    assert out["freeze"]["angle_context_change"]["mean"] == pytest.approx(43.139126460087155, rel=1e-9)
    assert out["freeze"]["angle_feedback_other_side_mean"] == pytest.approx(55.72293783396226, rel=1e-9)
    assert out["noise_sweep"]["levels"][0]["clarity_output"] == pytest.approx(0.17816149715047022, rel=1e-9)
    np.testing.assert_array_equal(arrays["mod"], trace.extras["p"][1:, 0])
    assert arrays["mod"].dtype == np.float64 and arrays["K"] is net.fixed["K"]
    assert "W_eff" not in arrays and "freeze_example" in arrays


def test_evaluate_without_the_analyses_and_with_given_contexts():
    A = np.concatenate([A2, A2[::-1]])
    _, out, arrays, run, _ = _evaluate("spatial", analyses=False, test_contexts=A)
    assert "freeze" not in out and "noise_sweep" not in out and "freeze_example" not in arrays
    assert out["n_test"] == 4 and out["contexts"] == A.tolist()
    _, out, arrays, _, _ = _evaluate("modulation", n_test=6)
    assert out["n_test"] == 6 and len(out["decoding_r2"]["x"]["values"]) == 3 and "freeze" not in out
    assert "noise_sweep" in out


@pytest.mark.parametrize(("units", "clarity"), [(1, 0.2436186147227905), (2, 0.2427139061352941)])
def test_evaluate_a_spatial_network_of_one_or_two_units(units, clarity):
    """The freeze experiment's PCA takes the first axis only: one or two units are enough (three axes of a
    population of fewer units were refused, after the training). With at most two units the population is a
    linear function of the two outputs, so every segment lies in the same plane: the angles are 0."""
    _, out, arrays, _, _ = _evaluate("spatial", n_units=units)
    assert out["freeze"]["angle_feedback"]["max"] == pytest.approx(0.0, abs=1e-5)
    assert out["freeze"]["angle_context_change"]["max"] == pytest.approx(0.0, abs=1e-5)
    assert out["unit_clarity"]["z"]["mean"] == pytest.approx(clarity, rel=1e-9)
    assert arrays["freeze_example"]["mod"].shape == (40, units)


def test_a_silent_population_has_no_unit_clarity(monkeypatch):
    """Units that never move have no clarity: NaN for the population, not an error."""
    monkeypatch.setattr(ba, "populations", lambda net, trace: {"z": np.zeros((80, 3))})
    _, out, _, _, _ = _evaluate("modulation", analyses=False)
    z = out["unit_clarity"]["z"]
    assert np.isnan(z["mean"]) and np.isnan(z["max"]) and len(z["values"]) == 3
    assert list(out["unit_clarity"]) == ["x", "z", "y"]
    assert out["unit_clarity"]["y"]["mean"] == pytest.approx(0.09196720601591313, rel=1e-9)


def test_equal_distances_and_one_side_give_no_correlation_and_no_other_side(monkeypatch):
    """Every pair of contexts at one distance, on one side: no correlation (NaN, without a warning), the
    same-side mean is the mean of all angles and the other side has none (NaN)."""
    monkeypatch.setattr(ba, "context_distance", lambda a, b: 0.5)
    monkeypatch.setattr(ba, "same_side", lambda a, b: True)
    _, _, out = _freeze("spatial", 4)
    assert out["context_distance"] == [0.5] * 4 and out["same_side"] == [True] * 4
    assert np.isnan(out["pearson_r_distance_angle_feedback"]) and np.isnan(out["angle_feedback_other_side_mean"])
    assert out["angle_feedback_same_side_mean"] == pytest.approx(0.8415727474070049, rel=1e-9)
