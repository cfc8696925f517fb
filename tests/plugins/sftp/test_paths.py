"""Remote paths stay under root and storage names stay in the execution, whatever the
input: unit tests and properties."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecron.errors import FinalError
from vecron.plugin.files import ExecutionFiles
from vecron.storage.file import FileStorage
from vecron_sftp.paths import is_under, literal_base, relative_to, resolve, storage_name

SEGMENTS = st.sampled_from(["..", ".", "", "a", "b", "*", "x.csv", "..."])
PATHS = st.lists(SEGMENTS, max_size=8).map("/".join)
ROOTS = st.sampled_from(["/", "/srv", "/srv/partner", "/home/a b"])


@settings(max_examples=50)
@given(root=ROOTS, path=PATHS, absolute=st.booleans())
def test_resolve_stays_under_root_or_fails(root: str, path: str, absolute: bool) -> None:
    path = "/" + path if absolute else path
    try:
        full = resolve(root, path, "remote")
    except FinalError as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert refused.startswith("remote: ") and "leads outside root" in refused
        return
    assert full.startswith("/") and not full.startswith("//")
    assert is_under(full, root)
    assert ".." not in full.split("/") and posixpath.normpath(full) == full


@pytest.mark.parametrize(
    ("root", "path", "full"),
    [
        ("/", "inbox/a.csv", "/inbox/a.csv"),
        ("/srv", "inbox/../a.csv", "/srv/a.csv"),
        ("/srv", "/srv/a.csv", "/srv/a.csv"),
        ("/srv", ".", "/srv"),
        ("/", "//etc", "/etc"),
    ],
)
def test_resolve(root: str, path: str, full: str) -> None:
    assert resolve(root, path, "remote") == full


@pytest.mark.parametrize("path", ["..", "../srv2/a", "/srv2/a", "/etc/passwd", "a/../../b"])
def test_resolve_refuses(path: str) -> None:
    with pytest.raises(FinalError, match="leads outside root '/srv'"):
        resolve("/srv", path, "remote")


def test_is_under_is_not_fooled_by_a_common_prefix() -> None:
    assert is_under("/srv/a", "/srv") and is_under("/srv", "/srv")
    assert not is_under("/srv2", "/srv") and not is_under("/", "/srv")


@pytest.mark.parametrize(
    ("pattern", "base"),
    [
        ("/in/*.csv", "/in"),
        ("/in/*/a.csv", "/in"),
        ("/*.csv", "/"),
        ("/in/a.csv", "/in"),
        ("*.csv", ""),
        ("out/x/*.csv", "out/x"),
        ("out/a.csv", "out"),
        ("a.csv", ""),
    ],
)
def test_literal_base(pattern: str, base: str) -> None:
    assert literal_base(pattern) == base


def test_relative_to() -> None:
    assert relative_to("/in/x/a.csv", "/in") == "x/a.csv"
    assert relative_to("/a.csv", "/") == "a.csv"
    assert relative_to("out/x/a.csv", "out") == "x/a.csv"
    assert relative_to("a.csv", "") == "a.csv"


NAMES = st.text(
    alphabet=st.sampled_from(["a", ".", "/", "\\", "\x00", "\n", "é", " "]), max_size=12
)


@settings(max_examples=50)
@given(into=st.sampled_from(["", "in", "in/deep"]), relative=NAMES)
def test_storage_names_stay_in_the_execution(
    tmp_path_factory: pytest.TempPathFactory, into: str, relative: str
) -> None:
    files = ExecutionFiles(FileStorage(tmp_path_factory.getbasetemp().as_uri()), "exec-1")
    try:
        name = storage_name(files, into, relative, "/remote/" + relative)
    except FinalError as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert "cannot be stored" in refused
        return
    key = files.key(name)
    assert key.startswith("executions/exec-1/files/")
    assert ".." not in key.split("/") and "" not in key.split("/")
