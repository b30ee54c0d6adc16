"""The linearisations of a recorded trajectory: the local derivatives that error flow multiplies together.

z(t) is the cell's state after step t for one batch element, flattened (see :mod:`.layout`): RNN h,
LSTM (h, c), memory blocks (y^c, y^in, [y^φ], y^out, s), :class:`~.unitnet.UnitNet` y; z(−1) is the initial
state. A linearisation gives, for every step t = 0…T−1 (all float64)::

    (L1)  J(t)   = ∂z(t)/∂z(t−1)          the step Jacobian                                   (n, n)
    (L2)  A_a(t) = ∂a(t)/∂z(t−1)          entry: how a quantity a of step t reads z(t−1)      (m_a, n)
                   a = a state part (rows of J(t)) or a net input ("net" of an Elman net: W)
    (L3)  X_b(t) = ∂z(t)/∂b(t)            exit: how z(t) depends on a quantity b of step t    (n, m_b)
                   b = a state part (a selection, defined at t = −1 too) or a net input

Elman nets (UnitNet, RNN; φ' = f'(net(t)), W the recurrent weights)::

    (E1)  J(t) = diag(φ'(net(t))) W,      A_net(t) = W,      X_net(t) = diag(φ'(net(t)))

LSTM, PyTorch layout (σ' = y(1 − y) of a gate's output y, tanh' of g = 1 − g², c' = o(1 − tanh² c(t)))::

    (M1)  ∂c(t) = diag(g σ'_i) ∂a_i + diag(c(t−1) σ'_f) ∂a_f + diag(i (1 − g²)) ∂a_g  [+ diag(f) on c(t−1)]
    (M2)  ∂h(t) = diag(tanh c · σ'_o) ∂a_o + diag(c') ∂c(t)
          J(t): ∂a = W_hh on the h(t−1) columns;   X_{net_k}(t): ∂a = the identity on gate k's rows

Memory blocks (LSTM1997, LSTMForget; β maps each cell to its block, so y^in[β] is a cell's input gate)::

    (K1)  ∂net(t) = W_h on the recurrent columns of u(t) (y^c, y^in, y^φ, y^out of step t−1)
    (K2)  ∂y^in = diag(σ'_in) ∂net_in;  ∂y^φ, ∂y^out likewise;  ∂g_c = diag(g'(net_c)) ∂net_c
    (K3)  ∂s(t) = diag(g_c) ∂y^in[β] + diag(s(t−1)) ∂y^φ[β] + diag(y^in[β]) ∂g_c  [+ diag(y^φ[β]) on s(t−1)]
    (K4)  ∂y^c(t) = diag(h(s(t))) ∂y^out[β] + diag(y^out[β] h'(s(t))) ∂s(t)
          J(t): ∂net from (K1);  X_{net_b}(t): ∂net = the identity on b's rows, no s(t−1) edge
          truncate=True [1997 App. A.1, eqs. 12–15]: ∂net(t)/∂z(t−1) ≈ 0 in (K1), so J(t) keeps only the
          CEC edge s(t−1) → s(t) (1 in the 1997 cell, y^φ with a forget gate) and its image in y^c(t) (K4)

Any other cell (GRU, peepholes, stacked layers) is linearised through its own hand-derived backward:

    (LG1)  row k of J(t) = the initial-state gradient of one step started from z(t−1), with d_final_state = e_k
          (all n rows at once, as a batch of n copies of the step)

(LG1) also checks (E1), (M1)–(M2) and (K1)–(K4) in the tests. The carousel of a cell is the direct edge
c(t−1) → c(t) alone: diag(f(t)) for the LSTM, diag(y^φ(t)[β]) or 1 for memory blocks.

:func:`~yetztml.analysis.linearise.linearise` chooses the form for a cell; the classes here compute it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..cells.base import Cell, Trace, state_leaves
from ..core import activations
from ..core.errors import UnsupportedError, message
from ..core.validation import check_choice, check_int
from .layout import StateLayout, step_input


class Linearisation(ABC):
    """(L1)–(L3) for one trajectory. Subclasses implement ``_step`` and ``_state`` (and ``_entry``, ``_exit``,
    ``_carousel`` where they declare such quantities).

    ``entries`` / ``exits``: quantities with an entry (L2) / exit (L3) besides the state parts, name → size
    (exits exist for t ≥ 0 only).
    """

    def __init__(self, cell_name: str, length: int, groups: dict[str, slice], truncated: bool,
                 default_source: str, default_targets: tuple[str, ...], carousel_group: str | None,
                 entries: dict[str, int] | None = None, exits: dict[str, int] | None = None) -> None:
        self.cell_name = cell_name
        self.length = length
        self.groups = groups
        self.n = max(sl.stop for sl in groups.values())
        self.truncated = truncated
        self.default_source = default_source
        self.default_targets = default_targets
        self.carousel_group = carousel_group
        self.entries = entries or {}
        self.exits = exits or {}

    # -- names and sizes ----------------------------------------------------------------------------
    @property
    def sources(self) -> tuple[str, ...]:
        """Names a flow may start from (at time t)."""
        return tuple(self.groups) + tuple(self.entries)

    @property
    def targets(self) -> tuple[str, ...]:
        """Names a flow may arrive at (at time t − q)."""
        return tuple(self.groups) + tuple(self.exits)

    def size(self, name: str) -> int:
        if name in self.groups:
            sl = self.groups[name]
            return sl.stop - sl.start
        return {**self.entries, **self.exits}[name]

    def earliest(self, target: str) -> int:
        """The earliest time at which ``target`` exists: −1 for state parts (the initial state), else 0."""
        return -1 if target in self.groups else 0

    # -- public accessors (checked) -------------------------------------------------------------------
    def step(self, t: int) -> np.ndarray:
        """J(t) = ∂z(t)/∂z(t−1) (L1), (n, n), t = 0…T−1."""
        return self._step(self._time("step(t)", t, 0))

    def state(self, t: int) -> np.ndarray:
        """z(t) (n,), t = −1…T−1 (−1 = the initial state)."""
        return self._state(self._time("state(t)", t, -1))

    def source(self, name: str, t: int) -> np.ndarray:
        """A_a(t) = ∂a(t)/∂z(t−1) (L2), (m_a, n)."""
        check_choice(f"{self.cell_name} flow source", name, self.sources)
        return self._source(name, self._time("source(t)", t, 0))

    def target(self, name: str, t: int) -> slice | np.ndarray:
        """X_b(t) = ∂z(t)/∂b(t) (L3): a slice of z (state parts), a diagonal (n,), or a matrix (n, m_b)."""
        check_choice(f"{self.cell_name} flow target", name, self.targets)
        return self._target(name, self._time("target(t)", t, self.earliest(name)))

    def carousel(self, t: int) -> np.ndarray:
        """The direct edge of the carousel group, c(t−1) → c(t): its diagonal (m,)."""
        if self.carousel_group is None:
            raise UnsupportedError(
                message(f"{self.cell_name}.carousel", "a cell with a cell state (LSTM, memory blocks)", self.cell_name)
            )
        return self._carousel(self._time("carousel(t)", t, 0))

    def _time(self, thing: str, t: object, lowest: int) -> int:
        return check_int(f"{self.cell_name} linearisation {thing}", t, minimum=lowest, maximum=self.length - 1)

    # -- unchecked (used by the flow recursion) --------------------------------------------------------
    def _source(self, name: str, t: int) -> np.ndarray:
        if name in self.groups:
            return self._step(t)[self.groups[name]]
        return self._entry(name, t)

    def _target(self, name: str, t: int) -> slice | np.ndarray:
        if name in self.groups:
            return self.groups[name]
        return self._exit(name, t)

    @abstractmethod
    def _step(self, t: int) -> np.ndarray:
        """J(t), unchecked."""

    @abstractmethod
    def _state(self, t: int) -> np.ndarray:
        """z(t), unchecked."""

    def _entry(self, name: str, t: int) -> np.ndarray:
        raise UnsupportedError(message(f"{self.cell_name} flow source", "a state part", repr(name)))

    def _exit(self, name: str, t: int) -> np.ndarray:
        raise UnsupportedError(message(f"{self.cell_name} flow target", "a state part", repr(name)))

    def _carousel(self, t: int) -> np.ndarray:
        raise UnsupportedError(message(f"{self.cell_name}.carousel", "a cell with a cell state", self.cell_name))


def f64(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


class ElmanLinearisation(Linearisation):
    """(E1) for :class:`UnitNet` and the one-layer :class:`~yetztml.cells.rnn.RNN`."""

    def __init__(self, cell_name: str, group: str, W: np.ndarray, net: np.ndarray, y: np.ndarray,
                 y0: np.ndarray, kind: int) -> None:
        n = W.shape[0]
        super().__init__(cell_name, net.shape[0], {group: slice(0, n)}, False, "net", ("net",), None,
                         entries={"net": n}, exits={"net": n})
        self.W = f64(W)  # (n, n) w_ij from unit j to unit i
        self.net = f64(net)  # (T, n)
        self.y = f64(y)  # (T, n)
        self.y0 = f64(y0)  # (n,)
        self.fprime = activations.derivative_np(kind, self.net)  # φ'(net(t)), (T, n)

    def _step(self, t: int) -> np.ndarray:
        return self.fprime[t][:, None] * self.W  # (E1)

    def _state(self, t: int) -> np.ndarray:
        return self.y0 if t < 0 else self.y[t]

    def _entry(self, name: str, t: int) -> np.ndarray:
        return self.W  # (E1) ∂net(t)/∂y(t−1)

    def _exit(self, name: str, t: int) -> np.ndarray:
        return self.fprime[t]  # (E1) diagonal ∂y(t)/∂net(t)


class LSTMLinearisation(Linearisation):
    """(M1)–(M2) for the one-layer, one-direction PyTorch-layout LSTM; z = (h, c)."""

    def __init__(self, cell: Cell, trace: Any, batch: int) -> None:
        H = cell.hidden_size
        sweep = trace.layers[0][0]
        super().__init__("LSTM", sweep.gates.shape[0], {"h": slice(0, H), "c": slice(H, 2 * H)}, False, "h",
                         ("h", "c", "net_i", "net_f", "net_g", "net_o"), "c", exits={f"net_{k}": H for k in "ifgo"})
        self.H = H
        self.W_hh = f64(cell.params["weight_hh_l0"])  # (4H, H)
        self.h = f64(sweep.h[:, batch])  # (T+1, H), h[t+1] = h(t)
        self.c = f64(sweep.c[:, batch])  # (T+1, H)
        self.gates = f64(sweep.gates[:, batch])  # (T, 4H) i, f, g, o
        self.tanh_c = f64(sweep.tanh_c[:, batch])  # (T, H)

    def _through(self, t: int, da: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M1)–(M2) without the c(t−1) edge: ∂h(t), ∂c(t) (H, cols) from ∂a(t) (4H, cols)."""
        H = self.H
        i, f, g, o = (self.gates[t, k * H:(k + 1) * H] for k in range(4))
        tc = self.tanh_c[t]
        dc = (g * i * (1 - i))[:, None] * da[:H] + (self.c[t] * f * (1 - f))[:, None] * da[H:2 * H]  # (M1)
        dc += (i * (1 - g * g))[:, None] * da[2 * H:3 * H]  # (M1)
        dh = (tc * o * (1 - o))[:, None] * da[3 * H:] + (o * (1 - tc * tc))[:, None] * dc  # (M2)
        return dh, dc

    def _step(self, t: int) -> np.ndarray:
        H = self.H
        J = np.zeros((2 * H, 2 * H))
        J[:H, :H], J[H:, :H] = self._through(t, self.W_hh)  # h(t−1) columns: ∂a(t)/∂h(t−1) = W_hh
        f = self.gates[t, H:2 * H]
        o, tc = self.gates[t, 3 * H:], self.tanh_c[t]
        diag = np.arange(H)
        J[H + diag, H + diag] = f  # (M1) ∂c(t)/∂c(t−1) = diag(f(t))
        J[diag, H + diag] = o * (1 - tc * tc) * f  # (M2) through c(t)
        return J

    def _state(self, t: int) -> np.ndarray:
        return np.concatenate([self.h[t + 1], self.c[t + 1]])

    def _exit(self, name: str, t: int) -> np.ndarray:
        H = self.H
        k = "ifgo".index(name[-1])
        da = np.zeros((4 * H, H))
        da[k * H:(k + 1) * H] = np.eye(H)
        dh, dc = self._through(t, da)
        return np.concatenate([dh, dc], axis=0)

    def _carousel(self, t: int) -> np.ndarray:
        return self.gates[t, self.H:2 * self.H]


class BlockLinearisation(Linearisation):
    """(K1)–(K4) for memory-block cells without peepholes; z = (y^c, y^in, [y^φ], y^out, s)."""

    def __init__(self, cell: Any, trace: Any, batch: int, truncate: bool) -> None:
        C, S, N = cell.num_blocks, cell.block_size, cell.num_cells
        self.forget, self.has_out = cell.forget_gate, cell.output_gate
        Cf, Co = (C if self.forget else 0), (C if self.has_out else 0)
        names = ["y_c", "y_in"] + (["y_phi"] if self.forget else []) + ["y_out", "s"]
        sizes = [N, C] + ([C] if self.forget else []) + [Co, N]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        groups = {name: slice(int(bounds[k]), int(bounds[k + 1])) for k, name in enumerate(names)}
        # rows of W_h (and of ∂net): cells, input gates, forget gates, output gates
        self.rows = {"net_c": slice(0, N), "net_in": slice(N, N + C), "net_phi": slice(N + C, N + C + Cf),
                     "net_out": slice(N + C + Cf, N + C + Cf + Co)}
        exits = {k: sl.stop - sl.start for k, sl in self.rows.items() if sl.stop > sl.start}
        super().__init__(type(cell).__name__, trace.x.shape[0], groups, truncate, "y_c",
                         ("s", "y_c") + tuple(exits), "s", exits=exits)
        self.C, self.S, self.N = C, S, N
        self.beta = np.repeat(np.arange(C), S)  # cell → block
        W_h = f64(cell._stacked()[0])  # (H_rows, U)
        I = cell.input_size
        self.dnet = np.zeros((W_h.shape[0], self.n))  # (K1) ∂net(t)/∂z(t−1)
        rec = W_h.shape[1] - I
        if not truncate:
            self.dnet[:, :rec] = W_h[:, I:]  # recurrent columns of u(t) are z(t−1)'s leading parts
        pick = lambda a: None if a is None else f64(a[:, batch])  # (T, ·)
        self.net_c, self.g = pick(trace.net_c), pick(trace.g)
        self.y_in, self.y_phi, self.y_out = pick(trace.y_in), pick(trace.y_phi), pick(trace.y_out)
        self.s, self.h_s, self.y_c = pick(trace.s), pick(trace.h_s), pick(trace.y_c)
        self.g_prime = activations.derivative_np(cell._g_kind, self.net_c)  # g'(net_c(t)), (T, N)
        self.h_prime = activations.derivative_np(cell._h_kind, self.s)  # h'(s(t)), (T, N)
        self.z0 = np.concatenate([f64(a[batch]).reshape(-1) for a in state_leaves(trace.initial_state)])

    def _s_prev(self, t: int) -> np.ndarray:
        return self.z0[self.groups["s"]] if t == 0 else self.s[t - 1]

    def _through(self, t: int, dnet: np.ndarray, direct: bool) -> np.ndarray:
        """(K2)–(K4): ∂z(t) (n, cols) from ∂net(t) (H_rows, cols), with or without the s(t−1) edge."""
        b, r = self.beta, self.rows
        y_in = self.y_in[t]
        d_yin = (y_in * (1 - y_in))[:, None] * dnet[r["net_in"]]  # (K2)
        d_s = self.g[t][:, None] * d_yin[b] + (y_in[b] * self.g_prime[t])[:, None] * dnet[r["net_c"]]  # (K3)
        parts = {"y_in": d_yin}
        if self.forget:
            y_phi = self.y_phi[t]
            d_yphi = (y_phi * (1 - y_phi))[:, None] * dnet[r["net_phi"]]  # (K2)
            d_s += self._s_prev(t)[:, None] * d_yphi[b]  # (K3)
            parts["y_phi"] = d_yphi
        if direct:
            d_s[:, self.groups["s"]] += np.diag(self._carousel(t))  # (K3) CEC edge s(t−1) → s(t)
        if self.has_out:
            y_out = self.y_out[t]
            d_yout = (y_out * (1 - y_out))[:, None] * dnet[r["net_out"]]  # (K2)
            d_yc = self.h_s[t][:, None] * d_yout[b] + (y_out[b] * self.h_prime[t])[:, None] * d_s  # (K4)
        else:
            d_yout = np.zeros((0, dnet.shape[1]))
            d_yc = self.h_prime[t][:, None] * d_s  # (K4) y^out ≡ 1
        parts.update(y_c=d_yc, y_out=d_yout, s=d_s)
        return np.concatenate([parts[name] for name in self.groups], axis=0)

    def _step(self, t: int) -> np.ndarray:
        return self._through(t, self.dnet, True)

    def _state(self, t: int) -> np.ndarray:
        if t < 0:
            return self.z0
        arrays = {"y_c": self.y_c, "y_in": self.y_in, "y_phi": self.y_phi, "y_out": self.y_out, "s": self.s}
        return np.concatenate([arrays[name][t] if arrays[name] is not None else np.zeros(0) for name in self.groups])

    def _exit(self, name: str, t: int) -> np.ndarray:
        sl = self.rows[name]
        dnet = np.zeros((self.dnet.shape[0], sl.stop - sl.start))
        dnet[sl] = np.eye(sl.stop - sl.start)
        return self._through(t, dnet, False)

    def _carousel(self, t: int) -> np.ndarray:
        return self.y_phi[t][self.beta] if self.forget else np.ones(self.N)


class BackwardLinearisation(Linearisation):
    """(LG1): any cell, through its own backward, one step at a time (for small nets and for checks)."""

    def __init__(self, cell: Cell, trace: Trace, batch: int, truncate: bool) -> None:
        layout = StateLayout(cell)
        super().__init__(type(cell).__name__, trace.x.shape[0], layout.groups, truncate, layout.names[0],
                         layout.names, None)
        self.cell, self.layout = cell, layout
        self.x = np.ascontiguousarray(trace.x[:, batch : batch + 1])  # (T, 1, I)
        self.options = {"truncate": True} if truncate else {}
        states = [layout.flatten(trace.initial_state)[batch]]
        for t in range(self.length):  # z(t) by running the cell one step at a time from z(t−1)
            tr = cell.forward(step_input(cell, self.x[t : t + 1]), layout.pack(states[-1][None]))
            states.append(layout.flatten(tr.final_state)[0])
        self.states = np.array(states)  # (T+1, n), states[t+1] = z(t)
        self.cache: dict[int, np.ndarray] = {}

    def _step(self, t: int) -> np.ndarray:
        if t not in self.cache:
            n, layout, cell = self.n, self.layout, self.cell
            x = np.repeat(self.x[t : t + 1], n, axis=1)  # (1, n, I): n copies of step t
            tr = cell.forward(step_input(cell, x), layout.pack(np.repeat(self.states[t][None], n, axis=0)))
            grads = cell.backward(tr, np.zeros_like(tr.outputs), layout.pack(np.eye(n)), **self.options)
            self.cache[t] = layout.flatten(grads.initial_state)  # (LG1) row k = ∂z_k(t)/∂z(t−1)
        return self.cache[t]

    def _state(self, t: int) -> np.ndarray:
        return self.states[t + 1]
