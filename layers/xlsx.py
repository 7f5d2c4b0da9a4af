"""A spreadsheet (.xlsx) as the CSV text its rows would be, so that it is read by the CSV path of
:mod:`layers.readers` — the same lon/lat and header rules, the same field names, aliases and types.

Hotline (12345) and permit exports are spreadsheets. Only openpyxl opens them (never GDAL: the content does not
pick a reader), read-only and with ``data_only``: a formula is read as the value the spreadsheet last
calculated (a formula never calculated reads as empty), never evaluated; a text cell starting with ``=`` stays
that text. Dates become ISO 8601 (``2026-11-03``, or ``2026-11-03T14:22:00`` with a time), numbers stay
numbers, booleans ``true``/``false``. The first worksheet is read (the workbook's order, not the one that
was open); :class:`Sheet` says which, and where its header was.

The archive itself (a real zip, its unpacked size and ratio, its members) is checked by
:mod:`layers.readers` before this module is called; the row and column limits are given by it too.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

from .export import neutralize_formula

#: Most columns a sheet's header may have (a CSV has no such limit in GDAL; a spreadsheet could claim 16,384).
MAX_COLUMNS = 500
#: The most rows a worksheet can have (Excel's limit): rows are never read past it, whatever a file claims.
EXCEL_ROWS = 1_048_576
#: How many rows from the top a header is looked for in (hotline exports put a title row or two above it).
HEADER_ROWS = 20


class Refused(Exception):
    """The workbook cannot be read as rows; the message (Chinese · English) is for the person who sent it."""


@dataclass
class Sheet:
    """What was read: the sheet's name, all the workbook's sheet names, the header's row (1-based), how many
    data rows were written and how many empty rows were left out."""

    name: str
    sheets: list = field(default_factory=list)
    header_row: int = 1
    rows: int = 0
    blank_rows: int = 0

    def notes(self) -> list[str]:
        """How the sheet was read where a person might not expect it (bilingual warnings)."""
        notes = []
        if len(self.sheets) > 1:
            notes.append(f"工作簿有 {len(self.sheets)} 个工作表，只读取了第一个「{self.name}」· the workbook has "
                         f"{len(self.sheets)} sheets; only the first, {self.name!r}, was read")
        if self.header_row > 1:
            notes.append(f"表头在第 {self.header_row} 行，上面 {self.header_row - 1} 行（标题）未读取；报告中的行号为表头下的"
                         f"数据行按第 2 行起算 · the header is on row {self.header_row}; the {self.header_row - 1} "
                         "rows above it (a title) were not read, and the report numbers the data rows from 2")
        if self.blank_rows:
            notes.append(f"跳过了 {self.blank_rows} 个空行 · {self.blank_rows} empty rows were left out")
        return notes


def cell_text(value) -> str:
    """A cell's value as the CSV text the CSV path reads it from."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    # the CSV path undoes this (layers.export.restore_formula): text that starts like a formula stays text
    return neutralize_formula(str(value))


def _header_index(rows: list[tuple], names: set[str]) -> int:
    """The position of the header among ``rows``: the first naming a longitude column, else the first that is
    not empty."""
    for i, row in enumerate(rows):
        if any(isinstance(v, str) and "".join(v.split()).casefold() in names for v in row):
            return i
    return next((i for i, row in enumerate(rows) if any(v not in (None, "") for v in row)), 0)


def write_csv(path: Path, target: Path, *, max_rows: int, header_names, max_columns: int = MAX_COLUMNS) -> Sheet:
    """Write the first worksheet of the workbook ``path`` as UTF-8 CSV to ``target``: the header (found by
    ``header_names``, the longitude column names of the CSV rule), then each row that is not empty. Raise
    :class:`Refused` when it cannot be read, or has more than ``max_rows`` rows or ``max_columns`` columns."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    names = {"".join(n.split()).casefold() for n in header_names}
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except (InvalidFileException, KeyError, OSError, ValueError, TypeError, SyntaxError) as exc:
        raise Refused(f"无法读取 Excel 工作簿 · the file is not a readable .xlsx workbook{_why(exc)}") from None
    try:
        return _write(workbook, target, max_rows=max_rows, max_columns=max_columns, names=names)
    except Refused:
        raise
    except Exception as exc:  # a damaged sheet: openpyxl's and the XML parser's errors are many
        raise Refused(f"Excel 工作表无法读取 · the worksheet cannot be read{_why(exc)}") from None
    finally:
        workbook.close()


def _why(exc: BaseException) -> str:
    """What went wrong, without the server's paths (openpyxl's messages name the file's temporary path)."""
    from defusedxml import DefusedXmlException

    seen = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            return "：XML 中含有 DTD 或实体，不予接受 · its XML has a DTD or entities, which are not accepted"
        seen = seen.__cause__ or seen.__context__
    return f" ({type(exc).__name__})"


def _write(workbook, target: Path, *, max_rows: int, max_columns: int, names: set[str]) -> Sheet:
    if not workbook.worksheets:
        raise Refused("工作簿中没有工作表 · the workbook has no worksheet")
    sheet = workbook.worksheets[0]
    found = Sheet(sheet.title, [s.title for s in workbook.worksheets])
    declared_cols, declared_rows = sheet.max_column, sheet.max_row  # from the sheet's <dimension>, if any
    if declared_cols and declared_cols > max_columns:
        raise Refused(f"列数过多：工作表「{sheet.title}」有 {declared_cols:,} 列，最多 {max_columns} 列 · the sheet "
                      f"{sheet.title!r} has {declared_cols:,} columns; at most {max_columns}")
    if declared_rows and declared_rows > max_rows + HEADER_ROWS:
        raise Refused(f"行数过多：工作表「{sheet.title}」有 {declared_rows:,} 行，一次最多导入 {max_rows:,} 行 · the sheet "
                      f"{sheet.title!r} has {declared_rows:,} rows; one import takes at most {max_rows:,}: split it")
    top = list(sheet.iter_rows(min_row=1, max_row=HEADER_ROWS, max_col=max_columns + 1, values_only=True))
    at = _header_index(top, names)
    header = list(top[at]) if top else []
    while header and header[-1] in (None, ""):
        header.pop()
    if len(header) > max_columns:
        raise Refused(f"列数过多：表头超过 {max_columns} 列 · the header has more than {max_columns} columns")
    if not header:
        raise Refused(f"工作表「{sheet.title}」是空的 · the sheet {sheet.title!r} is empty")
    found.header_row = at + 1
    width = len(header)
    with open(target, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([cell_text(v).replace("\n", " ") for v in header])
        blanks = 0  # empty rows at the end (formatted, or left by a deletion) are not worth a word
        for row in sheet.iter_rows(min_row=at + 2, max_row=EXCEL_ROWS, max_col=width, values_only=True):
            texts = [cell_text(v) for v in row]
            if not any(texts):
                blanks += 1
                continue
            found.blank_rows, blanks = found.blank_rows + blanks, 0
            found.rows += 1
            if found.rows > max_rows:
                raise Refused(f"行数过多：一次最多导入 {max_rows:,} 行 · the sheet has more than {max_rows:,} rows; one "
                              "import takes at most that many: split it")
            out.writerow(texts + [""] * (width - len(texts)))
    return found
