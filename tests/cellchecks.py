"""Checks shared by the cell tests (tests/test_cells_*.py); plain functions that assert, tolerances inside.

PyTorch-layout cells (RNN, GRU, LSTM):

- :func:`assert_gradcheck`: float64 central differences (:func:`check_cell`) agree with ``backward`` on
  every parameter, the inputs and the initial state, within ``tol``;
- :func:`assert_batched_equals_per_example`: a batch gives each example's outputs, final state and
  gradients, and the parameter gradients sum over the examples, to 1e-12;
- :func:`compare_float32_with_float64`: the float32 cell has float32 outputs and gradients within 1e-5
  and 1e-4 of the float64 cell's;
- :func:`raises`: ``pytest.raises`` whose message must contain given fragments.

Memory-block cells (LSTM1997, LSTMForget, LSTMPeephole), against :mod:`blocks_reference`:

- :func:`assert_forward_matches_reference`: outputs and final state equal the plain-NumPy reference;
- :func:`assert_block_gradcheck`: full BPTT agrees with central differences to 1e-6;
- :func:`assert_truncated_matches_frozen`: ``backward(truncate=True)`` agrees to 1e-6 with differences of
  the reference whose recurrent inputs are read from a frozen trace (the 1997 truncated gradient);
- :func:`truncation_changes`: truncated and full parameter gradients differ by more than 1e-3;
- :func:`assert_compiled_matches_uncompiled`: the compiled kernels equal NUMBA_DISABLE_JIT=1 to 1e-12;
- :func:`assert_block_batched_equals_loop`: a batch equals the loop over its examples.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import strategies as st

from blocks_reference import (
    compute_case,
    example,
    flat_grads,
    loss_gradients,
    make_case,
    reference_forward,
    run_uncompiled,
)
from yetztml.cells.gradcheck import check_cell
from yetztml.core.gradcheck import relative_error


@contextlib.contextmanager
def raises(error, *fragments):
    """pytest.raises for ``error`` whose message contains every fragment."""
    with pytest.raises(error) as info:
        yield info
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


# -- PyTorch-layout cells ----------------------------------------------------------------------------------


def stack_configs(**extra) -> dict[str, st.SearchStrategy]:
    """Hypothesis keyword strategies for a random small stack: the seed, ``extra``, options, sizes."""
    return {
        "seed": st.integers(0, 2**16),
        **extra,
        "num_layers": st.integers(1, 2),
        "bidirectional": st.booleans(),
        "bias": st.booleans(),
        "batch_first": st.booleans(),
        "random_state": st.booleans(),
        "T": st.integers(1, 4),
        "B": st.integers(1, 3),
        "I": st.integers(1, 3),
        "H": st.integers(1, 3),
    }


def array_state(cell, B: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """A random (num_layers·D, B, H) state, ``scale`` times standard normal."""
    return scale * rng.standard_normal((cell.num_layers * cell.num_directions, B, cell.hidden_size))


def half_array_state(cell, B: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`array_state` at scale 0.5, the initial state of the finite-difference checks."""
    return array_state(cell, B, rng, 0.5)


def assert_gradcheck(cell, T, B, seed, random_state, tol, *, make_state=half_array_state, all_keys=False):
    """Central differences agree with backward to ``tol`` on random inputs (and state) drawn from ``seed``.

    ``make_state(cell, B, rng)`` draws the initial state after the inputs; with ``all_keys`` the errors
    must cover exactly every parameter, "inputs" and "initial_state".
    """
    rng = np.random.default_rng(seed)
    shape = (B, T, cell.input_size) if cell.batch_first else (T, B, cell.input_size)
    x = rng.standard_normal(shape)
    state = make_state(cell, B, rng) if random_state else None
    with np.errstate(all="raise"):
        errors = check_cell(cell, x, rng, state=state)
    if all_keys:
        assert set(errors) == set(cell.params) | {"inputs", "initial_state"}
    assert max(errors.values()) <= tol, errors


def _parts(state):
    """The arrays of a state: the array itself, or the leaves of a tuple such as (h, c)."""
    return [state] if isinstance(state, np.ndarray) else list(state)


def _example(state, b):
    """Batch element ``b`` of a (num_layers·D, B, H) state or of a plain tuple of them."""
    if isinstance(state, np.ndarray):
        return state[:, b : b + 1]
    return tuple(a[:, b : b + 1] for a in state)


def assert_batched_equals_per_example(cell, rng, B, T, make_state=array_state):
    """A batch-first batch of B gives each example's outputs, final state and input/state gradients, and
    the sum of its examples' parameter gradients, to 1e-12. Draws x, the state, d_out, d_fin from ``rng``."""
    x = rng.standard_normal((B, T, cell.input_size))
    s = make_state(cell, B, rng)
    trace = cell.forward(x, s)
    d_out = rng.standard_normal(trace.outputs.shape)
    d_fin = make_state(cell, B, rng)
    grads = cell.backward(trace, d_out, d_fin)
    total = {k: np.zeros_like(v) for k, v in grads.items()}
    for b in range(B):
        one = cell.forward(x[b : b + 1], _example(s, b))
        assert relative_error(one.outputs[0], trace.outputs[b]) <= 1e-12
        for got, want in zip(_parts(one.final_state), _parts(trace.final_state), strict=True):
            assert relative_error(got[:, 0], want[:, b]) <= 1e-12
        g = cell.backward(one, d_out[b : b + 1], _example(d_fin, b))
        for k in total:
            total[k] += g[k]
        assert relative_error(g.inputs[0], grads.inputs[b]) <= 1e-12
        for got, want in zip(_parts(g.initial_state), _parts(grads.initial_state), strict=True):
            assert relative_error(got[:, 0], want[:, b]) <= 1e-12
    for k in total:
        assert relative_error(total[k], grads[k]) <= 1e-12, k


def compare_float32_with_float64(cell64):
    """Forward (6, 2, I) inputs and backward random d_outputs (rng seed 5) through ``cell64`` and its float32
    copy; asserts float32 outputs within 1e-5 and float32 parameter gradients within 1e-4.

    Returns (t32, t64, g32, g64) for the checks particular to a cell.
    """
    rng = np.random.default_rng(5)
    cell32 = cell64.astype(np.float32)
    x = rng.standard_normal((6, 2, cell64.input_size))
    t64 = cell64.forward(x)
    t32 = cell32.forward(x.astype(np.float32))
    assert t32.outputs.dtype == np.float32
    assert relative_error(t32.outputs, t64.outputs) <= 1e-5
    d = rng.standard_normal(t64.outputs.shape)
    g64 = cell64.backward(t64, d)
    g32 = cell32.backward(t32, d.astype(np.float32))
    for k in g64:
        assert g32[k].dtype == np.float32
        assert relative_error(g32[k], g64[k]) <= 1e-4, k
    return t32, t64, g32, g64


# -- memory-block cells ------------------------------------------------------------------------------------


def assert_forward_matches_reference(cls, case):
    """A :func:`blocks_reference.configs` case: outputs and final state equal the NumPy reference."""
    sizes, kwargs, T, B = case
    cell = cls(**sizes, **kwargs)
    x, state, _, _ = make_case(cell, T, B, seed=kwargs["seed"])
    trace = cell.forward(x, state)
    out, final = reference_forward(cell, x, state)
    np.testing.assert_allclose(trace.outputs, out, rtol=1e-12, atol=1e-13)
    for got, want in zip(trace.final_state, final, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def assert_block_gradcheck(cls, case):
    """A :func:`blocks_reference.configs` case: full BPTT agrees with central differences to 1e-6."""
    sizes, kwargs, T, B = case
    cell = cls(**sizes, **kwargs)
    x, state, _, _ = make_case(cell, T, B, seed=kwargs["seed"])
    with np.errstate(all="raise"):
        errors = check_cell(cell, x, np.random.default_rng(kwargs["seed"]), state=state)
    assert max(errors.values()) <= 1e-6, errors


def truncated_against_frozen_reference(cls, sizes, kwargs, T, B):
    """Max relative error of backward(truncate=True) vs differences of the frozen-trajectory reference."""
    cell = cls(**sizes, **kwargs)
    x, state, d_out, d_fin = make_case(cell, T, B, seed=kwargs["seed"])
    frozen = cell.forward(x, type(state)(*[a.copy() for a in state]))
    got = flat_grads(cell.backward(frozen, d_out, d_fin, truncate=True))
    want = loss_gradients(cell, x, state, d_out, d_fin, frozen=frozen)
    return {k: relative_error(got[k], want[k]) for k in want}


def assert_truncated_matches_frozen(cls, case):
    """A :func:`blocks_reference.configs` case: the truncated gradient agrees with the frozen reference."""
    errors = truncated_against_frozen_reference(cls, *case)
    assert max(errors.values()) <= 1e-6, errors


def truncation_changes(cell, seed, names):
    """Full and truncated gradients on ``make_case(cell, 6, 2, seed)``; asserts each of ``names`` differs by
    more than 1e-3 and returns (full, cut)."""
    x, state, d_out, d_fin = make_case(cell, 6, 2, seed=seed)
    trace = cell.forward(x, state)
    full = cell.backward(trace, d_out, d_fin)
    cut = cell.backward(trace, d_out, d_fin, truncate=True)
    for name in names:
        assert relative_error(full[name], cut[name]) > 1e-3
    return full, cut


def assert_compiled_matches_uncompiled(cls_name, sizes, cases, tmp_path):
    """:func:`blocks_reference.compute_case` compiled and with NUMBA_DISABLE_JIT=1 agree to 1e-12."""
    slow = run_uncompiled(cls_name, sizes, cases, tmp_path / "slow.npz")
    fast = compute_case(cls_name, sizes, cases)
    assert set(slow) == set(fast)
    for key in fast:
        assert relative_error(fast[key], slow[key], floor=1e-300) <= 1e-12, key


def assert_block_batched_equals_loop(cell, T, B, seed, keys, *, truncate=False, outputs=False):
    """On ``make_case(cell, T, B, seed)``: the batch's parameter gradients are the sum over its examples
    (rtol 1e-12), and each example's gradients under ``keys`` ("inputs", "state.<field>") are its slice of
    the batch's (rtol 1e-13); with ``outputs`` its outputs too (rtol 1e-14)."""
    x, state, d_out, d_fin = make_case(cell, T, B, seed=seed)
    trace = cell.forward(x, state)
    grads = flat_grads(cell.backward(trace, d_out, d_fin, truncate=truncate))
    total = {k: np.zeros_like(v) for k, v in cell.params.items()}
    for b in range(B):
        tr_b = cell.forward(example(x, b), example(state, b))
        if outputs:
            np.testing.assert_allclose(tr_b.outputs[:, 0], trace.outputs[:, b], rtol=1e-14, atol=1e-15)
        g_b = flat_grads(cell.backward(tr_b, example(d_out, b), example(d_fin, b), truncate=truncate))
        for key in keys:
            axis = 1 if key == "inputs" else 0  # inputs are (T, B, I), states (B, ·)
            got, want = np.take(g_b[key], 0, axis=axis), np.take(grads[key], b, axis=axis)
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15, err_msg=key)
        for k in total:
            total[k] += g_b[k]
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], rtol=1e-12, atol=1e-14)
