"""Which BLAS library the compiled kernels' matrix products call: NumPy's ``np.dot`` (SciPy's OpenBLAS), or a
``gemm`` handed in for the length of a ``with`` block.

Inside a PyTorch model the process already holds PyTorch's BLAS (MKL on x86), whose ``sgemm`` measured
about 0.6x OpenBLAS's time on the per-step products of a recurrent layer (``yetztml.torch`` hands it in
around each of its operators; ``benchmarks/bench_torch_bridge.py``). The kernels are compiled once and cached,
so the library is not a compile-time constant: every compiled call reads it from a table in this module's
memory (symbol ``yetztml_gemm_table``: the ``sgemm`` and ``dgemm`` addresses and a flag), and outside a
:func:`handed_in_gemm` block the flag is off and products take the ``np.dot`` path exactly as before, bit for
bit.

A handed-in ``gemm`` has the Fortran BLAS interface (every argument by address, 32-bit integers,
column-major)::

    (GL1)  C ← α·op(A)·op(B) + β·C,   op(X) = X ('N') or Xᵀ ('T'),   A (m, k), B (k, n), C (m, n)

A row-major matrix X is the column-major storage of Xᵀ (leading dimension its row stride), and a
column-major view (such as ``a.T`` of a row-major ``a``) is the column-major storage of X itself. So the
row-major product ``out (+)= L·R`` is computed as its transpose::

    (GL2)  outᵀ ← 1·Rᵀ·Lᵀ + β·outᵀ,   β = 1 to accumulate, 0 to overwrite

with op = 'N' for an operand stored row-major and 'T' for one stored column-major.

The table is process-wide: while any block is open, in any thread, every kernel of the process calls the
handed-in gemm.

Outside every block the table holds NumPy's own BLAS (:func:`numpy_gemm`) where it is an OpenBLAS loaded in
the process: the ``np.dot`` of compiled code calls SciPy's OpenBLAS, whose per-call cost at a recurrent
step's sizes (B×H·H×4H, B = 32–64, H = 128) measured 1.2–1.4x that of the OpenBLAS wheel NumPy ships, with
results equal bit for bit on one BLAS thread (160 shapes, flags and β of both dtypes, and a whole training
epoch of the sarcasm classifier). With more threads the two OpenBLAS versions split some products between
the threads differently, so results differ in rounding — as they already differ between one and two threads
of either library.
That default serves the overwriting products only (β = 0): an accumulating product keeps ``out +=
np.dot(…)``, whose rounding a gemm with β = 1 would change. ``YETZTML_KERNEL_BLAS=scipy`` in the environment
(read at import) keeps every product on ``np.dot``; ``numpy`` (the default) is the behaviour above.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from .errors import OptionError, UnsupportedError, message

_SYMBOL = "yetztml_gemm_table"
#: [sgemm address, dgemm address, flag]: the flag is 0 (null) when products take ``np.dot``, else its bits say
#: _ON, _WIDE (the gemm takes 64-bit integers) and _DEFAULT (NumPy's BLAS outside every block: β = 0 only).
_TABLE = (ctypes.c_void_p * 3)()
llvm.add_symbol(_SYMBOL, ctypes.addressof(_TABLE))
_ON, _WIDE, _DEFAULT = 1, 2, 4
#: The environment variable that chooses the kernels' BLAS outside every block, and its values.
ENVIRONMENT = "YETZTML_KERNEL_BLAS"
CHOICES = ("numpy", "scipy")

_N, _T = ord("N"), ord("T")
_INT32_MAX = 2**31 - 1


def _table(builder: ir.IRBuilder) -> ir.GlobalVariable:
    """The table as an external global of the module being compiled (resolved by name when it is loaded,
    cached or not)."""
    module = builder.module
    table = module.globals.get(_SYMBOL)
    if table is None:
        table = ir.GlobalVariable(module, ir.ArrayType(ir.IntType(8).as_pointer(), 3), _SYMBOL)
        table.linkage = "external"
    return table


def _entry(builder: ir.IRBuilder, index: int) -> ir.Value:
    i32 = ir.IntType(32)
    return builder.load(builder.gep(_table(builder), [ir.Constant(i32, 0), ir.Constant(i32, index)]))


@intrinsic
def _flag(typingctx):
    """The table's flag as an integer (0: ``np.dot``)."""

    def codegen(context, builder, sig, args):
        return builder.ptrtoint(_entry(builder, 2), context.get_value_type(types.intp))

    return types.intp(), codegen


def _mode() -> int:
    """The table's flag. Run as plain Python (``NUMBA_DISABLE_JIT=1``) the kernels always take ``np.dot``: 0."""
    return 0


@overload(_mode)
def _mode_compiled():
    return lambda: _flag()


@intrinsic
def _gemm(typingctx, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """(GL1) with α = 1 through the table's ``sgemm`` (float32) or ``dgemm`` (float64): a, b, c are arrays of
    one dtype, passed by their first element's address; the integers are passed as 64-bit integers when the
    flag says _WIDE, else cut to 32 bits."""
    dtypes = {a.dtype, b.dtype, c.dtype}
    if len(dtypes) != 1 or a.dtype not in (types.float32, types.float64):
        return None
    dtype = a.dtype
    sig = types.void(types.intp, types.intp, types.intp, types.intp, types.intp, a, types.intp, b, types.intp,
                     types.float64, c, types.intp)

    def codegen(context, builder, sig, args):
        real = context.get_value_type(dtype)
        i8 = ir.IntType(8)
        entry = _entry(builder, 0 if dtype == types.float32 else 1)

        def slot(value):
            address = cgutils.alloca_once(builder, value.type)
            builder.store(value, address)
            return address

        def data(array_type, value):
            return cgutils.create_struct_proxy(array_type)(context, builder, value=value).data

        ta, tb, m_, n_, k_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        to_i8 = [slot(builder.trunc(v, i8)) for v in (ta, tb)]
        one = slot(ir.Constant(real, 1.0))
        beta_real = slot(beta_ if dtype == types.float64 else builder.fptrunc(beta_, real))

        def call(integer: ir.IntType) -> None:
            by_address = [i8.as_pointer()] * 2 + [integer.as_pointer()] * 3 + [real.as_pointer()] * 2 + [
                integer.as_pointer(), real.as_pointer(), integer.as_pointer()] + [real.as_pointer()] * 2 + [
                integer.as_pointer()]
            fnty = ir.FunctionType(ir.VoidType(), by_address)
            function = builder.bitcast(entry, fnty.as_pointer())
            ints = [slot(v if v.type == integer else builder.trunc(v, integer))
                    for v in (m_, n_, k_, lda_, ldb_, ldc_)]
            builder.call(function, [
                to_i8[0], to_i8[1], ints[0], ints[1], ints[2], one, data(sig.args[5], a_), ints[3],
                data(sig.args[7], b_), ints[4], beta_real, data(sig.args[10], c_), ints[5],
            ])

        flag = builder.ptrtoint(_entry(builder, 2), ir.IntType(64))
        wide = builder.icmp_unsigned("!=", builder.and_(flag, ir.Constant(flag.type, _WIDE)), ir.Constant(flag.type, 0))
        with builder.if_else(wide) as (then, otherwise):
            with then:
                call(ir.IntType(64))
            with otherwise:
                call(ir.IntType(32))
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(cache=True)
def _storage(x):
    """(op, leading dimension) of the matrix x as the column-major storage (GL2) reads it: 'N' for a row-major
    x, 'T' for a column-major one, (0, 0) for any other layout or a size beyond 32-bit integers."""
    item = x.itemsize
    rows, cols = x.shape
    if max(rows, cols, x.strides[0] // item, x.strides[1] // item) > _INT32_MAX:
        return 0, 0  # beyond the 32-bit integers of the interface
    if x.strides[1] == item and x.strides[0] % item == 0 and x.strides[0] // item >= max(1, cols):
        return _N, x.strides[0] // item
    if x.strides[0] == item and x.strides[1] % item == 0 and x.strides[1] // item >= max(1, rows):
        return _T, x.strides[1] // item
    return 0, 0


@numba.njit(cache=True)
def handed_in_product(left, right, out, accumulate):
    """out (M, N) (+)= left (M, K) · right (K, N) through the table's gemm, (GL2). Returns False, having done
    nothing, when the table holds none, when it holds NumPy's BLAS (outside every block) and the product
    accumulates, or when a layout does not fit (out must be row-major); the caller then takes its ``np.dot``
    path."""
    mode = _mode()
    if mode == 0 or (accumulate and mode & _DEFAULT):
        return False
    op_left, ld_left = _storage(left)
    op_right, ld_right = _storage(right)
    op_out, ld_out = _storage(out)
    if op_left == 0 or op_right == 0 or op_out != _N:
        return False
    m, k = left.shape
    n = right.shape[1]
    _gemm(op_right, op_left, n, m, k, right, ld_right, left, ld_left, 1.0 if accumulate else 0.0, out, ld_out)  # (GL2)
    return True


_LOCK = threading.Lock()
#: How many handed_in_gemm blocks are open now, in every thread together.
_OPEN = [0]


@contextmanager
def handed_in_gemm(sgemm: int, dgemm: int, *, ilp64: bool = False) -> Iterator[None]:
    """Inside the block, compiled kernels' BLAS products call the Fortran-interface ``sgemm`` / ``dgemm`` at
    these addresses (GL1); when the last open block ends, the kernels' own BLAS is back (:func:`kernel_blas`).
    The functions take 32-bit integers (LP64, as PyTorch's own calls into its BLAS do), or 64-bit ones with
    ``ilp64=True``.

    Blocks may nest and overlap across threads as long as they hand in the same pair; handing in another
    pair while one is in use raises :class:`UnsupportedError` (the table holds one)."""
    for name, address in (("sgemm", sgemm), ("dgemm", dgemm)):
        if not isinstance(address, int) or isinstance(address, bool) or address <= 0:
            raise OptionError(message(f"handed_in_gemm({name}=...)", "a positive integer address", repr(address)))
    if not isinstance(ilp64, bool):
        raise OptionError(message("handed_in_gemm(ilp64=...)", "True or False", repr(ilp64)))
    flag = _ON | (_WIDE if ilp64 else 0)
    with _LOCK:
        if _OPEN[0] and (_TABLE[0], _TABLE[1], _TABLE[2]) != (sgemm, dgemm, flag):
            raise UnsupportedError(message(
                "handed_in_gemm", "the gemm already handed in, or none",
                f"another pair ({sgemm:#x}, {dgemm:#x}) while ({_TABLE[0]:#x}, {_TABLE[1]:#x}) is in use",
                "End the open block first"))
        _TABLE[0], _TABLE[1], _TABLE[2] = sgemm, dgemm, flag
        _OPEN[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _OPEN[0] -= 1
            if not _OPEN[0]:
                _install(_BETWEEN[0])


@cache
def numpy_gemm() -> tuple[int, int, bool] | None:
    """``(sgemm, dgemm, ilp64)``: the addresses of the Fortran-interface gemm of the OpenBLAS NumPy was built
    with (found among the libraries loaded in the process by :mod:`threadpoolctl`, by NumPy's recorded BLAS
    version) and whether it takes 64-bit integers; None where NumPy's BLAS is not such a library."""
    from threadpoolctl import threadpool_info

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError, ValueError, AttributeError):
        return None
    version = str(blas.get("version", ""))
    if not version or "openblas" not in str(blas.get("name", "")).lower():
        return None
    for info in threadpool_info():
        if info.get("internal_api") != "openblas" or str(info.get("version")) != version:
            continue
        for prefix in ("scipy_", ""):
            for suffix, wide in (("_64_", True), ("_", False)):  # ILP64 builds name them sgemm_64_
                pair = gemm_pair(info["filepath"], f"{prefix}sgemm{suffix}", f"{prefix}dgemm{suffix}")
                if pair is not None:
                    return (*pair, wide)
    return None


def gemm_pair(path: str, sgemm: str, dgemm: str) -> tuple[int, int] | None:
    """The addresses of the functions named ``sgemm`` and ``dgemm`` in the shared library at ``path``, or
    None where it cannot be loaded or lacks either."""
    try:
        library = ctypes.CDLL(path)
        return tuple(ctypes.cast(getattr(library, name), ctypes.c_void_p).value for name in (sgemm, dgemm))
    except (OSError, AttributeError):
        return None


def _choice() -> str:
    value = os.environ.get(ENVIRONMENT, "numpy")
    if value not in CHOICES:
        raise OptionError(message(f"environment variable {ENVIRONMENT}", f"one of {', '.join(CHOICES)}", repr(value),
                                  "numpy: NumPy's OpenBLAS for the kernels' products; scipy: np.dot (SciPy's)."))
    return value


def _install(entry: tuple[int, int, int] | None) -> None:
    """Put ``(sgemm, dgemm, flag)`` in the table, or clear it (``np.dot``)."""
    _TABLE[0], _TABLE[1], _TABLE[2] = entry if entry else (None, None, None)


def kernel_blas() -> str:
    """Which BLAS the kernels' overwriting products call outside every block: ``"numpy"`` (NumPy's
    OpenBLAS, :func:`numpy_gemm`) or ``"scipy"`` (``np.dot``: SciPy's BLAS)."""
    return "numpy" if _BETWEEN[0] else "scipy"


def _between() -> tuple[int, int, int] | None:
    if _choice() != "numpy":
        return None
    found = numpy_gemm()
    if found is None:
        return None
    sgemm, dgemm, wide = found
    return sgemm, dgemm, _ON | _DEFAULT | (_WIDE if wide else 0)


#: What the table holds while no block is open (NumPy's BLAS, or None: ``np.dot``).
_BETWEEN = [_between()]
_install(_BETWEEN[0])
