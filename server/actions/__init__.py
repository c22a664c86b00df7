"""Every state change in Parley. Events are published only after the PostgreSQL commit."""
