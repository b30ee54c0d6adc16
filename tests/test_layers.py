"""Layers: Linear, Embedding, Dropout and Pool — forward values recomputed by hand, backward against
float64 finite differences and against PyTorch, lengths and padding, validation messages."""

from __future__ import annotations

import numpy as np
import pytest

from cellchecks import raises
from yetztml.core.errors import DTypeError, OptionError, ShapeError
from yetztml.core.gradcheck import relative_error
from yetztml.layers import Dropout, Embedding, Linear, Pool
from yetztml.models import check_model

T, B, I, K = 5, 3, 4, 2


# -- Linear ------------------------------------------------------------------------------------------
def test_linear_forward_is_w_x_plus_b_at_the_selected_steps(rng):
    layer = Linear(I, K, steps=[0, -1], seed=3)
    x = rng.standard_normal((T, B, I))
    W, b = layer.params["weight"], layer.params["bias"]
    out = layer.forward(x).outputs
    assert out.shape == (2, B, K)
    np.testing.assert_allclose(out[0], x[0] @ W.T + b, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[1], x[T - 1] @ W.T + b, rtol=0, atol=1e-15)
    last = Linear(I, K, steps="last", seed=3).forward(x, lengths=np.array([2, 5, 1])).outputs
    np.testing.assert_allclose(last[0], np.stack([x[1, 0], x[4, 1], x[0, 2]]) @ W.T + b, rtol=0, atol=1e-15)


@pytest.mark.parametrize("steps", [None, "last", [1, -1, 1]])
@pytest.mark.parametrize("batch_first", [False, True])
def test_linear_gradients_match_finite_differences(rng, steps, batch_first):
    layer = Linear(I, K, steps=steps, batch_first=batch_first, seed=1)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    lengths = np.array([3, 5, 1]) if steps == "last" else None
    errors = check_model(layer, x, rng, lengths=lengths)
    assert set(errors) == {"weight", "bias", "inputs"}
    assert max(errors.values()) < 1e-8, errors


def test_linear_without_bias_and_its_parameter_count():
    layer = Linear(6, 3, bias=False)
    assert list(layer.params) == ["weight"] and layer.num_weights == 18
    assert np.abs(layer.params["weight"]).max() <= 1 / np.sqrt(6)
    # PyTorch's U(−1/√in, 1/√in), drawn from seed 0's generator (catches another bound or distribution)
    bound = 1 / np.sqrt(6)
    np.testing.assert_array_equal(layer.params["weight"], np.random.default_rng(0).uniform(-bound, bound, (3, 6)))


@pytest.mark.torch
def test_linear_equals_torch_linear(rng):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    layer = Linear(I, K, seed=2)
    module = torch.nn.Linear(I, K, dtype=torch.float64)
    module.load_state_dict({k: torch.tensor(v) for k, v in layer.params.items()})
    x = rng.standard_normal((T, B, I))
    d = rng.standard_normal((T, B, K))
    xt = torch.tensor(x, requires_grad=True)
    out = module(xt)
    (out * torch.tensor(d)).sum().backward()
    trace = layer.forward(x)
    grads = layer.backward(trace, d)
    assert relative_error(trace.outputs, out.detach().numpy()) < 1e-14
    assert relative_error(grads["weight"], module.weight.grad.numpy()) < 1e-14
    assert relative_error(grads["bias"], module.bias.grad.numpy()) < 1e-14
    assert relative_error(grads.inputs, xt.grad.numpy()) < 1e-14


def test_linear_validation_names_the_problem(rng):
    with raises(OptionError, "None (every step), 'last' or a list of step indices", "'first'"):
        Linear(I, K, steps="first")
    with raises(OptionError, "steps within a sequence of 5"):
        Linear(I, K, steps=[7]).forward(rng.standard_normal((T, B, I)))
    with raises(ShapeError, "(T, B, I)"):
        Linear(I, K).forward(rng.standard_normal((T, B, I + 1)))
    with raises(OptionError, "lengths in [1, 5]", "got 6 for sequence 1"):
        Linear(I, K, steps="last").forward(rng.standard_normal((T, B, I)), lengths=np.array([1, 6, 2]))


# -- Embedding ---------------------------------------------------------------------------------------
def test_embedding_rows_and_sparse_gradient(rng):
    layer = Embedding(6, 3, padding_idx=0, seed=4)
    assert np.all(layer.params["weight"][0] == 0.0)
    ids = np.array([[1, 2], [1, 0], [5, 0]])
    trace = layer.forward(ids)
    np.testing.assert_array_equal(trace.outputs, layer.params["weight"][ids])
    d = rng.standard_normal((3, 2, 3))
    grads = layer.backward(trace, d)
    expected = np.zeros((6, 3))
    expected[1] = d[0, 0] + d[1, 0]
    expected[2] = d[0, 1]
    expected[5] = d[2, 0]
    np.testing.assert_allclose(grads["weight"], expected, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(grads.rows, [1, 2, 5])  # the padding row 0 gets nothing
    assert grads.inputs is None


def test_embedding_gradient_array_is_reused_only_when_nobody_holds_it(rng):
    layer = Embedding(9, 4, padding_idx=0, seed=2)
    first_ids, second_ids = np.array([[3, 1], [3, 0]]), np.array([[7, 3], [0, 8]])
    d1, d2 = rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 2, 4))
    fresh = Embedding(9, 4, padding_idx=0, seed=2)
    expected = fresh.backward(fresh.forward(second_ids), d2)["weight"].copy()

    held = layer.backward(layer.forward(first_ids), d1)
    kept = held["weight"].copy()
    second = layer.backward(layer.forward(second_ids), d2)
    assert second["weight"] is not held["weight"]  # the first is still held: a new array
    assert held["weight"].tobytes() == kept.tobytes()  # and the first is untouched
    assert second["weight"].tobytes() == expected.tobytes()

    address = second["weight"].__array_interface__["data"][0]
    del second, held
    third = layer.backward(layer.forward(second_ids), d2)
    assert third["weight"].__array_interface__["data"][0] == address  # nobody held it: the same array again
    assert third["weight"].tobytes() == expected.tobytes()  # zeroed in the rows it held before
    view = third["weight"][2:]
    del third
    fourth = layer.backward(layer.forward(first_ids), d1)
    assert fourth["weight"].__array_interface__["data"][0] != address  # a view still holds it: not reused
    assert view.tobytes() == expected[2:].tobytes()
    np.testing.assert_array_equal(fourth["weight"], kept)


def test_embedding_gradient_matches_finite_differences(rng):
    layer = Embedding(7, 3, seed=1)
    errors = check_model(layer, rng.integers(0, 7, (4, 3)), rng)
    assert set(errors) == {"weight"} and errors["weight"] < 1e-8


@pytest.mark.torch
def test_embedding_equals_torch_embedding_with_padding(rng):
    torch = pytest.importorskip("torch")
    layer = Embedding(8, 4, padding_idx=2, seed=5)
    module = torch.nn.Embedding(8, 4, padding_idx=2, dtype=torch.float64)
    module.load_state_dict({"weight": torch.tensor(layer.params["weight"])})
    ids = rng.integers(0, 8, (5, 3))
    ids[0, 0] = 2
    d = rng.standard_normal((5, 3, 4))
    (module(torch.tensor(ids)) * torch.tensor(d)).sum().backward()
    grads = layer.backward(layer.forward(ids), d)
    assert relative_error(grads["weight"], module.weight.grad.numpy()) < 1e-14


def test_embedding_from_given_vectors_and_bad_ids():
    table = np.arange(12.0).reshape(4, 3)
    layer = Embedding(4, 3, weights=table, padding_idx=3)
    np.testing.assert_array_equal(layer.params["weight"][:3], table[:3])
    assert np.all(layer.params["weight"][3] == 0)
    assert layer.config()["weights"] is None  # the table is a weight, saved in weights.npz
    with raises(OptionError, "token ids in [0, 4)", "got 9", "vocabulary is larger"):
        layer.forward(np.array([[1, 9]]))
    with raises(DTypeError, "integer token ids", "Vocab"):
        layer.forward(np.array([[1.0, 2.0]]))
    with raises(ShapeError, "(4, 3)"):
        Embedding(4, 3, weights=np.zeros((4, 2)))


# -- Dropout -----------------------------------------------------------------------------------------
def test_dropout_mask_is_seeded_inverted_and_off_in_eval(rng):
    x = rng.standard_normal((T, B, I))
    layer = Dropout(I, 0.25, seed=7)
    out = layer.forward(x).outputs
    keep = np.random.default_rng(7).random((T, B, I)) >= 0.25  # the layer's own generator, same draw
    np.testing.assert_array_equal(out, x * (keep / 0.75))  # (DRP1) x ⊙ m / (1 − p)
    d = rng.standard_normal((T, B, I))
    grads = layer.backward(layer.forward(x), d)  # a new mask, and the backward uses that one
    second = np.random.default_rng(7)
    second.random((T, B, I))
    keep2 = second.random((T, B, I)) >= 0.25
    np.testing.assert_array_equal(grads.inputs, d * (keep2 / 0.75))  # (DRP3)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x).outputs, x)
    np.testing.assert_array_equal(layer.backward(layer.forward(x), d).inputs, d)


@pytest.mark.parametrize("p", [0.5, 0.3, 0.77])
def test_float32_dropout_is_the_formula_to_the_bit(rng, p):
    """(DRP1) in float32 (one compiled pass): the mask from the layer's generator in C order (also for a strided
    view), y = x ⊙ m/(1 − p) in float32, byte for byte the NumPy expression (a mask read in another order, a
    scale without its 1/(1 − p), or outputs and scales of another dtype differ)."""
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    trace = Dropout(I, p, seed=5, dtype=np.float32).forward(x)
    scale = (np.random.default_rng(5).random((T, B, I)) >= p).astype(np.float32) / np.float32(1.0 - p)
    assert trace.outputs.dtype == np.float32 and trace.extras["scale"].dtype == np.float32
    assert trace.extras["scale"].tobytes() == scale.tobytes()
    assert trace.outputs.tobytes() == (x * scale).tobytes()
    sliced = x[:, ::2]  # a strided view: read as its values
    sliced_scale = (np.random.default_rng(5).random(sliced.shape) >= p).astype(np.float32) / np.float32(1.0 - p)
    np.testing.assert_array_equal(Dropout(I, p, seed=5, dtype=np.float32).forward(sliced).outputs,
                                  sliced * sliced_scale)


def test_dropout_state_round_trip_repeats_the_masks(rng):
    x = rng.standard_normal((T, B, I))
    layer = Dropout(I, 0.5, seed=1)
    saved = layer.rng_state()
    first = layer.forward(x).outputs
    assert not np.array_equal(first, layer.forward(x).outputs)
    layer.set_rng_state(saved)
    np.testing.assert_array_equal(first, layer.forward(x).outputs)
    errors = check_model(layer, x, rng)
    assert errors["inputs"] < 1e-8
    with raises(OptionError, "a rate in [0, 1)"):
        Dropout(I, 1.0)


# -- Pool --------------------------------------------------------------------------------------------
def test_pool_values_use_only_valid_steps(rng):
    x = rng.standard_normal((T, B, I))
    lengths = np.array([2, 5, 1])
    last = Pool(I, "last").forward(x, lengths=lengths).outputs[0]
    mean = Pool(I, "mean").forward(x, lengths=lengths).outputs[0]
    peak = Pool(I, "max").forward(x, lengths=lengths).outputs[0]
    both = Pool(I, "maxmean")
    assert both.output_size == 2 * I
    joint = both.forward(x, lengths=lengths).outputs[0]  # (POOL7): [max | mean]
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(last[b], x[n - 1, b])
        np.testing.assert_allclose(mean[b], x[:n, b].mean(axis=0), rtol=1e-15)
        np.testing.assert_array_equal(peak[b], x[:n, b].max(axis=0))
        np.testing.assert_array_equal(joint[b, :I], x[:n, b].max(axis=0))
        np.testing.assert_allclose(joint[b, I:], x[:n, b].mean(axis=0), rtol=1e-15)


@pytest.mark.parametrize("mode", ["last", "mean", "max", "maxmean"])
def test_pool_gradients_match_finite_differences(rng, mode):
    x = rng.standard_normal((T, B, I))
    errors = check_model(Pool(I, mode), x, rng, lengths=np.array([4, 1, 5]))
    assert errors["inputs"] < 1e-8


def test_pool_ignores_what_the_padding_holds(rng):
    x = rng.standard_normal((T, B, I))
    lengths = np.array([3, 2, 4])
    other = x.copy()
    other[4] = 100.0
    other[3, :2] = -100.0
    other[2, 1] = 50.0
    for mode in ("last", "mean", "max", "maxmean"):
        layer = Pool(I, mode)
        np.testing.assert_array_equal(
            layer.forward(x, lengths=lengths).outputs, layer.forward(other, lengths=lengths).outputs
        )
