"""PyTorch's own BLAS, handed to the compiled kernels for the length of an operator.

PyTorch's CPU library exports the Fortran-interface ``sgemm_`` / ``dgemm_`` of the BLAS it was built with
(MKL on x86) and calls them itself with 32-bit integers; inside a PyTorch model that library is already
loaded, and its products at a recurrent layer's per-step sizes measured about 0.6x the time of SciPy's
OpenBLAS, which ``np.dot`` in compiled code calls (``benchmarks/bench_torch_bridge.py``). Its thread count is
PyTorch's (``torch.set_num_threads``).

Where the kernels' own BLAS is NumPy's OpenBLAS (:func:`yetztml.core.gemm_library.kernel_blas`), nothing is
handed in: at those sizes NumPy's OpenBLAS measured 0.97x–1.02x MKL's time (B = 32, H = 128) and 0.5x it
(B = 8, H = 32), so the kernels keep it. Where the library or the symbols are not found, the kernels keep
their own BLAS too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache
from pathlib import Path

import torch

from ..core.gemm_library import gemm_pair, handed_in_gemm, kernel_blas


@cache
def torch_gemm() -> tuple[int, int] | None:
    """The addresses of ``sgemm_`` and ``dgemm_`` in PyTorch's CPU library, or None where it has none."""
    folder = Path(torch.__file__).parent / "lib"
    for path in sorted(folder.glob("*torch_cpu.*")):
        pair = gemm_pair(str(path), "sgemm_", "dgemm_")
        if pair is not None:
            return pair
    return None


@contextmanager
def torch_blas() -> Iterator[None]:
    """Inside the block the kernels' BLAS products call PyTorch's BLAS (:func:`torch_gemm`), when found and the
    kernels' own is not NumPy's OpenBLAS."""
    addresses = None if kernel_blas() == "numpy" else torch_gemm()
    with handed_in_gemm(*addresses) if addresses else nullcontext():
        yield
