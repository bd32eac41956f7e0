"""The CSV helper every export uses: plain cells, no spreadsheet formulas."""

import datetime
from decimal import Decimal

from core.exports import BLOCK_CHARS, csv_cell, csv_lines, csv_response


def test_cells_are_plain_text_and_formulas_are_defused():
    assert csv_cell(None) == ""
    assert csv_cell(Decimal("208.32")) == "208.32"
    assert csv_cell(datetime.date(2026, 11, 22)) == "2026-11-22"
    assert csv_cell("Bäckerei Müller") == "Bäckerei Müller"
    for dangerous in ("=HYPERLINK(1)", "+41 31", "-5", "@SUM(A1)"):
        assert csv_cell(dangerous) == f"'{dangerous}"


def test_lines_are_a_header_then_one_line_per_row():
    lines = list(csv_lines(["name", "amount"], [("A, B", Decimal("1.50")), ("C", None)]))
    assert lines == ["name,amount\r\n", '"A, B",1.50\r\n', "C,\r\n"]


def test_a_response_streams_the_lines_in_blocks_not_one_write_per_line():
    lines = csv_lines(["n"], ([f"{n:09d}"] for n in range(20_000)))  # 11 chars a line

    response = csv_response(lines, filename="n.csv")
    chunks = list(response.streaming_content)

    assert b"".join(chunks).decode().splitlines() == ["n", *(f"{n:09d}" for n in range(20_000))]
    assert len(chunks) == 4  # 220,003 characters in blocks of 64 KiB
    assert all(len(chunk) >= BLOCK_CHARS for chunk in chunks[:-1])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="n.csv"'
