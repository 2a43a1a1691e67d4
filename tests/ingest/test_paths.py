"""Which relative paths a SIP may carry: only those that stay under the bag's data/."""

from __future__ import annotations

import os
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preserve.aip.paths import MAX_PATH_BYTES, UnsafePath, safe_relative_path
from preserve.errors import InvalidInput


@pytest.mark.parametrize(
    "path",
    [
        "a.txt",
        "docs/2024/notice.pdf",
        "附件/说明.txt",
        "文书档案/2024年/关于档案工作的通知.pdf",
        "a b/c d.txt",
        ".hidden/..dots../file..txt",
        "100% done.txt",
        "x" * MAX_PATH_BYTES,
        "档" * (MAX_PATH_BYTES // 3),
    ],
)
def test_normal_paths_are_accepted_unchanged(path):
    assert safe_relative_path(path) == path


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("", "empty name"),
        ("..", "'..'"),
        ("../escape.txt", "'..'"),
        ("a/../../b.txt", "'..'"),
        ("a/..", "'..'"),
        (".", "'.'"),
        ("./a.txt", "'.'"),
        ("a/./b.txt", "'.'"),
        ("a//b.txt", "empty"),
        ("a/", "empty"),
        ("/etc/passwd", "absolute"),
        ("//server/share/a.txt", "absolute"),
        ("C:/Windows/a.txt", "absolute"),
        ("c:a.txt", "absolute"),
        ("C:", "absolute"),
        ("a\\b.txt", "backslash"),
        ("..\\..\\a.txt", "backslash"),
        ("a\x00b.txt", "control character"),
        ("a\nb.txt", "control character"),
        ("a\rb.txt", "control character"),
        ("a\tb.txt", "control character"),
        ("a\x1fb.txt", "control character"),
        ("a\x7fb.txt", "control character"),
        ("x" * (MAX_PATH_BYTES + 1), "longer than 1024 bytes"),
        ("档" * (MAX_PATH_BYTES // 3 + 1), "longer than 1024 bytes"),
    ],
)
def test_unsafe_paths_are_refused_naming_the_problem(path, needle):
    with pytest.raises(UnsafePath) as caught:
        safe_relative_path(path)
    assert needle in str(caught.value)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.status == 422


@pytest.mark.parametrize("char", ["\x85", "\x9b"])
def test_c1_control_characters_are_refused(char):
    with pytest.raises(UnsafePath, match="control character"):
        safe_relative_path(f"a{char}b.txt")


def test_a_lone_surrogate_is_refused_as_unsafe():
    with pytest.raises(UnsafePath):
        safe_relative_path("a\udcffb.txt")


def test_names_are_nfc_normalised():
    decomposed = "cafe\u0301/re\u0301sume\u0301.txt"
    composed = "caf\u00e9/r\u00e9sum\u00e9.txt"
    assert decomposed != composed
    assert safe_relative_path(decomposed) == composed
    assert safe_relative_path(composed) == composed
    hangul = unicodedata.normalize("NFD", "한국어/기록.txt")
    assert safe_relative_path(hangul) == "한국어/기록.txt"


def test_the_byte_limit_applies_to_the_normalised_name():
    # 'é' decomposed is 3 UTF-8 bytes, composed 2: the stored (NFC) name is what counts.
    decomposed = "e\u0301" * 400
    assert len(decomposed.encode()) > MAX_PATH_BYTES
    assert safe_relative_path(decomposed) == "\u00e9" * 400


SEGMENTS = st.one_of(
    st.sampled_from(["", ".", "..", "...", "a", "é", "e\u0301", "档案", "C:", "c:", " ", "%2e"]),
    st.text(min_size=1, max_size=8),
)
PATHS = st.one_of(
    st.text(),
    st.lists(SEGMENTS, min_size=1, max_size=8).map("/".join),
    st.tuples(st.sampled_from(["/", "\\", "C:", "../", "./", ""]), st.text()).map("".join),
)


@given(PATHS)
def test_any_text_is_refused_or_stays_inside_the_root(raw):
    root = os.path.join(os.sep, "srv", "staging", "bag", "data")
    try:
        path = safe_relative_path(raw)
    except UnsafePath:
        return
    joined = os.path.normpath(os.path.join(root, *path.split("/")))
    assert os.path.commonpath([root, joined]) == root
    assert joined != root
    assert ".." not in joined.split(os.sep)
    assert ".." not in path.split("/")
    assert "\\" not in path
    assert len(path.encode("utf-8")) <= MAX_PATH_BYTES
    assert path == unicodedata.normalize("NFC", path)
    assert safe_relative_path(path) == path, "normalising is idempotent"
