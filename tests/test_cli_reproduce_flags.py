"""``yetztml reproduce`` through :func:`yetztml.cli.main.main`: every option that selects or changes a run has
its effect, read back from ``result.json`` (trials of one or two sequences: each run takes about a second)."""

from __future__ import annotations

import json

import pytest

from yetztml.cli.main import main

SHORT = ["--trials", "1", "--max-sequences", "2", "--jobs", "1", "--no-figures"]


def _run(argv, out, capsys):
    code = main(["reproduce", "lstm1997", *argv, "--out", str(out), *SHORT])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return json.loads((out / "result.json").read_text()), printed.out


@pytest.mark.parametrize(
    ("argv", "row_id"),
    [  # each option decides: without it the same command selects another row (in the comment)
        (["--exp", "1", "--blocks", "3", "--alpha", "0.5"], "1-5"),  # 1-4
        (["--exp", "1", "--block-size", "2", "--alpha", "0.5"], "1-5"),  # 1-4
        (["--exp", "1", "--alpha", "0.2"], "1-3"),  # 1-5
        (["--exp", "2a", "--method", "rtrl", "--p", "10"], "2a-rtrl-4"),  # 2a-rtrl-1
        (["--exp", "2a", "--method", "rtrl", "--alpha", "10"], "2a-rtrl-3"),  # 2a-rtrl-1
        (["--exp", "2a", "--method", "bptt"], "2a-bptt-1"),  # 2a
        (["--exp", "2c", "--p", "200", "--q", "200"], "2c-3"),  # 2c-1
        (["--exp", "3b", "--T", "100", "--N", "1"], "3b-2"),  # 3b-1
        (["--exp", "5", "--n-seq", "13"], "5-2"),  # 5-1
        (["--exp", "4-2"], "4-2"),
    ],
)
def test_the_parameters_select_the_paper_row(argv, row_id, tmp_path, capsys):
    result, printed = _run(argv, tmp_path, capsys)
    assert result["row"] == row_id and f"row {row_id} " in printed
    (record,) = result["trials"]
    assert (record["trial"], record["seed"], record["sequences"], record["success"]) == (0, 0, 2, False)


def test_a_free_parameter_outside_the_tables_builds_a_custom_row(tmp_path, capsys):
    result, printed = _run(["--exp", "4", "--T", "30"], tmp_path / "4", capsys)
    assert result["row"] == "4-custom" and result["paper_values"] == {} and "row 4-custom " in printed
    assert result["config"]["row"]["task"] == {"T": 30}
    result, _ = _run(["--exp", "2c", "--p", "50", "--q", "60"], tmp_path / "2c", capsys)
    assert (result["row"], result["config"]["row"]["task"]) == ("2c-custom", {"p": 50, "q": 60})


def test_seed_trials_and_max_sequences_reach_the_trials(tmp_path, capsys):
    argv = ["reproduce", "lstm1997", "--exp", "6a", "--seed", "7", "--trials", "2", "--max-sequences", "3",
            "--jobs", "1", "--no-figures", "--out", str(tmp_path)]
    assert main(argv) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert [(r["trial"], r["seed"], r["sequences"]) for r in result["trials"]] == [(0, 7, 3), (1, 7, 3)]
    assert result["config"]["seed"] == 7 and result["config"]["max_sequences"] == 3
    assert "trials 2, seed 7, cap 3 sequences" in capsys.readouterr().out


def test_variant_changes_the_trained_net(tmp_path, capsys):
    """linear-output: the same trial, the same stream, another output unit: another test error."""
    plain, _ = _run(["--exp", "4"], tmp_path / "plain", capsys)
    linear, printed = _run(["--exp", "4", "--variant", "linear-output"], tmp_path / "linear", capsys)
    assert (plain["variant"]["name"], linear["variant"]["name"]) == ("as-written", "linear-output")
    assert "variant linear-output" in printed
    assert plain["trials"][0]["steps"] == linear["trials"][0]["steps"]  # the same training stream
    assert plain["trials"][0]["test"]["mae"] != linear["trials"][0]["test"]["mae"]
    # seed 0 after 2 sequences (compiled float64 loops: the error to 1e-9 relative, the counts exact)
    assert [(r["trials"][0]["sequences"], r["trials"][0]["steps"], r["trials"][0]["test"]["wrong"])
            for r in (plain, linear)] == [(2, 211, 2155), (2, 211, 2231)]
    assert (plain["trials"][0]["test"]["mae"], linear["trials"][0]["test"]["mae"]) == pytest.approx(
        (0.1647927710981723, 0.1815346333684758), rel=1e-9)


def test_force_starts_over_where_another_configuration_is_refused(tmp_path, capsys):
    first, _ = _run(["--exp", "6a", "--seed", "1"], tmp_path, capsys)
    assert main(["reproduce", "lstm1997", "--exp", "6a", "--seed", "2", "--out", str(tmp_path), *SHORT]) == 2
    assert "another configuration" in capsys.readouterr().err
    again, _ = _run(["--exp", "6a", "--seed", "2", "--force"], tmp_path, capsys)
    assert (first["config"]["seed"], again["config"]["seed"]) == (1, 2)
    assert [r["seed"] for r in again["trials"]] == [2]
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert [json.loads(line)["seed"] for line in lines] == [2]  # the first run's trial was deleted


def test_figures_are_written_unless_no_figures(tmp_path, capsys):
    assert main(["reproduce", "lstm1997", "--exp", "6a", "--trials", "1", "--max-sequences", "2", "--jobs", "1",
                 "--out", str(tmp_path / "with")]) == 0
    _run(["--exp", "6a"], tmp_path / "without", capsys)
    assert sorted(p.name for p in (tmp_path / "with").glob("*.png")) == ["curves.png", "sequences.png"]
    assert list((tmp_path / "without").glob("*.png")) == []


def _gers(argv, out):
    assert main(["reproduce", "gers2000", *argv, "--jobs", "1", "--no-figures", "--out", str(out)]) == 0
    return json.loads((out / "result.json").read_text())


def test_gers2000_max_streams_seed_and_trials_reach_the_nets(tmp_path, capsys):
    """Seed 3, two nets of 5 training streams each: the streams' lengths and the tests are seeded."""
    result = _gers(["--row", "forget-decay", "--trials", "2", "--max-streams", "5", "--seed", "3"], tmp_path)
    records = [(r["trial"], r["seed"], r["streams"], r["steps"], r["reason"], r["class"], r["weights"])
               for r in result["trials"]]
    assert records == [(0, 3, 5, 98, "cap", "rest", 424), (1, 3, 5, 132, "cap", "rest", 424)]
    assert [r["test_length_mean"] for r in result["trials"]] == [1.0, 2.2]
    assert (result["config"]["seed"], result["config"]["max_streams"], result["config"]["max_steps"]) == (3, 5, None)
    assert "row forget-decay" in capsys.readouterr().out


def test_gers2000_max_steps_ends_a_net_after_the_stream_that_passes_it(tmp_path):
    result = _gers(["--row", "forget-decay", "--trials", "1", "--max-steps", "3000"], tmp_path)
    (record,) = result["trials"]
    assert (record["reason"], record["streams"], record["steps"]) == ("steps cap", 83, 3002)
    assert result["config"]["max_steps"] == 3000
