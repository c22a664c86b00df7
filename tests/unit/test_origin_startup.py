"""A production server (DATABASE_URL set) does not quietly accept sockets from every website."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import cli
from server.config import ConfigError, load_settings, refuse_open_origins

PRODUCTION = {
    "DATABASE_URL": "postgresql://db.example/parley",
    "REDIS_URL": "redis://cache.example/0",
}


def test_production_without_allowed_origins_is_refused() -> None:
    settings = load_settings(PRODUCTION)
    with pytest.raises(ConfigError, match="PARLEY_ALLOWED_ORIGINS"):
        refuse_open_origins(settings, PRODUCTION)


@pytest.mark.parametrize(
    "extra",
    [
        {"PARLEY_ALLOWED_ORIGINS": "https://www.example.com"},
        {"PARLEY_ALLOWED_ORIGINS": "*"},  # said on purpose
        {"PARLEY_ALLOW_ANY_ORIGIN": "true"},
    ],
)
def test_an_explicit_choice_starts(extra: dict[str, str]) -> None:
    environ = {**PRODUCTION, **extra}
    refuse_open_origins(load_settings(environ), environ)


def test_the_zero_config_demo_keeps_any_origin() -> None:
    settings = load_settings({})
    assert settings.allowed_origins == ("*",)
    refuse_open_origins(settings, {})


def test_serve_refuses_with_a_clear_message_and_the_flag_overrides(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("PARLEY_ALLOWED_ORIGINS", "PARLEY_ALLOW_ANY_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path))
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "PARLEY_ALLOWED_ORIGINS" in error and "--allow-any-origin" in error
    served: list[object] = []
    monkeypatch.setattr(cli, "_serve", lambda settings: served.append(settings) or 0)
    assert cli.main(["serve", "--allow-any-origin"]) == 0
    assert [s.allow_any_origin for s in served] == [True]  # type: ignore[attr-defined]
