"""The kernels' BLAS hand-over (yetztml.core.gemm_library): which gemm the compiled products call.

A recording gemm (``gemmspy.RecordingGemm``) is handed in, so each test sees exactly which products went
through it and with which flags, sizes and leading dimensions.
"""

from __future__ import annotations

import ctypes

import numba
import numpy as np
import pytest

from gemmspy import RecordingGemm
from yetztml.core import gemm_library, linalg
from yetztml.core.errors import OptionError, UnsupportedError


@pytest.fixture
def recording():
    gemm = RecordingGemm()
    with gemm_library.handed_in_gemm(*gemm.addresses()):
        yield gemm


@numba.njit(cache=True)
def _handed_in_now():
    """Whether the compiled code sees a handed-in gemm (a block open), not the default or none."""
    return (gemm_library._mode() & (gemm_library._ON | gemm_library._DEFAULT)) == gemm_library._ON


@pytest.mark.parametrize("dtype, name", [(np.float32, "c_float"), (np.float64, "c_double")])
@pytest.mark.parametrize("accumulate", [False, True])
def test_each_product_goes_through_the_handed_in_gemm_as_its_transpose(recording, rng, dtype, name, accumulate):
    """(GL2): gemm_nt, gemm_nn and gemm_tn of row-major operands (M, K, N) = (20, 9, 30) each make one call
    computing outᵀ (N×M) with the flags of the operands' storage and their row strides as leading dimensions;
    the result is the product, added to out when accumulating."""
    m, k, n = 20, 9, 30
    a, b_nt, b_nn, a_tn = (rng.standard_normal(s).astype(dtype) for s in ((m, k), (n, k), (k, n), (k, m)))
    start = rng.standard_normal((m, n)).astype(dtype)
    cases = [
        (linalg.gemm_nt, a, b_nt, a @ b_nt.T, ("T", "N", n, m, k, k, k, n)),
        (linalg.gemm_nn, a, b_nn, a @ b_nn, ("N", "N", n, m, k, n, k, n)),
        (linalg.gemm_tn, a_tn, b_nn, a_tn.T @ b_nn, ("N", "T", n, m, k, n, m, n)),
    ]
    for fn, left, right, product, flags in cases:
        out = start.copy()
        recording.calls.clear()
        fn(left, right, out, accumulate)
        assert recording.calls == [(name, *flags, 1.0 if accumulate else 0.0)]
        want = start + product if accumulate else product
        np.testing.assert_allclose(out, want, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-5)


def test_views_with_a_longer_row_pass_their_row_stride(recording, rng):
    """An operand cut from a wider array keeps its memory: lda is the parent's row length, not K."""
    parent = rng.standard_normal((20, 15))
    left = parent[:, 3:12]  # (20, 9), row stride 15
    right = rng.standard_normal((30, 9))
    out = np.empty((20, 30))
    linalg.gemm_nt(left, right, out, False)
    assert recording.calls == [("c_double", "T", "N", 30, 20, 9, 9, 15, 30, 0.0)]
    np.testing.assert_allclose(out, left @ right.T, rtol=1e-13)


def test_a_layout_neither_row_nor_column_major_takes_the_np_dot_path(recording, rng):
    left = rng.standard_normal((40, 18))[::2, ::2]  # (20, 9), no unit stride
    right = rng.standard_normal((30, 9))
    out = np.empty((20, 30))
    linalg.gemm_nt(left, right, out, False)
    assert recording.calls == []
    np.testing.assert_array_equal(out, np.dot(left, right.T))


def test_small_products_stay_in_the_loops(recording, rng):
    """Below BLAS_THRESHOLD multiply-adds (2·3·4 here) no BLAS is called, handed in or not."""
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    out = np.empty((2, 4))
    linalg.gemm_nt(a, b, out, False)
    assert recording.calls == []
    np.testing.assert_allclose(out, a @ b.T, rtol=1e-14)


def test_outside_a_block_products_are_np_dot_bit_for_bit(rng):
    """Before and after blocks the flag is off and products equal ``np.dot`` bit for bit; nested blocks of the
    same gemm keep it until the outer one ends, also when the inner one raises."""
    a, b = rng.standard_normal((20, 9)).astype(np.float32), rng.standard_normal((30, 9)).astype(np.float32)
    out = np.empty((20, 30), np.float32)
    assert not _handed_in_now()
    gemm = RecordingGemm()
    with gemm_library.handed_in_gemm(*gemm.addresses()):
        with pytest.raises(RuntimeError, match="inside"):
            with gemm_library.handed_in_gemm(*gemm.addresses()):
                linalg.gemm_nt(a, b, out, False)
                raise RuntimeError("inside")
        assert _handed_in_now()
        linalg.gemm_nt(a, b, out, False)
    assert len(gemm.calls) == 2
    assert not _handed_in_now()
    linalg.gemm_nt(a, b, out, False)
    np.testing.assert_array_equal(out, np.dot(a, b.T))
    assert len(gemm.calls) == 2


def test_another_gemm_while_one_is_in_use_is_refused(rng):
    """The table holds one pair: a second, different pair inside an open block is refused, and the first
    stays in use."""
    first, second = RecordingGemm(), RecordingGemm()
    a, b, out = rng.standard_normal((20, 9)), rng.standard_normal((30, 9)), np.empty((20, 30))
    with gemm_library.handed_in_gemm(*first.addresses()):
        with pytest.raises(UnsupportedError, match=r"handed_in_gemm: expected the gemm already handed in, or none, "
                                                   r"got another pair .* End the open block first"):
            with gemm_library.handed_in_gemm(*second.addresses()):
                pass
        linalg.gemm_nt(a, b, out, False)
    assert len(first.calls) == 1 and second.calls == []
    assert not _handed_in_now()


def test_blocks_overlapping_in_threads_keep_the_gemm_until_the_last_ends(rng):
    """Thread A opens a block, thread B opens one of the same gemm, A ends first: B's products still go
    through it, and after B ends the kernels are back on np.dot."""
    import threading

    gemm = RecordingGemm()
    a, b, out = rng.standard_normal((20, 9)), rng.standard_normal((30, 9)), np.empty((20, 30))
    a_open, a_done, b_open = threading.Event(), threading.Event(), threading.Event()

    def thread_a():
        with gemm_library.handed_in_gemm(*gemm.addresses()):
            a_open.set()
            b_open.wait(10)
        a_done.set()

    def thread_b():
        a_open.wait(10)
        with gemm_library.handed_in_gemm(*gemm.addresses()):
            b_open.set()
            a_done.wait(10)
            linalg.gemm_nt(a, b, out, False)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert a_done.is_set() and len(gemm.calls) == 1
    assert not _handed_in_now()


@pytest.mark.parametrize("bad", [0, -5, None, 1.5, True, "0x10"])
def test_an_address_that_is_not_a_positive_integer_is_refused(bad):
    with pytest.raises(OptionError, match=r"handed_in_gemm\(sgemm=\.\.\.\): expected a positive integer address"):
        with gemm_library.handed_in_gemm(bad, 1):
            pass
    assert not _handed_in_now()



def test_a_gemm_of_64_bit_integers_gets_them_whole():
    """ilp64=True: m, n, k and the leading dimensions are passed as 64-bit integers (an LP64 reading of them
    would see each value's low half followed by the next argument's garbage, and the product would be wrong)."""
    gemm = RecordingGemm(ctypes.c_int64)
    rng = np.random.default_rng(3)
    a, b, out = rng.standard_normal((20, 9)), rng.standard_normal((30, 9)), np.empty((20, 30))
    with gemm_library.handed_in_gemm(*gemm.addresses(), ilp64=True):
        assert _handed_in_now()
        linalg.gemm_nt(a, b, out, False)
    assert gemm.calls == [("c_double", "T", "N", 30, 20, 9, 9, 9, 30, 0.0)]
    np.testing.assert_allclose(out, a @ b.T, rtol=1e-13)
    assert list(gemm_library._TABLE) == list(gemm_library._BETWEEN[0] or (None, None, None))


def test_ilp64_must_be_a_bool():
    with pytest.raises(OptionError, match=r"handed_in_gemm\(ilp64=\.\.\.\): expected True or False, got 1"):
        with gemm_library.handed_in_gemm(1, 2, ilp64=1):
            pass


@pytest.fixture
def default_recording(monkeypatch):
    """A recording gemm installed as the kernels' BLAS between blocks, as NumPy's is."""
    gemm = RecordingGemm()
    entry = (*gemm.addresses(), gemm_library._ON | gemm_library._DEFAULT)
    monkeypatch.setattr(gemm_library, "_BETWEEN", [entry])
    gemm_library._install(entry)
    yield gemm
    monkeypatch.undo()
    gemm_library._install(gemm_library._BETWEEN[0])


def test_between_blocks_the_default_gemm_makes_the_overwriting_products_only(default_recording, rng):
    """Outside every block the default gemm computes out = L·R (β = 0); an accumulating product keeps
    ``out += np.dot(…)`` (its rounding), and no block counts as open."""
    a, b = rng.standard_normal((20, 9)), rng.standard_normal((30, 9))
    out = np.empty((20, 30))
    assert not _handed_in_now()
    linalg.gemm_nt(a, b, out, False)
    assert default_recording.calls == [("c_double", "T", "N", 30, 20, 9, 9, 9, 30, 0.0)]
    start = out.copy()
    linalg.gemm_nt(a, b, out, True)
    assert len(default_recording.calls) == 1
    np.testing.assert_array_equal(out, start + np.dot(a, b.T))


def test_a_block_hands_in_its_gemm_and_gives_the_default_back(default_recording, rng):
    handed = RecordingGemm()
    a, b, out = rng.standard_normal((20, 9)), rng.standard_normal((30, 9)), np.empty((20, 30))
    with gemm_library.handed_in_gemm(*handed.addresses()):
        linalg.gemm_nt(a, b, out, True)  # inside a block every product goes through the handed-in gemm
    linalg.gemm_nt(a, b, out, False)
    assert [c[-1] for c in handed.calls] == [1.0] and len(default_recording.calls) == 1
    assert list(gemm_library._TABLE) == list(gemm_library._BETWEEN[0])


def test_numpy_blas_is_the_default_where_numpy_ships_openblas(rng):
    """In this environment NumPy's BLAS is the OpenBLAS of its wheel: the table holds its gemm between blocks,
    and the kernels' products equal NumPy's own np.dot bit for bit."""
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert "openblas" in config["name"]
    found = gemm_library.numpy_gemm()
    assert found is not None and found[2] == ("USE64BITINT" in config.get("openblas configuration", ""))
    assert gemm_library.kernel_blas() == "numpy"
    assert list(gemm_library._TABLE)[:2] == list(found[:2])
    for dtype in (np.float32, np.float64):
        a, b = rng.standard_normal((64, 128)).astype(dtype), rng.standard_normal((512, 128)).astype(dtype)
        out = np.empty((64, 512), dtype)
        linalg.gemm_nt(a, b, out, False)
        assert out.tobytes() == np.dot(a, b.T).tobytes()


@pytest.mark.parametrize("value, printed", [("scipy", "scipy"), ("numpy", "numpy"), (None, "numpy")])
def test_the_environment_chooses_the_kernels_blas(value, printed):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != gemm_library.ENVIRONMENT}
    if value is not None:
        env[gemm_library.ENVIRONMENT] = value
    code = "from yetztml.core import gemm_library as g; print(g.kernel_blas(), g._TABLE[2] or 0)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    kind, flag = done.stdout.split()
    assert kind == printed and (int(flag) == 0) == (printed == "scipy")


def test_an_unknown_choice_in_the_environment_is_refused():
    import os
    import subprocess
    import sys

    env = {**os.environ, gemm_library.ENVIRONMENT: "mkl"}
    done = subprocess.run([sys.executable, "-c", "import yetztml.core.gemm_library"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert ("environment variable YETZTML_KERNEL_BLAS: expected one of numpy, scipy, got 'mkl'" in done.stderr)
