"""The JSON module for Socket.IO packets (`socketio.init_app(json=...)`): orjson.

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


def dumps(obj: Any, **_options: Any) -> str:
    # python-socketio asks for compact separators; orjson's output is compact already.
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson cannot write (an integer beyond 64 bits) json can
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes, **_options: Any) -> Any:
    return orjson.loads(text)
