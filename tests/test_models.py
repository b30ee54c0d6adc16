"""Models: Sequential and Bidirectional chain their parts' hand-derived backwards (finite differences,
PyTorch's packed bidirectional LSTM), padding never changes anything, save/load round-trips without
pickle, and capabilities are declared rather than guessed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cellchecks import raises
from yetztml.cells import GRU, LSTM, LSTM1997, RNN
from yetztml.core.errors import CheckpointError, DTypeError, OptionError, ShapeError, UnsupportedError
from yetztml.core.gradcheck import relative_error
from yetztml.layers import Dropout, Embedding, Linear, Pool
from yetztml.learning import gradients
from yetztml.models import Bidirectional, Sequential, check_model, load, save

V, D, H, C = 9, 3, 4, 3


def text_model(cell="lstm", pool="max", seed=0, dropout=0.0):
    make = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    return Sequential(
        Embedding(V, D, padding_idx=0, seed=seed),
        Dropout(D, dropout, seed=seed + 1),
        Bidirectional(make(D, H, seed=seed + 2), make(D, H, seed=seed + 3)),
        Pool(2 * H, pool),
        Linear(2 * H, C, seed=seed + 4),
    )


# -- gradients --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_text_model_gradients_match_finite_differences(rng, cell):
    model = text_model(cell, dropout=0.3)
    ids = rng.integers(1, V, (6, 3))
    lengths = np.array([6, 2, 4])
    ids[2:, 1] = 0
    ids[4:, 2] = 0
    errors = check_model(model, ids, rng, lengths=lengths)
    del errors["0.weight"]  # row 0 is padding: zero gradient by convention, checked separately below
    assert max(errors.values()) < 1e-7, errors
    ok = Sequential(Embedding(V, D, seed=1), LSTM(D, H, seed=2), Linear(H, C, steps="last", seed=3))
    assert check_model(ok, ids, rng, lengths=lengths)["0.weight"] < 1e-7


def test_regression_model_with_state_matches_finite_differences(rng):
    model = Sequential(LSTM(2, H, num_layers=2, seed=1), Dropout(H, 0.2, seed=5), Linear(H, 1, seed=2))
    x = rng.standard_normal((5, 2, 2))
    errors = check_model(model, x, rng)
    assert {"inputs", "initial_state", "0.weight_hh_l1", "2.weight"} <= set(errors)
    assert set(errors) == {*model.params, "inputs", "initial_state"}  # every parameter checked, none skipped
    assert max(errors.values()) < 1e-7, errors


def test_sequential_backward_is_the_chain_of_its_parts(rng):
    lstm, head = LSTM(2, H, seed=1), Linear(H, 1, seed=2)
    model = Sequential(lstm, head, names=["rnn", "head"])
    assert model.params["rnn.weight_ih_l0"] is lstm.params["weight_ih_l0"]  # the parts' own arrays
    x = rng.standard_normal((4, 2, 2))
    d = rng.standard_normal((4, 2, 1))
    g = model.backward(model.forward(x), d)
    t1 = lstm.forward(x)
    t2 = head.forward(t1.outputs)
    g2 = head.backward(t2, d)
    g1 = lstm.backward(t1, g2.inputs)
    np.testing.assert_array_equal(g["head.weight"], g2["weight"])
    np.testing.assert_array_equal(g["rnn.weight_hh_l0"], g1["weight_hh_l0"])
    np.testing.assert_array_equal(g.inputs, g1.inputs)


# -- bidirectional = PyTorch packed ------------------------------------------------------------------
@pytest.mark.torch
def test_bidirectional_equals_torch_packed_bidirectional_lstm(rng):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    module = torch.nn.LSTM(D, H, bidirectional=True, dtype=torch.float64)
    fwd, rev = LSTM(D, H), LSTM(D, H)
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    fwd.load_params({k: v for k, v in state.items() if not k.endswith("_reverse")})
    rev.load_params({k[: -len("_reverse")]: v for k, v in state.items() if k.endswith("_reverse")})
    model = Bidirectional(fwd, rev)
    T, B = 6, 3
    lengths = np.array([6, 2, 4])
    x = rng.standard_normal((T, B, D))
    d = rng.standard_normal((T, B, 2 * H)) * (np.arange(T)[:, None] < lengths)[..., None]
    xt = torch.tensor(x, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
    out, _ = module(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    (out * torch.tensor(d)).sum().backward()
    trace = model.forward(x, lengths=lengths)
    valid = (np.arange(T)[:, None] < lengths)[..., None]
    assert relative_error(trace.outputs * valid, out.detach().numpy()) < 1e-13
    grads = model.backward(trace, d)
    for name, p in module.named_parameters():
        ours = grads[f"reverse.{name[: -len('_reverse')]}" if name.endswith("_reverse") else f"forward.{name}"]
        assert relative_error(ours, p.grad.numpy()) < 1e-12, name
    assert relative_error(grads.inputs * valid, xt.grad.numpy()) < 1e-12


def test_padding_never_changes_logits_loss_or_gradients(rng):
    model = text_model("lstm", pool="mean", dropout=0.0)
    sentence = np.array([3, 7, 1, 5])
    logits, losses, grads = [], [], []
    for padded in (4, 6, 9):
        ids = np.zeros((padded, 2), dtype=np.int64)
        ids[:4, 0] = sentence
        ids[:2, 1] = [2, 8]
        lengths = np.array([4, 2])
        logits.append(model.forward(ids, lengths=lengths).outputs)
        value, g = gradients(model, ids, np.array([[1, 0]]), loss="cross_entropy", lengths=lengths)
        losses.append(value)
        grads.append(g)
    for other in range(1, 3):
        np.testing.assert_array_equal(logits[other], logits[0])
        assert losses[other] == losses[0]
        for key in model.params:
            np.testing.assert_allclose(grads[other][key], grads[0][key], rtol=0, atol=1e-15, err_msg=key)


# -- save / load -------------------------------------------------------------------------------------
def test_save_load_round_trip_and_metadata(tmp_path, rng):
    model = text_model("gru", dropout=0.5)
    save(model, tmp_path / "m", metadata={"labels": ["no", "yes", "maybe"]})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.npz"]
    back = load(tmp_path / "m")
    assert back.metadata == {"labels": ["no", "yes", "maybe"]}
    assert not back.training and back.describe().splitlines()[0] == model.describe().splitlines()[0]
    ids = rng.integers(0, V, (5, 2))
    model.eval()
    np.testing.assert_array_equal(back.forward(ids, lengths=np.array([5, 3])).outputs,
                                  model.forward(ids, lengths=np.array([5, 3])).outputs)
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as data:
        assert sorted(data.files) == sorted(model.params)


def test_save_load_a_bare_memory_block_cell(tmp_path, rng):
    cell = LSTM1997(2, 2, 2, 1, bias="gates", input_gate_bias=[-1.0, -2.0], seed=3)
    save(cell, tmp_path / "c")
    back = load(tmp_path / "c")
    assert type(back) is LSTM1997 and back.config() == cell.config()
    x = rng.standard_normal((4, 1, 2))
    np.testing.assert_array_equal(back.forward(x).outputs, cell.forward(x).outputs)


def test_load_refuses_corrupt_or_foreign_directories(tmp_path):
    save(Linear(2, 1), tmp_path / "m")
    spec = json.loads((tmp_path / "m" / "model.json").read_text())
    with raises(CheckpointError, "a model.json file"):
        load(tmp_path / "nothing")
    (tmp_path / "m" / "model.json").write_text(json.dumps({**spec, "version": 99}))
    with raises(CheckpointError, "version 1", "99"):
        load(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text(json.dumps({**spec, "model": {"class": "Mystery"}}))
    with raises(CheckpointError, "'Mystery'", "classes="):
        load(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("{not json")
    with raises(CheckpointError, "valid JSON"):
        load(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text(json.dumps(spec))
    (tmp_path / "m" / "weights.npz").write_bytes(b"garbage")
    with raises(CheckpointError, "a readable .npz file"):
        load(tmp_path / "m")


# -- validation and declared capabilities -------------------------------------------------------------
def test_composition_errors_name_the_fix():
    with raises(ShapeError, "part '1' (Linear)", "input size 4", "Build Linear with input size 4"):
        Sequential(LSTM(2, 4), Linear(5, 1))
    with raises(DTypeError, "a yetztml cell, layer or model", "docs/protocol.md"):
        Sequential(LSTM(2, 4), lambda z: z)
    with raises(DTypeError, "parts of one dtype"):
        Sequential(LSTM(2, 4), Linear(4, 1, dtype=np.float32))
    with raises(DTypeError, "Embedding.forward(x): expected integer token ids"):
        Sequential(Linear(2, 3), Embedding(3, 2)).forward(np.zeros((1, 1, 2)))
    with raises(OptionError, "a model with a part that uses lengths", "Pool"):
        Sequential(LSTM(2, 3)).forward(np.zeros((1, 1, 2)), lengths=np.array([1]))


def test_capabilities_are_declared_not_inherited(rng):
    class MyLSTM(LSTM):
        """Other equations could live here: nothing may assume LSTM's mathematics."""

    class MyBlocks(LSTM1997):
        """Ditto for the memory-block cell."""

    x = rng.standard_normal((3, 1, 2))
    assert LSTM.supports("rtrl") and not MyLSTM.supports("rtrl")
    with raises(UnsupportedError, "a MyLSTM", "Use method='bptt'"):
        gradients(MyLSTM(2, 3), x, np.zeros((3, 1, 3)), method="rtrl")
    with raises(UnsupportedError, "a MyBlocks"):
        gradients(MyBlocks(2, 1, 1, 1), x, np.zeros((3, 1, 1)), truncate_recurrent=True)
    with raises(UnsupportedError, "a MyBlocks"):
        gradients(MyBlocks(2, 1, 1, 1), x, np.zeros((3, 1, 1)), method="truncated1997")
    with raises(UnsupportedError, "a model with a part that takes lengths"):
        gradients(LSTM(2, 3), x, np.zeros((3, 1, 3)), lengths=np.array([2]))
    assert text_model().supports("lengths") and text_model().supports("stochastic")
    assert not text_model().supports("truncate")
