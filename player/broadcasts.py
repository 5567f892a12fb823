"""The emergency broadcasts this terminal must show, kept in the data folder.

The server pushes BROADCAST / BROADCAST_END and repeats the active list in every HELLO/SYNC
answer; this store keeps them across restarts (a terminal rebooted during a typhoon warning
shows it again with the server unreachable) and remembers which ones were shown and which
acknowledgements the server has confirmed, so each is acknowledged exactly once (with the
thumbnail taken as it first appeared, also across a restart).

A player holding a signing key (player/trust.py) keeps only broadcasts whose signature
verifies, checked as they arrive and again as the file is read at start; the saved payloads
keep their signatures. A refused one is never shown and is reported through `on_refused`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from player.files import atomic_write_json, read_json
from player.protocol import ProtocolError, check_broadcast, iso, parse_instant
from player.trust import Keyring, Refused

log = logging.getLogger(__name__)
FILE_NAME = "broadcasts.json"


class BroadcastStore:
    def __init__(self, data_dir: Path, keyring: Keyring | None = None,
                 on_refused: Callable[[Refused], None] | None = None) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.keyring = keyring
        self.on_refused = on_refused
        self._lock = threading.Lock()
        raw = read_json(self.path) or {}
        self._items: dict[int, dict[str, Any]] = {}
        for b in raw.get("broadcasts", []):
            self._add(b, saved=True)
        self._shown: dict[int, str] = {int(k): v for k, v in raw.get("shown", {}).items()}
        self._acked: set[int] = set(raw.get("acked", []))
        self._thumbnails: dict[int, str] = {int(k): v for k, v in
                                            raw.get("thumbnails", {}).items()}

    def _add(self, raw: Any, saved: bool = False) -> bool:
        try:
            b = check_broadcast(raw)
        except ProtocolError as e:
            log.error("ignoring a broadcast we cannot use: %s", e.reason)
            return False
        if self.keyring is not None:
            try:
                endorsed = self.keyring.verify_broadcast(raw, saved=saved)
                if not saved:
                    self.keyring.learn(endorsed)
            except Refused as e:
                log.error("not showing broadcast %s: %s", b["id"], e)
                if self.on_refused is not None:
                    self.on_refused(e)
                return False
        self._items[b["id"]] = {**raw}
        return True

    def _save(self) -> None:
        atomic_write_json(self.path, {"broadcasts": list(self._items.values()),
                                      "shown": {str(k): v for k, v in self._shown.items()},
                                      "acked": sorted(self._acked),
                                      "thumbnails": {str(k): v for k, v in
                                                     self._thumbnails.items()}})

    def add(self, raw: Any) -> None:
        with self._lock:
            if self._add(raw):
                self._save()

    def replace(self, raws: list[Any]) -> None:
        """The server's list of what is active for us (anything else was cancelled)."""
        with self._lock:
            self._items.clear()
            for b in raws:
                self._add(b)
            self._save()

    def end(self, broadcast_id: Any) -> None:
        with self._lock:
            if self._items.pop(broadcast_id, None) is not None:
                self._save()

    def active(self, now: datetime) -> tuple[dict | None, dict | None]:
        """The newest active full-screen broadcast and the newest active ticker."""
        with self._lock:
            items = [check_broadcast(b) for b in self._items.values()]
        live = [b for b in items if b["starts_at"] <= now
                and (b["ends_at"] is None or now < b["ends_at"])]
        full = max((b for b in live if b["mode"] == "full"), key=lambda b: b["id"], default=None)
        ticker = max((b for b in live if b["mode"] == "ticker"), key=lambda b: b["id"],
                     default=None)
        return full, ticker

    def next_change(self, now: datetime) -> datetime | None:
        """When a stored broadcast starts or ends next (the playback loop wakes then)."""
        with self._lock:
            items = [check_broadcast(b) for b in self._items.values()]
        times = [t for b in items for t in (b["starts_at"], b["ends_at"]) if t and t > now]
        return min(times, default=None)

    def blobs(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(b["sha256"], int(b.get("size") or 0)) for b in self._items.values()
                    if b.get("mode") == "full" and b.get("sha256")]

    # --- acknowledgements -------------------------------------------------------------

    def shown(self, broadcast_id: int, at: datetime, thumbnail_png_base64: str | None = None
              ) -> bool:
        """Record the first appearance with its thumbnail, together: the acknowledgement is
        pending from here on, and the server keeps only the first one it gets. True if this
        is the first appearance."""
        with self._lock:
            if broadcast_id in self._shown:
                return False
            self._shown[broadcast_id] = iso(at)
            if thumbnail_png_base64:
                self._thumbnails[broadcast_id] = thumbnail_png_base64
            self._save()
            return True

    def pending_acks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": k, "shown_at": v, "thumbnail_png_base64": self._thumbnails.get(k)}
                    for k, v in sorted(self._shown.items()) if k not in self._acked]

    def acked(self, broadcast_id: int) -> None:
        with self._lock:
            self._acked.add(broadcast_id)
            self._thumbnails.pop(broadcast_id, None)
            # forget what can no longer matter: acknowledged and no longer stored
            for k in [k for k in self._shown if k in self._acked and k not in self._items]:
                del self._shown[k]
                self._acked.discard(k)
            self._save()

    def shown_at(self, broadcast_id: int) -> datetime | None:
        with self._lock:
            v = self._shown.get(broadcast_id)
        return parse_instant(v, "shown_at") if v else None
