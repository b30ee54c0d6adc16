"""docs/torch.md runs: every ```python block, in order, in one namespace (its asserts are the checks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch
DOC = Path(__file__).resolve().parents[1] / "docs" / "torch.md"


def test_every_example_in_docs_torch_md_runs():
    torch.set_num_threads(1)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 7
    namespace: dict = {}
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/torch.md block {number}", "exec"), namespace)  # noqa: S102
    assert namespace["missing"][0] == "weight_peephole_l0"
