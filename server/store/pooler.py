"""Transaction-mode poolers (PgBouncer; Supabase's on port 6543): detection, DSN clean-up."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Supabase's pooler listens in transaction mode on 6543 (session mode stays on 5432).
TRANSACTION_POOLER_PORT = 6543
POOLER_MODES = ("auto", "transaction", "none")
# A hint some tools put in the URL; asyncpg would send it to the server as a setting.
_HINT = "pgbouncer"


def resolve_pooler(dsn: str, mode: str) -> tuple[str, bool]:
    """Return the DSN to connect with and whether it goes through a transaction-mode pooler.

    `auto` says yes for port 6543 or a `pgbouncer=true` query parameter. Through such a
    pooler every transaction may run on another server connection, so nothing prepared by
    name, set for the session or locked for the session survives between two of them.
    """
    if mode not in POOLER_MODES:
        raise ValueError(f"pooler mode must be one of {', '.join(POOLER_MODES)}: {mode!r}")
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    hinted = any(key == _HINT and value.lower() in ("1", "true") for key, value in query)
    if any(key == _HINT for key, _ in query):
        parts = parts._replace(query=urlencode([(k, v) for k, v in query if k != _HINT]))
        dsn = urlunsplit(parts)
    if mode != "auto":
        return dsn, mode == "transaction"
    return dsn, hinted or _port(parts.netloc) == TRANSACTION_POOLER_PORT


def _port(netloc: str) -> int | None:
    host = netloc.rpartition("@")[2]
    if "," in host:  # several hosts: every one must be the pooler's port
        ports = {_port(h) for h in host.split(",")}
        return ports.pop() if len(ports) == 1 else None
    _, colon, port = host.rpartition(":")
    if not colon or "]" in port or not port.isdigit():
        return None
    return int(port)
