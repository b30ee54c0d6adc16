"""yetztml.learning.checkpoint beyond the round trip: the file's layout as documented, states of every tagged
kind restored to their dtype and shape, a failed write that leaves the old checkpoint and no temporary file,
no pickle ever, and each refusal's whole message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yetztml.core.errors import CheckpointError
from yetztml.learning import checkpoint as ckpt

OPTIMISER = {"name": "adam", "lr": 0.01, "step": 7, "buffers": {"m": {"w": np.full(2, 0.5)}}}


def _save(path, history=(0.5, 0.25), meta=None):
    ckpt.save(path, {"w": np.arange(6.0).reshape(2, 3)}, OPTIMISER, list(history), meta or {"clock": {"step": 2}})
    return path


def test_the_file_holds_json_meta_the_history_in_float64_and_one_array_per_entry(tmp_path):
    path = _save(tmp_path / "run.npz", history=[np.float32(0.5), np.float32(0.25)])
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["a0", "a1", "history", "meta"]
        assert data["history"].dtype == np.float64
        np.testing.assert_array_equal(data["history"], [0.5, 0.25])
        meta = json.loads(str(data["meta"]))
    assert meta == {"format": "yetztml-checkpoint", "version": 1, "clock": {"step": 2},
                    "optimiser": {"name": "adam", "lr": 0.01, "step": 7},
                    "arrays": {"params": {"w": "a0"}, "optimiser": {"m": {"w": "a1"}}}}


def test_states_of_every_kind_come_back_with_their_types_dtypes_and_shapes(tmp_path):
    state = {"empty": np.zeros((0, 3), dtype=np.float32), "ints": np.arange(6, dtype=np.int16).reshape(3, 2),
             "scalar": np.array(2.5), "pair": (1, (np.int64(2), "b")), "list": [np.float32(0.5), None, True],
             "nested": {"x": np.uint8(3)}}
    _save(tmp_path / "run.npz", meta={"source": state})
    restored = ckpt.load(tmp_path / "run.npz")[3]["source"]
    for key in ("empty", "ints", "scalar"):
        assert (restored[key].dtype, restored[key].shape) == (state[key].dtype, state[key].shape)
        np.testing.assert_array_equal(restored[key], state[key])
    assert restored["pair"] == (1, (2, "b")) and type(restored["pair"][1]) is tuple
    assert restored["list"] == [0.5, None, True] and restored["nested"] == {"x": 3}
    assert type(restored["nested"]["x"]) is int


def test_states_that_are_not_plain_data_are_refused_word_for_word(tmp_path):
    with pytest.raises(CheckpointError) as caught:
        _save(tmp_path / "run.npz", meta={"source": {1: "a", "b": 2}})
    assert str(caught.value) == "checkpoint state: expected dicts with string keys, got [1, 'b']"
    with pytest.raises(CheckpointError) as caught:
        _save(tmp_path / "run.npz", meta={"source": {"rng": object()}})
    assert str(caught.value) == ("checkpoint state: expected numbers, strings, lists, dicts, tuples or ndarrays, "
                                 "got object. Make get_state() return plain data.")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = _save(tmp_path / "run.npz", history=[1.0])

    def refused(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.os, "replace", refused)
    with pytest.raises(OSError, match="No space left on device"):
        _save(path, history=[1.0, 2.0])
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    assert ckpt.load(path)[2] == [1.0]


def test_a_pickled_meta_is_refused(tmp_path):
    path = _save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as data:
        entries = {name: data[name] for name in data.files}
    entries["meta"] = np.array(str(entries["meta"]), dtype=object)  # the same JSON, stored by pickle
    np.savez(path, **entries)
    with pytest.raises(CheckpointError) as caught:
        ckpt.load(path)
    assert str(caught.value) == (
        f"checkpoint {str(path)!r}: expected a readable yetztml checkpoint, got ValueError: Object arrays cannot "
        "be loaded when allow_pickle=False. Check the path, or start a new run (resume=False).")


def test_missing_and_unreadable_checkpoints_word_for_word(tmp_path):
    missing = tmp_path / "none.npz"
    with pytest.raises(CheckpointError) as caught:
        ckpt.load(missing)
    assert str(caught.value) == (f"checkpoint {str(missing)!r}: expected an existing file, got no such file. "
                                 "Pass resume=False to start a new run.")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError) as caught:
        ckpt.load(empty)
    assert str(caught.value) == (f"checkpoint {str(empty)!r}: expected a readable yetztml checkpoint, got an empty "
                                 "file. Check the path, or start a new run (resume=False).")


def test_load_returns_params_optimiser_history_and_the_remaining_meta(tmp_path):
    params, optimiser, history, meta = ckpt.load(_save(tmp_path / "run.npz"))
    np.testing.assert_array_equal(params["w"], np.arange(6.0).reshape(2, 3))
    assert set(optimiser) == {"name", "lr", "step", "buffers"}
    assert (optimiser["name"], optimiser["lr"], optimiser["step"]) == ("adam", 0.01, 7)
    np.testing.assert_array_equal(optimiser["buffers"]["m"]["w"], [0.5, 0.5])
    assert history == [0.5, 0.25]
    assert meta == {"format": "yetztml-checkpoint", "version": 1, "clock": {"step": 2}}
