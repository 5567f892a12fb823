"""The chain heads exported out of the database on a schedule (and by `audit export-head`).

A copy of the heads kept elsewhere (an append-only file on another disk, or a URL that
another party stores) is what proves later that no link was removed or rewritten since:
someone who can write the database can recompute whole chains, but not the copy.
Each export is one JSON line {at, chains: {name: {seq, head}}}; the POST carries the same
body with an HMAC header when a secret is set (as the warning receipts do).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy.orm import Session

from server.services import chains
from server.services.warnings.intake import signature

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Signature-256"
POST_TIMEOUT_S = 10.0
STATUS_FILE = "chain_export.json"  # in the data directory: the last export, for the page
VERIFY_FILE = "chain_verify.json"  # and the last verification run from the page


def line(s: Session, now: datetime | None = None) -> bytes:
    """The export's body; ends the read so nothing is held while writing or posting."""
    body = chains.export_line(s, now)
    s.commit()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def append_to(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(body + b"\n")
        f.flush()
        os.fsync(f.fileno())


def post_to(url: str, body: bytes, secret: str | None) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    resp = requests.post(url, data=body, headers=headers, timeout=POST_TIMEOUT_S,
                         allow_redirects=False)
    if not 200 <= resp.status_code < 300:
        raise OSError(f"{url} answered HTTP {resp.status_code}")


def export(s: Session, *, to_file: Path | None, to_url: str | None, secret: str | None,
           status_dir: Path | None = None, now: datetime | None = None) -> dict:
    """Write and/or post the heads; returns {at, chains, targets, error} and keeps it in
    `status_dir` for the integrity page. A failure is logged and returned, not raised."""
    now = now or datetime.now(UTC)
    body = line(s, now)
    errors = []
    for target, send in ((to_file, lambda: append_to(to_file, body)),
                         (to_url, lambda: post_to(to_url, body, secret))):
        if not target:
            continue
        try:
            send()
        except (OSError, requests.RequestException) as err:
            log.warning("chain head export to %s failed: %s", target, err)
            errors.append(f"{target}: {err}")
    status = {"at": now.astimezone(UTC).isoformat(), "chains": len(json.loads(body)["chains"]),
              "targets": [str(t) for t in (to_file, to_url) if t],
              "error": "; ".join(errors)[:500] or None}
    if status_dir is not None:
        keep_status(status_dir, status)
    return status


def keep_status(status_dir: Path, status: dict, name: str = STATUS_FILE) -> None:
    status_dir.mkdir(parents=True, exist_ok=True)
    tmp = status_dir / (name + ".tmp")
    tmp.write_text(json.dumps(status, ensure_ascii=False))
    tmp.replace(status_dir / name)


def last_status(status_dir: Path, name: str = STATUS_FILE) -> dict | None:
    try:
        return json.loads((status_dir / name).read_text())
    except (OSError, ValueError):
        return None


def read_head(path: Path) -> dict:
    """An exported head from a file: its last JSON line (an export file appends them)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{path} holds no exported head")
    data = json.loads(lines[-1])
    if not isinstance(data, dict) or not isinstance(data.get("chains"), dict):
        raise ValueError(f"{path}: its last line is not an exported head")
    return data
