"""The experiments registry: `yetztml reproduce` lists its entries, and each entry reaches its rows and entry."""

from __future__ import annotations

import pytest

from yetztml.cli.main import main
from yetztml.core.errors import OptionError
from yetztml.experiments import gers2000, lstm1997
from yetztml.experiments.registry import REPRODUCTIONS, get_reproduction, summary


def test_entries_load_their_rows_and_entry_functions():
    assert list(REPRODUCTIONS) == ["lstm1997", "gers2000"]
    assert REPRODUCTIONS["lstm1997"].rows is lstm1997.ROWS and REPRODUCTIONS["lstm1997"].entry is lstm1997.reproduce
    assert REPRODUCTIONS["gers2000"].rows is gers2000.ROWS and REPRODUCTIONS["gers2000"].entry is gers2000.reproduce


def test_default_run_folders_are_the_commands_old_ones():
    assert REPRODUCTIONS["lstm1997"].default_out("4-1") == "reproduce-4-1-as-written"
    assert REPRODUCTIONS["lstm1997"].default_out("4-1", variant="no-bias") == "reproduce-4-1-no-bias"
    assert REPRODUCTIONS["gers2000"].default_out("forget") == "reproduce-gers2000-forget"
    assert REPRODUCTIONS["gers2000"].out_pattern == "reproduce-gers2000-<row>"


def test_unknown_entry_is_refused_with_the_list():
    with pytest.raises(OptionError, match="expected one of 'lstm1997', 'gers2000', got 'gers1999'"):
        get_reproduction("gers1999")


def test_reproduce_help_lists_the_registry(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert f"reproduce a paper's tables: {summary()}" in " ".join(capsys.readouterr().out.split())
    assert summary() == "lstm1997 (Tables 1–9), gers2000 (Table 2)"
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    for spec in REPRODUCTIONS.values():
        assert f"{spec.name} {spec.help}" in printed
