"""The lab's package relay on loopback: bytes pass both ways, and it never keeps half a
connection open (apt once waited minutes on a connection whose other end was gone)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from rigshift.lab.relay import serve


@pytest.fixture
def cache() -> Iterator[socket.socket]:
    """A stand-in package cache on loopback: answers one request, then closes the connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            request = conn.recv(1024)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" if request else b"")

    threading.Thread(target=answer, daemon=True).start()
    yield server
    server.close()


def test_a_request_and_its_answer_pass_and_the_cache_closing_closes_the_client(
    cache: socket.socket,
) -> None:
    apt, relayed = socket.socketpair()
    relay = threading.Thread(target=serve, args=(relayed, cache.getsockname()[1]), daemon=True)
    relay.start()
    apt.settimeout(10)
    apt.sendall(b"GET /debian/dists/bookworm/InRelease HTTP/1.1\r\n\r\n")
    received = b""
    while chunk := apt.recv(1024):  # ends only when the relay closes its side
        received += chunk
    assert received.endswith(b"\r\n\r\nok")
    relay.join(timeout=10)
    assert not relay.is_alive()
    apt.close()


def test_a_client_with_no_cache_behind_the_relay_is_closed_at_once() -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()  # nothing listens there now
    apt, relayed = socket.socketpair()
    serve(relayed, port)
    apt.settimeout(10)
    assert apt.recv(1024) == b""
    apt.close()
