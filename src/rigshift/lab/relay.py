"""Carry a lab's package traffic from its gateway address to the machine's package cache.

Every lab uses its site's own addresses (198.18.0.0/24 for inventories/lab), so several labs
share the same addresses and no route in the machine's namespace could tell their hosts apart.
This relay is how one package cache serves them all: it listens on the lab gateway's address
*inside the lab's switch namespace* (so hosts see a site-local cache at their gateway, as a
remote site with a poor uplink would have) and forwards each connection to the cache on the
machine's loopback. A socket keeps the namespace it was created in, so the relay enters the
lab's namespace only to open its listening socket.

Run as: python -m rigshift.lab.relay NETNS_PATH LISTEN_ADDRESS PORT TARGET_PORT
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
import sys
import threading
from typing import cast

CLONE_NEWNET = 0x40000000
# A connection with no traffic either way for this long is closed (apt retries on its own).
IDLE_SECONDS = 60


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def serve(client: socket.socket, target_port: int) -> None:
    """Carry one connection both ways until either end closes or it sits idle too long.

    Whichever end closes, both are closed at once: the relay never keeps half a connection
    open (apt was once seen waiting minutes on a connection whose other end was gone).
    """
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
    except OSError:
        client.close()
        return
    peer = {client: upstream, upstream: client}
    with client, upstream, selectors.DefaultSelector() as selector, contextlib.suppress(OSError):
        for sock in peer:
            # A peer that stops reading cannot block a send for longer than the idle limit.
            sock.settimeout(IDLE_SECONDS)
            selector.register(sock, selectors.EVENT_READ)
        while ready := selector.select(timeout=IDLE_SECONDS):
            for key, _ in ready:
                sock = cast(socket.socket, key.fileobj)
                data = sock.recv(65536)
                if not data:
                    return
                peer[sock].sendall(data)


def main(argv: list[str]) -> None:
    netns, address, port, target_port = argv
    # The thread that opens the listener must be the one that switches namespace; do it before
    # any other thread exists, and keep the process itself in the machine's namespace.
    root_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    lab_ns = os.open(netns, os.O_RDONLY)
    _setns(lab_ns)
    server = socket.create_server((address, int(port)), backlog=64)
    _setns(root_ns)
    os.close(root_ns)
    os.close(lab_ns)
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client, int(target_port)), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
