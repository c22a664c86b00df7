"""Pure rules behind the widget: opening hours, widget settings validation, identity hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from server.auth.identity import identity_hash, verify_identity
from server.config import ConfigError, load_settings
from server.core.business_hours import WeeklyHours

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 1, 5, 8, 59, tzinfo=BERLIN), False),  # Monday, before opening
        (datetime(2026, 1, 5, 9, 0, tzinfo=BERLIN), True),
        (datetime(2026, 1, 5, 16, 59, tzinfo=BERLIN), True),
        (datetime(2026, 1, 5, 17, 0, tzinfo=BERLIN), False),  # closing time is exclusive
        (datetime(2026, 1, 10, 12, 0, tzinfo=BERLIN), True),  # Saturday
        (datetime(2026, 1, 10, 23, 59, tzinfo=BERLIN), True),  # "24:00" is the end of the day
        (datetime(2026, 1, 11, 12, 0, tzinfo=BERLIN), False),  # Sunday
        (datetime(2026, 1, 5, 7, 30, tzinfo=UTC), False),  # 08:30 in Berlin
        (datetime(2026, 1, 5, 8, 30, tzinfo=UTC), True),  # 09:30 in Berlin
    ],
)
def test_weekly_hours_in_their_own_time_zone(moment: datetime, is_open: bool) -> None:
    hours = WeeklyHours.parse("Mon-Fri 09:00-17:00;  sat 10:00-24:00", BERLIN)
    assert hours.is_open(moment) is is_open


def test_no_hours_means_always_open() -> None:
    hours = WeeklyHours.parse("", UTC)
    assert hours.always_open and hours.is_open(datetime.now(UTC))


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("weekdays 9-5", "cannot read"),
        ("mon-fox 09:00-17:00", "unknown day"),
        ("fri-mon 09:00-17:00", "backwards"),
        ("mon 17:00-09:00", "after opening"),
        ("mon 09:00-25:00", "not a time"),
        ("mon 24:00-24:00", "cannot start"),
    ],
)
def test_unreadable_hours_are_explained(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        WeeklyHours.parse(text, UTC)


def test_widget_settings_come_from_the_environment_and_are_checked() -> None:
    settings = load_settings(
        environ={
            "PARLEY_WIDGET_COLOR": "#aa3300",
            "PARLEY_WIDGET_POSITION": "left",
            "PARLEY_WIDGET_PRECHAT_EMAIL": "required",
            "PARLEY_WIDGET_BUSINESS_HOURS": "mon-fri 08:00-18:00",
            "PARLEY_WIDGET_TIMEZONE": "Europe/Berlin",
            "PARLEY_WIDGET_LANGUAGE": "de",
            "PARLEY_IDENTITY_SECRET": "s" * 32,
        }
    )
    assert (settings.widget_color, settings.widget_position) == ("#aa3300", "left")
    assert settings.widget_prechat_email == "required"
    assert settings.identity_secret == "s" * 32
    for variable, value in (
        ("PARLEY_WIDGET_COLOR", "red; background: url(x)"),
        ("PARLEY_WIDGET_POSITION", "middle"),
        ("PARLEY_WIDGET_PRECHAT_NAME", "maybe"),
        ("PARLEY_WIDGET_TIMEZONE", "Mars/Olympus"),
        ("PARLEY_WIDGET_BUSINESS_HOURS", "always"),
        ("PARLEY_WIDGET_LANGUAGE", "<script>"),
        ("PARLEY_IDENTITY_SECRET", "short"),
    ):
        with pytest.raises(ConfigError, match=variable):
            load_settings(environ={variable: value})


def test_identity_hashes_are_hmac_sha256_hex_and_checked_in_constant_time() -> None:
    secret = "identity-secret-0123456789"
    good = identity_hash(secret, "user-42")
    assert len(good) == 64
    assert verify_identity(secret, "user-42", good)
    assert verify_identity(secret, "user-42", good.upper())
    assert not verify_identity(secret, "user-43", good)
    assert not verify_identity("", "user-42", identity_hash("", "user-42"))
