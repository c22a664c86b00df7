"""Redis-backed state: key formats, presence, rate limits (and the routing queue)."""
