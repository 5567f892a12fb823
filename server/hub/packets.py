"""How Socket.IO packets are encoded: orjson (`socketio.init_app(json=...)`), and a
packet class that finds out cheaply that a payload holds no bytes
(`socketio.init_app(serializer=Packet)`).

Every answer to a terminal's `sync` is a manifest of several kilobytes, and the standard
library took longer to encode a fleet's manifests than the server took to build them.
orjson is several times faster, and writes Chinese text as UTF-8 instead of six-byte
\\u escapes. (It reads an integer beyond 64 bits as a float: the protocol's checks refuse
either.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from socketio import packet


def dumps(obj: Any, **_options: Any) -> str:
    # python-socketio asks for compact separators; orjson's output is compact already.
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson cannot write (an integer beyond 64 bits) json can
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes, **_options: Any) -> Any:
    return orjson.loads(text)


class Packet(packet.Packet):
    """python-socketio looks for bytes in every outgoing payload (to send them as
    attachments) by walking it in Python, building a list per dict and list. A sync
    answer carries a manifest of a few hundred values, and in a manifest round to 1,000
    terminals that walk was 8 % of the worker's samples (py-spy). orjson refuses bytes,
    so a payload it can encode holds none; only one it refuses is walked."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        if data is None or isinstance(data, str):
            return False
        try:
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # bytes somewhere, or what orjson cannot write: walk it
            return packet.Packet.data_is_binary.__func__(packet.Packet, data)
        return False
