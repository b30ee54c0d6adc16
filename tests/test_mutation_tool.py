"""tools/mutation.py without running mutmut: a mutant's name back to its function's lines, the per-module
counts and scores from mutmut's exit codes (equivalent survivors matched by their lines), the Markdown
table, and the refusal of a module path outside ``src/``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "tools" / "mutation.py"
_SPEC = importlib.util.spec_from_file_location("mutation_tool", _PATH)
tool = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(tool)

SOURCE = '''import functools


def first(x):
    return x + 1


class Bar:
    @staticmethod
    def second(y):
        if y:
            return 2
        return 3
'''


def test_function_span_of_a_function_and_a_method():
    assert tool._function_span(SOURCE, "pkg.mod.x_first__mutmut_3") == (4, 5)
    assert tool._function_span(SOURCE, "pkg.mod.xǁBarǁsecond__mutmut_1") == (9, 13)
    assert tool._function_span(SOURCE, "pkg.mod.xǁBazǁsecond__mutmut_1") is None


def test_collect_counts_scores_and_matches_equivalent_survivors(tmp_path, monkeypatch):
    module = "src/pkg/mod.py"
    (tmp_path / "mutants" / "src" / "pkg").mkdir(parents=True)
    codes = {"pkg.mod.x_first__mutmut_1": 1, "pkg.mod.x_first__mutmut_2": 0, "pkg.mod.x_first__mutmut_10": 0,
             "pkg.mod.x_first__mutmut_3": 36, "pkg.mod.x_first__mutmut_4": 33, "pkg.mod.x_first__mutmut_5": 3}
    (tmp_path / "mutants" / (module + ".meta")).write_text(json.dumps({"exit_code_by_key": codes}))
    lines = {"pkg.mod.x_first__mutmut_2": (5, "return x + 1", "return x - 1"),
             "pkg.mod.x_first__mutmut_10": (5, "return x + 1", "return x + 2"),
             "pkg.mod.x_first__mutmut_4": (4, "def first(x):", "def first(y):")}
    monkeypatch.setattr(tool, "describe", lambda tree, mod, keys: {
        k: {"name": k, "line": lines[k][0], "original": lines[k][1], "mutated": lines[k][2]} for k in keys})
    equivalent = [{"module": module, "original": "return x + 1", "mutated": "return x + 2", "reason": "r"},
                  {"module": "src/pkg/other.py", "original": "return x + 1", "mutated": "return x - 1",
                   "reason": "another module"}]
    (result,) = tool.collect(tmp_path, [module], equivalent)
    assert result["counts"] == {"killed": 2, "survived": 2, "timeout": 1, "no tests": 1}
    assert (result["total"], result["killed"], result["equivalent"]) == (6, 3, 1)
    assert (result["score"], result["score_non_equivalent"]) == (0.5, 0.6)
    assert [(s["name"].rpartition("_")[2], s["status"], s.get("equivalent")) for s in result["survivors"]] == [
        ("4", "no tests", None), ("10", "survived", "r"), ("2", "survived", None)]


def test_markdown_table_and_survivors():
    report = {"source": "abc", "tests": ["tests/t.py"], "seconds": 12.3, "modules": [
        {"module": "src/pkg/mod.py", "total": 4, "killed": 2, "equivalent": 1, "score": 0.5,
         "score_non_equivalent": 2 / 3, "survivors": [
             {"name": "pkg.mod.x_first__mutmut_2", "line": 5, "status": "survived", "original": "a | b",
              "mutated": "a & b"},
             {"name": "pkg.mod.x_first__mutmut_7", "line": 6, "status": "survived", "original": "x",
              "mutated": "y", "equivalent": "same"}]}]}
    assert tool.markdown(report) == "\n".join([
        "Mutation score at abc (12 s, tests: tests/t.py)",
        "",
        "| module | killed / total | equivalent | score | score over non-equivalent |",
        "|---|---|---|---|---|",
        "| `src/pkg/mod.py` | 2 / 4 | 1 | 50.0 % | 66.7 % |",
        "",
        "Survivors in `src/pkg/mod.py`:",
        "",
        "| line | mutant | status | original | mutated |",
        "|---|---|---|---|---|",
        "| 5 | x_first__mutmut_2 | survived | `a \\| b` | `a & b` |",
        "| 6 | x_first__mutmut_7 | equivalent: same | `x` | `y` |",
        "",
    ])


def test_a_module_outside_src_is_refused(capsys):
    with pytest.raises(SystemExit) as caught:
        tool.main(["yetztml/cli/paths.py", "--tests", "tests/test_mutation_paths.py"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == ("mutation.py: module: expected a path src/yetztml/....py relative to the "
                                       "repository root, got 'yetztml/cli/paths.py'.\n")


def test_workspace_without_a_workdir_is_a_new_empty_temporary_folder_and_adds_nothing():
    tree, env = tool.workspace(None)
    try:
        assert (tree.name.startswith("yetztml-mutation-"), list(tree.iterdir()), env) == (True, [], {})
    finally:
        tree.rmdir()


def test_workspace_in_a_workdir_empties_the_copy_and_keeps_the_numba_cache(tmp_path):
    (tmp_path / "copy" / "old").mkdir(parents=True)
    (tmp_path / "copy" / "old" / "stale.py").write_text("x = 1\n")
    (tmp_path / "numba-cache").mkdir()
    (tmp_path / "numba-cache" / "kernel.nbi").write_text("cached")
    tree, env = tool.workspace(tmp_path)
    assert tree == tmp_path / "copy"
    assert list(tree.iterdir()) == []
    assert (tmp_path / "numba-cache" / "kernel.nbi").read_text() == "cached"
    assert env == {"NUMBA_CACHE_DIR": str((tmp_path / "numba-cache").resolve())}
    fresh, _ = tool.workspace(tmp_path / "new")
    assert (fresh, (tmp_path / "new" / "numba-cache").is_dir()) == (tmp_path / "new" / "copy", True)
