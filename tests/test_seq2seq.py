"""Seq2Seq (S2S1)–(S2S12): finite differences for every parameter, padding, PyTorch modules."""

import numpy as np
import pytest

from yetztml.core.errors import OptionError, ShapeError
from yetztml.models import check_model, load, save
from yetztml.models.seq2seq import Seq2Seq, pack_pairs

SRC = np.array([[4, 5], [6, 7], [8, 0]])
SRC_LEN = np.array([3, 2])
TGT_IN = np.array([[2, 2], [5, 6], [7, 0], [4, 0]])
TGT_LEN = np.array([4, 2])


def _inputs(fill=0):
    tgt = np.where(TGT_IN == 0, fill, TGT_IN)
    return pack_pairs(SRC, SRC_LEN, tgt, TGT_LEN)


CONFIGS = [
    ("lstm", "luong-general", True, 1),
    pytest.param("lstm", "luong-general", True, 2, marks=pytest.mark.slow),
    pytest.param("lstm", "bahdanau", True, 1, marks=pytest.mark.slow),
    pytest.param("lstm", "luong-dot", False, 1, marks=pytest.mark.slow),
    ("lstm", "none", True, 1),
    ("gru", "bahdanau", False, 2),
    pytest.param("gru", "luong-general", True, 1, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("cell", "attention", "bi", "layers"), CONFIGS)
def test_finite_differences_every_parameter(cell, attention, bi, layers):
    # padding positions of the decoder input hold a real word (3), so that every logit's gradient
    # reaches the embedding table as the finite differences see it
    x, lengths = _inputs(fill=3)
    model = Seq2Seq(10, 9, 4, 3, cell=cell, attention=attention, bidirectional=bi, encoder_layers=layers,
                    dropout=0.3, seed=1)
    errors = check_model(model, x, np.random.default_rng(0), lengths=lengths, eps=1e-4)
    assert set(errors) == set(model.params)
    assert max(errors.values()) < 1e-6, errors


def test_padding_never_changes_a_valid_logit_and_gets_no_gradient():
    model = Seq2Seq(10, 9, 4, 3, attention="bahdanau", seed=1).eval()
    x, lengths = _inputs()
    out = model.forward(x, lengths=lengths).outputs
    other_src = SRC.copy()
    other_src[2, 1] = 9  # the padding of source sentence 1
    other_tgt = TGT_IN.copy()
    other_tgt[2:, 1] = 8  # the padding of target sentence 1
    y, _ = pack_pairs(other_src, SRC_LEN, other_tgt, TGT_LEN)
    again = model.forward(y, lengths=lengths).outputs
    assert np.array_equal(again[:, 0], out[:, 0])
    assert np.array_equal(again[:2, 1], out[:2, 1])
    assert not np.array_equal(again[2:, 1], out[2:, 1])  # padding steps compute something, unread
    trace = model.forward(x, lengths=lengths)
    d = np.random.default_rng(0).standard_normal(out.shape)
    d[2:, 1] = 0.0  # the loss reads no padding step
    g = model.backward(trace, d)
    assert np.all(g["encoder.0.weight"][9] == 0.0) and np.all(g["tgt_embedding.weight"][8] == 0.0)


def test_without_attention_the_source_reaches_the_decoder_through_the_bridge():
    model = Seq2Seq(10, 9, 4, 3, attention="none", seed=1)
    x, lengths = _inputs()
    y = x.copy()
    y[0, 0] = 9
    assert "attention.W" not in model.params
    a, b = model.forward(x, lengths=lengths).outputs, model.forward(y, lengths=lengths).outputs
    assert not np.allclose(a[:, 0], b[:, 0]) and np.array_equal(a[:, 1], b[:, 1])


def test_save_load_round_trip(tmp_path):
    model = Seq2Seq(10, 9, 4, 3, cell="gru", attention="luong-general", seed=2)
    save(model, tmp_path / "m")
    again = load(tmp_path / "m", classes={"Seq2Seq": Seq2Seq})
    x, lengths = _inputs()
    assert np.array_equal(again.forward(x, lengths=lengths).outputs, model.eval().forward(x, lengths=lengths).outputs)


def test_bad_inputs():
    model = Seq2Seq(10, 9, 4, 3, seed=1)
    x, lengths = _inputs()
    with pytest.raises(ShapeError, match="source and target lengths"):
        model.forward(x)
    with pytest.raises(ShapeError, match=r"lengths \(B, 2\)"):
        model.forward(x, lengths=SRC_LEN)
    with pytest.raises(OptionError, match="target lengths in"):
        model.forward(x, lengths=np.array([[3, 5], [2, 2]]))
    with pytest.raises(OptionError, match="token ids in"):
        model.forward(np.where(x == 8, 11, x), lengths=lengths)
    with pytest.raises(OptionError, match="luong-dot"):
        Seq2Seq(10, 9, 4, 3, attention="luong-dot", bidirectional=True)


@pytest.mark.torch
@pytest.mark.parametrize(("cell", "attention", "bi", "layers"), CONFIGS)
def test_agrees_with_the_model_built_from_pytorch_modules(cell, attention, bi, layers):
    torch = pytest.importorskip("torch")
    from yetztml.interop.torch_seq2seq import torch_seq2seq

    torch.set_num_threads(1)
    model = Seq2Seq(10, 9, 4, 3, cell=cell, attention=attention, bidirectional=bi, encoder_layers=layers,
                    seed=3)
    x, lengths = _inputs()
    trace = model.forward(x, lengths=lengths)
    d = np.random.default_rng(0).standard_normal(trace.outputs.shape)
    d[2:, 1] = 0.0  # the loss reads no padding step
    grads = model.backward(trace, d)
    module = torch_seq2seq(model)
    logits = module(torch.tensor(SRC), torch.tensor(SRC_LEN), torch.tensor(TGT_IN))
    (logits * torch.tensor(d)).sum().backward()
    np.testing.assert_allclose(trace.outputs[:, 0], logits.detach().numpy()[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.outputs[:2, 1], logits.detach().numpy()[:2, 1], rtol=0, atol=1e-12)
    assert set(module.ours) == set(model.params)
    for name, param in module.ours.items():
        np.testing.assert_allclose(grads[name], param.grad.numpy(), rtol=0, atol=1e-11, err_msg=name)


def test_init_range_redraws_every_array_the_parts_use_and_keeps_the_padding_rows_zero(tmp_path):
    default = Seq2Seq(30, 25, 6, 5, dropout=0.1, seed=4)
    model = Seq2Seq(30, 25, 6, 5, dropout=0.1, init_range=0.05, seed=4)
    assert list(model.params) == list(default.params)
    for key, value in model.params.items():
        assert np.abs(value).max() <= 0.05, key
        assert not np.array_equal(value, default.params[key]), key
    # the parts compute with the redrawn arrays themselves, not with copies
    bi = model.encoder.parts[2]
    assert bi.forward_cell.params["weight_ih_l0"] is model.params["encoder.2.forward.weight_ih_l0"]
    assert model.decoder.params["weight_hh_l0"] is model.params["decoder.weight_hh_l0"]
    assert model.attention.params["W"] is model.params["attention.W"]
    table = model.params["tgt_embedding.weight"]
    assert not table[0].any() and not model.params["encoder.0.weight"][0].any()
    every = np.concatenate([v.ravel() for v in model.params.values()])
    assert every.max() > 0.0499 and every.min() < -0.0499 and abs(every.mean()) < 0.002  # U(−r, r), centred
    again = Seq2Seq(30, 25, 6, 5, dropout=0.1, init_range=0.05, seed=4)
    assert all(np.array_equal(again.params[k], v) for k, v in model.params.items())  # seeded
    assert default.init_range is None and model.config()["init_range"] == 0.05
    save(model, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.init_range == 0.05
    assert all(np.array_equal(loaded.params[k], v) for k, v in model.params.items())
    with pytest.raises(OptionError, match=r"Seq2Seq\(init_range\): expected a number > 0"):
        Seq2Seq(30, 25, 6, 5, init_range=0.0)
