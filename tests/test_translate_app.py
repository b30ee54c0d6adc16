"""Translation: the loss against PyTorch, beam search against exhaustive search, training, resume, commands."""

import itertools
import json

import numpy as np
import pytest

from yetztml.apps.translate import (
    TranslateConfig,
    decode,
    load_translator,
    smoothed_cross_entropy,
    train_translator,
)
from yetztml.apps.translate.loss import word_log_probs
from yetztml.cli.main import main
from yetztml.data import read_parallel
from yetztml.models.seq2seq import Seq2Seq, pack_pairs

WORDS = [f"w{i}" for i in range(8)]


def _write_task(folder, n_train=240, n_val=24, seed=0):
    """Target = the source reversed and upper-cased: attention must align word by word."""
    rng = np.random.default_rng(seed)
    for name, n in (("train", n_train), ("val", n_val)):
        src, tgt = [], []
        for _ in range(n):
            words = list(rng.choice(WORDS, int(rng.integers(2, 5))))
            src.append(" ".join(words))
            tgt.append(" ".join(w.upper() for w in words[::-1]))
        (folder / f"{name}.src").write_text("\n".join(src) + "\n")
        (folder / f"{name}.tgt").write_text("\n".join(tgt) + "\n")
    return [str(folder / f"{n}") for n in ("train.src", "train.tgt", "val.src", "val.tgt")]


SMALL = dict(hidden=24, embed_dim=12, dropout=0.0, lr=0.01, min_freq=1, lowercase=False, beam=3, batch_size=32,
             dtype="float64", init_range=None)  # the numbers below were pinned with PyTorch's initialisation


@pytest.mark.torch
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_loss_equals_pytorch_cross_entropy_with_label_smoothing(smoothing):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 3, 7))
    targets = rng.integers(1, 7, (4, 3))
    targets[2:, 1] = 0  # padding
    value, grad = smoothed_cross_entropy(logits, targets, targets != 0, smoothing=smoothing)
    z = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(z.reshape(-1, 7), torch.tensor(targets).reshape(-1), ignore_index=0,
                                            label_smoothing=smoothing)
    ref.backward()
    assert value == pytest.approx(ref.item(), abs=1e-12)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=0, atol=1e-12)


def _teacher_forced_score(model, src, length, words, eos):
    """Σ log p of words + <eos> given the source, by the training forward pass."""
    tgt = np.array([2] + words)[:, None]
    x, lengths = pack_pairs(src, np.array([length]), tgt, np.array([len(words) + 1]))
    log_p = word_log_probs(model.forward(x, lengths=lengths).outputs)[:, 0]
    return float(sum(log_p[t, w] for t, w in enumerate(words + [eos])))


@pytest.mark.parametrize("penalty", [0.0, 1.0])
def test_beam_search_finds_the_exhaustive_best(penalty):
    model = Seq2Seq(8, 6, 4, 5, cell="gru", attention="bahdanau", seed=4).eval()
    src = np.array([[4, 5], [6, 7], [5, 0]])
    lengths = np.array([3, 2])
    eos = 3
    got = decode(model, src, lengths, bos=2, eos=eos, beam=70, max_output=4, length_penalty=penalty)  # > 4³ prefixes
    for b in range(2):
        best, best_words = -np.inf, None
        for n in range(0, 4):
            for words in itertools.product([1, 4, 5], repeat=n):  # every word but <pad>, <bos>, <eos>
                s = _teacher_forced_score(model, src[: lengths[b], b : b + 1], lengths[b], list(words), eos)
                s = s / (n + 1) ** penalty
                if s > best:
                    best, best_words = s, list(words)
        assert got.ids[b] == best_words
    assert got.stopped == 0


def test_greedy_batched_equals_one_sentence_at_a_time_and_beam_one_is_greedy():
    model = Seq2Seq(8, 6, 4, 5, seed=5).eval()
    src = np.array([[4, 5, 6], [6, 7, 0], [5, 0, 0]])
    lengths = np.array([3, 2, 1])
    together = decode(model, src, lengths, 2, 3, beam=1, max_output=6)
    for b in range(3):
        alone = decode(model, src[: lengths[b], b : b + 1], lengths[b : b + 1], 2, 3, beam=1, max_output=6)
        assert alone.ids[0] == together.ids[b]
        np.testing.assert_allclose(alone.attention[0], together.attention[b][:, : lengths[b]], atol=1e-12)
    assert decode(model, src, lengths, 2, 3, beam=1, max_output=1).stopped == 3


def test_training_learns_the_reversal_and_resumes_bit_identically(tmp_path):
    files = _write_task(tmp_path, n_train=480)
    train, val = read_parallel(files[0], files[1]), read_parallel(files[2], files[3])
    config = TranslateConfig(**{**SMALL, "hidden": 32, "embed_dim": 16}, epochs=8, patience=8)
    result = train_translator(config, train, val, tmp_path / "a", progress=False)
    # seeded float64 run: 23 of 24 sentences exact (a model that cannot align scores far lower)
    assert result["val_bleu_greedy"] == pytest.approx(95.4277, abs=1e-4)
    assert result["val_bleu"] == pytest.approx(95.4277, abs=1e-4)
    assert result["validation"]["greedy"]["perplexity"] == pytest.approx(1.12047, abs=1e-5)
    translator = load_translator(tmp_path / "a")
    assert translator.translate(["w1 w2 w3", "w5 w7"])[0] == ["W3 W2 W1", "W7 W5"]

    short = TranslateConfig(**SMALL, epochs=2, patience=6)
    train, val = read_parallel(files[0], files[1]), read_parallel(files[2], files[3])

    def stop_at_first_check(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_translator(short, train, val, tmp_path / "b", progress=False, log=stop_at_first_check)
    resumed = train_translator(short, train, val, tmp_path / "b", progress=False)
    whole = train_translator(short, train, val, tmp_path / "c", progress=False)
    assert [c["val_bleu"] for c in resumed["checks"]] == [c["val_bleu"] for c in whole["checks"]]
    with np.load(tmp_path / "b" / "weights.npz") as w1, np.load(tmp_path / "c" / "weights.npz") as w2:
        assert all(np.array_equal(w1[k], w2[k]) for k in w2.files)


def test_commands_and_bad_input(tmp_path, capsys):
    src, tgt, vsrc, vtgt = _write_task(tmp_path, n_train=64, n_val=8)
    out = tmp_path / "m"
    args = ["text", "train", "--task", "translate", "--src", src, "--tgt", tgt, "--val-src", vsrc, "--val-tgt",
            vtgt, "--out", str(out), "--init-range", "pytorch", "--hidden", "8", "--embed-dim", "4", "--epochs", "1",
            "--min-freq", "1",
            "--no-lowercase", "--beam", "2", "--max-output", "8", "--no-figures"]
    assert main(args) == 0
    assert json.loads((out / "result.json").read_text())["config"]["hidden"] == 8
    assert json.loads((out / "result.json").read_text())["config"]["init_range"] is None  # --init-range pytorch
    capsys.readouterr()

    (tmp_path / "in.txt").write_text("w1 w2\n\nw3 never-seen\n")
    assert main(["text", "translate", "--model", str(out), "--input", str(tmp_path / "in.txt"), "--max-output",
                 "1", "--beam", "1"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.split("\n")
    assert lines == ["", "", "W6", ""]  # seeded: <eos> at once for the first, cut after one word for the last
    assert "1 empty lines left empty; 1 translations stopped at the maximum length 1 words" in captured.err

    assert main(["text", "evaluate", "--model", str(out), "--src", vsrc, "--ref", vtgt, "--json",
                 str(tmp_path / "e.json")]) == 0
    measures = json.loads((tmp_path / "e.json").read_text())
    assert measures["sentences"] == 8 and measures["beam"] == 2
    # the saved model scores the validation files as training did with --beam 2 (an evaluate that decoded
    # greedily, or read another model, would not); seeded: BLEU of the discrete translations exactly, the
    # perplexity of float32 training to 1e-5 relative (another BLAS's summation order)
    trained = json.loads((out / "result.json").read_text())["validation"]["beam"]
    assert (measures["bleu"], measures["perplexity"]) == (trained["bleu"], trained["perplexity"])
    assert (measures["bleu"], measures["stopped_at_max_length"]) == (pytest.approx(5.661385170722978, rel=1e-12), 1)
    assert measures["perplexity"] == pytest.approx(11.974620266846927, rel=1e-5)

    (tmp_path / "short.tgt").write_text("A\nB\n")
    assert main(["text", "evaluate", "--model", str(out), "--src", vsrc, "--ref", str(tmp_path / "short.tgt")]) == 2
    assert "8" in capsys.readouterr().err

    (out / "model.json").write_text('{"format": "yetztml-model", "version": 99}')
    assert main(["text", "translate", "--model", str(out), "--input", str(tmp_path / "in.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "version 1" in err

    assert main(args[:-6] + ["--attention", "luong-dot"]) == 2
    assert "unidirectional encoder" in capsys.readouterr().err
