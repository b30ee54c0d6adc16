"""The report of a sweep (``yetztml sweep``): ``report.md`` with the table of points and ``sweep.png``.

Built from the table :func:`yetztml.experiments.sweep.run_sweep` returns (also kept in ``sweep.json``):
one row per point, the options that vary between points, then the command's summary columns. The figure
plots the command's two headline columns per point (for the 1997 rows: % success and mean sequences to
success; for Gers 2000: % perfect and mean streams to perfect).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .reproduction import fmt

FIGURE_FILE = "sweep.png"


def table_lines(table: dict[str, Any]) -> list[str]:
    """The points as a Markdown table."""
    keys = ["point", *table["options"], *table["columns"]]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in table["rows"]:
        lines.append("| " + " | ".join(fmt(row.get(k)) for k in keys) + " |")
    return lines


def plot_sweep(table: dict[str, Any], path: Path) -> Path:
    """One panel per figure column: the value of each point (a bar per point; none where it is undefined)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = table["figure"]
    names = [row["point"] for row in table["rows"]]
    fig, axes = plt.subplots(len(columns), 1, figsize=(max(5.0, 0.6 * len(names) + 2.5), 2.6 * len(columns)),
                             sharex=True, squeeze=False)
    for ax, column in zip(axes[:, 0], columns, strict=True):
        values = [row.get(column) for row in table["rows"]]
        ax.bar(range(len(names)), [0.0 if v is None else v for v in values], color="tab:blue")
        for i, v in enumerate(values):
            if v is None:
                ax.text(i, 0, "–", ha="center", va="bottom")
        ax.set_ylabel(column.replace("_", " "))
    axes[-1, 0].set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    axes[0, 0].set_title(f"yetztml sweep: {table['command']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_sweep_report(out: str | Path, table: dict[str, Any], figures: bool = True) -> Path:
    """Write ``out/report.md`` (and ``out/sweep.png``) for the sweep ``table``."""
    out = Path(out)
    base = ", ".join(f"{k} = {v}" for k, v in table["base"].items()) or "none"
    lines = [
        f"# Sweep: `{table['command']}`, {len(table['rows'])} points",
        "",
        f"Shared options: {base}. Varying: {', '.join(table['options']) or 'none'}. Backend: {table['backend']}.",
        "Each point's trials, result and configuration are in `points/<point>/`; the table is also `sweep.csv`.",
        "",
        *table_lines(table),
    ]
    if figures:
        plot_sweep(table, out / FIGURE_FILE)
        lines += ["", f"![{FIGURE_FILE}]({FIGURE_FILE})"]
    lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


__all__ = ["FIGURE_FILE", "plot_sweep", "table_lines", "write_sweep_report"]
