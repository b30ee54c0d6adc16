"""yetztml.experiments.registry: each entry loads its own module, names its run folders, and an unknown entry
is refused with the whole message."""

from __future__ import annotations

import pytest

from yetztml.core.errors import OptionError
from yetztml.experiments import gers2000, lstm1997
from yetztml.experiments.registry import REPRODUCTIONS, get_reproduction


def test_each_entry_loads_its_paper_module():
    assert REPRODUCTIONS["lstm1997"].loader() is lstm1997 and REPRODUCTIONS["lstm1997"].module is lstm1997
    assert REPRODUCTIONS["gers2000"].loader() is gers2000 and REPRODUCTIONS["gers2000"].module is gers2000


def test_get_reproduction_returns_the_entry_by_name():
    assert get_reproduction("gers2000") is REPRODUCTIONS["gers2000"]
    assert get_reproduction("lstm1997").paper == "Hochreiter & Schmidhuber 1997"


def test_an_unknown_entry_is_refused_with_the_list_and_the_fix():
    with pytest.raises(OptionError) as refused:
        get_reproduction("lstm")
    assert str(refused.value) == ("reproduction: expected one of 'lstm1997', 'gers2000', got 'lstm'. "
                                  "See `yetztml reproduce --help`.")


def test_run_folders_fill_the_row_and_the_defaults():
    spec = REPRODUCTIONS["lstm1997"]
    assert spec.out_pattern == "reproduce-<row>-<variant>"
    assert spec.default_out("2c-1") == "reproduce-2c-1-as-written"
    assert spec.default_out("2c-1", variant="grad2", seed=4) == "reproduce-2c-1-grad2"
    assert REPRODUCTIONS["gers2000"].default_out("reset", seed=3) == "reproduce-gers2000-reset"
