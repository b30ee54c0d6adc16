"""Embedded Reber grammar (1997 Exp 1) and the continual stream (Gers 2000): automaton, sets, criteria."""

import doctest
import json

import numpy as np
import pytest

from yetztml.core.errors import CheckpointError, OptionError
from yetztml.tasks import EMBEDDED_REBER, REBER, ContinualEmbeddedReber, EmbeddedReber, constant_errors, reber

SYM = reber.SYMBOLS


def names(row):
    return "".join(SYM[k] for k in np.flatnonzero(row))


def test_doctests():
    assert doctest.testmod(reber).failed == 0


def test_reber_automaton_accepts_and_rejects():
    for good in ["BTSSXXTVVE", "BPVVE", "BTXXVPSE", "BPVPXVPXVPXVVE", "BTSXXVPSE", "BTXSE"]:
        assert REBER.accepts(good), good
    for bad in ["BTSSPXSE", "BPTVVB", "BTXXVVSE", "BPVSPSE", "BTSSSE", "BTXS", "", "TXSE", "BTXSEE"]:
        assert not REBER.accepts(bad), bad


def test_embedded_automaton_accepts_and_rejects():
    assert EMBEDDED_REBER.accepts("BTBTXSETE") and EMBEDDED_REBER.accepts("BPBPVVEPE")
    for bad in ["BTBTXSEPE", "BTXSE", "BTBTXSET", "BTBTXSETEB", "BPBPVVEPEE", "BQBTXSETE", ""]:
        assert not EMBEDDED_REBER.accepts(bad), bad
    assert not EMBEDDED_REBER.accepts(None)


def test_next_symbols():
    g = EMBEDDED_REBER
    assert g.next_symbols("") == {"B"}
    assert g.next_symbols("B") == {"T", "P"}
    assert g.next_symbols("BT") == {"B"}
    assert g.next_symbols("BTB") == {"T", "P"}
    assert g.next_symbols("BTBT") == {"S", "X"}
    assert g.next_symbols("BTBP") == {"T", "V"}
    assert g.next_symbols("BTBTXSE") == {"T"}
    assert g.next_symbols("BPBTXSE") == {"P"}
    assert g.next_symbols("BTBTXSETE") == frozenset()
    assert g.next_symbols("BTBQ") == frozenset()


def test_generated_strings_are_accepted_and_lengths_match_the_automaton():
    rng = np.random.default_rng(1)
    strings = [EMBEDDED_REBER.generate(rng) for _ in range(5000)]
    assert all(EMBEDDED_REBER.accepts(s) for s in strings)
    lengths = np.array([len(s) for s in strings])
    expected = sum(EMBEDDED_REBER.expected_visits().values())
    assert expected == pytest.approx(12.0)
    assert abs(lengths.mean() - expected) < 5 * lengths.std() / np.sqrt(len(lengths))
    assert lengths.min() == 9
    assert sum(REBER.expected_visits().values()) == pytest.approx(8.0)
    branch_t = np.mean([s[1] == "T" for s in strings])
    assert abs(branch_t - 0.5) < 5 * np.sqrt(0.25 / len(strings))


def test_train_and_test_sets():
    task = EmbeddedReber(seed=2)
    assert len(task.train) == len(set(task.train)) == 256
    assert len(task.test) == len(set(task.test)) == 256
    assert not set(task.train) & set(task.test)
    assert all(EMBEDDED_REBER.accepts(s) for s in task.train + task.test)
    assert set(task.train) != set(EmbeddedReber(seed=3).train)
    drawn = {task.sample().info["string"] for _ in range(500)}
    assert drawn <= set(task.train)
    # seed 2's sets and draws (about 256·(1 − e^(−500/256)) ≈ 220 distinct strings expected of 500 uniform
    # draws; a sampler that cycled through the set in order would give 256, one stuck on a string 1)
    assert (task.train[:2], task.test[0], len(drawn)) == (("BPBTSSSXXTTVVEPE", "BPBPTVPSEPE"),
                                                          "BTBTXXTTTTVPXVPSETE", 227)


@pytest.mark.parametrize("targets", ["next", "legal"])
def test_encoding(targets):
    task = EmbeddedReber(n_train=20, n_test=5, targets=targets, seed=4)
    for string in task.train:
        s = task.encode(string)
        assert s.length == len(string) - 1 and s.mask.all()
        assert "".join(SYM[k] for k in s.x.argmax(1)) == string[:-1]
        legal = s.info["legal"]
        for t in range(s.length):
            assert names(legal[t]) == "".join(
                c for c in SYM if c in EMBEDDED_REBER.next_symbols(string[: t + 1])
            )
            assert legal[t, SYM.index(string[t + 1])]  # the actual next symbol is always legal
        assert names(legal[-2]) == string[1]  # before the last E: the branch symbol, from memory
        if targets == "next":
            assert "".join(SYM[k] for k in s.targets.argmax(1)) == string[1:]
            assert np.all(s.targets.sum(1) == 1.0)
        else:
            np.testing.assert_array_equal(s.targets, legal.astype(float))


def test_most_active_criterion():
    task = EmbeddedReber(n_train=5, n_test=0, seed=5)
    s = task.encode("BTBTXSETE")
    legal = s.info["legal"].astype(float)
    assert task.correct(legal * 0.6 + 0.1, s)
    assert task.step_correct(legal, s).all()
    assert not task.correct(s.targets, s)  # one-hot next symbol at a 2-way branch ties with the rest
    out = legal.copy()
    out[3, SYM.index("E")] = 1.0  # an illegal unit as active as the legal ones (tie) fails
    assert task.step_correct(out, s).tolist() == [t != 3 for t in range(s.length)]
    out[3, SYM.index("E")] = 0.999
    assert task.correct(out, s)


def test_continual_stream():
    task = ContinualEmbeddedReber(strings_per_sample=3, seed=6)
    s = task.sample()
    text, starts = s.info["string"], s.info["starts"]
    assert len(starts) == 3 and starts[0] == 0 and s.mask.all()
    pieces = [text[a:b] for a, b in zip(starts, list(starts[1:]) + [len(text)], strict=True)]
    assert all(EMBEDDED_REBER.accepts(p) for p in pieces)
    legal = s.info["legal"]
    for t in range(s.length):
        nxt = (text + "B")[t + 1]
        assert legal[t, SYM.index(nxt)]
        if text[t] == "E" and t + 1 in list(starts[1:]) + [len(text)]:
            assert names(legal[t]) == "B"
    np.testing.assert_array_equal(s.targets, legal.astype(float))
    assert task.correct(legal * 0.98 + 0.01, s)
    assert not task.correct(np.full_like(s.targets, 0.5), s)
    step = task.step_correct(legal + 0.48, s)
    assert step.all() and not task.step_correct(legal + 0.49, s).any()


def test_continual_stream_exact_length_and_next_targets():
    task = ContinualEmbeddedReber(targets="next", seed=7)
    s = task.stream(1000)
    assert s.length == 1000
    text = s.info["string"] + s.info["following"]
    assert "".join(SYM[k] for k in s.targets.argmax(1)) == text[1:]
    assert text.startswith("B")


@pytest.mark.parametrize("targets", ["legal", "next"])
def test_cerg_baseline_by_simulation(targets):
    task = ContinualEmbeddedReber(strings_per_sample=1, targets=targets, seed=8)
    base = task.baseline()
    freq = task.target_frequencies()
    if targets == "next":
        assert freq.sum() == pytest.approx(1.0)
    for constant, key in ((base.mae_constant, "mean_abs_error"), (base.mse_constant, "mean_squared_error")):
        sim = constant_errors(task, np.array(constant), 4000)
        assert abs(sim[key] - getattr(base, key)) <= 5 * sim[key + "_se"] + 1e-12
        assert sim["fraction_correct"] == base.fraction_correct == 0.0


def test_exp1_baseline_by_simulation():
    task = EmbeddedReber(n_train=64, n_test=0, seed=9)
    base = task.baseline()
    assert base.mean_abs_error == pytest.approx(1 / 7)  # one-hot targets, constant 0
    sim = constant_errors(task, np.array(base.mse_constant), 4000)
    assert abs(sim["mean_squared_error"] - base.mean_squared_error) < 5 * sim["mean_squared_error_se"]
    assert sim["fraction_correct"] == 0.0


def test_state_save_restore_includes_sets():
    task = EmbeddedReber(n_train=30, n_test=10, seed=10)
    task.sample()
    state = json.loads(json.dumps(task.get_state()))
    first = [task.sample().info["string"] for _ in range(10)]
    other = EmbeddedReber(n_train=5, n_test=5, seed=11)
    other.set_state(state)
    assert other.train == task.train and other.test == task.test
    assert [other.sample().info["string"] for _ in range(10)] == first
    cerg = ContinualEmbeddedReber(seed=12)
    saved = cerg.get_state()
    a = cerg.sample().info["string"]
    cerg.set_state(saved)
    assert cerg.sample().info["string"] == a


def test_bad_input():
    with pytest.raises(OptionError, match=r"EmbeddedReber\(n_train\): expected an integer >= 1"):
        EmbeddedReber(n_train=0, seed=0)
    with pytest.raises(OptionError, match=r"EmbeddedReber\(targets\): expected one of 'next', 'legal'"):
        EmbeddedReber(targets="onehot", seed=0)
    task = EmbeddedReber(n_train=2, n_test=0, seed=0)
    with pytest.raises(
        OptionError, match=r"EmbeddedReber.encode\(string\): expected an embedded Reber string"
    ):
        task.encode("BTXSE")
    state = task.get_state()
    with pytest.raises(CheckpointError, match="state\\['train'\\]"):
        task.set_state({**state, "train": ["BTXSE"]})
    with pytest.raises(CheckpointError, match="saved by task '1'"):
        task.set_state({**state, "task": "4"})
    with pytest.raises(OptionError, match=r"ContinualEmbeddedReber.stream\(length\)"):
        ContinualEmbeddedReber(seed=0).stream(0)
    with pytest.raises(OptionError, match=r"ContinualEmbeddedReber\(strings_per_sample\)"):
        ContinualEmbeddedReber(strings_per_sample=0, seed=0)
