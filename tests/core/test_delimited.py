"""CSV and TSV writer: what the standard csv module reads back, nulls empty, DALI value texts,
escaping, streaming in chunks with rows pulled lazily."""

from __future__ import annotations

import csv
import datetime
import io
import math
from itertools import count

import pytest

from jmmc_core.delimited import CSV_MEDIA_TYPE, TSV_MEDIA_TYPE, DelimitedWriter

NAMES = ["id", "name", "ra", "flag", "when", "pos", "note"]
ROWS = [
    (1, "alpha", 10.25, True, datetime.datetime(2024, 1, 2, 3, 4, 5), [10.25, -5.5], "plain"),
    (None, None, None, None, None, None, None),
    (
        -(2**63),
        'comma, "quotes"\r\nand lines',
        math.nan,
        False,
        datetime.date(2024, 5, 6),
        [math.inf, -math.inf, None],
        "tab\there\\back",
    ),
    (2**63 - 1, "\u03b6 Oph \U0001f600", -0.0, None, "2024-01-01T00:00:00", (1, 2, 3), ""),
    (7, "x", 0.1 + 0.2, True, datetime.time(12, 30), [], b"bytes \xc3\xa9"),
]
EXPECTED = [
    ["1", "alpha", "10.25", "true", "2024-01-02T03:04:05", "10.25 -5.5", "plain"],
    ["", "", "", "", "", "", ""],
    [
        str(-(2**63)),
        'comma, "quotes"\r\nand lines',
        "NaN",
        "false",
        "2024-05-06",
        "+Inf -Inf NaN",
        "tab\there\\back",
    ],
    [str(2**63 - 1), "\u03b6 Oph \U0001f600", "-0.0", "", "2024-01-01T00:00:00", "1 2 3", ""],
    ["7", "x", "0.30000000000000004", "true", "12:30:00", "", "bytes \u00e9"],
]
TSV_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def write(rows, **options) -> bytes:
    return b"".join(DelimitedWriter(NAMES, **options).iter_bytes(rows))


def tsv_unescaped(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        pair = text[index : index + 2]
        if pair in TSV_UNESCAPES:
            out.append(TSV_UNESCAPES[pair])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def test_csv_reads_back_with_the_csv_module():
    data = write(ROWS * 3)

    lines = list(csv.reader(io.StringIO(data.decode(), newline="")))

    assert lines[0] == NAMES
    assert lines[1:] == EXPECTED * 3
    assert data.startswith(b"id,name,ra,") and b"\r\n" in data  # RFC 4180 line ends


def test_tsv_reads_back_with_the_csv_module():
    data = write(ROWS * 3, delimiter="\t")

    text = data.decode()
    assert "\r" not in text  # lines end with a line feed; carriage returns inside are escaped
    lines = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))

    assert len(text.splitlines()) == 1 + len(ROWS) * 3  # one line per row
    assert all(len(line) == len(NAMES) for line in lines)
    assert lines[0] == NAMES
    assert [[tsv_unescaped(cell) for cell in line] for line in lines[1:]] == EXPECTED * 3
    assert "tab\\there\\\\back" in text and "\\r\\nand lines" in text


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_floats_are_shortest_round_trip_texts(delimiter):
    values = [0.1, 1 / 3, 1e-300, 2.5e300, -1.5, 123456789.123456789, 5e-324]
    writer = DelimitedWriter(["x"], delimiter=delimiter)

    text = b"".join(writer.iter_bytes((value,) for value in values)).decode()

    assert [float(line) for line in text.split()[1:]] == values
    assert text.split()[1:] == [repr(value) for value in values]


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_rows_are_pulled_lazily_and_written_in_chunks(delimiter):
    pulled = count()
    rows = ((next(pulled), "row text " * 5, 1.5) for _ in range(100_000))
    writer = DelimitedWriter(["n", "text", "x"], delimiter=delimiter, chunk_size=65536)

    chunks = writer.iter_bytes(rows)
    first = next(chunks)

    assert next(pulled) < 20_000
    sizes = [len(first), *map(len, chunks)]
    assert len(sizes) > 20 and max(sizes) < 1_000_000
    assert next(pulled) == 100_001


def test_max_records_cuts_the_table():
    pulled = count()
    rows = ((next(pulled),) for _ in range(50))

    data = b"".join(DelimitedWriter(["n"]).iter_bytes(rows, max_records=10))

    assert data.decode().split() == ["n", *map(str, range(10))]
    assert next(pulled) == 10  # no row read beyond the limit
    assert b"".join(DelimitedWriter(["n"]).iter_bytes(iter([(1,)]), max_records=0)) == b"n\r\n"


def test_a_failure_mid_stream_raises():
    # A delimited file has no place for an error status: the stream must not end normally.
    def failing_rows():
        yield (1,)
        raise RuntimeError("database connection lost")

    with pytest.raises(RuntimeError, match="connection lost"):
        b"".join(DelimitedWriter(["n"]).iter_bytes(failing_rows()))
    with pytest.raises(ValueError, match="every row must have 2 values"):
        b"".join(DelimitedWriter(["a", "b"]).iter_bytes([(1, 2, 3)]))


def test_bad_arguments_fail_before_any_byte():
    with pytest.raises(ValueError, match="delimiter"):
        DelimitedWriter(["a"], delimiter=";")
    with pytest.raises(ValueError, match="at least one column"):
        DelimitedWriter([])
    with pytest.raises(ValueError, match="max_records"):
        DelimitedWriter(["a"]).iter_bytes([], max_records=-1)


def test_media_types():
    assert CSV_MEDIA_TYPE == "text/csv;header=present"
    assert TSV_MEDIA_TYPE == "text/tab-separated-values"


def test_csv_is_byte_for_byte_what_the_csv_module_writes():
    # Lines are joined column by column: quoting must still be the csv module's, cell by cell.
    texts = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\r", "", "\u03b6 Oph", ",", '"']
    rows = [(index, text, None if index % 3 else 0.5) for index, text in enumerate(texts * 40)]
    expected = io.StringIO()
    csv.writer(expected).writerows([NAMES[:3], *rows])

    data = b"".join(DelimitedWriter(NAMES[:3]).iter_bytes(rows))

    assert data.decode() == expected.getvalue()


def test_csv_quotes_line_breaks_whatever_the_line_ends():
    data = b"".join(
        DelimitedWriter(["a", "b"], line_terminator="\n").iter_bytes([("cr\r", "lf\n")])
    )

    assert data == b'a,b\n"cr\r","lf\n"\n'


def test_a_lone_empty_csv_cell_is_quoted():
    # An empty line would read back as no row at all.
    data = b"".join(DelimitedWriter(["note"]).iter_bytes([("",), (None,), ("x",)]))

    assert data == b'note\r\n""\r\n""\r\nx\r\n'
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [["note"], [""], [""], ["x"]]


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_non_ascii_texts_are_utf8_even_beside_a_nul(delimiter):
    # Non-ASCII columns travel as their UTF-8 bytes in Latin-1 text, cut apart at NULs.
    rows = [("\u03b6 Oph", 1), ("a\0b \u00e9", 2), ("\U0001f600", 3)] * 10
    data = b"".join(DelimitedWriter(["name", "n"], delimiter=delimiter).iter_bytes(rows))

    lines = data.decode().splitlines()
    assert lines[1:4] == [
        f"\u03b6 Oph{delimiter}1",
        f"a\0b \u00e9{delimiter}2",
        f"\U0001f600{delimiter}3",
    ]
