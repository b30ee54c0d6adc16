"""Reading back what a report drew: colours as hex and an axis' grid (used with the ``saved`` fixture of
``conftest.py``, which captures the figures instead of writing them)."""

from __future__ import annotations

import matplotlib.colors


def hex_of(color) -> str:
    """Any matplotlib colour as '#rrggbb'."""
    return matplotlib.colors.to_hex(color)


def grid_of(ax) -> tuple[bool, float]:
    """(whether the x grid is drawn, its alpha)."""
    line = ax.xaxis.get_gridlines()[0]
    return line.get_visible(), line.get_alpha()
