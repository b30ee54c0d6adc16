"""Cells: each recurrent cell as its numbered equations, forward and hand-derived backward."""

from .base import Cell, Grads, Trace, state_leaves

__all__ = ["Cell", "Grads", "Trace", "state_leaves"]
