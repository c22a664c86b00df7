"""A data directory that cannot be used is a configuration error named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import cli
from server.config import ConfigError, load_settings, prepare_data_dir


def test_a_missing_directory_is_created_with_its_parents(tmp_path: Path) -> None:
    wanted = tmp_path / "a" / "b"
    prepare_data_dir(load_settings({"PARLEY_DATA_DIR": str(wanted)}))
    assert wanted.is_dir()
    prepare_data_dir(load_settings({"PARLEY_DATA_DIR": str(wanted)}))  # and again: fine


def test_a_file_in_its_place_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "data"
    taken.write_text("not a directory")
    with pytest.raises(ConfigError, match=f"PARLEY_DATA_DIR: {taken} is a file, not a directory"):
        prepare_data_dir(load_settings({"PARLEY_DATA_DIR": str(taken)}))


def test_a_path_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    below_a_file = tmp_path / "file" / "data"
    with pytest.raises(ConfigError, match=f"cannot create {below_a_file}: Not a directory"):
        prepare_data_dir(load_settings({"PARLEY_DATA_DIR": str(below_a_file)}))


def test_commands_that_need_it_exit_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "data").write_text("")
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["agents", "list"]) == 2
    assert capsys.readouterr().err == (
        f"parley: configuration error: PARLEY_DATA_DIR: {tmp_path / 'data'} is a file, "
        "not a directory\n"
    )
