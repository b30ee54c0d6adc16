"""Core: activations and derivatives, validation messages, finite differences, matrix helpers."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.core import activations as A
from yetztml.core import linalg
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.core.gradcheck import numerical_gradient, relative_error
from yetztml.core.rng import make_rng
from yetztml.core.validation import check_array, check_choice, check_dtype, check_int, check_sizes

XS = np.linspace(-8.0, 8.0, 161)


def _reference(kind: int, x: np.ndarray) -> np.ndarray:
    sigma = 1.0 / (1.0 + np.exp(-x))
    return {
        A.IDENTITY: x,
        A.LOGISTIC: sigma,
        A.TANH: np.tanh(x),
        A.RELU: np.maximum(x, 0.0),
        A.G1997: 4.0 * sigma - 2.0,  # [1997 eq. 5]
        A.H1997: 2.0 * sigma - 1.0,  # [1997 eq. 4]
    }[kind]


@pytest.mark.parametrize("kind", sorted(A.NAMES))
def test_activation_matches_definition(kind):
    got = np.array([A.apply(kind, float(x)) for x in XS])
    np.testing.assert_allclose(got, _reference(kind, XS), rtol=0, atol=1e-14)
    np.testing.assert_allclose(A.apply_np(kind, XS), got, rtol=0, atol=1e-15)


@pytest.mark.parametrize("kind", sorted(A.NAMES))
def test_derivative_matches_finite_differences(kind):
    xs = XS[np.abs(XS) > 1e-3]  # relu has a kink at 0
    eps = 1e-6
    fd = (_reference(kind, xs + eps) - _reference(kind, xs - eps)) / (2 * eps)
    got = np.array([A.derivative(kind, float(x), A.apply(kind, float(x))) for x in xs])
    np.testing.assert_allclose(got, fd, rtol=0, atol=1e-8)
    np.testing.assert_allclose(A.derivative_np(kind, xs), got, rtol=0, atol=1e-15)


def test_squashing_ranges_follow_the_text_not_the_table_caption():
    big = 40.0
    assert A.apply(A.G1997, big) == pytest.approx(2.0) and A.apply(A.G1997, -big) == pytest.approx(-2.0)
    assert A.apply(A.H1997, big) == pytest.approx(1.0) and A.apply(A.H1997, -big) == pytest.approx(-1.0)


def test_logistic_is_stable_for_huge_arguments():
    with np.errstate(all="raise"):
        assert A.apply(A.LOGISTIC, 1e6) == 1.0
        assert A.apply(A.LOGISTIC, -1e6) == 0.0


def test_logistic_max_derivative_is_a_quarter():
    d = A.derivative_np(A.LOGISTIC, XS)
    assert d.max() == pytest.approx(0.25)


def test_code_lookup_and_aliases():
    assert A.code("f", "sigmoid") == A.LOGISTIC
    assert A.code("f", "linear") == A.IDENTITY
    with pytest.raises(OptionError, match="expected one of 'tanh', 'relu'.*got 'softsign'"):
        A.code("nonlinearity", "softsign", allowed=("tanh", "relu"))


@pytest.mark.parametrize("fn", [linalg.gemm_nt, linalg.gemm_nn, linalg.gemm_tn])
@pytest.mark.parametrize("m,k,n", [(1, 2, 3), (3, 5, 4), (64, 70, 80)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_gemm_helpers(fn, m, k, n, accumulate, rng):
    a = {
        linalg.gemm_nt: lambda: (rng.standard_normal((m, k)), rng.standard_normal((n, k))),
        linalg.gemm_nn: lambda: (rng.standard_normal((m, k)), rng.standard_normal((k, n))),
        linalg.gemm_tn: lambda: (rng.standard_normal((k, m)), rng.standard_normal((k, n))),
    }[fn]()
    want = {
        linalg.gemm_nt: lambda: a[0] @ a[1].T,
        linalg.gemm_nn: lambda: a[0] @ a[1],
        linalg.gemm_tn: lambda: a[0].T @ a[1],
    }[fn]()
    out = rng.standard_normal((m, n))
    start = out.copy()
    fn(a[0], a[1], out, accumulate)
    np.testing.assert_allclose(out, want + (start if accumulate else 0.0), rtol=1e-12, atol=1e-12)


def test_relative_error_is_normwise_and_handles_zeros():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-3])) == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        relative_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_known_function():
    w = np.array([0.3, -1.2, 2.0])
    g = numerical_gradient(lambda: float(np.sum(np.sin(w) * w**2)), w)
    np.testing.assert_allclose(g, np.cos(w) * w**2 + 2 * w * np.sin(w), rtol=1e-8)
    np.testing.assert_array_equal(w, [0.3, -1.2, 2.0])  # restored


def test_validation_messages_name_expected_and_received():
    x = np.zeros((4, 2, 3))
    with pytest.raises(ShapeError, match=r"x: expected shape \(T, B, I\) = \(\*, \*, 5\), got shape \(4, 2, 3\)"):
        check_array("x", x, shape=(None, None, 5), names="(T, B, I)")
    with pytest.raises(ShapeError, match="expected 3 dimensions"):
        check_array("x", np.zeros((2, 3)), shape=(None, None, 3))
    with pytest.raises(ShapeError, match="size >= 1 on axis 0"):
        check_array("x", np.zeros((0, 2, 3)), shape=(None, None, 3))
    with pytest.raises(DTypeError, match="float32 or float64, got int64"):
        check_array("x", np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(DTypeError, match="numpy.ndarray"):
        check_array("x", [[1.0]])
    with pytest.raises(DTypeError, match=r"dtype float32 \(the cell's dtype\), got float64"):
        check_array("x", x, dtype=np.dtype(np.float32))
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(NonFiniteError, match="1 NaN/inf"):
        check_array("x", bad)
    with pytest.raises(OptionError, match="expected an integer >= 1, got 0"):
        check_int("block_size", 0, minimum=1)
    with pytest.raises(DTypeError, match="expected an integer"):
        check_int("block_size", 1.5)
    assert check_sizes("Net", rows=np.int64(3), cols=2) == (3, 2)
    assert type(check_sizes("Net", rows=np.int64(3))[0]) is int
    with pytest.raises(OptionError, match=r"^Net\(cols=...\): expected an integer >= 1, got 0"):
        check_sizes("Net", rows=3, cols=0)
    with pytest.raises(DTypeError, match=r"^Net\(rows=...\): expected an integer"):
        check_sizes("Net", rows=True, cols=0)
    with pytest.raises(OptionError, match="expected one of 'a', 'b', got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(DTypeError):
        check_dtype("dtype", "float16")


def test_errors_are_builtin_subclasses():
    assert issubclass(ShapeError, ValueError) and issubclass(DTypeError, TypeError)


def test_make_rng_refuses_none_and_accepts_generators():
    g = np.random.default_rng(1)
    assert make_rng(g) is g
    assert make_rng(3).integers(1000) == np.random.default_rng(3).integers(1000)
    with pytest.raises(DTypeError, match="seed"):
        make_rng(None)
