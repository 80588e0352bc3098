"""Files written whole or not at all (``_atomic.atomic_write``)."""

import os
import stat

import pytest

from sklearn_mdn._io._atomic import atomic_write


def test_writes_and_replaces(tmp_path):
    path = tmp_path / "out.csv"
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("a,b\n")
        # Nothing under the final name while the file is being written.
        assert not path.exists()
        (temporary,) = tmp_path.iterdir()
        assert temporary.name.startswith(".out.csv.")
        assert temporary.name.endswith(".tmp")
    assert path.read_text() == "a,b\n"
    with atomic_write(path, "wb") as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_keeps_the_previous_file_and_no_temporary(tmp_path, error):
    path = tmp_path / "model.mdn"
    path.write_bytes(b"the good model")
    with pytest.raises(error):
        with atomic_write(path, "wb") as f:
            f.write(b"half a mod")
            raise error
    assert path.read_bytes() == b"the good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.mdn"]
    # Without a previous file, none is left.
    with pytest.raises(error):
        with atomic_write(tmp_path / "new.csv") as f:
            f.write("x")
            raise error
    assert [p.name for p in tmp_path.iterdir()] == ["model.mdn"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_of_a_new_and_a_replaced_file(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.csv") as f:
            f.write("x")
        with open(tmp_path / "plain.csv", "w") as f:
            f.write("x")
    finally:
        os.umask(umask)
    # As open() would create it (tempfile.mkstemp would give 0o600).
    mode = stat.S_IMODE((tmp_path / "new.csv").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.csv").stat().st_mode) == 0o644
    os.chmod(tmp_path / "new.csv", 0o640)
    with atomic_write(tmp_path / "new.csv") as f:
        f.write("y")
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and /dev/null")
def test_links_are_followed_and_devices_written_in_place(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_write(link) as f:
        f.write("new")
    assert link.is_symlink() and real.read_text() == "new"
    # A device is not a regular file: written in place, never replaced.
    with atomic_write(os.devnull) as f:
        f.write("discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_only_write_modes():
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write("x", "a"):
            pass
