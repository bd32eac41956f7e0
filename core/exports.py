"""Streamed CSV downloads, the one way every export of the portal is written
(smart lists, billing data): a header, then rows read lazily, so memory stays
flat at any size.

Cells are plain text: decimals as written (208.32), dates in ISO form, and text
that a spreadsheet would run as a formula (a name typed by a customer starting
with `=`, `+`, `-`, `@`) prefixed with `'` (OWASP's CSV injection advice).
"""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return f"'{value}" if value.startswith(FORMULA_START) else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


BLOCK_CHARS = 64 * 1024


def _blocks(lines: Iterable[str]) -> Iterator[str]:
    """Lines joined into blocks of about BLOCK_CHARS: one write to the client per
    block, not per line, and still a bounded amount in memory."""
    block, size = [], 0
    for line in lines:
        block.append(line)
        size += len(line)
        if size >= BLOCK_CHARS:
            yield "".join(block)
            block, size = [], 0
    if block:
        yield "".join(block)


def csv_response(lines: Iterator[str], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_blocks(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
