"""The error tree cuts long lines once for every error; engine.inputs tells special files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mimsreg.engine.errors import (
    MAX_LINE,
    ConfigError,
    FieldError,
    InvalidPackageError,
    MimsregError,
    shorten,
)
from mimsreg.engine.inputs import refuse_special_file, special_file_kind


def test_short_messages_are_kept_as_they_are() -> None:
    """Nothing changes below the limit, multi-line messages included."""
    message = "payload 'p.csv' does not match:\n  p.csv, row 1: NUMERIC value 'x' is not a number"
    assert str(MimsregError(message)) == message


def test_a_long_quoted_value_is_cut_and_the_reason_kept() -> None:
    """A 1 MB name inside a message: its middle is left out (and counted); the archive before
    it and the reason after it stay whole."""
    name = "a/" * 500_000
    error = InvalidPackageError(f"model.tar.gz: member {name!r}: lies inside 'x', which is a file")
    text = str(error)
    assert len(text) <= MAX_LINE
    assert text.startswith("model.tar.gz: member 'a/a/")
    assert text.endswith(": lies inside 'x', which is a file")
    assert "characters left out" in text


def test_every_line_is_cut_and_lines_are_kept() -> None:
    """Each line of a multi-line message is cut on its own; a line of many short words (a
    nested repr) is cut in the middle as a whole."""
    nested = repr([["lol"] * 10] * 100_000)
    text = str(MimsregError(f"first\nvalue {nested}\nlast"))
    lines = text.split("\n")
    assert lines[0] == "first"
    assert lines[2] == "last"
    assert len(lines[1]) <= MAX_LINE + 60
    assert shorten("x" * 10, 5).count("left out") == 1


def test_field_errors_are_cut_per_field() -> None:
    """A huge key as the field and a huge value in the message: both cut, the count kept."""
    error = FieldError("k" * 10**6, "got " + repr(["x" * 10**6]))
    assert len(error.field) <= MAX_LINE // 2 + 60
    assert len(error.message) <= MAX_LINE + 60
    config_error = ConfigError([error, FieldError("b", "is required")], source="c.yaml")
    assert len(str(config_error)) < 1200
    assert str(config_error).endswith("  b: is required")


def test_special_files_are_told_without_opening_them(tmp_path: Path) -> None:
    """A FIFO (nobody writes to it: opening it would block), a link to one, a device; regular
    files, folders and missing paths are left to the reader."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert special_file_kind(fifo) == "a FIFO (named pipe)"
    link = tmp_path / "link"
    link.symlink_to(fifo)
    assert special_file_kind(link) == "a FIFO (named pipe)"
    assert special_file_kind("/dev/null") == "a character device"
    (tmp_path / "file").write_text("x")
    assert special_file_kind(tmp_path / "file") is None
    assert special_file_kind(tmp_path) is None
    assert special_file_kind(tmp_path / "missing") is None
    with pytest.raises(InvalidPackageError, match=r"model '.*fifo' is a FIFO \(named pipe\)"):
        refuse_special_file(fifo, "model", InvalidPackageError)
    refuse_special_file(tmp_path / "file", "model")
