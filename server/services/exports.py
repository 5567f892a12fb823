"""Report exports: a report's rows as a plain table, and that table as CSV or XLSX bytes.

No Flask. Reading a year of rows and building a workbook of them is CPU work, so the
server runs all of it, `report_file`, in one job worker (server/reporting.py): only the
file's bytes come back to the event loop, not thousands of rows to unpickle."""

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


def to_file(rows: Iterable[_Row], by: str, headers: dict[str, str], fmt: str,
            title: str) -> bytes:
    cols, data = table(rows, by, headers)
    return to_csv(cols, data) if fmt == "csv" else to_xlsx(cols, data, title)


def report_file(s, actor, period, by: str, filters, fmt: str, headers: dict[str, str],
                title: str) -> bytes:
    """The report's rows read and laid out as a file, in one job (workpool.run_db)."""
    from server.services import reports  # reports is heavy; plain callers need not load it

    return to_file(reports.playback(s, actor, period, by, filters), by, headers, fmt, title)
