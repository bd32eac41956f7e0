"""Reading an uploaded CSV into a table, and the report of what is wrong with it
(by row and column; the header is row 1, as a spreadsheet shows it)."""

import csv
import io
import re
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imports.columns import ImportKind

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000


# --- the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem: `row` as a spreadsheet numbers it (header = 1) and the
    column's name; both are None for a problem of the whole file."""

    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


class ImportInvalid(ValidationError):
    """The file has errors; nothing was written. `errors` is the full report."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(
            [
                _("Row %(row)s, %(column)s: %(message)s")
                % {"row": e.row, "column": e.column, "message": e.message}
                if e.row
                else e.message
                for e in errors[:20]
            ]
        )


def _file_error(message: str) -> ImportInvalid:
    return ImportInvalid([RowError(None, None, message)])


# --- reading the file ---------------------------------------------------------------------


# What an import reads: an uploaded file, its bytes, or its text (a job's content).
Upload = str | bytes | File

SAVE_AS = gettext_lazy("In Excel, choose File, Save As, “CSV UTF-8 (Comma delimited)”.")


def file_text(file: Upload) -> str:
    """The file's text: UTF-8 with or without a byte order mark, at most MAX_BYTES.
    `file` is an uploaded file, bytes, or text already decoded (a job's content)."""
    too_big = _("The file is larger than %(size)s MB; split it into smaller files.") % {
        "size": MAX_BYTES // (1024 * 1024)
    }
    if isinstance(file, str):
        if len(file) > MAX_BYTES or len(file.encode()) > MAX_BYTES:
            raise _file_error(too_big)
        return file.removeprefix("\ufeff")
    if isinstance(file, bytes):
        data = file
    else:
        if (getattr(file, "size", None) or 0) > MAX_BYTES:
            raise _file_error(too_big)
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _file_error(too_big)
    if data.startswith(b"PK\x03\x04"):
        raise _file_error(
            _("This is an Excel workbook, not a CSV file. %(save_as)s") % {"save_as": SAVE_AS}
        )
    if b"\x00" in data:
        raise _file_error(_("This is not a CSV text file. %(save_as)s") % {"save_as": SAVE_AS})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            _("The file is not UTF-8 text (the first problem is on line %(line)s). %(save_as)s")
            % {"line": line, "save_as": SAVE_AS}
        ) from None


def _delimiter(text: str) -> str:
    """`;` or `,`, whichever the header line uses more (Excel writes `;` where the
    decimal separator is a comma)."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    return ";" if header.count(";") > header.count(",") else ","


def _header_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


@dataclass
class Table:
    names: list[str | None]  # the column of each cell position; None: no known column
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row, {column: cell})
    errors: list[RowError]


def read_table(text: str, kind: ImportKind) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    errors: list[RowError] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _file_error(_("This is not a CSV file: %(error)s.") % {"error": exc}) from None
    if not header or not any(c.strip() for c in header):
        raise _file_error(_("The file is empty: the first row names the columns."))
    names: list[str | None] = []
    for cell in header:
        name = _header_name(cell)
        if not name:
            names.append(None)
        elif name not in kind.column_names:
            errors.append(
                RowError(
                    1,
                    cell.strip(),
                    _("Unknown column. The columns of a %(kind)s file are: %(columns)s.")
                    % {"kind": kind.name, "columns": ", ".join(kind.column_names)},
                )
            )
            names.append(None)
        elif name in names:
            errors.append(RowError(1, name, _("This column appears twice.")))
            names.append(None)
        else:
            names.append(name)
    errors += [
        RowError(1, c.name, _("This column is required."))
        for c in kind.columns
        if c.required and c.name not in names
    ]
    if errors:
        return Table(names, [], errors)
    rows: list[tuple[int, dict[str, str]]] = []
    row = 1
    try:
        for row, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue  # an empty line
            if len(rows) == MAX_ROWS:
                raise _file_error(
                    _("The file has more than %(max)s rows; split it into smaller files.")
                    % {"max": number_format(MAX_ROWS, force_grouping=True)}
                )
            values = {}
            for position, cell in enumerate(cells):
                column = names[position] if position < len(names) else None
                if column is not None:
                    values[column] = cell
                elif cell.strip():
                    errors.append(
                        RowError(row, f"column {position + 1}", _("This cell has no column name."))
                    )
            rows.append((row, values))
    except csv.Error as exc:
        errors.append(
            RowError(row + 1, None, _("This row is not valid CSV: %(error)s.") % {"error": exc})
        )
    if not rows and not errors:
        raise _file_error(_("The file has no rows below the header."))
    return Table(names, rows, errors)
