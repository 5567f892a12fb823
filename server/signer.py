"""Who holds the private signing keys: this process (LocalSigner, the key files) or a
separate signer process reached over a Unix socket (SocketSigner), so that a deployment
can keep the private keys out of the web worker (docs/security.md "Signed content").

The socket speaks length-prefixed JSON: a 4-byte big-endian length, then the body, one
request and one answer per connection. Requests: {"op": "new_key"} -> {"ok", "public_key"};
{"op": "sign", "key_id", "statements": [base64...]} -> {"ok", "sigs": [base64...]};
failures -> {"ok": false, "error"}. Statements are signed as sent: the signer signs whatever
the web worker asks it to with the keys it holds, so it limits where a stolen key can be
used (never copied off the signer's machine), not what a hijacked worker signs meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import struct
import threading
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from player import signatures as sig

log = logging.getLogger(__name__)
MAX_MESSAGE = 64 * 1024 * 1024  # a batch of a few thousand statements is ~1 MB
KEY_ID_CHARS = frozenset("0123456789abcdef")


class SignerError(RuntimeError):
    """The signer cannot sign: the key file is missing, or the signer process is away."""


class Signer(Protocol):
    def new_key(self) -> str:
        """Make a key pair, keep the private half; the public half as base64 raw bytes."""
        ...

    def sign(self, key_id: str, statements: list[bytes]) -> list[str]:
        """The base64 signatures of `statements` by the key `key_id`, in order."""
        ...


class LocalSigner:
    """Key files `<key_dir>/<key_id>.pem` (PKCS8 PEM, mode 0600), read once and kept."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = Path(key_dir)
        self._keys: dict[str, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()

    def path(self, key_id: str) -> Path:
        if len(key_id) != 16 or not set(key_id) <= KEY_ID_CHARS:
            raise SignerError(f"not a key id: {key_id!r}")
        return self.key_dir / f"{key_id}.pem"

    def new_key(self) -> str:
        private = Ed25519PrivateKey.generate()
        public = sig.public_raw(private.public_key())
        kid = sig.key_id(public)
        self.key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        tmp = self.path(kid).with_suffix(".tmp")
        # Created 0600 (never readable by others, not even for a moment), then renamed in.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path(kid))
        with self._lock:
            self._keys[kid] = private
        return sig.b64(public)

    def _key(self, key_id: str) -> Ed25519PrivateKey:
        key = self._keys.get(key_id)
        if key is None:
            try:
                key = load_pem_private_key(self.path(key_id).read_bytes(), password=None)
            except (OSError, ValueError) as e:
                raise SignerError(f"signing key {key_id} cannot be read: {e}") from e
            if not isinstance(key, Ed25519PrivateKey):
                raise SignerError(f"signing key {key_id} is not an Ed25519 key")
            with self._lock:
                self._keys[key_id] = key
        return key

    def has(self, key_id: str) -> bool:
        try:
            return self.path(key_id).is_file()
        except SignerError:
            return False

    def sign(self, key_id: str, statements: list[bytes]) -> list[str]:
        key = self._key(key_id)
        return [sig.sign(key, st) for st in statements]


# --- the socket ---------------------------------------------------------------------


def _send(sock: socket.socket, obj: dict) -> None:
    body = json.dumps(obj, separators=(",", ":")).encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> dict:
    (n,) = struct.unpack(">I", _read_exactly(sock, 4))
    if n > MAX_MESSAGE:
        raise ConnectionError(f"message of {n} bytes is too large")
    obj = json.loads(_read_exactly(sock, n))
    if not isinstance(obj, dict):
        raise ConnectionError("a message must be a JSON object")
    return obj


class SocketSigner:
    """The client of `flask --app server signing serve --socket PATH`."""

    def __init__(self, path: str, timeout_s: float = 10.0) -> None:
        self.path = path
        self.timeout_s = timeout_s

    def _call(self, request: dict) -> dict:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout_s)
                sock.connect(self.path)
                _send(sock, request)
                answer = _receive(sock)
        except (OSError, ConnectionError, ValueError) as e:
            raise SignerError(f"signer at {self.path} did not answer: {e}") from e
        if not answer.get("ok"):
            raise SignerError(f"signer refused: {answer.get('error')}")
        return answer

    def new_key(self) -> str:
        return str(self._call({"op": "new_key"})["public_key"])

    def sign(self, key_id: str, statements: list[bytes]) -> list[str]:
        if not statements:
            return []
        sigs = self._call({"op": "sign", "key_id": key_id,
                           "statements": [sig.b64(st) for st in statements]})["sigs"]
        if not isinstance(sigs, list) or len(sigs) != len(statements):
            raise SignerError("signer answered the wrong number of signatures")
        return [str(x) for x in sigs]


def answer(signer: Signer, request: dict) -> dict:
    """One request of the socket, answered by `signer` (the key files' holder)."""
    try:
        if request.get("op") == "new_key":
            return {"ok": True, "public_key": signer.new_key()}
        if request.get("op") == "sign":
            statements = request.get("statements")
            if not isinstance(statements, list) or not all(isinstance(x, str)
                                                           for x in statements):
                return {"ok": False, "error": "statements must be a list of base64 strings"}
            return {"ok": True, "sigs": signer.sign(str(request.get("key_id")),
                                                    [sig.unb64(x) for x in statements])}
        return {"ok": False, "error": f"unknown op {request.get('op')!r}"}
    except (SignerError, ValueError) as e:
        return {"ok": False, "error": str(e)}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            request = _receive(self.request)
        except (OSError, ConnectionError, ValueError) as e:
            log.warning("signer: bad request: %s", e)
            return
        _send(self.request, answer(self.server.signer, request))  # type: ignore[attr-defined]


class SignerServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, signer: Signer) -> None:
        self.signer = signer
        if os.path.exists(path):
            os.unlink(path)  # a socket left by a signer that died
        old = os.umask(0o117)  # the socket: owner and group only (the web worker's group)
        try:
            super().__init__(path, _Handler)
        finally:
            os.umask(old)


def from_settings(settings) -> Signer:
    """The signer process when one is configured (no private key in this process), else
    the key files."""
    if settings.signer_socket:
        return SocketSigner(settings.signer_socket)
    return LocalSigner(settings.key_dir)
