from __future__ import annotations

import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from player.pairing import PairingCancelled, load_credential, pair, save_credential
from player.protocol import PAIRING_PATH, PAIRING_POLL_PATH


class PairingServer:
    """Codes expire after one poll until the `good` code; that one is confirmed at once."""

    def __init__(self, good: int = 2) -> None:
        self.offers = 0
        self.polls: list[str] = []
        self.good = good
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                assert self.path == PAIRING_PATH
                outer.offers += 1
                n = outer.offers
                self.reply(200, {"code": f"00000{n}", "poll_token": f"t{n}", "expires_at": None})

            def do_GET(self) -> None:
                token = self.path.rsplit("/", 1)[1]
                assert self.path == PAIRING_POLL_PATH.format(poll_token=token)
                outer.polls.append(token)
                if token != f"t{outer.good}":
                    self.reply(410, {"error": "expired"})
                elif outer.polls.count(token) < 2:
                    self.reply(202, {})
                else:
                    self.reply(200, {"credential": "s3cret"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_expired_code_is_replaced_and_the_credential_stored_0600(tmp_path) -> None:
    srv = PairingServer(good=2)
    shown: list[str] = []
    cred = pair(srv.url, tmp_path / "credential", show=shown.append, stop=threading.Event(),
                poll_s=0.01)
    srv.httpd.shutdown()
    srv.httpd.server_close()
    assert cred == "s3cret"
    assert shown == ["000001", "000002"]
    assert srv.polls == ["t1", "t2", "t2"]
    assert load_credential(tmp_path / "credential") == "s3cret"
    assert stat.S_IMODE(os.stat(tmp_path / "credential").st_mode) == 0o600


def test_pairing_can_be_cancelled(tmp_path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(PairingCancelled):
        pair("http://127.0.0.1:9", tmp_path / "c", show=print, stop=stop)
    assert not (tmp_path / "c").exists()


def test_credential_file_round_trip_and_blank_file(tmp_path) -> None:
    save_credential(tmp_path / "c", "abc")
    assert load_credential(tmp_path / "c") == "abc"
    (tmp_path / "blank").write_text("\n")
    assert load_credential(tmp_path / "blank") is None
    assert load_credential(tmp_path / "missing") is None
