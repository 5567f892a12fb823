from __future__ import annotations

import hashlib
import io

import pytest

from content import BlobStore, ContentError
from content.blobstore import CHUNK_SIZE
from tests.media import CountingStream, stored_files


def test_commit_moves_to_content_address(store: BlobStore) -> None:
    data = b"hello signage" * 1000
    with store.ingest_stream(io.BytesIO(data), max_bytes=10**6) as pending:
        assert pending.size == len(data)
        assert pending.sha256 == hashlib.sha256(data).hexdigest()
        final = pending.commit()
    sha = hashlib.sha256(data).hexdigest()
    assert final == store.root / sha[:2] / sha[2:4] / sha
    assert final.read_bytes() == data
    assert store.exists(sha) and store.size(sha) == len(data)
    with store.open(sha) as fh:
        assert fh.read() == data
    assert stored_files(store) == [final]


def test_uncommitted_blob_is_discarded(store: BlobStore) -> None:
    with store.ingest_stream(io.BytesIO(b"x" * 5000), max_bytes=10**6) as pending:
        assert pending.tmp_path.exists()
    assert not pending.tmp_path.exists()
    assert stored_files(store) == []


def test_same_bytes_twice_keeps_one_file(store: BlobStore) -> None:
    for _ in range(2):
        with store.ingest_stream(io.BytesIO(b"same"), max_bytes=100) as pending:
            pending.commit()
    assert len(stored_files(store)) == 1


def test_too_large_stops_reading_early(store: BlobStore) -> None:
    limit = 3 * CHUNK_SIZE + 5
    stream = CountingStream(total=None)  # endless: only an early stop can end this test
    with pytest.raises(ContentError) as exc:
        store.ingest_stream(stream, max_bytes=limit)
    assert exc.value.code == "too_large"
    assert exc.value.params["limit_bytes"] == limit
    assert exc.value.params["received_bytes"] == limit + 1
    assert stream.bytes_read == limit + 1  # not one chunk more than needed
    assert stream.largest_read <= CHUNK_SIZE
    assert stored_files(store) == []


def test_exactly_at_limit_is_accepted(store: BlobStore) -> None:
    with store.ingest_stream(CountingStream(total=2000), max_bytes=2000) as pending:
        assert pending.size == 2000


@pytest.mark.parametrize(
    "bad",
    ["../../etc/passwd", "A" * 64, "a" * 63, "g" * 64, "a" * 64 + "\n", "", "a" * 62 + "/."],
)
def test_path_rejects_anything_but_lowercase_hex(store: BlobStore, bad: str) -> None:
    with pytest.raises(ContentError) as exc:
        store.path(bad)
    assert exc.value.code == "invalid_sha256"


def test_delete_and_missing(store: BlobStore) -> None:
    with store.ingest_stream(io.BytesIO(b"bye"), max_bytes=100) as pending:
        pending.commit()
    sha = pending.sha256
    assert store.delete(sha) is True
    assert store.delete(sha) is False
    with pytest.raises(ContentError) as exc:
        store.open(sha)
    assert exc.value.code == "blob_not_found"
