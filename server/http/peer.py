"""The client's address: the TCP peer, or what a trusted reverse proxy reports.

A proxy listed in QINGLING_TRUSTED_PROXIES (Settings.trusted_proxies) appends the
address it received the request from to X-Forwarded-For. Read from the right, every
hop that is itself a trusted proxy is skipped; the first that is not is the client.
Entries to its left were written by the client and are never believed. Without a
trusted proxy in front, X-Forwarded-For is ignored: anyone can send it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection

from server.core.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: tuple[Network, ...]
) -> bool:
    return any(address in net for net in nets)


def client_address(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> str:
    """The address sign-in limits count by (PROTOCOL §12)."""
    peer = connection.client.host if connection.client else ""
    nets = _networks(settings.trusted_proxies)
    peer_ip = _ip(peer)
    if not nets or peer_ip is None or not _trusted(peer_ip, nets):
        return str(peer_ip) if peer_ip is not None else peer[:64] or "unknown"
    hops = [
        hop
        for header in connection.headers.getall("x-forwarded-for", [])
        for hop in header.split(",")
    ]
    client = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            # Garbage where an address should be: the last hop we could believe stands.
            break
        client = ip
        if not _trusted(ip, nets):
            break
    return str(client)
