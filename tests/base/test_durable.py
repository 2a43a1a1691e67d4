"""Durable writes of many files at once: whole or not at all, no temporary file left."""

from __future__ import annotations

import stat

import pytest

from preserve.durable import write_files


def test_many_files_are_written_whole_with_their_mode_and_nothing_else(tmp_path):
    files = {tmp_path / "bagit.txt": b"BagIt-Version: 1.0\n", tmp_path / "m" / "a.json": b"{}\n"}
    write_files(files, mode=0o600)
    for path, data in files.items():
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "bagit.txt", "m"]


def test_a_failure_part_way_leaves_no_temporary_file_and_keeps_what_was_there(tmp_path):
    (tmp_path / "kept.txt").write_bytes(b"old")
    (tmp_path / "not-a-dir").write_bytes(b"x")
    files = {tmp_path / "kept.txt": b"new", tmp_path / "not-a-dir" / "b.txt": b"b"}
    with pytest.raises(OSError):
        write_files(files)
    assert (tmp_path / "kept.txt").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "not-a-dir"]
