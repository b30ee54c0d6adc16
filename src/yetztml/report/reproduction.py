"""Reports of paper reproductions (``report.md`` and figures), built from ``result.json`` files only.

:func:`write_report` turns one run's result (:func:`yetztml.experiments.lstm1997.reproduce`, or the Gers
2000 runner) into ``report.md``, ``curves.png`` (training error per trial) and ``sequences.png``
(sequences to success per trial, the paper's mean beside them). :func:`comparison_rows` makes the
"paper | as written | variant" lines of docs/reproduction.md from several results.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..core.results import read_json

#: Summary keys shown beside the paper's value of the same quantity: (paper key, summary key, label).
COMPARED = (
    ("success_pct", "success_pct", "% success"),
    ("sequences", "sequences_mean", "sequences (mean)"),
    ("st1", "st1_mean", "ST1 sequences"),
    ("st2", "st2_mean", "ST2 sequences"),
    ("wrong", "wrong_mean", "wrong of test set (mean)"),
    ("test_error", "test_mae_mean", "test error (mean absolute; Table 8 \"MSE\")"),
    ("fraction_misclassified", "fraction_misclassified_mean", "fraction misclassified"),
    ("mean_difference", "mean_difference_mean", "av. difference to mean"),
    ("perfect_pct", "perfect_pct", "% perfect solutions"),
    ("perfect_streams", "perfect_streams_mean", "training streams to perfect (mean)"),
    ("good_pct", "good_pct", "% good solutions"),
    ("good_length", "good_length_mean", "good: mean error-free test length"),
    ("rest_pct", "rest_pct", "% rest"),
    ("rest_length", "rest_length_mean", "rest: mean error-free test length"),
)


def fmt(value: Any) -> str:
    """Numbers as a table shows them: thousands separated, small fractions with significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if value == 0 or abs(value) >= 0.1:
            return f"{value:.3g}"
        return f"{value:.3g}"
    return str(value)


def side_by_side(result: dict[str, Any]) -> list[str]:
    """Markdown table: each quantity the paper reports, the paper's value and this run's."""
    paper, summary = result.get("paper_values") or {}, result["summary"]
    lines = ["| quantity | paper | this run |", "|---|---|---|"]
    for pkey, skey, label in COMPARED:
        if pkey in paper or skey in summary:
            if pkey not in paper and skey not in ("success_pct",):
                continue
            lines.append(f"| {label} | {fmt(paper.get(pkey))} | {fmt(summary.get(skey))} |")
    return lines


def _trial_table(result: dict[str, Any]) -> list[str]:
    keys = ["trial", "success", "sequences", "reason"]
    extra = [k for k in ("st1", "st2", "phase1_sequences", "streams", "class") if any(k in r for r in result["trials"])]
    lines = ["| " + " | ".join(keys + extra + ["test wrong", "test MAE", "wall s", "µs/step"]) + " |",
             "|" + "---|" * (len(keys) + len(extra) + 4)]
    for r in result["trials"]:
        test = r.get("test") or {}
        cells = [fmt(r.get(k)) for k in keys + extra]
        cells += [fmt(test.get("wrong")), fmt(test.get("mae")), fmt(r.get("wall_s")), fmt(r.get("us_per_step"))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _figures(out: Path, result: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(7, 4))
    few = len(result["trials"]) <= 10
    for r in result["trials"]:
        c = r.get("curve") or {}
        if c.get("sequences"):
            ax.plot(c["sequences"], c["mae"], lw=0.8, label=f"trial {r['trial']}" if few else None)
    ax.set_xlabel(result.get("curve_x", "training sequences"))
    ax.set_ylabel(result.get("curve_y", "mean |error| at criterion steps (training)"))
    ax.set_yscale("log")
    ax.set_title(f"{result['row']} ({result['variant']['name']}): learning curves")
    if few:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)
    plt.close(fig)
    files.append("curves.png")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = [r["trial"] for r in result["trials"]]
    ys = [r["sequences"] for r in result["trials"]]
    colors = ["tab:blue" if r["success"] else "tab:red" for r in result["trials"]]
    ax.bar(xs, ys, color=colors)
    paper = (result.get("paper_values") or {}).get("sequences")
    if paper:
        ax.axhline(paper, color="k", ls="--", lw=1, label=f"paper mean {paper:,}")
        ax.legend(fontsize=8)
    ax.set_xlabel("trial (red: no success within the cap)")
    ax.set_ylabel("sequences")
    ax.set_title(f"{result['row']} ({result['variant']['name']}): sequences per trial")
    fig.tight_layout()
    fig.savefig(out / "sequences.png", dpi=110)
    plt.close(fig)
    files.append("sequences.png")
    return files


def write_report(out: str | Path, result: dict[str, Any] | None = None, figures: bool = True) -> Path:
    """Write ``out/report.md`` (and figures) from ``result`` or from ``out/result.json``."""
    out = Path(out)
    result = read_json(out / "result.json") if result is None else result
    cfg = result["config"]
    lines = [
        f"# {result['paper']}: row {result['row']} (Table {result.get('table', '–')}), {result['label']}",
        "",
        f"Variant: **{result['variant']['name']}** — {result['variant']['summary']}. "
        f"Reason: {result['variant']['reason']}.",
        "",
        f"Trials: {cfg['trials']}, seed {cfg['seed']}, cap {cfg['max_sequences']:,} sequences per trial, "
        f"{cfg['jobs']} parallel jobs, {result['seconds']:.1f} s wall time for this invocation.",
        "",
    ]
    for key, text in (result.get("conventions") or {}).items():
        lines.append(f"- {key}: {text}")
    lines += ["", "## The paper beside this run", ""] + side_by_side(result)
    lines += ["", "## Trials", ""] + _trial_table(result)
    if figures:
        files = _figures(out, result)
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in files]
    lines += ["", f"Versions: {result.get('versions')}", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def comparison_rows(paper: dict[str, Any], runs: list[tuple[str, dict[str, Any] | None]]) -> list[str]:
    """Markdown lines "quantity | paper | run1 | run2 …" for docs/reproduction.md."""
    names = [name for name, _ in runs]
    lines = ["| quantity | paper | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for pkey, skey, label in COMPARED:
        if pkey not in paper:
            continue
        cells = [fmt(r["summary"].get(skey)) if r else "–" for _, r in runs]
        lines.append(f"| {label} | {fmt(paper[pkey])} | " + " | ".join(cells) + " |")
    return lines


__all__ = ["COMPARED", "comparison_rows", "fmt", "side_by_side", "write_report"]
