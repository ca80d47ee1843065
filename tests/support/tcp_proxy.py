"""A TCP proxy in front of a real server that can lose a reply after the server acted on it.

A client that sees a ConnectionError cannot tell "never arrived" from "done, answer lost";
only the second makes a blind retry run a command twice. `drop_after_next_reply()` produces
exactly that case on demand, against the real server, so a test can show what a retry does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

CHUNK_BYTES = 65536
ACCEPT_POLL_S = 0.1
CONNECT_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 5.0


class _Link:
    """One client connection and its upstream twin; the last pump to finish closes both."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self._lock = threading.Lock()
        self._pumps_running = 2

    def cut(self) -> None:
        """Shut both sockets down: each pump's recv returns, and the client sees the close."""
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def pump_finished(self) -> bool:
        """Close the sockets once both directions are done (never under a pump still reading)."""
        with self._lock:
            self._pumps_running -= 1
            if self._pumps_running:
                return False
        self.client.close()
        self.upstream.close()
        return True


class TcpProxy:
    """Listens on 127.0.0.1 (a free port) and forwards each connection to `target`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.replies_dropped = 0
        self._lock = threading.Lock()
        self._drop_armed = False
        self._stopping = threading.Event()
        self._links: set[_Link] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(ACCEPT_POLL_S)
        self._port = int(self._listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"proxy-{self._port}", daemon=True)

    @property
    def port(self) -> int:
        return self._port

    def url_for(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self._port}/{db}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._links)

    def start(self) -> TcpProxy:
        self._acceptor.start()
        return self

    def drop_after_next_reply(self) -> None:
        """One shot: swallow the next reply any server connection sends, and close that connection.

        Arm it after the client's connection handshake (a PING will do), or the handshake's
        reply is the one lost.
        """
        with self._lock:
            self._drop_armed = True

    def cut_all(self) -> None:
        """Close every open connection; new ones are still accepted."""
        with self._lock:
            links = list(self._links)
        for link in links:
            link.cut()

    def stop(self) -> None:
        """Stop accepting, cut every connection and wait for every thread: no socket outlives it."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux at once
        if self._acceptor.is_alive():
            self._acceptor.join(JOIN_TIMEOUT_S)
        self._listener.close()
        self.cut_all()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(JOIN_TIMEOUT_S)

    def __enter__(self) -> TcpProxy:
        return self if self._acceptor.is_alive() else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT_S)
            except OSError:
                client.close()  # the client sees the same refusal the server gave us
                continue
            self._serve(_Link(client, upstream))

    def _serve(self, link: _Link) -> None:
        for sock in (link.client, link.upstream):
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pumps = [
            threading.Thread(target=self._pump, args=(link, link.client, link.upstream, False), daemon=True),
            threading.Thread(target=self._pump, args=(link, link.upstream, link.client, True), daemon=True),
        ]
        with self._lock:
            self._links.add(link)
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            self._threads.extend(pumps)
        for pump in pumps:
            pump.start()

    def _pump(self, link: _Link, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while True:
                data = source.recv(CHUNK_BYTES)
                if not data or (from_server and self._take_drop()):
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            link.cut()
            if link.pump_finished():
                with self._lock:
                    self._links.discard(link)

    def _take_drop(self) -> bool:
        with self._lock:
            if not self._drop_armed:
                return False
            self._drop_armed = False
            self.replies_dropped += 1
            return True
