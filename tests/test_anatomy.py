"""A configured cell's parameter table, step vectors and pictures (``yetztml describe CELL --figure``)."""

from __future__ import annotations

import json

import pytest

from yetztml.analysis.anatomy import anatomy, build
from yetztml.cli.main import main
from yetztml.core.errors import OptionError


@pytest.mark.parametrize(
    ("name", "options", "total"),
    [
        ("rnn", dict(num_layers=2), 4 * (3 + 4 + 2) + 4 * (4 + 4 + 2)),  # (AN3), G = 1
        ("lstm", dict(num_layers=2, bidirectional=True), 2 * 16 * (3 + 4 + 2) + 2 * 16 * (8 + 4 + 2)),  # G = 4
        ("gru", {}, 12 * (3 + 4 + 2)),  # G = 3
        ("lstm1997", dict(block_size=2), (4 + 2 + 2) * (11 + 1) + 1 * (4 + 1)),  # (AN4)–(AN5): U = 3 + 4 + 2·2
        ("lstm-forget", {}, (2 + 2 + 2 + 2) * (3 + 2 + 3 * 2 + 1) + 1 * (2 + 1)),  # U = I + N + 3C
    ],
)
def test_total_is_derived_by_hand_and_equals_num_weights(name, options, total):
    a = anatomy(build(name, 3, 4 if name in ("rnn", "lstm", "gru") else 2, **options))
    assert a["total"] == total == a["num_weights"]
    assert sum(row["count"] for row in a["parameters"].values()) == total


def test_vector_sizes_come_from_the_cell():
    a = anatomy(build("lstm1997", 3, 2, block_size=2, output_size=5))
    sizes = {v["name"]: v["size"] for v in a["vectors"]}
    assert sizes == {"x(t)": 3, "u(t)": 11, "net_c(t), g(t)": 4, "y^in(t)": 2, "s(t)": 4, "y^out(t)": 2,
                     "y^c(t)": 4, "v(t)": 4, "y^k(t)": 5}
    assert a["forget_gate"] is False and a["output_gate"] is True and a["block_size"] == 2
    b = anatomy(build("lstm", 3, 4, num_layers=2, bidirectional=True))
    sizes = {v["name"]: v["size"] for v in b["vectors"]}
    assert sizes["x^(2)(t)"] == 8 and sizes["output(t)"] == 8 and sizes["i^(1)(t)"] == 4


@pytest.mark.torch
def test_total_equals_pytorch_count():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from yetztml.report.pictures import torch_total

    for name, module in (("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
        a = anatomy(build(name, 5, 3, num_layers=2, bidirectional=True))
        reference = sum(p.numel() for p in module(5, 3, num_layers=2, bidirectional=True).parameters())
        assert a["total"] == torch_total(a) == reference
    assert torch_total(anatomy(build("lstm1997", 2, 2))) is None


def test_memory_block_cells_refuse_layers():
    with pytest.raises(OptionError, match="one layer, one direction"):
        build("lstm1997", 3, 2, num_layers=2)


def test_cli_describe_figure_and_json(tmp_path, capsys):
    png, js = tmp_path / "rnn.png", tmp_path / "rnn.json"
    assert main(["describe", "rnn", "--input-size", "3", "--hidden-size", "4", "--num-layers", "2",
                 "--figure", str(png), "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert "  weight_ih_l1           4×4                16" in printed
    data = json.loads(js.read_text())
    assert data["total"] == 76 and data["parameters"]["weight_hh_l0"] == {"shape": [4, 4], "count": 16}
    assert png.stat().st_size > 30000
    svg = tmp_path / "cell.svg"
    assert main(["describe", "lstm1997", "--input-size", "2", "--hidden-size", "2", "--block-size", "2",
                 "--figure", str(svg)]) == 0
    text = svg.read_text()
    assert "self-weight 1.0 (no forget gate)" in text and "W_c 4×10" in text  # U = 2 + 4 + 2·2


def test_cli_describe_errors_are_one_line(tmp_path, capsys):
    assert main(["describe", "rnn", "--figure", str(tmp_path / "x.png")]) == 2
    assert main(["describe", "rnn", "--input-size", "3", "--hidden-size", "2", "--figure",
                 str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "yetztml describe: error: describe --input-size/--hidden-size: expected both, to build the cell, got "
        "input size None, hidden size None. e.g. yetztml describe rnn --input-size 3 --hidden-size 4",
        f"yetztml describe: error: describe --figure: expected a path ending in .png, .svg, .pdf, got "
        f"{tmp_path / 'x.txt'}",
    ]


def test_cells_without_a_drawing_are_refused_in_one_line(capsys):
    from yetztml.cli.main import main

    assert main(["describe", "lstm-cifg", "--input-size", "3", "--hidden-size", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "one of the cells drawn with their sizes: rnn, lstm, gru" in err
