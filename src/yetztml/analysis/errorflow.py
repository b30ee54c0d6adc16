"""Error flow: the scaling factor of an error travelling q steps back (1997 §3.1, Hochreiter 1991).

Definition. An error ϑ_u(t) placed on quantity a at time t (unit u of a) reaches quantity b at time t − q
(unit v of b) scaled by

    Φ_q[v, u] = ∂ϑ_v(t−q)/∂ϑ_u(t) = ∂a_u(t)/∂b_v(t−q)                                   (m_b, m_a)

where ϑ is the error with respect to the quantity (∂L/∂a): backpropagation is linear, so the scaling of
the error is the forward sensitivity, transposed. Rows are the *target* units v at t − q, columns the
*source* units u at t. For Hochreiter's net (a = b = net, ϑ_i = ∂L/∂net_i) this is his eq. (1)–(2): the
factor f'_v(net_v(t−q)) at the target unit is included, the factor at the source unit u is not (it is
part of ϑ_u(t) itself). With the linearisation (L1)–(L3) of :mod:`.linearise`::

    (R1)  G_1 = A_a(t)ᵀ                               = ∂ϑ_z(t−1)/∂ϑ_a(t)          (n, m_a)   q = 1
    (R2)  Φ_q = X_b(t−q)ᵀ G_q                                                    (m_b, m_a)
    (R3)  G_{q+1} = J(t−q)ᵀ G_q                       one more step back          [1997 eq. 1]

For an Elman net (R1)–(R3) read Φ_1 = F'(t−1) Wᵀ, Φ_q = F'(t−q) Wᵀ Φ_{q−1} with F' = diag(f'(net)):
eq. (1) in matrix form. Unrolled, they are the sum over all paths (eq. 2)::

    (P1)  Φ_q[v, u] = Σ_{k_1…k_q} A_a(t)[u, k_1] J(t−1)[k_1, k_2] ⋯ J(t−q+1)[k_{q−1}, k_q] X_b(t−q)[k_q, v]
    (P2)  Elman net: Φ_q[v, u] = Σ_{l_1…l_{q−1}} Π_{m=1..q} f'_{l_m}(net_{l_m}(t−m)) w_{l_{m−1} l_m},
          l_0 = u, l_q = v                                                          [1997 eq. 2]

(P2) is printed in the paper with w_{l_m l_{m−1}}; eq. (1)'s w_uv (from v to u, q = 1) fixes the order
used here — the two agree only for symmetric W (see docs/errorflow/README.md).

Per lag the recursion keeps summaries of Φ_q: the largest |Φ_q[v, u]| ("max"), the Frobenius norm
("norm") and Hochreiter's global flow max_v |Σ_u Φ_q[v, u]| ("total"). G_q is rescaled by exact powers
of two whenever it leaves [2⁻¹²⁸, 2¹²⁸], so log10 summaries stay exact where the flow itself under- or
overflows. The carousel (CAR1) is the flow along the cell state's direct edge alone::

    (CAR1)  ∂c(t)/∂c(t−q) restricted to the edges c(t−m−1) → c(t−m) = Π_{m=0..q−1} diag(f(t−m))
          (f ≡ 1 in the 1997 CEC, y^φ with forget gates)                           [1997 §3.2, eq. 35]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..cells.base import Cell, Trace
from ..core.errors import DTypeError, OptionError, message
from ..core.validation import check_array, check_choice, check_float, check_int
from .layout import StateLayout, step_input
from .linearise import Linearisation

LOG10_2 = math.log10(2.0)
#: G_q is renormalised when its largest entry leaves [2^-SCALE, 2^SCALE]
SCALE = 128
#: the most paths (n^q) the explicit path sum (P1) will enumerate
MAX_PATHS = 1_000_000
SUMMARIES = ("max", "norm", "total")


@dataclass
class Curve:
    """Per-lag summaries of Φ_q for one target, q = lags[0]…lags[-1] (see the module docstring)."""

    max: np.ndarray
    log10_max: np.ndarray
    norm: np.ndarray
    log10_norm: np.ndarray
    total: np.ndarray
    log10_total: np.ndarray


@dataclass
class Flow:
    """The result of :func:`error_flow`: lags, a :class:`Curve` per target, and any kept matrices."""

    lags: np.ndarray  # (Q,)
    t: int
    source: str
    curves: dict[str, Curve]
    matrices: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # target → {q: Φ_q}


def _apply_target(target: slice | np.ndarray, G: np.ndarray) -> np.ndarray:
    """(R2) X_b(t−q)ᵀ G for a selection, a diagonal (n,) or a matrix (n, m_b)."""
    if isinstance(target, slice):
        return G[target]
    if target.ndim == 1:
        return target[:, None] * G
    return target.T @ G


def _log10(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log10(mantissa) + exponent * LOG10_2


def _value(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(mantissa, exponent.astype(np.int64))


def max_lag(lin: Linearisation, t: int, targets: Iterable[str]) -> int:
    """The largest q for which every target exists at t − q (state parts reach the initial state)."""
    return t - max(lin.earliest(b) for b in targets)


def _check_lags(thing: str, lags: object, t: int, longest: int, T: int) -> int:
    if lags is None:
        return longest
    if isinstance(lags, (int, np.integer)) and not isinstance(lags, bool) and int(lags) > longest:
        raise OptionError(message(
            thing, f"an integer from 1 to {longest} (from t = {t} of a {T}-step trajectory the flow reaches back "
            f"{longest} steps)", lags, "Use a smaller number of lags, a later t, or a longer sequence."))
    return check_int(thing, lags, minimum=1)


def error_flow(
    lin: Linearisation,
    lags: int | None = None,
    *,
    t: int | None = None,
    source: str | None = None,
    targets: Iterable[str] | None = None,
    keep: Iterable[int] | str = (),
) -> Flow:
    """Φ_q for q = 1…``lags`` by the backward recursion (R1)–(R3) along the trajectory of ``lin``.

    ``t`` is the time of the source (default the last step, T − 1); ``source`` and ``targets`` are names
    from ``lin.sources`` / ``lin.targets`` (defaults: Hochreiter's "net" for Elman nets, h and c and the
    gates' nets for the LSTM, y_c → s, y_c and the gates' nets for memory blocks). ``lags`` defaults to
    the longest possible. ``keep`` lists lags (or "all") whose full matrices Φ_q are returned.
    """
    if not isinstance(lin, Linearisation):
        raise DTypeError(message("error_flow(lin)", "a Linearisation (from linearise(cell, trace))",
                                  type(lin).__name__))
    T = lin.length
    t = T - 1 if t is None else check_int("error_flow(t)", t, minimum=0, maximum=T - 1)
    source = lin.default_source if source is None else check_choice("error_flow(source)", source, lin.sources)
    targets = lin.default_targets if targets is None else tuple(targets)
    for b in targets:
        check_choice("error_flow(targets)", b, lin.targets)
    if not targets:
        raise OptionError(message("error_flow(targets)", "at least one target from " + ", ".join(lin.targets), "()"))
    longest = max_lag(lin, t, targets)
    if longest < 1:
        raise OptionError(message("error_flow(t)", f"t >= {1 - longest + t} for targets {list(targets)}", t))
    Q = _check_lags("error_flow(lags)", lags, t, longest, T)
    keep_all = isinstance(keep, str)
    if keep_all:
        check_choice("error_flow(keep)", keep, ("all",))
    kept = set() if keep_all else {check_int("error_flow(keep)", q, minimum=1, maximum=Q) for q in keep}
    stats = {b: np.zeros((len(SUMMARIES), Q)) for b in targets}
    exps = np.zeros(Q, dtype=np.int64)
    matrices: dict[str, dict[int, np.ndarray]] = {b: {} for b in targets}
    G = np.array(lin._source(source, t), dtype=np.float64).T  # (R1) (n, m_a)
    e = 0
    for q in range(1, Q + 1):
        tau = t - q
        exps[q - 1] = e
        for b in targets:
            phi = _apply_target(lin._target(b, tau), G)  # (R2) (m_b, m_a)
            row = stats[b][:, q - 1]
            if phi.size:
                row[0] = np.max(np.abs(phi))
                row[1] = np.sqrt(np.sum(phi * phi)) if row[0] == 0 else row[0] * np.linalg.norm(phi / row[0])
                row[2] = np.max(np.abs(phi.sum(axis=1)))
            if keep_all or q in kept:
                matrices[b][q] = _value(phi, np.full(phi.shape, e))
        if q < Q:
            G = lin._step(tau).T @ G  # (R3)
            top = np.max(np.abs(G)) if G.size else 0.0
            if top > 0 and not 2.0**-SCALE <= top <= 2.0**SCALE:
                k = math.frexp(top)[1]
                G = np.ldexp(G, -k)  # exact: a power of two
                e += k
    curves = {}
    for b in targets:
        s = stats[b]
        curves[b] = Curve(
            max=_value(s[0], exps), log10_max=_log10(s[0], exps), norm=_value(s[1], exps),
            log10_norm=_log10(s[1], exps), total=_value(s[2], exps), log10_total=_log10(s[2], exps),
        )
    return Flow(lags=np.arange(1, Q + 1), t=t, source=source, curves=curves,
                matrices={b: m for b, m in matrices.items() if m})


def path_sum(lin: Linearisation, q: int, *, t: int | None = None, source: str | None = None,
             target: str | None = None) -> np.ndarray:
    """Φ_q by the explicit sum over all n^q index paths (P1), for tiny nets: the check on (R1)–(R3)."""
    T = lin.length
    t = T - 1 if t is None else check_int("path_sum(t)", t, minimum=0, maximum=T - 1)
    source = lin.default_source if source is None else check_choice("path_sum(source)", source, lin.sources)
    target = lin.default_targets[0] if target is None else check_choice("path_sum(target)", target, lin.targets)
    q = _check_lags("path_sum(q)", q, t, max_lag(lin, t, [target]), T)
    n = lin.n
    if n**q > MAX_PATHS:
        raise OptionError(message("path_sum", f"at most {MAX_PATHS} paths (n^q)", f"n = {n}, q = {q}: {n**q}",
                                  "Use error_flow (the recursion) for larger nets or lags."))
    A = lin._source(source, t)  # (m_a, n)
    X = lin._target(target, t - q)
    if isinstance(X, slice):
        X = np.eye(n)[:, X]
    elif X.ndim == 1:
        X = np.diag(X)
    J = [lin._step(t - m) for m in range(1, q)]  # J(t−1) … J(t−q+1)
    out = np.zeros((X.shape[1], A.shape[0]))
    for path in itertools.product(range(n), repeat=q):  # (k_1, …, k_q), k_m indexes z(t−m)
        weight = 1.0
        for m in range(q - 1):
            weight *= J[m][path[m], path[m + 1]]
            if weight == 0.0:
                break
        if weight != 0.0:
            out += weight * np.outer(X[path[-1]], A[:, path[0]])  # (P1)
    return out


def hochreiter_path_sum(W: np.ndarray, fprime: np.ndarray) -> np.ndarray:
    """Eq. (2) literally (P2): Φ_q[v, u] for an Elman net, with fprime[m−1] = f'(net(t−m)), m = 1…q.

    ``W`` (n, n) holds w_ij, the weight from unit j to unit i; ``fprime`` is (q, n). Loops over every
    unit pair and every path l_1…l_{q−1}; for tiny nets only.
    """
    W = check_array("hochreiter_path_sum(W)", W, shape=(None, None), names="(n, n)")
    n = W.shape[0]
    fprime = check_array("hochreiter_path_sum(fprime)", fprime, shape=(None, n), names="(q, n)")
    q = fprime.shape[0]
    if n ** max(q - 1, 0) * n * n > MAX_PATHS:
        raise OptionError(message("hochreiter_path_sum", f"at most {MAX_PATHS} path terms", f"n = {n}, q = {q}"))
    out = np.zeros((n, n))
    for v, u in itertools.product(range(n), repeat=2):
        total = 0.0
        for inner in itertools.product(range(n), repeat=q - 1):
            ls = (u, *inner, v)  # l_0 = u, …, l_q = v
            term = 1.0
            for m in range(1, q + 1):
                term *= fprime[m - 1, ls[m]] * W[ls[m - 1], ls[m]]  # f'_{l_m}(net_{l_m}(t−m)) w_{l_{m−1} l_m}
            total += term
        out[v, u] = total
    return out


def carousel_flow(lin: Linearisation, lags: int | None = None, *, t: int | None = None,
                  log10: bool = False) -> np.ndarray:
    """(CAR1): the diagonal of the carousel-only flow c(t) → c(t−q), one row per lag q = 1…lags, (Q, m).

    ``log10=True`` returns log10 |·| summed step by step (exact where the product underflows).
    """
    T = lin.length
    t = T - 1 if t is None else check_int("carousel_flow(t)", t, minimum=0, maximum=T - 1)
    Q = _check_lags("carousel_flow(lags)", lags, t, t + 1, T)
    lin.carousel(t)  # raises for cells without a cell state
    factors = np.array([lin._carousel(t - m) for m in range(Q)])  # f(t−m), m = 0…Q−1
    if log10:
        with np.errstate(divide="ignore"):
            return np.cumsum(np.log10(np.abs(factors)), axis=0)
    with np.errstate(under="ignore"):
        return np.cumprod(factors, axis=0)  # (CAR1) Π_{m=0..q−1} f(t−m)


def finite_difference_flow(cell: Cell, trace: Trace, q: int, *, t: int | None = None, batch: int = 0,
                           eps: float = 1e-6) -> np.ndarray:
    """∂z(t)/∂z(t−q) (n, n) by central differences: perturb the state at t − q, run the cell to t.

    Uses only ``cell.forward``: z(t−q) is reached by running the prefix x(0…t−q) from the trace's initial
    state, then each entry is perturbed by ±eps and x(t−q+1…t) is run again. Entry [i, k] is
    ∂z_i(t)/∂z_k(t−q), the transpose of Φ_q between state parts.
    """
    if not isinstance(cell, Cell):
        raise DTypeError(message("finite_difference_flow(cell)", "a yetztml cell", type(cell).__name__))
    if not isinstance(trace, Trace):
        raise DTypeError(message("finite_difference_flow(trace)", "a Trace from cell.forward", type(trace).__name__))
    T = trace.x.shape[0]
    t = T - 1 if t is None else check_int("finite_difference_flow(t)", t, minimum=0, maximum=T - 1)
    q = _check_lags("finite_difference_flow(q)", q, t, t + 1, T)
    batch = check_int("finite_difference_flow(batch)", batch, minimum=0, maximum=trace.x.shape[1] - 1)
    eps = check_float("finite_difference_flow(eps)", eps, minimum=0.0, strict_minimum=True)
    layout = StateLayout(cell)
    x = np.ascontiguousarray(trace.x[:, batch : batch + 1])  # (T, 1, I)
    start = layout.flatten(trace.initial_state)[batch : batch + 1]  # z(−1), (1, n)
    if t - q >= 0:
        start = layout.flatten(cell.forward(step_input(cell, x[: t - q + 1]), layout.pack(start)).final_state)
    n = layout.n
    Z = np.repeat(start, 2 * n, axis=0)  # rows 2k: +eps on entry k, rows 2k+1: −eps
    Z[np.arange(0, 2 * n, 2), np.arange(n)] += eps
    Z[np.arange(1, 2 * n, 2), np.arange(n)] -= eps
    xs = np.repeat(x[t - q + 1 : t + 1], 2 * n, axis=1)  # (q, 2n, I)
    end = layout.flatten(cell.forward(step_input(cell, xs), layout.pack(Z)).final_state)  # (2n, n)
    return ((end[0::2] - end[1::2]) / (2.0 * eps)).T
