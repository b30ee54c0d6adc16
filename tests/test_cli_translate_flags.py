"""``yetztml text train --task translate`` and ``text translate`` options no other test passes, through
:func:`yetztml.cli.main.main`: --tokenise and --output, each with its effect."""

from __future__ import annotations

import json

from test_translate_app import _write_task
from yetztml.cli.main import main


def test_tokenise_is_kept_and_output_writes_the_translations_to_a_file(tmp_path, capsys):
    src, tgt, vsrc, vtgt = _write_task(tmp_path, n_train=64, n_val=8)
    out = tmp_path / "m"
    assert main(["text", "train", "--task", "translate", "--src", src, "--tgt", tgt, "--val-src", vsrc,
                 "--val-tgt", vtgt, "--out", str(out), "--hidden", "8", "--embed-dim", "4", "--epochs", "1",
                 "--min-freq", "1", "--no-lowercase", "--beam", "1", "--no-figures", "--tokenise", "words"]) == 0
    assert json.loads((out / "result.json").read_text())["config"]["tokenise"] == "words"
    (tmp_path / "in.txt").write_text("w1 w2\n\nw3 w4\n")
    capsys.readouterr()
    argv = ["text", "translate", "--model", str(out), "--input", str(tmp_path / "in.txt")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert main([*argv, "--output", str(tmp_path / "out.txt")]) == 0
    assert capsys.readouterr().out == ""  # nothing on standard output: the same lines are in the file
    assert (tmp_path / "out.txt").read_text() == printed and printed.count("\n") == 3


def test_init_range_takes_a_number_or_pytorch_and_refuses_anything_else(tmp_path, capsys):
    import pytest

    from yetztml.cli.translate import _init_range

    assert (_init_range("0.08"), _init_range(" PyTorch ")) == (0.08, None)
    src, tgt, vsrc, vtgt = _write_task(tmp_path, n_train=16, n_val=4)
    base = ["text", "train", "--task", "translate", "--src", src, "--tgt", tgt, "--val-src", vsrc, "--val-tgt",
            vtgt, "--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--min-freq", "1", "--no-figures"]
    with pytest.raises(SystemExit) as stop:
        main([*base, "--out", str(tmp_path / "bad"), "--init-range", "small"])
    assert stop.value.code == 2 and "expected a number R > 0 or 'pytorch', got 'small'" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "neg"), "--init-range", "-1"]) == 2
    assert "--init-range: expected a number > 0" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "m"), "--init-range", "0.07", "--beam", "1"]) == 0
    assert json.loads((tmp_path / "m" / "result.json").read_text())["config"]["init_range"] == 0.07
    assert json.loads((tmp_path / "m" / "model.json").read_text())["model"]["config"]["init_range"] == 0.07
