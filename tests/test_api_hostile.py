"""The Python API against hostile input and interruptions: seeds checked before anything is written, every
unreadable checkpoint a CheckpointError naming the file, result files written atomically with the usual
permissions, and the tour's worker processes leaving Ctrl-C to the caller."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from yetztml.core import results
from yetztml.core.errors import CheckpointError, OptionError
from yetztml.core.results import write_json
from yetztml.learning import checkpoint as ckpt


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


# 1. Negative seeds: refused before any folder or file (config.json) is made.
def test_negative_seed_is_refused_before_anything_is_written(tmp_path):
    from yetztml.experiments import gers2000
    from yetztml.experiments.lstm1997 import reproduce, resolve_row
    from yetztml.experiments.tour import run_tour

    calls = [
        lambda out: reproduce(resolve_row("4"), trials=1, seed=-1, out=out, jobs=1),
        lambda out: gers2000.reproduce(gers2000.get_row(next(iter(gers2000.ROWS))), trials=1, seed=-1, out=out,
                                       jobs=1),
        lambda out: run_tour(out, seed=-1, workers=0),
    ]
    for i, call in enumerate(calls):
        with pytest.raises(OptionError, match=r"^seed: expected an integer seed >= 0, got -1"):
            call(tmp_path / str(i))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OptionError, match=r"workers: expected an integer >= 0, got -1"):
        run_tour(tmp_path / "t", workers=-1)
    assert not (tmp_path / "t").exists()


# 2. Every reading failure of a checkpoint is a CheckpointError naming the file, and the file is closed.
def _checkpoint(path: Path) -> Path:
    ckpt.save(path, {"w": np.arange(6.0).reshape(2, 3)}, {"name": "sgd", "buffers": {"m": {"w": np.ones(2)}}},
              [0.5, 0.25], {"fingerprint": {"seed": 3}})
    return path


def _zip_without_meta(path: Path) -> None:
    np.savez(path, history=np.zeros(2))


def _zip_of_another_version(path: Path) -> None:
    np.savez(path, meta=np.array(json.dumps({"format": "yetztml-checkpoint", "version": 99})))


def _zip_with_list_meta(path: Path) -> None:
    np.savez(path, meta=np.array("[1, 2]"))


def _zip_with_a_cut_member(path: Path) -> None:
    good = io.BytesIO(_checkpoint(path).read_bytes())
    with zipfile.ZipFile(good) as archive, zipfile.ZipFile(path, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info, data[: len(data) // 2] if info.filename == "a0.npy" else data)


DAMAGED = {
    "empty": (lambda p: p.write_bytes(b""), "got an empty file"),
    "truncated": (lambda p: p.write_bytes(_checkpoint(p).read_bytes()[:300]), "got 300 bytes that are not an .npz"),
    "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(200)), "200 bytes that are not an .npz"),
    "zip without meta": (_zip_without_meta, "KeyError: 'meta is not a file in the archive'"),
    "another version": (_zip_of_another_version, "'yetztml-checkpoint' version 99 (expected yetztml-checkpoint "
                                                  "version 1)"),
    "meta not a dict": (_zip_with_list_meta, "got meta of type list"),
    "cut array": (_zip_with_a_cut_member, "ValueError"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_checkpoint_is_a_checkpoint_error_naming_the_file(case, tmp_path):
    damage, words = DAMAGED[case]
    path = tmp_path / "run.npz"
    damage(path)
    before = _open_descriptors()
    with pytest.raises(CheckpointError) as caught:
        ckpt.load(path)
    assert str(caught.value).startswith(f"checkpoint {str(path)!r}: expected a readable yetztml checkpoint, got ")
    assert words in str(caught.value)
    assert _open_descriptors() == before


def test_checkpoint_missing_or_a_folder_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match=r"'.*none\.npz': expected an existing file.*resume=False"):
        ckpt.load(tmp_path / "none.npz")
    with pytest.raises(CheckpointError, match=r"IsADirectoryError"):
        ckpt.load(tmp_path)


def test_checkpoint_round_trip_and_permissions(tmp_path):
    path = _checkpoint(tmp_path / "run.npz")
    params, optimiser, history, meta = ckpt.load(path)
    np.testing.assert_array_equal(params["w"], np.arange(6.0).reshape(2, 3))
    assert optimiser == {"name": "sgd", "buffers": {"m": {"w": pytest.approx(np.ones(2))}}}
    assert history == [0.5, 0.25] and meta["fingerprint"] == {"seed": 3}
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


# 3. write_json: synced, no temporary file left on failure, the usual permissions.
def test_write_json_has_the_usual_permissions_and_no_stray_file(tmp_path, monkeypatch):
    mask = os.umask(0o027)
    try:
        path = write_json(tmp_path / "r.json", {"a": np.float64(1.5), "b": np.arange(2)})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o640
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1]}
    synced = []
    monkeypatch.setattr(results.os, "fsync", lambda fd: synced.append(os.fstat(fd).st_size))
    write_json(path, {"a": 2})
    assert synced == [len('{\n  "a": 2\n}\n')]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_write_json_failure_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_json(tmp_path / "r.json", {"a": 1})
    with pytest.raises(TypeError, match="cannot serialise object"):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


# 4. The tour's workers ignore SIGINT: a terminal's Ctrl-C is the command's, never a worker's traceback.
def test_tour_workers_ignore_ctrl_c(capfd):
    from yetztml.experiments.tour import run_jobs

    got: dict[str, object] = {}
    jobs = [("raised", signal.raise_signal, (signal.SIGINT,)), ("handler", signal.getsignal, (signal.SIGINT,))]
    runner = threading.Thread(target=run_jobs, args=(jobs, 1, got.__setitem__), daemon=True)
    runner.start()
    runner.join(timeout=120)  # a worker that died of the signal would leave the pool waiting
    assert not runner.is_alive()
    assert got == {"raised": None, "handler": signal.SIG_IGN}
    assert "Traceback" not in capfd.readouterr().err


# Finite but huge weights: a NonFiniteError naming the cell, not NaN outputs; finite paths unchanged.
def _huge(cell, seed: int = 0):
    rng = np.random.default_rng(seed)
    for value in cell.params.values():
        value[...] = np.where(rng.standard_normal(value.shape) < 0, -1e308, 1e308)  # inf − inf inside
    return cell


def test_huge_weights_are_a_non_finite_error_naming_the_cell():
    import warnings

    from yetztml.cells import GRU, LSTM, LSTM1997, RNN, LSTMPeephole
    from yetztml.core.errors import NonFiniteError

    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    for cell in (RNN(3, 4, seed=0), LSTM(3, 4, seed=0), GRU(3, 4, seed=0), LSTM1997(3, 2, 2, 2, seed=0),
                 LSTMPeephole(3, 2, 2, 2, seed=0)):
        name = type(cell).__name__
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and no NumPy overflow warning on the way
            with pytest.raises(NonFiniteError, match=rf"^{name}\.forward: expected finite outputs, got \d+ NaN/inf "
                                                     r"of \d+ \(largest \|weight\| 1e\+308\)\. Finite but huge"):
                _huge(cell).forward(x)


def test_finite_outputs_are_returned_unchanged_and_huge_finite_ones_pass():
    from yetztml.cells import RNN
    from yetztml.cells.base import check_outputs_finite
    from yetztml.layers import Linear

    cell = RNN(3, 4, seed=0)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    trace = cell.forward(x)
    h, expected = np.zeros((2, 4)), []
    p = cell.params
    for t in range(5):  # the Elman recurrence by hand
        h = np.tanh(x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"])
        expected.append(h)
    np.testing.assert_allclose(trace.outputs, np.stack(expected), rtol=1e-12)
    linear = Linear(1, 2, seed=0)
    linear.params["weight"][...] = 1e308  # outputs 1e308 + 1e308 overflow the quick sum, yet are finite
    linear.params["bias"][...] = 0.0
    out = linear.forward(np.ones((2, 1, 1))).outputs
    assert np.all(out == 1e308)
    check_outputs_finite(linear, out)


def test_loss_overflow_is_an_error_without_a_numpy_warning():
    import warnings

    from yetztml.core.errors import NonFiniteError
    from yetztml.learning.losses import mse, squared_error

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in (mse, squared_error):
            with pytest.raises(NonFiniteError, match=rf"^{loss.__name__} value: expected a finite number, got inf"):
                loss(np.full((2, 1, 1), 1e200), np.zeros((2, 1, 1)))
