"""Signal clarity: how cleanly each output follows one source [Naumann et al. 2022, Eq. 18–19].

For a window of ``n_sample`` steps (one context), with r_ij the Pearson correlation of source i and
output (or unit) j over that window:

    (CLR1) r_ij = corr(s_i, y_j)                         (n_sources, n_outputs) per context
    (CLR2) c_j  = | |r_1j| − |r_2j| |                    clarity of output j (two sources)
    (CLR3) clarity = mean_j c_j                          per context (NaN outputs skipped)
    (CLR4) unit clarity_j = mean_k c_j(context k)        per output/unit, over contexts (Fig. 4b, 6e)

This is Eq. 19 and the authors' ``get_signal_clarity`` exactly: no normalisation by the sum of the
correlations (which the paper's Results text mentions and neither Eq. 19 nor the code applies). An output
equal to one source has clarity 1; an output equally correlated with both has clarity 0; the mixtures x of
the task have ≈ 0.5. The window includes the transient after each context switch, as in the code.

With more than two sources the authors' code uses sources 1 and 2 only; here (CLR2) becomes the gap between
the largest and the second-largest |r_ij| over sources i, which equals (CLR2) for two sources. An output
that is constant over a window has undefined correlations (NaN); (CLR3) skips it, and a context whose every
output is constant has clarity NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.errors import ShapeError, message
from ..core.validation import check_array, check_int


class Clarity(NamedTuple):
    """Per-context clarity (K,), per-context correlations (K, n_sources, n_outputs), per-output clarity."""

    per_context: np.ndarray
    correlations: np.ndarray
    per_output: np.ndarray

    @property
    def mean(self) -> float:
        """Mean clarity over the contexts (NaN contexts skipped)."""
        finite = self.per_context[np.isfinite(self.per_context)]
        return float(np.mean(finite)) if finite.size else float("nan")


def _windows(thing: str, s: object, y: object, n_sample: int) -> tuple[np.ndarray, np.ndarray, int]:
    s = check_array(f"{thing}(s)", s, shape=(None, None), names="(T, n_sources)")
    y = check_array(f"{thing}(y)", y, shape=(None, None), names="(T, n_outputs)", finite=False)
    n_sample = check_int(f"{thing}(n_sample)", n_sample, minimum=2)
    if y.shape[0] != s.shape[0]:
        raise ShapeError(message(f"{thing}(y)", f"{s.shape[0]} time steps like s", f"shape {y.shape}"))
    if s.shape[0] % n_sample:
        raise ShapeError(
            message(f"{thing}(s)", f"a length that is a multiple of n_sample = {n_sample}", f"{s.shape[0]} steps",
                    "Pass whole contexts.")
        )
    if s.shape[1] < 2:
        raise ShapeError(message(f"{thing}(s)", "at least 2 sources", f"shape {s.shape}"))
    return s.astype(np.float64), y.astype(np.float64), s.shape[0] // n_sample


def correlations(s: np.ndarray, y: np.ndarray, n_sample: int = 1000) -> np.ndarray:
    """(CLR1) per context: r (K, n_sources, n_outputs); NaN where a series is constant in the window."""
    s, y, K = _windows("correlations", s, y, n_sample)
    sw = s.reshape(K, n_sample, -1)
    yw = y.reshape(K, n_sample, -1)
    sc = sw - sw.mean(axis=1, keepdims=True)
    yc = yw - yw.mean(axis=1, keepdims=True)
    cov = np.einsum("kti,ktj->kij", sc, yc)
    ss = np.sqrt(np.einsum("kti,kti->ki", sc, sc))
    sy = np.sqrt(np.einsum("ktj,ktj->kj", yc, yc))
    denom = ss[:, :, None] * sy[:, None, :]
    out = np.full(cov.shape, np.nan)
    ok = denom > 0.0
    out[ok] = cov[ok] / denom[ok]
    return np.clip(out, -1.0, 1.0)


def _gap(r: np.ndarray) -> np.ndarray:
    """(CLR2): | |r_1j| − |r_2j| | for two sources; largest minus second-largest |r_ij| in general."""
    a = np.abs(r)
    if a.shape[-2] == 2:
        return np.abs(a[..., 0, :] - a[..., 1, :])
    top = np.sort(a, axis=-2)
    return top[..., -1, :] - top[..., -2, :]


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    finite = np.isfinite(a)
    count = finite.sum(axis=axis)
    total = np.where(finite, a, 0.0).sum(axis=axis)
    out = np.full(count.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def signal_clarity(s: np.ndarray, y: np.ndarray, n_sample: int = 1000) -> Clarity:
    """(CLR1)–(CLR4) for sources s (T, n_sources) and outputs y (T, n_outputs), T a multiple of ``n_sample``.

    Two sines with whole periods in each 400-sample window are uncorrelated with equal variance there, so
    the sources themselves have clarity 1 and their equal mixture clarity 0:

    >>> t = np.arange(800) / 8000
    >>> s = np.stack([np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 180 * t)], axis=1)
    >>> mix = s @ np.array([[0.5, 0.5], [0.5, 0.5]])
    >>> round(signal_clarity(s, s, 400).mean, 12), round(signal_clarity(s, mix, 400).mean, 12)
    (1.0, 0.0)
    """
    r = correlations(s, y, n_sample)
    c = _gap(r)  # (K, n_outputs)
    return Clarity(per_context=_nanmean(c, axis=1), correlations=r, per_output=_nanmean(c, axis=0))
