"""Mutation score of yetztml modules: mutmut over the named modules, run with only the tests that exercise them.

    python tools/mutation.py src/yetztml/learning/checkpoint.py \\
        --tests tests/test_api_hostile.py tests/test_trainer.py --json checkpoint.json

The run happens in a temporary copy of the repository (``git archive`` of ``--ref``, default ``HEAD``, or with
``--worktree`` the tracked and untracked, not ignored, files as they are now), so edits made meanwhile do not
disturb it and it leaves the working tree as it found it: mutmut's ``mutants/`` folder and its configuration
(a ``[tool.mutmut]`` table appended to the copy's ``pyproject.toml``) exist only in the copy, which is removed
afterwards (``--keep`` keeps it for ``python -m mutmut show``/``browse`` there).

mutmut 3 (pinned in the ``[dev]`` extra) mutates the functions of the listed modules only, runs the selected
test files once to learn which test reaches which function, then runs, for each mutant, only the tests that
reach the mutated function, each in a process forked from one that has already imported the package and
compiled its Numba kernels. One worker by default (``--max-children``); ``OMP_NUM_THREADS`` and friends are
set to 1.

Printed (and written with ``--json``/``--markdown``): per module the mutants killed over the total, the score
over the mutants not judged equivalent, and every survivor with its line and the mutated line. Survivors
judged equivalent are listed, with the reason, in ``tools/mutation_equivalent.json`` (``--equivalent``),
keyed by the module, the original line and the mutated line. See docs/testing.md.

``--workdir DIR`` makes the copy in ``DIR/copy`` (replaced at each run) and keeps Numba's cache in
``DIR/numba-cache``: Numba keys its cache by the source file's folder, so with a random copy folder every run
compiles every kernel afresh, and mutmut, which sizes each mutant's time limit from the tests' first timing
(compilation included), then gives an endless-loop mutant hours. From the second run in the same ``DIR`` on,
the unchanged kernels load from the cache.

This is not part of the default test run: it takes minutes per module.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EQUIVALENT = ROOT / "tools" / "mutation_equivalent.json"

# mutmut 3.8's exit codes of a mutant's test run (mutmut.stats.status_by_exit_code); anything else is "suspicious"
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", 37: "caught by type check",
          -11: "segfault", -9: "segfault", 2: "interrupted", None: "not checked"}
DETECTED = {"killed", "timeout", "segfault"}
ONE_THREAD = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _fail(text: str) -> None:
    print(f"mutation.py: {text}", file=sys.stderr)
    raise SystemExit(2)


def _git(*args: str, binary: bool = False) -> bytes | str:
    out = subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout
    return out if binary else out.decode()


def copy_tree(dest: Path, ref: str | None) -> str:
    """The repository at ``ref`` (or the working tree when ``ref`` is None) under ``dest``; returns what it is."""
    if ref is not None:
        try:
            commit = str(_git("rev-parse", "--verify", f"{ref}^{{commit}}")).strip()
        except subprocess.CalledProcessError:
            _fail(f"--ref: expected a commit, got {ref!r}. Check `git log`.")
        data = _git("archive", "--format=tar", commit, binary=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
        return commit
    names = str(_git("ls-files", "-z", "--cached", "--others", "--exclude-standard")).split("\0")
    for name in filter(None, names):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return str(_git("rev-parse", "HEAD")).strip() + "+worktree"


def configure(tree: Path, modules: list[str], tests: list[str]) -> None:
    """Append mutmut's configuration to the copy's pyproject.toml (the copy only)."""
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    table = (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
        "use_git_change_detection = false\n"
    )
    with open(tree / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write(table)


COPY, CACHE = "copy", "numba-cache"


def workspace(workdir: Path | None) -> tuple[Path, dict[str, str]]:
    """The empty folder the copy goes to, and what the runs' environment adds: a new temporary folder and
    nothing, or ``workdir/copy`` (emptied) and ``NUMBA_CACHE_DIR=workdir/numba-cache`` (kept)."""
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="yetztml-mutation-")), {}
    tree = workdir / COPY
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    (workdir / CACHE).mkdir(exist_ok=True)
    return tree, {"NUMBA_CACHE_DIR": str((workdir / CACHE).resolve())}


def run_mutmut(tree: Path, max_children: int, isolation: str, log: Path, extra_env: dict[str, str]) -> float:
    if isolation != "fork":
        with open(tree / "pyproject.toml", "a", encoding="utf-8") as handle:
            handle.write(f'process_isolation = "{isolation}"\n')
    (tree / "mutants" / "src").mkdir(parents=True)  # so that test subprocesses import the mutated copy too
    env = {**os.environ, **extra_env, **{name: "1" for name in ONE_THREAD},
           "PYTHONPATH": str(tree / "mutants" / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    with open(log, "wb") as out:
        code = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)],
                              cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    if code != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        _fail(f"mutmut exited with status {code} (log above; --keep keeps {tree}).")
    return seconds


def _function_span(source: str, key: str) -> tuple[int, int] | None:
    """First line (decorators included) and last line of the function a mutant name refers to."""
    mangled = key.rpartition(".")[2].partition("__mutmut_")[0]
    if "ǁ" in mangled:
        _, cls, name = mangled.split("ǁ")
    else:
        cls, name = None, mangled[2:]
    scope = ast.parse(source).body
    if cls is not None:
        found = [n for n in scope if isinstance(n, ast.ClassDef) and n.name == cls]
        scope = found[0].body if found else []
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno
    return None


_DIFFS = """
import json, sys
from pathlib import Path
from mutmut.mutation.diff_apply import get_diff_for_mutant
keys = json.loads(Path(sys.argv[2]).read_text())
diffs = {key: get_diff_for_mutant(key, path=Path(sys.argv[1])) for key in keys}
Path(sys.argv[2]).write_text(json.dumps(diffs))
"""


def describe(tree: Path, module: str, keys: list[str]) -> dict[str, dict[str, object]]:
    """Line, original and mutated text of each mutant in ``keys`` (mutmut's diffs, in one process)."""
    exchange = tree / "diffs.json"
    exchange.write_text(json.dumps(keys))
    subprocess.run([sys.executable, "-c", _DIFFS, module, str(exchange)], cwd=tree, check=True,
                   capture_output=True)
    diffs = json.loads(exchange.read_text())
    source = (tree / module).read_text(encoding="utf-8")
    lines = source.splitlines()
    described = {}
    for key in keys:
        diff = diffs[key].splitlines()
        original = [d[1:].strip() for d in diff if d.startswith("-") and not d.startswith("---")]
        mutated = [d[1:].strip() for d in diff if d.startswith("+") and not d.startswith("+++")]
        span = _function_span(source, key)
        line = None
        if span is not None and original:
            # the first removed line, found in the function's own lines (the nearest to the hunk if repeated)
            hunk = next((int(m.group(1)) for m in (re.match(r"@@ -(\d+)", d) for d in diff) if m), 1)
            candidates = [n for n in range(span[0], span[1] + 1) if lines[n - 1].strip() == original[0]]
            if candidates:
                line = min(candidates, key=lambda n: abs(n - (span[0] + hunk)))
        described[key] = {"name": key, "line": line, "original": "\n".join(original),
                          "mutated": "\n".join(mutated)}
    return described


def load_equivalent(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["equivalent"]


def collect(tree: Path, modules: list[str], equivalent: list[dict[str, str]]) -> list[dict[str, object]]:
    results = []
    for module in modules:
        meta_path = tree / "mutants" / (module + ".meta")
        codes = json.loads(meta_path.read_text())["exit_code_by_key"] if meta_path.exists() else {}
        counts: dict[str, int] = {}
        survivors = []
        for key, code in sorted(codes.items(), key=lambda kv: int(kv[0].rpartition("_")[2])):
            status = STATUS.get(code, "suspicious")
            counts[status] = counts.get(status, 0) + 1
            if status in DETECTED:
                continue
            survivors.append({"status": status, "name": key})
        described = describe(tree, module, [s["name"] for s in survivors])
        for entry in survivors:
            entry.update(described[entry["name"]])
            reason = next((e["reason"] for e in equivalent if e["module"] == module
                           and e["original"] == entry["original"] and e["mutated"] == entry["mutated"]), None)
            if reason is not None:
                entry["equivalent"] = reason
        survivors.sort(key=lambda s: (s["line"] or 0, s["name"]))
        total = sum(counts.values())
        killed = sum(counts.get(s, 0) for s in DETECTED)
        n_equivalent = sum(1 for s in survivors if "equivalent" in s)
        results.append({
            "module": module, "total": total, "killed": killed, "equivalent": n_equivalent, "counts": counts,
            "score": killed / total if total else None,
            "score_non_equivalent": killed / (total - n_equivalent) if total > n_equivalent else None,
            "survivors": survivors,
        })
    return results


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def markdown(report: dict[str, object]) -> str:
    rows = ["| module | killed / total | equivalent | score | score over non-equivalent |",
            "|---|---|---|---|---|"]
    for r in report["modules"]:
        rows.append(f"| `{r['module']}` | {r['killed']} / {r['total']} | {r['equivalent']} | {_pct(r['score'])} "
                    f"| {_pct(r['score_non_equivalent'])} |")
    lines = [f"Mutation score at {report['source']} ({report['seconds']:.0f} s, "
             f"tests: {' '.join(report['tests'])})", "", *rows]
    for r in report["modules"]:
        if not r["survivors"]:
            continue
        lines += ["", f"Survivors in `{r['module']}`:", "", "| line | mutant | status | original | mutated |",
                  "|---|---|---|---|---|"]
        for s in r["survivors"]:
            status = f"equivalent: {s['equivalent']}" if "equivalent" in s else s["status"]
            cells = [str(s["line"]), s["name"].rpartition(".")[2], status,
                     f"`{s['original']}`", f"`{s['mutated']}`"]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ⏎ ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/mutation.py",
        description="Mutation score of yetztml modules (mutmut 3, run in a temporary copy of the repository, "
                    "with only the named tests). Prints a Markdown table; --json/--markdown write the report.",
        epilog="Example: python tools/mutation.py src/yetztml/cli/paths.py --tests tests/test_cli_hostile.py")
    parser.add_argument("modules", nargs="+", help="source files to mutate, e.g. src/yetztml/learning/checkpoint.py")
    parser.add_argument("--tests", nargs="+", required=True,
                        help="test files (or pytest node ids) that exercise the modules; only these run")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--ref", default="HEAD", help="commit to measure (git archive of it; default HEAD)")
    where.add_argument("--worktree", action="store_true",
                       help="measure the working tree as it is now (tracked and untracked, not ignored, files)")
    parser.add_argument("--max-children", type=int, default=1, help="mutmut worker processes (default 1)")
    parser.add_argument("--isolation", choices=["fork", "forkserver"], default="fork",
                        help="mutmut's process_isolation: forkserver for tests that are not fork-safe")
    parser.add_argument("--equivalent", type=Path, default=DEFAULT_EQUIVALENT,
                        help="JSON of survivors judged equivalent, with reasons (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write the report as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the Markdown table here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    parser.add_argument("--workdir", type=Path,
                        help="make the copy in WORKDIR/copy and keep Numba's cache in WORKDIR/numba-cache, so that "
                             "later runs there skip compiling the unchanged kernels")
    args = parser.parse_args(argv)

    if args.max_children < 1:
        _fail(f"--max-children: expected an integer >= 1, got {args.max_children}.")
    for module in args.modules:
        if not (module.startswith("src/") and module.endswith(".py")):
            _fail(f"module: expected a path src/yetztml/....py relative to the repository root, got {module!r}.")
    equivalent = load_equivalent(args.equivalent)
    tree, extra_env = workspace(args.workdir)
    try:
        source = copy_tree(tree, None if args.worktree else args.ref)
        for path in [*args.modules, *(t.partition("::")[0] for t in args.tests)]:
            if not (tree / path).is_file():
                _fail(f"{path!r}: expected a file of the repository at {source}, got no such file.")
        configure(tree, args.modules, args.tests)
        print(f"mutmut over {' '.join(args.modules)} at {source} in {tree} ...", file=sys.stderr, flush=True)
        seconds = run_mutmut(tree, args.max_children, args.isolation, tree / "mutmut.log", extra_env)
        report = {"source": source, "tests": args.tests, "seconds": round(seconds, 1),
                  "command": " ".join(["python", "tools/mutation.py", *(argv if argv is not None else sys.argv[1:])]),
                  "modules": collect(tree, args.modules, equivalent)}
    finally:
        if args.keep:
            print(f"kept {tree}", file=sys.stderr)
        else:
            shutil.rmtree(tree, ignore_errors=True)
    text = markdown(report)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
