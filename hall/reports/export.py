"""CSV and XLSX files of report tables."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hall.reports.tables import Table


def to_csv(table: Table) -> str:
    """One table as CSV with a header row (UTF-8 with BOM so spreadsheet programs read Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([label for _, label in table.columns])
    writer.writerows([["" if v is None else v for v in row] for row in table.rows])
    return out.getvalue()


def to_xlsx(tables: Sequence[Table], heading: str) -> bytes:
    """Every table on its own sheet; numbers stay numbers, blanks stay empty."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.append([heading])
        sheet.append([table.title])
        sheet.append([label for _, label in table.columns])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        for index, (_, label) in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(30, len(label) + 2))
        sheet.freeze_panes = "B4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: Rows before the header row in each XLSX sheet (hall and range, table title).
XLSX_HEADER_ROW = 3
