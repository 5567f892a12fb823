"""The demo's past: DAYS of the demo schedule played by the real player code on a
simulated clock, stored through the real ingest path (`seed-demo --history DAYS`).

Per terminal, in order:
- its manifest, built by the server for it now (server/services/manifests.py) and read
  back the way a terminal reads it off the wire (JSON, then player/manifest_store.py);
- the terminal's own playback loop (player/playback.py) on player/clock.py's SimClock,
  from DAYS ago until now: the loop decides what plays and when the screen is on from
  that manifest exactly as on a lobby screen, and writes its proof of play, split at
  hours, through the same `outbox.add` call a terminal makes. Only the sleeping is
  simulated (it jumps to the next change at once) and the screen draws nothing;
- the records go to `plays.ingest`, the function the socket handler calls for a PLAYS
  event (server/hub/terminals.py), so play records and every rollup are written as in
  production; and the terminal's heartbeats' uptime (online, screen on) for the span.
Then the terminals are dated back to the start, so planned time (server/services/
planned.py) is written and closed for the past hours by the scheduler's own job.

Every second a report shows for the span is a proof-of-play record's. Records are made
in one process, a terminal at a time (a terminal's ~10,000 records are a few MB).

History can only be added to a database that has none yet: closed hours are never
rewritten (planned.py), so hours already closed could not take it.
"""

from __future__ import annotations

import json
import time as wall
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Event
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from player.clock import SimClock
from player.manifest_store import Manifest
from player.outbox import record_seconds
from player.playback import Playback
from server.models import Building, Community, ContentItem, PlayRecord, Terminal
from server.services import fleet, manifests, planned, plays

INGEST_BATCH = 5000  # records per ingest call (the hub takes 500 an event; this is local)
MAX_DAYS = 30


class HistoryRefused(Exception):
    """The database cannot take a history (it has plays or closed hours already)."""


@dataclass
class Result:
    start: datetime
    end: datetime
    terminals: int = 0
    records: int = 0
    seconds: float = 0.0
    topics: set[int] = field(default_factory=set)
    elapsed_s: float = 0.0


class _Outbox:
    """What the playback loop needs of player/outbox.py (`add`), kept in memory until the
    batch is ingested: the real outbox commits every play to disk with fsync, which
    would make three days of 76 screens hours of disk writes and prove nothing more."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        self.records.extend(records)


class _Screen:
    """A backend that draws nothing (player/render/base.py's interface)."""

    size = (0, 0)

    def show_image(self, path: Path) -> None: ...
    def show_video(self, path: Path, offset_s: float = 0.0) -> None: ...
    def show_scroll(self, path: Path, duration_s: float, offset_s: float = 0.0) -> None: ...
    def show_text(self, title: str, lines: Any = ()) -> None: ...
    def prepare(self, path: Path, media: str) -> None: ...
    def blank(self) -> None: ...
    def set_brightness(self, percent: int) -> None: ...
    def set_ticker(self, text: str | None) -> None: ...
    # With these the loop frames the screen as a layout says, so the history holds the
    # 滚动字幕's passes and the title image's hours beside the main region's plays.
    def set_clock(self, now_us: Any, tz: str) -> None: ...
    def show_layout(self, layout: Any, overlay: Any, tickers: Any, images: Any) -> None: ...
    def screenshot(self) -> bytes:
        return b""
    def frame_probe(self) -> None:
        return None
    def close(self) -> None: ...


class _Clock(SimClock):
    """The simulated clock, noting whether the screen is lit between the loop's turns
    (what the terminal's heartbeats report as screen_on)."""

    def __init__(self, start: datetime, lit: Callable[[], bool]) -> None:
        super().__init__(start)
        self.lit = lit
        self.changes: list[tuple[datetime, bool]] = []

    def sleep_until(self, t: datetime, wake: Event) -> None:
        on = self.lit()
        if not self.changes or self.changes[-1][1] != on:
            self.changes.append((self.now(), on))
        super().sleep_until(t, wake)


def play(manifest: dict[str, Any], start: datetime, end: datetime
         ) -> tuple[list[dict[str, Any]], list[tuple[datetime, bool]]]:
    """One terminal's proof-of-play records for [start, end) of this manifest, and when
    its screen went on or off, from the player's own loop. The player side only: no
    server code runs here."""
    m = Manifest.from_dict(json.loads(json.dumps(manifest)))  # as read off the wire
    outbox = _Outbox()
    pb: Playback
    clock = _Clock(start, lambda: pb.screen_on)
    pb = Playback(clock, _Screen(), outbox,  # type: ignore[arg-type]
                  blob_ready=m.blobs.__contains__,  # everything listed is in its cache
                  blob_path=Path, name=m.name)
    pb.set_plan(m.plan, m.name)
    clock.at(end, pb.stop)
    pb.run()
    return outbox.records, clock.changes


def _uptime(terminal_id: int, changes: list[tuple[datetime, bool]], end: datetime) -> dict:
    """Online the whole span, lit as the loop had it: the rows heartbeats would add."""
    sums: dict = {}
    for (at, on), nxt in zip(changes, [*changes[1:], (end, None)], strict=True):
        if nxt[0] > at:
            fleet._add_uptime(sums, terminal_id, at, nxt[0], on, True)
    return sums


def donghe_terminals(s: Session) -> list[Terminal]:
    return list(s.scalars(select(Terminal).join(Building).join(Community)
                          .where(Community.name == "东和").order_by(Terminal.id)))


def check_empty(s: Session, start: datetime) -> None:
    if s.scalar(select(func.count()).select_from(PlayRecord)):
        raise HistoryRefused("the database already has proof of play")
    closed = planned.closed_before(s)
    if closed is not None and closed > start:
        raise HistoryRefused("hours after the history's start are closed already")


def run(s: Session, days: float, now: datetime | None = None,
        terminals: list[Terminal] | None = None,
        progress: Callable[[str], None] | None = None) -> Result:
    """Play `days` of the current schedule on `terminals` (default: all of 东和), ending
    `now`; commits per terminal."""
    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"days must be more than 0 and at most {MAX_DAYS}")
    began = wall.monotonic()
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=days)
    check_empty(s, start)
    terminals = donghe_terminals(s) if terminals is None else terminals
    ids = [t.id for t in terminals]
    # They stood in the lobbies from the start: planned time is written from then on.
    s.execute(update(Terminal).where(Terminal.id.in_(ids))
              .values(created_at=start, planned_until=None, replan_from=None))
    s.commit()
    result = Result(start, end)
    built = manifests.manifests(s, terminals, end)
    for n, t in enumerate(terminals, 1):
        records, lit = play(built[t.id], start, end)
        for i in range(0, len(records), INGEST_BATCH):
            accepted, rejected = plays.ingest(s, t, records[i:i + INGEST_BATCH], now=end)
            if rejected:
                raise RuntimeError(f"terminal {t.id}: the server refused {rejected[:3]}")
        fleet._save_uptime(s, _uptime(t.id, lit, end))
        s.commit()
        result.terminals += 1
        result.records += len(records)
        # Play hours and topics as the reports' headline counts them: the main region's
        # (a layout's ticker and image regions are recorded, and counted apart).
        main = [r for r in records if r.get("region", "main") == "main"]
        result.seconds += sum(record_seconds(r) for r in main)
        result.topics.update(_topics(s, {r["content_id"] for r in main}))
        if progress and (n % 10 == 0 or n == len(terminals)):
            progress(f"{n} / {len(terminals)} terminals played")
    while planned.run(s, end)["closed"]:  # planned time, and every hour that is over closed
        pass
    result.elapsed_s = wall.monotonic() - began
    return result


def _topics(s: Session, content_ids: set[int]) -> set[int]:
    if not content_ids:
        return set()
    return {t for t in s.scalars(select(ContentItem.topic_id)
                                 .where(ContentItem.id.in_(content_ids))) if t is not None}
