"""CPU-heavy work in job workers, end to end: a real gunicorn server (gevent worker, its
job pool started in post_worker_init) with a small job memory limit refuses an image
whose decoding needs more, through the real upload endpoint, and stays up."""

from __future__ import annotations

import io
import re

import pytest
import requests
from PIL import Image

from tests import live
from tests.conftest import clean_database
from tests.media import gif_on_canvas, image_bytes

# SQLite only (tests/conftest.py, one_database): the job pool's memory and decode limits in a
# live server; no query is involved in the refusal.
pytestmark = pytest.mark.one_database


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    clean_database(database_url)
    # The limits are the server's settings alone: the demo street is the copy other modules'
    # servers made (live.prepare), not a seed of its own.
    srv = live.start(database_url, tmp_path_factory.mktemp("jobs"),
                     serve_env={"SIGNAGE_JOB_MEMORY_MB": "64", "SIGNAGE_JOB_WORKERS": "1"})
    yield srv
    try:
        srv.stop()
    finally:
        clean_database(database_url)


def _uploader(url: str):
    s = live.login(url)
    page = s.get(url + "/content/upload", timeout=10).text
    token = page.split('data-csrf="')[1].split('"')[0]
    topic = re.search(r'name="topic_id"[^>]*>\s*<option[^>]*value="(\d+)"', page).group(1)

    def upload(data: bytes, name: str) -> requests.Response:
        return s.post(url + "/content/upload", params={"title": name, "topic_id": topic},
                      data=data, timeout=120,
                      headers={"X-CSRFToken": token, "X-Filename": name,
                               "Content-Type": "application/octet-stream"})

    return s, upload


def _flat_png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_an_upload_over_the_job_memory_limit_is_refused_and_the_server_stays_up(server):
    s, upload = _uploader(server.url)
    node = s.get(server.url + "/healthz", timeout=10).json()["node"]
    # 36 megapixels (under the 40 MP limit), a few kB on disk: decoding needs ~108 MB.
    r = upload(_flat_png(6000, 6000), "huge.png")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "job_memory"
    assert "处理所需内存超过 64 MB 的上限" in r.json()["error"]["message"]

    health = s.get(server.url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["node"] == node  # same worker
    assert set(health.json()["loop_lag_ms"]) == {"current", "worst", "p99"}
    assert health.json()["loop_lag_ms"]["worst"] is not None
    # The pool replaced its worker: the next upload is examined and stored.
    r = upload(image_bytes("PNG", 320, 160), "poster.png")
    assert r.status_code == 201, r.text


def test_an_animation_over_the_decode_budget_is_refused_by_the_live_server(server):
    _s, upload = _uploader(server.url)
    r = upload(gif_on_canvas(2000, 2000, 300), "big.gif")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "image_over_decode_budget"
