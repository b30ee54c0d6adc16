"""Independent plain-NumPy reference of the memory-block cells, and helpers shared by their tests.

The reference is written from the equations (BF1)–(BF9), one time step at a time, vectorised over the batch,
without the compiled kernels. It is deliberately a second implementation of the step that the library
compiles once (``yetztml.cells.block_step``): the kernels are tested against it, so it must not share their
code. With ``frozen`` (a trace recorded at fixed parameters) every recurrent input
y^u(t−1) of u(t), and every state seen by a peephole, is read from the recording instead of the live
computation, while s(t−1) → s(t) stays live: finite differences of that function are the 1997 truncated
gradient by definition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from hypothesis import strategies as st

from yetztml.cells.block_cell import G_CHOICES, H_CHOICES, OUTPUT_CHOICES
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.core.gradcheck import numerical_gradient

CLASSES = {"LSTM1997": LSTM1997, "LSTMForget": LSTMForget, "LSTMPeephole": LSTMPeephole}
BIAS_OPTIONS = ["none", "gates", "hidden", "all", ("gates", "outputs"), ("cells",), ("outputs",)]


def sigma(x):
    return 1.0 / (1.0 + np.exp(-x))


SQUASH = {
    "g1997": lambda x: 4.0 * sigma(x) - 2.0,  # [1997 eq. 5]
    "h1997": lambda x: 2.0 * sigma(x) - 1.0,  # [1997 eq. 4]
    "logistic": sigma,
    "tanh": np.tanh,
    "identity": lambda x: x,
}


def _prev(frozen, t):
    """Recorded (y_c, y_in, y_phi, y_out, s) at t−1; ``None`` entries for absent gates."""
    if t == 0:
        init = frozen.initial_state._asdict()
        return tuple(init.get(k) for k in ("y_c", "y_in", "y_phi", "y_out", "s"))
    recorded = (frozen.y_c, frozen.y_in, frozen.y_phi, frozen.y_out, frozen.s)
    return tuple(None if a is None else a[t - 1] for a in recorded)


def reference_forward(cell, x, state=None, frozen=None):
    """Outputs (T, B, K) and the final state (the cell's NamedTuple) computed from ``cell.params``."""
    p = cell.params
    T, B, _ = x.shape
    C, S, N = cell.num_blocks, cell.block_size, cell.num_blocks * cell.block_size
    st0 = (state if state is not None else cell.zero_state(B))._asdict()
    y_c, y_in, s = st0["y_c"], st0["y_in"], st0["s"]
    y_phi = st0.get("y_phi")
    y_out = st0["y_out"]
    g, h, f_k = SQUASH[cell.g], SQUASH[cell.h], SQUASH[cell.output]
    zeros_c = np.zeros(C)
    outputs = []
    for t in range(T):
        if frozen is None:
            yc_p, yin_p, yphi_p, yout_p, s_peep = y_c, y_in, y_phi, y_out, s
        else:
            yc_p, yin_p, yphi_p, yout_p, s_peep = _prev(frozen, t)
        parts = [x[t]]
        if cell.recurrent in ("cells", "full"):
            parts.append(yc_p)
        if cell.recurrent == "full":
            parts.append(yin_p)
            if cell.forget_gate:
                parts.append(yphi_p)
            if cell.output_gate:
                parts.append(yout_p)
        u = np.concatenate(parts, axis=1)  # (BF1)
        net_c = u @ p["W_c"].T + p.get("b_c", np.zeros(N))  # (BF2)
        net_in = u @ p["W_in"].T + p.get("b_in", zeros_c)
        if cell.peepholes:
            net_in = net_in + np.einsum("bjv,jv->bj", s_peep.reshape(B, C, S), p["P_in"])
        y_in = sigma(net_in)  # (BF3)
        keep = np.ones((B, C))
        if cell.forget_gate:
            net_phi = u @ p["W_phi"].T + p.get("b_phi", zeros_c)
            if cell.peepholes:
                net_phi = net_phi + np.einsum("bjv,jv->bj", s_peep.reshape(B, C, S), p["P_phi"])
            y_phi = sigma(net_phi)  # (BF4)
            keep = y_phi
        s = np.repeat(keep, S, axis=1) * s + np.repeat(y_in, S, axis=1) * g(net_c)  # (BF5)
        gate_out = np.ones((B, C))
        if cell.output_gate:
            net_out = u @ p["W_out"].T + p.get("b_out", zeros_c)
            if cell.peepholes:
                s_now = s if frozen is None else frozen.s[t]
                net_out = net_out + np.einsum("bjv,jv->bj", s_now.reshape(B, C, S), p["P_out"])
            y_out = sigma(net_out)  # (BF6)
            gate_out = y_out
        y_c = np.repeat(gate_out, S, axis=1) * h(s)  # (BF7)
        v = np.concatenate(([x[t]] if cell.shortcut else []) + [y_c], axis=1)  # (BF8)
        outputs.append(f_k(v @ p["W_k"].T + p.get("b_k", np.zeros(cell.output_size))))  # (BF9)
    final = {"y_c": y_c, "y_in": y_in, "y_phi": y_phi, "y_out": y_out, "s": s}
    template = cell.zero_state(B)
    return np.stack(outputs), type(template)(*[final[k] for k in template._fields])


def loss_gradients(cell, x, state, d_out, d_fin, frozen=None, eps=1e-6):
    """Central differences of L = Σ d_out·y^k + Σ d_fin·final state of the reference (frozen or not).

    Returns a dict keyed like ``cell.params`` plus "inputs" and one "state.<field>" per state field.
    """

    def loss():
        out, fin = reference_forward(cell, x, state, frozen)
        return float(np.sum(d_out * out) + sum(np.sum(d * f) for d, f in zip(d_fin, fin, strict=True)))

    grads = {name: numerical_gradient(loss, value, eps) for name, value in cell.params.items()}
    grads["inputs"] = numerical_gradient(loss, x, eps)
    for field, value in zip(state._fields, state, strict=True):
        grads[f"state.{field}"] = numerical_gradient(loss, value, eps)
    return grads


def example(a, b):
    """Batch element ``b`` of a time-major (T, B, ·) array, a state array (B, ·) or a state, batch size 1."""
    if isinstance(a, tuple):
        return type(a)(*[example(leaf, b) for leaf in a])
    return np.ascontiguousarray(a[:, b : b + 1] if a.ndim == 3 else a[b : b + 1])


def flat_grads(grads):
    """A Grads object as a dict with the same keys as :func:`loss_gradients`."""
    out = dict(grads)
    out["inputs"] = grads.inputs
    for field, value in zip(grads.initial_state._fields, grads.initial_state, strict=True):
        out[f"state.{field}"] = value
    return out


@st.composite
def configs(draw, cls_name):
    """Small random configurations covering every option of the class."""
    kwargs = {
        "recurrent": draw(st.sampled_from(["full", "cells", "none"])),
        "bias": draw(st.sampled_from(BIAS_OPTIONS)),
        "output_gate": draw(st.booleans()),
        "shortcut": draw(st.booleans()),
        "g": draw(st.sampled_from(G_CHOICES)),
        "h": draw(st.sampled_from(H_CHOICES)),
        "output": draw(st.sampled_from(OUTPUT_CHOICES)),
        "init_range": 0.5,
        "seed": draw(st.integers(0, 2**31)),
    }
    if cls_name == "LSTMPeephole":
        kwargs["forget_gate"] = draw(st.booleans())
    sizes = {
        "input_size": draw(st.integers(1, 3)),
        "num_blocks": draw(st.integers(1, 2)),
        "block_size": draw(st.integers(1, 2)),
        "output_size": draw(st.integers(1, 2)),
    }
    T = draw(st.integers(1, 4))
    B = draw(st.integers(1, 2))
    return sizes, kwargs, T, B


def make_case(cell, T, B, seed):
    """Random inputs, a random initial state, and random output/final-state errors (float64)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, cell.input_size))
    template = cell.zero_state(B)
    state = type(template)(*[0.5 * rng.standard_normal(a.shape) for a in template])
    d_out = rng.standard_normal((T, B, cell.output_size))
    d_fin = type(template)(*[rng.standard_normal(a.shape) for a in template])
    return x, state, d_out, d_fin


#: Configurations run both compiled and with NUMBA_DISABLE_JIT=1.
JIT_CASES = [
    ({"recurrent": "full", "bias": "all"}, 5, 2),
    ({"recurrent": "cells", "bias": ["gates", "outputs"], "shortcut": True, "output": "identity"}, 4, 3),
    (
        {"recurrent": "none", "bias": "none", "output_gate": False, "shortcut": True, "g": "logistic",
         "h": "identity"},
        3,
        1,
    ),
]

_SCRIPT = (
    "import json, sys\n"
    "import numpy as np\n"
    "from blocks_reference import compute_case\n"
    "cls_name, sizes, cases, path = json.loads(sys.argv[1])\n"
    "np.savez(path, **compute_case(cls_name, sizes, cases))\n"
)


def compute_case(cls_name, sizes, cases):
    """Forward + full and truncated backward for each case, as a flat dict of arrays."""
    out = {}
    for i, (kwargs, T, B) in enumerate(cases):
        cell = CLASSES[cls_name](**sizes, **kwargs, init_range=0.5, seed=i)
        x, state, d_out, d_fin = make_case(cell, T, B, seed=100 + i)
        trace = cell.forward(x, state)
        out[f"{i}/outputs"] = trace.outputs
        for truncate in (False, True):
            grads = flat_grads(cell.backward(trace, d_out, d_fin, truncate=truncate))
            for key, value in grads.items():
                out[f"{i}/{truncate}/{key}"] = value
    return out


def run_uncompiled(cls_name, sizes, cases, path):
    """:func:`compute_case` in a subprocess with NUMBA_DISABLE_JIT=1; returns the loaded arrays."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run(  # run from this folder so that ``python -c`` finds this module
        [sys.executable, "-c", _SCRIPT, json.dumps([cls_name, sizes, cases, str(path)])],
        env=env, check=True, capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    with np.load(path) as data:
        return dict(data)
