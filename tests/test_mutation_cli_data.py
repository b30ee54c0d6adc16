"""yetztml.cli.data through ``main([...])``: the parser as the user reads it, the sizes as printed, what
``data list`` prints for a set in the cache and one not fetched, and what ``data fetch`` passes on and prints.

The known data sets are replaced by two small made-up ones, and ``fetch`` by a recorder: nothing is
downloaded.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from cli_snapshot import command, snapshot
from yetztml.cli import data
from yetztml.cli.main import main
from yetztml.data.fetch import Dataset, Fetched, RemoteFile

#: The module (``yetztml.data.fetch`` as an attribute is the function of that name).
fetch_module = importlib.import_module("yetztml.data.fetch")
CACHE_HELP = "cache folder (default: $XDG_CACHE_HOME/yetztml or ~/.cache/yetztml)"


def test_the_data_parser_is_the_one_documented():
    assert snapshot(command("data")) == {
        "description": "Known data sets for the text applications (docs/text-data.md).",
        "epilog": None,
        "formatter": "HelpFormatter",
        "action": {
            "metavar": "ACTION", "required": True,
            "list": ("list the known data sets, their files and whether they are in the cache", {
                "description": "List the known data sets with their files and sizes, and whether they are in DIR.",
                "epilog": None, "formatter": "HelpFormatter",
                "--dir": {"kind": "_StoreAction", "help": CACHE_HELP}}),
            "fetch": ("download a data set into the cache, resumable, verified by its pinned sha256 sums", {
                "description": "Download every file of data set NAME into DIR/NAME from its public location, "
                               "showing progress on a terminal. An interrupted download resumes where it stopped "
                               "(HTTP Range); a file is kept only if its sha256 is the one pinned in yetztml, "
                               "otherwise it is deleted and the command fails. Files already present and verified "
                               "are skipped.",
                "epilog": None, "formatter": "HelpFormatter",
                "name": {"kind": "_StoreAction", "help": "which data set", "choices": ["multi30k", "sarcasm"],
                         "required": True},
                "--dir": {"kind": "_StoreAction", "help": CACHE_HELP},
                "--base-url": {"kind": "_StoreAction", "help": "fetch BASE_URL/NAME/FILE instead of the public "
                                                              "locations (a mirror; default: $YETZTML_DATA_URL if "
                                                              "set)"}}),
        },
    }
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "data") == (
        "known data sets: list them, fetch one (download, verify sha256, cache)")
    assert command("data", "list")._defaults == {"handler": data.handle_list}
    assert command("data", "fetch")._defaults == {"handler": data.handle_fetch}


def test_fetch_options_parse_to_their_values():
    args = command().parse_args(["data", "fetch", "sarcasm", "--dir", "c", "--base-url", "http://m"])
    assert (args.action, args.name, args.dir, args.base_url) == ("fetch", "sarcasm", "c", "http://m")
    args = command().parse_args(["data", "list"])
    assert (args.action, args.dir) == ("list", None)


@pytest.mark.parametrize(("n", "text"), [(0, "0 kB"), (1_500, "2 kB"), (99_999, "100 kB"), (100_000, "0.1 MB"),
                                         (1_234_567, "1.2 MB"), (1_750_000, "1.8 MB"), (26_709_000, "26.7 MB")])
def test_size_is_kilobytes_below_a_tenth_of_a_megabyte(n, text):
    assert data._size(n) == text


SETS = {
    "one": Dataset("one", "The first set.", (RemoteFile("a.csv", "u/a", "aa" * 32, 1_500),
                                              RemoteFile("sub/b.txt", "u/b", "bb" * 32, 200_000))),
    "two": Dataset("two", "The second set.", (RemoteFile("c.txt", "u/c", "cc" * 32, 50),)),
}


@pytest.fixture
def sets(tmp_path, monkeypatch) -> Path:
    """The two made-up sets; ``one`` complete in the cache ``tmp_path/cache/yetztml``, ``two`` missing."""
    monkeypatch.setattr(fetch_module, "DATASETS", SETS)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "cache" / "yetztml"
    for f in SETS["one"].files:
        (root / "one" / f.path).parent.mkdir(parents=True, exist_ok=True)
        (root / "one" / f.path).write_text("x")
    (root / "two").mkdir()
    return root


def listing(root: Path, one_present: bool = True) -> list[str]:
    return [
        f"one: 2 files, 0.2 MB, in {root / 'one'}" if one_present else "one: 2 files, 0.2 MB, not fetched",
        "  The first set.",
        f"  a.csv  2 kB  sha256 {'aa' * 32}",
        f"  sub/b.txt  0.2 MB  sha256 {'bb' * 32}",
        "two: 1 files, 0 kB, not fetched",
        "  The second set.",
        f"  c.txt  0 kB  sha256 {'cc' * 32}",
    ]


def test_list_shows_each_set_its_files_and_whether_it_is_cached(sets, capsys):
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == listing(sets)


def test_list_of_another_folder_and_a_set_missing_one_file(sets, capsys, tmp_path):
    assert main(["data", "list", "--dir", "cache/yetztml"]) == 0
    assert capsys.readouterr().out.splitlines() == listing(Path("cache/yetztml"))
    (sets / "one" / "sub" / "b.txt").unlink()
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == listing(sets, one_present=False)
    assert main(["data", "list", "--dir", "elsewhere"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "one: 2 files, 0.2 MB, not fetched"
    assert not (tmp_path / "elsewhere").exists()


def test_list_refuses_a_file_as_the_folder(sets, capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    assert main(["data", "list", "--dir", "f"]) == 2
    assert capsys.readouterr() == ("", "yetztml data: error: --dir: expected a folder, got 'f', an existing file. "
                                       "Choose another --dir.\n")


@pytest.fixture
def fetched(monkeypatch) -> list:
    calls: list = []

    def fetch(name, dir=None, base_url=None):
        calls.append((name, dir, base_url))
        return Fetched(Path("/somewhere") / name, [], downloaded=["a", "b"], kept=["c"])

    monkeypatch.setattr(fetch_module, "fetch", fetch)
    return calls


def test_fetch_says_where_from_and_what_it_did(sets, fetched, capsys, monkeypatch):
    monkeypatch.delenv(fetch_module.ENV_URL, raising=False)
    assert main(["data", "fetch", "one"]) == 0
    assert fetched == [("one", None, None)]
    assert capsys.readouterr().out.splitlines() == [
        f"data fetch one: into {sets / 'one'} from the public locations",
        "data fetch one: 2 downloaded, 1 already present, all verified (sha256) in /somewhere/one"]


def test_fetch_into_a_folder_from_a_mirror(sets, fetched, capsys, monkeypatch):
    monkeypatch.setenv(fetch_module.ENV_URL, "http://env")
    assert main(["data", "fetch", "two", "--dir", "c"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "data fetch two: into c/two from http://env"
    assert main(["data", "fetch", "two", "--dir", "c", "--base-url", "http://mirror"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "data fetch two: into c/two from http://mirror"
    assert fetched == [("two", "c", None), ("two", "c", "http://mirror")]


def test_fetch_refuses_an_empty_folder_name(sets, fetched, capsys):
    assert main(["data", "fetch", "one", "--dir", ""]) == 2
    assert capsys.readouterr().err == "yetztml data: error: --dir: expected a folder name, got ''. Give --dir DIR.\n"
    assert fetched == []
