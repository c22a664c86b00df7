"""The token signing key: an INFO line on zero-config, a WARNING for a deployment without one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.banner import resolve_secret
from server.config import load_settings


def test_zero_config_generates_a_kept_key_and_says_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(environ={"PARLEY_DATA_DIR": str(tmp_path)})
    with caplog.at_level(logging.INFO, logger="server.banner"):
        first = resolve_secret(settings)
        again = resolve_secret(settings)
    assert first == again == (tmp_path / "secret_key").read_text()
    assert [
        (r.levelname, str(tmp_path / "secret_key") in r.getMessage()) for r in caplog.records
    ] == [("INFO", True)]


def test_a_deployment_without_a_configured_key_is_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        environ={"PARLEY_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db/parley"}
    )
    with caplog.at_level(logging.INFO, logger="server.banner"):
        resolve_secret(settings)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "PARLEY_SECRET_KEY is not set" in caplog.records[0].getMessage()


def test_a_configured_key_is_used_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_SECRET_KEY": "k" * 40, "DATABASE_URL": "x"}
    with caplog.at_level(logging.INFO, logger="server.banner"):
        assert resolve_secret(load_settings(environ=environ)) == "k" * 40
    assert caplog.records == []
    assert not (tmp_path / "secret_key").exists()
