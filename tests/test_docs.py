"""The documentation's code runs: every ```python block of the pages below, in order, in one namespace
per page (each block's own asserts are the checks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["models.md", "protocol.md"]


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page):
    code = blocks(page)
    assert len(code) >= 2, f"docs/{page} lost its examples"
    if "import torch" in "".join(code):
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
    namespace: dict = {"__name__": f"docs_{page.replace('.', '_')}"}
    for number, block in enumerate(code):
        exec(compile(block, f"docs/{page} block {number + 1}", "exec"), namespace)
