"""``--runslow``: the option ``pyproject.toml`` advertises selects the tests marked ``slow`` as well.

The suite's own ``conftest.py`` and ``[tool.pytest.ini_options]`` are copied beside a two-test file in a
temporary directory, and pytest collects it in a subprocess, so the check covers the real ``addopts``
(``-m 'not slow'``) and the real option, not a copy of their logic.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TWO_TESTS = '''import pytest


def test_fast():
    pass


@pytest.mark.slow
def test_slow():
    pass
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runslow")
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    lines = ["[tool.pytest.ini_options]", f"addopts = {json.dumps(ini['addopts'])}",
             f"markers = {json.dumps(ini['markers'])}"]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    (root / "tests").mkdir()
    (root / "tests" / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (root / "tests" / "test_two.py").write_text(TWO_TESTS)
    return root


def collected(project: Path, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             *args, "tests"], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(line.split("::")[1] for line in result.stdout.splitlines() if "::" in line)


def test_the_default_run_leaves_the_slow_test_out(project):
    assert collected(project) == ["test_fast"]


def test_runslow_runs_the_slow_test_too(project):
    assert collected(project, "--runslow") == ["test_fast", "test_slow"]


def test_an_explicit_mark_expression_is_kept_with_runslow(project):
    assert collected(project, "--runslow", "-m", "slow") == ["test_slow"]
