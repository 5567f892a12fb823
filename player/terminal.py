"""One terminal's player: the pieces wired together around its data folder.

Data folder layout (everything a terminal keeps; delete the folder to factory-reset it):
    credential          the terminal's secret (mode 0600), from pairing or --credential
    manifest.json       the last manifest the server sent (atomic replace)
    clock.json          the last measured offset from the server's clock
    outbox.sqlite3      proof-of-play records not yet confirmed + running totals
    blobs/              the media cache (<sha256> complete, <sha256>.part downloading)
    totals.json         the outbox totals, rewritten at shutdown (for people and scripts)
    broadcasts.json     emergency broadcasts to show, and which were acknowledged
    trust.json          the street signing keys this screen trusts (player/trust.py)
"""

from __future__ import annotations

import base64
import io
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from player import PLAYER_VERSION
from player.broadcasts import BroadcastStore
from player.cache import BlobCache
from player.client import TerminalClient
from player.clock import Clock, RealClock, ServerClock
from player.files import atomic_write_json
from player.manifest_store import Manifest, ManifestStore
from player.outbox import Outbox
from player.pairing import CREDENTIAL_FILE, PairingCancelled, load_credential, pair
from player.playback import Playback
from player.protocol import PROTOCOL_VERSION, SYNC_INTERVAL_S, iso
from player.render.base import Backend
from player.render.images import thumbnail_png
from player.trust import Keyring, Refused
from playlists.resolver import blobs_needed

log = logging.getLogger(__name__)
DEFAULT_SIZE = (192, 96)
DOWNLOAD_RETRY_S = 30.0
DISK_SHARE = 0.9


class Terminal:
    def __init__(self, server_url: str, data_dir: Path, *, credential_path: Path | None = None,
                 backend: Backend | None = None, headless: bool = True,
                 size: tuple[int, int] | None = None, fullscreen: bool = False,
                 quota_bytes: int | None = None, clock: Clock | None = None,
                 server_clock: ServerClock | None = None, credential: str | None = None,
                 pairing_poll_s: float = 3.0, transports: list[str] | None = None,
                 sync_interval_s: float = SYNC_INTERVAL_S,
                 freeze_after_s: float | None = None,
                 trust_keys: list[str] | None = None) -> None:
        self.server_url = server_url.rstrip("/")
        # Set by a closed window (or a signal, in __main__); whoever owns the Terminal then
        # calls stop() from its own thread (never from the render thread it would join).
        self.stop_requested = threading.Event()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.credential_path = credential_path or self.data_dir / CREDENTIAL_FILE
        self.server_clock = server_clock or ServerClock(self.data_dir / "clock.json")
        self.clock: Clock = clock or RealClock(self.server_clock)
        # Trust first: the saved manifest and broadcasts are checked as they are read.
        self.trust = Keyring(self.data_dir)
        for key in trust_keys or []:
            self.trust.add(key, "option")
        self.refusal: dict[str, Any] | None = None  # STATUS trust.refused
        self._trust_lock = threading.Lock()
        self._kick_downloads = threading.Event()
        self.store = ManifestStore(self.data_dir, self.trust)
        manifest = self.store.load()
        if self.store.load_refused is not None:
            self._refused(self.store.load_refused)
        self.outbox = Outbox(self.data_dir)
        self.broadcasts = BroadcastStore(self.data_dir, self.trust, on_refused=self._refused)
        self.credential = credential or load_credential(self.credential_path)
        self.cache = BlobCache(self.data_dir / "blobs", server_url=self.server_url,
                               credential=self.credential or "", quota_bytes=quota_bytes,
                               on_refused=self._refused, allowed=self._listed)
        if quota_bytes is None:
            # No quota given: never take more than 90 % of what is free now, so the outbox
            # and the manifest can always still be written.
            self.cache.quota_bytes = self.cache.used_bytes() + int(
                self.cache.free_disk_bytes() * DISK_SHARE)
        size = size or (manifest.size if manifest else None) or DEFAULT_SIZE
        if backend is None:
            if headless:
                from player.render.headless import HeadlessBackend

                backend = HeadlessBackend(size, freeze_after_s=freeze_after_s)
            else:
                from player.render.sdl import SdlBackend

                backend = SdlBackend(size, fullscreen=fullscreen,
                                     on_quit=self.stop_requested.set)
        self.backend = backend
        self.playback = Playback(self.clock, backend, self.outbox, blob_ready=self.cache.ready,
                                 blob_path=self.cache.path, on_show=self.cache.touch,
                                 name=manifest.name if manifest else "",
                                 broadcasts=self.broadcasts,
                                 on_broadcast_shown=self._broadcast_shown)
        if manifest is not None:
            self.playback.set_plan(manifest.plan, manifest.name)
        self.client: TerminalClient | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.download_problems: dict[str, str] = {}
        self.revoked: str | None = None
        self.pairing_poll_s = pairing_poll_s
        self.transports = transports
        self.sync_interval_s = sync_interval_s

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self.playback.run, "playback")
        self._spawn(self._download_loop, "downloads")
        self._spawn(self._connect, "connect")

    def _spawn(self, fn: Any, name: str) -> None:
        t = threading.Thread(target=fn, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _connect(self) -> None:
        if not self.credential:
            try:
                self.credential = pair(self.server_url, self.credential_path,
                                       show=self._show_pairing_code, stop=self._stop,
                                       on_keys=self.trust.replace,
                                       poll_s=self.pairing_poll_s,
                                       terminal={"width": self.backend.size[0],
                                                 "height": self.backend.size[1]})
            except PairingCancelled:
                return
            self.cache.credential = self.credential
            self.playback.reload()  # the pairing code gives way to the schedule
        self.client = TerminalClient(self, self.server_url, self.credential,
                                     transports=self.transports,
                                     sync_interval_s=self.sync_interval_s)
        if not self._stop.is_set():
            self.client.start()

    def _show_pairing_code(self, code: str) -> None:
        # The playback loop shows the built-in screen when there is no plan; with no
        # credential there is none, so showing the code on it directly is safe.
        self.playback.set_plan(None, f"配对码 {code}")

    def stop(self, reason: str = "shutdown", flush_timeout_s: float = 5.0) -> None:
        """Close the current play (recorded as cut short), upload what we can, release all."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.playback.stop(reason)
        if self._threads:  # started: wait for the loop to record the cut play
            self.playback.stopped.wait(10)
        self._kick_downloads.set()
        if self.client is not None:
            self.client.stop(flush_timeout_s)
        for t in self._threads:
            t.join(10)
        self.write_totals()
        self.backend.close()
        self.cache.close()
        self.outbox.close()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stop.wait(timeout)

    def write_totals(self) -> dict[str, Any]:
        totals = {**self.outbox.totals(), "bytes_downloaded": self.cache.bytes_downloaded,
                  "written_at": iso(datetime.now(UTC))}
        atomic_write_json(self.data_dir / "totals.json", totals)
        return totals

    # --- manifest and downloads ---------------------------------------------------------

    def apply_manifest(self, raw: dict[str, Any]) -> Manifest:
        """Check, save and play a manifest; raises ValueError (bad shape) or Refused (its
        signature or version), and then the current one plays on, untouched."""
        m = self.store.save(raw)
        with self._trust_lock:
            self.refusal = None  # a good manifest clears the last refusal
        self.playback.set_plan(m.plan, m.name)
        self._kick_downloads.set()
        return m

    def _refused(self, refusal: Refused) -> None:
        """Something failed its check: keep it for STATUS (until a good manifest), log it,
        and let a refused cached file be fetched again."""
        log.warning("refused: %s", refusal)
        with self._trust_lock:
            self.refusal = refusal.report(self.clock.now())
        playback = getattr(self, "playback", None)  # None while __init__ reads the files
        if refusal.what == "blob" and playback is not None:
            playback.cache_changed()
            self._kick_downloads.set()

    def _listed(self, sha: str) -> bool:
        """A blob the current (verified) manifest or a kept broadcast names."""
        m = self.store.current
        return (m is not None and sha in m.blobs) or any(
            s == sha for s, _ in self.broadcasts.blobs())

    def wanted_blobs(self, m: Manifest | None, now: datetime) -> list[tuple[str, int]]:
        """A broadcast's file first, then the manifest's blobs, the ones needed soonest
        first (what is about to play must not wait behind next week's clips)."""
        first = self.broadcasts.blobs()
        if m is None:
            return first
        order: list[str] = [sha for sha, _ in first]
        for horizon in (timedelta(hours=1), timedelta(days=1)):
            soon = blobs_needed(m.plan, now, now + horizon)
            order += sorted(s for s in soon if s not in order)
        order += [s for s in m.blobs if s not in order]
        sizes = {**{sha: size for sha, size in first}, **{s: m.blobs[s]["size"] for s in m.blobs}}
        return [(s, sizes[s]) for s in order if s in sizes]

    def _download_loop(self) -> None:
        while not self._stop.is_set():
            m = self.store.current
            if (m is not None or self.broadcasts.blobs()) and self.credential:
                try:
                    self.download_problems = self.cache.sync(
                        self.wanted_blobs(m, self.clock.now()),
                        on_ready=lambda sha: self.playback.cache_changed())
                except Exception as e:  # the thread must outlive any one pass
                    log.exception("download pass failed")
                    self.download_problems = {"*": f"{type(e).__name__}: {e}"}
                self.playback.cache_changed()  # evictions too
                if self.download_problems:
                    log.info("%d blobs not ready: %s", len(self.download_problems),
                             self.download_problems)
            wait = DOWNLOAD_RETRY_S if self.download_problems or m is None else 3600.0
            self._kick_downloads.wait(wait)
            self._kick_downloads.clear()

    # --- what the network client needs (player.client.TerminalSide) ----------------------

    def system_now(self) -> datetime:
        return self.server_clock.system_now()

    def hello_payload(self) -> dict[str, Any]:
        return {"protocol": PROTOCOL_VERSION, "player_version": PLAYER_VERSION,
                "manifest_version": self.store.version, "cache": self.cache.cached(),
                "clock": iso(self.clock.now()), "trust": {"key_id": self.trust.newest}}

    def sync_payload(self) -> dict[str, Any]:
        return {"manifest_version": self.store.version}

    def apply_ack(self, ack: Any, sent: datetime, received: datetime) -> None:
        if ack.get("server_time"):
            self.server_clock.add_sample(sent, received, ack["server_time"])
        if isinstance(ack.get("broadcasts"), list):
            self.broadcasts.replace(ack["broadcasts"])
            self._broadcasts_changed()
        manifest = ack.get("manifest")
        if isinstance(manifest, dict):
            try:
                self.apply_manifest(manifest)
            except Refused as e:
                self._refused(e)  # the last good manifest keeps playing
            except ValueError as e:
                log.error("server sent a manifest we cannot use (keeping the old one): %s", e)

    def status_payload(self) -> dict[str, Any]:
        m = self.store.current
        percent = (self.cache.download_percent({s: b["size"] for s, b in m.blobs.items()})
                   if m is not None else None)
        status = {"playing": self.playback.status_playing(), "screen_on": self.playback.screen_on,
                  "brightness": self.playback.brightness,
                  "cache_ready": m is not None and percent is None,
                  "free_disk_bytes": self.cache.free_disk_bytes(),
                  "clock_offset_s": self.server_clock.offset_s,
                  "player_version": PLAYER_VERSION, "screenshot_sha256": None,
                  "trust": {"key_id": self.trust.newest, "refused": self.refusal},
                  # the accepted manifest, and how far its files are (publish receipts)
                  "manifest_version": self.store.version, "download_percent": percent}
        try:
            probe = self.backend.frame_probe()
        except Exception:  # a report must go out even if the frame cannot be read
            log.warning("cannot describe the frame", exc_info=True)
            probe = None
        if probe is not None:
            status["screenshot_sha256"], status["dark"] = probe
        return status

    def run_command(self, kind: str, args: dict[str, Any]) -> tuple[bool, Any]:
        if kind == "screenshot":
            png = thumbnail_png(self.backend.screenshot(), int(args.get("max_side", 320)))
            w, h = Image.open(io.BytesIO(png)).size
            return True, {"png_base64": base64.b64encode(png).decode(), "width": w, "height": h}
        if kind == "reload":
            self.playback.reload()
            self._kick_downloads.set()
            return True, {}
        if kind == "clear_cache":
            self.cache.clear()
            self.playback.cache_changed()
            self._kick_downloads.set()
            return True, {}
        if kind == "screen":
            on = args.get("on")
            if on is not None and not isinstance(on, bool):
                return False, {"error": "args.on must be true, false or null"}
            self.playback.override_screen(on)
            return True, {"on": on}
        if kind == "brightness":
            level = args.get("level")
            if level is not None and (not isinstance(level, int) or isinstance(level, bool)
                                      or not 0 <= level <= 100):
                return False, {"error": "args.level must be 0-100 or null"}
            self.playback.override_brightness(level)
            return True, {"brightness": level}
        return False, {"error": f"unknown command {kind!r}"}

    # --- emergency broadcasts -------------------------------------------------------------

    def on_broadcast(self, raw: Any) -> None:
        self.broadcasts.add(raw)
        self._broadcasts_changed()

    def on_broadcast_end(self, broadcast_id: Any) -> None:
        self.broadcasts.end(broadcast_id)
        self._broadcasts_changed()

    def _broadcasts_changed(self) -> None:
        self._kick_downloads.set()  # its file, if not cached, goes before everything else
        self.playback.broadcasts_changed()

    def _broadcast_shown(self, broadcast_id: int) -> None:
        if self.broadcasts.shown_at(broadcast_id) is not None:
            return
        at, thumbnail = self.clock.now(), None
        try:  # taken once, as it first appears; resent as is until the server confirms
            thumbnail = base64.b64encode(thumbnail_png(self.backend.screenshot(), 160)).decode()
        except Exception:
            log.warning("no thumbnail for the broadcast acknowledgement", exc_info=True)
        if not self.broadcasts.shown(broadcast_id, at, thumbnail):
            return
        if self.client is not None:
            self.client.kick()

    def broadcast_acks(self) -> list[dict[str, Any]]:
        """Acknowledgements not yet confirmed, each with its thumbnail when there is one."""
        return self.broadcasts.pending_acks()

    def broadcast_acked(self, broadcast_id: int) -> None:
        self.broadcasts.acked(broadcast_id)

    def on_revoked(self, reason: str) -> None:
        self.revoked = reason
