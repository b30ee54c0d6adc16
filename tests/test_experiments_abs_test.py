"""Exps 2b/2c: the success test scored until its first wrong sequence decides as the full test does."""

import pytest

from yetztml.experiments.lstm1997 import resolve_row
from yetztml.experiments.lstm1997.trial import _Run


def _test_draw_state(run):
    return run.rngs["test"].bit_generator.state


@pytest.mark.parametrize("tolerance", [0.2, 1.0])
def test_a_test_scored_until_the_first_wrong_sequence_decides_as_the_full_test(tolerance, monkeypatch):
    """Exp 2c's success test, stopped at the first wrong sequence: same verdict, same test stream."""
    from yetztml.experiments.lstm1997 import trial as trial_module

    row = resolve_row("2c-1")
    verdicts = []
    for until_wrong in (False, True):
        run = _Run(row, 0, 0, None)
        monkeypatch.setattr(run.source, "tolerance", tolerance)
        run.train(50)
        result = trial_module._abs_check(run, 300, until_wrong=until_wrong)
        verdicts.append((result["wrong"] == 0, _test_draw_state(run), result))
    (full_ok, full_state, full), (fast_ok, fast_state, fast) = verdicts
    assert full_ok == fast_ok == (tolerance == 1.0)
    assert full_state == fast_state
    if fast_ok:
        assert fast["scored"] == 300
    else:
        assert (fast["wrong"], fast["scored"], full["wrong"]) == (1, 1, 300)  # seed 0 after 50 sequences
