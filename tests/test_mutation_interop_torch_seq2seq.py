"""yetztml.interop.torch_seq2seq beyond the configurations of tests/test_seq2seq.py: dot attention, two
bidirectional GRU layers and float32 agree with the model; the dropout rate is the model's or the one given,
and applies where the model applies it; the padding word's embedding row gets no gradient."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.interop.torch_seq2seq import torch_seq2seq
from yetztml.models.seq2seq import Seq2Seq, pack_pairs

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
torch.set_num_threads(1)

SRC = np.array([[4, 5], [6, 7], [8, 0]])
SRC_LEN = np.array([3, 2])
TGT_IN = np.array([[2, 2], [5, 6], [7, 0], [4, 0]])
TGT_LEN = np.array([4, 2])


def _run(module):
    return module(torch.tensor(SRC), torch.tensor(SRC_LEN), torch.tensor(TGT_IN))


@pytest.mark.parametrize(("cell", "attention", "bi", "layers", "dtype", "tol"), [
    ("lstm", "luong-dot", False, 1, np.float64, 1e-12),
    ("gru", "luong-general", True, 2, np.float64, 1e-12),
    ("lstm", "bahdanau", True, 2, np.float32, 1e-5),
])
def test_logits_and_gradients_agree_with_the_model(cell, attention, bi, layers, dtype, tol):
    model = Seq2Seq(10, 9, 4, 3, cell=cell, attention=attention, bidirectional=bi, encoder_layers=layers,
                    seed=5, dtype=dtype)
    x, lengths = pack_pairs(SRC, SRC_LEN, TGT_IN, TGT_LEN)
    trace = model.forward(x, lengths=lengths)
    d = np.random.default_rng(1).standard_normal(trace.outputs.shape).astype(dtype)
    d[2:, 1] = 0.0  # the loss reads no padding step
    grads = model.backward(trace, d)
    module = torch_seq2seq(model)
    logits = _run(module)
    assert logits.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
    (logits * torch.tensor(d)).sum().backward()
    got = logits.detach().numpy()
    np.testing.assert_allclose(got[:, 0], trace.outputs[:, 0], rtol=0, atol=tol)
    np.testing.assert_allclose(got[:2, 1], trace.outputs[:2, 1], rtol=0, atol=tol)
    assert set(module.ours) == set(model.params)
    for name, param in module.ours.items():
        assert param.dtype == logits.dtype
        np.testing.assert_allclose(param.grad.numpy(), grads[name], rtol=0, atol=100 * tol, err_msg=name)


def test_dropout_rate_is_the_models_unless_one_is_given():
    model = Seq2Seq(10, 9, 4, 3, dropout=0.3, seed=1)
    assert torch_seq2seq(model).drop.p == 0.3
    assert torch_seq2seq(model, dropout=0.0).drop.p == 0.0
    assert torch_seq2seq(model, dropout=0.5).drop.p == 0.5


def test_full_dropout_leaves_only_the_readout_bias_and_eval_mode_none():
    model = Seq2Seq(10, 9, 4, 3, attention="bahdanau", encoder_layers=2, seed=1)
    model.params["readout.bias"][:] = np.arange(9) / 10.0
    module = torch_seq2seq(model, dropout=1.0)
    logits = _run(module.train()).detach().numpy()
    np.testing.assert_array_equal(logits, np.broadcast_to(np.arange(9) / 10.0, (4, 2, 9)))
    x, lengths = pack_pairs(SRC, SRC_LEN, TGT_IN, TGT_LEN)
    evaluated = _run(module.eval()).detach().numpy()
    np.testing.assert_allclose(evaluated[:, 0], model.eval().forward(x, lengths=lengths).outputs[:, 0],
                               rtol=0, atol=1e-12)


def test_padding_word_row_gets_no_gradient_even_where_it_is_read():
    model = Seq2Seq(10, 9, 4, 3, seed=2)
    module = torch_seq2seq(model)
    src = torch.tensor([[4, 5], [0, 7], [8, 0]])  # a 0 inside sentence 0
    tgt = torch.tensor([[2, 2], [0, 6], [7, 0], [4, 0]])
    logits = module(src, torch.tensor([3, 3]), tgt)
    logits.sum().backward()
    assert torch.all(module.src_emb.weight.grad[0] == 0) and torch.any(module.src_emb.weight.grad[4] != 0)
    assert torch.all(module.tgt_emb.weight.grad[0] == 0) and torch.any(module.tgt_emb.weight.grad[7] != 0)


@pytest.mark.parametrize(("attention", "combine_in"), [("luong-general", 3 + 6), ("none", 3)])
def test_module_sizes_and_padding_index(attention, combine_in):
    module = torch_seq2seq(Seq2Seq(10, 9, 4, 3, attention=attention, seed=1))
    assert (module.src_emb.padding_idx, module.tgt_emb.padding_idx) == (0, 0)
    assert (module.cell.input_size, module.cell.hidden_size) == (4 + 3, 3)
    assert (module.combine.in_features, module.combine.out_features) == (combine_in, 3)
    assert sorted(module.attn) == ([] if attention == "none" else ["W"])


def test_batch_order_and_extra_source_padding_do_not_change_the_logits():
    module = torch_seq2seq(Seq2Seq(10, 9, 4, 3, attention="luong-dot", bidirectional=False, seed=4))
    logits = _run(module).detach().numpy()
    # sentences in increasing length order (the shorter first)
    swapped = module(torch.tensor(SRC[:, ::-1].copy()), torch.tensor(SRC_LEN[::-1].copy()),
                     torch.tensor(TGT_IN[:, ::-1].copy())).detach().numpy()
    np.testing.assert_allclose(swapped[:, ::-1], logits, rtol=0, atol=1e-12)
    # one more padding row than the longest sentence needs
    padded = module(torch.tensor(np.vstack([SRC, [[0, 0]]])), torch.tensor(SRC_LEN),
                    torch.tensor(TGT_IN)).detach().numpy()
    np.testing.assert_allclose(padded, logits, rtol=0, atol=1e-12)


def test_float32_model_runs_where_torch_defaults_to_float64():
    model = Seq2Seq(10, 9, 4, 3, seed=6, dtype=np.float32)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        logits = _run(torch_seq2seq(model))
    finally:
        torch.set_default_dtype(before)
    assert logits.dtype == torch.float32
    x, lengths = pack_pairs(SRC, SRC_LEN, TGT_IN, TGT_LEN)
    np.testing.assert_allclose(logits.detach().numpy()[:, 0], model.forward(x, lengths=lengths).outputs[:, 0],
                               rtol=0, atol=1e-5)
