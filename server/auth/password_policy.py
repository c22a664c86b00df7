"""The password policy: a minimum length, and none of the passwords guessing lists try first."""

from __future__ import annotations

import functools
from importlib import resources

from ..core.errors import invalid

MAX_PASSWORD_LENGTH = 1024


@functools.cache
def common_passwords() -> frozenset[str]:
    """The list shipped with the code (common_passwords.txt), lower-cased."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_password(password: str, *, min_length: int, email: str | None = None) -> None:
    """Raise validation_failed (field "password") when the password may not be used."""
    if len(password) < min_length:
        raise invalid(f"a password has at least {min_length} characters", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid(f"a password has at most {MAX_PASSWORD_LENGTH} characters", field="password")
    if "\x00" in password:
        raise invalid("a password cannot contain NUL characters", field="password")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 3:
        raise invalid("this password is too easy to guess; choose another", field="password")
    if email and lowered in {email.lower(), email.lower().split("@", 1)[0]}:
        raise invalid("a password cannot be your email address", field="password")
