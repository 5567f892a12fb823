"""A TCP proxy the tests can cut: the nodes reach Redis through it, so "Redis is down"
happens for them only, never for the machine's Redis that others share."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.live import free_port


class TcpProxy:
    """Forwards 127.0.0.1:port to `target`. cut() closes every connection and refuses new
    ones (as a stopped Redis would); restore() listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self.restore()

    def restore(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR
            listener.settimeout(0.2)  # accept() wakes up to notice a cut
            self._listener = listener
            self._stopped = stopped = threading.Event()
        threading.Thread(target=self._accept, args=(listener, stopped), daemon=True,
                         name=f"proxy-{self.port}").start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            self._stopped.set()
            live, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for s in live:
            _close(s)

    def _accept(self, listener: socket.socket, stopped: threading.Event) -> None:
        while not stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if stopped.is_set():  # cut while connecting
                    _close(client)
                    _close(upstream)
                    return
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        _close(src)
        _close(dst)
        with self._lock:
            self._sockets -= {src, dst}


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv()
    s.close()
