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
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import llvmlite.binding as llvm
import numba
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from .errors import OptionError, UnsupportedError, message

_SYMBOL = "yetztml_gemm_table"
#: [sgemm address, dgemm address, flag]: the flag is non-null inside a :func:`handed_in_gemm` block.
_TABLE = (ctypes.c_void_p * 3)()
llvm.add_symbol(_SYMBOL, ctypes.addressof(_TABLE))

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
    """True inside a :func:`handed_in_gemm` block (the table's flag is set)."""

    def codegen(context, builder, sig, args):
        flag = _entry(builder, 2)
        return builder.icmp_unsigned("!=", flag, ir.Constant(flag.type, None))

    return types.boolean(), codegen


def _handed_in() -> bool:
    """Whether compiled products call a handed-in gemm. Run as plain Python (``NUMBA_DISABLE_JIT=1``) the
    kernels always take ``np.dot``: False."""
    return False


@overload(_handed_in)
def _handed_in_compiled():
    return lambda: _flag()


@intrinsic
def _gemm(typingctx, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """(GL1) with α = 1 through the table's ``sgemm`` (float32) or ``dgemm`` (float64): a, b, c are arrays of
    one dtype, passed by their first element's address; the integers are cut to 32 bits."""
    dtypes = {a.dtype, b.dtype, c.dtype}
    if len(dtypes) != 1 or a.dtype not in (types.float32, types.float64):
        return None
    dtype = a.dtype
    sig = types.void(types.intp, types.intp, types.intp, types.intp, types.intp, a, types.intp, b, types.intp,
                     types.float64, c, types.intp)

    def codegen(context, builder, sig, args):
        real = context.get_value_type(dtype)
        i8, i32 = ir.IntType(8), ir.IntType(32)
        by_address = [i8.as_pointer()] * 2 + [i32.as_pointer()] * 3 + [real.as_pointer()] * 2 + [
            i32.as_pointer(), real.as_pointer(), i32.as_pointer()] + [real.as_pointer()] * 2 + [i32.as_pointer()]
        fnty = ir.FunctionType(ir.VoidType(), by_address)
        function = builder.bitcast(_entry(builder, 0 if dtype == types.float32 else 1), fnty.as_pointer())

        def slot(value):
            address = cgutils.alloca_once(builder, value.type)
            builder.store(value, address)
            return address

        def data(array_type, value):
            return cgutils.create_struct_proxy(array_type)(context, builder, value=value).data

        ta, tb, m_, n_, k_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        to_i8 = [slot(builder.trunc(v, i8)) for v in (ta, tb)]
        to_i32 = [slot(builder.trunc(v, i32)) for v in (m_, n_, k_, lda_, ldb_, ldc_)]
        one = slot(ir.Constant(real, 1.0))
        beta_real = slot(beta_ if dtype == types.float64 else builder.fptrunc(beta_, real))
        builder.call(function, [
            to_i8[0], to_i8[1], to_i32[0], to_i32[1], to_i32[2], one, data(sig.args[5], a_), to_i32[3],
            data(sig.args[7], b_), to_i32[4], beta_real, data(sig.args[10], c_), to_i32[5],
        ])
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
    """out (M, N) (+)= left (M, K) · right (K, N) through the handed-in gemm, (GL2). Returns False, having done
    nothing, outside a :func:`handed_in_gemm` block or when a layout does not fit (out must be row-major);
    the caller then takes its ``np.dot`` path."""
    if not _handed_in():
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
def handed_in_gemm(sgemm: int, dgemm: int) -> Iterator[None]:
    """Inside the block, compiled kernels' BLAS products call the Fortran-interface ``sgemm`` / ``dgemm`` at
    these addresses (GL1); when the last open block ends, ``np.dot`` is back. The functions must take 32-bit
    integers (LP64), as PyTorch's own calls into its BLAS do.

    Blocks may nest and overlap across threads as long as they hand in the same pair; handing in another
    pair while one is in use raises :class:`UnsupportedError` (the table holds one)."""
    for name, address in (("sgemm", sgemm), ("dgemm", dgemm)):
        if not isinstance(address, int) or isinstance(address, bool) or address <= 0:
            raise OptionError(message(f"handed_in_gemm({name}=...)", "a positive integer address", repr(address)))
    with _LOCK:
        if _OPEN[0] and (_TABLE[0], _TABLE[1]) != (sgemm, dgemm):
            raise UnsupportedError(message(
                "handed_in_gemm", "the gemm already handed in, or none",
                f"another pair ({sgemm:#x}, {dgemm:#x}) while ({_TABLE[0]:#x}, {_TABLE[1]:#x}) is in use",
                "End the open block first"))
        _TABLE[0], _TABLE[1], _TABLE[2] = sgemm, dgemm, 1
        _OPEN[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _OPEN[0] -= 1
            if not _OPEN[0]:
                _TABLE[0], _TABLE[1], _TABLE[2] = None, None, None
