"""CSV and XLSX files of report tables."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from hall.reports.tables import Table

#: A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell safe to open in a spreadsheet (OWASP CSV injection): text that a spreadsheet would
    run as a formula gets a leading apostrophe, which shows the text as typed. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    """One table as CSV with a header row (UTF-8 with BOM so spreadsheet programs read Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([csv_cell(label) for _, label in table.columns])
    writer.writerows([[csv_cell(v) for v in row] for row in table.rows])
    return out.getvalue()


def _append_as_values(sheet: Worksheet, row: Sequence[Any]) -> None:
    """Append a row where text is always text: openpyxl would store "=…" as a formula."""
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def to_xlsx(tables: Sequence[Table], heading: str) -> bytes:
    """Every table on its own sheet; numbers stay numbers, blanks stay empty."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.name)
        _append_as_values(sheet, [heading])
        _append_as_values(sheet, [table.title])
        _append_as_values(sheet, [label for _, label in table.columns])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in table.rows:
            _append_as_values(sheet, row)
        for index, (_, label) in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(30, len(label) + 2))
        sheet.freeze_panes = "B4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: Rows before the header row in each XLSX sheet (hall and range, table title).
XLSX_HEADER_ROW = 3
