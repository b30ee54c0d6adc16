"""Equation ids: each defined by one module's docstring, each cited id defined (tools/equation_ids.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def equation_ids():
    spec = importlib.util.spec_from_file_location("equation_ids", ROOT / "tools" / "equation_ids.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_clash_and_no_dangling_citation(equation_ids):
    report = equation_ids.check(ROOT / "src" / "yetztml")
    assert report.duplicates == {}
    assert report.dangling == {}
    # the memory block's CEC update: one module defines it, and the compiled step cites it
    assert report.defined["BF5"] == ["yetztml/cells/block_step.py"]
    assert "yetztml/cells/block_step.py:75" in report.cited["BF5"]


def test_a_clash_and_a_dangling_citation_are_reported(equation_ids, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text('"""A.\n\n    (X1)  y = x\n    (X2)  z = y\n"""\n\ny = 1  # (X1)\n')
    (pkg / "b.py").write_text('"""B; (X2) in prose is no definition.\n\n    (X1)  y = 2x\n"""\n\nz = 2  # (X2), (Q7)\n')
    report = equation_ids.check(pkg)
    assert report.defined == {"X1": ["pkg/a.py", "pkg/b.py"], "X2": ["pkg/a.py"]}
    assert report.duplicates == {"X1": ["pkg/a.py", "pkg/b.py"]}
    assert report.dangling == {"Q7": ["pkg/b.py:6"]}
    assert report.cited["X2"] == ["pkg/b.py:6"]
    assert equation_ids.main([str(pkg)]) == 1
    assert equation_ids.main([str(ROOT / "src" / "yetztml")]) == 0
    assert equation_ids.main([str(tmp_path / "missing")]) == 2
