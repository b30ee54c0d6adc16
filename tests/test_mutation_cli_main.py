"""yetztml.cli.main piece by piece: the top-level parser, the one-line errors, the signal handlers and what
``main`` turns each kind of failure into (the line, the exit status).

The handlers are driven directly, with ``signal.signal``, ``os.kill`` and the worker list replaced by
recorders, so that no real signal is sent; ``main`` is driven through ``describe``, whose handler a test
replaces (``add_parser`` reads the module's ``handle`` when the parser is built).
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from pathlib import Path

import pytest

from cli_snapshot import snapshot
from yetztml import __version__
from yetztml.cli import describe
from yetztml.cli import main as cli_main
from yetztml.core.errors import OptionError, clear_signals, last_signal, note_signal

CHECK = ("Check that the path exists, is of the right kind (file or folder) and may be written, or choose "
         "another one")


@pytest.fixture(autouse=True)
def no_signals():
    """Each test starts and ends with no noted signal."""
    clear_signals()
    yield
    clear_signals()


def test_the_top_parser_is_the_one_documented():
    parser = cli_main.build_parser()
    assert parser.prog == "yetztml"
    assert isinstance(parser, cli_main.OneLineParser)
    found = snapshot(parser)
    commands = found.pop("command")
    assert found == {
        "description": "The mathematics of Long Short-Term Memory, executable and fast: recurrent cells written as "
                       "their equations, hand-derived gradients proven against finite differences and PyTorch.",
        "epilog": "Run `yetztml run` with no arguments for the guided tour; `yetztml COMMAND --help` for details.",
        "formatter": "RawDescriptionHelpFormatter",
        "--version": {"kind": "_VersionAction", "help": "show program's version number and exit",
                      "default": "==SUPPRESS==", "nargs": 0, "version": f"yetztml {__version__}"},
    }
    assert (commands.pop("metavar"), commands.pop("required")) == ("COMMAND", False)
    assert list(commands) == ["run", "describe", "gradcheck", "errorflow", "reproduce", "sweep", "demo", "text",
                              "data"]
    assert all(isinstance(sub, cli_main.OneLineParser) for sub in
               next(a for a in parser._actions if a.dest == "command").choices.values())


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"yetztml {__version__}\n"


def test_a_parse_error_is_one_line_with_the_help_hint(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main.main(["describe", "rnn", "--input-size", "x"])
    assert done.value.code == 2
    assert capsys.readouterr().err == ("yetztml describe: error: argument --input-size: invalid int value: 'x'; "
                                       "see `yetztml describe --help`\n")


def test_a_double_dash_as_an_options_value_is_refused(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main.main(["describe", "rnn", "--input-size=--"])
    assert done.value.code == 2
    assert capsys.readouterr().err == ("yetztml describe: error: argument --input-size: expected one value, "
                                       "got '--'; see `yetztml describe --help`\n")


def test_the_double_dash_check_names_every_flag_and_leaves_other_values_alone(capsys):
    parser = cli_main.OneLineParser(prog="p")
    parser.add_argument("-s", "--seed", type=int)
    parser.add_argument("word", nargs="?")
    parser.add_argument("--many", nargs="*")
    assert vars(parser.parse_args(["-s", "3", "w", "--many", "a"])) == {"seed": 3, "word": "w", "many": ["a"]}
    with pytest.raises(SystemExit):
        parser.parse_args(["--seed=--"])
    assert capsys.readouterr().err == "p: error: argument -s/--seed: expected one value, got '--'; see `p --help`\n"


def test_a_double_dash_as_a_positional_is_argparses_own_error(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main.main(["describe", "--", "--"])
    assert done.value.code == 2
    assert capsys.readouterr().err.startswith("yetztml describe: error: argument cell: invalid choice: '--' (choose ")


def test_stop_workers_terminates_every_active_child(monkeypatch):
    ended = []

    class Child:
        def __init__(self, name):
            self.name = name

        def terminate(self):
            ended.append(self.name)

    monkeypatch.setattr(cli_main.multiprocessing, "active_children", lambda: [Child("a"), Child("b")])
    cli_main._stop_workers()
    assert ended == ["a", "b"]


@pytest.fixture
def stops(monkeypatch) -> list[str]:
    """``_stop_workers`` replaced by a recorder."""
    calls: list[str] = []
    monkeypatch.setattr(cli_main, "_stop_workers", lambda: calls.append("stop"))
    return calls


def test_interrupt_in_the_commands_process_notes_stops_and_raises(monkeypatch, stops):
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid())
    with pytest.raises(KeyboardInterrupt) as raised:
        cli_main._interrupt(signal.SIGINT, None)
    assert type(raised.value) is KeyboardInterrupt
    assert (last_signal(), stops) == (signal.SIGINT, ["stop"])


def quietly(handler, signum: int) -> object:
    """Call a signal handler that must return; an interrupt it raises fails the test (not the test run)."""
    try:
        return handler(signum, None)
    except KeyboardInterrupt as err:
        pytest.fail(f"the handler raised {type(err).__name__}")


def test_interrupt_in_a_worker_is_ignored(monkeypatch, stops):
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid() + 1)
    assert quietly(cli_main._interrupt, signal.SIGINT) is None
    assert (last_signal(), stops) == (None, [])


@pytest.fixture
def kills(monkeypatch) -> list:
    """``signal.signal`` and ``os.kill`` replaced by recorders (no real signal is sent)."""
    calls: list = []
    monkeypatch.setattr(cli_main.signal, "signal", lambda signum, handler: calls.append(("signal", signum, handler)))
    monkeypatch.setattr(cli_main.os, "kill", lambda pid, signum: calls.append(("kill", pid, signum)))
    return calls


def test_terminate_in_the_commands_process_notes_stops_and_raises(monkeypatch, stops, kills):
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid())
    with pytest.raises(cli_main.Terminated):
        cli_main._terminate(signal.SIGTERM, None)
    assert (last_signal(), stops, kills) == (signal.SIGTERM, ["stop"], [])
    assert issubclass(cli_main.Terminated, KeyboardInterrupt)


def test_terminate_in_a_worker_ends_it_as_sigterms_default(monkeypatch, stops, kills):
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid() + 1)
    assert quietly(cli_main._terminate, signal.SIGTERM) is None
    assert kills == [("signal", signal.SIGTERM, signal.SIG_DFL), ("kill", os.getpid(), signal.SIGTERM)]
    assert (last_signal(), stops) == (None, [])


@pytest.fixture
def handlers(monkeypatch) -> dict:
    """The process's signal table replaced by a dict (SIGINT and SIGTERM at Python's defaults)."""
    table = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}

    def install(signum, handler):
        previous = table[signum]
        table[signum] = handler
        return previous

    monkeypatch.setattr(cli_main.signal, "getsignal", table.get)
    monkeypatch.setattr(cli_main.signal, "signal", install)
    monkeypatch.setitem(cli_main._owner, "pid", -1)
    return table


def test_install_handlers_replaces_the_defaults_and_returns_them(handlers):
    assert cli_main._install_handlers() == {signal.SIGINT: signal.default_int_handler,
                                            signal.SIGTERM: signal.SIG_DFL}
    assert handlers == {signal.SIGINT: cli_main._interrupt, signal.SIGTERM: cli_main._terminate}
    assert cli_main._owner["pid"] == os.getpid()


def test_install_handlers_leaves_an_ignored_signal_ignored(handlers):
    handlers[signal.SIGINT] = signal.SIG_IGN
    assert cli_main._install_handlers() == {signal.SIGTERM: signal.SIG_DFL}
    assert handlers == {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: cli_main._terminate}


def test_install_handlers_outside_the_main_thread_does_nothing(handlers):
    found = []
    thread = threading.Thread(target=lambda: found.append(cli_main._install_handlers()))
    thread.start()
    thread.join()
    assert found == [{}]
    assert cli_main._owner["pid"] == -1
    assert handlers == {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}


@pytest.mark.parametrize(("err", "line"), [
    (OSError(errno.ENOSPC, "No space left on device", "g.json"), "No space left on device: 'g.json'. "),
    (OSError(errno.EXDEV, "Invalid cross-device link", Path("a/x"), None, "b"),
     "Invalid cross-device link: 'a/x' -> 'b'. "),
    (PermissionError("not allowed"), "PermissionError: not allowed. "),
    (OSError(errno.EIO, "Input/output error"), "Input/output error: [Errno 5] Input/output error. "),
])
def test_os_error_line_names_what_failed_and_the_paths(err, line):
    assert cli_main._os_error_line(err) == line + CHECK


def test_interrupted_tells_an_interrupt_from_a_termination(capsys):
    assert cli_main._interrupted("demo", cli_main.Terminated()) == 143
    assert capsys.readouterr().err == "yetztml demo: terminated\n"
    note_signal(signal.SIGTERM)
    assert cli_main._interrupted("demo", KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == "yetztml demo: interrupted\n"
    assert cli_main._interrupted("sweep", SystemError("from compiled code")) == 143
    assert capsys.readouterr().err == "yetztml sweep: terminated\n"
    note_signal(signal.SIGINT)
    assert cli_main._interrupted("sweep", SystemError("from compiled code")) == 130
    assert capsys.readouterr().err == "yetztml sweep: interrupted\n"


def test_no_command_prints_the_help_and_is_status_2(capsys):
    assert cli_main.main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: yetztml [-h] [--version] COMMAND ...\n\nThe mathematics of Long Short-Term")


def with_handler(monkeypatch, handler) -> None:
    monkeypatch.setattr(describe, "handle", handler)


@pytest.mark.parametrize(("returned", "status"), [(None, 0), (0, 0), (1, 1), (3, 3), (True, 1)])
def test_main_returns_the_handlers_status(returned, status, monkeypatch):
    seen = []
    with_handler(monkeypatch, lambda args: seen.append(args.cell) or returned)
    assert cli_main.main(["describe", "gru"]) == status
    assert seen == ["gru"]


def test_main_forgets_the_signals_of_an_earlier_command_and_restores_the_handlers(monkeypatch):
    # Python's own handlers first: main installs its handlers only where the defaults are, and an earlier
    # test in this process may have left another (Ray's SIGTERM handler, for one)
    outer = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _forgets_and_restores(monkeypatch)
    finally:
        signal.signal(signal.SIGINT, outer[0])
        signal.signal(signal.SIGTERM, outer[1])


def _forgets_and_restores(monkeypatch):
    during = []
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    monkeypatch.setitem(cli_main._owner, "pid", -1)
    note_signal(signal.SIGTERM)
    with_handler(monkeypatch, lambda args: during.append(
        (last_signal(), signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))) or 0)
    assert cli_main.main(["describe", "rnn"]) == 0
    assert during == [(None, cli_main._interrupt, cli_main._terminate)]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert cli_main._owner["pid"] == os.getpid()


def raising(err: BaseException):
    def handler(args):
        raise err
    return handler


@pytest.mark.parametrize(("err", "status", "line"), [
    (OptionError("--x: expected a, got b. Fix it."), 2, "yetztml describe: error: --x: expected a, got b. Fix it."),
    (OSError(errno.ENOENT, "No such file or directory", "m.json"),
     2, f"yetztml describe: error: No such file or directory: 'm.json'. {CHECK}"),
    (KeyboardInterrupt(), 130, "yetztml describe: interrupted"),
    (cli_main.Terminated(), 143, "yetztml describe: terminated"),
])
def test_main_turns_each_failure_into_its_line_and_status(err, status, line, monkeypatch, capsys):
    with_handler(monkeypatch, raising(err))
    assert cli_main.main(["describe", "rnn"]) == status
    assert capsys.readouterr() == ("", line + "\n")


def test_main_reports_an_interrupt_hidden_behind_another_error(monkeypatch, capsys):
    def hidden(args):
        note_signal(signal.SIGTERM)
        raise RuntimeError("raised while compiling")

    with_handler(monkeypatch, hidden)
    assert cli_main.main(["describe", "rnn"]) == 143
    assert capsys.readouterr().err == "yetztml describe: terminated\n"


def test_main_reports_a_ctrl_c_behind_another_error_as_an_interrupt(monkeypatch, capsys):
    """The interrupt found in the chain decides, not the last signal noted."""
    def chained(args):
        note_signal(signal.SIGTERM)
        raise SystemError("returned a result with an exception set") from KeyboardInterrupt()

    with_handler(monkeypatch, chained)
    assert cli_main.main(["describe", "rnn"]) == 130
    assert capsys.readouterr().err == "yetztml describe: interrupted\n"


def test_main_lets_an_ordinary_error_through(monkeypatch):
    with_handler(monkeypatch, raising(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        cli_main.main(["describe", "rnn"])
