"""Report exports: a report's rows as a plain table, and that table as CSV or XLSX bytes.

Plain functions of plain data (no session, no Flask): building a big workbook is CPU work,
so the server runs `to_xlsx` and `to_csv` in a job worker (server/reporting.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Protocol


class _Row(Protocol):
    label: str
    seconds: float
    plays: int

    @property
    def hours(self) -> float: ...


def table(rows: Iterable[_Row], by: str, headers: dict[str, str]
          ) -> tuple[list[str], list[list]]:
    """Rows as a plain table: the same numbers the page shows, for CSV and XLSX."""
    cols = [headers[by], headers["hours"], headers["seconds"], headers["plays"]]
    return cols, [[r.label, round(r.hours, 3), round(r.seconds, 1), r.plays] for r in rows]


def to_csv(columns: list[str], data: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    w.writerows(data)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8


def to_xlsx(columns: list[str], data: list[list], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in data:
        ws.append(row)
    ws.column_dimensions["A"].width = 32
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
