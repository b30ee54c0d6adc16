"""The reproducible experiments: one table, :data:`REPRODUCTIONS`, that ``yetztml reproduce`` reads.

Each entry names one paper's reproduction: the command-line name, the tables it covers, the help line and
description the command shows, the module that holds its rows (``ROWS``) and its entry function
(``reproduce(row, *, trials, seed, out, jobs, on_record, on_progress, backend, ...)`` writing
``out/result.json``), its defaults, and the pattern of its default run folder. The modules are imported
only when an entry's rows or entry function are asked for, so listing the entries stays fast.

A new reproduction is a package or module in ``experiments/`` with ``ROWS`` and ``reproduce``, an entry
here, and its row options in ``cli/reproduce.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

from ..core.errors import OptionError, message


def _lstm1997() -> ModuleType:
    from . import lstm1997

    return lstm1997


def _gers2000() -> ModuleType:
    from . import gers2000

    return gers2000


@dataclass(frozen=True)
class Reproduction:
    """One reproducible experiment; ``rows`` and ``entry`` import its module on first use."""

    name: str
    paper: str
    tables: str
    help: str
    description: str
    out: str  # the default run folder; ``{row}`` and the ``defaults`` fields are filled in
    loader: Callable[[], ModuleType]
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> ModuleType:
        return self.loader()

    @property
    def rows(self) -> Mapping[str, Any]:
        """The rows by id (the module's ``ROWS``)."""
        return self.module.ROWS

    @property
    def entry(self) -> Callable[..., dict[str, Any]]:
        """The function that runs a row's trials into a folder (the module's ``reproduce``)."""
        return self.module.reproduce

    @property
    def out_pattern(self) -> str:
        """The default run folder as the help shows it: ``reproduce-<row>-<variant>``."""
        return re.sub(r"\{(\w+)\}", r"<\1>", self.out)

    def default_out(self, row: str, **fields: Any) -> str:
        """The run folder of ``row`` when none is given (``fields`` override the defaults)."""
        return self.out.format(row=row, **{**self.defaults, **fields})


REPRODUCTIONS: Mapping[str, Reproduction] = MappingProxyType({
    r.name: r
    for r in (
        Reproduction(
            name="lstm1997",
            paper="Hochreiter & Schmidhuber 1997",
            tables="Tables 1–9",
            help="Hochreiter & Schmidhuber 1997, Tables 1–9",
            description="Hochreiter & Schmidhuber 1997, §5. Select a row by experiment id and parameters "
                        "(--exp 4 --T 100) or by table id (--exp 4-3). Defaults: the paper's trial count, the "
                        "as-written configuration.",
            out="reproduce-{row}-{variant}",
            loader=_lstm1997,
            defaults=MappingProxyType({"seed": 0, "variant": "as-written"}),
        ),
        Reproduction(
            name="gers2000",
            paper="Gers, Schmidhuber & Cummins 2000",
            tables="Table 2",
            help="Gers, Schmidhuber & Cummins 2000, Table 2 (continual embedded Reber grammar)",
            description="Gers, Schmidhuber & Cummins 2000, Table 2 rows (CERG). Select with --row NAME.",
            out="reproduce-gers2000-{row}",
            loader=_gers2000,
            defaults=MappingProxyType({"seed": 0}),
        ),
    )
})


def get_reproduction(name: str) -> Reproduction:
    """The entry called ``name``, or an OptionError listing the entries."""
    if name not in REPRODUCTIONS:
        raise OptionError(message("reproduction", "one of " + ", ".join(repr(n) for n in REPRODUCTIONS),
                                  repr(name), "See `yetztml reproduce --help`."))
    return REPRODUCTIONS[name]


def summary() -> str:
    """One line naming every entry and its tables: ``lstm1997 (Tables 1–9), gers2000 (Table 2)``."""
    return ", ".join(f"{r.name} ({r.tables})" for r in REPRODUCTIONS.values())


__all__ = ["REPRODUCTIONS", "Reproduction", "get_reproduction", "summary"]
