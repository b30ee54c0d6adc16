"""yetztml.torch hands PyTorch's own BLAS to the kernels inside its operators (yetztml.torch._blas)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import yetztml.torch as yt  # noqa: E402
from gemmspy import RecordingGemm  # noqa: E402
from yetztml.core import linalg  # noqa: E402
from yetztml.core.gemm_library import handed_in_gemm  # noqa: E402
from yetztml.torch import _blas  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)


def test_pytorchs_gemm_is_found_and_computes_the_product(rng):
    """The addresses of PyTorch's sgemm_/dgemm_, handed in, give the product: the interface (Fortran, 32-bit
    integers) is the one the hand-over assumes, in both precisions."""
    addresses = _blas.torch_gemm()
    assert addresses is not None and len(set(addresses)) == 2
    for dtype, rtol in ((np.float64, 1e-13), (np.float32, 1e-5)):
        a, b = rng.standard_normal((33, 17)).astype(dtype), rng.standard_normal((45, 17)).astype(dtype)
        out = np.full((33, 45), np.nan, dtype)
        with handed_in_gemm(*addresses):
            linalg.gemm_nt(a, b, out, False)
        np.testing.assert_allclose(out, a @ b.T, rtol=rtol, atol=rtol)


def test_forward_and_backward_products_go_through_the_handed_in_gemm(monkeypatch, rng):
    """One LSTM layer, T = 5, B = 8, H = 32, I = 16, float64: the forward makes W_ih x for all steps (SW1) and
    one W_hh h(t−1) per step; the backward one W_hhᵀ δa per step, δW_ih, δW_hh (SW2) and δx (SW3) — 14
    products, every one through PyTorch's gemm handed in (a recording one here), and the module still
    equals nn.LSTM."""
    spy = RecordingGemm()
    monkeypatch.setattr(_blas, "torch_gemm", spy.addresses)
    monkeypatch.setattr(_blas, "kernel_blas", lambda: "scipy")  # the kernels' own BLAS is np.dot (SciPy's)
    ours, theirs = yt.LSTM(16, 32, dtype=torch.float64), torch.nn.LSTM(16, 32, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.from_numpy(rng.standard_normal((5, 8, 16))).requires_grad_()
    d = torch.from_numpy(rng.standard_normal((5, 8, 32)))
    (ours(x)[0] * d).sum().backward()
    grads = [x.grad.clone()] + [p.grad for p in ours.parameters()]
    x.grad = None
    (theirs(x)[0] * d).sum().backward()
    assert len(spy.calls) == 14
    assert {call[0] for call in spy.calls} == {"c_double"}
    for mine, want in zip(grads, [x.grad] + [p.grad for p in theirs.parameters()], strict=True):
        np.testing.assert_allclose(mine.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    spy.calls.clear()
    linalg.gemm_nt(rng.standard_normal((20, 9)), rng.standard_normal((30, 9)), np.empty((20, 30)), False)
    assert spy.calls == []  # outside the operators the kernels' own BLAS is back


def test_without_pytorchs_gemm_the_kernels_keep_their_own(monkeypatch, rng):
    """Where PyTorch's library has no gemm to hand over (torch_gemm() is None) the modules still work,
    through the kernels' own np.dot."""
    monkeypatch.setattr(_blas, "torch_gemm", lambda: None)
    ours, theirs = yt.LSTM(16, 32, dtype=torch.float64), torch.nn.LSTM(16, 32, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.from_numpy(rng.standard_normal((5, 8, 16)))
    np.testing.assert_allclose(ours(x)[0].detach().numpy(), theirs(x)[0].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_with_numpys_openblas_as_the_kernels_own_nothing_is_handed_in(monkeypatch, rng):
    """Where the kernels' BLAS is NumPy's OpenBLAS (as in this environment), the operators keep it: PyTorch's
    gemm (a recording one here) is never called, and the module equals nn.LSTM."""
    spy = RecordingGemm()
    monkeypatch.setattr(_blas, "torch_gemm", spy.addresses)
    assert _blas.kernel_blas() == "numpy"
    ours, theirs = yt.LSTM(16, 32, dtype=torch.float64), torch.nn.LSTM(16, 32, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.from_numpy(rng.standard_normal((5, 8, 16))).requires_grad_()
    (ours(x)[0]).sum().backward()
    assert spy.calls == []
    np.testing.assert_allclose(ours(x)[0].detach().numpy(), theirs(x)[0].detach().numpy(), rtol=1e-10, atol=1e-12)
