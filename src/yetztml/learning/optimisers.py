"""Optimisers that update a parameter dict in place, with PyTorch's semantics.

For every parameter θ with gradient g, at update number n = 1, 2, …:

SGD (``torch.optim.SGD`` with dampening 0):

    (O1)  b_n = g                      if n = 1,  else  b_n = μ b_{n−1} + g        (momentum buffer, μ > 0)
    (O2)  u = g + μ b_n  (Nesterov)    or  u = b_n  (μ > 0)    or  u = g  (μ = 0)
    (O3)  θ ← θ − lr u

Adam (``torch.optim.Adam``, coupled L2 weight decay λ, no AMSGrad):

    (O4)  g ← g + λ θ
    (O5)  m_n = β₁ m_{n−1} + (1 − β₁) g,     v_n = β₂ v_{n−1} + (1 − β₂) g²       (m_0 = v_0 = 0)
    (O6)  θ ← θ − (lr / (1 − β₁ⁿ)) · m_n / (√v_n / √(1 − β₂ⁿ) + ε)

Adam's (O4)–(O6) run as one compiled pass over each parameter (:func:`adam_update`) that rounds exactly as
the NumPy expressions written in its docstring would, everything in the parameter's dtype (a float32
parameter's step in float32, as PyTorch's).

The optimiser keeps a reference to the dict (normally ``cell.params``) and looks the arrays up on every
step, so a cell that replaces its arrays (``load_params``) stays trained. ``lr`` may be changed between
steps (schedules do). ``state_dict()`` holds plain numbers and NumPy arrays only, so a checkpoint can store
it without pickling; ``load_state_dict`` restores hyperparameters, counters and buffers.

A roll-back point (``step(keep=…)``, :meth:`Optimiser.restore`) is valid from the moment it is complete,
and only for what it holds: ``keep["gen"]`` is set by :meth:`Optimiser.step` once the counter, the
hyperparameters and (for SGD) every parameter and buffer are copied, so an interrupt (Ctrl-C raises
between any two Python operations) before that leaves nothing to undo; Adam copies a parameter, m and v
inside its compiled pass over that parameter, and the same pass stamps the parameter with the generation,
so a roll-back restores exactly the parameters updated so far and leaves the others (whose spare copies
hold an earlier step's values) as they are. A caller that reuses ``keep`` sets ``keep["gen"] = None``
before handing it to a new step (the training loop does).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numba
import numpy as np

from ..core.errors import CheckpointError, DTypeError, NonFiniteError, OptionError, ShapeError, message
from ..core.validation import check_float


class Optimiser(ABC):
    """Shared parameter bookkeeping, learning-rate and gradient checks."""

    #: Buffers that hold an entry for every parameter from construction on.
    dense_buffers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        cls = type(self).__name__
        if not isinstance(params, dict) or not params:
            raise DTypeError(
                message(
                    f"{cls}(params)",
                    "a non-empty dict name -> ndarray (e.g. cell.params)",
                    type(params).__name__,
                )
            )
        for key, value in params.items():
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
                raise DTypeError(message(f"{cls}(params)[{key!r}]", "a float ndarray", type(value).__name__))
        self.params = params
        self.lr = lr
        self.steps = 0
        self._generation = 0  # numbers the roll-back points step() completes

    @property
    def lr(self) -> float:
        """The learning rate used by the next :meth:`step` (settable, must be >= 0)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_float(f"{type(self).__name__}(lr)", value, minimum=0.0)

    def _checked(self, grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Gradients cast to the parameter dtypes after checking keys, shapes and finiteness."""
        cls = type(self).__name__
        if not isinstance(grads, Mapping):
            raise DTypeError(message(f"{cls}.step(grads)", "a dict like the params", type(grads).__name__))
        missing, extra = sorted(set(self.params) - set(grads)), sorted(set(grads) - set(self.params))
        if missing or extra:
            raise OptionError(
                message(
                    f"{cls}.step(grads)", f"keys {sorted(self.params)}", f"missing {missing}, unknown {extra}"
                )
            )
        out = {}
        for key, p in self.params.items():
            g = np.asarray(grads[key])
            if g.shape != p.shape:
                raise ShapeError(
                    message(f"{cls}.step(grads)[{key!r}]", f"shape {p.shape}", f"shape {g.shape}")
                )
            if g.dtype.kind != "f":
                raise DTypeError(message(f"{cls}.step(grads)[{key!r}]", "a float array", f"dtype {g.dtype}"))
            if not np.all(np.isfinite(g)):
                raise NonFiniteError(
                    message(f"{cls}.step(grads)[{key!r}]", "finite values", "NaN/inf entries")
                )
            out[key] = g.astype(p.dtype, copy=False)
        return out

    def step(
        self, grads: Mapping[str, np.ndarray], *, checked: bool = False, keep: dict[str, Any] | None = None
    ) -> list[str]:
        """Apply one update to every parameter, in place; returns the names of the parameters that hold
        NaN/inf after it (normally none).

        ``checked=True``: the caller has already checked the keys, shapes and finiteness of ``grads`` (the
        training loop does, in the pass that computes the global norm), so only the dtype cast remains.
        ``keep``: a dict that receives everything the update changes, as it was before (its arrays are
        reused from the previous call where shapes match), so that :meth:`restore` can undo the update;
        ``keep["gen"]`` marks it complete (module docstring).
        """
        if checked:
            grads = {key: np.asarray(grads[key]).astype(p.dtype, copy=False) for key, p in self.params.items()}
        else:
            grads = self._checked(grads)
        if keep is not None:
            keep["steps"], keep["hyper"] = self.steps, self._hyper()
            self._keep(keep)
            self._generation += 1
            keep["gen"] = self._generation  # from here on, restore() undoes this step
        self.steps += 1
        return [key for key, g in grads.items() if not self._update(key, self.params[key], g, keep)]

    def _keep(self, keep: dict[str, Any]) -> None:
        """Copy the parameters and every buffer into ``keep`` before an update (:meth:`step`)."""
        spare = keep.setdefault("params", {})
        for key, value in self.params.items():
            if key in spare and spare[key].shape == value.shape and spare[key].dtype == value.dtype:
                np.copyto(spare[key], value)  # reused buffers: no allocation per step
            else:
                spare[key] = value.copy()
        keep["state"] = self.state_dict(into=keep.get("state"))

    def restore(self, keep: Mapping[str, Any]) -> None:
        """Undo the updates since :meth:`step` filled ``keep``: parameters, buffers, counter, hyperparameters.
        A ``keep`` that the step did not complete (no ``gen``) has nothing to undo."""
        if keep.get("gen") is None:
            return
        kept = self._kept(keep)
        for key in kept:
            self.params[key][...] = keep["params"][key]
        self._restore_buffers(keep, kept)
        self.steps = keep["steps"]
        for key, value in keep["hyper"].items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)

    def _kept(self, keep: Mapping[str, Any]) -> list[str]:
        """The parameters whose roll-back copies in ``keep`` belong to its step (here: all)."""
        return list(keep["params"])

    def _restore_buffers(self, keep: Mapping[str, Any], kept: list[str]) -> None:
        self.load_state_dict(keep["state"])

    @abstractmethod
    def _update(self, key: str, p: np.ndarray, g: np.ndarray, keep: dict[str, Any] | None) -> bool:
        """Update parameter ``p`` (in place) with gradient ``g``; ``self.steps`` is already advanced.

        Returns whether ``p`` is finite afterwards. ``keep``: as in :meth:`step` (already filled by
        :meth:`_keep`, unless a subclass saves what it changes itself).
        """

    # -- checkpoints ---------------------------------------------------------------------------
    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def _buffers(self) -> dict[str, dict[str, np.ndarray]]:
        return {}

    def state_dict(self, into: dict[str, Any] | None = None) -> dict[str, Any]:
        """Hyperparameters, the step counter and every buffer (copies), as numbers and ndarrays.

        ``into``: an earlier state dict of this optimiser whose arrays are overwritten instead of new ones
        allocated, where the buffers still have the same names and shapes (the training loop's snapshot
        of every step).
        """
        buffers = self._buffers()
        old = into.get("buffers", {}) if into is not None else {}
        copies: dict[str, dict[str, np.ndarray]] = {}
        for name, buf in buffers.items():
            reuse = old.get(name, {})
            copies[name] = {}
            for k, v in buf.items():
                spare = reuse.get(k)
                if spare is not None and spare.shape == v.shape and spare.dtype == v.dtype:
                    np.copyto(spare, v)
                    copies[name][k] = spare
                else:
                    copies[name][k] = v.copy()
        return {"name": type(self).__name__, "hyper": self._hyper(), "steps": self.steps, "buffers": copies}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (checked against this optimiser's parameters)."""
        cls = type(self).__name__

        def refused(where: str, expected: str, got: str) -> CheckpointError:
            return CheckpointError(message(f"{cls}.load_state_dict{where}", expected, got))

        if state.get("name") != cls:
            raise refused("", f"the state of a {cls}", f"the state of a {state.get('name')!r}")
        buffers = self._buffers()
        hyper = self._hyper()
        if set(state["hyper"]) != set(hyper) or set(state["buffers"]) != set(buffers):
            raise refused("", f"hyperparameters {sorted(hyper)} and buffers {sorted(buffers)}",
                          f"{sorted(state['hyper'])} and {sorted(state['buffers'])}")
        for name, stored in state["buffers"].items():
            unknown = sorted(set(stored) - set(self.params))
            missing = sorted(set(self.params) - set(stored)) if name in self.dense_buffers else []
            if unknown or missing:
                raise refused(f"[{name!r}]", f"keys {sorted(self.params)}",
                              f"unknown {unknown}, missing {missing}")
            for key, value in stored.items():
                if np.shape(value) != self.params[key].shape:
                    raise refused(f"[{name!r}][{key!r}]", f"shape {self.params[key].shape}",
                                  f"shape {np.shape(value)}")
        for key, value in state["hyper"].items():
            setattr(self, key, tuple(value) if isinstance(value, (list, tuple)) else value)
        self.steps = int(state["steps"])
        for name, stored in state["buffers"].items():
            buffers[name].clear()
            for key, value in stored.items():
                buffers[name][key] = np.array(value, dtype=self.params[key].dtype, copy=True)


class SGD(Optimiser):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``."""

    def __init__(
        self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(params, lr)
        self.momentum = check_float("SGD(momentum)", momentum, minimum=0.0)
        if not isinstance(nesterov, bool):
            raise DTypeError(message("SGD(nesterov)", "True or False", repr(nesterov)))
        if nesterov and self.momentum == 0.0:
            raise OptionError(
                message(
                    "SGD(nesterov=True)",
                    "momentum > 0",
                    f"momentum={momentum}",
                    "Nesterov momentum needs a momentum, e.g. momentum=0.9.",
                )
            )
        self.nesterov = nesterov
        self.buffer: dict[str, np.ndarray] = {}

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, keep: dict[str, Any] | None) -> bool:
        u = g
        if self.momentum != 0.0:
            b = self.buffer.get(key)
            if b is None:
                b = self.buffer[key] = g.copy()  # (O1) first step
            else:
                b *= self.momentum  # (O1)
                b += g
            u = g + self.momentum * b if self.nesterov else b  # (O2)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by the return value
            p -= self.lr * u  # (O3)
        return bool(np.all(np.isfinite(p)))

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def _buffers(self) -> dict[str, dict[str, np.ndarray]]:
        return {"momentum": self.buffer}


class Adam(Optimiser):
    """Adam with bias correction and coupled L2 weight decay, as ``torch.optim.Adam``."""

    dense_buffers = ("m", "v")

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise DTypeError(message("Adam(betas)", "a pair (beta1, beta2)", repr(betas)))
        self.betas = tuple(
            check_float(f"Adam(betas[{i}])", b, minimum=0.0, maximum=1.0) for i, b in enumerate(betas)
        )
        if self.betas[0] >= 1.0 or self.betas[1] >= 1.0:
            raise OptionError(message("Adam(betas)", "values in [0, 1)", repr(betas)))
        self.eps = check_float("Adam(eps)", eps, minimum=0.0)
        self.weight_decay = check_float("Adam(weight_decay)", weight_decay, minimum=0.0)
        self.m: dict[str, np.ndarray] = {k: np.zeros_like(v) for k, v in params.items()}
        self.v: dict[str, np.ndarray] = {k: np.zeros_like(v) for k, v in params.items()}

    def _keep(self, keep: dict[str, Any]) -> None:
        for name in ("params", "m", "v", "stamps"):  # filled by adam_update as it reads them: no separate copy
            keep.setdefault(name, {})

    def _kept(self, keep: Mapping[str, Any]) -> list[str]:
        return [key for key, stamp in keep["stamps"].items() if stamp[0] == keep["gen"]]

    def _restore_buffers(self, keep: Mapping[str, Any], kept: list[str]) -> None:
        for key in kept:
            self.m[key][...] = keep["m"][key]
            self.v[key][...] = keep["v"][key]

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, keep: dict[str, Any] | None) -> bool:
        beta1, beta2 = self.betas
        n = self.steps
        kind = p.dtype.type
        flat = p.reshape(-1)
        if not np.shares_memory(flat, p):  # a non-contiguous parameter: update a copy, write it back
            flat = np.ascontiguousarray(p).reshape(-1)
        g = np.ascontiguousarray(g).reshape(-1)
        if self.weight_decay != 0.0:
            g = g + kind(self.weight_decay) * flat  # (O4), in the dtype
        if keep is None:
            old, stamp, gen = (flat[:0],) * 3, _NO_STAMP, 0
        else:
            old = tuple(_spare(keep[name], key, p) for name in ("params", "m", "v"))
            stamp = keep["stamps"].get(key)
            if stamp is None:
                stamp = keep["stamps"][key] = np.zeros(1, np.int64)
            gen = keep["gen"]
        finite = adam_update(
            flat, g, self.m[key].reshape(-1), self.v[key].reshape(-1), kind(beta1), kind(1.0 - beta1),
            kind(beta2), kind(1.0 - beta2), kind(self.lr / (1.0 - beta1**n)), kind(np.sqrt(1.0 - beta2**n)),
            kind(self.eps), keep is not None, *old, stamp, gen,
        )
        if not np.shares_memory(flat, p):
            p[...] = flat.reshape(p.shape)
        return bool(finite)

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay}

    def _buffers(self) -> dict[str, dict[str, np.ndarray]]:
        return {"m": self.m, "v": self.v}


_NO_STAMP = np.zeros(1, np.int64)  # the stamp argument of an update without a roll-back point (never written)


def _spare(store: dict[str, np.ndarray], key: str, like: np.ndarray) -> np.ndarray:
    """The flat array of ``store[key]`` shaped and typed like ``like``, allocated on first use."""
    spare = store.get(key)
    if spare is None or spare.shape != like.shape or spare.dtype != like.dtype:
        spare = store[key] = np.empty(like.shape, like.dtype)
    return spare.reshape(-1)


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: the loop vectorises (0/0 gives NaN)
def adam_update(  # pragma: no cover
    p, g, m, v, beta1, c1, beta2, c2, step_size, sqrt_bc2, eps, keep, old_p, old_m, old_v, stamp, gen
):
    """(O5)–(O6) for flat arrays p, g, m, v of one dtype (g after (O4)); rounds like these NumPy expressions::

        m *= beta1; m += (1 − beta1) * g                # (O5), in the dtype
        v *= beta2; v += (1 − beta2) * g * g
        p -= step_size * (m / (np.sqrt(v) / sqrt_bc2 + eps))   # (O6), in the dtype

    with beta1, c1 = 1 − beta1, beta2, c2 = 1 − beta2, step_size = lr / (1 − β₁ⁿ), sqrt_bc2 = √(1 − β₂ⁿ)
    and eps all given in the dtype (as torch.optim.Adam computes a float32 tensor's step in float32).
    With ``keep``, p, m and v are first copied into old_p, old_m, old_v as they are read (the training
    loop's roll-back point, without a pass of its own) and, once all are, stamp[0] is set to ``gen``: the
    copies belong to this update (an interrupt is raised only after the compiled call returns). Returns
    whether every new p is finite (x − x is 0 exactly when x is finite; an integer OR vectorises). The
    loop's only branch is loop-invariant, so that it vectorises.
    """
    bad = np.int32(0)
    for i in range(p.size):
        if keep:  # loop-invariant: compiled as two loops
            old_p[i] = p[i]
            old_m[i] = m[i]
            old_v[i] = v[i]
        gi = g[i]
        mi = m[i] * beta1 + c1 * gi  # (O5)
        vi = v[i] * beta2 + c2 * gi * gi  # (O5)
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - step_size * (mi / (np.sqrt(vi) / sqrt_bc2 + eps))  # (O6)
        bad |= np.int32(p[i] - p[i] != 0)
    if keep:
        stamp[0] = gen
    return bad == 0
