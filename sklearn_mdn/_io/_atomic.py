"""Files written whole or not at all: a temporary file, then an atomic rename."""

import contextlib
import os
import secrets
import stat


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open a file that appears under ``path`` only once it is complete.

    The file is written as a hidden temporary file in ``path``'s folder
    (``.NAME.XXXXXXXX.tmp``), flushed to disk and renamed over ``path``
    (:func:`os.replace`, atomic on POSIX and Windows) when the block ends
    without an exception. If the block raises, the temporary file is removed
    and ``path`` is left as it was (the previous file, or none). A process
    killed while writing can leave the temporary file, never a truncated
    ``path``.

    The new file gets the permissions of the file it replaces, or the usual
    ones (``0o666`` less the umask) for a new file. A symbolic link is
    followed: the file it points to is replaced, the link kept. A ``path``
    that is not a regular file (``/dev/stdout``, a named pipe) is written in
    place, as :func:`open` would.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : {"w", "wb"}, default="w"
        Text or binary.
    **open_kwargs
        Passed to :func:`os.fdopen` (``encoding``, ``newline``, ...).

    Yields
    ------
    file : file object
        The temporary file, open for writing.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}.")
    target = os.path.realpath(os.fspath(path))
    try:
        previous = os.stat(target)
    except FileNotFoundError:
        previous = None
    if previous is not None and not stat.S_ISREG(previous.st_mode):
        # A device or a pipe: no rename can replace it, and none should.
        with open(target, mode, **open_kwargs) as f:
            yield f
        return
    folder, name = os.path.split(target)
    fd, temporary = _create_temporary(folder, name)
    try:
        try:
            f = os.fdopen(fd, mode, **open_kwargs)
        except BaseException:
            os.close(fd)
            raise
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if previous is not None:
            os.chmod(temporary, stat.S_IMODE(previous.st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _create_temporary(folder: str, name: str) -> tuple[int, str]:
    """A new file ``.NAME.XXXXXXXX.tmp`` in ``folder``: its descriptor and path.

    Created with mode ``0o666``, so the umask sets its permissions as it
    would for :func:`open` (``tempfile.mkstemp`` would give ``0o600``).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue


def _sync_folder(folder: str) -> None:
    """Flush the rename to disk (POSIX; a no-op where folders cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
