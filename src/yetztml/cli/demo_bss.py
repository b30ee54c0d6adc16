"""Options of ``yetztml demo bss``: argparse flags for every :class:`~yetztml.experiments.bss.BSSConfig` field.

``add_arguments(parser)`` adds the flags (defaults are the measured configuration; ``--help`` shows them) and
``options_from_args(args)`` turns the parsed flags into the keyword arguments of
:func:`~yetztml.experiments.bss.run_bss`.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..cells.closed_loop import LSTM_INPUTS
from ..cells.dale import TARGETS
from ..cells.modulation import MODES
from ..cells.spatial import KERNELS
from ..experiments.bss import MEASURED_BATCHES, MODELS, PAPER_BATCHES, BSSConfig, default_threads
from ..experiments.runner import available_cores
from ..tasks.bss import SOURCE_SETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``yetztml demo bss`` (defaults are the paper's; --help shows them)."""
    d = BSSConfig()
    a = parser.add_argument
    a("--model", choices=MODELS, default=d.model, help="closed-loop model (default: %(default)s)")
    a("--batches", type=int, default=None,
      help=f"training batches of 32 × 1000 steps (default: {MEASURED_BATCHES:,}, the measured configuration; "
           f"{PAPER_BATCHES:,} with --paper-protocol)")
    a("--paper-protocol", action="store_true",
      help=f"train the authors' {PAPER_BATCHES:,} batches (about 1.7 times as long) unless --batches is given")
    a("--seed", type=int, default=d.seed, help="seed of model, data and analyses, >= 0 (default: %(default)s)")
    a("--out", default="bss-run",
      help="run folder for checkpoint.npz, result.json, figures, report.md; rerunning the same command into it "
           "resumes the run there, another configuration is refused (default: %(default)s)")
    a("--resume", action="store_true",
      help="insist on continuing: refuse to start when OUT holds no checkpoint (a rerun resumes anyway)")
    a("--force", action="store_true", help="start over in OUT, deleting the run there (its checkpoint and results)")
    a("--sources", choices=SOURCE_SETS, default=d.sources, help="source set (default: %(default)s)")
    a("--n-sources", type=int, default=d.n_sources,
      help="number of sources (3 only with --sources ica; default: %(default)s)")
    a("--tau", type=float, default=None,
      help="modulation time constant in samples, >= 1 (default: 1 for modulation, 100 for spatial and dale)")
    a("--lstm-input", choices=LSTM_INPUTS, default=d.lstm_input, help="what the LSTM hears (default: %(default)s)")
    a("--mode", choices=MODES, default=d.mode, help="ModulationNet modulation (default: %(default)s)")
    a("--n-units", type=int, default=d.n_units, help="SpatialNet population size Z (default: %(default)s)")
    a("--n-feedback", type=int, default=d.n_feedback, help="feedback signals U (default: %(default)s)")
    a("--kernel", choices=KERNELS, default=d.kernel, help="modulation kernel (default: %(default)s)")
    a("--width", type=float, default=d.width, help="von Mises kernel width σ² (default: %(default)s)")
    a("--target", choices=TARGETS, default=d.target, help="what the Dale feedback scales (default: %(default)s)")
    a("--lambda-out", type=float, default=d.lambda_out, help="Dale L1 penalty on u (default: %(default)s)")
    a("--batch-size", type=int, default=d.batch_size, help="trials per batch (default: %(default)s)")
    a("--n-steps", type=int, default=d.n_steps, help="samples per context (default: %(default)s)")
    a("--noise", type=float, default=d.noise, help="stimulus noise std σ_n (default: %(default)s)")
    a("--hidden-size", type=int, default=d.hidden_size, help="LSTM units (default: %(default)s)")
    a("--lr", type=float, default=d.lr, help="Adam learning rate (default: %(default)s)")
    a("--n-test", type=int, default=d.n_test, help="test contexts (default: %(default)s)")
    a("--eval-every", type=int, default=d.eval_every, help="batches between clarity checks (default: %(default)s)")
    a("--checkpoint-every", type=int, default=d.checkpoint_every,
      help="batches between checkpoints (default: %(default)s)")
    a("--dtype", choices=("float32", "float64"), default=d.dtype, help="training precision (default: %(default)s)")
    a("--tanh", choices=("fast", "exact"), default=d.tanh,
      help="tanh/σ in the LSTM: vectorised rational (|err| < 4e-9) or libm (default: %(default)s)")
    a("--threads", type=int, default=None,
      help="threads, each training a share of the batch's trials (default: the cores available, "
           f"{available_cores()} here)")
    a("--blas-threads", type=int, default=d.blas_threads, help="BLAS threads per thread (default: %(default)s)")
    a("--analyses", action=argparse.BooleanOptionalAction, default=d.analyses,
      help="run decoding, freeze and noise analyses after training (default: on)")
    a("--figures", action=argparse.BooleanOptionalAction, default=d.figures, help="write figures (default: on)")


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`run_bss` from parsed ``add_arguments`` options."""
    keys = ("model", "batches", "seed", "out", "resume", "force", "sources", "n_sources", "tau", "lstm_input", "mode",
            "n_units", "n_feedback", "kernel", "width", "target", "lambda_out", "batch_size", "n_steps", "noise",
            "hidden_size", "lr", "n_test", "eval_every", "checkpoint_every", "dtype", "tanh", "blas_threads",
            "threads", "analyses", "figures")
    options = {k: getattr(args, k) for k in keys}
    if options["threads"] is None:
        options["threads"] = default_threads(options["batch_size"])
    if options["batches"] is None:
        options["batches"] = PAPER_BATCHES if getattr(args, "paper_protocol", False) else MEASURED_BATCHES
    return options
