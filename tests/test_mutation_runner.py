"""yetztml.experiments.runner, function by function: what a trial record must hold (each refusal's words),
how ``trials.jsonl`` is split, appended to and repaired (byte for byte), what the configuration check refuses
(the whole message), and what :func:`run_trials` hands its backend and its callbacks.

Trials here are tiny module-level functions and the backend is a recording one running in this process, so
every test takes milliseconds.
"""

from __future__ import annotations

import array
import json
import os
import warnings

import numpy as np
import pytest

from yetztml.core.errors import CheckpointError, DTypeError, OptionError
from yetztml.experiments import runner
from yetztml.experiments.backends import Backend, LocalBackend
from yetztml.experiments.runner import (
    CONFIG_FILE,
    TORN_FILE,
    TRIALS_FILE,
    TornRecordWarning,
    append_record,
    canonical,
    prepare,
    read_trials,
    run_trials,
    set_aside_torn,
)


def square_trial(trial: int, base: int) -> dict:
    return {"trial": trial, "value": base + trial * trial}


class OnlyItem:
    """A value with ``item()`` and no size (a scalar of another array library)."""

    def item(self) -> int:
        return 7


def wrong_index_trial(trial: int) -> dict:
    return {"trial": trial + 1}


class RecordingBackend(Backend):
    """Runs tasks in this process, last first, and notes what it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def run(self, tasks, on_result, on_progress=None, warm_up=None) -> None:
        self.calls.append({"tasks": [(t.key, t.trial, t.kwargs) for t in tasks], "on_progress": on_progress,
                           "warm_up": warm_up})
        for task in reversed(list(tasks)):
            on_result(task, task())


# --- what a record must hold ------------------------------------------------------------------------------

@pytest.mark.parametrize(("record", "required", "wrong"), [
    ([1], {}, "a list"),
    ("text", {}, "a str"),
    ({}, {}, "no 'trial'"),
    ({"value": 1}, {"value": int}, "no 'trial'"),
    ({"trial": 0}, {"value": int}, "no 'value'"),
    ({"trial": True}, {}, "'trial' = True"),
    ({"trial": 1.0}, {}, "'trial' = 1.0"),
    ({"trial": -1}, {}, "'trial' = -1"),
    ({"trial": 0, "value": True}, {"value": int}, "'value' = True"),
    ({"trial": 0, "value": "1"}, {"value": (int, float)}, "'value' = '1'"),
    ({"trial": 0, "ok": 1}, {"ok": bool}, "'ok' = 1"),
])
def test_check_record_names_what_is_wrong(record, required, wrong):
    assert runner._check_record(record, required) == wrong


@pytest.mark.parametrize(("record", "required"), [
    ({"trial": 0}, {}),
    ({"trial": 3, "extra": None}, {}),
    ({"trial": 0, "ok": True}, {"ok": bool}),
    ({"trial": 0, "ok": False}, {"ok": bool}),
    ({"trial": 2, "value": 1.5}, {"value": (int, float)}),
    ({"trial": 2, "value": 7}, {"value": (int, float)}),
])
def test_check_record_accepts_records(record, required):
    assert runner._check_record(record, required) is None


def test_parse_and_lines():
    assert runner._parse(b'{"trial": 1}\n') == (True, {"trial": 1})
    assert runner._parse(b'{"trial": 1') == (False, None)
    assert runner._parse(b"\xff\xfe") == (False, None)
    assert runner._lines(b"") == []
    assert runner._lines(b"a\nb") == [b"a\n", b"b"]
    assert runner._lines(b"a\nb\n") == [b"a\n", b"b\n"]
    assert runner._lines(b"\n\nc\x0cd\r") == [b"\n", b"\n", b"c\x0cd\r"]


# --- reading trials back ----------------------------------------------------------------------------------

def test_read_trials_skips_blank_and_cut_lines_and_keeps_the_last_record_of_an_index(tmp_path):
    path = tmp_path / TRIALS_FILE
    assert read_trials(path) == {}
    path.write_bytes(b'{"trial": 0, "v": 1}\n\n   \n{"trial": 1, "v": 2}\n{"trial": 2, "v\n\xff\xfe\n'
                     b'{"trial": 0, "v": 3}\n')
    assert read_trials(path) == {0: {"trial": 0, "v": 3}, 1: {"trial": 1, "v": 2}}
    assert read_trials(str(path)) == {0: {"trial": 0, "v": 3}, 1: {"trial": 1, "v": 2}}


def test_read_trials_refusal_word_for_word(tmp_path):
    path = tmp_path / TRIALS_FILE
    path.write_text('{"trial": 0, "ok": true}\n\n{"trial": 1}\n')
    with pytest.raises(CheckpointError) as err:
        read_trials(path, {"ok": bool})
    assert str(err.value) == (f"{path}, line 3: expected a trial record (a JSON object with 'trial', 'ok'), got no "
                              "'ok'. Delete that line (its trial runs again) or use another --out.")
    path.write_text('{"trial": -2}\n')
    with pytest.raises(CheckpointError) as err:
        read_trials(path, {"trial": int})
    assert str(err.value) == (f"{path}, line 1: expected a trial record (a JSON object with 'trial'), got "
                              "'trial' = -2. Delete that line (its trial runs again) or use another --out.")
    path.write_text('{"trial": 0}\n"text"\n')
    with pytest.raises(CheckpointError, match="line 2: expected .* got a str. Delete"):
        read_trials(path)


# --- setting cut lines aside -------------------------------------------------------------------------------

def test_set_aside_torn_without_a_file_or_a_cut_line_changes_nothing(tmp_path):
    path = tmp_path / TRIALS_FILE
    assert set_aside_torn(path) == []
    assert not path.exists() and not (tmp_path / TORN_FILE).exists()
    path.write_bytes(b"")
    assert set_aside_torn(path) == [] and path.read_bytes() == b""
    path.write_bytes(b'{"trial": 0}\n\nnull\n{}\n0\n{"trial": 1}\n')  # JSON, though no records: not cut lines
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert set_aside_torn(path) == []
    assert path.read_bytes() == b'{"trial": 0}\n\nnull\n{}\n0\n{"trial": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [TRIALS_FILE]


def test_set_aside_torn_completes_a_whole_last_record_that_lacks_its_newline(tmp_path):
    path = tmp_path / TRIALS_FILE
    path.write_bytes(b'{"trial": 0}\n{"trial": 1}')
    assert set_aside_torn(str(path)) == []
    assert path.read_bytes() == b'{"trial": 0}\n{"trial": 1}\n'
    assert not (tmp_path / TORN_FILE).exists()


def test_set_aside_torn_moves_one_cut_line_and_warns_from_the_caller(tmp_path):
    path = tmp_path / TRIALS_FILE
    path.write_bytes(b'{"trial": 0}\n{"trial": 1, "v\n{"trial": 2}')
    (tmp_path / "trials.jsonl.tmp").write_bytes(b"left by an earlier crash")
    with pytest.warns(TornRecordWarning) as caught:
        assert set_aside_torn(path) == [2]
    assert [str(w.message) for w in caught] == [
        f"{path}: line 2 cut by an interruption, moved to {tmp_path / TORN_FILE}; its trial runs again"]
    assert caught[0].filename != runner.__file__  # stacklevel 2: the warning points at the caller, not here
    assert path.read_bytes() == b'{"trial": 0}\n{"trial": 2}\n'
    assert (tmp_path / TORN_FILE).read_bytes() == b'{"trial": 1, "v\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [TRIALS_FILE, TORN_FILE]  # the rewrite went through .tmp


def test_set_aside_torn_moves_several_lines_and_appends_to_what_was_set_aside_before(tmp_path):
    path = tmp_path / TRIALS_FILE
    (tmp_path / TORN_FILE).write_bytes(b"old\n")
    path.write_bytes(b'{"tri\n{"trial": 1}\n\n{"trial": 2, \n{"trial": 3}\n{"cut')
    with pytest.warns(TornRecordWarning) as caught:
        assert set_aside_torn(path) == [1, 4, 6]
    assert [str(w.message) for w in caught] == [
        f"{path}: lines 1, 4, 6 cut by an interruption, moved to {tmp_path / TORN_FILE}; their trials run again"]
    assert path.read_bytes() == b'{"trial": 1}\n\n{"trial": 3}\n'
    assert (tmp_path / TORN_FILE).read_bytes() == b'old\n{"tri\n{"trial": 2, \n{"cut\n'


def test_set_aside_torn_with_two_cut_lines_says_lines_and_keeps_their_text(tmp_path):
    path = tmp_path / TRIALS_FILE
    path.write_bytes(b'{"trial": 0, "vXX\n{"trial": 1}\n{"trial": 2, "v": "X\n')
    with pytest.warns(TornRecordWarning) as caught:
        assert set_aside_torn(path) == [1, 3]
    assert [str(w.message) for w in caught] == [
        f"{path}: lines 1, 3 cut by an interruption, moved to {tmp_path / TORN_FILE}; their trials run again"]
    assert (tmp_path / TORN_FILE).read_bytes() == b'{"trial": 0, "vXX\n{"trial": 2, "v": "X\n'
    assert path.read_bytes() == b'{"trial": 1}\n'


# --- appending --------------------------------------------------------------------------------------------

def test_append_record_writes_one_line_each_and_never_glues_onto_a_cut_one(tmp_path):
    path = tmp_path / TRIALS_FILE
    append_record(path, {"trial": 0, "v": np.float64(0.5)})
    append_record(str(path), {"trial": 1, "v": np.arange(3)[1:2]})
    assert path.read_bytes() == b'{"trial": 0, "v": 0.5}\n{"trial": 1, "v": 1}\n'
    path.write_bytes(b"{")  # one byte of a cut record
    append_record(path, {"trial": 2})
    assert path.read_bytes() == b'{\n{"trial": 2}\n'
    path.write_bytes(b'{"trial": 0}\n{"t')
    append_record(path, {"trial": 3})
    assert path.read_bytes() == b'{"trial": 0}\n{"t\n{"trial": 3}\n'


def test_values_of_other_types_are_made_json_or_refused(tmp_path):
    assert runner._default(np.int64(4)) == 4 and isinstance(runner._default(np.int64(4)), int)
    assert runner._default(np.float32(0.5)) == 0.5
    assert runner._default(array.array("i", [1, 2])) == [1, 2]
    assert runner._default(np.array([[1.5]])) == 1.5
    assert runner._default(np.array([1, 2])) == [1, 2]  # an array of several values is a list, not an error
    assert runner._default(np.zeros((0,))) == []
    assert runner._default(OnlyItem()) == 7
    with pytest.raises(TypeError) as err:
        runner._default({1, 2})
    assert str(err.value) == "trial record: cannot serialise set"
    with pytest.raises(TypeError, match="trial record: cannot serialise object"):
        append_record(tmp_path / TRIALS_FILE, {"trial": 0, "v": object()})


def test_canonical_is_the_configuration_as_json_reads_it_back():
    config = {"a": (1, 2), "b": np.int64(3), "c": {"d": np.float64(0.25)}, "e": None, 1: "one"}
    assert canonical(config) == {"a": [1, 2], "b": 3, "c": {"d": 0.25}, "e": None, "1": "one"}


# --- the run folder ---------------------------------------------------------------------------------------

def test_prepare_makes_the_folder_writes_the_configuration_and_returns_the_finished(tmp_path):
    out = tmp_path / "a" / "b"
    assert prepare(out, {"seed": (1, 2), "n": np.int64(2)}) == {}
    assert json.loads((out / CONFIG_FILE).read_text()) == {"seed": [1, 2], "n": 2}
    (out / TRIALS_FILE).write_text('{"trial": 1, "ok": true}\n{"trial": 0, "o')
    with pytest.warns(TornRecordWarning, match="line 2 cut"):
        assert prepare(str(out), {"seed": [1, 2], "n": 2}, {"ok": bool}) == {1: {"trial": 1, "ok": True}}
    assert (out / TORN_FILE).read_text() == '{"trial": 0, "o\n'
    (out / TRIALS_FILE).write_text('{"trial": 1}\n')
    with pytest.raises(CheckpointError, match="line 1: .* got no 'ok'"):
        prepare(out, {"seed": [1, 2], "n": 2}, {"ok": bool})


def test_prepare_refuses_another_configuration_word_for_word(tmp_path):
    prepare(tmp_path, {"seed": 0, "row": "4-1", "cap": 10, "only": 1})
    with pytest.raises(CheckpointError) as err:
        prepare(tmp_path, {"seed": 1, "row": "4-1", "cap": 20, "new": 2})
    assert str(err.value) == (
        f"output folder {tmp_path}: expected results of the same configuration (to resume) or an empty folder, "
        "got results of another configuration (differing in cap, new, only, seed). Use another --out, or delete "
        "the folder to start over.")
    assert json.loads((tmp_path / CONFIG_FILE).read_text()) == {"seed": 0, "row": "4-1", "cap": 10, "only": 1}


def test_prepare_refuses_an_unreadable_configuration(tmp_path):
    (tmp_path / CONFIG_FILE).write_text('{"seed": ')
    with pytest.raises(CheckpointError) as err:
        prepare(tmp_path, {"seed": 0})
    assert str(err.value) == (f"{tmp_path / CONFIG_FILE}: expected a readable configuration, got Expecting value: "
                              "line 1 column 10 (char 9)")
    (tmp_path / CONFIG_FILE).unlink()
    (tmp_path / CONFIG_FILE).mkdir()
    with pytest.raises(CheckpointError, match=r"config.json: expected a readable configuration, got \[Errno 21\]"):
        prepare(tmp_path, {"seed": 0})


# --- run_trials ---------------------------------------------------------------------------------------------

def test_run_trials_hands_the_backend_the_missing_trials_and_counts_the_finished(tmp_path):
    append_record(tmp_path / TRIALS_FILE, {"trial": 1, "value": -1})
    prepare(tmp_path, {"k": 1})
    backend, seen = RecordingBackend(), []

    def warm() -> None:
        return None

    def on_progress(report) -> None:
        return None

    records = run_trials(square_trial, 4, tmp_path, {"k": 1}, {"base": 10}, backend=backend,
                         on_record=lambda r, n, total: seen.append((r["trial"], n, total)), warm_up=warm,
                         on_progress=on_progress)
    assert records == [{"trial": 0, "value": 10}, {"trial": 1, "value": -1}, {"trial": 2, "value": 14},
                       {"trial": 3, "value": 19}]
    (call,) = backend.calls
    assert call["tasks"] == [(0, 0, {"base": 10}), (2, 2, {"base": 10}), (3, 3, {"base": 10})]
    assert call["warm_up"] is warm and call["on_progress"] is on_progress
    assert seen == [(3, 2, 4), (2, 3, 4), (0, 4, 4)]
    assert [json.loads(x)["trial"] for x in (tmp_path / TRIALS_FILE).read_text().splitlines()] == [1, 3, 2, 0]
    again = run_trials(square_trial, 2, tmp_path, {"k": 1}, {"base": 10}, backend=backend, on_record=seen.append)
    assert again == records[:2] and backend.calls[-1]["tasks"] == [] and len(seen) == 3


def test_run_trials_checks_the_required_fields_of_the_records_on_disk(tmp_path):
    append_record(tmp_path / TRIALS_FILE, {"trial": 0})
    with pytest.raises(CheckpointError, match="line 1: expected a trial record .*'trial', 'value'.*got no 'value'"):
        run_trials(square_trial, 1, tmp_path, {}, {"base": 0}, backend=RecordingBackend(), required={"value": int})
    records = run_trials(square_trial, 2, tmp_path / "ok", {}, {"base": 0}, backend=RecordingBackend(),
                         required={"value": int})
    assert records == [{"trial": 0, "value": 0}, {"trial": 1, "value": 1}]


def test_run_trials_refuses_a_record_of_another_trial(tmp_path):
    with pytest.raises(CheckpointError) as err:
        run_trials(wrong_index_trial, 2, tmp_path, {}, {}, backend=RecordingBackend())
    assert str(err.value) == "record of trial 1: expected 'trial' = 1, got 2"
    assert not (tmp_path / TRIALS_FILE).exists()


def test_run_trials_checks_the_number_of_trials(tmp_path):
    with pytest.raises(OptionError) as err:
        run_trials(square_trial, 0, tmp_path, {}, {"base": 0}, backend=RecordingBackend())
    assert str(err.value) == "trials: expected an integer >= 1, got 0"
    with pytest.raises(DTypeError, match="trials: expected an integer, got float 2.0"):
        run_trials(square_trial, 2.0, tmp_path, {}, {"base": 0}, backend=RecordingBackend())
    assert list(tmp_path.iterdir()) == []


def test_run_trials_default_backend_is_local_with_the_jobs_given(tmp_path, monkeypatch):
    made: list = []

    class Spy(LocalBackend):
        def __init__(self, jobs=None) -> None:
            made.append(jobs)
            super().__init__(jobs)

    monkeypatch.setattr(runner, "LocalBackend", Spy)
    records = run_trials(square_trial, 2, tmp_path / "a", {}, {"base": 1}, jobs=1)
    assert made == [1] and records == [{"trial": 0, "value": 1}, {"trial": 1, "value": 2}]
    run_trials(square_trial, 1, tmp_path / "b", {}, {"base": 1})
    assert made == [1, None]
    run_trials(square_trial, 1, tmp_path / "c", {}, {"base": 1}, jobs=1, backend=RecordingBackend())
    assert made == [1, None]


def test_the_trials_file_is_named_in_the_folder(tmp_path):
    run_trials(square_trial, 1, str(tmp_path), {"x": 1}, {"base": 5}, backend=RecordingBackend())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "trials.jsonl"]
    assert (tmp_path / "trials.jsonl").read_text() == '{"trial": 0, "value": 5}\n'
    assert (TRIALS_FILE, CONFIG_FILE, TORN_FILE) == ("trials.jsonl", "config.json", "trials.torn")
    assert os.path.exists(tmp_path / "config.json")


def test_check_counts_takes_the_default_keeps_none_caps_and_checks_each_in_order():
    assert runner.check_counts(None, 7, max_steps=None, max_sequences=3) == (7, {"max_steps": None,
                                                                                "max_sequences": 3})
    assert runner.check_counts(2, 7) == (2, {})
    with pytest.raises(OptionError, match=r"^trials: expected an integer >= 1, got 0"):
        runner.check_counts(0, 7, cap=0)
    with pytest.raises(OptionError, match=r"^first: expected an integer >= 1, got 0"):
        runner.check_counts(1, 7, first=0, second=0)


def test_write_result_writes_the_keys_in_their_order_and_returns_what_it_wrote(tmp_path):
    from yetztml.core.results import versions

    result = runner.write_result(tmp_path, head={"paper": "p", "row": "r"}, config={"a": 1},
                                 about={"paper_values": [1.5]}, summary={"ok": 2}, records=[{"trial": 0}],
                                 seconds=3.25)
    on_disk = (tmp_path / runner.RESULT_FILE).read_text()
    assert list(json.loads(on_disk)) == ["paper", "row", "config", "paper_values", "summary", "trials",
                                         "versions", "seconds"]
    assert json.loads(on_disk) == result == {"paper": "p", "row": "r", "config": {"a": 1}, "paper_values": [1.5],
                                             "summary": {"ok": 2}, "trials": [{"trial": 0}],
                                             "versions": versions(), "seconds": 3.25}
    assert runner.RESULT_FILE == "result.json"
