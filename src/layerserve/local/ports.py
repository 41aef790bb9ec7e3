"""Is a TCP port free to listen on? Asked before the local stack touches anything."""

from __future__ import annotations

import socket
import sys


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


def main(argv: list[str]) -> int:
    """``python -m layerserve.local.ports NAME=HOST:PORT ...``: exit 1 with one line on
    stderr for the first taken port, naming the setting to change (``make run`` asks this
    before it prints or writes anything)."""
    for setting in argv:
        name, _, address = setting.partition("=")
        host, _, port = address.rpartition(":")
        if port_in_use(host, int(port)):
            message = f"error: port {port} on {host} is in use; choose another {name}="
            sys.stderr.write(message + "\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
