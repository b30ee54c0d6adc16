"""``yetztml errorflow``: run a named error-flow scenario, print its summary, write figures and JSON."""

from __future__ import annotations

import argparse

from ..analysis.scenarios import scenario_names
from .parsers import command

HELP = "why RNNs forget and the constant error carousel does not: scaling factors per lag"
DESCRIPTION = (
    "Compute Hochreiter's scaling factors ∂ϑ_v(t−q)/∂ϑ_u(t) (1997 eq. 1) along a recorded trajectory "
    "for every lag q, compare them with the bounds, and draw them. Scenarios: "
    + ", ".join(scenario_names())
    + ". See docs/errorflow/ for what each figure shows."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "errorflow", HELP, DESCRIPTION, handle)
    p.add_argument("--scenario", default="vanishing", choices=scenario_names(),
                   help="which scenario (default: vanishing)")
    p.add_argument("--lags", type=int, default=None, metavar="Q", help="largest lag q (default: the scenario's own)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and inputs, >= 0 (default: 0)")
    p.add_argument("--out", default=None, metavar="DIR", help="write figures (and DIR/<scenario>.json) here")
    p.add_argument("--json", default=None, metavar="PATH", help="write the result JSON to PATH")


def handle(args: argparse.Namespace) -> int:
    from ..report import conflict, errorflow
    from . import paths

    paths.seed("--seed", args.seed)
    paths.count("--lags", args.lags, 1, none_means="the scenario's own")
    if args.out is not None:
        paths.out_folder("--out", args.out)
    if args.json is not None:
        paths.out_file("--json", args.json)

    print(f"errorflow: scenario={args.scenario} lags={args.lags or 'default'} seed={args.seed} "
          f"out={args.out} json={args.json}")
    report = conflict if args.scenario in conflict.SCENARIOS else errorflow
    done = report.run_errorflow(args.scenario, out=args.out, json_path=args.json, lags=args.lags, seed=args.seed)
    for line in report.summary_lines(done["result"]):
        print(line)
    for path in done["files"]:
        print(f"wrote {path}")
    return 0
