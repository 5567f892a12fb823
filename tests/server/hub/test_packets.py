"""The Socket.IO packets' JSON module (server/hub/packets.py)."""

import json

from server.hub import packets


def test_packets_round_trip_and_write_chinese_as_utf8():
    data = {"text": "台风预警：请关好门窗", "n": [1, 2.5, None, True], "nested": {"a": "b"}}
    text = packets.dumps(data, separators=(",", ":"))
    assert "台风预警" in text and "\\u" not in text and ", " not in text
    assert packets.loads(text) == data == json.loads(text)


def test_what_orjson_cannot_write_is_written_by_json():
    text = packets.dumps({"free_disk_bytes": 2**64})
    assert json.loads(text) == {"free_disk_bytes": 2**64}
    # read back as a float, which the protocol's checks refuse as a byte count
    assert isinstance(packets.loads(text)["free_disk_bytes"], float)


def test_payloads_without_bytes_are_plain_packets_and_bytes_anywhere_are_found():
    manifest = {"plan": {"schedules": [{"items": [{"sha256": "a" * 64, "s": 10.0}] * 50}]},
                "blobs": [{"size": 2**40, "mime": "image/png"}] * 30, "none": None}
    assert packets.Packet.data_is_binary(manifest) is False
    assert packets.Packet.data_is_binary("text") is False
    assert packets.Packet.data_is_binary(None) is False
    for holds_bytes in (b"x", bytearray(b"x"), {"a": [1, {"b": b"png"}]}, [None, [b"x"]],
                        {"big": 2**64, "png": b"x"}):
        assert packets.Packet.data_is_binary(holds_bytes) is True
    # What orjson refuses without bytes (an integer beyond 64 bits) is walked: not binary.
    assert packets.Packet.data_is_binary({"free_disk_bytes": 2**64}) is False
    # Encoded as python-socketio would: an event stays a text packet, bytes go attached.
    assert packets.Packet(packets.packet.EVENT, ["sync", manifest]).encode()[0] == "2"
    encoded = packets.Packet(packets.packet.EVENT, ["shot", {"png": b"x"}]).encode()
    assert encoded[0].startswith("51-") and encoded[1] == b"x"


def test_the_server_sends_its_packets_with_this_class(app):
    from server.extensions import socketio

    assert socketio.server.packet_class is packets.Packet
    assert packets.Packet.json is packets
