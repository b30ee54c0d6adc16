"""Training loop of the feedback-modulation demonstration, with checkpoint and resume.

Per batch k (the authors' ``Runner.train``):

    (BT1) x, s, A ← task.train_batch(B)                          B trials, one fresh context each
    (BT2) y, u ← model.forward(x, state_k)                       closed loop over n_steps samples
    (BT3) L = Σ_t (1/(B·n)) Σ_{b,i} SmoothL1(y − s) + λ_out Σ_{t,b,j} |u|     (λ_out > 0: Dale only)
    (BT4) g ← model.backward(δy = ∂L/∂y, δu = λ_out sign(u))     hand-derived BPTT through the loop
    (BT5) g ← clip(g, ±1) by value;  Adam step (lr 1e-3)
    (BT6) state_{k+1} ← final state of (BT2), detached            the next batch starts in a new context

Every ``eval_every`` batches the output clarity on a fixed set of monitoring contexts (batch size 1, as
the test) is recorded, so the learning curve is comparable across batches. Every ``checkpoint_every``
batches ``checkpoint.npz`` stores parameters, Adam buffers, the carried state, the data generator's
state and the curves; ``resume=True`` continues bit-identically from it.

Interruptions: while the loop runs, SIGINT and SIGTERM are held (:class:`HeldSignals`) and acted on at the
end of the batch in progress: the checkpoint is written with every finished batch, then the signal goes on
to the handler that was there before (Ctrl-C's ``KeyboardInterrupt``), so a rerun continues where the run
stopped. Holding the signal also keeps it from landing inside compiled code, where a ``KeyboardInterrupt``
raised in one of Numba's callbacks surfaces as a chain of ``SystemError``s. A second signal of the same kind
is not held.
"""

from __future__ import annotations

import time
import zipfile
from collections import deque
from pathlib import Path
from typing import Any

import numba
import numpy as np

from ..analysis.clarity import signal_clarity
from ..cells.closed_loop import Workspace
from ..cells.dale import DaleRateNet
from ..core.errors import CheckpointError, NonFiniteError, ShapeError, message
from ..core.progress import ProgressBar
from ..core.signals import HeldSignals
from ..learning import checkpoint as ckpt
from ..learning.clipping import clip_by_value
from ..learning.optimisers import Adam
from ..tasks.bss import BSSTask

#: Config fields that must match for a checkpoint to be resumed.
FINGERPRINT = ("model", "seed", "sources", "n_sources", "batch_size", "n_steps", "noise", "hidden_size", "tau",
               "mode", "lstm_input", "n_units", "n_feedback", "kernel", "width", "target", "lambda_out",
               "learn_ro", "lr", "clip", "dtype", "tanh", "threads")


def initial_state(net, batch: int, rng: np.random.Generator, testing: bool):
    """Zero state; the Dale network's release probabilities p ~ N(0.5, 0.01²) (train) or N(0.5, 0.1²) (test)."""
    state = net.zero_state(batch)
    if isinstance(net, DaleRateNet):
        std = 0.1 if testing else 0.01
        state = state._replace(p=rng.normal(0.5, std, size=state.p.shape).astype(net.dtype))
    return state


@numba.njit(cache=True, nogil=True, error_model="numpy")
def smooth_l1_sum(y, s, scale, dy):
    """(BT3) without the penalty in one pass over the flat arrays y, s (N,): returns scale·Σ SmoothL1(y − s)
    (β = 1, accumulated in float64) and writes δy = scale·∂/∂y into dy (N,) in y's dtype.

    The same numbers as ``learning.losses.smooth_l1(y, s, reduction="sum")`` followed by the scaling (the
    difference and its clipped gradient in float64, the gradient rounded to y's dtype, then scaled in it),
    without the temporaries.
    """
    typ = dy.dtype.type
    scale_t = typ(scale)
    total = 0.0
    for k in range(y.shape[0]):
        d = np.float64(y[k]) - np.float64(s[k])
        if abs(d) < 1.0:
            total += 0.5 * d * d  # (BT3) quadratic part
            g = d
        else:
            total += abs(d) - 0.5  # (BT3) linear part
            g = np.sign(d)
        dy[k] = typ(g) * scale_t
    return total * scale


def batch_loss(net, trace, s: np.ndarray, lambda_out: float):
    """(BT3): the loss value, δy and δu (None without the penalty)."""
    T, B, n = s.shape
    if trace.outputs.shape != s.shape:
        raise ShapeError(
            message("batch_loss(s)", f"the shape of the outputs {trace.outputs.shape}", f"shape {s.shape}")
        )
    y = np.ascontiguousarray(trace.outputs)
    dy = np.empty_like(y)
    value = float(smooth_l1_sum(y.reshape(-1), np.ascontiguousarray(s).reshape(-1), 1.0 / (B * n), dy.reshape(-1)))
    d_u = None
    if lambda_out > 0.0 and isinstance(net, DaleRateNet):
        u = trace.extras["u"]
        value += lambda_out * float(np.sum(np.abs(u), dtype=np.float64))
        d_u = (lambda_out * np.sign(u)).astype(net.dtype)
    return float(value), dy, d_u


class Monitor:
    """Output clarity on fixed contexts (batch size 1, continuous sources), the learning curve's y-axis."""

    def __init__(self, config, seed: int, dtype: np.dtype) -> None:
        task = BSSTask(config.sources, n_sources=config.n_sources, noise=config.noise, n_steps=config.n_steps,
                       seed=seed, dtype=dtype)
        self.run = task.test_run(config.n_monitor)
        self.state_rng_seed = seed
        self.n_steps = config.n_steps
        self.workspace = Workspace()

    def clarity(self, net) -> float:
        state = initial_state(net, 1, np.random.default_rng(self.state_rng_seed), testing=True)
        trace = net.forward(self.run.x, state, workspace=self.workspace)
        return signal_clarity(self.run.s[:, 0], trace.outputs[:, 0], self.n_steps).mean


def _fingerprint(config) -> dict[str, Any]:
    data = config.to_json()
    return {k: data[k] for k in FINGERPRINT}


def _meta(config, done: int, task: BSSTask, times, cpu_times, curve) -> dict[str, Any]:
    return {"fingerprint": _fingerprint(config), "batches_done": done, "task_state": task.state_dict(),
            "times": times, "cpu_times": cpu_times, "curve": curve}


def _save(path: Path, net, opt: Adam, state, history, meta: dict[str, Any]) -> None:
    arrays = {f"param/{k}": v for k, v in net.params.items()}
    arrays.update({f"state/{i}": np.asarray(a) for i, a in enumerate(state)})
    ckpt.save(path, arrays, opt.state_dict(), history, meta)


def read_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any], list[float], dict[str, Any]]:
    """``ckpt.load`` with every reading failure (empty, cut, not a checkpoint) as a :class:`CheckpointError`."""
    try:
        if not zipfile.is_zipfile(path):  # an empty or cut file: refused before NumPy opens it
            size = path.stat().st_size
            raise CheckpointError(message(f"checkpoint {str(path)!r}", "a readable yetztml checkpoint",
                                          "an empty file" if size == 0 else f"{size} bytes that are not an .npz",
                                          "Use --force to start the run over, or another --out."))
        arrays, opt_state, history, meta = ckpt.load(path)
    except CheckpointError as err:
        if str(path) in str(err):
            raise
        raise CheckpointError(message(f"checkpoint {str(path)!r}", "a readable yetztml checkpoint", f"({err})",
                                      "Use --force to start the run over, or another --out.")) from err
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise CheckpointError(message(f"checkpoint {str(path)!r}", "a readable yetztml checkpoint",
                                      f"{type(err).__name__}: {err}",
                                      "Use --force to start the run over, or another --out.")) from err
    if not isinstance(meta.get("fingerprint"), dict) or not isinstance(meta.get("batches_done"), int):
        raise CheckpointError(message(f"checkpoint {str(path)!r}", "a checkpoint of `demo bss`",
                                      "one without its run's configuration",
                                      "Use --force to start the run over, or another --out."))
    return arrays, opt_state, history, meta


def check_resumable(path: Path, config, meta: dict[str, Any] | None = None) -> int:
    """Check that the checkpoint at ``path`` (its ``meta``, if read already) belongs to ``config`` and has at
    most ``config.batches`` batches done; return that number. Raises :class:`CheckpointError` naming what
    differs and the fix."""
    meta = read_checkpoint(path)[3] if meta is None else meta
    mine, theirs = _fingerprint(config), meta["fingerprint"]
    if theirs != mine:
        changed = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        what = ", ".join(f"{k} ({theirs.get(k)!r} there, {mine.get(k)!r} here)" for k in changed)
        raise CheckpointError(message(f"output folder {str(path.parent)!r}",
                                      "a run of the same configuration (a rerun resumes it) or a new folder",
                                      f"a run differing in {what}", "Rerun with the options of the run there to "
                                      "continue it, use another --out, or --force to start over."))
    if meta["batches_done"] > config.batches:
        raise CheckpointError(message(f"output folder {str(path.parent)!r}",
                                      f"a run of at most --batches {config.batches} batches",
                                      f"one with {meta['batches_done']} batches done",
                                      f"Rerun with --batches {meta['batches_done']} or more to continue it, use "
                                      "another --out, or --force to start over."))
    return int(meta["batches_done"])


def _load(path: Path, net, opt: Adam, config) -> tuple[Any, list[float], dict[str, Any]]:
    arrays, opt_state, history, meta = read_checkpoint(path)
    check_resumable(path, config, meta)
    net.load_params({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("param/")})
    opt.load_state_dict(opt_state)
    leaves = [arrays[f"state/{i}"] for i in range(sum(k.startswith("state/") for k in arrays))]
    state = type(net.zero_state(1))(*[np.ascontiguousarray(a, dtype=net.dtype) for a in leaves])
    return state, history, meta


def train(net, task: BSSTask, config, child: dict[str, int], out: Path, resume: bool, progress: bool) -> dict:
    """(BT1)–(BT6) for ``config.batches`` batches in total; returns the training record (JSON-able)."""
    opt = Adam(net.params, lr=config.lr)
    monitor = Monitor(config, child["monitor"], net.dtype)
    path = out / "checkpoint.npz"
    state = initial_state(net, config.batch_size, task.rng, testing=False)
    history: list[float] = []
    times: list[float] = []
    cpu_times: list[float] = []
    curve: list[dict[str, float]] = []
    done = 0
    if resume:
        state, history, meta = _load(path, net, opt, config)
        task.load_state_dict(meta["task_state"])
        times, curve, done = list(meta["times"]), list(meta["curve"]), int(meta["batches_done"])
        cpu_times = list(meta["cpu_times"])
    workspace = Workspace()
    recent: deque[float] = deque(history[-20:], maxlen=20)
    clarity = curve[-1]["clarity_output"] if curve else None
    eval_seconds = 0.0
    bar = ProgressBar("training", config.batches, done, enabled=progress, unit="batch")
    with bar, HeldSignals() as held:
        for k in range(done, config.batches):
            t0, c0 = time.perf_counter(), time.process_time()
            batch = task.train_batch(config.batch_size)  # (BT1)
            trace = net.forward(batch.x, state, workspace=workspace, threads=config.threads)  # (BT2)
            value, dy, d_u = batch_loss(net, trace, batch.s, config.lambda_out)  # (BT3)
            if not np.isfinite(value):
                raise NonFiniteError(message(f"bss training, batch {k}", "a finite loss", value,
                                             "Lower --lr or use --dtype float64."))
            grads = net.backward(trace, dy, d_u=d_u)  # (BT4)
            clip_by_value(grads, config.clip)  # (BT5)
            opt.step(grads)
            state = trace.final_state  # (BT6)
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
            history.append(value)
            recent.append(value)
            if (k + 1) % config.eval_every == 0 or k + 1 == config.batches:
                t1 = time.perf_counter()
                clarity = monitor.clarity(net)
                eval_seconds += time.perf_counter() - t1
                curve.append({"batch": k + 1, "clarity_output": clarity, "loss": float(np.mean(recent))})
                bar.line(f"loss {float(np.mean(recent)):.4g}  clarity {clarity:.3f}", done=k + 1)
            due = (k + 1) % config.checkpoint_every == 0 or k + 1 == config.batches
            if due:
                _save(path, net, opt, state, history, _meta(config, k + 1, task, times, cpu_times, curve))
            bar.advance(f"loss {float(np.mean(recent)):.4g}  clarity {'–' if clarity is None else f'{clarity:.3f}'}  "
                         f"{times[-1]:.3f} s/batch")
            if held.pending:  # an interrupt: keep every finished batch, then let it through
                if not due:
                    _save(path, net, opt, state, history, _meta(config, k + 1, task, times, cpu_times, curve))
                held.deliver()
    steady = times[1:] if len(times) > 1 else times
    cpu_steady = cpu_times[1:] if len(cpu_times) > 1 else cpu_times
    return {
        "batches": len(history),
        "loss": history,
        "curve": curve,
        "seconds_per_batch": float(np.median(steady)) if steady else float("nan"),
        "seconds_per_batch_mean": float(np.mean(steady)) if steady else float("nan"),
        "cpu_seconds_per_batch": float(np.median(cpu_steady)) if cpu_steady else float("nan"),
        "first_batch_seconds": float(times[0]) if times else float("nan"),
        "training_seconds": float(np.sum(times)),
        "monitor_seconds": eval_seconds,
        "resumed_from": int(done),
        "checkpoint": str(path),
    }
