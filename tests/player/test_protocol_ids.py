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
    ("id", "903f641e-779a-473b-9680-24d77567ea57\n", "UUID"),
    ("id", "not-a-uuid", "UUID"),
    ("sha256", "a" * 64 + "\n", "sha256"),
    ("sha256", "A" * 64, "sha256"),
])
def test_ids_and_hashes_with_anything_extra_are_refused(field, value, says) -> None:
    with pytest.raises(protocol.ProtocolError, match=says):
        protocol.check_play_record(_record(**{field: value}), now=T + timedelta(hours=1))


def test_an_older_players_random_uuid_is_still_accepted() -> None:
    protocol.check_play_record(_record(id=str(uuid.uuid4())), now=T + timedelta(hours=1))


# --- trust (signed manifests, docs/player.md) -------------------------------------------

def _hello(**extra) -> dict:
    return {"protocol": 2, "manifest_version": 0, "cache": [], "player_version": "x",
            "clock": "2026-11-01T08:00:00Z", **extra}


def _status(**extra) -> dict:
    return {"playing": None, "screen_on": True, "brightness": 80, "cache_ready": True,
            "free_disk_bytes": 10, "clock_offset_s": 0, "player_version": "x", **extra}


REFUSAL = {"what": "manifest", "reason": "bad_signature", "at": "2026-11-01T08:00:00Z",
           "version": 7, "sha256": None}


def test_trust_fields_are_optional_and_accepted_when_well_formed() -> None:
    protocol.check_hello(_hello())  # a player from before signing
    protocol.check_hello(_hello(trust={"key_id": None}))
    protocol.check_hello(_hello(trust={"key_id": "0123456789abcdef"}))
    protocol.check_status(_status())
    protocol.check_status(_status(trust={"key_id": None, "refused": None}))
    protocol.check_status(_status(trust={"key_id": "0123456789abcdef", "refused": REFUSAL}))
    for reason in protocol.REFUSAL_REASONS:
        for what in protocol.REFUSED_WHAT:
            protocol.check_status(_status(trust={"key_id": None, "refused": {
                **REFUSAL, "what": what, "reason": reason, "version": None,
                "sha256": "b" * 64}}))


@pytest.mark.parametrize("trust, says", [
    ("abc", "trust must be an object"),
    ({"key_id": "0123456789ABCDEF"}, "key_id"),
    ({"key_id": "0123456789abcdef\n"}, "key_id"),
    ({"key_id": "0123456789abcde"}, "key_id"),
    ({"key_id": 5}, "key_id"),
])
def test_a_bad_trust_key_id_is_refused_in_hello_and_status(trust, says) -> None:
    with pytest.raises(protocol.ProtocolError, match=says):
        protocol.check_hello(_hello(trust=trust))
    with pytest.raises(protocol.ProtocolError, match=says):
        protocol.check_status(_status(trust=trust))


@pytest.mark.parametrize("change, says", [
    ({"what": "plan"}, "what"),
    ({"reason": "forged"}, "reason"),
    ({"at": "yesterday"}, "at"),
    ({"at": None}, "at"),
    ({"version": -1}, "version"),
    ({"version": "7"}, "version"),
    ({"sha256": "B" * 64}, "sha256"),
])
def test_a_malformed_refusal_is_refused(change, says) -> None:
    with pytest.raises(protocol.ProtocolError, match=says):
        protocol.check_status(_status(trust={"key_id": None, "refused": {**REFUSAL, **change}}))
    with pytest.raises(protocol.ProtocolError, match="refused"):
        protocol.check_status(_status(trust={"key_id": None, "refused": "yes"}))
