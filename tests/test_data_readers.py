"""Readers of labelled texts and parallel text: formats, label types, and one-line errors naming file and line."""

from __future__ import annotations

import doctest
import gzip
import io
import json

import numpy as np
import pytest

import yetztml.data.labels
import yetztml.data.parallel
import yetztml.data.readers
from yetztml.core.errors import CheckpointError, DataError
from yetztml.data import (
    LabelIndex,
    LabelledTexts,
    check_classes,
    read_csv,
    read_jsonl,
    read_labelled,
    read_parallel,
    read_texts,
)

CSV = (
    "is_sarcastic,text,source\n"
    "0,\"former versace store clerk sues over secret 'black code'\",huff\n"
    "\n"
    '1,"mom starting to fear son\'s\nweb series",onion\n'
    "1,   ,onion\n"
    '0,"boehner just wants wife to listen, not come up with ideas",huff\n'
)


def test_doctests():
    for module in (yetztml.data.readers, yetztml.data.parallel, yetztml.data.labels):
        assert doctest.testmod(module).failed == 0


def test_csv_reads_quotes_multiline_blank_lines_and_skips_empty_texts(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(CSV)
    d = read_csv(p, "text", "is_sarcastic")
    assert d.texts == [
        "former versace store clerk sues over secret 'black code'",
        "mom starting to fear son's\nweb series",
        "boehner just wants wife to listen, not come up with ideas",
    ]
    assert d.labels == [0, 1, 0]
    assert d.lines == [2, 4, 7]  # the row starting on line 4 spans lines 4-5
    assert (d.skipped_empty, d.skipped_lines) == (1, [6])
    assert d.path == str(p) and len(d) == 3 and d.classes == [0, 1]


def test_csv_columns_chosen_by_name_and_string_labels_stay_strings(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("id,label,body\n7,pos,good film\n8,neg,bad film\n9,3,odd one\n")
    d = read_csv(p, text_column="body", label_column="label")
    assert d.texts == ["good film", "bad film", "odd one"]
    assert d.labels == ["pos", "neg", "3"]  # one non-integer label keeps every label a string
    ints = read_csv(p, text_column="body", label_column="id")
    assert ints.labels == [7, 8, 9] and all(type(label) is int for label in ints.labels)


def test_tsv_by_extension_gz_and_bom(tmp_path):
    body = "\ufefflabel\ttext\n-1\ta, b; c\n+2\td\n"
    p = tmp_path / "h.tsv.gz"
    p.write_bytes(gzip.compress(body.encode("utf-8")))
    d = read_csv(p, "text", "label")
    assert (d.texts, d.labels) == (["a, b; c", "d"], [-1, 2])


def test_delimiter_sniffed_for_other_names_and_explicit_delimiter(tmp_path):
    p = tmp_path / "h.txt"
    p.write_text("label;text\n0;a b\n1;c, d\n1;e\n")
    assert read_csv(p, "text", "label").texts == ["a b", "c, d", "e"]
    q = tmp_path / "h.csv"
    q.write_text("label|text\n0|a,b\n")
    assert read_csv(q, "text", "label", delimiter="|").texts == ["a,b"]


def test_missing_column_lists_the_columns_present(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("is_sarcastic,headline\n0,a\n")
    with pytest.raises(DataError) as err:
        read_csv(p, "text", "is_sarcastic")
    assert str(err.value) == (
        f"{p}: expected a text column 'text', got columns 'is_sarcastic', 'headline'. "
        "Choose the text column from the columns present."
    )


def test_one_column_header_suggests_the_delimiter(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("label;text\n0;a\n")
    with pytest.raises(DataError, match=r"got columns 'label;text'\. .*if the file is not separated by ','"):
        read_csv(p, "text", "label")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", ": expected a header line and at least one row, got an empty file"),
        ("  \n\n", ": expected a header line and at least one row, got an empty file"),
        ("label,text\n", ": expected at least one row after the header, got only the header"),
        ("label,text\n0,\n1, \n", ": expected at least one non-empty text, got 2 rows, all texts empty"),
        (
            "label,text\n0,a\n1,b,c\n",
            ", line 3: expected 2 fields separated by ',' (as in the header), got 3",
        ),
        ("label,text\n0,a\n,b\n", ", line 3: expected a label in column 'label', got an empty field"),
        ("label,text,text\n0,a,b\n", ", line 1: expected one column named 'text', got 2"),
    ],
)
def test_csv_errors_name_file_line_and_expectation(tmp_path, content, expected):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError) as err:
        read_csv(p, "text", "label")
    assert str(err.value).startswith(f"{p}{expected}")


def test_undecodable_bytes_name_the_line(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(b"label,text\n0,fine\n1,caf\xe9 society\n")
    with pytest.raises(DataError) as err:
        read_csv(p, "text", "label")
    assert str(err.value).startswith(
        f"{p}, line 3: expected utf-8 text, got undecodable bytes b'\\xe9'. Convert"
    )
    assert read_csv(p, "text", "label", encoding="latin-1").texts == ["fine", "café society"]


def test_missing_file_and_damaged_gzip(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.csv: expected an existing file, got no such file"):
        read_csv(tmp_path / "nothere.csv", "text", "label")
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(gzip.compress(b"label,text\n0,a\n" * 50)[:30])
    with pytest.raises(DataError, match=r"cut\.csv\.gz: expected a complete gzip file"):
        read_csv(p, "text", "label")


def test_jsonl_original_release_format(tmp_path):
    p = tmp_path / "Sarcasm_Headlines_Dataset.json"
    rows = [
        {"article_link": "https://x/1", "headline": "former versace store clerk sues", "is_sarcastic": 0},
        {
            "is_sarcastic": 1,
            "headline": "mom starting to fear son's web series",
            "article_link": "https://x/2",
        },
        {"is_sarcastic": True, "headline": "  ", "article_link": "https://x/3"},
        {"is_sarcastic": False, "headline": None, "article_link": "https://x/4"},
    ]
    p.write_text(
        "\n".join(json.dumps(r) for r in rows[:2]) + "\n\n" + "\n".join(json.dumps(r) for r in rows[2:])
    )
    d = read_jsonl(p, "headline", "is_sarcastic")
    assert d.texts == ["former versace store clerk sues", "mom starting to fear son's web series"]
    assert d.labels == [0, 1] and d.lines == [1, 2]
    assert (d.skipped_empty, d.skipped_lines) == (2, [4, 5])


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ['{"headline": "a", "is_sarcastic": 0}', '{"title": "b", "is_sarcastic": 1}'],
            ", line 2: expected a key 'headline', got keys 'title', 'is_sarcastic'. Choose one of the keys present.",
        ),
        (
            ['{"headline": "a", "is_sarcastic": 0}', '{"headline": "b", "is_sarcastic": 1'],
            ", line 2: expected one JSON object per line, got invalid JSON (Expecting ',' delimiter at column 36)",
        ),
        (
            ['{"headline": "a", "is_sarcastic": 0}', '{"headline": "b", "is_sarcastic": "yes"}'],
            ", line 2: expected an integer label, as on line 1, got 'yes'. Use one label type in a file.",
        ),
        (
            ['{"headline": "a", "is_sarcastic": 0.5}'],
            ", line 1: expected a label under 'is_sarcastic' (an integer or a string), got 0.5",
        ),
        (['{"headline": 3, "is_sarcastic": 0}'], ", line 1: expected a string under 'headline', got int"),
        (
            ['[{"headline": "a", "is_sarcastic": 0}]'],
            ": expected one JSON object per line (JSON lines), got a JSON array. Write one object a line.",
        ),
        (
            ["", "  "],
            ": expected one JSON object per line, got an empty file. Check that the path names the data file.",
        ),
    ],
)
def test_jsonl_errors(tmp_path, lines, expected):
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        read_jsonl(p, "headline", "is_sarcastic")
    assert str(err.value) == f"{p}{expected}"


def test_read_labelled_dispatches_by_extension_then_content(tmp_path):
    js = '{"text": "a b", "label": "x"}\n{"text": "c", "label": "y"}\n'
    csv_text = "label\ttext\nx\ta b\ny\tc\n"
    for name, content in [
        ("d.json", js),
        ("d.ndjson", js),
        ("d", js),
        ("d.tsv", csv_text),
        ("d.dat", csv_text),
    ]:
        p = tmp_path / name
        p.write_text(content)
        d = read_labelled(p, text_column="text", label_column="label")
        assert (d.texts, d.labels) == (["a b", "c"], ["x", "y"]), name
    p = tmp_path / "d.csv"
    p.write_text('{"text": "a", "label": 1}\n')  # a .csv is read as CSV whatever it holds
    with pytest.raises(DataError, match="expected a text column 'text'"):
        read_labelled(p, text_column="text", label_column="label")


def test_parallel_text_plain_and_gz_with_empty_pairs_skipped(tmp_path):
    (tmp_path / "s.de.gz").write_bytes(gzip.compress("Ein Hund läuft.\r\nZwei Katzen.\n \nDrei.".encode()))
    (tmp_path / "s.en").write_text("A dog runs.\n\nNothing.\nThree.\n")
    p = read_parallel(tmp_path / "s.de.gz", tmp_path / "s.en")
    assert p.sources == ["Ein Hund läuft.", "Drei."]
    assert p.targets == ["A dog runs.", "Three."]
    assert (p.lines, p.skipped_empty, p.skipped_lines, len(p)) == ([1, 4], 2, [2, 3], 2)


def test_parallel_text_refuses_unequal_line_counts_and_empty_files(tmp_path):
    (tmp_path / "a.de").write_text("eins\nzwei\ndrei\n")
    (tmp_path / "a.en").write_text("one\ntwo\n")
    with pytest.raises(DataError) as err:
        read_parallel(tmp_path / "a.de", tmp_path / "a.en")
    assert str(err.value).startswith(
        f"{tmp_path / 'a.en'}: expected as many lines as {tmp_path / 'a.de'} (3), got 2."
    )
    (tmp_path / "e.en").write_text("")
    with pytest.raises(DataError, match=r"e\.en: expected one sentence per line, got an empty file"):
        read_parallel(tmp_path / "a.de", tmp_path / "e.en")


def test_check_classes_counts_and_refuses_a_single_class():
    assert check_classes(["b", "a", "b"]) == {"a": 1, "b": 2}
    assert list(check_classes([2, 10, 2, 1])) == [1, 2, 10]  # numeric order, not text order
    with pytest.raises(DataError) as err:
        check_classes([1, 1, 1], path="h.csv")
    assert str(err.value) == (
        "h.csv: expected at least 2 classes, got 1 (every label is 1). "
        "A classifier learns from examples of each class; check the label column."
    )
    with pytest.raises(DataError, match="expected at least 3 classes, got 2 \\(0, 1\\)"):
        check_classes([0, 1], minimum=3)


def test_label_index_maps_sorted_labels_and_round_trips_json():
    index = LabelIndex.from_labels(np.array([3, 1, 3, 2]))
    assert index.classes == [1, 2, 3] and len(index) == 3
    assert index.encode([3, 1, 2]).tolist() == [2, 0, 1] and index.encode([3]).dtype == np.int64
    assert index.decode(np.array([2, 0])) == [3, 1]
    again = LabelIndex.from_json(json.loads(json.dumps(index.to_json())))
    assert again == index and again.classes == [1, 2, 3]
    with pytest.raises(DataError, match=r"test\.csv: expected labels among \[1, 2, 3\], got 7"):
        index.encode([1, 7], path="test.csv")
    with pytest.raises(CheckpointError, match="expected format 'yetztml-labels' version 1"):
        LabelIndex.from_json({"format": "yetztml-labels", "version": 2, "classes": [0, 1]})


def test_read_texts_plain_lines_stdin_and_columns(tmp_path, monkeypatch):
    p = tmp_path / "new.txt"
    p.write_text("Dog sues mom\n\n  area man wins  \n")
    d = read_texts(p)
    assert (d.texts, d.labels, d.lines, d.skipped_empty, d.skipped_lines) == (
        ["Dog sues mom", "area man wins"], [], [1, 3], 1, [2],
    )  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("one\ntwo \xe9\n".encode())))
    s = read_texts("-")
    assert (s.texts, s.path) == (["one", "two \xe9"], "<stdin>")
    c = tmp_path / "new.csv"
    c.write_text("id,text\n1,a b\n2,\n")  # no label column needed
    assert (read_texts(c, "text").texts, read_texts(c, "text").skipped_lines) == (["a b"], [3])
    j = tmp_path / "new.jsonl"
    j.write_text('{"headline": "x y"}\n')
    assert read_texts(j, "headline").texts == ["x y"]
    with pytest.raises(DataError, match=r"new\.jsonl, line 1: expected a key 'text', got keys 'headline'"):
        read_texts(j, "text")


def test_subset_keeps_the_chosen_examples_in_the_order_given():
    data = LabelledTexts(["a", "b", "c", "d"], [0, 1, 1, 0], "f.csv", lines=[2, 3, 4, 5])
    part = data.subset(np.array([3, 0, 2]), "test split")
    assert (part.texts, part.labels, part.path) == (["d", "a", "c"], [0, 0, 1], "f.csv (test split)")
