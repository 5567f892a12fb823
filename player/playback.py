"""The playback loop: what the resolver says, on the screen, with proof of what was shown.

Each turn: read the (server-corrected) clock, ask `playlists.resolver` for the screen state
and the item, show it if it is not already showing, and sleep until the answer could change
(the resolver's valid_until: an item end, a window edge...) or until something wakes the
loop (new manifest, a blob finished downloading, a command, shutdown).

Eligibility: an item whose blob is not completely cached is treated like an unapproved one,
in a filtered copy of the plan, so the resolver's own rules pick what plays instead (a lower
schedule, the filler, the fallback). If nothing is left, the built-in screen shows the
terminal's name: a lobby screen is never left black while it is on.

Proof of play: when a play ends, the part actually shown [start, end) is written to the outbox,
split at UTC hour boundaries. Its reason is "completed" when it ran to the item's natural end,
else why it was cut (preempted / screen_off / shutdown / reload). Every part of a split play
carries the play's reason. Screen-off time is never play time.

Layouts: each turn also asks the resolver for the layout and the overlay in force
(`frame_us`) and hands the backend what frames the screen (`show_layout`: the fitted layouts,
the live lines of each ticker region, the cached files of the image regions) whenever that
changes. The main region is the resolver's answer as before (it already plays the layout's
main-size pages). The loop also wakes when a ticker line starts or stops and at each ticker
pass's end, to write that pass's play (player.regions). A full-screen broadcast and screen
off end every region's play; a ticker broadcast takes over the frame's ticker regions, or
runs along the bottom when the frame has none.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from player.broadcasts import BroadcastStore
from player.clock import Clock
from player.outbox import Outbox
from player.protocol import iso, play_record, split_at_hours
from player.regions import ImagePlay, Line, TickerRun, text_sha
from player.render.base import Backend
from player.render.compose import ticker_geometry
from playlists.clock import HOUR_US, INF, US, from_us, to_us
from playlists.layouts import Layout, LayoutSchedule, Region, live_lines, next_line_edge
from playlists.model import Item, Playlist, Schedule, TerminalPlan
from playlists.resolver import CompiledPlan, Resolution, compile_plan, item_validity

log = logging.getLogger(__name__)

# Never sleep longer than this without looking again (costs nothing, bounds any surprise).
MAX_SLEEP = timedelta(hours=1)
NO_PLAN_RECHECK = timedelta(seconds=30)
ERROR_RETRY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Play:
    item: Item
    schedule_id: int | None
    kind: str
    item_start_us: int
    item_end_us: int
    started_us: int  # when it actually appeared (later than item_start if joined mid-way)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.item.content_id, self.item.sha256, self.schedule_id, self.item_start_us)


def records_for(play: Play, end_us: int, reason: str) -> list[dict[str, Any]]:
    """Proof-of-play records for [play.started, end), split at hours."""
    if end_us >= play.item_end_us:
        reason = "completed"
    start, end = from_us(play.started_us), from_us(min(end_us, play.item_end_us))
    return [
        play_record(content_id=play.item.content_id, schedule_id=play.schedule_id,
                    sha256=play.item.sha256, start=a, end=b, reason=reason)
        for a, b in split_at_hours(start, end)
    ]


def _without(plan: TerminalPlan, unusable: Callable[[str], bool]) -> TerminalPlan:
    """The plan with every item whose blob cannot be shown made ineligible."""

    def items(p: Playlist) -> Playlist:
        if not any(unusable(i.sha256) for i in p.items):
            return p
        return dataclasses.replace(p, items=tuple(
            dataclasses.replace(i, approved=False) if unusable(i.sha256) else i
            for i in p.items))

    def sched(s: Schedule) -> Schedule:
        p = items(s.playlist)
        return s if p is s.playlist else dataclasses.replace(s, playlist=p)

    def region(r: Region) -> Region:  # a missing image: the region shows its background
        if r.image is None or not unusable(r.image.sha256):
            return r
        return dataclasses.replace(r, image=dataclasses.replace(r.image, approved=False))

    def frame(ls: LayoutSchedule) -> LayoutSchedule:
        regions = tuple(region(r) for r in ls.layout.regions)
        if all(a is b for a, b in zip(regions, ls.layout.regions, strict=True)):
            return ls
        return dataclasses.replace(ls, layout=dataclasses.replace(ls.layout, regions=regions))

    return dataclasses.replace(
        plan, schedules=tuple(sched(s) for s in plan.schedules), fallback=items(plan.fallback),
        variants=tuple(dataclasses.replace(v, playlists=tuple(items(p) for p in v.playlists))
                       for v in plan.variants),
        layouts=tuple(frame(ls) for ls in plan.layouts))


def plan_shas(plan: TerminalPlan) -> set[str]:
    shas = {i.sha256 for s in plan.schedules for i in s.playlist.items}
    shas.update(i.sha256 for i in plan.fallback.items)
    shas.update(i.sha256 for v in plan.variants for p in v.playlists for i in p.items)
    shas.update(r.image.sha256 for ls in plan.layouts for r in ls.layout.regions if r.image)
    return shas


def _apart(overlay: Layout, taken: set[str]) -> Layout:
    """The overlay with the region keys the layout also uses renamed: the backend finds a
    ticker's lines by region key, in one mapping for both."""
    if not any(r.key in taken for r in overlay.regions):
        return overlay
    return dataclasses.replace(overlay, regions=tuple(
        dataclasses.replace(r, key=f"overlay_{r.key}") if r.key in taken else r
        for r in overlay.regions))


P = TypeVar("P", TickerRun, ImagePlay)

# What the screen's frame shows: (layout, overlay, ticker texts by region key, image files by
# sha256), or None for full-frame with nothing over it.
Frame = tuple[Layout | None, Layout | None, tuple[tuple[str, tuple[str, ...]], ...],
              tuple[tuple[str, Path], ...]] | None


class Playback:
    """Runs in its own thread (`run()`); every other method is safe to call from any thread."""

    def __init__(self, clock: Clock, backend: Backend, outbox: Outbox, *,
                 blob_ready: Callable[[str], bool], blob_path: Callable[[str], Path],
                 name: str = "", on_show: Callable[[str], None] | None = None,
                 broadcasts: BroadcastStore | None = None,
                 on_broadcast_shown: Callable[[int], None] | None = None) -> None:
        self.clock = clock
        self.backend = backend
        self.outbox = outbox
        self.blob_ready = blob_ready
        self.blob_path = blob_path
        self.on_show = on_show
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._name = name
        self._plan: TerminalPlan | None = None
        self._plan_dirty = True
        self._compiled: CompiledPlan | None = None
        self._bad: set[str] = set()  # blobs that failed to display this run
        self._stop_reason: str | None = None
        self._cut_reason: str | None = None
        self._screen_override: bool | None = None
        self._brightness_override: int | None = None
        self.current: Play | None = None
        self.screen_on = True
        self.brightness = 100
        self._shown: tuple[Any, ...] | None = None  # what the backend shows now
        self.stopped = threading.Event()
        self.broadcasts = broadcasts
        self.on_broadcast_shown = on_broadcast_shown
        self._ticker: tuple[dict[str, Any], int] | None = None  # shown now, since (us)
        # Layouts: a backend without show_layout (the demo history's) plays full-frame.
        self._framing = callable(getattr(backend, "show_layout", None))
        self._frame: Frame = None  # what show_layout was last given
        self._runs: dict[tuple[str, str], TickerRun] = {}  # (layout|overlay, key) -> run
        self._stills: dict[tuple[str, str], ImagePlay] = {}
        self._ticker_regions = False  # the frame has a ticker region (a ticker broadcast's)
        self._clock_tz: str | None = None

    # --- control (any thread) -----------------------------------------------------------

    def set_plan(self, plan: TerminalPlan | None, name: str | None = None) -> None:
        with self._lock:
            self._plan, self._plan_dirty = plan, True
            if name is not None:
                self._name = name
        self._wake.set()

    def cache_changed(self) -> None:
        """A blob arrived or went: eligibility may differ."""
        with self._lock:
            self._plan_dirty = True
        self._wake.set()

    def reload(self) -> None:
        """Restart what plays now (the reload command); the cut play is recorded as such."""
        with self._lock:
            self._cut_reason, self._plan_dirty = "reload", True
            self._bad.clear()
        self._wake.set()

    def override_screen(self, on: bool | None) -> None:
        """The screen command: force the screen on or off (None = follow the plan again)."""
        with self._lock:
            self._screen_override = on
        self._wake.set()

    def override_brightness(self, percent: int | None) -> None:
        """The brightness command: a fixed level while on (None = follow the plan again)."""
        with self._lock:
            self._brightness_override = percent
        self._wake.set()

    def broadcasts_changed(self) -> None:
        """A broadcast arrived, ended, or its file finished downloading."""
        self._wake.set()

    def stop(self, reason: str = "shutdown") -> None:
        with self._lock:
            self._stop_reason = reason
        self._wake.set()

    def status_playing(self) -> dict[str, Any] | None:
        cur = self.current
        if cur is None:
            return None
        return {"content_id": cur.item.content_id, "sha256": cur.item.sha256,
                "since": iso(from_us(cur.started_us))}

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        try:
            while True:
                self._wake.clear()  # before reading state: a later set() is never lost
                with self._lock:
                    stop, cut = self._stop_reason, self._cut_reason
                    self._cut_reason = None
                now = self.clock.now()
                if stop is not None:
                    self._end_play(to_us(now), stop)
                    self._set_ticker(None, to_us(now), stop)
                    self._end_regions(to_us(now), stop)
                    return
                if cut is not None:
                    self._end_play(to_us(now), cut)
                    self._end_regions(to_us(now), cut)
                    self._shown = self._frame = None
                try:
                    until = self.step(now)
                except Exception:
                    # A screen must not freeze on one bad turn (a full disk, a backend hiccup):
                    # log it and look again shortly.
                    log.exception("playback step failed")
                    until = now + ERROR_RETRY
                self.clock.sleep_until(min(until, now + MAX_SLEEP), self._wake)
        finally:
            self.stopped.set()

    def step(self, now: datetime) -> datetime:
        """Bring the screen up to date for `now`; returns when to look again.

        An active full-screen broadcast (with its file cached) goes over everything, the
        screen plan included; a ticker runs over the schedule while the screen is on."""
        t = to_us(now)
        full, ticker = self.broadcasts.active(now) if self.broadcasts else (None, None)
        wake = self.broadcasts.next_change(now) if self.broadcasts else None
        if full is not None and (full["sha256"] in self._bad_now()
                                 or not self.blob_ready(full["sha256"])):
            full = None  # not downloaded yet: the schedule goes on meanwhile
        if full is not None:
            self._set_ticker(None, t, "broadcast")
            self._show_frame(t, None, None, None, "broadcast")
            until = self._step_broadcast(full, t)
        else:
            until = self._step_schedule(now, t, ticker)
            band = ticker if self.screen_on and not self._ticker_regions else None
            self._set_ticker(band, t, "preempted" if self.screen_on else "screen_off")
        return min(until, wake) if wake else until

    def _bad_now(self) -> set[str]:
        with self._lock:
            return set(self._bad)

    def _step_broadcast(self, b: dict[str, Any], t: int) -> datetime:
        """Show the broadcast's item in cycles of its duration from the broadcast's start."""
        dur = max(US, int(b["duration_s"] * US))
        start = to_us(b["starts_at"])
        cycle = start + max(0, (t - start) // dur) * dur
        end = cycle + dur if b["ends_at"] is None else min(cycle + dur, to_us(b["ends_at"]))
        item = Item(content_id=b["content_id"], sha256=b["sha256"], duration_s=b["duration_s"],
                    topic_id=b["topic_id"], approved=True, media=b["media"])
        play = Play(item, None, "broadcast", cycle, end, t)
        if self.brightness == 0 or not self.screen_on:
            self.backend.set_brightness(100)  # an emergency lights a screen that was off
            self.brightness, self.screen_on = 100, True
        cur = self.current
        if cur is None or cur.key != play.key or self._shown != ("play", play.key):
            self._end_play(t, "broadcast")
            if not self._start(play, None):
                return from_us(t)
            if self.on_broadcast_shown:
                self.on_broadcast_shown(b["id"])
        return from_us(end)

    def _set_ticker(self, b: dict[str, Any] | None, t: int, reason: str) -> None:
        """Start, change or stop the ticker; its time on screen is proof of play too (it
        overlaps the schedule's, which keeps playing under it)."""
        old = self._ticker
        if (old[0]["id"] if old else None) == (b["id"] if b else None):
            return
        if old is not None:
            ob, since = old
            end = t
            if ob["ends_at"] is not None and to_us(ob["ends_at"]) <= t:
                end, reason = to_us(ob["ends_at"]), "completed"
            self.outbox.add([play_record(content_id=ob["content_id"], schedule_id=None,
                                         sha256=ob.get("sha256") or text_sha(ob["text"]),
                                         start=a, end=z, reason=reason, region="ticker")
                             for a, z in split_at_hours(from_us(since), from_us(end))
                             if z > a])
        self._ticker = (b, t) if b is not None else None
        set_ticker = getattr(self.backend, "set_ticker", None)
        if set_ticker is not None:
            set_ticker(b["text"] if b else None)
        if b is not None and self.on_broadcast_shown:
            self.on_broadcast_shown(b["id"])

    def _step_schedule(self, now: datetime, t: int, ticker: dict[str, Any] | None = None
                       ) -> datetime:
        compiled, name, screen_ovr, bright_ovr = self._refresh()
        if compiled is None:
            self._end_play(t, "preempted")
            self._show_frame(t, None, None, None)
            self._show_builtin(name, "waiting for schedule")
            return now + NO_PLAN_RECHECK
        on, level, screen_change = compiled.screen_state_us(t)
        if screen_ovr is not None:
            on, level = screen_ovr, (level or 100) if screen_ovr else 0
        if bright_ovr is not None and on:
            level = bright_ovr
        if not on:
            self._end_play(t, "screen_off")
            self._show_frame(t, None, None, None, "screen_off")
            self.screen_on = False
            if self._shown != ("blank",):
                self.backend.blank()
                self._shown = ("blank",)
            return from_us(screen_change) if screen_change < INF else now + MAX_SLEEP
        self.screen_on = True
        if level != self.brightness:
            self.backend.set_brightness(level)
            self.brightness = level
        layout, overlay, frame_change = compiled.frame_us(t)
        regions_change = self._show_frame(t, layout, overlay, ticker)
        res = compiled.resolve_us(t)
        until = min(res.valid_until_us, screen_change, frame_change, regions_change)
        if res.item is None:
            self._end_play(t, "preempted")
            self._show_builtin(name)
            return from_us(until) if until < INF else now + MAX_SLEEP
        play = Play(res.item, res.schedule_id, res.kind, res.item_start_us or t,
                    res.item_end_us or INF, t)
        cur = self.current
        if cur is None or cur.key != play.key or self._shown != ("play", play.key):
            self._end_play(t, "preempted")
            if not self._start(play, res):
                return now  # it failed to show; look again at once with it excluded
            self._prepare_next(compiled, res)
        return from_us(until)

    # --- helpers ------------------------------------------------------------------------

    def _refresh(self) -> tuple[CompiledPlan | None, str, bool | None, int | None]:
        with self._lock:
            plan, dirty = self._plan, self._plan_dirty
            self._plan_dirty = False
            name, so, bo = self._name, self._screen_override, self._brightness_override
            bad = set(self._bad)
        if dirty:
            if plan is None:
                self._compiled = None
            else:
                def unusable(sha: str) -> bool:
                    return sha in bad or not self.blob_ready(sha)

                self._compiled = compile_plan(_without(plan, unusable))
                set_clock = getattr(self.backend, "set_clock", None)
                if plan.tz != self._clock_tz and set_clock is not None:
                    set_clock(lambda: to_us(self.clock.now()), plan.tz)
                    self._clock_tz = plan.tz
        return self._compiled, name, so, bo

    def _start(self, play: Play, res: Resolution | None) -> bool:
        item = play.item
        if not self.blob_ready(item.sha256):
            # Checked again as it starts (one stat unless the file changed since it was
            # verified): a file swapped on disk is never shown; it is fetched again.
            with self._lock:
                self._plan_dirty = True
            self._shown = None
            return False
        path = self.blob_path(item.sha256)
        try:
            offset = (play.started_us - play.item_start_us) / US
            if item.media == "video":
                self.backend.show_video(path, offset)
            elif item.media == "text":  # a notice's scroll strip crosses once per play
                self.backend.show_scroll(path, item.duration_s, offset)
            else:
                self.backend.show_image(path)
        except Exception:
            # A blob can match its hash and still not decode (an unsupported codec): skip it
            # from now on rather than show nothing or crash the loop.
            log.exception("cannot show content %s (%s)", item.content_id, item.sha256)
            with self._lock:
                self._bad.add(item.sha256)
                self._plan_dirty = True
            self._shown = None
            return False
        self.current = play
        self._shown = ("play", play.key)
        log.debug("showing content %s (%s)", item.content_id, item.media)
        if self.on_show:
            self.on_show(item.sha256)
        return True

    def _prepare_next(self, compiled: CompiledPlan, res: Resolution) -> None:
        if res.item_end_us is None or res.item_end_us >= INF:
            return
        nxt = compiled.resolve_us(res.item_end_us)
        if nxt.item is not None and nxt.item.sha256 != res.item.sha256:  # type: ignore[union-attr]
            try:
                self.backend.prepare(self.blob_path(nxt.item.sha256), nxt.item.media)
            except Exception:
                log.warning("cannot prepare %s", nxt.item.sha256, exc_info=True)

    def _show_builtin(self, name: str, detail: str = "") -> None:
        key = ("builtin", name, detail)
        if self._shown != key:
            self.backend.show_text(name or "community signage", [detail] if detail else [])
            self._shown = key

    # --- regions ------------------------------------------------------------------------

    def _show_frame(self, t: int, layout: LayoutSchedule | None, overlay: LayoutSchedule | None,
                    ticker: dict[str, Any] | None, reason: str = "preempted") -> int:
        """Frame the screen with the layout and overlay in force (None, None: full-frame),
        write what their regions showed, and return when to look again for them (the next
        ticker pass end, line edge, image edge or hour of an image on screen).

        `ticker`: an active ticker broadcast: its text replaces the lines of every ticker
        region while it lasts. `reason`: why what stops now stopped."""
        if not self._framing:
            return INF
        runs: dict[tuple[str, str], TickerRun] = {}
        stills: dict[tuple[str, str], ImagePlay] = {}
        texts: dict[str, tuple[str, ...]] = {}
        files: dict[str, Path] = {}
        wake = INF
        self._ticker_regions = False
        drawn = layout.layout if layout else None
        over = overlay.layout if overlay else None
        if drawn is not None and over is not None:
            over = _apart(over, {r.key for r in drawn.regions})
        for which, ls, fitted in (("layout", layout, drawn), ("overlay", overlay, over)):
            if ls is None or fitted is None:
                continue
            wake = min(wake, next_line_edge(fitted, t))
            for r in fitted.regions:
                if r.role == "ticker":
                    self._ticker_regions = True
                    run = self._ticker_run(t, ls.id, fitted, r, ticker)
                    texts[r.key] = tuple(x.text for x in run.lines) if run else ()
                    if run is not None:
                        runs[(which, r.key)] = run
                        wake = min(wake, run.pass_end(t))
                elif r.role == "image" and r.image is not None:
                    lo, hi = item_validity(r.image)
                    wake = min([wake, *(e for e in (lo, hi) if e > t)])
                    if r.image.approved and lo <= t < hi and self.blob_ready(r.image.sha256):
                        files[r.image.sha256] = self.blob_path(r.image.sha256)
                        stills[(which, r.key)] = ImagePlay(ls.id, r.image, t)
                        wake = min(wake, t - t % HOUR_US + HOUR_US)  # write each hour
        started = [*self._carry(self._runs, runs, t, reason),
                   *self._carry(self._stills, stills, t, reason)]
        self._runs, self._stills = runs, stills
        frame: Frame = None
        if drawn is not None or over is not None:
            frame = (drawn, over, tuple(sorted(texts.items())), tuple(sorted(files.items())))
        if frame != self._frame:
            if frame is None:
                self.backend.show_layout(None, None, {}, {})
            else:
                self.backend.show_layout(frame[0], frame[1], dict(frame[2]), dict(frame[3]))
            self._frame = frame
        for new in started:
            if isinstance(new, ImagePlay) and self.on_show:
                self.on_show(new.item.sha256)
            elif isinstance(new, TickerRun) and new.broadcast_id and self.on_broadcast_shown:
                self.on_broadcast_shown(new.broadcast_id)
        return wake

    def _carry(self, old: dict[tuple[str, str], P], new: dict[tuple[str, str], P], t: int,
               reason: str) -> list[P]:
        """Region by region: what goes on is written up to t (whole passes, whole hours) and
        kept in `new`; what stopped is written to t, cut with `reason` (with "broadcast" when
        a ticker broadcast takes its place). Returns the plays that start now."""
        records: list[dict[str, Any]] = []
        for key, was in old.items():
            now = new.get(key)
            if now is not None and was.same(now):
                new[key] = was
                records += was.records(t)
            else:
                taken = isinstance(now, TickerRun) and now.broadcast_id is not None and \
                    isinstance(was, TickerRun) and was.broadcast_id is None
                records += was.records(t, "broadcast" if taken else reason)
        self.outbox.add(records)
        return [v for k, v in new.items() if old.get(k) is not v]

    def _ticker_run(self, t: int, schedule_id: int, layout: Layout, r: Region,
                    b: dict[str, Any] | None) -> TickerRun | None:
        """What a ticker region scrolls at t (None: nothing, its background shows)."""
        if b is not None:
            lines = (Line(b["content_id"], b.get("sha256") or text_sha(b["text"]), b["text"]),)
        else:
            lines = tuple(Line(x.content_id, text_sha(x.text), x.text)
                          for x in live_lines(r, t))
        if not lines:
            return None
        # The backends' own geometry: the passes recorded are the passes drawn.
        _font_px, widths, speed = ticker_geometry(layout, r, [x.text for x in lines])
        until = to_us(b["ends_at"]) if b is not None and b["ends_at"] is not None else None
        return TickerRun(None if b is not None else schedule_id, lines, tuple(widths), r.w,
                         speed, t, until, b["id"] if b else None)

    def _end_regions(self, t: int, reason: str) -> None:
        """Write what the regions showed up to t (shutdown, reload); the frame stays."""
        records: list[dict[str, Any]] = []
        for play in [*self._runs.values(), *self._stills.values()]:
            records += play.records(t, reason)
        self._runs, self._stills = {}, {}
        self.outbox.add(records)

    def _end_play(self, t_us: int, reason: str) -> None:
        cur, self.current = self.current, None
        if cur is None:
            return
        if self._shown and self._shown[0] == "play":
            self._shown = None
        records = records_for(cur, t_us, reason)
        if records:
            self.outbox.add(records)
