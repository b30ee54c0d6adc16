"""How many threads the BLAS libraries loaded in this process may use.

Compiled kernels call BLAS (``np.dot`` inside Numba goes to SciPy's OpenBLAS) once per time step on small
matrices. OpenBLAS's default of one thread per core collapses when another process shares the cores (a
32×104·104×400 product per step measured 4–10× slower with 2 threads on 2 busy cores than with 1), so the
experiments run with one BLAS thread unless asked otherwise. The limiting itself is threadpoolctl's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .validation import check_int


def get_blas_threads() -> dict[str, int]:
    """Thread count of each BLAS library loaded in the process, keyed by library file name."""
    from threadpoolctl import threadpool_info

    return {info["filepath"].rsplit("/", 1)[-1]: int(info["num_threads"])
            for info in threadpool_info() if info.get("user_api") == "blas"}


@contextmanager
def blas_threads(n: int) -> Iterator[dict[str, int]]:
    """Limit every BLAS library in the process to ``n`` threads inside the ``with`` block.

    Yields ``{library: n}`` for the libraries it limited (empty if none was found); the previous limits
    are restored on exit.
    """
    n = check_int("blas_threads(n)", n, minimum=1)
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS, the one compiled kernels call)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield {name: n for name in get_blas_threads()}
