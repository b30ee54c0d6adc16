"""Evaluation of the blind-source-separation models beyond clarity [Naumann et al. 2022, Fig. 1–5; §Methods].

All functions take recorded arrays (time-major, batch dimension removed) and never run a model.

    (BSS1) weight error       e_t = ‖W_t − A_k⁻¹‖_F                     A_k the context active at step t
    (BSS2) output error       d_t = ‖s_t − y_t‖₂
    (BSS3) transient          mean over contexts k of d_{kN + lag}       N = steps per context
    (BSS4) source decoding    R² of ŝ = X β + β₀ fitted by least squares on the first contexts, scored per
                            later context, uniform average over sources (sklearn's ``r2_score``)
    (BSS5) PCA (whitened)     z ↦ (z − μ) V_kᵀ / σ_k  for the top k principal axes V_k, σ_k = their std
    (BSS6) plane fit          least squares c = C₀a + C₁b + C₂ through points (a, b, c); normal ∝ (C₀, C₁, −1)
    (BSS7) plane angle        θ = arccos(|n₁·n₂|) in degrees, in [0, 90] (the authors' min(θ, 180 − θ))
    (BSS8) SNR                10·log₁₀(σ_s² / σ_n²) dB, σ_s the std of the noiseless stimuli [§Methods SNR]
    (BSS9) context distance   ‖A₁ − A₂‖_F;  "same side" when a₁₁ > a₂₁ holds for both or for neither
"""

from __future__ import annotations

import numpy as np

from ..core.errors import OptionError, ShapeError, message
from ..core.validation import check_array, check_float, check_int


def _per_step_contexts(thing: str, A: np.ndarray, T: int, n_sample: int) -> np.ndarray:
    A = check_array(f"{thing}(A)", A, shape=(None, None, None), names="(K, n, n)")
    if A.shape[0] * n_sample != T:
        raise ShapeError(message(f"{thing}(A)", f"{T // max(n_sample, 1)} contexts for {T} steps", f"{A.shape[0]}"))
    return np.repeat(A, n_sample, axis=0)


def weight_error(W: np.ndarray, A: np.ndarray, n_sample: int = 1000) -> np.ndarray:
    """(BSS1) ‖W_t − A_k⁻¹‖_F per step for weights W (T, n, n) and contexts A (K, n, n), T = K·n_sample."""
    W = check_array("weight_error(W)", W, shape=(None, None, None), names="(T, n, n)")
    n_sample = check_int("weight_error(n_sample)", n_sample, minimum=1)
    inv = np.linalg.inv(_per_step_contexts("weight_error", A, W.shape[0], n_sample))
    return np.sqrt(np.sum((W - inv) ** 2, axis=(1, 2)))


def output_error(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(BSS2) ‖s_t − y_t‖ per step for s, y (T, n)."""
    s = check_array("output_error(s)", s, shape=(None, None), names="(T, n)")
    y = check_array("output_error(y)", y, shape=s.shape, names="like s")
    return np.sqrt(np.sum((s - y) ** 2, axis=1))


def transient(error: np.ndarray, n_sample: int = 1000, lags=(0, 10, 50, 100, 200, 500, 999)) -> dict[int, float]:
    """(BSS3) mean error ``lag`` steps into each context, for each lag (the spec's transient table)."""
    error = np.asarray(error, dtype=np.float64)
    n_sample = check_int("transient(n_sample)", n_sample, minimum=1)
    if error.ndim != 1 or error.size % n_sample:
        raise ShapeError(message("transient(error)", f"a 1-d series of whole contexts of {n_sample}",
                                 f"shape {error.shape}"))
    per = error.reshape(-1, n_sample)
    out = {}
    for lag in lags:
        lag = check_int("transient(lags)", lag, minimum=0, maximum=n_sample - 1)
        out[lag] = float(per[:, lag].mean())
    return out


def linear_decoding_r2(X: np.ndarray, s: np.ndarray, n_train: int, n_sample: int = 1000) -> np.ndarray:
    """(BSS4) R² per test context: fit on contexts [0, n_train), score each later context separately."""
    X = check_array("linear_decoding_r2(X)", X, shape=(None, None), names="(T, N)")
    s = check_array("linear_decoding_r2(s)", s, shape=(X.shape[0], None), names="(T, n)")
    n_sample = check_int("linear_decoding_r2(n_sample)", n_sample, minimum=2)
    K = X.shape[0] // n_sample
    n_train = check_int("linear_decoding_r2(n_train)", n_train, minimum=1, maximum=max(K - 1, 1))
    if K < 2 or X.shape[0] % n_sample:
        raise ShapeError(message("linear_decoding_r2(X)", f"at least 2 whole contexts of {n_sample} steps",
                                 f"{X.shape[0]} steps"))
    design = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
    cut = n_train * n_sample
    beta, *_ = np.linalg.lstsq(design[:cut], s[:cut], rcond=None)
    scores = []
    for k in range(n_train, K):
        sl = slice(k * n_sample, (k + 1) * n_sample)
        pred = design[sl] @ beta
        target = s[sl]
        ss_res = np.sum((target - pred) ** 2, axis=0)
        ss_tot = np.sum((target - target.mean(axis=0)) ** 2, axis=0)
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
        scores.append(float(np.mean(r2)))
    return np.array(scores)


class PCA:
    """(BSS5) principal axes of data (T, N); ``transform`` gives whitened scores (unit variance per axis)."""

    def __init__(self, data: np.ndarray, n_components: int = 3) -> None:
        data = check_array("PCA(data)", data, shape=(None, None), names="(T, N)")
        k = check_int("PCA(n_components)", n_components, minimum=1, maximum=min(data.shape))
        self.mean = data.mean(axis=0)
        _, sv, vt = np.linalg.svd(data - self.mean, full_matrices=False)
        self.components = vt[:k]
        self.std = sv[:k] / np.sqrt(max(data.shape[0] - 1, 1))
        self.explained_variance_ratio = (sv[:k] ** 2) / np.sum(sv**2)

    def transform(self, data: np.ndarray) -> np.ndarray:
        """Whitened scores (T, k)."""
        data = check_array("PCA.transform(data)", data, shape=(None, self.mean.size), names="(T, N)")
        return (data - self.mean) @ self.components.T / np.where(self.std > 0, self.std, 1.0)


def plane_normal(points: np.ndarray) -> np.ndarray:
    """(BSS6) unit normal of the least-squares plane c = C₀a + C₁b + C₂ through points (T, 3)."""
    points = check_array("plane_normal(points)", points, shape=(None, 3), names="(T, 3)")
    design = np.stack([points[:, 0], points[:, 1], np.ones(points.shape[0])], axis=1)
    coef, *_ = np.linalg.lstsq(design, points[:, 2], rcond=None)
    normal = np.array([coef[0], coef[1], -1.0])
    return normal / np.linalg.norm(normal)


def plane_angle(n1: np.ndarray, n2: np.ndarray) -> float:
    """(BSS7) angle between two planes given their normals, degrees in [0, 90]."""
    n1 = np.asarray(n1, dtype=np.float64)
    n2 = np.asarray(n2, dtype=np.float64)
    cos = abs(float(n1 @ n2)) / (np.linalg.norm(n1) * np.linalg.norm(n2))
    return float(np.degrees(np.arccos(min(cos, 1.0))))


def snr_db(signal_std: float, noise_std: float) -> float:
    """(BSS8) 10·log₁₀(σ_s²/σ_n²); +inf without noise."""
    signal_std = check_float("snr_db(signal_std)", signal_std, minimum=0.0)
    noise_std = check_float("snr_db(noise_std)", noise_std, minimum=0.0)
    if noise_std == 0.0:
        return float("inf")
    if signal_std == 0.0:
        raise OptionError(message("snr_db(signal_std)", "a positive std", signal_std))
    return float(10.0 * np.log10(signal_std**2 / noise_std**2))


def context_distance(A1: np.ndarray, A2: np.ndarray) -> float:
    """(BSS9) ‖A₁ − A₂‖_F."""
    return float(np.linalg.norm(np.asarray(A1, dtype=np.float64) - np.asarray(A2, dtype=np.float64)))


def same_side(A1: np.ndarray, A2: np.ndarray) -> bool:
    """(BSS9) whether two 2×2 contexts lie on the same side of the diagonal a = b of context space."""
    return bool((A1[0, 0] > A1[1, 0]) == (A2[0, 0] > A2[1, 0]))
