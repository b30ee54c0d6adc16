"""``yetztml errorflow`` and ``yetztml gradcheck`` through :func:`yetztml.cli.main.main`: --scenario, --lags,
--seed and --json each with its effect on the written result."""

from __future__ import annotations

import json

import pytest

from yetztml.cli.main import main


def _errorflow(argv, path):
    assert main(["errorflow", *argv, "--json", str(path)]) == 0
    return json.loads(path.read_text())


def test_scenario_lags_and_seed_reach_the_result(tmp_path):
    """The vanishing scenario over 20 lags: seeds 3 and 4 draw other weights, so other flows (float64, no
    training: pinned to 1e-9 relative)."""
    three = _errorflow(["--scenario", "vanishing", "--lags", "20", "--seed", "3"], tmp_path / "three.json")
    four = _errorflow(["--scenario", "vanishing", "--lags", "20", "--seed", "4"], tmp_path / "four.json")
    assert (three["scenario"], three["seed"], four["seed"], three["lags"]) == ("vanishing", 3, 4, list(range(1, 21)))
    assert three["config"]["steps"] == 21
    assert (three["log10_flow"][0], three["log10_flow"][-1]) == pytest.approx(
        (-0.9580089856136719, -14.458538360386406), rel=1e-9)
    assert (four["log10_flow"][0], four["log10_flow"][-1]) == pytest.approx(
        (-0.9655830487373471, -14.865400380207172), rel=1e-9)
    cec = _errorflow(["--scenario", "cec", "--lags", "7"], tmp_path / "cec.json")
    assert (cec["scenario"], cec["flow"], cec["seed"]) == ("cec", [1.0] * 7, 0)


def test_gradcheck_checks_the_cells_named_with_the_seed_given(tmp_path):
    paths = {seed: tmp_path / f"g{seed}.json" for seed in (2, 3)}
    for seed, path in paths.items():
        assert main(["gradcheck", "rnn", "gru", "--seed", str(seed), "--json", str(path)]) == 0
    two, three = (json.loads(p.read_text()) for p in paths.values())
    assert [c["cell"] for c in two["cells"]] == ["rnn", "gru"] and (two["seed"], three["seed"]) == (2, 3)
    assert all(c["max_error"] <= two["tolerance"] for c in two["cells"])
    rnn_two, rnn_three = two["cells"][0]["configs"], three["cells"][0]["configs"]
    assert [cfg["config"] for cfg in rnn_two] == [cfg["config"] for cfg in rnn_three]
    assert [cfg["errors"] for cfg in rnn_two] != [cfg["errors"] for cfg in rnn_three]  # other weights and inputs
