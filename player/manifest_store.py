"""The current manifest, kept in the data folder so the player plays with the server away.

The file is replaced atomically (temp + rename), so a crash or power cut while saving leaves
the previous manifest in place, never a half-written one. It notes the protocol version it was
received under: after an upgrade (a version-1 manifest has no layouts) the player reports
version 0 and the server sends the manifest its new version reads, while the old one plays on.

The file keeps the manifest's signature. A player that holds a signing key (player/trust.py)
checks every manifest before it is saved, and the saved one again at start: a refused
manifest changes nothing here, and a file edited while the player was off is not played
(the player reports version 0 and the server sends the manifest again).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from player.files import atomic_write_json, read_json
from player.protocol import PROTOCOL_VERSION
from player.trust import Keyring, Refused
from playlists.model import ModelFormatError, TerminalPlan

log = logging.getLogger(__name__)
FILE_NAME = "manifest.json"
RECEIVED_BY = "received_by"  # our note in the saved file: the protocol it came under


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed manifest: what the server sent in a HELLO/SYNC ack."""

    version: int
    terminal: dict[str, Any]
    plan: TerminalPlan
    blobs: dict[str, dict[str, Any]]  # sha256 -> {"sha256", "size", "mime"}
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.terminal.get("name") or f"#{self.terminal.get('id', '?')}")

    @property
    def size(self) -> tuple[int, int] | None:
        w, h = self.terminal.get("width"), self.terminal.get("height")
        return (w, h) if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0 else None

    @classmethod
    def from_dict(cls, d: Any) -> Manifest:
        """Parse and check a manifest; raises ValueError (ModelFormatError) on a bad shape."""
        if not isinstance(d, dict):
            raise ModelFormatError("manifest", "expected an object")
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ModelFormatError("version", "expected an integer >= 0")
        terminal = d.get("terminal") or {}
        if not isinstance(terminal, dict):
            raise ModelFormatError("terminal", "expected an object")
        plan = TerminalPlan.from_dict(d.get("plan"), "plan")
        blobs: dict[str, dict[str, Any]] = {}
        for n, b in enumerate(d.get("blobs") or []):
            if not isinstance(b, dict) or not isinstance(b.get("sha256"), str) or not isinstance(
                    b.get("size"), int):
                raise ModelFormatError(f"blobs[{n}]", "expected {sha256, size, mime}")
            blobs[b["sha256"]] = b
        return cls(version, terminal, plan, blobs, d)


class ManifestStore:
    """Loads the saved manifest at start and saves every newer one the server sends."""

    def __init__(self, data_dir: Path, keyring: Keyring | None = None) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.keyring = keyring
        self._lock = threading.Lock()
        self.current: Manifest | None = None
        self._stale = False  # received under another protocol version
        self.load_refused: Refused | None = None  # the saved manifest failed its check

    def load(self) -> Manifest | None:
        raw = read_json(self.path)
        if raw is None:
            return None
        try:
            if self.keyring is not None:
                self.keyring.verify_manifest(raw, None, saved=True)
        except Refused as e:
            log.error("not playing the saved manifest %s: %s", self.path, e)
            self.load_refused = e
            return None
        try:
            self.current = Manifest.from_dict(raw)
            self._stale = raw.get(RECEIVED_BY) != PROTOCOL_VERSION
        except ValueError as e:
            # A file we wrote ourselves should always parse; if it does not (an older player
            # version, disk damage), waiting for the server beats crashing at every boot.
            log.warning("ignoring saved manifest %s: %s", self.path, e)
            return None
        return self.current

    @property
    def version(self) -> int:
        return self.current.version if self.current and not self._stale else 0

    def save(self, raw: dict[str, Any]) -> Manifest:
        """Check, then persist, then make current; a bad manifest raises (ValueError, or
        Refused when its signature or version fails) and changes nothing."""
        with self._lock:
            held = self.current.version if self.current else None
            endorsed = self.keyring.verify_manifest(raw, held) if self.keyring else None
            m = Manifest.from_dict(raw)
            atomic_write_json(self.path, {**raw, RECEIVED_BY: PROTOCOL_VERSION})
            self.current, self._stale = m, False
        if self.keyring is not None:
            self.keyring.learn(endorsed)
        return m
