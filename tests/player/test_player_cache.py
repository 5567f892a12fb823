from __future__ import annotations

import os
import random

import pytest
import requests
from player_helpers import BlobServer

from player.cache import BlobCache, DownloadError


def blob(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def server():
    with BlobServer() as s:
        yield s


_caches: list[BlobCache] = []


@pytest.fixture(autouse=True)
def _close_caches():
    yield
    while _caches:
        _caches.pop().close()


def cache(tmp_path, server: BlobServer, **kw) -> BlobCache:
    c = BlobCache(tmp_path / "blobs", server_url=server.url, credential="secret", **kw)
    _caches.append(c)
    return c


def test_download_verifies_and_counts_bytes(tmp_path, server) -> None:
    data = blob(300_000)
    h = server.add(data)
    c = cache(tmp_path, server)
    assert not c.ready(h)
    assert c.fetch(h, len(data))
    assert c.ready(h) and c.path(h).read_bytes() == data
    assert c.bytes_downloaded == len(data) == server.bytes_sent
    assert server.requests[0]["auth"] == "Bearer secret"
    assert c.fetch(h, len(data))  # already here: no second request
    assert len(server.requests) == 1


def test_wrong_credential_is_an_error_and_nothing_is_kept(tmp_path, server) -> None:
    h = server.add(blob(1000))
    c = BlobCache(tmp_path / "blobs", server_url=server.url, credential="wrong")
    _caches.append(c)
    with pytest.raises(DownloadError, match="401"):
        c.fetch(h, 1000)
    assert not c.ready(h) and c.cached() == []


def test_cut_download_resumes_with_a_range_request(tmp_path, server) -> None:
    data = blob(500_000, seed=2)
    h = server.add(data)
    server.cut_after[h] = 200_000
    c = cache(tmp_path, server)
    with pytest.raises((requests.RequestException, DownloadError)):
        c.fetch(h, len(data))
    part = c.path(h).with_name(h + ".part")
    assert part.stat().st_size == 200_000
    assert not c.ready(h)  # a partial file is never ready
    assert c.fetch(h, len(data))
    assert server.requests[-1]["range"] == "bytes=200000-"
    assert c.path(h).read_bytes() == data and not part.exists()
    # only the missing part was sent again: bytes on the wire == unique bytes needed
    assert c.bytes_downloaded == len(data) == server.bytes_sent


def test_corrupt_download_is_refused_then_fetched_again(tmp_path, server) -> None:
    data = blob(50_000, seed=3)
    h = server.add(data)
    server.corrupt_once.add(h)
    c = cache(tmp_path, server)
    with pytest.raises(DownloadError, match="hash"):
        c.fetch(h, len(data))
    assert not c.ready(h) and c.cached() == [] and c.refused == 1
    assert c.fetch(h, len(data))
    assert c.path(h).read_bytes() == data
    assert c.bytes_downloaded == 2 * len(data)


def test_corrupted_on_disk_is_not_used_and_refetched(tmp_path, server) -> None:
    data = blob(20_000, seed=4)
    h = server.add(data)
    c = cache(tmp_path, server)
    c.fetch(h, len(data))
    raw = bytearray(c.path(h).read_bytes())
    raw[100] ^= 1
    c.path(h).write_bytes(bytes(raw))
    fresh = cache(tmp_path, server)  # a new run hashes before first use
    assert not fresh.ready(h)
    assert not c.path(h).exists()
    assert fresh.sync([(h, len(data))]) == {}
    assert fresh.ready(h) and fresh.path(h).read_bytes() == data


def test_partial_file_under_final_name_is_not_ready(tmp_path, server) -> None:
    data = blob(10_000, seed=5)
    h = server.add(data)
    c = cache(tmp_path, server)
    c.path(h).write_bytes(data[:5000])
    assert not c.ready(h)


def test_bigger_part_than_announced_starts_over(tmp_path, server) -> None:
    data = blob(10_000, seed=6)
    h = server.add(data)
    c = cache(tmp_path, server)
    c.path(h).with_name(h + ".part").write_bytes(blob(12_000, seed=9))
    assert c.fetch(h, len(data))
    assert server.requests[-1]["range"] is None


def test_quota_evicts_unneeded_oldest_used_first(tmp_path, server) -> None:
    a, b, d, e = (blob(1000, seed=s) for s in (10, 11, 12, 13))
    ha, hb, hd, he = (server.add(x) for x in (a, b, d, e))
    c = cache(tmp_path, server, quota_bytes=3000)
    assert c.sync([(ha, 1000), (hb, 1000), (hd, 1000)]) == {}
    # make b the least recently used, a the most
    os.utime(c.path(hb), (1_000_000, 1_000_000))
    os.utime(c.path(hd), (2_000_000, 2_000_000))
    os.utime(c.path(ha), (3_000_000, 3_000_000))
    # the new manifest needs a and e: one file must go, and it is b (oldest used)
    assert c.sync([(he, 1000), (ha, 1000)]) == {}
    assert set(c.cached()) == {ha, hd, he}
    assert c.used_bytes() <= 3000


def test_needed_files_are_never_evicted_for_others(tmp_path, server) -> None:
    xs = [blob(1000, seed=s) for s in (20, 21, 22)]
    hs = [server.add(x) for x in xs]
    c = cache(tmp_path, server, quota_bytes=2500)
    problems = c.sync([(h, 1000) for h in hs])
    assert problems == {hs[2]: "quota"}  # most urgent first; the last does not fit
    assert set(c.cached()) == {hs[0], hs[1]}


def test_clear_removes_everything(tmp_path, server) -> None:
    h = server.add(blob(100))
    c = cache(tmp_path, server)
    c.fetch(h, 100)
    c.clear()
    assert not c.ready(h) and c.cached() == []


def test_server_ignoring_range_still_gives_the_right_file(tmp_path, server) -> None:
    data = blob(30_000, seed=7)
    h = server.add(data)
    server.ignore_range = True
    c = cache(tmp_path, server)
    c.path(h).with_name(h + ".part").write_bytes(data[:1000])
    assert c.fetch(h, len(data))
    assert server.requests[-1]["range"] == "bytes=1000-"  # asked, got 200 + everything
    assert c.path(h).read_bytes() == data
    assert c.bytes_downloaded == len(data)


def test_a_file_removed_while_the_cache_is_measured_is_not_an_error(tmp_path, monkeypatch
                                                                     ) -> None:
    """The playback thread removes a cached file it finds swapped on disk while the download
    thread measures the folder: measuring and evicting skip it (a FileNotFoundError there
    once ended a player's downloads for good)."""
    c = BlobCache(tmp_path / "blobs", quota_bytes=10)
    kept = c.folder / ("a" * 64)
    kept.write_bytes(b"12345")

    class Vanishing(type(kept)):  # there when listed and checked, gone when measured
        def is_file(self) -> bool:
            return True

        def stat(self, **_kw):
            raise FileNotFoundError(self)

    listed = [kept, Vanishing(c.folder / ("b" * 64))]
    monkeypatch.setattr(type(c.folder), "iterdir", lambda self: iter(listed))
    assert c.used_bytes() == 5
    assert c.evict(room_for=100) == ["a" * 64]
