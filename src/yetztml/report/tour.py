"""The report of the ``yetztml run`` tour (``report.md`` and figures), built from its result dict: the figures
of the error-flow and weight-conflict scenarios come from :mod:`.errorflow` and :mod:`.conflict`, the pictures
of the configured cells from :mod:`.pictures`, each into the path the result names."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from .conflict import NETS, write_conflict
from .errorflow import summary_lines, write_scenario
from .pictures import write_picture


def _gradcheck_table(cells: list[dict[str, Any]], tolerance: float) -> list[str]:
    lines = [
        "| cell | configurations | quantities checked | max relative error | verdict |",
        "|---|---|---|---|---|",
    ]
    for c in cells:
        n_params = sum(len(cfg["errors"]) for cfg in c["configs"])
        verdict = "pass" if c["max_error"] <= tolerance else "FAIL"
        lines.append(f"| {c['class']} | {len(c['configs'])} | {n_params} | {c['max_error']:.2e} | {verdict} |")
    return lines


def _errorflow_section(out: Path, scenarios: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## Error flow: why RNNs forget and the constant error carousel does not",
        "",
        "Hochreiter's scaling factor ∂ϑ_v(t−q)/∂ϑ_u(t) [1997 eq. 1] measured along a recorded trajectory for "
        "every lag q (log10 scale), with the weak upper bound where one is defined. "
        "Each scenario is explained in `docs/errorflow/` and can be rerun with "
        "`yetztml errorflow --scenario NAME`.",
        "",
    ]
    figures = out / "errorflow"
    for name, result in scenarios.items():
        files = write_scenario(result, figures)
        lines += [f"### {name}", "", "```text", *summary_lines(result), "```", ""]
        lines += [f"![{p.stem}](errorflow/{p.name})" for p in files if p.suffix == ".png"]
        lines.append("")
    return lines


#: What the per-step figure of each weight-conflict scenario sets against what.
STEPS_AGAINST = {"input-conflict": "the one store step (t = 0) against the protect steps after it",
                 "output-conflict": "the one answer step (t = T−1) against the silent steps before it"}


def _conflict_section(out: Path, scenarios: dict[str, dict[str, Any]]) -> list[str]:
    first = next(iter(scenarios.values()))
    config = first["config"]
    lines = [
        "## Weight conflict (1997 §3.2): why the constant error carousel needs gates",
        "",
        "A naive constant-error unit (identity activation, self-weight 1.0) has one incoming weight that must both "
        "store the relevant input x(0) and keep the irrelevant inputs after it out (`input-conflict`), and one "
        "outgoing weight that must both answer at the last step and stay silent before it (`output-conflict`). "
        "Beside it, the 1997 memory cell with an input (output) gate; both nets are trained on the same task "
        f"(T = {config['steps']} steps, {config['optimiser']}, batch {config['batch']}, at most "
        f"{config['max_updates']} updates). The opposing fraction ρ (WC5) is the share of the summed per-step "
        "terms of ∂E/∂w whose sign opposes the whole gradient, for the weight in question after training; "
        f"solved: {config['criterion']} on {config['evaluation_sequences']} evaluation sequences. Each scenario "
        "is explained in `docs/errorflow/` (there with T = 21) and gives these numbers again with "
        f"`yetztml errorflow --scenario NAME --lags {config['steps'] - 1} --seed {first['seed']}`.",
        "",
        "| scenario | net | weight in question | ρ after training | solved | updates | E at the end |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in scenarios.items():
        for net, label in NETS.items():
            d = r[net]
            lines.append(f"| {name} | {label} | {d['weight']} | {d['opposing_fraction']:.3f} "
                         f"| {'yes' if d['solved'] else 'no'} | {d['updates']:,} | {d['final_loss']:.4f} |")
    lines += [
        "",
        "ρ near ½ means that a weight's per-step terms are in balance and the weight has stopped moving. The "
        "naive unit comes to that balance at a high loss, the standstill (WC6)/(WC7) predicts, because storing "
        "(answering) and protecting pull one additive weight in opposite directions; in the memory cell the gate "
        "multiplies those terms, so the cell's weight can store (answer) while the protect terms are shut out, "
        "and the opposing signals reach the gate's weights as its timing (open at the store or answer step, "
        "shut at the others).",
        "",
    ]
    for name, r in scenarios.items():
        write_conflict(r, out / "conflict")
        naive = r["naive"]
        figures = r["figures"]
        lines += [
            f"### {name}",
            "",
            f"Naive unit: E = {naive['final_loss']:.4f} after {naive['updates']:,} updates, predicted standstill "
            f"{naive['balance']['loss_at_balance']:.4f}; memory cell: E = {r['gated']['final_loss']:.4f}, "
            f"{'solved' if r['gated']['solved'] else 'not solved'} after {r['gated']['updates']:,} updates.",
            "",
            f"![{name}-per-step]({figures['per_step']})",
            "",
            "The mean term p_t of every step t in ∂E/∂w, before and after training (rows: the naive unit, the "
            f"memory cell; the weight in question in black, ρ in the legend): {STEPS_AGAINST[name]}.",
            "",
            f"![{name}-training]({figures['training']})",
            "",
            "The loss over the updates, the naive unit levelling off at its predicted standstill (dashed) while "
            "the memory cell meets the criterion, and ρ of every reported weight at each checkpoint.",
            "",
        ]
    return lines


def _describe_command(name: str, options: dict[str, Any], figure: str) -> str:
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in options.items())
    return f"yetztml describe {name} {flags} --figure {Path(figure).name}"


def _pictures_section(out: Path, cells: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## The pictures: a net unfolded in time, and the inside of a cell with every dimension",
        "",
        "Drawn from the configured cells: every size on the drawings is read from the parameter shapes "
        "(`yetztml.analysis.anatomy`), and `hidden_size` is the length of h, of c and of every gate vector — "
        "each \"circle\" of the usual drawings is a vector of that many numbers. See `docs/errorflow/pictures.md`.",
        "",
    ]
    for name, a in cells.items():
        write_picture(a, out / a["figure"])
        if a["kind"] == "stacked":
            L, top = a["num_layers"], a["layers"][-1]
            net = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}[a["cell"]]
            title = (f"{net}, input size {a['input_size']}, hidden size {a['hidden_size']}, "
                     f"num_layers = {L} ({a['total']} weights)")
            reads = (f"layer {L} reads layer {L - 1}'s {top['input']} outputs through W_ih^({L}) "
                     f"({top['gate_rows']}×{top['input']}), and " if L > 1 else "")
            what = (f"Top: the net unfolded over three steps, each box a state vector with its size; {reads}"
                    "each layer carries its own h to the next step through W_hh. Bottom: the inside of one step.")
        else:
            title = (f"LSTM1997 without a forget gate: {a['num_blocks']} memory blocks of {a['block_size']} cells, "
                     f"input size {a['input_size']} ({a['total']} weights)")
            what = (f"Top: the net unfolded over three steps, the cell and gate outputs of t−1 feeding u(t) "
                    f"(U = {a['sources']}). Bottom: inside the cell — the CEC s(t) = s(t−1) + y^in g with "
                    f"self-weight 1.0, each input and output gate shared by the {a['block_size']} cells of its "
                    "block, and the size of every vector and matrix.")
        params = ", ".join(f"{k} {'×'.join(map(str, v['shape']))}" for k, v in a["parameters"].items())
        lines += [f"### {title}", "", f"![{name}]({a['figure']})", "", what, "",
                  f"Parameters: {params}; total {a['total']} = `num_weights`. "
                  f"Redraw with `{_describe_command(name, a['options'], a['figure'])}`.", ""]
    return lines


def plot_adding(adding: dict[str, Any], path: Path) -> Path:
    """Training mean absolute error against sequences seen: LSTM1997 variants and the Elman RNN."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for variant, record in adding["lstm1997"].items():
        curve = record["curve"]
        ax.plot(curve["sequences"], curve["mae"], lw=1.5, label=f"LSTM1997, {variant} (truncated gradient, online SGD)")
    rnn = adding["rnn"]
    ax.plot([c["sequences"] for c in rnn["curve"]], [c["train_mae"] for c in rnn["curve"]], lw=1.5,
            label=f"{rnn['net']}, {rnn['method']}")
    ax.axhline(rnn["baseline_mae"], color="black", ls=":", lw=1.0, label="best constant output (0.1625)")
    ax.axhline(0.04, color="grey", ls="--", lw=1.0, label="criterion |error| < 0.04")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training sequences")
    ax.set_ylabel("mean |error| at the sequence end")
    ax.set_title(f"Adding problem (1997 Exp 4), T = {adding['T']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    return path


def _adding_section(out: Path, adding: dict[str, Any]) -> list[str]:
    paper = adding["paper"]
    lines = [
        f"## The adding problem (1997 Exp 4, T = {adding['T']}): LSTM1997 next to an Elman RNN",
        "",
        "Each LSTM1997 trial is the paper's 93-weight net trained online with the 1997 truncated gradient, "
        f"capped at {adding['lstm_budget']:,} sequences; `linear-output` is a named variant (an identity output "
        "unit), not the paper's configuration — see `docs/reproduction.md`. Test: 2560 fresh sequences, "
        "correct when |error| < 0.04. Full reproduction: `yetztml reproduce lstm1997 --exp 4 --T 100`.",
        "",
        "| net | training | sequences | stopped because | test wrong (of 2560) | test mean abs. error |",
        "|---|---|---|---|---|---|",
        f"| paper, Table 7 (mean of 10 trials) | online, truncated gradient | {paper['sequences']:,} | ST3(0.01) "
        f"| {paper.get('wrong', '–')} | < 0.01 |",
    ]
    for variant, r in adding["lstm1997"].items():
        why = "ST3(0.01) met" if r["success"] else "budget reached before ST3(0.01)"
        lines.append(
            f"| LSTM1997 {variant} (93 weights) | online, truncated gradient | {r['sequences']:,} | {why} "
            f"| {r['test']['wrong']} | {r['test']['mae']:.4f} |"
        )
    rnn = adding["rnn"]
    lines.append(
        f"| {rnn['net']} ({rnn['num_weights']} weights) | {rnn['method']} | {rnn['sequences']:,} | budget "
        f"| {rnn['test']['wrong']} | {rnn['test']['mae']:.4f} |"
    )
    lines += [
        "",
        f"The best constant output has mean absolute error {rnn['baseline_mae']:.4f}: a net that stays there "
        "has learned nothing about the two marked numbers. ST3(0.01) is the paper's stop: mean training "
        "error below 0.01 and the 2000 most recent sequences all correct; the curves show how far each net "
        "got before its budget ran out.",
        "",
        f"![adding]({plot_adding(adding, out / 'adding.png').name})",
        "",
    ]
    return lines


def write_tour_report(out: Path, result: dict[str, Any]) -> Path:
    """Write ``out/report.md`` and the figures: gradient checks, the pictures, the adding problem, error flow,
    the weight conflicts, then every cell's equations."""
    out = Path(out)
    grad = result["gradcheck"]
    lines = [
        "# yetztml run",
        "",
        f"Seed {result['seed']}; {result['seconds']:.1f} s on {result['workers']} worker process(es), "
        "compilation of the kernels included on a fresh install; versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + ".",
        "",
        "## Hand-derived gradients against float64 central finite differences",
        "",
        f"Every parameter, the inputs and the initial state of each cell; pass at ≤ {grad['tolerance']:g} "
        "(normwise relative error). Rerun with `yetztml gradcheck`.",
        "",
        *_gradcheck_table(grad["cells"], grad["tolerance"]),
        "",
        *_pictures_section(out, result["pictures"]),
        *_adding_section(out, result["adding"]),
        *_errorflow_section(out, result["errorflow"]),
        *_conflict_section(out, result["conflict"]),
        "## The equations",
        "",
    ]
    for c in grad["cells"]:
        doc = inspect.getdoc(importlib.import_module(c["equations"])) or ""
        lines += [f"### {c['class']}", "", "```text", doc, "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
