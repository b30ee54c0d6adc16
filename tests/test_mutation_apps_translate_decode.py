"""yetztml.apps.translate.decode against a plain beam search written here, one sentence at a time, whose
word probabilities and attention weights come from the model's teacher-forced forward pass of each prefix:
every cell (the LSTM's state pair, the GRU's array), every attention (none, with and without a projected
memory), greedy and beam, length penalties, the maximum output and the cut count, on tiny seeded models."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.apps.translate import Decoded, decode
from yetztml.apps.translate.loss import word_log_probs
from yetztml.models.seq2seq import Seq2Seq, pack_pairs

BOS, EOS, V = 2, 3, 7  # target words: <pad> <unk> <bos> <eos> and three more
SRC = np.array([[4, 5, 2, 3], [6, 7, 4, 0], [5, 2, 0, 0]])  # (S, B): sentences of 3, 3, 2, 1 words
LENGTHS = np.array([3, 3, 2, 1])


def teacher_forced(model, src, length, prefix):
    """log p of every next word (len(prefix) + 1, V) and the attention rows (or None), by model.forward."""
    tgt = np.array([BOS, *prefix])[:, None]
    x, lengths = pack_pairs(src, np.array([length]), tgt, np.array([tgt.shape[0]]))
    trace = model.forward(x, lengths=lengths)
    caches = trace.extras["caches"]
    alpha = np.stack([c["attn"]["alpha"][0] for c in caches]) if "attn" in caches[0] else None
    return word_log_probs(trace.outputs)[:, 0], alpha


def plain_beam(model, src, length, beam, max_output, penalty):
    """(words, cut, attention) of one sentence (DEC1)–(DEC3), hypotheses kept in lists."""
    live = [(0.0, [], False, 0)]  # score, words (a finished one extended by <eos>), finished, length
    for _ in range(max_output):
        cands = []
        for score, words, done, n in live:
            if done:
                cands.append((score, [*words, EOS], True, n))
                continue
            log_p = teacher_forced(model, src, length, words)[0][-1]
            cands += [(score + log_p[w], [*words, w], w == EOS, n + 1) for w in range(V) if w not in (0, BOS)]
        live = sorted(cands, key=lambda c: -c[0])[:beam]
        if all(c[2] for c in live):
            break
    finished = [c for c in live if c[2] and np.isfinite(c[0])]
    pool = finished or live  # (DEC3) a finished hypothesis where there is one
    norms = [s / max(n, 1) ** penalty if penalty else s for s, _, _, n in pool]
    _, words, done, n = pool[int(np.argmax(norms))]
    words = words[:n]
    attention = teacher_forced(model, src, length, words[:-1])[1]
    return (words[:-1] if done else words), not done, attention


CASES = [
    # cell, attention, bidirectional, seed, readout scale, beam, max_output, length penalty
    ("gru", "bahdanau", False, 7, 1, 3, 5, 1.0),
    ("gru", "bahdanau", False, 7, 1, 1, 5, 1.0),
    ("lstm", "luong-general", True, 3, 1, 3, 4, 0.0),
    ("lstm", "luong-general", True, 8, 1, 2, 5, 0.5),
    ("lstm", "luong-dot", False, 1, 1, 4, 4, 2.0),
    ("gru", "none", True, 5, 1, 3, 4, 1.0),
    ("lstm", "bahdanau", True, 11, 1, 5, 3, 1.0),
    ("gru", "luong-general", False, 9, 1, 3, 1, 1.0),
    # sharper word distributions: finished and cut sentences side by side
    ("lstm", "luong-general", True, 16, 4, 3, 5, 1.0),
    ("lstm", "luong-general", True, 16, 4, 3, 5, 0.0),
    ("gru", "bahdanau", False, 27, 4, 3, 5, 1.0),
    ("gru", "bahdanau", False, 27, 4, 1, 5, 1.0),
    ("gru", "luong-general", True, 16, 4, 2, 5, 0.5),
    ("gru", "bahdanau", False, 19, 4, 4, 5, 1.5),
    ("gru", "none", True, 26, 4, 3, 5, 1.0),
]


@pytest.mark.parametrize("cell, attention, bidirectional, seed, scale, beam, max_output, penalty", CASES)
def test_decode_equals_a_plain_beam_search_of_each_sentence(cell, attention, bidirectional, seed, scale, beam,
                                                            max_output, penalty):
    model = Seq2Seq(8, V, 3, 4, cell=cell, attention=attention, bidirectional=bidirectional, seed=seed)
    model.params["readout.weight"] *= scale
    got = decode(model, SRC, LENGTHS, BOS, EOS, beam=beam, max_output=max_output, length_penalty=penalty)
    assert isinstance(got, Decoded)
    cut = 0
    for b, n in enumerate(LENGTHS):
        words, stopped, attention_rows = plain_beam(model, SRC[:n, b : b + 1], n, beam, max_output, penalty)
        assert got.ids[b] == words
        cut += stopped
        if attention_rows is None:
            assert got.attention[b] is None
        else:
            assert got.attention[b].shape == (attention_rows.shape[0], SRC.shape[0])
            np.testing.assert_allclose(got.attention[b][:, :n], attention_rows, rtol=0, atol=1e-12)
            np.testing.assert_array_equal(got.attention[b][:, n:], 0.0)
    assert got.stopped == cut


def test_the_seeded_translations():
    model = Seq2Seq(8, V, 3, 4, cell="gru", attention="bahdanau", bidirectional=False, seed=7)
    got = decode(model, SRC, LENGTHS, BOS, EOS, beam=3, max_output=5)
    assert got.ids == [[1, 6, 1, 1, 1], [5, 5, 5], [], [5, 5, 5]]
    assert got.stopped == 1
    assert [a.shape for a in got.attention] == [(5, 3), (4, 3), (1, 3), (4, 3)]


def test_the_defaults_are_greedy_100_words_and_penalty_one():
    model = Seq2Seq(8, V, 3, 4, cell="gru", attention="bahdanau", bidirectional=False, seed=7)
    model.params["readout.weight"] *= 4
    default = decode(model, SRC, LENGTHS, BOS, EOS)
    assert default.ids == decode(model, SRC, LENGTHS, BOS, EOS, beam=1, max_output=100, length_penalty=1.0).ids
    beam = decode(model, SRC, LENGTHS, BOS, EOS, beam=3, max_output=8)
    assert beam.ids == [[1, 1, 1, 1, 1, 1, 1, 1], [5, 5, 5], [], [5, 5, 5]]
    assert decode(model, SRC, LENGTHS, BOS, EOS, beam=3, max_output=8, length_penalty=2.0).ids == [
        [1, 1, 1, 1, 1, 1, 1, 1], [5, 5, 5], [5, 5], [5, 5, 5, 5]]
    model.params["readout.bias"][EOS] = -1e6  # <eos> never comes: every sentence is cut at the maximum
    never = decode(model, SRC, LENGTHS, BOS, EOS)
    assert [len(ids) for ids in never.ids] == [100] * 4
    assert never.stopped == 4
    assert [a.shape for a in never.attention] == [(100, 3)] * 4


def test_a_finished_hypothesis_comes_first_however_low_its_score():
    model = Seq2Seq(8, V, 3, 4, cell="gru", attention="luong-general", bidirectional=False, seed=2)
    bias = model.params["readout.bias"]
    bias[:] = -1e12
    bias[4], bias[EOS] = 0.0, -2e9  # after one word: "w4" unfinished near 0, "<eos>" finished near -2e9
    got = decode(model, SRC, LENGTHS, BOS, EOS, beam=2, max_output=1)
    assert got.ids == [[], [], [], []]
    assert got.stopped == 0
    greedy = decode(model, SRC, LENGTHS, BOS, EOS, beam=1, max_output=1)
    assert greedy.ids == [[4]] * 4 and greedy.stopped == 4


def test_a_float32_model_decodes_in_float32():
    model = Seq2Seq(8, V, 3, 4, cell="lstm", attention="bahdanau", bidirectional=True, seed=16, dtype=np.float32)
    got = decode(model, SRC, LENGTHS, BOS, EOS, beam=3, max_output=4)
    assert all(a.dtype == np.float32 for a in got.attention)
    model64 = Seq2Seq(8, V, 3, 4, cell="lstm", attention="bahdanau", bidirectional=True, seed=16)
    assert got.ids == decode(model64, SRC, LENGTHS, BOS, EOS, beam=3, max_output=4).ids
