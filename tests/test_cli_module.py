"""``python -m yetztml`` is the ``yetztml`` command."""

import subprocess
import sys


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "yetztml", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for command in ("run", "reproduce", "demo", "errorflow", "gradcheck", "describe"):
        assert command in done.stdout


def test_python_dash_m_reports_a_bad_command():
    done = subprocess.run([sys.executable, "-m", "yetztml", "no-such-command"], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0
    assert "no-such-command" in done.stderr
