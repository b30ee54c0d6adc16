"""yetztml.report.bss line by line: the whole report of a hand-made spatial result (every quantity, the
noise sweep, the learning curve, the figures), the modulation and Dale tables with missing quantities, and
the file written."""

from __future__ import annotations

import copy

from yetztml.report import bss

RESULT = {
    "model_class": "SpatialNet", "num_weights": 1234, "seed": 5, "batches": 40, "seconds_total": 12.345,
    "config": {"model": "spatial", "sources": "chords", "tau": 100.0, "lstm_input": "xy", "batch_size": 32,
               "n_steps": 1000, "dtype": "float32", "tanh": "fast", "threads": 2, "blas_threads": 1},
    "training": {"seconds_per_batch": 0.1234, "seconds_per_batch_mean": 0.2345, "cpu_seconds_per_batch": 0.3456,
                 "first_batch_seconds": 4.567, "training_seconds": 56.78,
                 "curve": [{"batch": 10, "loss": 0.0123456, "clarity_output": 0.61234},
                           {"batch": 40, "loss": 0.00456789, "clarity_output": 0.75678}]},
    "evaluation": {
        "clarity_stimulus_per_context": {"mean": 0.52345, "std": 0.01234, "min": 0.5},
        "clarity_output_per_context": {"mean": 0.94321, "std": 0.02345, "min": 0.87654},
        "mse_output": 0.0123456,
        "transient_output_error": {"0": 0.2612, "10": 0.6549},
        "unit_clarity": {"z": {"mean": 0.44444, "max": 0.77777}},
        "decoding_r2": {"x": {"mean": 0.31234}, "z": {"mean": 0.96543}},
        "freeze": {"angle_context_change": {"median": 1.84, "mean": 2.56},
                   "angle_feedback": {"median": 30.11, "mean": 40.26}},
        "noise_sweep": {"signal_std": 0.31234, "levels": [
            {"noise": 0.1, "snr_db": 9.876, "clarity_output": 0.81234, "clarity_stimulus": 0.53456},
            {"noise": 1.0, "snr_db": -10.04, "clarity_output": 0.50123, "clarity_stimulus": 0.50011}]},
    },
    "figures": ["fig_a.png", "fig_b.png"],
}

SPATIAL = """\
# Feedback modulation (eLife 2022): SpatialNet

Model `spatial` (1234 trained weights), sources `chords`, τ = 100, LSTM input `xy`, seed 5, 40 batches of \
32 × 1000 steps, float32, tanh fast, 2 thread(s), BLAS threads 1 each.

Training: median 0.123 s per batch (mean 0.234; median CPU time 0.346 s, all threads; first batch, which \
includes compilation when the cache is cold, 4.57 s), 56.8 s of training in total (resumed sessions \
included); this session 12.3 s. Reference: the authors' PyTorch code 1.0–1.3 s per batch on a 2-core CPU [M].

The references were measured after 10,000 training batches; compare a shorter run with care.

| quantity | reference | ours |
|---|---|---|
| stimulus clarity | 0.52–0.54 [M] | 0.523 ± 0.012 |
| output clarity | 0.938–0.945 chords, 0.976–0.985 sines [M] | 0.943 ± 0.023 |
| output clarity, worst context | 0.85–0.91 chords, 0.93–0.95 sines [M] | 0.877 |
| MSE(s, y) | 0.009–0.0125 chords, 0.004–0.007 sines [M] | 0.01235 |
| ‖s − y‖ at samples 0/10/50/100/200/500/999 into a context | 0.26/0.65/0.20/0.15/0.03/0.06/0.02 chords [M] \
| 0: 0.26, 10: 0.65 |
| per-unit clarity of z (mean, max) | 0.44–0.45 (max 0.72–0.77) chords; 0.48–0.49 sines [M] | 0.444 (max 0.778) |
| decoding R² from x | 0.18–0.46 [M] | 0.312 |
| decoding R² from z | 0.95–0.97 chords, 0.99 sines [M] | 0.965 |
| decoding R² from y | 0.96–0.97 chords, 0.99 sines [M] | – |
| angle, ctx change with frozen feedback (median, mean) | 1.7°, 2.4° sines [M] | 1.8°, 2.6° |
| angle, feedback restored (median, mean) | 34.7°, 45.4° sines [M] | 30.1°, 40.3° |

Noise sweep (σ_s = 0.312; paper: clarity reaches chance near 1.1 dB):

| σ_n | SNR (dB) | clarity y | clarity x |
|---|---|---|---|
| 0.1 | 9.9 | 0.812 | 0.535 |
| 1 | -10.0 | 0.501 | 0.500 |

Learning curve (output clarity on fixed monitoring contexts):

| batch | mean loss (last 20) | clarity y |
|---|---|---|
| 10 | 0.01235 | 0.612 |
| 40 | 0.004568 | 0.757 |

Figures: [fig_a.png](fig_a.png), [fig_b.png](fig_b.png)
"""


def test_spatial_report_is_every_line_of_the_result():
    assert bss.report_text(RESULT) == SPATIAL


def test_modulation_report_without_sweep_curve_figures_or_a_weight_transient():
    result = copy.deepcopy(RESULT)
    result["config"]["model"] = "modulation"
    result["model_class"] = "ModulationNet"
    ev = result["evaluation"]
    del ev["noise_sweep"], result["figures"]
    ev["mse_output"] = 0  # not a float: printed as it is
    result["training"]["curve"] = []
    text = bss.report_text(result)
    table = text.split("|---|---|---|\n", 1)[1]
    assert table == (
        "| stimulus clarity (mean over contexts) | 0.52–0.54 [M]; ≈ 0.5 paper | 0.523 ± 0.012 |\n"
        "| output clarity (mean over contexts) | 0.962–0.967 [M]; ≥ 0.95 target | 0.943 ± 0.023 |\n"
        "| output clarity, worst context | 0.85–0.94 [M] | 0.877 |\n"
        "| MSE(s, y) | 0.003–0.0045 [M] | 0 |\n"
        "| ‖s − y‖ at samples 0/10/50/100/200/500/999 into a context | 0.26/0.33/0.13/0.07/0.02/0.04/0.02 [M] "
        "| 0: 0.26, 10: 0.65 |\n"
        "| ‖W − A⁻¹‖ at samples 0/…/999 into a context | 3.37 (0), 1.08 (50), 0.49 (100), 0.34–0.37 (200–999) "
        "[M] | – |\n"
    )
    assert text.startswith("# Feedback modulation (eLife 2022): ModulationNet\n")
    ev["transient_weight_error"] = {"50": 1.2345}
    assert "| 50: 1.23 |\n" in bss.report_text(result)


def test_dale_report_without_freeze_or_units_says_not_run():
    result = copy.deepcopy(RESULT)
    result["config"]["model"] = "dale"
    ev = result["evaluation"]
    del ev["freeze"]
    ev["decoding_r2"] = {"zL": {"mean": 0.1234}, "zH": {"mean": 0.9876}}
    table = bss.report_text(result).split("|---|---|---|\n", 1)[1].split("\n\n", 1)[0]
    assert table == (
        "| stimulus clarity | 0.52–0.54 [M] | 0.523 ± 0.012 |\n"
        "| output clarity | learns the task (paper; no number) | 0.943 ± 0.023 |\n"
        "| decoding R² from z^L | low (paper, Fig. 6; no number) | 0.123 |\n"
        "| decoding R² from z^H | high (paper, Fig. 6; no number) | 0.988 |\n"
        "| angle, feedback restored (median, mean) | feedback reorients activity (paper) | – (not run) |"
    )


def test_missing_unit_clarity_and_empty_transient_are_dashes():
    ev = copy.deepcopy(RESULT["evaluation"])
    ev["unit_clarity"] = {}
    ev["transient_output_error"] = {}
    assert bss._ours("unit_clarity_z", ev) == "–"
    assert bss._ours("transient_output_error", ev) == "–"
    del ev["transient_output_error"]
    assert bss._ours("transient_output_error", ev) == "–"
    assert bss._ours("something_else", ev) == "–"
    assert bss._ours("freeze_context", {"freeze": {}}) == "– (not run)"


def test_fmt_gives_four_significant_digits_for_floats_only():
    assert bss._fmt(0.000123456) == "0.0001235"
    assert bss._fmt(123456.0) == "1.235e+05"
    assert bss._fmt(7) == "7"
    assert bss._fmt("x") == "x"


def test_write_report_writes_the_text_and_returns_the_path(tmp_path):
    target = tmp_path / "report.md"
    assert bss.write_report(str(target), RESULT) == target
    assert target.read_text(encoding="utf-8") == SPATIAL


def test_population_name_is_everything_after_the_prefix():
    ev = {"unit_clarity": {"z_h": {"mean": 0.25, "max": 0.5}, "h": {"mean": 0.75, "max": 1.0}},
          "decoding_r2": {"z_h": {"mean": 0.125}, "h": {"mean": 0.875}}}
    assert bss._ours("unit_clarity_z_h", ev) == "0.250 (max 0.500)"
    assert bss._ours("decoding_z_h", ev) == "0.125"
