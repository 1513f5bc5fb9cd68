"""Start uvicorn for ``LabServer``, with its listening socket marked as TCP.

``uvicorn --workers N`` binds the listening socket itself and leaves its ``proto`` at 0;
accepted connections inherit it and asyncio then skips ``TCP_NODELAY``, so every keep-alive
request after the first waits ~40 ms for a delayed ACK (uvicorn #3149, fix proposed in #3155).
A load test with several workers would measure that stall instead of the workers. Until
uvicorn ships the fix, re-wrap the bound socket's descriptor with ``IPPROTO_TCP``.

    python -m labkit.app.launch <uvicorn arguments>
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn.config
import uvicorn.main

BindSocket = Callable[[uvicorn.config.Config], socket.socket]


def marked_as_tcp(bind_socket: BindSocket) -> BindSocket:
    """Wrap ``Config.bind_socket`` so an internet socket reports ``proto == IPPROTO_TCP``."""

    def bind_tcp_socket(config: uvicorn.config.Config) -> socket.socket:
        sock = bind_socket(config)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            inheritable = sock.get_inheritable()
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(inheritable)
        return sock

    return bind_tcp_socket


def main() -> None:
    # SIGUSR1/SIGUSR2 start and save a pyinstrument profile (labkit.load.server_profile).
    from labkit.load.server_profile import listen_for_profile_signals

    listen_for_profile_signals()
    uvicorn.config.Config.bind_socket = marked_as_tcp(uvicorn.config.Config.bind_socket)  # type: ignore[method-assign,assignment]
    uvicorn.main.main()


if __name__ == "__main__":
    main()
