"""Closed-loop training step of the feedback-modulation models: yetztml against PyTorch eager, on one core.

    python benchmarks/bench_bss.py [--model modulation] [--batch 32] [--steps 1000] [--hidden 100]
                                   [--dtype float32] [--tanh fast] [--threads 1] [--repeats 7]
                                   [--torch-repeats 3] [--torch-threads 1]

One training step is what ``yetztml demo bss`` does per batch: draw the batch (32 contexts × 1000 samples),
run the closed loop forward, SmoothL1 loss summed over steps, hand-derived backward through the feedback
loop, clip by value, Adam. The PyTorch reference implements the same model with ``nn.LSTMCell`` stepped
inside the loop (the loop cannot be fused: y_t depends on the weights set at t − 1) and autograd, the same
loss, ``clip_grad_value_`` and ``torch.optim.Adam``, on the same batch. Both run on one thread (BLAS, Numba
and ``torch.set_num_threads(1)``); ``--threads 2`` splits the batch over two threads for yetztml (one BLAS
thread each) and ``--torch-threads 2`` gives PyTorch two intra-op threads. Reported: best and median wall
time over the repeats, after one warm-up step (which also compiles the kernels), the best and median CPU
time of the process (which other processes on a shared machine inflate less than wall time), the 1-minute
load average before and after, and the relative difference of the first step's loss.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from yetztml.cells.closed_loop import Workspace  # noqa: E402
from yetztml.experiments.bss import BSSConfig, build_model, build_task  # noqa: E402
from yetztml.experiments.bss_train import batch_loss, initial_state  # noqa: E402
from yetztml.learning.clipping import clip_by_value  # noqa: E402
from yetztml.learning.optimisers import Adam  # noqa: E402


def ours(net, task, config: BSSConfig, repeats: int, threads: int) -> tuple[list[float], float, dict[str, float]]:
    """Wall times of full training steps, the first step's loss, a forward/backward split and CPU time."""
    opt = Adam(net.params, lr=config.lr)
    ws = Workspace()
    state = initial_state(net, config.batch_size, task.rng, testing=False)
    times, first, split = [], None, {"forward": [], "backward": [], "cpu": []}
    for r in range(repeats + 1):
        c0 = time.process_time()
        t0 = time.perf_counter()
        batch = task.train_batch(config.batch_size)
        trace = net.forward(batch.x, state, workspace=ws, threads=threads)
        t1 = time.perf_counter()
        value, dy, d_u = batch_loss(net, trace, batch.s, config.lambda_out)
        grads = net.backward(trace, dy, d_u=d_u)
        t2 = time.perf_counter()
        clip_by_value(grads, config.clip)
        opt.step(grads)
        state = trace.final_state
        t3 = time.perf_counter()
        if r == 0:
            first = value
        else:
            split["cpu"].append(time.process_time() - c0)
            times.append(t3 - t0)
            split["forward"].append(t1 - t0)
            split["backward"].append(t2 - t1)
    cpu = split.pop("cpu")
    return times, first, {k: float(np.median(v)) for k, v in split.items()} | {"cpu": cpu}


def torch_step_fn(net, config: BSSConfig):
    """A PyTorch eager training step of the same ModulationNet/SpatialNet (same parameters, same batch)."""
    import torch

    dt = torch.float32 if config.dtype == "float32" else torch.float64
    cell = torch.nn.LSTMCell(net.lstm_input_size, net.hidden_size, dtype=dt)
    lin = torch.nn.Linear(net.hidden_size, net.n_feedback, dtype=dt)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(net.params[name]))
        lin.weight.copy_(torch.from_numpy(net.params["weight_out"]))
        lin.bias.copy_(torch.from_numpy(net.params["bias_out"]))
    fixed = {k: torch.from_numpy(v) for k, v in net.fixed.items()}
    params = list(cell.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    loss_fn = torch.nn.SmoothL1Loss()
    n = net.n_sources
    modulation = "W0" in fixed

    def step(x: np.ndarray, s: np.ndarray, state):
        xt, st = torch.from_numpy(x), torch.from_numpy(s)
        h, c, mod = (torch.from_numpy(np.ascontiguousarray(a)) for a in state)
        opt.zero_grad()
        loss = torch.zeros((), dtype=dt)
        for t in range(xt.shape[0]):
            if modulation:
                y = torch.einsum("bij,bj->bi", mod, xt[t])
            else:
                y = (mod * (xt[t] @ fixed["W_x"].T)) @ fixed["W_ro"].T
            inp = torch.cat([xt[t], y], dim=1)
            h, c = cell(inp, (h, c))
            u = lin(h)
            if modulation:
                U = u.reshape(-1, n, n)
                target = fixed["W0"] * U if net.mode == "multiplicative" else fixed["W0"] + U
            else:
                target = u @ fixed["K"].T
            mod = mod + (target - mod) / net.tau
            loss = loss + loss_fn(y, st[t])
        loss.backward()
        torch.nn.utils.clip_grad_value_(params, config.clip)
        opt.step()
        return float(loss.detach()), (h.detach().numpy(), c.detach().numpy(), mod.detach().numpy())

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("modulation", "spatial", "dale"), default="modulation")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--tanh", choices=("fast", "exact"), default="fast")
    parser.add_argument("--threads", type=int, default=1, help="batch chunks run in parallel (yetztml only)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch.set_num_threads for PyTorch")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--torch-repeats", type=int, default=3, help="0 skips PyTorch")
    args = parser.parse_args()
    config = BSSConfig(model=args.model, batch_size=args.batch, n_steps=args.steps, hidden_size=args.hidden,
                       dtype=args.dtype, tanh=args.tanh)
    net = build_model(config, seed=0)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{type(net).__name__}: B = {args.batch}, T = {args.steps}, H = {args.hidden}, {args.dtype}, "
          f"tanh {args.tanh}, {args.threads} thread(s) for yetztml, one BLAS thread each; {args.repeats} timed "
          "steps after one warm-up")
    times, first_loss, split = ours(net, build_task(config, seed=1), config, args.repeats, args.threads)
    print(f"yetztml (Numba)   best {min(times):7.3f} s   median {np.median(times):7.3f} s   "
          f"(forward {split['forward']:.3f} s, loss + backward {split['backward']:.3f} s; "
          f"CPU time best {min(split['cpu']):.3f} s, median {np.median(split['cpu']):.3f} s)")
    if args.torch_repeats > 0 and args.model != "dale":
        import torch

        torch.set_num_threads(args.torch_threads)
        print(f"PyTorch: {torch.get_num_threads()} thread(s)")
        fresh = build_model(config, seed=0)
        task = build_task(config, seed=1)
        state = initial_state(fresh, config.batch_size, task.rng, testing=False)
        step = torch_step_fn(fresh, config)
        t_times, t_cpu = [], []
        for r in range(args.torch_repeats + 1):
            t0 = time.perf_counter()
            c0 = time.process_time()
            batch = task.train_batch(config.batch_size)
            loss, state = step(batch.x, batch.s, state)
            if r == 0:
                print(f"first-step loss: yetztml {first_loss:.6f}, PyTorch {loss:.6f} "
                      f"(relative difference {abs(loss - first_loss) / abs(loss):.1e})")
            else:
                t_times.append(time.perf_counter() - t0)
                t_cpu.append(time.process_time() - c0)
        print(f"PyTorch eager     best {min(t_times):7.3f} s   median {np.median(t_times):7.3f} s   "
              f"(CPU time best {min(t_cpu):.3f} s, median {np.median(t_cpu):.3f} s)")
        print(f"speed-up: wall median {np.median(t_times) / np.median(times):.1f}x, wall best "
              f"{min(t_times) / min(times):.1f}x, CPU median {np.median(t_cpu) / np.median(split['cpu']):.1f}x, "
              f"CPU best {min(t_cpu) / min(split['cpu']):.1f}x")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
