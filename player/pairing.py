"""Pairing: a terminal without a credential asks the server for a code, shows it on screen,
and polls until staff enter the code in the web UI; then it stores the credential (0600).

Server answers (player/protocol.py): POST PAIRING_PATH -> {code, poll_token, expires_at};
GET PAIRING_POLL_PATH -> 202 while waiting, 200 {credential, keys?} once paired; anything
else (404/410: expired or unknown) means "ask for a new code". `keys` ([{key_id,
public_key}]: the street's signing key, during a rotation also the next) go to `on_keys`
(player/trust.py Keyring.replace) before the credential is stored, so a screen is never
left paired without the keys it was given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from player import PLAYER_VERSION
from player.files import atomic_write_bytes
from player.protocol import PAIRING_PATH, PAIRING_POLL_PATH

log = logging.getLogger(__name__)
CREDENTIAL_FILE = "credential"


def load_credential(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


def save_credential(path: Path, credential: str) -> None:
    atomic_write_bytes(path, credential.encode() + b"\n", mode=0o600)


class PairingCancelled(Exception):
    pass


def pair(server_url: str, credential_path: Path, *, show: Callable[[str], None],
         stop: threading.Event, terminal: dict[str, Any] | None = None,
         poll_s: float = 3.0, retry_s: float = 10.0,
         session: requests.Session | None = None,
         on_keys: Callable[[list[Any]], Any] | None = None) -> str:
    """Run pairing until it succeeds (returns the credential) or `stop` is set (raises)."""
    own = session is None
    http = session or requests.Session()
    try:
        return _pair(http, server_url.rstrip("/"), credential_path, show=show, stop=stop,
                     terminal=terminal, poll_s=poll_s, retry_s=retry_s, on_keys=on_keys)
    finally:
        if own:
            http.close()


def _pair(http: requests.Session, base: str, credential_path: Path, *,
          show: Callable[[str], None], stop: threading.Event, terminal: dict[str, Any] | None,
          poll_s: float, retry_s: float,
          on_keys: Callable[[list[Any]], Any] | None = None) -> str:
    while not stop.is_set():
        try:
            r = http.post(base + PAIRING_PATH, json={"player_version": PLAYER_VERSION,
                                                    **(terminal or {})}, timeout=15)
            r.raise_for_status()
            offer = r.json()
            code, token = str(offer["code"]), str(offer["poll_token"])
        except (requests.RequestException, ValueError, KeyError) as e:
            log.warning("pairing: cannot get a code: %s", e)
            stop.wait(retry_s)
            continue
        show(code)
        log.info("pairing code %s", code)
        while not stop.wait(poll_s):
            try:
                r = http.get(base + PAIRING_POLL_PATH.format(poll_token=token), timeout=15)
            except requests.RequestException as e:
                log.warning("pairing: poll failed: %s", e)
                continue
            if r.status_code == 202:
                continue
            if r.status_code == 200:
                try:
                    answer = r.json()
                    credential = str(answer["credential"])
                except (ValueError, KeyError, TypeError):
                    log.warning("pairing: 200 without a credential")
                    continue
                if on_keys is not None and answer.get("keys") is not None:
                    on_keys(answer["keys"])  # a server from before signing sends none
                save_credential(credential_path, credential)
                return credential
            log.info("pairing: code no longer valid (HTTP %s); asking for a new one",
                     r.status_code)
            break
    raise PairingCancelled
