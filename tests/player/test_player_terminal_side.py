"""Terminal's own logic without a network: download order, commands, payloads."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from PIL import Image
from player_helpers import fake_sha, item, plan, playlist, sched, utc

from player.protocol import ProtocolError, check_hello, check_status
from player.terminal import Terminal


@pytest.fixture
def term(tmp_path):
    t = Terminal("http://127.0.0.1:9", tmp_path / "data", credential="c", size=(64, 32),
                 quota_bytes=10_000)
    yield t
    t.stop(flush_timeout_s=0)


def test_blobs_needed_soon_are_downloaded_first(term) -> None:
    now = utc(2026, 3, 2, 8, 0)
    p = plan(sched(1, playlist(item(1, 10)), windows=(("20:00", "21:00"),)),  # tonight
             sched(2, playlist(item(2, 10), pid=2), windows=(("08:00", "09:00"),)),  # now
             fallback=playlist(item(3, 10), pid=900))
    raw = {"version": 1, "terminal": {"id": 1, "name": "T", "width": 64, "height": 32},
           "plan": p.to_dict(),
           "blobs": [{"sha256": fake_sha(n), "size": n, "mime": "image/png"}
                     for n in (4, 1, 3, 2)],  # 4: not in the plan (a later item, say)
           "generated_at": "2026-03-02T00:00:00Z"}
    m = term.apply_manifest(raw)
    order = [s for s, _ in term.wanted_blobs(m, now)]
    # now + fallback (within the hour), then tonight (within the day), then the rest
    assert order[:2] == sorted([fake_sha(2), fake_sha(3)])
    assert order[2:] == [fake_sha(1), fake_sha(4)]
    assert dict(term.wanted_blobs(m, now + timedelta(hours=12)))[fake_sha(4)] == 4


def test_commands_validate_their_arguments(term) -> None:
    assert term.run_command("screen", {"on": "yes"})[0] is False
    assert term.run_command("brightness", {"level": 101})[0] is False
    assert term.run_command("brightness", {"level": True})[0] is False
    assert term.run_command("screen", {"on": False}) == (True, {"on": False})
    assert term.run_command("brightness", {"level": None}) == (True, {"brightness": None})
    assert term.run_command("nope", {})[0] is False
    ok, res = term.run_command("screenshot", {"max_side": 32})
    img = Image.open(io.BytesIO(base64.b64decode(res["png_base64"])))
    assert ok and img.size == (32, 16) == (res["width"], res["height"])


def test_payloads_follow_the_protocol(term) -> None:
    check_hello(term.hello_payload())
    check_status(term.status_payload())
    assert term.status_payload()["cache_ready"] is False  # no manifest yet


def test_status_says_the_accepted_manifest_and_how_far_its_files_are(term) -> None:
    import hashlib

    data = b"x" * 1000
    sha = hashlib.sha256(data).hexdigest()
    raw = {"version": 7, "terminal": {"id": 1, "name": "T", "width": 64, "height": 32},
           "plan": plan(sched(1, playlist(item(1, 10)))).to_dict(),
           "blobs": [{"sha256": sha, "size": len(data), "mime": "image/png"}],
           "generated_at": "2026-03-02T00:00:00Z"}
    assert term.status_payload()["manifest_version"] == 0  # nothing accepted yet
    term.apply_manifest(raw)
    status = term.status_payload()
    check_status(status)
    assert (status["manifest_version"], status["cache_ready"], status["download_percent"]) == (
        7, False, 0)
    term.cache.path(sha).with_name(sha + ".part").write_bytes(data[:400])  # a cut download
    assert term.status_payload()["download_percent"] == 40
    term.cache.path(sha).write_bytes(data)
    status = term.status_payload()
    assert (status["cache_ready"], status["download_percent"]) == (True, None)
    for bad in ({"download_percent": 101}, {"manifest_version": "7"}):
        with pytest.raises(ProtocolError):
            check_status({**status, **bad})
