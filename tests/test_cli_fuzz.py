"""Generated bad arguments for every subcommand: one line naming the option, exit status 2, nothing written.

Hypothesis draws a subcommand, one of its options and a bad value for it — a negative seed, a count out of
range, a word where a number belongs, an empty path, an existing file as a folder, a path under a file, a
folder as a file, a missing, empty or folder input file — and runs ``main([...])`` in a scratch folder.
"""

from __future__ import annotations

import contextlib
import io
import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from yetztml.cli.main import main

TEXT = ["--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--batch-size", "8", "--no-figures"]
BSS = ["--batch-size", "2", "--n-steps", "40", "--hidden-size", "6", "--n-test", "2", "--no-analyses",
       "--no-figures", "--threads", "1"]
#: Each subcommand with arguments that would start real work, so that only the bad option can stop it.
COMMANDS = {
    "gradcheck": ["gradcheck", "rnn"],
    "errorflow": ["errorflow"],
    "run": ["run"],
    "reproduce lstm1997": ["reproduce", "lstm1997", "--exp", "4", "--trials", "1"],
    "reproduce gers2000": ["reproduce", "gers2000", "--row", "no-such-row"],
    "demo bss": ["demo", "bss", "--batches", "1", *BSS],
    "sweep": ["sweep", "s.toml"],
    "text train": ["text", "train", "--data", "t.csv", "--out", "o", *TEXT],
    "text evaluate": ["text", "evaluate", "--model", "m", "--data", "t.csv"],
    "text predict": ["text", "predict", "--model", "m", "--input", "t.txt"],
    "text translate": ["text", "translate", "--model", "m", "--input", "t.txt"],
    "demo sarcasm": ["demo", "sarcasm", "--data", "t.csv", "--out", "o", "--epochs", "1", "--no-figures"],
    "data fetch": ["data", "fetch", "sarcasm", "--base-url", "http://127.0.0.1:9"],
    "data list": ["data", "list"],
    "describe": ["describe", "lstm", "--input-size", "3", "--hidden-size", "2"],
    "demo translate": ["demo", "translate", "--data", "mt", "--out", "o", "--max-minutes", "0.001"],
}
#: A sweep file for `sweep` (made in the scratch folder).
SWEEP = 'command = "reproduce lstm1997"\n[base]\nexp = "4"\nT = 100\ntrials = 1\n'

SEEDED = [name for name in COMMANDS if name not in ("sweep", "text evaluate", "text predict", "text translate",
                                                    "data fetch", "data list", "describe")]
#: Options taking a folder / a file, per subcommand.
FOLDERS = {"errorflow": "--out", "run": "--out", "reproduce lstm1997": "--out", "reproduce gers2000": "--out",
           "demo bss": "--out", "sweep": "--out", "text train": "--out", "demo sarcasm": "--out", "data fetch": "--dir",
           "data list": "--dir", "demo translate": "--out"}
FILES = {"gradcheck": "--json", "errorflow": "--json", "text evaluate": "--json", "text translate": "--output",
         "describe": "--figure"}
#: Options naming a file to read (a data file; --model a model folder), per subcommand.
INPUTS = {"text train": ["--data", "--val", "--test", "--vectors"], "text evaluate": ["--data", "--model"],
          "text predict": ["--input", "--model"], "text translate": ["--input", "--model"], "demo sarcasm": ["--data"]}
#: Integer options and the smallest value each accepts.
COUNTS = {
    "errorflow": [("--lags", 1)],
    "run": [("--workers", 0)],
    "reproduce lstm1997": [("--trials", 1), ("--jobs", 1), ("--max-sequences", 1)],
    "reproduce gers2000": [("--trials", 1), ("--jobs", 1), ("--max-streams", 1), ("--max-steps", 1)],
    "sweep": [("--jobs", 1)],
    "demo bss": [("--batches", 1), ("--n-test", 2), ("--eval-every", 1), ("--checkpoint-every", 1),
                 ("--hidden-size", 1), ("--threads", 1)],
    "text train": [("--hidden", 1), ("--layers", 1), ("--embed-dim", 1), ("--epochs", 1), ("--batch-size", 1),
                   ("--patience", 1), ("--max-length", 1), ("--min-freq", 1), ("--max-vocab", 3)],
    "demo sarcasm": [("--epochs", 1)],
    "describe": [("--input-size", 1), ("--hidden-size", 1), ("--num-layers", 1)],
}
NAME = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=8).filter(
    lambda s: not s.startswith("-"))


@st.composite
def bad_arguments(draw) -> tuple[list[str], str]:
    """(argv, the option that is bad)."""
    kind = draw(st.sampled_from(["seed", "folder", "file", "input", "count", "word"]))
    if kind == "seed":
        name = draw(st.sampled_from(SEEDED))
        return [*COMMANDS[name], "--seed", str(draw(st.integers(max_value=-1)))], "--seed"
    if kind == "folder":
        name = draw(st.sampled_from(sorted(FOLDERS)))
        value = draw(st.one_of(st.just(""), st.just("f"), NAME.map(lambda s: f"f/{s}"),
                               NAME.map(lambda s: f"d/f/{s}")))
        return [*COMMANDS[name], FOLDERS[name], value], FOLDERS[name]
    if kind == "input":
        name = draw(st.sampled_from(sorted(INPUTS)))
        option = draw(st.sampled_from(INPUTS[name]))
        bad = ["", "missing", "f/x", "d/missing"] + (["f"] if option == "--model" else ["d", "empty.csv"])
        return [*COMMANDS[name], option, draw(st.sampled_from(bad))], option
    if kind == "file":
        name = draw(st.sampled_from(sorted(FILES)))
        value = draw(st.one_of(st.just(""), st.just("."), st.just("d"), st.just("d/"), NAME.map(lambda s: f"f/{s}")))
        return [*COMMANDS[name], FILES[name], value], FILES[name]
    name = draw(st.sampled_from(sorted(COUNTS)))
    option, minimum = draw(st.sampled_from(COUNTS[name]))
    if kind == "count":
        value = str(draw(st.integers(max_value=minimum - 1, min_value=-(10**12))))
    else:
        value = draw(st.sampled_from(["x", "1.5", "one", "0x10", "nan", "--"]))
    return [*COMMANDS[name], f"{option}={value}"], option


def tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=bad_arguments())
@example(case=(["errorflow", "--lags=--"], "--lags"))  # argparse 3.11 stores [] for "--", unconverted
@example(case=(["reproduce", "gers2000", "--row", "x", "--trials=--"], "--trials"))
@example(case=(["gradcheck", "rnn", "--json", "d/"], "--json"))
@example(case=([*COMMANDS["data fetch"], "--dir", ""], "--dir"))  # was the default cache, and the network
@example(case=([*COMMANDS["text train"], "--val", ""], "--val"))  # was taken as no --val
@example(case=([*COMMANDS["text evaluate"], "--json", ""], "--json"))
def test_every_subcommand_refuses_bad_arguments_in_one_line(case):
    argv, option = case
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        root = Path(scratch)
        (root / "f").write_text("hi\n")
        (root / "d").mkdir()
        (root / "d" / "f").write_text("hi\n")
        (root / "s.toml").write_text(SWEEP)
        (root / "t.csv").write_text("text,label\n" + "".join(f"day {i},{'ab'[i % 2]}\n" for i in range(20)))
        (root / "t.txt").write_text("a day\n")
        (root / "empty.csv").write_text("")
        (root / "m").mkdir()  # a folder where a model would be; checks come before it is read
        (root / "mt" / "tok").mkdir(parents=True)  # a Multi30k folder of two sentence pairs per split
        for split in ("train", "val", "test_2016_flickr"):
            for lang in ("de", "en"):
                (root / "mt" / "tok" / f"{split}.lc.norm.tok.{lang}").write_text("ein hund\nzwei katzen\n")
        before = tree(root)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code
        lines = err.getvalue().strip().splitlines()
        assert code == 2, (argv, err.getvalue(), out.getvalue())
        assert len(lines) == 1 and "Traceback" not in err.getvalue(), (argv, err.getvalue())
        words = option.lstrip("-")
        assert words in lines[0] or words.replace("-", "_") in lines[0], (argv, lines[0])
        assert "error" in lines[0]
        assert tree(root) == before, argv
