"""Learning: losses, optimisers, gradient clipping, learning-rate schedules, gradient drivers, training loop.

Gradient methods (``METHODS``): "bptt", "tbptt", "rtrl" (real-time recurrent learning) and "truncated1997"
(the 1997 forward algorithm). Update modes (``UPDATE_MODES``): "batch", "sequence" and "step" (after every
time step, :mod:`~yetztml.learning.online`).

See docs/learning.md for the equations, the truncated-BPTT definition and the checkpoint format.
"""

from . import checkpoint
from .clipping import clip_by_global_norm, clip_by_value, global_norm
from .gradients import METHODS, gradients
from .losses import LOSSES, mse, smooth_l1, softmax_cross_entropy, squared_error
from .online import STEPPERS, online_sgd
from .optimisers import SGD, Adam, Optimiser
from .schedules import Clock, constant, decay_per_sequence, decay_per_step
from .trainer import UPDATE_MODES, Batch, History, Trainer, train

__all__ = [
    "LOSSES",
    "METHODS",
    "SGD",
    "STEPPERS",
    "UPDATE_MODES",
    "Adam",
    "Batch",
    "Clock",
    "History",
    "Optimiser",
    "Trainer",
    "checkpoint",
    "clip_by_global_norm",
    "clip_by_value",
    "constant",
    "decay_per_sequence",
    "decay_per_step",
    "global_norm",
    "gradients",
    "mse",
    "online_sgd",
    "smooth_l1",
    "softmax_cross_entropy",
    "squared_error",
    "train",
]
