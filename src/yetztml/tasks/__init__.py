"""Data generators of the 1997 LSTM experiments (and Gers 2000's continual embedded Reber stream).

Each task owns a seeded ``numpy.random.Generator``, draws :class:`Sample` objects (``x`` (T, I),
``targets`` (T, K), ``mask`` (T,), ``info``), pads them into time-major :class:`Batch` objects, checks
outputs with the paper's success criterion (``correct``) and states the best constant predictor
(``baseline``). See ``docs/tasks.md`` for the encodings, the criteria and every reading of the paper.

==========  ===============================  ==============================================
name        class                            paper
==========  ===============================  ==============================================
``1``       :class:`EmbeddedReber`           1997 §5.1, embedded Reber grammar
``cerg``    :class:`ContinualEmbeddedReber`  Gers 2000 §4, continual embedded Reber stream
``2a``      :class:`LongLag` ("2a")          1997 §5.2, noise-free long lags
``2b``      :class:`LongLag` ("2b")          1997 §5.2, no local regularities
``2c``      :class:`LongLag` ("2c")          1997 §5.2, very long lags with distractors
``3a``      :class:`TwoSequence` ("3a")      1997 §5.3, 2-sequence problem
``3b``      :class:`TwoSequence` ("3b")      1997 §5.3, noise on the information elements
``3c``      :class:`TwoSequence` ("3c")      1997 §5.3, noisy targets
``4``       :class:`Adding`                  1997 §5.4, adding problem
``5``       :class:`Multiplication`          1997 §5.5, multiplication problem
``6a``      :class:`TemporalOrder` ("6a")    1997 §5.6, two relevant symbols
``6b``      :class:`TemporalOrder` ("6b")    1997 §5.6, three relevant symbols
==========  ===============================  ==============================================

>>> task = make_task("2c", p=50, q=50, seed=0)
>>> task.input_size, task.output_size, task.describe()["options"]
(54, 2, {'variant': '2c', 'p': 50, 'q': 50})
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..core.errors import OptionError, message
from ..core.validation import check_choice
from .adding import Adding
from .base import Baseline, Batch, Sample, Task, constant_errors
from .bss import (
    SOURCE_SETS,
    BSSBatch,
    BSSTask,
    chords,
    context_grid,
    ica_style,
    make_sources,
    random_mixing,
    sines,
)
from .longlag import LongLag
from .multiplication import Multiplication
from .reber import EMBEDDED_REBER, REBER, ContinualEmbeddedReber, EmbeddedReber, Grammar
from .temporal_order import TemporalOrder
from .two_sequence import TwoSequence

#: name -> (class, fixed constructor arguments)
REGISTRY: dict[str, tuple[type[Task], dict[str, Any]]] = {
    "1": (EmbeddedReber, {}),
    "cerg": (ContinualEmbeddedReber, {}),
    "2a": (LongLag, {"variant": "2a"}),
    "2b": (LongLag, {"variant": "2b"}),
    "2c": (LongLag, {"variant": "2c"}),
    "3a": (TwoSequence, {"variant": "3a"}),
    "3b": (TwoSequence, {"variant": "3b"}),
    "3c": (TwoSequence, {"variant": "3c"}),
    "4": (Adding, {}),
    "5": (Multiplication, {}),
    "6a": (TemporalOrder, {"variant": "6a"}),
    "6b": (TemporalOrder, {"variant": "6b"}),
}


def make_task(name: str, *, seed: int | np.random.Generator, **options: Any) -> Task:
    """Build the task registered as ``name`` (see the table above) with its options and seed."""
    name = str(check_choice("make_task(name)", name, tuple(REGISTRY)))
    cls, fixed = REGISTRY[name]
    allowed = [p for p in inspect.signature(cls).parameters if p != "seed" and p not in fixed]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise OptionError(
            message(f"make_task({name!r}) options", "a subset of " + ", ".join(allowed), ", ".join(unknown))
        )
    return cls(**fixed, **options, seed=seed)


__all__ = [
    "BSSBatch",
    "BSSTask",
    "SOURCE_SETS",
    "chords",
    "context_grid",
    "ica_style",
    "make_sources",
    "random_mixing",
    "sines",
    "EMBEDDED_REBER",
    "REBER",
    "REGISTRY",
    "Adding",
    "Baseline",
    "Batch",
    "ContinualEmbeddedReber",
    "EmbeddedReber",
    "Grammar",
    "LongLag",
    "Multiplication",
    "Sample",
    "Task",
    "TemporalOrder",
    "TwoSequence",
    "constant_errors",
    "make_task",
]
