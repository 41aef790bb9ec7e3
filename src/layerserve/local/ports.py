"""Is a TCP port free to listen on? Asked before the local stack touches anything."""

from __future__ import annotations

import socket


def port_in_use(host: str, port: int) -> bool:
    """``True`` when something listens on ``host:port`` (a port in TIME_WAIT counts as free,
    as it does for uvicorn and the AWS emulator, which both set ``SO_REUSEADDR``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
