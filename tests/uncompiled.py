"""Test helper: a script's results compiled against the same script with every Numba kernel plain Python.

``assert_uncompiled_equal(script, tmp_path, min_keys)`` runs ``script`` here (compiled) and in a subprocess
with ``NUMBA_DISABLE_JIT=1``; the script defines ``run()`` returning a dict with the flags ``jit_disabled``
and ``kernel_is_python`` and result arrays under keys with a ``/``, and saves that dict to ``argv[1]`` when
run as a program. Every result must agree to 1e-12 (float64)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from yetztml.core.gradcheck import relative_error


def assert_uncompiled_equal(script: str, tmp_path: Path, min_keys: int) -> None:
    path = tmp_path / "uncompiled.npz"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True)
    namespace: dict = {"__name__": "compiled"}
    exec(script, namespace)
    compiled = namespace["run"]()
    assert not compiled["jit_disabled"] and not compiled["kernel_is_python"]
    with np.load(path) as uncompiled:
        assert bool(uncompiled["jit_disabled"]) and bool(uncompiled["kernel_is_python"])
        assert set(uncompiled.files) == set(compiled)
        keys = [k for k in compiled if "/" in k]
        assert len(keys) > min_keys
        for key in keys:
            assert relative_error(compiled[key], uncompiled[key]) <= 1e-12, key
