"""yetztml.learning.online pinned piece by piece: every refusal's text, which configurations take the compiled
path (T5), the counters and the rate it leaves, batch-first inputs, masks of size one, loss options, and
``online_sgd``'s checks and return values.

Tiny cells (one or two memory blocks, an RNN of 3 units) and data made here; each run is one or two items.
"""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.rnn import RNN
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError, UnsupportedError
from yetztml.learning import SGD, Adam, Clock, Trainer, decay_per_sequence, decay_per_step, online, online_sgd
from yetztml.learning.losses import squared_error

T, B, I, K = 4, 2, 2, 1
THING = "Trainer(update='step')"


def cell1997(**options):
    return LSTM1997(I, 2, 1, K, init_range=0.5, seed=3, **options)


def data(seed=0, steps=T, batch=B, outputs=K, inputs=I):
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((steps, batch, inputs))
    targets = gen.random((steps, batch, outputs))
    mask = gen.random((steps, batch)) < 0.6
    mask[-1] = True
    return x, targets, mask


def trainer(cell, items, lr=0.3, optimiser=None, **options):
    options.setdefault("method", "truncated1997")
    opt = SGD(cell.params, lr=lr) if optimiser is None else optimiser(cell.params)
    return Trainer(cell, list(items), optimiser=opt, update="step", progress=False, **options)


def params(cell):
    return {k: v.copy() for k, v in cell.params.items()}


def close(a, b, rtol=1e-12):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=1e-15, err_msg=k)


@pytest.fixture
def compiled_calls(monkeypatch):
    """How many items went through the compiled path (T5)."""
    calls = []
    original = online._update_compiled

    def spy(*args):
        calls.append(args[0].clock.step)
        return original(*args)

    monkeypatch.setattr(online, "_update_compiled", spy)
    return calls


# -- which configurations take the compiled path ------------------------------------------------------------
class MySGD(SGD):
    pass


@pytest.mark.parametrize(
    ("options", "compiled"),
    [
        ({}, True),
        ({"loss": squared_error}, True),
        ({"schedule": decay_per_step(0.9)}, True),
        ({"schedule": decay_per_step(0.9, reset_per_sequence=False)}, True),
        ({"loss": "mse"}, False),
        ({"loss": "smooth_l1"}, False),
        ({"optimiser": lambda p: SGD(p, lr=0.3, momentum=0.5)}, False),
        ({"optimiser": lambda p: MySGD(p, lr=0.3)}, False),
        ({"optimiser": lambda p: Adam(p, lr=0.3)}, False),
        ({"clip_value": 1e12}, False),
        ({"clip_norm": 1e12}, False),
        ({"schedule": decay_per_sequence(0.9)}, False),
        ({"gradient_options": {"mask": None}}, False),
        ({"method": "rtrl"}, False),
    ],
)
def test_the_compiled_path_is_taken_only_where_it_equals_the_general_one(compiled_calls, options, compiled):
    cell = cell1997()
    trainer(cell, [data()], **options).run(1)
    assert compiled_calls == ([0] if compiled else [])


def test_the_compiled_path_leaves_the_counters_and_rate_of_the_general_path(compiled_calls):
    items = [data(1), data(2)]
    fast, general = cell1997(), cell1997()
    a = trainer(fast, items, schedule=decay_per_step(0.8, reset_per_sequence=False))
    b = trainer(general, items, schedule=decay_per_step(0.8, reset_per_sequence=False), clip_norm=1e12)
    ha, hb = a.run(2), b.run(2)
    assert compiled_calls == [0, 1]
    assert a.clock == b.clock == Clock(step=2, updates=2 * B * T, sequences=2 * B, updates_in_sequence=T)
    assert a.optimiser.steps == b.optimiser.steps == 2 * B * T
    assert a.optimiser.lr == pytest.approx(0.3 * 0.8 ** (2 * B * T - 1), rel=1e-14)
    assert b.optimiser.lr == pytest.approx(a.optimiser.lr, rel=1e-14)
    assert ha.losses == pytest.approx(hb.losses, rel=1e-12)
    close(fast.params, general.params)
    assert ha.losses == pytest.approx(PINNED_LOSSES, rel=1e-10)


PINNED_LOSSES = [0.47289112822683044, 0.49350242097613034]


def test_a_per_sequence_count_restarts_in_the_kernel(compiled_calls):
    items = [data(3), data(22)]
    fast, general = cell1997(), cell1997()
    a = trainer(fast, items, schedule=decay_per_step(0.5))
    b = trainer(general, items, schedule=decay_per_step(0.5), clip_value=1e12)
    assert a.run(2).losses == pytest.approx(b.run(2).losses, rel=1e-12)
    assert compiled_calls == [0, 1]
    close(fast.params, general.params)
    assert a.optimiser.lr == b.optimiser.lr == pytest.approx(0.3 * 0.5 ** (T - 1), rel=1e-14)
    assert a.clock == b.clock == Clock(step=2, updates=2 * B * T, sequences=2 * B, updates_in_sequence=T)


def test_one_step_of_one_sequence_makes_only_the_first_update(compiled_calls):
    """T = 1, B = 1: the kernel has nothing left to do; the counters are those of the one update."""
    x, targets, mask = data(4, steps=1, batch=1)
    fast, general = cell1997(), cell1997()
    a = trainer(fast, [(x, targets, mask)], schedule=decay_per_step(0.5))
    b = trainer(general, [(x, targets, mask)], schedule=decay_per_step(0.5), clip_value=1e12)
    assert a.run(1).losses == b.run(1).losses
    assert compiled_calls == [0]
    assert a.clock == b.clock == Clock(step=1, updates=1, sequences=1, updates_in_sequence=1)
    assert a.optimiser.steps == 1 and a.optimiser.lr == b.optimiser.lr == 0.3
    close(fast.params, general.params)


# -- inputs: batch-first, masks, targets --------------------------------------------------------------------
def test_a_batch_first_cell_steps_through_time_on_axis_1():
    x, targets, mask = data(5, outputs=3)
    first, major = RNN(I, 3, seed=2, batch_first=True), RNN(I, 3, seed=2)
    a = trainer(first, [(np.swapaxes(x, 0, 1), np.swapaxes(targets, 0, 1), mask.T)], method="rtrl", lr=0.1)
    b = trainer(major, [(x, targets, mask)], method="rtrl", lr=0.1)
    assert a.run(1).losses == pytest.approx(b.run(1).losses, rel=1e-12)
    close(first.params, major.params)
    with pytest.raises(ShapeError) as info:
        trainer(RNN(I, 3, seed=2, batch_first=True), [(x[:, :, :1], targets)], method="rtrl").run(1)
    assert str(info.value) == f"{THING} x: expected shape (B, T, I) = (*, *, 2), got shape (4, 2, 1)"


def test_a_mask_of_size_one_is_broadcast_and_a_missing_mask_selects_every_step():
    x, targets, _ = data(6)
    last = np.zeros((T, 1), dtype=bool)
    last[-1] = True
    for extra in ({}, {"clip_value": 1e12}):
        shared = trainer(cell1997(), [(x, targets, last)], **extra).run(1).losses
        full = trainer(cell1997(), [(x, targets, np.broadcast_to(last, (T, B)).copy())], **extra).run(1).losses
        assert shared == pytest.approx(full, rel=1e-12)
        everything = trainer(cell1997(), [(x, targets)], **extra).run(1).losses
        ones = trainer(cell1997(), [(x, targets, np.ones((T, B), bool))], **extra).run(1).losses
        assert everything == pytest.approx(ones, rel=1e-12) and everything != shared


def test_refusals_name_the_input_and_what_was_given():
    x, targets, mask = data(7)
    cases = [
        ((x, targets, mask.astype(float)), DTypeError, f"{THING} mask: expected a boolean array, got dtype float64"),
        ((x, targets, mask[:3]), ShapeError,
         f"{THING} mask: expected shape (T, B) = (4, 2) (size 1 allowed), got (3, 2)"),
        ((x, targets, mask[:, 0]), ShapeError,
         f"{THING} mask: expected shape (T, B) = (4, 2) (size 1 allowed), got (4,)"),
        ((x, targets, mask[None]), ShapeError,
         f"{THING} mask: expected shape (T, B) = (4, 2) (size 1 allowed), got (1, 4, 2)"),
        ((x, list(targets)), DTypeError, f"{THING} targets: expected a numpy.ndarray (T, B, …), got list"),
        ((x, targets[:, 0, 0]), ShapeError, f"{THING} targets: expected leading axes (T, B) = (4, 2), got shape (4,)"),
        ((x, targets[:3]), ShapeError, f"{THING} targets: expected leading axes (T, B) = (4, 2), got shape (3, 2, 1)"),
        ((x, targets[:, :1]), ShapeError,
         f"{THING} targets: expected leading axes (T, B) = (4, 2), got shape (4, 1, 1)"),
    ]
    for item, error, text in cases:
        for extra in ({}, {"clip_value": 1e12}):
            with pytest.raises(error) as info:
                trainer(cell1997(), [item], **extra).run(1)
            assert str(info.value) == text, (text, extra)


def test_the_compiled_squared_error_checks_its_targets():
    x, targets, mask = data(8)
    wide = np.concatenate([targets, targets], axis=2)
    nan = targets.copy()
    nan[0, 0, 0] = np.nan  # selected by the mask below
    nan[1, 1, 0] = np.inf
    nan[2, 0, 0] = np.nan  # not selected
    select = np.zeros((T, B), bool)
    select[0, 0] = select[1, 1] = select[3, 1] = True  # two of three selected are not finite
    cases = [
        ((x, wide), ShapeError, f"{THING} targets: expected shape (T, B, K) = (4, 2, 1), got shape (4, 2, 2)"),
        ((x, (targets * 10).astype(np.int64)), DTypeError, f"{THING} targets: expected a float array, got dtype int64"),
        ((x, nan, select), NonFiniteError,
         f"{THING} targets: expected finite values at the selected positions, got 2 NaN/inf"),
    ]
    for item, error, text in cases:
        with pytest.raises(error) as info:
            trainer(cell1997(), [item]).run(1)
        if error is NonFiniteError:  # the trainer names the step
            text = f"Training step 0 (counting from 0): {text}. Last finite loss: none (first step). The cell " \
                   "keeps the weights from before this step."
        assert str(info.value) == text


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_narrow_float_targets_are_read_as_float64_by_the_kernel(dtype):
    x, targets, mask = data(9)
    cell = cell1997()
    a = trainer(cell, [(x, targets.astype(dtype), mask)]).run(1).losses
    b = trainer(cell1997(), [(x, targets.astype(dtype).astype(np.float64), mask)]).run(1).losses
    assert a == b


def test_methods_without_a_per_step_gradient_are_refused_by_name():
    with pytest.raises(UnsupportedError) as info:
        trainer(cell1997(), [data()], method="bptt").run(1)
    assert str(info.value) == (
        "Trainer(update='step') with method='bptt': expected a method with a gradient at every time step: "
        "'truncated1997' or 'rtrl', got 'bptt'. BPTT needs the whole sequence before its gradient exists; use "
        "update='sequence' or 'batch'.")


# -- loss options in the general path ----------------------------------------------------------------------------
def test_loss_options_reach_the_loss_and_method_options_are_refused():
    x, targets, mask = data(10)
    beta = [trainer(cell1997(), [(x, targets, mask)], loss="smooth_l1", gradient_options={"beta": b}).run(1).losses
            for b in (0.05, 0.05, 2.0)]
    assert beta[0] == beta[1] != beta[2]
    for key, text in [("k1", "'k1'"), ("truncate_recurrent", "'truncate_recurrent'"), ("gamma", "'gamma'")]:
        with pytest.raises(OptionError) as info:
            trainer(cell1997(), [data()], loss="smooth_l1", gradient_options={key: 1}).run(1)
        assert str(info.value) == (f"{THING}: gradient_options[{text}]: expected options of the loss only (method "
                                   f"'truncated1997' takes none), got {text}")
    seen = []

    def loss(outputs, targets, mask=None, **options):
        seen.append(options)
        return squared_error(outputs, targets, mask=mask)

    trainer(cell1997(), [(x, targets, mask)], loss=loss, gradient_options={"anything": 3}).run(1)
    assert seen == [{"anything": 3}] * (T * B)
    masks = []

    def recording(outputs, targets, mask=None):
        masks.append(None if mask is None else mask.tolist())
        return squared_error(outputs, targets, mask=mask)

    trainer(cell1997(), [(x, targets, mask)], loss=recording).run(1)
    assert masks == [[[bool(mask[t, b])]] for b in range(B) for t in range(T)]
    masks.clear()
    trainer(cell1997(), [(x, targets)], loss=recording).run(1)
    assert masks == [None] * (T * B)


def test_the_general_path_sums_the_loss_of_every_step():
    x, targets, mask = data(11)
    cell = cell1997()
    history = trainer(cell, [(x, targets, mask)], lr=0.0, clip_value=1e12).run(1)
    outputs = cell.forward(x).outputs
    want = sum(squared_error(outputs[t:t + 1, b:b + 1], targets[t:t + 1, b:b + 1], mask=mask[t:t + 1, b:b + 1])[0]
               for t in range(T) for b in range(B))
    assert history.losses[0] == pytest.approx(want, rel=1e-12)
    fast = trainer(cell1997(), [(x, targets, mask)], lr=0.0).run(1)
    assert fast.losses[0] == pytest.approx(want, rel=1e-12)


# -- non-finite weights after the kernel -------------------------------------------------------------------------
def test_weights_that_overflow_in_the_kernel_are_named():
    cell = LSTM1997(I, 2, 1, K, output="identity", init_range=0.5, seed=3)
    x, targets, _ = data(12, steps=30)
    with pytest.raises(NonFiniteError) as info:
        online_sgd(cell, x * 50, targets * 1e3, lr=1e300)
    assert str(info.value).endswith("after the per-step updates: expected finite values, got NaN/inf entries. "
                                    "Lower the learning rate.")
    assert str(info.value).startswith("parameter '")


def test_a_squared_error_that_overflows_is_refused_by_online_sgd():
    """With lr 0 the weights stay finite, but targets of 1e200 make the squared error overflow: online_sgd
    refuses the sum as the trainer's step mode does, instead of returning inf."""
    cell = LSTM1997(I, 2, 1, K, output="identity", init_range=0.5, seed=3)
    x, targets, _ = data(12)
    with pytest.raises(NonFiniteError) as info:
        online_sgd(cell, x, targets * 1e200, lr=0.0)
    assert str(info.value) == ("online_sgd: the squared error: expected a finite number, got inf. "
                               "Scale the targets (or the outputs) down.")


# -- online_sgd -----------------------------------------------------------------------------------------------
def test_online_sgd_returns_the_loss_and_the_final_count():
    x, targets, mask = data(13)
    cell = cell1997()
    loss, final = online_sgd(cell, x, targets, mask, lr=0.3, decay=0.9, reset_per_sequence=False, count=5)
    assert final == 5 + T * B
    ref = cell1997()
    ref_trainer = trainer(ref, [(x, targets, mask)], schedule=decay_per_step(0.9, reset_per_sequence=False))
    ref_trainer.clock.updates = 5  # the count online_sgd started from
    assert ref_trainer.run(1).losses[0] == pytest.approx(loss, rel=1e-12)
    close(cell.params, ref.params)
    _, final = online_sgd(cell1997(), x, targets, mask, lr=0.3, decay=0.9)
    assert final == T
    _, final = online_sgd(cell1997(), x, targets, lr=0.3, count=np.int64(2), reset_per_sequence=True)
    assert final == T
    loss0, final = online_sgd(cell1997(), x, targets, mask, lr=0.0)
    assert loss0 == pytest.approx(PINNED_ZERO_RATE, rel=1e-12) and final == T


PINNED_ZERO_RATE = 0.4622314385879896


def test_online_sgd_defaults_decay_1_and_no_reset():
    x, targets, mask = data(14)
    a, b = cell1997(), cell1997()
    online_sgd(a, x, targets, mask, lr=0.2)
    online_sgd(b, x, targets, mask, lr=0.2, decay=1.0, reset_per_sequence=True, count=0)
    close(a.params, b.params, rtol=0)
    c = cell1997()
    online_sgd(c, x, targets, mask, lr=0.2, decay=0.5)
    assert any(not np.array_equal(a.params[k], c.params[k]) for k in a.params)


def test_online_sgd_refusals():
    x, targets, mask = data(15)
    cases = [
        ({"lr": -0.1}, OptionError, "online_sgd(lr): expected a number >= 0.0, got -0.1"),
        ({"decay": 0.0}, OptionError, "online_sgd(decay): expected a number > 0.0, got 0.0"),
        ({"decay": 1.5}, OptionError, "online_sgd(decay): expected a number <= 1.0, got 1.5"),
        ({"reset_per_sequence": 1}, DTypeError, "online_sgd(reset_per_sequence): expected True or False, got 1"),
        ({"count": True}, OptionError, "online_sgd(count): expected an integer >= 0, got True"),
        ({"count": 1.0}, OptionError, "online_sgd(count): expected an integer >= 0, got 1.0"),
        ({"count": -1}, OptionError, "online_sgd(count): expected an integer >= 0, got -1"),
    ]
    for change, error, text in cases:
        with pytest.raises(error) as info:
            online_sgd(cell1997(), x, targets, mask, **{"lr": 0.1, **change})
        assert str(info.value) == text
    with pytest.raises(ShapeError) as info:
        online_sgd(cell1997(), x, targets, mask[:3], lr=0.1)
    assert str(info.value) == "online_sgd mask: expected shape (T, B) = (4, 2) (size 1 allowed), got (3, 2)"
    with pytest.raises(ShapeError) as info:
        online_sgd(cell1997(), x, targets[:2], lr=0.1)
    assert str(info.value) == "online_sgd targets: expected leading axes (T, B) = (4, 2), got shape (2, 2, 1)"
    with pytest.raises(ShapeError) as info:
        online_sgd(cell1997(), x[:, :, :1], targets, lr=0.1)
    assert str(info.value) == "online_sgd(x): expected shape (T, B, I) = (*, *, 2), got shape (4, 2, 1)"
    with pytest.raises(DTypeError) as info:
        online_sgd(cell1997(), x.astype(np.float32), targets, lr=0.1)
    assert str(info.value) == ("online_sgd(x): expected dtype float64 (the cell's dtype), got float32. Convert with "
                               ".astype(np.float64).")
    with pytest.raises(ShapeError) as info:
        online_sgd(cell1997(), x, np.concatenate([targets, targets], axis=2), lr=0.1)
    assert str(info.value) == "online_sgd targets: expected shape (T, B, K) = (4, 2, 1), got shape (4, 2, 2)"
    with pytest.raises(UnsupportedError) as info:
        online_sgd(RNN(I, 1), x, targets, lr=0.1)
    assert str(info.value).startswith("online_sgd: expected one of the cells")


@pytest.mark.parametrize("kind", ["float32", "nan", "list"])
def test_online_sgd_checks_the_weights(kind):
    x, targets, mask = data(16)
    cell = cell1997()
    name = next(iter(cell.params))
    if kind == "float32":
        cell.params[name] = cell.params[name].astype(np.float32)
    elif kind == "nan":
        cell.params[name][0] = np.nan
    else:
        cell.params[name] = cell.params[name].tolist()
    error = NonFiniteError if kind == "nan" else DTypeError
    with pytest.raises(error) as info:
        online_sgd(cell, x, targets, mask, lr=0.1)
    assert str(info.value).startswith(f"online_sgd: cell.params[{name!r}]")


@pytest.mark.parametrize(("batch", "inputs"), [(3, 2), (40, 1)])
def test_online_sgd_runs_each_of_more_sequences_than_inputs_from_the_zero_state(batch, inputs):
    """B sequences of I < B inputs: the same as B calls of one sequence each, the weights carried on (an initial
    state or accumulator sized by I instead of B would be read past its end)."""
    x, targets, mask = data(17, batch=batch, inputs=inputs)
    together, apart = (LSTM1997(inputs, 2, 1, K, init_range=0.5, seed=3) for _ in range(2))
    loss, final = online_sgd(together, x, targets, mask, lr=0.3, decay=0.9)
    losses = [online_sgd(apart, x[:, b:b + 1], targets[:, b:b + 1], mask[:, b:b + 1], lr=0.3, decay=0.9)[0]
              for b in range(batch)]
    assert loss == pytest.approx(sum(losses), rel=1e-12) and final == T
    close(together.params, apart.params)


def test_the_compiled_path_with_a_constant_rate_equals_the_general_one(compiled_calls):
    items = [data(18), data(19)]
    fast, general = cell1997(), cell1997()
    a = trainer(fast, items).run(2)
    b = trainer(general, items, clip_value=1e12).run(2)
    assert compiled_calls == [0, 1]
    assert a.losses == pytest.approx(b.losses, rel=1e-12)
    close(fast.params, general.params)


def test_a_cell_without_memory_blocks_is_refused_by_the_compiled_path():
    x, _, _ = data(20)
    cell = RNN(I, 3, seed=2)
    with pytest.raises(UnsupportedError) as info:
        trainer(cell, [(x, np.zeros((T, B, 3)))]).run(1)
    assert str(info.value) == (
        "Trainer(update='step') with method='truncated1997': expected one of the cells LSTM1997, LSTMForget and "
        "LSTMPeephole (the memory-block cells), got a RNN. The 1997 algorithm is defined for memory blocks; use "
        "method='bptt' or 'rtrl'.")


def test_the_non_finite_parameter_is_named():
    cell = cell1997()
    assert online._check_finite_params(cell) is None
    assert list(cell.params)[0] == "W_c"
    cell.params["W_k"][0, 0] = np.inf
    with pytest.raises(NonFiniteError) as info:
        online._check_finite_params(cell)
    assert str(info.value) == ("parameter 'W_k' after the per-step updates: expected finite values, got NaN/inf "
                               "entries. Lower the learning rate.")


def test_a_loss_that_overflows_in_the_kernel_is_named(monkeypatch):
    """Σ ℓ_t can overflow while every weight stays finite (terms near the largest float): the kernel's sum is
    replaced by inf here, the weights are those it computed."""
    original = online._run_online
    monkeypatch.setattr(online, "_run_online", lambda *args: (np.inf, *original(*args)[1:]))
    with pytest.raises(NonFiniteError) as info:
        trainer(cell1997(), [data(21)]).run(1)
    assert str(info.value) == ("Training step 0 (counting from 0): squared_error value: expected a finite number, got "
                               "inf. Last finite loss: none (first step). The cell keeps the weights from before this "
                               "step.")


def test_the_input_checks_of_a_time_major_cell_name_its_layout():
    x, targets, _ = data(23)
    cases = [
        ((x[:, :, :1], targets), ShapeError, f"{THING} x: expected shape (T, B, I) = (*, *, 2), got shape (4, 2, 1)"),
        ((x.astype(np.float32), targets), DTypeError,
         f"{THING} x: expected dtype float64 (the cell's dtype), got float32. Convert with .astype(np.float64)."),
        ((x, targets[:, :, 0]), ShapeError,
         f"{THING} targets: expected shape (T, B, K) = (4, 2, 1), got shape (4, 2)"),
    ]
    assert not hasattr(cell1997(), "batch_first")
    for item, error, text in cases:
        with pytest.raises(error) as info:
            trainer(cell1997(), [item]).run(1)
        assert str(info.value) == text


def test_the_general_path_refuses_a_cell_the_method_cannot_step():
    x, _, _ = data(24)
    with pytest.raises(UnsupportedError) as info:
        trainer(RNN(I, 3, seed=2), [(x, np.zeros((T, B, 3)))], clip_value=1e12).run(1)
    assert str(info.value).startswith(
        "Trainer(update='step') with method='truncated1997': expected one of the cells LSTM1997, LSTMForget and "
        "LSTMPeephole (the memory-block cells), got a RNN.")
