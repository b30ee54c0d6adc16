"""The one training loop trains models: padded batches with lengths, dropout masks drawn from the
model's checkpointed generator (bit-identical resume), and errors that name the fix."""

from __future__ import annotations

import numpy as np

from cellchecks import raises
from yetztml.cells import LSTM
from yetztml.core.errors import DTypeError, OptionError
from yetztml.layers import Dropout, Embedding, Linear, Pool
from yetztml.learning import Adam, Batch, Trainer, gradients
from yetztml.models import Bidirectional, Sequential

V, D, H, C, B, T = 12, 4, 5, 2, 4, 7


def model(seed=0):
    return Sequential(
        Embedding(V, D, padding_idx=0, seed=seed),
        Dropout(D, 0.3, seed=seed + 1),
        Bidirectional(LSTM(D, H, seed=seed + 2), LSTM(D, H, seed=seed + 3)),
        Pool(2 * H, "max"),
        Dropout(2 * H, 0.3, seed=seed + 4),
        Linear(2 * H, C, seed=seed + 5),
    )


def batches(rng):
    """A padded batch: label 1 when token 3 occurs in the sentence."""
    lengths = rng.integers(2, T + 1, B)
    ids = np.zeros((T, B), dtype=np.int64)
    for b, n in enumerate(lengths):
        ids[:n, b] = rng.integers(1, V, n)
    labels = (ids == 3).any(axis=0).astype(np.int64)[None, :]  # (1, B): one target per sequence
    return Batch(ids, labels, None, lengths)


def test_trainer_equals_a_hand_written_loop_with_dropout_and_lengths():
    m = model()
    history = Trainer(m, batches, optimiser=Adam(m.params, lr=0.01), loss="cross_entropy", progress=False,
                      clip_norm=1.0, seed=3).run(5)
    ref = model()
    opt = Adam(ref.params, lr=0.01)
    rng, losses = np.random.default_rng(3), []
    for _ in range(5):
        ids, labels, _, lengths = batches(rng)
        value, grads = gradients(ref, ids, labels, loss="cross_entropy", lengths=lengths)
        norm = np.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values()))
        if norm > 1.0:
            for g in grads.values():
                g *= 1.0 / (norm + 1e-6)
        opt.step(grads)
        losses.append(value)
    assert history.losses == losses
    for key in m.params:
        np.testing.assert_array_equal(m.params[key], ref.params[key])


def test_resume_with_dropout_is_bit_identical(tmp_path):
    whole = model()
    straight = Trainer(whole, batches, optimiser=Adam(whole.params, lr=0.01), loss="cross_entropy",
                       progress=False, seed=1).run(6)
    first = model()
    path = tmp_path / "run.npz"
    Trainer(first, batches, optimiser=Adam(first.params, lr=0.01), loss="cross_entropy", progress=False,
            checkpoint=path, checkpoint_every=2, seed=1).run(3)
    again = model(seed=9)  # other initial weights and dropout seeds: the checkpoint must restore all of it
    history = Trainer(again, batches, optimiser=Adam(again.params, lr=0.01), loss="cross_entropy",
                      progress=False, checkpoint=path, seed=1).run(6, resume=True)
    assert history.losses == straight.losses  # the checkpointed three and the three after, bit for bit
    for key in whole.params:
        np.testing.assert_array_equal(again.params[key], whole.params[key])
    assert again.rng_state() == whole.rng_state()


def test_a_trained_text_model_learns_the_token_rule():
    m = model()
    Trainer(m, batches, optimiser=Adam(m.params, lr=0.02), loss="cross_entropy", progress=False,
            seed=0).run(150)
    m.eval()
    rng = np.random.default_rng(100)
    hits = total = 0
    for _ in range(25):
        ids, labels, _, lengths = batches(rng)
        predicted = m.forward(ids, lengths=lengths).outputs[0].argmax(axis=1)
        hits += int(np.sum(predicted == labels[0]))
        total += B
    assert (hits, total) == (100, 100)  # seeded; an untrained net gets about half (the classes are ~1:1)


def test_trainer_errors_name_the_fix(tmp_path):
    with raises(DTypeError, "a yetztml model, cell or layer", "Sequential"):
        Trainer(object(), batches, optimiser=Adam({"w": np.zeros(1)}))
    m = model()
    with raises(OptionError, "a path in an existing folder", "Create the folder first"):
        Trainer(m, batches, optimiser=Adam(m.params), checkpoint=tmp_path / "no-such-dir" / "run.npz")
    with raises(OptionError, "a file path", "a directory"):
        Trainer(m, batches, optimiser=Adam(m.params), checkpoint=tmp_path)

    def four(rng):
        return (np.zeros((T, B), dtype=np.int64), np.zeros((1, B), dtype=np.int64), None, np.ones(B, np.int64))

    with raises(DTypeError, "got a tuple of 4 items", "Batch(x, targets, mask=None, lengths=...)"):
        Trainer(m, four, optimiser=Adam(m.params), loss="cross_entropy", progress=False).run(1)
    trainer = Trainer(m, batches, optimiser=Adam(m.params), loss="softmax_cross_entropy", progress=False)
    losses = trainer.run(1).losses
    # the loss function's own name is accepted, and is the same loss as "cross_entropy"
    other = model()
    assert losses == Trainer(other, batches, optimiser=Adam(other.params), loss="cross_entropy",
                             progress=False).run(1).losses
