"""yetztml.cli.paths, check by check: each refusal's whole one-line message, each accepted value returned as given.

The messages are what a user reads (``yetztml`` prints them as the one line of a status-2 exit), so they are
asserted word for word; the permission checks are driven through ``os.access`` (the tests may run as root,
for whom every file is writable) and the mode asked is asserted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yetztml.cli import paths
from yetztml.core.errors import DTypeError, OptionError


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A folder ``d``, a file ``f`` holding data and an empty file ``e``; the working directory is tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("data")
    (tmp_path / "e").write_text("")
    return tmp_path


def refused(check, *args, **kwargs) -> str:
    with pytest.raises(OptionError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


def deny_access(monkeypatch) -> list[tuple[str, int]]:
    """``os.access`` answers no; returns the (path, mode) pairs it was asked."""
    asked: list[tuple[str, int]] = []
    monkeypatch.setattr(os, "access", lambda path, mode: asked.append((str(path), mode)) or False)
    return asked


# --- names and the nearest existing folder --------------------------------------------------------------

def test_named_quotes_the_text_of_any_value():
    assert paths._named("") == "''"
    assert paths._named("runs/a") == "'runs/a'"
    assert paths._named(Path("runs/a")) == "'runs/a'"
    assert paths._named(None) == "'None'"


def test_nearest_existing_is_the_path_or_its_nearest_existing_ancestor(tree):
    assert paths._nearest_existing(Path("d")) == Path("d")
    assert paths._nearest_existing(Path("d/x/y")) == Path("d")
    assert paths._nearest_existing(Path("f/x")) == Path("f")
    assert paths._nearest_existing(tree / "nothing" / "here") == tree


def test_nearest_existing_of_a_relative_path_in_a_removed_working_directory_is_dot(tmp_path, monkeypatch):
    """``.`` is the last parent of every relative path and still exists (stat succeeds) after its folder is
    removed, so the loop finds it: the function's final ``return Path(".")`` is never reached."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert paths._nearest_existing(Path("a/b")) == Path(".")


# --- out_folder -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, got", [(None, "'None'"), ("", "''"), ("  ", "'  '")])
def test_out_folder_needs_a_name(value, got):
    assert refused(paths.out_folder, "--out", value) == f"--out: expected a folder name, got {got}. Give --out DIR."


def test_out_folder_refuses_a_file_and_a_path_under_one(tree):
    assert refused(paths.out_folder, "--out", "f") == (
        "--out: expected a folder (or a path where one can be made), got 'f', an existing file. "
        "Choose another --out.")
    assert refused(paths.out_folder, "--out", "f/run") == (
        "--out: expected a path under a folder, got 'f/run', under the file 'f'. Choose another --out.")


def test_out_folder_refuses_a_folder_it_may_not_write_in(tree, monkeypatch):
    asked = deny_access(monkeypatch)
    assert refused(paths.out_folder, "--out", "d/run") == (
        "--out: expected a path in a folder yetztml may write in, got 'd/run' ('d' is not writable). "
        "Choose another --out, or change the folder's permissions.")
    assert asked == [("d", os.W_OK | os.X_OK)]


def test_out_folder_accepts_an_existing_folder_and_a_new_path(tree):
    assert paths.out_folder("--out", "d") == Path("d")
    assert paths.out_folder("--out", Path("d/new/deeper")) == Path("d/new/deeper")
    assert not (tree / "d" / "new").exists()


# --- folder (a cache, read if it exists) ----------------------------------------------------------------

def test_folder_refuses_no_name_a_file_and_a_path_under_a_file(tree):
    assert refused(paths.folder, "--cache", "") == "--cache: expected a folder name, got ''. Give --cache DIR."
    assert refused(paths.folder, "--cache", None) == "--cache: expected a folder name, got 'None'. Give --cache DIR."
    assert refused(paths.folder, "--cache", "f") == (
        "--cache: expected a folder, got 'f', an existing file. Choose another --cache.")
    assert refused(paths.folder, "--cache", "f/x") == (
        "--cache: expected a folder, got 'f/x', under the file 'f'. Choose another --cache.")


def test_folder_accepts_an_existing_or_a_new_folder(tree):
    assert paths.folder("--cache", "d") == Path("d")
    assert paths.folder("--cache", "d/new") == Path("d/new")


# --- in_file --------------------------------------------------------------------------------------------

def test_in_file_refusals_word_for_word(tree, monkeypatch):
    assert refused(paths.in_file, "--in", None) == "--in: expected a file name, got 'None'. Give --in PATH."
    assert refused(paths.in_file, "--in", " ") == "--in: expected a file name, got ' '. Give --in PATH."
    assert refused(paths.in_file, "--in", "d") == "--in: expected a file, got 'd', a folder. Name a file in it."
    assert refused(paths.in_file, "--in", "missing") == (
        "--in: expected an existing file, got 'missing' (no such file). Check the path.")
    assert refused(paths.in_file, "--in", "e") == (
        "--in: expected a file holding data, got 'e', an empty file. Check that the path names the data file.")
    asked = deny_access(monkeypatch)
    assert refused(paths.in_file, "--in", "f") == (
        "--in: expected a file yetztml may read, got 'f' (not readable). Check the file's permissions.")
    assert asked == [("f", os.R_OK)]


def test_in_file_dash_is_standard_input_only_when_allowed(tree):
    assert paths.in_file("--in", "-", stdin=True) == Path("-")
    assert refused(paths.in_file, "--in", "-") == (
        "--in: expected an existing file, got '-' (no such file). Check the path.")


def test_in_file_accepts_a_file_holding_data(tree):
    assert paths.in_file("--in", "f") == Path("f")
    assert paths.in_file("--in", tree / "f", stdin=True) == tree / "f"


# --- in_folder ------------------------------------------------------------------------------------------

def test_in_folder_refusals_word_for_word(tree):
    assert refused(paths.in_folder, "--model", "") == "--model: expected a folder name, got ''. Give --model DIR."
    assert refused(paths.in_folder, "--model", "f") == (
        "--model: expected an existing folder, got 'f' (a file). Check the path.")
    assert refused(paths.in_folder, "--model", "none") == (
        "--model: expected an existing folder, got 'none' (no such folder). Check the path.")
    assert refused(paths.in_folder, "--model", "none", what="a model folder") == (
        "--model: expected a model folder, got 'none' (no such folder). Check the path.")


def test_in_folder_accepts_a_folder(tree):
    assert paths.in_folder("--model", "d") == Path("d")


# --- out_file -------------------------------------------------------------------------------------------

def test_out_file_refusals_word_for_word(tree, monkeypatch):
    assert refused(paths.out_file, "--json", None) == "--json: expected a file name, got 'None'. Give --json PATH."
    assert refused(paths.out_file, "--json", "") == "--json: expected a file name, got ''. Give --json PATH."
    assert refused(paths.out_file, "--json", "d") == (
        "--json: expected a file path, got 'd', a folder. Name a file, e.g. --json d/result.json.")
    assert refused(paths.out_file, "--json", "new/") == (
        "--json: expected a file path, got 'new/', a folder. Name a file, e.g. --json new/result.json.")
    assert refused(paths.out_file, "--json", "f/r.json") == (
        "--json: expected a path under a folder, got 'f/r.json', under the file 'f'. Choose another --json.")
    asked = deny_access(monkeypatch)
    assert refused(paths.out_file, "--json", "f") == (
        "--json: expected a file yetztml may write, got 'f' (read-only). Choose another --json.")
    assert asked == [("f", os.W_OK)]


def test_out_file_asks_only_the_folder_for_a_new_file(tree, monkeypatch):
    asked = deny_access(monkeypatch)
    assert refused(paths.out_file, "--json", "d/r.json") == (
        "--json: expected a path in a folder yetztml may write in, got 'd/r.json' ('d' is not writable). "
        "Choose another --json, or change the folder's permissions.")
    assert asked == [("d", os.W_OK | os.X_OK)]


def test_out_file_accepts_a_new_or_an_existing_file(tree):
    assert paths.out_file("--json", "d/new/r.json") == Path("d/new/r.json")
    assert paths.out_file("--json", "f") == Path("f")


# --- seed and count -------------------------------------------------------------------------------------

def test_seed_is_returned_or_refused_with_its_option():
    assert paths.seed("--seed", 7) == 7
    assert refused(paths.seed, "--seed", -1) == (
        "--seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0.")
    with pytest.raises(DTypeError, match=r"^--seed: expected an integer seed >= 0, got str '1'"):
        paths.seed("--seed", "1")


def test_count_bounds_and_its_meaning_of_none():
    assert paths.count("--epochs", 1, 1) == 1
    assert paths.count("--epochs", 5, 2) == 5
    assert paths.count("--epochs", None, 1, none_means="all") is None
    assert refused(paths.count, "--epochs", None, 1) == "--epochs: expected an integer >= 1, got None"
    assert refused(paths.count, "--epochs", 1, 2) == "--epochs: expected an integer >= 2, got 1"
