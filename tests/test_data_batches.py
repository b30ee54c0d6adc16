"""Batches (BA1)–(BA4): contents, padding, truncation, seeded order, bit-identical resume; stratified split."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

import yetztml.data.batches
import yetztml.data.splits
from yetztml.core.errors import CheckpointError, DataError, DTypeError, OptionError, ShapeError
from yetztml.data import Batches, stratified_split

LENGTHS = [3, 1, 2, 5, 4, 2, 1, 3, 2, 4]
# sequence i is (10(i+1), 10(i+1)+1, ...): every token says which sequence and which step it is
SEQS = [np.arange(L) + 10 * (i + 1) for i, L in enumerate(LENGTHS)]


def test_doctests():
    assert doctest.testmod(yetztml.data.batches).failed == 0
    assert doctest.testmod(yetztml.data.splits).failed == 0


def test_unshuffled_batches_sorted_by_length_padded_time_major():
    b = Batches(SEQS[:5], [1, 0, 1, 1, 0], batch_size=2, shuffle=False, bucket_batches=None)
    batches = list(b)
    assert [x.indices.tolist() for x in batches] == [[1, 2], [0, 4], [3]]  # lengths 1,2 | 3,4 | 5
    first, second, last = batches
    assert first.tokens.dtype == np.int64 and first.tokens.tolist() == [[20, 30], [0, 31]]  # (T, B)
    assert second.tokens.tolist() == [[10, 50], [11, 51], [12, 52], [0, 53]]
    assert second.lengths.tolist() == [3, 4] and second.labels.tolist() == [1, 0]
    assert second.mask.tolist() == [[True, True], [True, True], [True, True], [False, True]]
    assert last.tokens.shape == (5, 1) and last.size == 1 and last.targets is None
    assert len(b) == 3


def test_pools_of_bucket_batches_and_drop_last():
    b = Batches(SEQS[:5], batch_size=2, shuffle=False, bucket_batches=1)  # pools of 2 examples
    assert [x.indices.tolist() for x in b] == [[1, 0], [2, 3], [4]]
    d = Batches(SEQS[:5], batch_size=2, shuffle=False, bucket_batches=None, drop_last=True)
    assert [x.indices.tolist() for x in d] == [[1, 2], [0, 4]] and len(d) == 2
    # 10 examples: ⌈10/size⌉ batches, or with drop_last the full ones of each pool of k·size (pools of 6 and 4
    # at k = 2, size 3: 2 + 1; one pool of 10 at size 4: 2)
    for k, size, drop, count in [(1, 3, False, 4), (2, 3, True, 3), (None, 4, True, 2), (3, 2, False, 5),
                                 (2, 3, False, 4)]:
        bb = Batches(SEQS, batch_size=size, shuffle=False, bucket_batches=k, drop_last=drop)
        assert len(bb) == len(list(bb)) == count, (k, size, drop)


def test_max_length_truncates_and_counts():
    b = Batches(SEQS[:5], batch_size=5, shuffle=False, max_length=3)
    (batch,) = list(b)
    assert b.truncated == 2  # lengths 5 and 4
    assert batch.lengths.tolist() == [1, 2, 3, 3, 3] and batch.indices.tolist() == [1, 2, 0, 3, 4]
    assert batch.tokens[:, 3].tolist() == [40, 41, 42]


def test_targets_padded_with_their_own_lengths():
    targets = [[7, 8], [9], [5, 6, 4, 3]]
    b = Batches(SEQS[:3], targets=targets, batch_size=3, shuffle=False, max_target_length=3)
    (batch,) = list(b)
    assert batch.indices.tolist() == [1, 2, 0]
    assert batch.targets.tolist() == [[9, 5, 7], [0, 6, 8], [0, 4, 0]]
    assert batch.target_lengths.tolist() == [1, 3, 2] and b.targets_truncated == 1 and batch.labels is None


def test_seeded_epochs_exact_order_and_invariants():
    b = Batches(SEQS, list(range(10)), batch_size=3, rng=np.random.default_rng(0), bucket_batches=2)
    epochs = [[x.indices.tolist() for x in b] for _ in range(2)]
    assert epochs == [
        [[6, 2, 5], [1, 8, 0], [7, 4, 3], [9]],
        [[9], [1, 6, 2], [8, 0, 3], [5, 7, 4]],
    ]
    assert b.epoch == 1 and b.position == 4
    for epoch in epochs:
        assert sorted(sum(epoch, [])) == list(range(10))  # each example once per epoch
        for idx in epoch:
            assert np.all(np.diff(np.array(LENGTHS)[idx]) >= 0)  # sorted inside a batch (BA2)
    # the rules, recomputed from the same generator: (BA1) permutation, (BA2) pools of 6 sorted, (BA4)
    rng = np.random.default_rng(0)
    order = rng.permutation(10)
    plan = []
    for pool in (order[:6], order[6:]):
        pool = pool[np.argsort(np.array(LENGTHS)[pool], kind="stable")]
        plan += [pool[i : i + 3].tolist() for i in range(0, len(pool), 3)]
    assert [plan[i] for i in rng.permutation(len(plan))] == epochs[0]
    again = Batches(SEQS, batch_size=3, rng=np.random.default_rng(0), bucket_batches=2)
    assert [x.indices.tolist() for x in again] == epochs[0]
    other = Batches(SEQS, batch_size=3, rng=np.random.default_rng(1), bucket_batches=2)
    assert [x.indices.tolist() for x in other] != epochs[0]


def _stream(b, n):
    out = []
    for _ in range(n):
        x = b.next_batch()
        out.append((b.epoch, x.indices.tolist(), x.tokens.tolist()))
    return out


@pytest.mark.parametrize("stop", [0, 2, 4, 5, 9])
def test_resume_from_any_point_is_identical(stop):
    reference = _stream(Batches(SEQS, batch_size=3, rng=np.random.default_rng(7), bucket_batches=1), 14)
    b = Batches(SEQS, batch_size=3, rng=np.random.default_rng(7), bucket_batches=1)
    _stream(b, stop)
    state = json.loads(json.dumps(b.get_state()))  # plain JSON data
    fresh = Batches(SEQS, batch_size=3, rng=np.random.default_rng(999), bucket_batches=1)
    fresh.set_state(state)
    assert _stream(fresh, 14 - stop) == reference[stop:]
    assert _stream(b, 14 - stop) == reference[stop:]  # saving does not disturb the run


def test_resume_inside_a_for_loop_epoch():
    b = Batches(SEQS, batch_size=2, rng=np.random.default_rng(3))
    it = iter(b)
    seen = [next(it).indices.tolist(), next(it).indices.tolist()]
    state = b.get_state()
    rest = [x.indices.tolist() for x in it]
    following = [x.indices.tolist() for x in b]  # the next epoch
    c = Batches(SEQS, batch_size=2, rng=np.random.default_rng(0))
    c.set_state(state)
    assert [x.indices.tolist() for x in c] == rest
    assert [x.indices.tolist() for x in c] == following
    assert len(seen + rest) == len(b) == 5


def test_set_state_refuses_other_data_or_settings():
    state = Batches(SEQS, batch_size=3, rng=np.random.default_rng(0)).get_state()
    with pytest.raises(CheckpointError, match=r"Batches.set_state\(state\): expected a state of \{'n': 9"):
        Batches(SEQS[:9], batch_size=3, rng=np.random.default_rng(0)).set_state(state)
    with pytest.raises(CheckpointError, match="expected a dict from get_state"):
        Batches(SEQS, batch_size=3, rng=np.random.default_rng(0)).set_state([1, 2])


def test_batches_validation():
    with pytest.raises(
        DataError, match=r"Batches\(sequences\)\[1\]: expected at least one token, got an empty"
    ):
        Batches([[1], []], batch_size=2, shuffle=False)
    with pytest.raises(ShapeError, match=r"Batches\(labels\): expected \(2,\) integer class ids"):
        Batches([[1], [2]], ["a", "b"], batch_size=2, shuffle=False)
    with pytest.raises(DTypeError, match=r"Batches\(rng\): expected a numpy.random.Generator or a seed"):
        Batches([[1], [2]], batch_size=2)
    with pytest.raises(DTypeError, match=r"Batches\(sequences\)\[0\]: expected a 1-D sequence of integer"):
        Batches([[1.5]], batch_size=1, shuffle=False)
    with pytest.raises(DataError, match="expected at least one batch per epoch"):
        Batches([[1], [2]], batch_size=3, shuffle=False, drop_last=True)
    with pytest.raises(OptionError, match=r"Batches\(batch_size\): expected an integer >= 1, got 0"):
        Batches([[1]], batch_size=0, shuffle=False)


def test_stratified_split_sizes_proportions_and_seed():
    labels = ["a"] * 60 + ["b"] * 40
    s = stratified_split(labels, seed=3)
    parts = (s.train, s.val, s.test)
    assert [len(p) for p in parts] == [80, 10, 10]
    assert [int(np.sum(np.array(labels)[p] == "b")) for p in parts] == [32, 4, 4]
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))  # disjoint, complete
    assert all(p.dtype == np.int64 and np.all(np.diff(p) > 0) for p in parts)  # (SP3) sorted
    again = stratified_split(labels, seed=np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(parts, (again.train, again.val, again.test), strict=True))
    assert not np.array_equal(stratified_split(labels, seed=4).val, s.val)


def test_stratified_split_rounding_half_up_per_class():
    s = stratified_split([0] * 6 + [1] * 4 + [2] * 3, seed=0)
    # class 0: 0.6 → 1 (⌊1.1⌋) in val and test; classes 1, 2: 0.4, 0.3 → 0
    assert (s.train.tolist(), s.val.tolist(), s.test.tolist()) == (
        [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        [3],
        [2],
    )
    s = stratified_split([1] * 15 + [0] * 5, seed=0, fractions=(0.5, 0.3, 0.2))
    assert [len(s.train), len(s.val), len(s.test)] == [9, 7, 4]  # 15: val 4.5→5, test 3; 5: val 1.5→2, test 1
    with pytest.raises(OptionError, match="expected three non-negative numbers summing to 1"):
        stratified_split([0, 1], seed=0, fractions=(0.8, 0.1, 0.2))


def test_stream_runs_across_epochs_converts_and_checkpoints():
    b = Batches(SEQS, list(range(10)), batch_size=4, rng=np.random.default_rng(5))
    stream = b.stream(lambda x: (x.tokens, x.labels, None, x.lengths))
    assert iter(stream) is stream
    first = [next(stream)[1].tolist() for _ in range(4)]  # 3 batches an epoch: crosses into epoch 1
    assert b.epoch == 1 and sorted(sum(first[:3], [])) == list(range(10))
    state = stream.get_state()
    later = [next(stream)[1].tolist() for _ in range(3)]
    stream.set_state(state)
    assert [next(stream)[1].tolist() for _ in range(3)] == later
