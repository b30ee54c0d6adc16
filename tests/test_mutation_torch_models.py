"""yetztml.interop.torch_models part by part: each layer's PyTorch module with its options and dtype, each
module back with its options, the size and dtype a weightless part takes from the part before it, and each
refusal's whole message."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.cells import GRU, LSTM
from yetztml.core.errors import DTypeError, UnsupportedError
from yetztml.interop.torch import from_torch, to_torch
from yetztml.layers import Dropout, Embedding, Linear, Pool
from yetztml.models import Bidirectional, Sequential

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
torch.set_num_threads(1)


def _state(module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("dtype, torch_dtype", [(np.float32, "float32"), (np.float64, "float64")])
def test_linear_exports_in_its_dtype_with_or_without_bias(dtype, torch_dtype):
    with_bias = to_torch(Linear(3, 2, seed=1, dtype=dtype))
    assert type(with_bias) is torch.nn.Linear and with_bias.weight.dtype == getattr(torch, torch_dtype)
    np.testing.assert_array_equal(with_bias.weight.detach().numpy(), Linear(3, 2, seed=1, dtype=dtype).params["weight"])
    np.testing.assert_array_equal(with_bias.bias.detach().numpy(), Linear(3, 2, seed=1, dtype=dtype).params["bias"])
    without = to_torch(Linear(3, 2, bias=False, seed=1, dtype=dtype))
    assert without.bias is None and (without.in_features, without.out_features) == (3, 2)
    back = from_torch(without)
    assert (back.bias, back.dtype, back.input_size, back.output_size) == (False, np.dtype(dtype), 3, 2)


@pytest.mark.parametrize("steps, expected", [("last", "last"), ((0, -1), [0, -1])])
def test_linear_on_selected_steps_keeps_the_steps_both_ways(steps, expected):
    layer = Linear(4, 2, steps=steps, batch_first=True, bias=False, seed=2, dtype=np.float32)
    module = to_torch(layer)
    assert type(module) is torch.nn.Sequential and len(module) == 2
    picker, linear = module
    assert (type(picker).__name__, picker.steps, picker.batch_first) == ("TorchSteps", expected, True)
    assert linear.bias is None and linear.weight.dtype == torch.float32
    back = from_torch(module)
    assert type(back) is Linear
    assert (back.steps, back.batch_first, back.bias, back.dtype) == (layer.steps, True, False, np.float32)
    np.testing.assert_array_equal(back.params["weight"], layer.params["weight"])


def test_embedding_keeps_padding_index_dtype_and_weights():
    layer = Embedding(7, 3, padding_idx=2, seed=3, dtype=np.float32)
    module = to_torch(layer)
    assert (type(module), module.num_embeddings, module.embedding_dim, module.padding_idx) == (
        torch.nn.Embedding, 7, 3, 2)
    assert module.weight.dtype == torch.float32
    np.testing.assert_array_equal(_state(module)["weight"], layer.params["weight"])
    back = from_torch(module)
    assert (type(back), back.padding_idx, back.dtype, back.num_embeddings, back.embedding_dim) == (
        Embedding, 2, np.float32, 7, 3)
    np.testing.assert_array_equal(back.params["weight"], layer.params["weight"])


def test_weightless_parts_take_size_and_dtype_from_the_part_before():
    model = Sequential(Embedding(9, 4, seed=1, dtype=np.float32), Dropout(4, 0.3, dtype=np.float32),
                       GRU(4, 3, seed=2, dtype=np.float32), Pool(3, "max", dtype=np.float32),
                       names=["embed", "drop", "gru", "pool"])
    module = to_torch(model)
    assert (type(module).__name__, module.names, module.batch_first) == (
        "TorchSequential", ["embed", "drop", "gru", "pool"], False)
    drop, pool = module.parts[1], module.parts[3]
    assert (type(drop), drop.p) == (torch.nn.Dropout, 0.3)
    assert (type(pool).__name__, pool.mode, pool.batch_first) == ("TorchPool", "max", False)
    back = from_torch(module)
    assert tuple(back.names) == ("embed", "drop", "gru", "pool")
    assert [(type(p).__name__, p.input_size, p.output_size, p.dtype) for p in back.parts] == [
        ("Embedding", 9, 4, np.float32), ("Dropout", 4, 4, np.float32), ("GRU", 4, 3, np.float32),
        ("Pool", 3, 3, np.float32)]
    assert (back.parts[1].p, back.parts[3].mode) == (0.3, "max")


def test_batch_first_models_keep_it_in_every_part():
    model = Sequential(LSTM(2, 3, batch_first=True, seed=1), Pool(3, "mean", batch_first=True))
    module = to_torch(model)
    assert module.batch_first is True and module.parts[1].batch_first is True
    back = from_torch(module)
    assert back.batch_first and back.parts[1].batch_first and back.parts[1].mode == "mean"


def test_bidirectional_exports_both_directions_and_back():
    model = Bidirectional(LSTM(2, 3, seed=1), GRU(2, 2, seed=2))
    module = to_torch(model)
    assert type(module).__name__ == "TorchBidirectional"
    assert (type(module.forward_module), type(module.reverse_module)) == (torch.nn.LSTM, torch.nn.GRU)
    back = from_torch(module)
    assert (type(back.forward_cell), type(back.reverse_cell)) == (LSTM, GRU)
    for key, value in model.params.items():
        np.testing.assert_array_equal(back.params[key], value)


@pytest.mark.parametrize("make, name", [(lambda: torch.nn.Dropout(0.2), "Dropout"),
                                        (lambda: to_torch(Pool(3, "last")), "TorchPool")])
def test_a_weightless_part_on_its_own_is_refused_word_for_word(make, name):
    with pytest.raises(UnsupportedError) as caught:
        from_torch(make())
    assert str(caught.value) == (
        f"from_torch({name}): expected a part inside a TorchSequential, after a part with weights, got the module "
        "on its own. Convert the TorchSequential that contains it.")


def test_weights_of_another_dtype_are_refused_word_for_word():
    with pytest.raises(UnsupportedError) as caught:
        from_torch(torch.nn.Linear(2, 2, dtype=torch.float16))
    assert str(caught.value) == "from_torch(module) dtype: expected float32 or float64 weights, got ['torch.float16']"
    mixed = torch.nn.Linear(2, 2, dtype=torch.float64)
    mixed.bias = torch.nn.Parameter(mixed.bias.detach().float())
    with pytest.raises(UnsupportedError) as caught:
        from_torch(mixed)
    assert str(caught.value) == ("from_torch(module) dtype: expected float32 or float64 weights, got "
                                 "['torch.float32', 'torch.float64']")


@pytest.mark.parametrize("module", [torch.nn.Conv1d(2, 2, 1),
                                    torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()),
                                    torch.nn.Sequential(torch.nn.Linear(2, 2))])
def test_other_modules_are_refused_naming_them(module):
    with pytest.raises(DTypeError) as caught:
        from_torch(module)
    assert str(caught.value) == ("from_torch(module): expected nn.RNN/LSTM/GRU, nn.Linear, nn.Embedding or a module "
                                 f"made by to_torch, got {type(module).__name__}")


def test_export_draws_nothing_from_torchs_random_generator():
    """The modules are made on the meta device and filled with the weights: no random initialisation."""
    model = Sequential(Embedding(9, 4, seed=1), Linear(4, 2, seed=2), Linear(2, 1, steps="last", seed=3))
    torch.manual_seed(11)
    before = torch.random.get_rng_state()
    module = to_torch(model)
    assert torch.equal(torch.random.get_rng_state(), before)
    np.testing.assert_array_equal(module.parts[0].weight.detach().numpy(), model.parts[0].params["weight"])
    np.testing.assert_array_equal(module.parts[1].weight.detach().numpy(), model.parts[1].params["weight"])
