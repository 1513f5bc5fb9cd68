"""``request_timing``: one request taken apart, client side (what ``curl -w`` prints) and server
side (its ``Server-Timing`` header)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from labkit.display import TableView, TextView
from labkit.errors import LoadError
from labkit.timing.phases import parse_server_timing

CLIENT_PHASES = ("dns", "connect", "tls", "ttfb", "transfer")


@dataclass(repr=False)
class RequestTiming(TextView):
    """Phases of one request in milliseconds; ``tls`` is None for plain http."""

    url: str
    status: int
    client: dict[str, float | None]
    total_ms: float
    server: dict[str, float] = field(default_factory=dict)
    bytes_received: int = 0

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {"side": "client", "phase": name, "ms": value}
            for name, value in self.client.items()
            if value is not None
        ]
        rows.append({"side": "client", "phase": "total", "ms": self.total_ms})
        rows += [{"side": "server", "phase": k, "ms": v} for k, v in self.server.items()]
        return pd.DataFrame(rows)

    def plot(self, ax: Any = None) -> Any:
        """A waterfall of the client phases with the server's own phases underneath."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 2.6))
        left = 0.0
        for name in CLIENT_PHASES:
            value = self.client.get(name)
            if value is None:
                continue
            ax.barh("client", value, left=left, label=name)
            left += value
        server_left = (self.client.get("dns") or 0) + (self.client.get("connect") or 0)
        server_left += self.client.get("tls") or 0
        for name, value in self.server.items():
            if name != "total":
                ax.barh("server", value, left=server_left, label=f"server {name}", hatch="//")
                server_left += value
        if "total" in self.server:
            ax.barh("server total", self.server["total"], left=server_left - sum(
                v for k, v in self.server.items() if k != "total"
            ), color="grey", alpha=0.4)  # fmt: skip
        ax.set_xlabel("milliseconds")
        ax.set_title(f"{self.url} — {self.total_ms:.2f} ms")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=4, fontsize="small")
        return ax

    def __str__(self) -> str:
        client = ", ".join(f"{k} {v:.2f}" for k, v in self.client.items() if v is not None)
        server = ", ".join(f"{k} {v:.2f}" for k, v in self.server.items()) or "no Server-Timing"
        return (
            f"{self.url} → {self.status} in {self.total_ms:.2f} ms\n"
            f"  client (ms): {client}\n  server (ms): {server}"
        )

    def _repr_html_(self) -> str:
        return f"<pre>{self}</pre>" + TableView(self.to_frame(), index=False)._repr_html_()


async def request_timing(
    url: str,
    *,
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> RequestTiming:
    """Time one GET on a fresh connection: DNS, connect, TLS, time to first byte, transfer."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadError(f"not an http(s) URL: {url!r}")
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            t0 = clock()
            infos = await loop.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
            t_dns = clock()
            reader, writer = await asyncio.open_connection(str(infos[0][4][0]), port)
            t_connect = clock()
            t_tls = t_connect
            if secure:
                await writer.start_tls(ssl.create_default_context(), server_hostname=parts.hostname)
                t_tls = clock()
            writer.write(request)
            await writer.drain()
            first = await reader.read(1)
            t_first = clock()
            rest = await reader.read()
            t_done = clock()
            writer.close()
    except TimeoutError:
        raise LoadError(f"{url} did not answer within {timeout:g} s") from None
    except (OSError, ssl.SSLError) as exc:
        raise LoadError(f"cannot reach {url}: {exc}") from None
    raw = first + rest
    head, _, body = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(head_lines[0].split()[1])
    except (IndexError, ValueError):
        raise LoadError(f"{url} did not answer with HTTP") from None
    response_headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head_lines[1:])
    }
    ms = 1000.0
    return RequestTiming(
        url=url,
        status=status,
        client={
            "dns": (t_dns - t0) * ms,
            "connect": (t_connect - t_dns) * ms,
            "tls": (t_tls - t_connect) * ms if secure else None,
            "ttfb": (t_first - t_tls) * ms,
            "transfer": (t_done - t_first) * ms,
        },
        total_ms=(t_done - t0) * ms,
        server=parse_server_timing(response_headers.get("server-timing", "")),
        bytes_received=len(body),
    )
