"""What the command-line mutation tests share: a parser as data, to compare with the parser it must be.

Every text of a parser (its description, epilog, each option's help) is what a user reads in ``--help``, and
every attribute of an option (flags, type, default, choices, metavar, required, dest) is how the command
line reads the user's words; :func:`snapshot` lists them all, so that one comparison pins each of them.
"""

from __future__ import annotations

import argparse

from yetztml.cli.main import build_parser

#: The attributes an argparse option has when it is not given them (left out of a snapshot).
BLANK = {"type": None, "default": None, "choices": None, "metavar": None, "required": False, "nargs": None,
         "const": None, "version": None}


def snapshot(parser: argparse.ArgumentParser) -> dict:
    """The parser as data: its texts, its formatter, and per option (keyed by its flags, or its dest for a
    positional) the class, the help and every attribute that differs from argparse's default; a sub-command
    group becomes its metavar, whether it is required, and per sub-command (help, snapshot)."""
    out: dict = {"description": parser.description, "epilog": parser.epilog,
                 "formatter": parser.formatter_class.__name__}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            out[a.dest] = {"metavar": a.metavar, "required": a.required,
                           **{c.dest: (c.help, snapshot(a.choices[c.dest])) for c in a._choices_actions}}
            continue
        if a.dest == "help":
            continue
        fields = {"kind": type(a).__name__, "help": a.help, "type": getattr(a.type, "__name__", a.type),
                  **{k: getattr(a, k, None) for k in BLANK if k != "type"}}
        entry = {k: v for k, v in fields.items() if k in ("kind", "help") or v != BLANK[k]}
        if a.option_strings and a.dest != a.option_strings[-1].lstrip("-").replace("-", "_"):
            entry["dest"] = a.dest
        out["/".join(a.option_strings) or a.dest] = entry
    return out


#: Built once on import: the commands import their libraries when the parser is made, which takes seconds
#: the first time; made here, that time is spent collecting the tests rather than inside the first of them.
PARSER = build_parser()


def command(*names: str) -> argparse.ArgumentParser:
    """The parser of ``yetztml NAME [SUBNAME…]`` as :func:`yetztml.cli.main.build_parser` makes it."""
    parser = build_parser()
    for name in names:
        group = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = group.choices[name]
    return parser


def flushed_lines(monkeypatch, module) -> list[tuple[str, bool]]:
    """``print`` in ``module`` recorded as (text, flushed at once) and still printed: the lines a command
    flushes are the ones a pipe or a log shows while the work runs."""
    import builtins

    lines: list[tuple[str, bool]] = []

    def recording(*objects, sep=" ", end="\n", file=None, flush=False):
        lines.append((sep.join(str(o) for o in objects), flush))
        builtins.print(*objects, sep=sep, end=end, file=file, flush=flush)

    monkeypatch.setattr(module, "print", recording, raising=False)
    return lines
