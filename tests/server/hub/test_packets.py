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
