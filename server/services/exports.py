"""Report exports: the CSV of a grouping, and an Excel workbook a person can hand upward
(title, period, filters, one sheet per view with totals, number formats and a chart).

No Flask: every word comes translated in `words` (server/reporting.py). Reading a year of
rows and building a workbook of them is CPU work, so the server runs all of it,
`report_file`, in one job worker: only the file's bytes come back to the event loop."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class _Row(Protocol):
    key: object
    label: str
    seconds: float
    plays: int

    @property
    def hours(self) -> float: ...


def label(row: _Row, by: str, words: dict[str, str]) -> str:
    """A row's label; a region's (its key) in the words' language."""
    return words.get(f"region_{row.key}", row.label) if by == "region" else row.label


def regions(by: str, region: str | None, words: dict[str, str]
            ) -> tuple[list[str], list[str]]:
    """The region column a file's grouping carries, last: ([header], [value]) of the region
    the figures count (`region`: one of reports.REGION_CHOICES), so a row pasted elsewhere
    still says it; none when the rows are the regions themselves (or no region is given)."""
    if by == "region" or region is None:
        return [], []
    return [words["region"]], [words[f"region_{region}"]]


def table(rows: Iterable[_Row], by: str, words: dict[str, str], region: str | None = None
          ) -> tuple[list[str], list[list]]:
    """A grouping as a plain table for the CSV: hours with two decimals as the page shows
    them, seconds whole (the exact figure, for a spreadsheet to add up)."""
    head, value = regions(by, region, words)
    cols = [words[by], words["hours"], words["seconds"], words["plays"], *head]
    return cols, [[label(r, by, words), f"{r.hours:.2f}", round(r.seconds), r.plays, *value]
                  for r in rows]


def to_csv(columns: list[str], data: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # what Excel writes and expects
    w.writerow(columns)
    w.writerows(data)
    # UTF-8 with a BOM: Excel on a Chinese Windows reads it as UTF-8, not GBK.
    return buf.getvalue().encode("utf-8-sig")


# --- the workbook ------------------------------------------------------------------------

HEADER_ROW = 5  # rows 1-3: title, period, filters; row 4 left empty
CHART_ROWS = 40  # bars in the chart, as on the page: more are unreadable
HOURS = "0.00"  # two decimals, as the page shows hours
SHARE = "0%"  # completion in whole percent, as the page shows it
COUNT = "#,##0"


@dataclass
class Sheet:
    """One view: its columns (header, number format or None for text) and rows, its totals
    row (None where a column has no total) and the notes under it."""

    name: str
    columns: list[tuple[str, str | None]]
    rows: list[list]
    totals: list | None = None
    notes: Sequence[str] = ()


def width(value) -> int:
    """Display width in Excel's character units: a Chinese character takes two."""
    if isinstance(value, float):
        value = f"{value:,.2f}"
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(value))


def share(played: float, planned: float):
    return played / planned if planned else "—"


def to_xlsx(sheets: list[Sheet], head: list[str], chart_title: str | None = None) -> bytes:
    """`head` is the title, period and filters lines atop every sheet; the first sheet
    gets a bar chart of its first column of numbers by its labels."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold, line = Font(bold=True), Side(style="thin", color="999999")
    fill = PatternFill("solid", fgColor="DDE7F5")
    for n, sheet in enumerate(sheets):
        ws = wb.create_sheet(sheet.name[:31])
        for i, text in enumerate(head, start=1):
            ws.cell(i, 1, text)
        ws["A1"].font = Font(bold=True, size=14)
        for i, (header, _) in enumerate(sheet.columns, start=1):
            ws.cell(HEADER_ROW, i, header)
        for cell in ws[HEADER_ROW]:
            cell.font, cell.fill, cell.border = bold, fill, Border(bottom=line)
            cell.alignment = Alignment(horizontal="center", vertical="center")
        for row in sheet.rows:
            ws.append(row)
        last = ws.max_row
        if sheet.totals is not None:
            ws.append(sheet.totals)
            for cell in ws[ws.max_row]:
                cell.font, cell.border = bold, Border(top=line)
        for i, (_, fmt) in enumerate(sheet.columns, start=1):
            if fmt:
                for (cell,) in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=ws.max_row,
                                            min_col=i, max_col=i):
                    if isinstance(cell.value, int | float):
                        cell.number_format = fmt
                    else:
                        cell.alignment = Alignment(horizontal="right")
        for i, text in enumerate(sheet.notes, start=ws.max_row + 2):
            ws.cell(i, 1, text)
        # Widths from the table only: the title and notes lines run on to the right.
        for i, (header, _) in enumerate(sheet.columns, start=1):
            cells = [header] + [r[i - 1] for r in sheet.rows] + (
                [sheet.totals[i - 1]] if sheet.totals else [])
            widest = max(width(v) for v in cells if v is not None)
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, widest + 3))
        ws.freeze_panes = f"B{HEADER_ROW + 1}"  # the header and the labels stay in view
        ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        if n == 0 and chart_title and sheet.rows:
            chart = BarChart()
            chart.type, chart.style, chart.legend = "col", 10, None
            chart.title, chart.y_axis.title = chart_title, sheet.columns[1][0]
            chart.y_axis.numFmt = "0"  # whole hours on the axis; the bars are the figures
            chart.y_axis.delete = chart.x_axis.delete = False  # newer Excel hides them else
            bars = min(last, HEADER_ROW + CHART_ROWS)
            chart.add_data(Reference(ws, min_col=2, min_row=HEADER_ROW, max_row=bars),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=HEADER_ROW + 1,
                                           max_row=bars))
            chart.width, chart.height = 24, 11
            ws.add_chart(chart, f"{get_column_letter(len(sheet.columns) + 2)}{HEADER_ROW}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _title(names: dict, words: dict) -> str:
    place = " ".join(n for n in (names["street"], names["community"]) if n)
    return f"{place} {words['report']}".strip()


def _filters(names: dict, words: dict, region: str) -> str:
    chosen = [f"{words[k]}：{names[k]}" for k in ("community", "building", "terminal",
                                                  "topic", "content") if names[k]]
    chosen.append(f"{words['region']}：{words[f'region_{region}']}")
    return words["filters"] % {"filters": "；".join(chosen)}


def _notes(words: dict, *terms: str) -> list[str]:
    """The notes under planned against played: that it is the main region's, then what
    each of its terms means."""
    return [words["notes"], words["main_only"]] + [f"{words[t + '_label']}：{words[t]}"
                                                   for t in terms]


def why(extra: dict, words: dict) -> str:
    """A terminal's shortfall in words (`words`: reason -> "... %(h).1f h", "unexplained"),
    the same on the page and in the file."""
    return " ".join(words[x] % {"h": extra[f"{x}_seconds"] / 3600}
                    for x in extra.get("reasons", ())) or (
        words["unexplained"] if extra.get("unexplained") else "")


def workbook(page, names: dict, period, words: dict, as_of: str, by: str, region: str
             ) -> bytes:
    """The report page as a workbook: the grouping (with its chart), planned against played
    by content, and the terminals' uptime with the reasons for a shortfall. `region`: the
    region choice the grouping counts (planned against played is the main region's)."""
    w = words
    head, value = regions(by, region, w)
    rows = [[label(r, by, w), r.hours, r.plays, *value] for r in page.rows]
    grouping = Sheet(w["sheet_rows"], [(w["by"], None), (w["hours"], HOURS),
                                       (w["plays"], COUNT), *((h, None) for h in head)],
                     rows, [w["total"], sum(r.hours for r in page.rows),
                            sum(r.plays for r in page.rows), *(None for _ in head)],
                     [w["regions"]] if region == "main" else ())
    planned_total = sum(r.extra["planned"] for r in page.planned)
    played_total = sum(r.seconds for r in page.planned)
    against = Sheet(
        w["sheet_planned"], [(w["content"], None), (w["planned_hours"], HOURS),
                             (w["played_hours"], HOURS), (w["share_col"], SHARE)],
        [[r.label, r.extra["planned"] / 3600, r.hours, share(r.seconds, r.extra["planned"])]
         for r in page.planned],
        [w["total"], planned_total / 3600, played_total / 3600,
         share(played_total, planned_total)],
        _notes(w, "planned", "played", "share"))
    reasons = {k[len("reason_"):]: v for k, v in w.items() if k.startswith("reason_")}
    cols = ("planned", "online_seconds", "screen_on_seconds", "offline_seconds")
    sums = {c: sum(r.extra.get(c, 0.0) for r in page.terminals) for c in cols}
    played_t = sum(r.seconds for r in page.terminals)
    uptime = Sheet(
        w["sheet_terminals"],
        [(w["terminal"], None), (w["planned_hours"], HOURS), (w["played_hours"], HOURS),
         (w["share_col"], SHARE), (w["online"], HOURS), (w["screen_on"], HOURS),
         (w["offline_col"], HOURS), (w["why"], None)],
        [[r.label, r.extra["planned"] / 3600, r.hours, share(r.seconds, r.extra["planned"]),
          *(r.extra[c] / 3600 if c in r.extra else "—" for c in cols[1:]),
          why(r.extra, reasons)] for r in page.terminals],
        [w["total"], sums["planned"] / 3600, played_t / 3600,
         share(played_t, sums["planned"]), *(sums[c] / 3600 for c in cols[1:]), None],
        _notes(w, "planned", "played", "offline"))
    head = [_title(names, w),
            w["period"] % {"first": period.first, "last": period.last, "zone": w["zone"],
                           "as_of": as_of},
            _filters(names, w, region)]
    return to_xlsx([grouping, against, uptime], head, w["chart"])


def report_file(s, actor, period, by: str, filters, fmt: str, words: dict[str, str]) -> bytes:
    """The report read and laid out as a file, in one job (workpool.run_db)."""
    from server.services import reports  # reports is heavy; plain callers need not load it

    region = filters.region or reports.ALL_REGIONS
    if fmt == "csv":
        return to_csv(*table(reports.playback(s, actor, period, by, filters), by, words,
                             region))
    page = reports.page(s, actor, period, by, filters, limit=False)
    return workbook(page, reports.scope_names(s, actor, filters), period, words,
                    reports.as_of_text(period, page.as_of), by, region)
