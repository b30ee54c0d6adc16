"""The PyTorch eager reference of benchmarks/bench_truncated1997.py does the same work as the library.

Same 93-weight Exp 4 net, same initial weights, same adding-task sequences, float64: the reference's
gradients equal the 1997 truncated gradient (and, without ``.detach()``, full BPTT), and after several
sequences of per-sequence SGD its weights equal those of ``online_sgd`` and of ``gradients`` + ``SGD``.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.core.gradcheck import relative_error
from yetztml.learning import SGD, gradients, online_sgd
from yetztml.tasks import make_task

torch.set_num_threads(1)

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "torch_lstm1997.py"
_SPEC = importlib.util.spec_from_file_location("torch_lstm1997", _PATH)
reference = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(reference)

LR = 0.25  # the paper's α = 0.5 with e_k = f'(t − y), as the squared error's learning rate


def _cell(seed: int = 1, **options) -> LSTM1997:
    kwargs = {"bias": "all", "init_range": 0.1, "input_gate_bias": [-3.0, -6.0], "seed": seed, **options}
    return LSTM1997(2, 2, 2, 1, **kwargs)


def _samples(n: int, T: int = 100, seed: int = 3):
    task = make_task("4", seed=seed, T=T)
    return [task.sample() for _ in range(n)]


def _padded(samples):
    """(T, B, I) inputs, (T, B, K) targets and the (T, B) error mask, sequences padded to the longest."""
    T, n = max(s.length for s in samples), len(samples)
    x, targets, mask = np.zeros((T, n, 2)), np.zeros((T, n, 1)), np.zeros((T, n), bool)
    for i, s in enumerate(samples):
        x[: s.length, i], targets[: s.length, i], mask[: s.length, i] = s.x, s.targets, s.mask
    return x, targets, mask


def _max_abs_diff(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def test_the_net_has_the_papers_93_weights():
    ref = reference.TorchLSTM1997.from_cell(_cell())
    assert sum(w.numel() for w in ref.params.values()) == 93


@pytest.mark.parametrize("seed", [1, 2])
def test_one_sequence_gradient_is_the_truncated_gradient(seed):
    """detach ⇒ method='truncated1997'; no detach ⇒ method='bptt'; and the two differ."""
    cell = _cell(seed)
    sample = _samples(1, seed=seed)[0]
    x, targets, mask = sample.x[:, None], sample.targets[:, None], sample.mask[:, None]
    xs, ends = reference.sequences([sample])
    value, ours = gradients(cell, x, targets, method="truncated1997", mask=mask)
    torch_value, theirs = reference.TorchLSTM1997.from_cell(cell).gradients(xs[0], ends[0])
    assert abs(value - torch_value) <= 1e-14
    for name in cell.params:
        assert relative_error(ours[name], theirs[name]) <= 1e-12, name
    _, full = gradients(cell, x, targets, method="bptt", mask=mask)
    _, full_torch = reference.TorchLSTM1997.from_cell(cell, truncate=False).gradients(xs[0], ends[0])
    for name in cell.params:
        assert relative_error(full[name], full_torch[name]) <= 1e-12, name
    assert max(relative_error(full[name], ours[name]) for name in cell.params) > 1e-3


def test_weights_agree_after_training():
    """Eight sequences of per-sequence SGD: the reference, online_sgd and gradients + SGD end equal."""
    cell = _cell()
    samples = _samples(8)
    ref = reference.TorchLSTM1997.from_cell(cell)
    losses = ref.train(*reference.sequences(samples), LR)
    theirs = ref.numpy_params()

    online = copy.deepcopy(cell)
    online_loss, _ = online_sgd(online, *_padded(samples), lr=LR)

    stepped = copy.deepcopy(cell)
    optimiser = SGD(stepped.params, LR)
    for s in samples:
        _, grads = gradients(stepped, s.x[:, None], s.targets[:, None], method="truncated1997", mask=s.mask[:, None])
        optimiser.step(grads)

    assert _max_abs_diff(cell.params, theirs) > 1e-3  # the weights did move
    assert _max_abs_diff(online.params, theirs) <= 1e-10
    assert _max_abs_diff(stepped.params, theirs) <= 1e-10
    assert abs(online_loss - losses) <= 1e-12


def test_float32_reference_runs_close_to_float64():
    cell = _cell()
    samples = _samples(3)
    ref64 = reference.TorchLSTM1997.from_cell(cell)
    ref32 = reference.TorchLSTM1997.from_cell(cell, dtype=torch.float32)
    ref64.train(*reference.sequences(samples), LR)
    ref32.train(*reference.sequences(samples, torch.float32), LR)
    assert ref32.numpy_params()["W_c"].dtype == np.float32
    assert _max_abs_diff(ref32.numpy_params(), ref64.numpy_params()) <= 1e-5


def test_reference_refuses_other_configurations():
    with pytest.raises(ValueError, match="Exp 4 configuration"):
        reference.TorchLSTM1997.from_cell(_cell(bias="gates", input_gate_bias=None))
    sample = make_task("4", seed=0, T=20).sample()
    sample.mask[0] = True
    with pytest.raises(ValueError, match="last step only"):
        reference.sequences([sample])
