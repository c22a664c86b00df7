"""Zero-config embedded PostgreSQL and Valkey servers, run as child processes."""

from server.embedded.postgres import EmbeddedPostgres, EmbeddedPostgresError
from server.embedded.valkey import EmbeddedValkey, EmbeddedValkeyError

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "EmbeddedValkey", "EmbeddedValkeyError"]
