"""Where a request really came from, behind a known number of trusted proxies."""

from __future__ import annotations


def forwarded_client(peer: str | None, forwarded_for: list[str], hops: int) -> str:
    """The client's address as seen by the outermost of `hops` trusted proxies.

    Each proxy appends the address it got the request from, so the entry `hops` from the right
    was written by our outermost proxy; anything left of it came from the client and may be
    forged. With no trusted proxy (or a header shorter than the chain) the direct peer is used.
    """
    if hops <= 0:
        return peer or "unknown"
    entries = [e.strip() for header in forwarded_for for e in header.split(",") if e.strip()]
    if len(entries) < hops:
        return peer or "unknown"
    return entries[-hops]
