"""The uvicorn launcher marks the listening socket as TCP (uvicorn #3149)."""

from __future__ import annotations

import socket

import uvicorn.config

from labkit.app.launch import marked_as_tcp


def test_bound_socket_reports_tcp_so_accepted_sockets_get_nodelay() -> None:
    config = uvicorn.config.Config(app="labkit.app.entry:app_from_env", host="127.0.0.1", port=0)
    plain = uvicorn.config.Config.bind_socket(config)
    try:
        # the upstream behaviour this works around: protocol left at 0
        assert plain.proto == 0
    finally:
        plain.close()
    sock = marked_as_tcp(uvicorn.config.Config.bind_socket)(config)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.get_inheritable()
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        with client, accepted:
            assert accepted.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
