"""Pure rules of accounts and limits: the password policy and rate settings."""

from __future__ import annotations

import pytest

from server.auth.password_policy import check_password, common_passwords
from server.core.errors import ParleyError
from server.core.rates import Rate


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 10 characters"),
        ("password123", "too easy to guess"),
        ("PassWord123", "too easy to guess"),
        ("qwertyuiop", "too easy to guess"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("abababababab", "too easy to guess"),
        ("kim.lee@example.com", "cannot be your email"),
        ("kim.lee.example", None),
        ("x" * 1025, "at most 1024"),
        ("with\x00nul character", "NUL"),
        ("a long and personal passphrase", None),
    ],
)
def test_the_password_policy(password: str, reason: str | None) -> None:
    if reason is None:
        check_password(password, min_length=10, email="kim.lee@example.com")
        return
    with pytest.raises(ParleyError) as refused:
        check_password(password, min_length=10, email="kim.lee@example.com")
    assert refused.value.code == "validation_failed"
    assert refused.value.details == {"field": "password"}
    assert reason in refused.value.message


def test_the_name_part_of_the_email_is_refused_too() -> None:
    with pytest.raises(ParleyError):
        check_password("kimberley.lee", min_length=10, email="Kimberley.Lee@example.com")


def test_the_shipped_list_is_read_lower_cased_without_comments() -> None:
    listed = common_passwords()
    assert len(listed) > 300
    assert "password" in listed and "iloveyou" in listed
    assert all(entry == entry.lower() and not entry.startswith("#") for entry in listed)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("120/60", Rate(120, 60)), (" 5 / 10s ", Rate(5, 10)), ("1/1", Rate(1, 1))],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize(
    "text", ["", "120", "120/", "/60", "0/60", "5/0", "-1/5", "1.5/2", "ten/60"]
)
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Rate.parse(text)
