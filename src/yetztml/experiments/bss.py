"""The feedback-modulation demonstration: dynamic blind source separation [Naumann, Keijser & Sprekeler 2022].

``run_bss(model=..., batches=N, seed=S, out=DIR)`` trains one closed-loop model on the task of
:mod:`yetztml.tasks.bss` as the paper and the authors' code do, evaluates it on 20 new contexts and writes
``DIR/result.json`` (config, seed, versions, metrics, timings), figures and ``DIR/report.md`` (the spec's
reference numbers beside ours).

Training [§Methods "Training"; the authors' ``Runner.train``]: per batch, 32 trials × 1000 steps, each trial
in a fresh context; loss = Σ_t SmoothL1(y_t, s_t) with the mean over trials and outputs at each step (plus
λ_out Σ|u| for the Dale network); Adam (lr 1e-3); gradients clipped by value to ±1; one update per batch
(truncated BPTT over one context); the network state is carried, detached, into the next batch, so every
trial switches context at every batch boundary.

Test [``Runner.test``]: batch size 1, 20 new contexts back to back, continuous sources from sample 0, state
zero at the start only; clarity per context includes the onset transient.

Defaults are the measured configuration: 6,000 batches (output clarity 0.968 for the Fig. 1 model, seed 0,
and 0.948 for SpatialNet; docs/reproduction.md) on all the cores this process may use. The authors' protocol,
10,000 batches, is ``batches=PAPER_BATCHES`` (``--paper-protocol``). The command line's options and their
help are :mod:`yetztml.cli.demo_bss`.

Run folders (the rule of every command that trains): a folder that holds a checkpoint of the same
configuration is resumed — rerunning the same command continues an interrupted run, and a larger
``batches`` extends a finished one; a checkpoint of another configuration, a damaged checkpoint or a
``result.json`` without a checkpoint is refused before anything is written; ``force=True`` starts over.
``resume=True`` insists on a checkpoint to continue from.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cells.closed_loop import LSTM_INPUTS
from ..cells.dale import TARGETS, DaleRateNet
from ..cells.modulation import MODES, ModulationNet
from ..cells.spatial import KERNELS, SpatialNet
from ..core.blas import blas_threads
from ..core.errors import CheckpointError, OptionError, message
from ..core.results import versions, write_json
from ..core.validation import check_choice, check_dtype, check_float, check_int
from ..tasks.bss import SOURCE_SETS, BSSTask, check_mixing
from .bss_analyses import evaluate
from .bss_train import check_resumable, train
from .runner import available_cores

MODELS = ("modulation", "spatial", "dale")
#: Model defaults that differ between the models (paper Tables 2–3).
DEFAULT_TAU = {"modulation": 1.0, "spatial": 100.0, "dale": 100.0}
#: Default length: the measured configuration (docs/reproduction.md); the authors train PAPER_BATCHES.
MEASURED_BATCHES = 6000
PAPER_BATCHES = 10000
#: Files of a run in its folder; ``force=True`` removes them before starting over.
RUN_FILES = ("checkpoint.npz", "result.json", "report.md")


@dataclass
class BSSConfig:
    """Everything that defines a run; ``tau=None`` means the model's default (module ``DEFAULT_TAU``),
    ``threads=None`` the cores available (at most ``batch_size``)."""

    model: str = "modulation"
    batches: int = MEASURED_BATCHES
    seed: int = 0
    sources: str = "chords"
    n_sources: int = 2
    batch_size: int = 32
    n_steps: int = 1000
    noise: float = 0.001
    hidden_size: int = 100
    tau: float | None = None
    mode: str = "multiplicative"
    lstm_input: str = "xy"
    n_units: int = 100
    n_feedback: int = 4
    kernel: str = "von_mises"
    width: float = 0.2
    target: str = "gain"
    lambda_out: float = 1e-5
    learn_ro: bool = True
    lr: float = 1e-3
    clip: float = 1.0
    n_test: int = 20
    eval_every: int = 250
    n_monitor: int = 20
    checkpoint_every: int = 250
    dtype: str = "float32"
    tanh: str = "fast"
    blas_threads: int = 1
    threads: int | None = None
    analyses: bool = True
    figures: bool = True
    test_contexts: Any = None

    def resolved_tau(self) -> float:
        return float(self.tau if self.tau is not None else DEFAULT_TAU[self.model])

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["tau"] = self.resolved_tau()
        if self.test_contexts is not None:
            out["test_contexts"] = np.asarray(self.test_contexts).tolist()
        return out


def default_threads(batch_size: object) -> int:
    """The cores this process may use, at most one per trial of the batch."""
    cores = available_cores()
    return max(1, min(cores, batch_size)) if isinstance(batch_size, int) and not isinstance(batch_size, bool) else cores


def validate(config: BSSConfig) -> BSSConfig:
    """Check every option before anything is computed (catalogue errors naming the option)."""
    check_choice("bss: model", config.model, MODELS)
    check_choice("bss: sources", config.sources, SOURCE_SETS)
    check_int("bss: batches", config.batches, minimum=1)
    check_int("bss: seed", config.seed, minimum=0)
    check_int("bss: n_sources", config.n_sources, minimum=2, maximum=3 if config.sources == "ica" else 2)
    check_int("bss: batch_size", config.batch_size, minimum=1)
    check_int("bss: n_steps", config.n_steps, minimum=2, maximum=16000)
    check_float("bss: noise", config.noise, minimum=0.0)
    check_int("bss: hidden_size", config.hidden_size, minimum=1)
    if config.tau is not None:
        tau = check_float("bss: tau", config.tau, minimum=0.0, strict_minimum=True)
        if tau < 1.0:
            raise OptionError(message("bss: tau", "tau >= 1 (the Euler step with Δt = 1 overshoots below 1)", tau,
                                      "Use tau=1 for instantaneous modulation."))
    check_choice("bss: mode", config.mode, MODES)
    check_choice("bss: lstm_input", config.lstm_input, LSTM_INPUTS)
    check_int("bss: n_units", config.n_units, minimum=1)
    check_int("bss: n_feedback", config.n_feedback, minimum=1)
    check_choice("bss: kernel", config.kernel, KERNELS)
    check_float("bss: width", config.width, minimum=0.0, strict_minimum=True)
    check_choice("bss: target", config.target, TARGETS)
    check_float("bss: lambda_out", config.lambda_out, minimum=0.0)
    check_float("bss: lr", config.lr, minimum=0.0, strict_minimum=True)
    check_float("bss: clip", config.clip, minimum=0.0, strict_minimum=True)
    check_int("bss: n_test", config.n_test, minimum=2)
    check_int("bss: eval_every", config.eval_every, minimum=1)
    check_int("bss: n_monitor", config.n_monitor, minimum=1)
    check_int("bss: checkpoint_every", config.checkpoint_every, minimum=1)
    check_dtype("bss: dtype", config.dtype)
    check_choice("bss: tanh", config.tanh, ("fast", "exact"))
    check_int("bss: blas_threads", config.blas_threads, minimum=1)
    if config.threads is None:
        config.threads = default_threads(config.batch_size)
    check_int("bss: threads", config.threads, minimum=1)
    if config.test_contexts is not None:
        config.test_contexts = check_mixing("bss: test_contexts", config.test_contexts, config.n_sources)
        config.n_test = int(config.test_contexts.shape[0])
        if config.n_test < 2:
            raise OptionError(message("bss: test_contexts", "at least 2 contexts", config.n_test))
    return config


def build_model(config: BSSConfig, seed: int):
    """The closed-loop model the config names, built with ``seed``."""
    common = dict(
        n_sources=config.n_sources, hidden_size=config.hidden_size, tau=config.resolved_tau(),
        lstm_input=config.lstm_input, seed=seed, dtype=np.dtype(config.dtype), fast_tanh=config.tanh == "fast",
    )
    if config.model == "modulation":
        return ModulationNet(mode=config.mode, **common)
    if config.model == "spatial":
        return SpatialNet(n_units=config.n_units, n_feedback=config.n_feedback, kernel=config.kernel,
                          width=config.width, **common)
    return DaleRateNet(n_feedback=config.n_feedback, kernel=config.kernel, width=config.width,
                       target=config.target, learn_ro=config.learn_ro, **common)


def build_task(config: BSSConfig, seed: int) -> BSSTask:
    """The task generator for this config, seeded with ``seed``."""
    return BSSTask(config.sources, n_sources=config.n_sources, noise=config.noise, n_steps=config.n_steps,
                   seed=seed, dtype=np.dtype(config.dtype))


def seeds(seed: int) -> dict[str, int]:
    """Independent child seeds for the model, training data, monitoring contexts, test and analyses."""
    children = np.random.SeedSequence(seed).spawn(5)
    names = ("model", "train", "monitor", "test", "analyses")
    return {name: int(child.generate_state(1)[0]) for name, child in zip(names, children, strict=True)}


def check_out(out: str | Path) -> Path:
    """The output folder as a Path: not empty, not an existing file, not under a file."""
    if str(out).strip() == "":
        raise OptionError(message("bss: out", "a folder name", repr(str(out)), "Give --out DIR."))
    path = Path(out)
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            where = "an existing file" if folder == path else f"under the file {str(folder)!r}"
            raise OptionError(message("bss: out", "a folder (or a path where one can be made)",
                                      f"{str(out)!r}, {where}", "Choose another --out."))
    return path


def prepare_folder(out: Path, config: BSSConfig, resume: bool = False, force: bool = False) -> bool:
    """Apply the run-folder rule (module docstring) without writing anything; True: resume the run there."""
    if resume and force:
        raise OptionError(message("bss: resume and force", "one of them", "both",
                                  "--resume continues the run in --out, --force starts it over."))
    if force:
        return False
    checkpoint = out / "checkpoint.npz"
    if checkpoint.exists():
        check_resumable(checkpoint, config)
        return True
    if resume:
        raise CheckpointError(message("bss: resume", f"a checkpoint to continue from in {str(out)!r}",
                                      "none (no checkpoint.npz)", "Drop --resume to start a new run there."))
    if (out / "result.json").exists():
        raise CheckpointError(message(f"output folder {str(out)!r}", "a new folder or a run to resume",
                                      "a result.json without its checkpoint.npz",
                                      "Use another --out, or --force to start over."))
    return False


def run_bss(
    model: str = "modulation",
    batches: int = MEASURED_BATCHES,
    seed: int = 0,
    out: str | Path = "bss-run",
    resume: bool = False,
    progress: bool = True,
    force: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Train, evaluate and report one model; writes ``out/result.json``, figures and ``out/report.md``.

    ``options`` are the other fields of :class:`BSSConfig` (``sources``, ``tau``, ``lstm_input``, ``mode``,
    ``batch_size``, ``n_test``, ``noise``, ``dtype``, ``tanh``, ``threads``, ...). A folder holding a run of
    the same configuration is resumed from ``out/checkpoint.npz``; one holding another run is refused;
    ``force=True`` starts over, ``resume=True`` refuses to start without a checkpoint (module docstring).
    Everything is checked before anything is written. Returns the result dict.
    """
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(BSSConfig)})
    if unknown:
        raise OptionError(message("run_bss", "options among the BSSConfig fields", f"unknown {unknown}"))
    config = validate(BSSConfig(model=model, batches=batches, seed=seed, **options))
    out = check_out(out)
    resume = prepare_folder(out, config, resume=resume, force=force)
    out.mkdir(parents=True, exist_ok=True)
    if force:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    started = time.perf_counter()
    child = seeds(config.seed)
    with blas_threads(config.blas_threads) as blas:
        net = build_model(config, child["model"])
        task = build_task(config, child["train"])
        training = train(net, task, config, child, out, resume=resume, progress=progress)
        evaluation = evaluate(net, config, child)
    result: dict[str, Any] = {
        "job": "yetztml demo bss",
        "model": config.model,
        "model_class": type(net).__name__,
        "num_weights": net.num_weights,
        "seed": config.seed,
        "seeds": child,
        "config": config.to_json(),
        "versions": versions(),
        "blas_threads": blas,
        "batches": training["batches"],
        "seconds_per_batch": training["seconds_per_batch"],
        "clarity_stimulus": evaluation["clarity_stimulus"],
        "clarity_output": evaluation["clarity_output"],
        "training": training,
        "evaluation": evaluation,
    }
    arrays = evaluation.pop("_arrays")
    result["seconds_total"] = time.perf_counter() - started
    write_json(out / "result.json", result)
    if config.figures:
        from ..report.bss_figures import write_figures

        result["figures"] = write_figures(out, result, arrays)
    from ..report.bss import write_report

    write_report(out / "report.md", result)
    write_json(out / "result.json", result)
    return result


def run_bss_variants(
    taus=(1.0, 10.0, 100.0, 1000.0),
    inputs=("xy", "x", "y"),
    batches: int = MEASURED_BATCHES,
    seed: int = 0,
    out: str | Path = "bss-variants",
    **options: Any,
) -> dict[str, Any]:
    """Fig. 2: ModulationNet for every τ × LSTM input, each in ``out/tau<τ>-<input>/``; writes
    ``out/variants.json`` (one row per run) and ``out/fig2_variants.png``. Other options go to :func:`run_bss`."""
    if not taus or not inputs:
        raise OptionError(message("run_bss_variants", "at least one tau and one input", f"{taus!r}, {inputs!r}"))
    for tau in taus:
        validate(BSSConfig(tau=tau))
    for name in inputs:
        check_choice("run_bss_variants: inputs", name, LSTM_INPUTS)
    out = check_out(out)
    results = []
    for name in inputs:
        for tau in taus:
            run_out = out / f"tau{float(tau):g}-{name}"
            results.append(run_bss(model="modulation", batches=batches, seed=seed, out=run_out, tau=tau,
                                   lstm_input=name, **options))
    rows = [{"tau": r["config"]["tau"], "lstm_input": r["config"]["lstm_input"], "batches": r["batches"],
             "clarity_output": r["clarity_output"], "clarity_output_std":
             r["evaluation"]["clarity_output_per_context"]["std"], "seconds_per_batch": r["seconds_per_batch"]}
            for r in results]
    summary = {"job": "yetztml demo bss variants", "seed": seed, "versions": versions(), "runs": rows}
    write_json(out / "variants.json", summary)
    from ..report.bss_figures import figure_variants

    figure_variants(out / "fig2_variants.png", results)
    return summary
