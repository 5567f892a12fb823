"""Advisory warnings for the server UI (nothing here changes what plays).

Codes:
  priority_overlap           two schedules of the same kind and priority overlap in time: they
                             will interleave (allowed, but usually not what staff meant)
  gap_without_filler         the screen is on and only the built-in fallback (or nothing) plays
  content_expires_early      an item's validity ends before its schedule does
  content_unapproved         an item is not approved, so it is skipped
  schedule_without_playable  no item of the schedule can ever play (all unapproved/invalid)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from playlists.clock import DAY_US, INF, clock, day_number, from_us, to_us
from playlists.model import DEFAULT_TZ, Schedule, TerminalPlan
from playlists.recurrence import Recurrence
from playlists.resolver import CompiledPlan, as_compiled, duration_us, item_validity


@dataclass(frozen=True, slots=True)
class PlanWarning:
    code: str
    schedule_id: int | None
    message: str
    content_id: int | None = None
    other_schedule_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


def schedule_end_us(s: Schedule, tz: str = DEFAULT_TZ) -> int:
    """The instant a schedule's range ends (INF if open-ended)."""
    end = INF
    if s.end_date is not None:
        end = clock(tz).to_utc((day_number(s.end_date) + 1) * DAY_US)
    if s.valid_until is not None:
        end = min(end, to_us(s.valid_until))
    return end


def expiring_content(s: Schedule, tz: str = DEFAULT_TZ) -> list[PlanWarning]:
    """Items that stop being playable before the schedule ends, or never play at all."""
    out: list[PlanWarning] = []
    end = schedule_end_us(s, tz)
    playable = 0
    for it in s.playlist.items:
        lo, hi = item_validity(it)
        if not it.approved:
            out.append(
                PlanWarning(
                    "content_unapproved",
                    s.id,
                    f"content {it.content_id} is not approved and will be skipped",
                    content_id=it.content_id,
                )
            )
        elif duration_us(it) is not None and lo < hi:
            playable += 1
        if hi < end:
            out.append(
                PlanWarning(
                    "content_expires_early",
                    s.id,
                    f"content {it.content_id} expires before the schedule ends",
                    content_id=it.content_id,
                    start=from_us(hi),
                    end=None if end >= INF else from_us(end),
                )
            )
    if playable == 0:
        out.append(PlanWarning("schedule_without_playable", s.id, "no item can ever play"))
    return out


def occurrences(rec: Recurrence, lo: int, hi: int) -> list[tuple[int, int]]:
    """Clipped occurrences of a recurrence intersecting [lo, hi)."""
    out = []
    t = lo
    while t < hi:
        occ, change = rec.next_change(t)
        if occ is not None:
            out.append((max(occ[0], lo), min(occ[1], hi)))
        t = change
    return out


def _first_overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> tuple[int, int] | None:
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            return lo, hi
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return None


def _screen_on_intervals(comp: CompiledPlan, lo: int, hi: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    t = lo
    while t < hi:
        on, _, change = comp.screen_state_us(t)
        stop = min(change, hi)
        if on:
            if out and out[-1][1] == t:
                out[-1] = (out[-1][0], stop)
            else:
                out.append((t, stop))
        t = stop
    return out


def plan_warnings(
    plan: TerminalPlan | CompiledPlan,
    start: datetime,
    end: datetime,
    min_gap_s: int = 60,
) -> list[PlanWarning]:
    """All warnings for one terminal over [start, end), in a deterministic order."""
    comp = as_compiled(plan)
    lo, hi = to_us(start), to_us(end)
    out: list[PlanWarning] = []
    for s in comp.plan.schedules:
        out += expiring_content(s, comp.plan.tz)

    # Same rank (kind, priority) and overlapping occurrences: they will interleave.
    for group in comp.groups:
        occs = [(c, occurrences(c.rec, lo, hi)) for c in group if c.sid is not None]
        for n, (c1, o1) in enumerate(occs):
            for c2, o2 in occs[n + 1 :]:
                both = _first_overlap(o1, o2)
                if both is not None:
                    out.append(
                        PlanWarning(
                            "priority_overlap",
                            c1.sid,
                            f"schedules {c1.sid} and {c2.sid} share kind {c1.kind} and "
                            f"priority {c1.rank[1]}: their items will interleave",
                            other_schedule_id=c2.sid,
                            start=from_us(both[0]),
                            end=from_us(both[1]),
                        )
                    )

    # Gaps: the screen is on but only the fallback (or nothing) would play.
    gaps: list[tuple[int, int]] = []
    for seg in comp.timeline_us(lo, hi):
        if seg.kind in ("fallback", "none"):
            if gaps and gaps[-1][1] == seg.start_us:
                gaps[-1] = (gaps[-1][0], seg.end_us)
            else:
                gaps.append((seg.start_us, seg.end_us))
    on = _screen_on_intervals(comp, lo, hi)
    i = j = 0
    while i < len(gaps) and j < len(on):
        g_lo, g_hi = max(gaps[i][0], on[j][0]), min(gaps[i][1], on[j][1])
        if g_hi - g_lo >= min_gap_s * 1_000_000:
            out.append(
                PlanWarning(
                    "gap_without_filler",
                    None,
                    "screen on with nothing scheduled: only the built-in fallback plays",
                    start=from_us(g_lo),
                    end=from_us(g_hi),
                )
            )
        if gaps[i][1] <= on[j][1]:
            i += 1
        else:
            j += 1
    return out


def local_date_bounds(d: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """[local midnight starting d, local midnight ending d) as UTC datetimes."""
    clk = clock(tz)
    n = day_number(d)
    return from_us(clk.to_utc(n * DAY_US)), from_us(clk.to_utc((n + 1) * DAY_US))
