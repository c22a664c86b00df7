"""Credentials: signed tokens and password hashes."""
