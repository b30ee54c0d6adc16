"""Sequence modules with ``torch.nn.LSTM``'s constructor, inputs and return values.

Shapes (T time, B batch, I input_size, H hidden_size, L num_layers, D = 2 if bidirectional else 1)::

    input   (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence
    hx      (L·D, B, H); for LSTMs a pair (h_0, c_0)
    output  (T, B, D·H) in the input's layout (a PackedSequence for a packed input)
    h_n     (L·D, B, H) — for LSTMs (h_n, c_n)

Each layer and direction is one call of the custom operator ``yetztml::sweep`` (:mod:`._ops`). Layers
are stacked and directions joined here, as in :mod:`yetztml.cells.stack` (ST1)–(ST4); dropout between
layers is ``torch.nn.functional.dropout`` on the whole layer output, as ``nn.LSTM`` applies it.

Packed sequences are sorted by length (longest first), so at time t the running sequences are the first
``batch_sizes[t]`` ones. Time splits into *runs* where that count is constant, and each direction steps
through them with the state carried in torch (autograd carries the errors back):

    (PK1)  run k covers t ∈ [t_k, t_{k+1}) with the first n_k sequences; its input is a view of the packed
          data, rows off_k … off_k + (t_{k+1} − t_k)·n_k, shaped (t_{k+1} − t_k, n_k, I)
    (PK2)  → runs k = 0, 1, …; run k starts from state[:n_k] and writes its final state back to state[:n_k]
    (PK3)  ← runs k = K−1, …, 0 reading time backwards; sequences not yet started keep their h_0, so each
          starts from h_0 at its own last element
    (PK4)  h_n = state after the last run: → each sequence's state at its own last step, ← after t = 0

An unpacked input is a single run with all B sequences.

``return_states=True`` adds a third return value: per layer, a dict of every gate activation and the cell
state over time (LSTMs: "i", "f", "g", "o", "c"; GRU: "r", "z", "n"; CIFG: "i", "g", "o", "c"; LSTM1997: "i",
"g", "o", "c"), each in the output's layout with the directions side by side ((T, B, D·k); for a packed
input, rows of the packed data). They are detached: for looking at, not for differentiating.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from ..core.errors import DTypeError, ShapeError, message
from . import _checks, _kinds, _ops

_SUFFIX = "_l0"


def reset_parameters(module: nn.Module, hidden_size: int, generator: torch.Generator | None) -> None:
    """U(−1/√H, 1/√H) for every parameter in registration order (``nn.LSTM``'s draws), except layer-norm
    gains (``ln_*_weight``: 1) and layer-norm biases (``ln_*_bias``: 0), which draw nothing."""
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("ln_"):
                p.fill_(1.0 if "_weight" in name else 0.0)
            else:
                p.uniform_(-bound, bound, generator=generator)


class Recurrent(nn.Module):
    """Shared machinery: parameters in ``nn.LSTM``'s names and order, validation, the layer driver."""

    #: number of state parts: 2 for LSTMs (h, c), 1 otherwise.
    _parts: ClassVar[int] = 2
    #: the cell kind of :mod:`yetztml.torch._kinds` the module runs (:meth:`_spec` may choose by options).
    _kind_name: ClassVar[str] = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        device: Any = None,
        dtype: Any = None,
        generator: torch.Generator | None = None,
        return_states: bool = False,
    ) -> None:
        super().__init__()
        cls = type(self).__name__
        if not isinstance(return_states, bool):
            raise DTypeError(message(f"{cls}(return_states=...)", "True or False", repr(return_states)))
        self.return_states = return_states
        (self.input_size, self.hidden_size, self.num_layers, self.bias, self.batch_first, self.dropout,
         self.bidirectional) = _checks.options(
            cls, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional
        )
        dtype = _checks.dtype(cls, dtype)
        self.kind = _kinds.get(self._spec())
        D, H = self.num_directions, self.hidden_size
        self._names: list[list[str]] = []  # parameter names of each layer and direction, in kernel order
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else D * H
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                names = []
                for base, shape in zip(
                    self.kind.weight_names(self.bias), self.kind.weight_shapes(width, H, self.bias), strict=True
                ):
                    name = base.removesuffix(_SUFFIX) + sfx
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._names.append(names)
        self.reset_parameters(generator)

    def _spec(self) -> str:
        """The kind's name; modules whose kind depends on their options override this."""
        return self._kind_name

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Every parameter U(−1/√H, 1/√H), in registration order, like ``nn.LSTM`` (same draws from the
        same generator state); ``generator`` defaults to torch's global one, as in ``nn.LSTM``."""
        reset_parameters(self, self.hidden_size, generator)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    # -- inputs -----------------------------------------------------------------------------------
    def _state(self, hx: Any, batch: int, like: torch.Tensor, unbatched: bool) -> list[torch.Tensor]:
        cls = type(self).__name__
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        want = (L * D, H) if unbatched else (L * D, batch, H)
        if hx is None:
            return [like.new_zeros((L * D, batch, H)) for _ in range(self._parts)]
        if self._parts == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise DTypeError(message(f"{cls}.forward(hx)", "a pair (h_0, c_0)", type(hx).__name__))
            parts = list(hx)
        else:
            parts = [hx]
        out = []
        for name, part in zip(("h_0", "c_0"), parts, strict=False):
            _checks.tensor(f"{cls}.forward({name})", part, like.dtype)
            _checks.shape(f"{cls}.forward({name})", part, want, "(num_layers·D, H)" if unbatched
                          else "(num_layers·D, B, H)")
            out.append(part.unsqueeze(1) if unbatched else part)
        return out

    def _weights(self, k: int) -> list[torch.Tensor]:
        return [getattr(self, name) for name in self._names[k]]

    # -- the driver -------------------------------------------------------------------------------
    def forward(self, input: Any, hx: Any = None):
        """Run every layer and direction; returns ``(output, h_n)`` or, for LSTMs, ``(output, (h_n, c_n))``."""
        cls = type(self).__name__
        first = next(self.parameters())
        _checks.tensor(f"{cls} parameters", first, first.dtype)
        dtype = first.dtype
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            data, batch_sizes, sorted_idx, unsorted_idx = input
            _checks.tensor(f"{cls}.forward(input.data)", data, dtype)
            if data.dim() != 2:
                raise ShapeError(message(f"{cls}.forward(input.data)", "a 2-D (N, I) tensor, packed from (T, B, I)",
                                         f"{data.dim()}-D shape {tuple(data.shape)}"))
            sizes = batch_sizes.tolist()
            runs = []
            for t, n in enumerate(sizes):  # (PK1) runs of equal batch size
                if t == 0 or n != sizes[t - 1]:
                    runs.append([t, t + 1, n])
                else:
                    runs[-1][1] = t + 1
            B = sizes[0]
            segs, start = [], 0
            for t0, t1, n in runs:
                segs.append(data[start : start + (t1 - t0) * n].view(t1 - t0, n, data.shape[-1]))
                start += (t1 - t0) * n
        else:
            _checks.tensor(f"{cls}.forward(input)", input, dtype)
            if input.dim() not in (2, 3):
                raise ShapeError(message(f"{cls}.forward(input)", "a 3-D (T, B, I) or 2-D (T, I) tensor",
                                         f"{input.dim()}-D shape {tuple(input.shape)}"))
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            runs, B, segs = [[0, x.shape[0], x.shape[1]]], x.shape[1], [x]
            sorted_idx = unsorted_idx = None
        width = segs[0].shape[-1]
        if width != self.input_size:
            raise ShapeError(message(f"{cls}.forward(input)", f"input size {self.input_size} in the last axis",
                                     width))
        state = self._state(hx, B, segs[0], unbatched)
        if sorted_idx is not None:
            state = [s.index_select(1, sorted_idx) for s in state]
        finals: list[list[torch.Tensor]] = [[] for _ in range(self._parts)]
        D = self.num_directions
        layer_states = []
        for layer in range(self.num_layers):
            outs, trajectories = [], []
            for d in range(D):
                k = layer * D + d
                o, fin, traj = self._direction(segs, runs, [s[k] for s in state], self._weights(k), bool(d))
                outs.append(o)
                trajectories.append(traj)
                for part, f in zip(finals, fin, strict=True):
                    part.append(f)
            segs = outs[0] if D == 1 else [torch.cat(pair, dim=2) for pair in zip(*outs, strict=True)]  # (ST3)
            if self.return_states:
                layer_states.append(self._join_states(trajectories, packed, unbatched))
            if self.dropout and self.training and layer < self.num_layers - 1:
                segs = self._dropout(segs, runs)
        h_n = [torch.stack(f) for f in finals]  # (ST4)
        if packed:
            out_data = torch.cat([s.reshape(-1, s.shape[-1]) for s in segs])
            output: Any = PackedSequence(out_data, batch_sizes, sorted_idx, unsorted_idx)
            if unsorted_idx is not None:
                h_n = [h.index_select(1, unsorted_idx) for h in h_n]
        else:
            output = segs[0]
            if unbatched:
                output, h_n = output.squeeze(1), [h.squeeze(1) for h in h_n]
            elif self.batch_first:
                output = output.transpose(0, 1)
        final = tuple(h_n) if self._parts == 2 else h_n[0]
        return (output, final, layer_states) if self.return_states else (output, final)

    def _join_states(self, trajectories, packed: bool, unbatched: bool) -> dict[str, torch.Tensor]:
        """One layer's gate activations and cell states: directions side by side, runs in the output's
        layout ((T, B, D·k), batch_first and unbatched as the output; packed: rows of the packed data)."""
        out = {}
        for name in trajectories[0][0]:
            runs = [torch.cat([d[r][name] for d in trajectories], dim=2) for r in range(len(trajectories[0]))]
            if packed:
                out[name] = torch.cat([r.reshape(-1, r.shape[-1]) for r in runs])
            elif unbatched:
                out[name] = runs[0].squeeze(1)
            else:
                out[name] = runs[0].transpose(0, 1) if self.batch_first else runs[0]
        return out

    def _direction(self, segs, runs, init, weights, reverse: bool):
        """(PK2)–(PK4): one layer in one direction over the runs; returns the run outputs, h_n parts and (with
        ``return_states``) each run's gate and state trajectories, detached."""
        state = list(init)
        traj: list[Any] = [None] * len(segs)
        outs: list[Any] = [None] * len(segs)
        order = reversed(range(len(segs))) if reverse else range(len(segs))
        for r in order:
            n = runs[r][2]
            start = [s[:n].contiguous() for s in state]
            extra = self._masks(segs[r].shape[0], n, segs[r])
            out, fin, arrays = _ops.run(segs[r], start, weights + extra, self.kind, reverse)
            if self.return_states:
                T = segs[r].shape[0]
                states = self.kind.states(arrays, T, self.hidden_size, reverse)
                traj[r] = {k: v.detach() for k, v in states.items()}
            state = [f if n == s.shape[0] else torch.cat([f, s[n:]]) for f, s in zip(fin, state, strict=True)]
            outs[r] = out
        return outs, state, traj

    def _masks(self, T: int, B: int, like: torch.Tensor) -> list[torch.Tensor]:
        """Extra operator inputs of one run (the zoneout masks of :class:`LSTM`); none by default."""
        return []

    def _dropout(self, segs, runs):
        """Dropout on the whole layer output (the packed data, or (T, B, D·H)), as ``nn.LSTM`` applies it."""
        if len(segs) == 1:
            return [nn.functional.dropout(segs[0], self.dropout, True)]
        width = segs[0].shape[-1]
        data = nn.functional.dropout(torch.cat([s.reshape(-1, width) for s in segs]), self.dropout, True)
        out, start = [], 0
        for (t0, t1, n), _ in zip(runs, segs, strict=True):
            out.append(data[start : start + (t1 - t0) * n].view(t1 - t0, n, width))
            start += (t1 - t0) * n
        return out


class LSTM(Recurrent):
    """Drop-in ``torch.nn.LSTM`` (no ``proj_size``): same parameters (names, shapes, order, initialisation),
    same ``state_dict``, computed by yetztml's LSTM kernels (:mod:`yetztml.cells.lstm`).

    Keyword-only training-time regularisers (:mod:`yetztml.cells.lstm_zoneout`): ``zoneout_h``,
    ``zoneout_c`` — the probability that a unit keeps its previous h or c (Krueger et al. 2016);
    ``recurrent_dropout`` — the probability that the cell input g is dropped (Semeniuta et al. 2016).
    In training mode the masks are drawn from torch's generator (``torch.manual_seed`` makes them
    repeatable, like ``dropout``); in evaluation mode they are their expectations (p, p, 1).
    """

    def __init__(self, *args: Any, zoneout_h: float = 0.0, zoneout_c: float = 0.0, recurrent_dropout: float = 0.0,
                 **kwargs: Any) -> None:
        from ..core.validation import check_float

        self.zoneout_h = check_float("LSTM(zoneout_h=...)", zoneout_h, minimum=0.0, maximum=1.0)
        self.zoneout_c = check_float("LSTM(zoneout_c=...)", zoneout_c, minimum=0.0, maximum=1.0)
        self.recurrent_dropout = check_float("LSTM(recurrent_dropout=...)", recurrent_dropout, minimum=0.0,
                                             maximum=0.999)
        super().__init__(*args, **kwargs)

    def _spec(self) -> str:
        return "zoneout" if self.zoneout_h or self.zoneout_c or self.recurrent_dropout else "lstm"

    def _masks(self, T: int, B: int, like: torch.Tensor) -> list[torch.Tensor]:
        if self.kind.name != "zoneout":
            return []
        shape = (T, B, self.hidden_size)
        if not self.training:
            return [like.new_full(shape, self.zoneout_h), like.new_full(shape, self.zoneout_c), like.new_ones(shape)]
        keep = 1.0 - self.recurrent_dropout
        return [torch.bernoulli(like.new_full(shape, self.zoneout_h)),
                torch.bernoulli(like.new_full(shape, self.zoneout_c)),
                torch.bernoulli(like.new_full(shape, keep)) / keep]


class GRU(Recurrent):
    """Drop-in ``torch.nn.GRU`` computed by :mod:`yetztml.cells.gru`; returns ``(output, h_n)``."""

    _parts = 1

    _kind_name: ClassVar[str] = "gru"


class RNN(Recurrent):
    """Drop-in ``torch.nn.RNN`` (``nonlinearity`` "tanh" or "relu") computed by :mod:`yetztml.cells.rnn`."""

    _parts = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 **kwargs: Any) -> None:
        from ..core.validation import check_choice

        self.nonlinearity = check_choice("RNN(nonlinearity=...)", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kwargs)

    def _spec(self) -> str:
        return f"rnn:{self.nonlinearity}"


class PeepholeLSTM(Recurrent):
    """LSTM with peephole connections (Gers, Schraudolph & Schmidhuber 2002): i and f see c(t−1), o sees c(t);
    :mod:`yetztml.cells.lstm_peephole_stacked` (equal to :mod:`yetztml.cells.lstm_peephole` with one cell
    per block and g = h = tanh, a test).

    Parameters are ``nn.LSTM``'s (rows i, f, g, o) plus ``weight_peephole_l{k}`` ``(3H,)``, rows i, f, o.
    With zero peepholes it computes exactly what ``nn.LSTM`` computes, so
    ``load_state_dict(lstm.state_dict(), strict=False)`` starts it from a trained ``nn.LSTM``.
    """

    _kind_name: ClassVar[str] = "peephole"


class CIFGLSTM(Recurrent):
    """LSTM with coupled input and forget gate, f = 1 − i (Greff et al. 2017), :mod:`yetztml.cells.lstm_cifg`.

    ``nn.LSTM``'s parameters with three gate blocks, rows (i, g, o): ``weight_ih_l{k}`` ``(3H, I)``.
    """

    _kind_name: ClassVar[str] = "cifg"


class LayerNormLSTM(Recurrent):
    """Layer-normalised LSTM (Ba, Kiros & Hinton 2016), :mod:`yetztml.cells.lstm_layernorm`: LN per gate block
    on W_ih x and W_hh h, and on c(t) before its tanh.

    ``nn.LSTM``'s parameters plus ``ln_ih_weight_l{k}``, ``ln_ih_bias_l{k}``, ``ln_hh_weight_l{k}``,
    ``ln_hh_bias_l{k}`` ``(4H,)`` and ``ln_c_weight_l{k}``, ``ln_c_bias_l{k}`` ``(H,)`` (gains start at 1,
    biases at 0): ``load_state_dict(lstm.state_dict(), strict=False)`` takes an ``nn.LSTM``'s weights.
    """

    _kind_name: ClassVar[str] = "layernorm"


class LSTM1997(Recurrent):
    """The 1997 LSTM (Hochreiter & Schmidhuber): memory blocks of ``block_size`` cells sharing an input and
    an output gate, no forget gate (the CEC), :mod:`yetztml.cells.lstm1997`.

    ``hidden_size`` counts cells (a multiple of ``block_size``); u(t) = [x(t); y^c(t−1)]. ``weight_ih_l{k}``
    ``(H + 2C, I)`` and ``weight_hh_l{k}`` ``(H + 2C, H)`` hold the rows of the cell inputs (H), input gates
    (C) and output gates (C); the state is (h, c) = (y^c, s). ``g`` and ``h`` are the squashing functions,
    by default the paper's g = 4σ − 2 and h = 2σ − 1.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 block_size: int = 1, g: str = "g1997", h: str = "h1997", **kwargs: Any) -> None:
        from ..cells.block_cell import G_CHOICES, H_CHOICES
        from ..core.validation import check_choice, check_int

        self.block_size = check_int("LSTM1997(block_size=...)", block_size, minimum=1)
        if isinstance(hidden_size, int) and hidden_size % self.block_size:
            raise ShapeError(message("LSTM1997(hidden_size=...)", f"a multiple of block_size={self.block_size}",
                                     hidden_size))
        self.g = check_choice("LSTM1997(g=...)", g, G_CHOICES)
        self.h = check_choice("LSTM1997(h=...)", h, H_CHOICES)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, **kwargs)

    def _spec(self) -> str:
        return f"lstm1997:{self.g}:{self.h}:{self.block_size}"
