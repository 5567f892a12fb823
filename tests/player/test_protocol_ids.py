"""Record ids are made by the player: valid UUIDs, in the order they were made (UUIDv7), so
the server's primary key grows at its end; and the checks are exact to the last character."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from player import protocol

T = datetime(2026, 11, 1, 8, tzinfo=UTC)


def test_play_ids_are_uuid7_in_the_order_they_were_made() -> None:
    ids = [protocol.new_play_id() for _ in range(2_000)]
    assert {uuid.UUID(i).version for i in ids} == {7}
    assert ids == sorted(ids)  # as stored: text, compared character by character
    assert len(set(ids)) == len(ids)


def _record(**changes) -> dict:
    rec = protocol.play_record(content_id=1, schedule_id=None, sha256="a" * 64, start=T,
                               end=T + timedelta(seconds=10))
    return {**rec, **changes}


def test_a_made_record_passes_the_servers_check() -> None:
    checked = protocol.check_play_record(_record(), now=T + timedelta(hours=1))
    assert checked["start"] == T


@pytest.mark.parametrize("field, value, says", [
    ("id", str(uuid.uuid4()) + "\n", "UUID"),
    ("id", "not-a-uuid", "UUID"),
    ("sha256", "a" * 64 + "\n", "sha256"),
    ("sha256", "A" * 64, "sha256"),
])
def test_ids_and_hashes_with_anything_extra_are_refused(field, value, says) -> None:
    with pytest.raises(protocol.ProtocolError, match=says):
        protocol.check_play_record(_record(**{field: value}), now=T + timedelta(hours=1))


def test_an_older_players_random_uuid_is_still_accepted() -> None:
    protocol.check_play_record(_record(id=str(uuid.uuid4())), now=T + timedelta(hours=1))
