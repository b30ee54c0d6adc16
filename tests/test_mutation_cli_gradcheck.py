"""yetztml.cli.gradcheck through ``main([...])``: the parser as the user reads it, the cells and seed the
checks are run with, every row of the table with its verdict at the tolerance's edge, the exit status, the
JSON written, and the refusals before any check.

The checks are replaced by a recorder handing back made-up errors, and rich's ``Console`` and ``Table`` by
recorders, so that what is printed is compared as given (no terminal width, no colours).
"""

from __future__ import annotations

import json

import pytest
import rich.console
import rich.table

from cli_snapshot import command, snapshot
from yetztml.cells.catalogue import CATALOGUE
from yetztml.cli import gradcheck
from yetztml.cli.main import main


def test_the_gradcheck_parser_is_the_one_documented():
    assert snapshot(command("gradcheck")) == {
        "description": "Build each cell on small random configurations (float64), compute the gradient of a random "
                       "linear function of outputs and final state with the hand-derived backward pass, and compare "
                       "it with central finite differences. Reports the max normwise relative error per parameter "
                       "(pass at <= 1e-06). Exit status 1 if any check fails.",
        "epilog": None,
        "formatter": "HelpFormatter",
        "cells": {"kind": "_StoreAction", "help": "cells to check (default: all of " + ", ".join(CATALOGUE) + ")",
                  "metavar": "CELL", "required": True, "nargs": "*"},
        "--seed": {"kind": "_StoreAction", "help": "seed for configurations and inputs, >= 0 (default: 0)",
                   "type": "int", "default": 0},
        "--json": {"kind": "_StoreAction", "help": "also write the full results as JSON to the file PATH",
                   "metavar": "PATH"},
    }
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "gradcheck") == (
        "check every cell's backward pass against float64 central finite differences")
    assert command("gradcheck")._defaults == {"handler": gradcheck.handle}
    assert gradcheck.TOLERANCE == 1e-6


class Console:
    """rich's Console, recording what is printed and the status shown during each check."""

    log: list = []

    def print(self, *objects):
        Console.log.extend(("print", o) for o in objects)

    def status(self, text):
        Console.log.append(("status", text))
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Table:
    def __init__(self, *headers):
        self.headers = headers
        self.rows: list = []

    def add_row(self, *cells):
        self.rows.append(cells)


def result(name: str, seed: int) -> dict:
    """Two configurations; the second cell's second holds one error just above the tolerance."""
    worst = 1.0000001e-6 if name == "lstm" else 1e-6
    return {"cell": name, "seed": seed, "configs": [{"errors": {"W": 2.5e-9, "b": 0.0}}, {"errors": {"W": worst}}]}


@pytest.fixture
def checks(monkeypatch, tmp_path) -> list:
    calls: list = []
    monkeypatch.setattr(gradcheck, "gradient_check",
                        lambda name, seed: calls.append((name, seed)) or result(name, seed))
    monkeypatch.setattr(rich.console, "Console", Console)
    monkeypatch.setattr(rich.table, "Table", Table)
    monkeypatch.setattr(Console, "log", [])
    monkeypatch.chdir(tmp_path)
    return calls


def test_cells_seed_rows_and_verdicts(checks):
    assert main(["gradcheck", "rnn", "gru", "--seed", "3"]) == 0
    assert checks == [("rnn", 3), ("gru", 3)]
    (table,) = [o for kind, o in Console.log if isinstance(o, Table)]
    assert Console.log == [("print", "gradcheck: cells=['rnn', 'gru'] seed=3 tolerance=1e-06 (float64)"),
                           ("status", "checking rnn…"), ("status", "checking gru…"), ("print", table)]
    assert table.headers == ("cell", "config", "parameter", "relative error", "verdict")
    assert table.rows == [("rnn", "0", "W", "2.50e-09", "pass"), ("rnn", "0", "b", "0.00e+00", "pass"),
                          ("rnn", "1", "W", "1.00e-06", "pass"),
                          ("gru", "0", "W", "2.50e-09", "pass"), ("gru", "0", "b", "0.00e+00", "pass"),
                          ("gru", "1", "W", "1.00e-06", "pass")]


def test_one_error_above_the_tolerance_fails_and_later_passes_do_not_clear_it(checks):
    assert main(["gradcheck", "lstm", "rnn"]) == 1
    (table,) = [o for kind, o in Console.log if isinstance(o, Table)]
    assert table.rows[2] == ("lstm", "1", "W", "1.00e-06", "[red]FAIL[/red]")
    assert [r[-1] for r in table.rows].count("pass") == 5
    assert checks == [("lstm", 0), ("rnn", 0)]


def test_no_cell_named_checks_every_cell(checks):
    assert main(["gradcheck"]) == 1
    assert checks == [(name, 0) for name in CATALOGUE]


def test_json_holds_the_tolerance_the_seed_and_every_result(checks, tmp_path):
    assert main(["gradcheck", "gru", "--seed", "2", "--json", "g.json"]) == 0
    assert json.loads((tmp_path / "g.json").read_text()) == {"tolerance": 1e-6, "seed": 2, "cells": [result("gru", 2)]}
    assert Console.log[-1] == ("print", "wrote g.json")


@pytest.mark.parametrize(("argv", "line"), [
    (["nocell"], "cell: expected one of "),
    (["rnn", "--seed", "-2"], "--seed: expected an integer seed >= 0, got -2. Seeds are non-negative; use e.g. 0."),
    (["rnn", "--json", "."], "--json: expected a file path, got '.', a folder. Name a file, e.g. --json "
                             "result.json."),
])
def test_refusals_come_before_any_check(argv, line, checks, capsys):
    assert main(["gradcheck", *argv]) == 2
    assert capsys.readouterr().err.startswith(f"yetztml gradcheck: error: {line}")
    assert (checks, Console.log) == ([], [])
