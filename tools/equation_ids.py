"""Equation ids of the yetztml modules: where each is defined, where it is cited, and what clashes.

    python tools/equation_ids.py                 # check src/yetztml; exit 1 on a clash or a dangling citation
    python tools/equation_ids.py src/yetztml --list

Each module numbers its equations in its docstring, an id at the start of an indented line::

    (LSTM-F6)  c(t) = f(t) ⊙ c(t−1) + i(t) ⊙ g(t)

and the line that implements an equation cites the id in a comment (``# (LSTM-F6)``). An id is a
parenthesised upper-case word ending in a number, with an optional lower-case letter, e.g. ``(POOL3)``,
``(F4)``, ``(S2S10)``, ``(BND-E1)``. The check reports

- an id defined in the docstrings of two or more modules (a reader grepping it would land in both), and
- an id cited in a comment that no module's docstring defines (a citation of nothing).

Paper equations (``[1997 eq. 9]``) are not ids and are not checked.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from pathlib import Path

ID = r"[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*[0-9]+[a-z]?"
#: an id opening an indented docstring line: a definition
DEFINITION = re.compile(rf"^[ \t]+\(({ID})\)(?=\s)", re.MULTILINE)
#: an id anywhere in a comment: a citation
CITATION = re.compile(rf"\(({ID})\)")


class Report:
    """Definitions and citations of a tree: id → modules, and the problems found."""

    def __init__(self) -> None:
        self.defined: dict[str, list[str]] = {}  # id → modules whose docstring defines it
        self.cited: dict[str, list[str]] = {}  # id → "module:line" of each citing comment

    @property
    def duplicates(self) -> dict[str, list[str]]:
        """Ids defined in more than one module, with those modules."""
        return {k: v for k, v in sorted(self.defined.items()) if len(v) > 1}

    @property
    def dangling(self) -> dict[str, list[str]]:
        """Ids cited in a comment and defined nowhere, with the citing places (module:line)."""
        return {k: v for k, v in sorted(self.cited.items()) if k not in self.defined}


def module_definitions(source: str) -> list[str]:
    """The ids defined in a module's docstring, in order (each once)."""
    doc = ast.get_docstring(ast.parse(source), clean=False) or ""
    return list(dict.fromkeys(DEFINITION.findall(doc)))


def module_citations(source: str) -> list[tuple[str, int]]:
    """(id, line) for every id cited in a ``#`` comment of a module."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found.extend((m, tok.start[0]) for m in CITATION.findall(tok.string))
    return found


def check(root: str | Path) -> Report:
    """Read every ``.py`` file under ``root`` and collect its definitions and citations."""
    root = Path(root)
    report = Report()
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(root.parent).as_posix()
        for eq in module_definitions(source):
            report.defined.setdefault(eq, []).append(name)
        for eq, line in module_citations(source):
            report.cited.setdefault(eq, []).append(f"{name}:{line}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="equation_ids.py",
        description="Check that every equation id is defined by one module's docstring and that every id "
        "cited in a `# (X1)` comment is defined somewhere. Exit status 1 when it is not so.",
    )
    parser.add_argument("root", nargs="?", default="src/yetztml", help="package folder (default src/yetztml)")
    parser.add_argument("--list", action="store_true", help="also list every id with its defining module(s)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        print(f"equation_ids.py: expected a folder, got {args.root!r}; name the package folder", file=sys.stderr)
        return 2
    report = check(root)
    if args.list:
        for eq, modules in sorted(report.defined.items()):
            print(f"({eq})  {', '.join(modules)}  cited {len(report.cited.get(eq, []))}x")
    for eq, modules in report.duplicates.items():
        print(f"duplicate ({eq}): defined in {', '.join(modules)}")
    for eq, places in report.dangling.items():
        print(f"dangling ({eq}): cited at {', '.join(places)}, defined nowhere")
    n_dup, n_dang = len(report.duplicates), len(report.dangling)
    print(f"{len(report.defined)} ids defined, {n_dup} defined twice or more, {n_dang} cited but undefined")
    return 1 if n_dup or n_dang else 0


if __name__ == "__main__":
    sys.exit(main())
