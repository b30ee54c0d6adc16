"""yetztml.cli.describe through ``main([...])``: the parser as the user reads it, the refusals word for word,
the equations printed, and for a sized cell the parameter table of exactly the cell asked (every size and
flag reaching ``build``), the picture and the JSON.

The drawing is replaced by a recorder (matplotlib would take seconds); the table and the JSON are the real
ones, compared with the anatomy of the same cell built directly.
"""

from __future__ import annotations

import inspect
import json
import sys

import pytest

import yetztml.report.pictures as pictures
from cli_snapshot import command, snapshot
from yetztml.analysis.anatomy import anatomy, build
from yetztml.cells.catalogue import CATALOGUE, entry
from yetztml.cli import describe
from yetztml.cli.main import main


def test_the_describe_parser_is_the_one_documented():
    assert snapshot(command("describe")) == {
        "description": "Print the numbered equations of a cell, as implemented (each line of code cites its id). "
                       "With --input-size and --hidden-size, also build the cell and print every parameter with "
                       "its shape and count (the total is the cell's num_weights, beside PyTorch's count where "
                       "PyTorch has the cell) and the vectors of one step with their sizes; --figure draws the net "
                       "unfolded in time with its layers and the inside of the cell with the dimension of every "
                       "vector and matrix.",
        "epilog": None,
        "formatter": "HelpFormatter",
        "cell": {"kind": "_StoreAction", "help": "which cell", "choices": sorted(CATALOGUE), "required": True},
        "--input-size": {"kind": "_StoreAction", "help": "inputs per step", "type": "int", "metavar": "I"},
        "--hidden-size": {"kind": "_StoreAction", "help": "hidden units per layer and direction; for memory-block "
                                                          "cells the number of blocks", "type": "int", "metavar": "H"},
        "--num-layers": {"kind": "_StoreAction", "help": "stacked layers, rnn/lstm/gru (default: 1)", "type": "int",
                         "default": 1, "metavar": "L"},
        "--bidirectional": {"kind": "_StoreTrueAction", "help": "both directions, rnn/lstm/gru", "default": False,
                            "nargs": 0, "const": True},
        "--block-size": {"kind": "_StoreAction", "help": "cells per block, memory-block cells (default: 1)",
                         "type": "int", "default": 1, "metavar": "S"},
        "--output-size": {"kind": "_StoreAction", "help": "output units, memory-block cells (default: 1)",
                          "type": "int", "default": 1, "metavar": "K"},
        "--figure": {"kind": "_StoreAction", "help": "draw the pictures into PATH (.png, .svg, .pdf)",
                     "metavar": "PATH"},
        "--json": {"kind": "_StoreAction", "help": "write parameters (name → shape, count) and total",
                   "metavar": "PATH"},
    }
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "describe") == (
        "print a cell's numbered equations; with sizes, its parameter table and pictures")
    assert command("describe")._defaults == {"handler": describe.handle}


def equations(name: str) -> str:
    return inspect.getdoc(sys.modules[entry(name).load().__module__])


@pytest.fixture
def drawn(monkeypatch, tmp_path) -> list:
    calls: list = []

    def write_picture(a, path):
        calls.append((a, path))
        return tmp_path / "drawn.png"

    monkeypatch.setattr(pictures, "write_picture", write_picture)
    monkeypatch.chdir(tmp_path)
    return calls


def test_an_unsized_cell_prints_its_equations_only(drawn, capsys):
    assert main(["describe", "gru"]) == 0
    assert capsys.readouterr().out == equations("gru") + "\n"
    assert drawn == []


@pytest.mark.parametrize(("argv", "cell"), [
    (["lstm", "--input-size", "3", "--hidden-size", "4", "--num-layers", "2", "--bidirectional"],
     ("lstm", 3, 4, 2, True, 1, 1)),
    (["lstm1997", "--input-size", "2", "--hidden-size", "3", "--block-size", "2", "--output-size", "4"],
     ("lstm1997", 2, 3, 1, False, 2, 4)),
    (["rnn", "--input-size", "1", "--hidden-size", "2"], ("rnn", 1, 2, 1, False, 1, 1)),
])
def test_a_sized_cell_prints_the_table_of_the_cell_asked(argv, cell, drawn, capsys):
    assert main(["describe", *argv]) == 0
    a = anatomy(build(*cell), cell[0])
    table = pictures.table_lines(a, pictures.torch_total(a))
    assert capsys.readouterr().out == equations(cell[0]) + "\n\n" + "\n".join(table) + "\n"
    assert drawn == []


def test_figure_and_json_are_written_and_named(drawn, tmp_path, capsys):
    assert main(["describe", "lstm", "--input-size", "3", "--hidden-size", "4", "--figure", "cell.SVG",
                 "--json", "cell.json"]) == 0
    a = anatomy(build("lstm", 3, 4), "lstm")
    assert capsys.readouterr().out.splitlines()[-2:] == [f"wrote {tmp_path / 'drawn.png'}", "wrote cell.json"]
    assert [(d["class"], d["total"], path) for d, path in drawn] == [(a["class"], a["total"], "cell.SVG")]
    written = json.loads((tmp_path / "cell.json").read_text())
    assert written == json.loads(json.dumps({**a, "torch_total": pictures.torch_total(a)}))
    assert written["torch_total"] == 4 * 4 * (3 + 4) + 2 * 4 * 4


@pytest.mark.parametrize(("argv", "line"), [
    (["--input-size", "3"], "describe --input-size/--hidden-size: expected both, to build the cell, got input size "
                            "3, hidden size None. e.g. yetztml describe lstm --input-size 3 --hidden-size 4"),
    (["--hidden-size", "5"], "describe --input-size/--hidden-size: expected both, to build the cell, got input "
                             "size None, hidden size 5. e.g. yetztml describe lstm --input-size 3 --hidden-size 4"),
    (["--figure", "a.png"], "describe --input-size/--hidden-size: expected both, to build the cell, got input size "
                            "None, hidden size None. e.g. yetztml describe lstm --input-size 3 --hidden-size 4"),
    (["--json", "a.json"], "describe --input-size/--hidden-size: expected both, to build the cell, got input size "
                           "None, hidden size None. e.g. yetztml describe lstm --input-size 3 --hidden-size 4"),
    (["--input-size", "3", "--hidden-size", "4", "--figure", "a.txt"],
     "describe --figure: expected a path ending in .png, .svg, .pdf, got a.txt"),
    (["--input-size", "3", "--hidden-size", "4", "--figure", "."],
     "--figure: expected a file path, got '.', a folder. Name a file, e.g. --figure result.json."),
    (["--input-size", "3", "--hidden-size", "4", "--json", "."],
     "--json: expected a file path, got '.', a folder. Name a file, e.g. --json result.json."),
])
def test_refusals_come_before_anything_is_printed(argv, line, drawn, capsys):
    assert main(["describe", "lstm", *argv]) == 2
    assert capsys.readouterr() == ("", f"yetztml describe: error: {line}\n")
    assert drawn == []
