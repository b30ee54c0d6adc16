"""Experiment 1 of Hochreiter & Schmidhuber (1997), §5.1 (embedded Reber grammar), and the continual
embedded Reber stream (CERG) of Gers, Schmidhuber & Cummins (2000), §4.

**Grammar.** The Reber grammar (Cleeremans et al. 1989) is the automaton below; the string opens with
B, which leads to state 0, and the edge E out of state 5 ends it. Where a state has two edges each is
taken with probability ½::

    0 --T--> 1 | --P--> 2          3 --X--> 2 | --S--> 5
    1 --S--> 1 | --X--> 3          4 --P--> 3 | --V--> 5
    2 --T--> 2 | --V--> 4          5 --E--> end

An embedded Reber string is ``B (T|P) <Reber string> (the same T|P) E``. :class:`Grammar` holds such an
automaton: it generates strings, accepts or rejects a string, and gives the set of legal next symbols
after every prefix (the automaton is deterministic, so that set is well defined). Expected embedded
string length: 12 symbols (derived from the automaton by :meth:`Grammar.expected_visits`; minimum 9).

**Encoding.** Seven symbols, one-hot in the order ``B T P S X V E`` (7 inputs, 7 outputs). The net reads
one symbol per step and predicts the next at every step (error at every step). Targets are the one-hot
*next symbol* (``targets="next"``, the default for Experiment 1) or the multi-hot set of *legal* next
symbols (``targets="legal"``, the default for CERG). ``info["legal"]`` is always the (T, 7) bool legal
set.

**Experiment 1 (:class:`EmbeddedReber`).** 256 training strings and 256 test strings (Fahlman's
protocol): each set holds *distinct* strings, drawn from the grammar and redrawn on repetition, and no
test string is a training string. :meth:`EmbeddedReber.sample` picks a training string uniformly at
random. Success ("the output unit(s) of the possible next symbol(s) are always the most active"),
made precise: at every step with legal set L, min_{k∈L} o_k > max_{k∉L} o_k, i.e. the |L| largest
outputs are exactly the legal symbols (strictly; ties fail).

**CERG (:class:`ContinualEmbeddedReber`).** Embedded strings concatenated with no reset: after the
final E the next symbol is the next string's B. Each :meth:`~ContinualEmbeddedReber.sample` is
``strings_per_sample`` whole strings; consecutive samples form one stream (the net is not reset
between them), and :meth:`~ContinualEmbeddedReber.stream` gives one stream of exactly n steps, cut
anywhere. A step is correct when every output is within 0.49 of the legal multi-hot target
(Gers 2000, as reported in notes; the exact wording is unverified). With one-hot next-symbol targets a
two-way branch could never meet 0.49, hence the legal-set default.
:func:`packed` draws the same stream in compiled code, many strings per call, for the online kernel
(the Gers 2000 reproduction); the tests compare the two. The grammar, its sampler and that compiled copy
stay in this one module, which is why it runs over 400 lines.

**Trivial baselines.** A constant output is never correct: after the first B the legal set is {T, P},
before the last E it is {E}, and no fixed ranking (or fixed 0.49 band) fits both. Its errors: every
output is a 0/1 target with pooled frequency f_k (over error steps), so the best constants are the
mean (MSE f(1 − f)) and the median (MAE min(f, 1 − f)). For Experiment 1 the f_k are counted exactly
on the training set (the only strings sampled); for CERG they are E[#steps with target k] / E[#steps]
per string, from the automaton's expected state visits.

Worked example (Experiment 1):

>>> task = EmbeddedReber(seed=0)
>>> len(task.train), len(task.test), len(set(task.train) & set(task.test))
(256, 256, 0)
>>> s = task.sample()
>>> s.info["string"], s.x.shape, s.mask.all()
('BPBPTTTVPXTTTVPXVVEPE', (20, 7), np.True_)
>>> "".join(SYMBOLS[k] for k in s.targets.argmax(1))
'PBPTTTVPXTTTVPXVVEPE'
>>> ["".join(SYMBOLS[k] for k in np.flatnonzero(row)) for row in s.info["legal"][:6]]
['TP', 'B', 'TP', 'TV', 'TV', 'TV']
>>> s.info["legal"][-2].nonzero()[0].tolist(), SYMBOLS[2]
([2], 'P')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from ..core.errors import CheckpointError, OptionError, message
from ..core.validation import check_choice
from .base import Baseline, Sample, Task, binary_unit_baseline, check_size, one_hot

SYMBOLS = "BTPSXVE"
INDEX = {c: i for i, c in enumerate(SYMBOLS)}


@dataclass(frozen=True)
class Grammar:
    """A deterministic finite automaton with symbol-labelled edges, each edge of a state equally likely.

    ``edges[state]`` lists ``(symbol, next_state)`` pairs; a string is accepted when reading it from
    ``start`` ends exactly in ``final`` (which has no edges).
    """

    edges: Mapping[str, tuple[tuple[str, str], ...]]
    start: str
    final: str

    def step(self, state: str | None, symbol: str) -> str | None:
        """The state after reading ``symbol`` in ``state``; None if the symbol is not legal there."""
        for sym, nxt in self.edges.get(state, ()):
            if sym == symbol:
                return nxt
        return None

    def legal(self, state: str | None) -> frozenset[str]:
        """The symbols that may follow in ``state`` (empty at the end or after an illegal symbol)."""
        return frozenset(sym for sym, _ in self.edges.get(state, ()))

    def run(self, string: str) -> list[str | None]:
        """The state after each prefix string[:t + 1]; None from the first illegal symbol on."""
        states, state = [], self.start
        for symbol in string:
            state = self.step(state, symbol)
            states.append(state)
        return states

    def accepts(self, string: str) -> bool:
        """True if ``string`` is a complete string of the grammar."""
        if not isinstance(string, str) or not string:
            return False
        return self.run(string)[-1] == self.final

    def next_symbols(self, prefix: str) -> frozenset[str]:
        """The legal next symbols after ``prefix`` (empty if the prefix is complete or illegal)."""
        state = self.run(prefix)[-1] if prefix else self.start
        return self.legal(state)

    def generate(self, rng: np.random.Generator) -> str:
        """One random string: from ``start``, follow an edge chosen uniformly until ``final``."""
        out, state = [], self.start
        while state != self.final:
            edges = self.edges[state]
            symbol, state = edges[int(rng.integers(len(edges)))] if len(edges) > 1 else edges[0]
            out.append(symbol)
        return "".join(out)

    def expected_visits(self) -> dict[str, float]:
        """Expected number of times each state is entered per string (``start`` is never entered).

        With Q the transition matrix among the non-final states, the expected visits from ``start`` are
        the ``start`` row of (I − Q)⁻¹ (absorbing Markov chain); ``final`` is entered once. Their sum is
        the expected string length.
        """
        states = [s for s in self.edges if s != self.final]
        pos = {s: i for i, s in enumerate(states)}
        q = np.zeros((len(states), len(states)))
        for s in states:
            for _, nxt in self.edges[s]:
                if nxt != self.final:
                    q[pos[s], pos[nxt]] += 1.0 / len(self.edges[s])
        visits = np.linalg.solve(np.eye(len(states)) - q.T, np.eye(len(states))[pos[self.start]])
        out = {s: float(visits[pos[s]]) for s in states if s != self.start}
        out[self.final] = 1.0
        return out


def _reber_edges(prefix: str, end: str) -> dict[str, tuple[tuple[str, str], ...]]:
    table = {
        "0": (("T", "1"), ("P", "2")),
        "1": (("S", "1"), ("X", "3")),
        "2": (("T", "2"), ("V", "4")),
        "3": (("X", "2"), ("S", "5")),
        "4": (("P", "3"), ("V", "5")),
        "5": (("E", end),),
    }
    edges = {prefix + "start": (("B", prefix + "0"),)}
    for state, out in table.items():
        edges[prefix + state] = tuple((sym, nxt if nxt == end else prefix + nxt) for sym, nxt in out)
    return edges


def _embedded_edges() -> dict[str, tuple[tuple[str, str], ...]]:
    edges: dict[str, tuple[tuple[str, str], ...]] = {
        "start": (("B", "open"),),
        "open": (("T", "Tstart"), ("P", "Pstart")),
    }
    for branch in "TP":
        edges.update(_reber_edges(branch, branch + "end"))
        edges[branch + "end"] = ((branch, "close"),)
    edges["close"] = (("E", "end"),)
    edges["end"] = ()
    return edges


#: The Reber grammar: strings B … E such as ``BTXSE``.
REBER = Grammar(edges={**_reber_edges("", "end"), "end": ()}, start="start", final="end")
#: The embedded Reber grammar: ``B (T|P) <Reber string> (same T|P) E``.
EMBEDDED_REBER = Grammar(edges=_embedded_edges(), start="start", final="end")


def _legal_rows(continual: bool) -> dict[str | None, np.ndarray]:
    """Legal-next-symbol row (7,) bool per embedded-grammar state (None: after an illegal symbol)."""
    rows: dict[str | None, np.ndarray] = {None: np.zeros(len(SYMBOLS), dtype=bool)}
    for state in EMBEDDED_REBER.edges:
        nxt = {"B"} if continual and state == EMBEDDED_REBER.final else EMBEDDED_REBER.legal(state)
        rows[state] = np.array([c in nxt for c in SYMBOLS])
    return rows


_ROWS = {False: _legal_rows(False), True: _legal_rows(True)}


def _legal_matrix(string: str, continual: bool) -> np.ndarray:
    """(T, 7) bool: legal next symbols after each of the T input symbols of ``string``.

    Non-continual: the input is one string without its last symbol. Continual: the input is whole
    strings, possibly cut, and the string after a final E starts with B.
    """
    grammar, rows = EMBEDDED_REBER, _ROWS[continual]
    states: list[str | None] = []
    state: str | None = grammar.start
    for symbol in string:
        if continual and state == grammar.final:
            state = grammar.start
        state = grammar.step(state, symbol)
        states.append(state)
    return np.array([rows[s] for s in states], dtype=bool).reshape(len(string), len(SYMBOLS))


def _encode(text: str, following: str, targets: str, continual: bool) -> Sample:
    """Inputs ``text`` (one symbol per step), next symbols ``text[1:] + following``."""
    legal = _legal_matrix(text, continual)  # (T, 7)
    x = one_hot(np.array([INDEX[c] for c in text]), len(SYMBOLS))  # (T, I=7)
    if targets == "legal":
        y = legal.astype(np.float64)  # (T, K=7)
    else:
        y = one_hot(np.array([INDEX[c] for c in text[1:] + following]), len(SYMBOLS))  # (T, K=7)
    return Sample(x=x, targets=y, mask=np.ones(len(text), dtype=bool), info={"string": text, "legal": legal})


def _most_active(outputs: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(T,) bool: the legal units are exactly the |L| most active ones (strictly above the others)."""
    lowest_legal = np.where(legal, outputs, np.inf).min(axis=1)
    highest_other = np.where(legal, -np.inf, outputs).max(axis=1)
    return lowest_legal > highest_other


class EmbeddedReber(Task):
    """Experiment 1: next-symbol prediction on embedded Reber strings, fixed train and test sets."""

    name = "1"
    section = "Hochreiter & Schmidhuber 1997, §5.1 (Experiment 1: embedded Reber grammar)"
    input_size = len(SYMBOLS)
    output_size = len(SYMBOLS)

    def __init__(
        self,
        n_train: int = 256,
        n_test: int = 256,
        targets: str = "next",
        *,
        seed: int | np.random.Generator,
    ) -> None:
        super().__init__(seed=seed)
        self.n_train = check_size("EmbeddedReber(n_train)", n_train, 1, "the training set size")
        self.n_test = check_size("EmbeddedReber(n_test)", n_test, 0, "the test set size")
        self.targets = str(check_choice("EmbeddedReber(targets)", targets, ("next", "legal")))
        seen: set[str] = set()
        self.train = tuple(self._draw_new(seen) for _ in range(self.n_train))
        self.test = tuple(self._draw_new(seen) for _ in range(self.n_test))

    def _draw_new(self, seen: set[str]) -> str:
        while True:
            string = EMBEDDED_REBER.generate(self.rng)
            if string not in seen:
                seen.add(string)
                return string

    def options(self) -> dict[str, Any]:
        return {"n_train": self.n_train, "n_test": self.n_test, "targets": self.targets}

    def encode(self, string: str) -> Sample:
        """The sample of one embedded Reber string: inputs string[:-1], next symbols string[1:]."""
        if not EMBEDDED_REBER.accepts(string):
            raise OptionError(
                message(
                    "EmbeddedReber.encode(string)",
                    "an embedded Reber string",
                    repr(string),
                    "Use EMBEDDED_REBER.accepts(string) to check a string first.",
                )
            )
        sample = _encode(string[:-1], string[-1], self.targets, continual=False)
        sample.info.update(string=string, branch=string[1])
        return sample

    def sample(self) -> Sample:
        """A training string chosen uniformly at random."""
        return self.encode(self.train[int(self.rng.integers(self.n_train))])

    def train_samples(self) -> list[Sample]:
        """Every training string, in order."""
        return [self.encode(s) for s in self.train]

    def test_samples(self) -> list[Sample]:
        """Every test string, in order."""
        return [self.encode(s) for s in self.test]

    def step_correct(self, outputs: np.ndarray, sample: Sample) -> np.ndarray:
        """(T,) bool: at step t the legal next symbols' outputs are the most active."""
        return _most_active(self._check_outputs(outputs, sample), sample.info["legal"])

    def correct(self, outputs: np.ndarray, sample: Sample) -> bool:
        """True if every symbol of the string is predicted correctly (see :meth:`step_correct`)."""
        return bool(self.step_correct(outputs, sample).all())

    def baseline(self) -> Baseline:
        samples = self.train_samples()
        counts = sum(s.targets.sum(axis=0) for s in samples)  # (K,)
        steps = sum(s.length for s in samples)
        return binary_unit_baseline(
            counts / steps, "per-unit target frequencies pooled over the training set's steps"
        )

    def get_state(self) -> dict[str, Any]:
        """The generator state and both string sets."""
        return {**super().get_state(), "train": list(self.train), "test": list(self.test)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore the generator and both string sets (checked before anything changes)."""
        if not isinstance(state, dict):
            super().set_state(state)  # raises the protocol's error
        train, test = state.get("train"), state.get("test")
        for key, strings in (("train", train), ("test", test)):
            if not isinstance(strings, list) or not all(EMBEDDED_REBER.accepts(s) for s in strings):
                raise CheckpointError(
                    message(
                        f"EmbeddedReber.set_state(state[{key!r}])",
                        "a list of embedded Reber strings",
                        type(strings).__name__,
                    )
                )
        super().set_state(state)
        self.train, self.test = tuple(train), tuple(test)
        self.n_train, self.n_test = len(self.train), len(self.test)


class ContinualEmbeddedReber(Task):
    """CERG (Gers 2000): a stream of embedded Reber strings with no reset; predict the next symbol."""

    name = "cerg"
    section = "Gers, Schmidhuber & Cummins 2000, §4 (continual embedded Reber grammar)"
    input_size = len(SYMBOLS)
    output_size = len(SYMBOLS)
    tolerance = 0.49

    def __init__(
        self, strings_per_sample: int = 1, targets: str = "legal", *, seed: int | np.random.Generator
    ) -> None:
        super().__init__(seed=seed)
        self.strings_per_sample = check_size(
            "ContinualEmbeddedReber(strings_per_sample)", strings_per_sample, 1, "whole strings per sample"
        )
        self.targets = str(check_choice("ContinualEmbeddedReber(targets)", targets, ("legal", "next")))

    def options(self) -> dict[str, Any]:
        return {"strings_per_sample": self.strings_per_sample, "targets": self.targets}

    def _strings(self, min_symbols: int, min_strings: int) -> tuple[str, list[int]]:
        parts, starts, total = [], [], 0
        while total < min_symbols or len(parts) < min_strings:
            string = EMBEDDED_REBER.generate(self.rng)
            starts.append(total)
            parts.append(string)
            total += len(string)
        return "".join(parts), starts

    def sample(self) -> Sample:
        """The next ``strings_per_sample`` strings of the stream; the last target is the next B."""
        text, starts = self._strings(0, self.strings_per_sample)
        sample = _encode(text, "B", self.targets, continual=True)
        sample.info.update(starts=tuple(starts), following="B")
        return sample

    def stream(self, length: int) -> Sample:
        """One stream of exactly ``length`` steps (strings concatenated, the last one cut)."""
        length = check_size("ContinualEmbeddedReber.stream(length)", length, 1, "the number of steps")
        text, starts = self._strings(length + 1, 0)
        sample = _encode(text[:length], text[length], self.targets, continual=True)
        sample.info.update(starts=tuple(starts), following=text[length])
        return sample

    def step_correct(self, outputs: np.ndarray, sample: Sample) -> np.ndarray:
        """(T,) bool: every output within ``tolerance`` of the legal multi-hot set at step t."""
        outputs = self._check_outputs(outputs, sample)
        return np.all(np.abs(sample.info["legal"] - outputs) < self.tolerance, axis=1)

    def correct(self, outputs: np.ndarray, sample: Sample) -> bool:
        """True if every step is correct (see :meth:`step_correct`)."""
        return bool(self.step_correct(outputs, sample).all())

    def target_frequencies(self) -> np.ndarray:
        """(K,) long-run fraction of steps whose target unit k is 1, from the expected state visits."""
        visits = EMBEDDED_REBER.expected_visits()
        counts = np.zeros(len(SYMBOLS))
        for state, n in visits.items():
            edges = EMBEDDED_REBER.edges[state] or (("B", EMBEDDED_REBER.start),)  # after E comes B
            for symbol, _ in edges:
                counts[INDEX[symbol]] += n * (1.0 if self.targets == "legal" else 1.0 / len(edges))
        return counts / sum(visits.values())

    def baseline(self) -> Baseline:
        return binary_unit_baseline(
            self.target_frequencies(),
            "per-unit target frequencies E[#steps with target k]/E[#steps] from the automaton's visits",
        )


def _automaton() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The embedded Reber automaton as arrays: edges per state, their symbols and next states."""
    names = list(EMBEDDED_REBER.edges)
    pos = {s: i for i, s in enumerate(names)}
    n_edges = np.zeros(len(names), np.int64)
    sym = np.zeros((len(names), 2), np.int64)
    nxt = np.zeros((len(names), 2), np.int64)
    for s, edges in EMBEDDED_REBER.edges.items():
        n_edges[pos[s]] = len(edges)
        for e, (symbol, target) in enumerate(edges):
            sym[pos[s], e] = INDEX[symbol]
            nxt[pos[s], e] = pos[target]
    return n_edges, sym, nxt, pos[EMBEDDED_REBER.start]


_EDGES = _automaton()


@numba.njit(cache=True)
def _packed_strings(rng, n_strings, n_edges, sym, nxt, start):
    """``n_strings`` embedded Reber strings, compiled, drawn as :meth:`Grammar.generate` draws them."""
    cap = 64 * n_strings
    index = np.zeros(cap, np.int64)
    legal = np.zeros((cap, 7))
    starts = np.zeros(n_strings + 1, np.int64)
    pos = 0
    for i in range(n_strings):
        state = start
        while n_edges[state] > 0:
            e = 0
            if n_edges[state] > 1:
                e = rng.integers(0, n_edges[state])
            if pos >= index.shape[0]:
                index = np.concatenate((index, np.zeros(cap, np.int64)))
                legal = np.concatenate((legal, np.zeros((cap, 7))))
            index[pos] = sym[state, e]
            state = nxt[state, e]
            if n_edges[state] == 0:
                legal[pos, 0] = 1.0  # B follows the final E
            for f in range(n_edges[state]):
                legal[pos, sym[state, f]] = 1.0
            pos += 1
        starts[i + 1] = pos
    return index[:pos], legal[:pos], starts


def packed(rng: np.random.Generator, n_strings: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The next ``n_strings`` strings of a CERG stream, compiled, end to end: the draws of
    :meth:`ContinualEmbeddedReber.stream` on the same generator. Returns input symbols (S,) (indices into
    :data:`SYMBOLS`), the legal next symbols (S, 7) multi-hot (after a string's final E the next string's
    B) and the string starts (n_strings + 1,)."""
    return _packed_strings(rng, n_strings, *_EDGES)
