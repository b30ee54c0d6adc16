"""yetztml.torch modules inside PyTorch, forward + backward, against what a PyTorch user has today.

* ``LSTM`` against the fused ``torch.nn.LSTM`` (same weights);
* each variant PyTorch lacks — ``PeepholeLSTM``, ``LayerNormLSTM``, ``CIFGLSTM``, ``LSTM`` with zoneout —
  against the same variant written as an eager torch loop over time steps (how users write it: one
  ``x @ W_ih.T`` for all steps, then per step the recurrent product and the gate arithmetic).

float32, one thread for everybody (set below before NumPy and torch load their BLAS, plus
``torch.set_num_threads(1)``). Each workload is: input (T, B, I) with ``requires_grad``, loss Σ output·d for
a fixed random d, ``backward()`` — so every implementation produces the gradients of all parameters and of
the input. Before timing, the outputs and gradients of each pair are compared (max relative error printed)
so the table times equal work (zoneout in evaluation mode for that check: same expectation masks on both
sides; timed in training mode, masks drawn on both sides). A warm-up per implementation comes first (our
kernels compile there). A sample is k back-to-back calls (k chosen so a sample lasts ≥ ``--min-sample``
seconds), reported per call; the implementations of a row are sampled in turn (interleaved) and the table
gives medians over the repeats; "ratio" is theirs / ours (> 1: ours faster).

The kernels' products call their own BLAS (:func:`yetztml.core.gemm_library.kernel_blas`: NumPy's OpenBLAS
where found); the column "ours, PyTorch's BLAS handed in" times the same modules with PyTorch's own BLAS
handed to the kernels inside the operators (:mod:`yetztml.torch._blas`, what they do where the kernels' own
BLAS is SciPy's ``np.dot``), sampled in turn with the others.

A second table times the LSTM's matrix products alone, through the function the kernels call
(:func:`yetztml.core.linalg.blas_product`): one time step's two products with the kernels' own BLAS (NumPy's
OpenBLAS), with ``np.dot`` in compiled code (SciPy's OpenBLAS), with PyTorch's handed in, and with ``torch.mm``;
and every product of one forward + backward with each of the three — the floor under our ``LSTM`` row
whatever its gate arithmetic costs (for CIFG, with three gate blocks instead of four, its own products).

A third table sets each row against that floor: "ceiling" = theirs / (every product alone, with the fastest
of the BLAS libraries), the largest ratio any implementation making these products could reach (the
peephole, layer-normalised and zoneout LSTMs make the LSTM's products; CIFG three quarters of them), and how
much of the time ours spends outside the products.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_torch_bridge.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from lstm_products import lstm_products  # noqa: E402

import yetztml.torch as yt  # noqa: E402
from yetztml.core import gemm_library  # noqa: E402
from yetztml.core.gemm_library import handed_in_gemm  # noqa: E402
from yetztml.core.linalg import blas_product  # noqa: E402
from yetztml.torch import _blas, _ops  # noqa: E402

SIZES = [(64, 128, 32, 100), (16, 32, 8, 100)]  # (I, H, B, T); the first is the target size


def _peephole_loop(m, x):
    H = m.hidden_size
    p_i, p_f, p_o = m.weight_peephole_l0.split(H)
    gx = x @ m.weight_ih_l0.T + m.bias_ih_l0 + m.bias_hh_l0
    h = c = x.new_zeros(x.shape[1], H)
    outs = []
    for t in range(x.shape[0]):
        a = gx[t] + h @ m.weight_hh_l0.T
        i = torch.sigmoid(a[:, :H] + p_i * c)
        f = torch.sigmoid(a[:, H : 2 * H] + p_f * c)
        c = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        o = torch.sigmoid(a[:, 3 * H :] + p_o * c)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs)


def _layernorm_loop(m, x):
    H = m.hidden_size
    ln = torch.nn.functional.layer_norm

    def block(z, g, b):
        return (ln(z.view(*z.shape[:-1], 4, H), (H,)) * g.view(4, H) + b.view(4, H)).flatten(-2)

    gx = block(x @ m.weight_ih_l0.T, m.ln_ih_weight_l0, m.ln_ih_bias_l0) + m.bias_ih_l0 + m.bias_hh_l0
    h = c = x.new_zeros(x.shape[1], H)
    outs = []
    for t in range(x.shape[0]):
        a = gx[t] + block(h @ m.weight_hh_l0.T, m.ln_hh_weight_l0, m.ln_hh_bias_l0)
        i, f, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H : 2 * H]), torch.sigmoid(a[:, 3 * H :])
        c = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        h = o * torch.tanh(ln(c, (H,), m.ln_c_weight_l0, m.ln_c_bias_l0))
        outs.append(h)
    return torch.stack(outs)


def _cifg_loop(m, x):
    H = m.hidden_size
    gx = x @ m.weight_ih_l0.T + m.bias_ih_l0 + m.bias_hh_l0
    h = c = x.new_zeros(x.shape[1], H)
    outs = []
    for t in range(x.shape[0]):
        a = gx[t] + h @ m.weight_hh_l0.T
        i, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, 2 * H :])
        c = c + i * (torch.tanh(a[:, H : 2 * H]) - c)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs)


def _zoneout_loop(m, x):
    H = m.hidden_size
    gx = x @ m.weight_ih_l0.T + m.bias_ih_l0 + m.bias_hh_l0
    h = c = x.new_zeros(x.shape[1], H)
    shape = (x.shape[0], x.shape[1], H)
    keep = 1.0 - m.recurrent_dropout
    if m.training:
        d_h = torch.bernoulli(x.new_full(shape, m.zoneout_h))
        d_c = torch.bernoulli(x.new_full(shape, m.zoneout_c))
        m_g = torch.bernoulli(x.new_full(shape, keep)) / keep
    else:
        d_h, d_c, m_g = x.new_full(shape, m.zoneout_h), x.new_full(shape, m.zoneout_c), x.new_ones(shape)
    outs = []
    for t in range(x.shape[0]):
        a = gx[t] + h @ m.weight_hh_l0.T
        i, f, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H : 2 * H]), torch.sigmoid(a[:, 3 * H :])
        ct = f * c + i * m_g[t] * torch.tanh(a[:, 2 * H : 3 * H])
        c = d_c[t] * c + (1 - d_c[t]) * ct
        h = d_h[t] * h + (1 - d_h[t]) * o * torch.tanh(ct)
        outs.append(h)
    return torch.stack(outs)


def _rows(I: int, H: int):
    """(name, ours, theirs, theirs' label) per row; both modules share one set of weights."""
    gen = torch.Generator().manual_seed(0)
    lstm = yt.LSTM(I, H, generator=gen)
    fused = torch.nn.LSTM(I, H)
    fused.load_state_dict(lstm.state_dict())
    rows = [("LSTM", lstm, lambda x: fused(x)[0], "nn.LSTM fused", list(fused.parameters()))]
    for name, module, loop in (
        ("PeepholeLSTM", yt.PeepholeLSTM(I, H, generator=gen), _peephole_loop),
        ("LayerNormLSTM", yt.LayerNormLSTM(I, H, generator=gen), _layernorm_loop),
        ("CIFGLSTM", yt.CIFGLSTM(I, H, generator=gen), _cifg_loop),
        ("LSTM zoneout", yt.LSTM(I, H, zoneout_h=0.1, zoneout_c=0.05, recurrent_dropout=0.25, generator=gen),
         _zoneout_loop),
    ):
        rows.append((name, module, lambda x, m=module, f=loop: f(m, x), "eager loop", list(module.parameters())))
    return rows


def _step(fn, x, d, params):
    for p in params:
        p.grad = None
    x.grad = None
    (fn(x) * d).sum().backward()
    return [x.grad] + [p.grad for p in params]


def _max_error(a, b) -> float:
    return max(((u - v).abs().max() / max(v.abs().max(), 1e-10)).item() for u, v in zip(a, b, strict=True))


def _sample(fn, min_sample: float) -> float:
    calls, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_sample:
            return elapsed / calls
        calls *= 2


@numba.njit(cache=True)
def _step_products(h, w_hh, rec, da, dh, calls):
    for _ in range(calls):
        blas_product(h, w_hh.T, rec, False)
        blas_product(da, w_hh, dh, False)


def _products(I: int, H: int, B: int, T: int, repeats: int, min_sample: float, G: int = 4) -> dict[str, float]:
    """The per-step products with each BLAS and with ``torch.mm``, and all products of one forward + backward
    with each BLAS, for G gate blocks; prints the row and returns the medians (seconds)."""
    rng = np.random.default_rng(0)
    f = np.float32
    x, w_ih, w_hh = (rng.standard_normal(s).astype(f) for s in ((T, B, I), (G * H, I), (G * H, H)))
    h, gates = rng.standard_normal((T + 1, B, H)).astype(f), rng.standard_normal((T, B, G * H)).astype(f)
    rec, dh, dx = np.empty((B, G * H), f), np.empty((B, H), f), np.empty((T, B, I), f)
    dw_ih, dw_hh = np.empty_like(w_ih), np.empty_like(w_hh)
    t_h, t_w, t_rec = torch.from_numpy(h[0]), torch.from_numpy(w_hh), torch.from_numpy(rec)
    t_da, t_dh = torch.from_numpy(gates[0]), torch.from_numpy(dh)
    addresses = _blas.torch_gemm()

    def torch_mm() -> None:
        torch.mm(t_h, t_w.T, out=t_rec)
        torch.mm(t_da, t_w, out=t_dh)

    def handed(fn):
        def run() -> None:
            with handed_in_gemm(*addresses):
                fn()
        return run

    def scipy(fn):
        def run() -> None:
            gemm_library._install(None)  # np.dot in compiled code: SciPy's OpenBLAS
            try:
                fn()
            finally:
                gemm_library._install(gemm_library._BETWEEN[0])
        return run

    def steps() -> None:
        _step_products(h[0], w_hh, rec, gates[0], dh, 1)

    def every() -> None:
        lstm_products(x, w_ih, w_hh, h, gates, rec, dh, dx, dw_ih, dw_hh)

    work = {"own": steps, "scipy": scipy(steps), "handed": handed(steps), "mm": torch_mm, "all own": every,
            "all scipy": scipy(every), "all handed": handed(every)}
    for fn in work.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in work}
    for _ in range(repeats):
        for key, fn in work.items():
            times[key].append(_sample(fn, min_sample))
    m = {k: statistics.median(v) for k, v in times.items()}
    print(f"| {I}, {H}, {B}, {T} | {G} | {1e6 * m['own']:.1f} | {1e6 * m['scipy']:.1f} | {1e6 * m['handed']:.1f} "
          f"| {1e6 * m['mm']:.1f} | {1e3 * m['all own']:.1f} | {1e3 * m['all scipy']:.1f} "
          f"| {1e3 * m['all handed']:.1f} |", flush=True)
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="samples per implementation (default 5)")
    parser.add_argument("--min-sample", type=float, default=0.2, help="seconds per sample (default 0.2)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, one thread, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"kernels' own BLAS: {gemm_library.kernel_blas()}")
    print("| I, H, B, T | module | ours (ms) | ours, PyTorch's BLAS handed in (ms) | theirs | theirs (ms) "
          "| ratio theirs/ours | ratio theirs/ours, PyTorch's BLAS | max rel err |")
    print("|---|---|---|---|---|---|---|---|---|")
    measured: list[tuple[tuple[int, int, int, int], str, float, float]] = []
    for I, H, B, T in SIZES:
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(T, B, I, generator=gen, requires_grad=True)
        d = torch.randn(T, B, H, generator=gen)
        for name, module, theirs, label, their_params in _rows(I, H):
            ours = lambda x, m=module: m(x)[0]  # noqa: E731
            params = list(module.parameters())
            module.eval()  # the check: zoneout with the same expectation masks on both sides
            err = _max_error(_step(ours, x, d, params), _step(theirs, x, d, their_params))
            module.train()
            work = {
                "ours": lambda: _step(ours, x, d, params),  # noqa: B023
                "handed": lambda: _torch_handed(lambda: _step(ours, x, d, params)),  # noqa: B023
                "theirs": lambda: _step(theirs, x, d, their_params),  # noqa: B023
            }
            work["handed"]()
            times: dict[str, list[float]] = {k: [] for k in work}
            for _ in range(args.repeats):
                for key, fn in work.items():
                    times[key].append(_sample(fn, args.min_sample))
            o, own, t = (statistics.median(times[k]) for k in ("ours", "handed", "theirs"))
            print(f"| {I}, {H}, {B}, {T} | {name} | {1e3 * o:.1f} | {1e3 * own:.1f} | {label} | {1e3 * t:.1f} "
                  f"| {t / o:.2f}x | {t / own:.2f}x | {err:.1e} |", flush=True)
            measured.append(((I, H, B, T), name, o, t))
    print("\nThe matrix products alone, through the function the kernels call: one step's two products "
          "(B×H·H×G·H forward, B×G·H·G·H×H backward, G gate blocks: 4, or 3 for CIFG) with the kernels' own BLAS "
          "(NumPy's OpenBLAS), with np.dot in compiled code (SciPy's OpenBLAS), with PyTorch's handed in, and "
          "with torch.mm; every product of one forward + backward with each")
    print("| I, H, B, T | G | step products, NumPy's (µs) | SciPy's (µs) | PyTorch's handed in (µs) "
          "| torch.mm (µs) | all products, NumPy's (ms) | SciPy's (ms) | PyTorch's handed in (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    floors = {}
    for size in SIZES:
        for G in (4, 3):
            m = _products(*size, args.repeats, args.min_sample, G)
            floors[size, G] = min(m["all own"], m["all scipy"], m["all handed"])
    print("\nEach row against its products alone (the fastest of the three BLAS libraries): ceiling = "
          "theirs / products, the most any implementation making these products could reach")
    print("| I, H, B, T | module | products alone (ms) | ours (ms) | ours outside the products (ms) "
          "| ratio theirs/ours | ceiling theirs/products |")
    print("|---|---|---|---|---|---|---|")
    for size, name, o, t in measured:
        floor = floors[size, 3 if name == "CIFGLSTM" else 4]
        print(f"| {', '.join(map(str, size))} | {name} | {1e3 * floor:.1f} | {1e3 * o:.1f} | {1e3 * (o - floor):.1f} "
              f"| {t / o:.2f}x | {t / floor:.2f}x |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def _torch_handed(fn):
    """``fn()`` with PyTorch's own BLAS handed to the kernels inside the operators."""
    saved = _ops.torch_blas
    _ops.torch_blas = lambda: handed_in_gemm(*_blas.torch_gemm())
    try:
        return fn()
    finally:
        _ops.torch_blas = saved


if __name__ == "__main__":
    main()
