"""The real data sets in ../shared/data through the readers, tokeniser, vocabulary, split and batches.

The project never commits data: these tests read the copies in ``../shared/data`` (beside the project's
root; CI has them there) and fail with a message saying so when they are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from yetztml.data import (
    Batches,
    LabelIndex,
    Tokeniser,
    Vocab,
    check_classes,
    read_labelled,
    read_parallel,
    stratified_split,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _shared(path: str) -> Path:
    full = SHARED / path
    if not full.is_file():
        pytest.fail(
            f"real data set file {full} is absent: the project expects ../shared/data beside its root"
        )
    return full


@pytest.fixture(scope="module")
def sarcasm():
    data = read_labelled(
        _shared("sarcasm/Sarcasm_Headlines_Dataset.csv"), text_column="text", label_column="is_sarcastic"
    )
    return data, Tokeniser().tokenise(data.texts)


def test_sarcasm_csv(sarcasm):
    data, tokens = sarcasm
    assert len(data) == 26709 and data.skipped_empty == 0 and data.lines[-1] == 26710
    assert check_classes(data.labels) == {0: 14985, 1: 11724}  # README: 11,724 sarcastic, 14,985 not
    assert data.texts[0] == "former versace store clerk sues over secret 'black code' for minority shoppers"
    assert data.labels[:4] == [0, 0, 1, 1]
    assert tokens[1] == [
        "the", "'", "roseanne", "'", "revival", "catches", "up", "to", "our", "thorny", "political", "mood",
        ",", "for", "better", "and", "worse",
    ]  # fmt: skip
    lengths = np.array([len(t) for t in tokens])
    assert (lengths.max(), np.median(lengths), np.count_nonzero(lengths > 30)) == (60, 11.0, 9)


def test_sarcasm_vocabulary(sarcasm):
    _, tokens = sarcasm
    assert [len(Vocab.build(tokens, min_freq=m)) for m in (1, 2, 3)] == [26577, 14582, 10578]
    assert Vocab.build(tokens, min_freq=2).tokens[:10] == [
        "<pad>",
        "<unk>",
        "to",
        "'",
        "of",
        "the",
        "-",
        "in",
        ",",
        "for",
    ]


def test_sarcasm_split_and_batches(sarcasm):
    data, tokens = sarcasm
    split = stratified_split(data.labels, seed=0)
    labels = np.array(data.labels)
    counts = [np.bincount(labels[part]).tolist() for part in (split.train, split.val, split.test)]
    assert counts == [[11987, 9380], [1499, 1172], [1499, 1172]]  # docs/text-data.md's numbers
    assert split.val[:5].tolist() == [1, 8, 39, 55, 58]
    vocab = Vocab.build([tokens[i] for i in split.train], min_freq=2)
    ids = LabelIndex.from_labels(data.labels).encode(data.labels)
    batches = Batches(
        vocab.encode_all(tokens), ids, batch_size=64, rng=np.random.default_rng(0), max_length=30
    )
    assert (len(batches), batches.truncated) == (418, 9)
    seen = np.concatenate([b.indices for b in batches])
    assert np.array_equal(np.sort(seen), np.arange(26709))


def test_multi30k_parallel_raw_and_tokenised():
    raw = read_parallel(_shared("multi30k/raw/val.de.gz"), _shared("multi30k/raw/val.en.gz"))
    assert (len(raw), raw.skipped_empty) == (1014, 0)
    assert raw.sources[0] == "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen"
    assert raw.targets[0] == "A group of men are loading cotton onto a truck"
    tok = read_parallel(
        _shared("multi30k/tok/val.lc.norm.tok.de"), _shared("multi30k/tok/val.lc.norm.tok.en")
    )
    assert len(tok) == 1014
    assert Tokeniser(mode="whitespace")(tok.targets[2]) == [
        "a", "boy", "wearing", "headphones", "sits", "on", "a", "woman", "&apos;s", "shoulders", ".",
    ]  # fmt: skip
