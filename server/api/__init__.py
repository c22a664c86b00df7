"""REST routes, authentication of requests, and the mapping of errors to JSON."""
