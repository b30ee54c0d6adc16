"""``yetztml describe`` and ``yetztml --version`` through :func:`yetztml.cli.main.main`: the flags no other
test passes, each with its effect on the parameter count."""

from __future__ import annotations

import json

import pytest

from yetztml import __version__
from yetztml.cli.main import main


def _describe(argv, path):
    assert main(["describe", *argv, "--json", str(path)]) == 0
    return json.loads(path.read_text())


def test_bidirectional_doubles_every_weight_with_a_reverse_copy(tmp_path):
    """LSTM 2 → 3: 4·3·(2 + 3) weights and 2·4·3 biases = 84 per direction."""
    one = _describe(["lstm", "--input-size", "2", "--hidden-size", "3"], tmp_path / "one.json")
    both = _describe(["lstm", "--input-size", "2", "--hidden-size", "3", "--bidirectional"], tmp_path / "both.json")
    assert (one["total"], one["bidirectional"], both["total"], both["bidirectional"]) == (84, False, 168, True)
    assert sorted(both["parameters"]) == sorted([*one["parameters"], *(k + "_reverse" for k in one["parameters"])])


def test_output_size_sets_the_output_units_of_a_memory_block_cell(tmp_path):
    """LSTM1997, 2 inputs, 2 blocks of 1 cell: W_k is (K, 2) and b_k (K,); K = 3 adds 2·2 + 2 weights to K = 1."""
    three = _describe(["lstm1997", "--input-size", "2", "--hidden-size", "2", "--output-size", "3"],
                      tmp_path / "three.json")
    one = _describe(["lstm1997", "--input-size", "2", "--hidden-size", "2"], tmp_path / "one.json")
    assert (three["output_size"], three["parameters"]["W_k"]["shape"], three["parameters"]["b_k"]["shape"]) == (
        3, [3, 2], [3])
    assert (three["total"], one["total"], one["output_size"]) == (63, 57, 1)


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"yetztml {__version__}\n"
