"""Atomic, non-destructive file writes: the one way surveykit writes a file.

Every writer of the package goes through this module. A file is written to a temporary file
in the same folder (hidden: ``.<name>.<random>.tmp<suffix>``, same file system, same
extension, so writers that look at the extension still work), flushed to disk (``fsync``) and
moved over the destination with :func:`os.replace` only when complete. A write that fails
half-way (a library error, a full disk, an interrupt) leaves the existing file untouched and
removes the temporary file.

- :func:`atomic_path` (context manager) yields the temporary path, for writers that need a
  path (pyreadstat, matplotlib's ``savefig``, python-docx, pandas ``to_parquet``).
- :func:`write_text` / :func:`write_bytes` write a whole file.
- :func:`same_file` / :func:`refuse_overwrite` refuse an output that resolves (symlinks,
  ``..``, hard links) to one of the command's inputs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from surveykit.errors import InputFileError

__all__ = ["atomic_path", "inside", "refuse_overwrite", "same_file", "write_bytes",
           "write_text"]

#: Prefix of temporary files and staging folders (hidden; recognisable as ours).
TEMP_PREFIX = "."
TEMP_MARK = ".sktmp-"


#: Staging folders whose files are flushed to disk once, when the folder is swapped in
#: (:mod:`surveykit._runfolder`), not one by one (inherited by forked figure workers).
_DEFERRED: set[str] = set()


@contextlib.contextmanager
def deferred_fsync(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Within the block, atomic writes under ``folder`` skip their own ``fsync`` (the caller
    flushes the whole folder once)."""
    key = os.path.realpath(folder)
    _DEFERRED.add(key)
    try:
        yield
    finally:
        _DEFERRED.discard(key)


def _deferred(path: Path) -> bool:
    if not _DEFERRED:
        return False
    real = os.path.realpath(path.parent)
    return any(real == d or real.startswith(d + os.sep) for d in _DEFERRED)


def _umask_mode() -> int:
    """Permissions a new file gets from the process umask (``open(path, "w")`` semantics)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without directory fsync
        pass
    finally:
        os.close(fd)


def temp_name(path: Path) -> Path:
    """A fresh temporary path beside ``path`` keeping its extension (not created)."""
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}{TEMP_MARK}",
                                suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block completes, move it onto ``path``.

    The block writes the whole file to the yielded path (any library that takes a path). On
    success the file is flushed to disk and renamed over ``path`` (:func:`os.replace`: readers
    see the old file or the new one, never a part); on any exception, or if the block wrote
    nothing, the temporary file is removed and ``path`` is left as it was. The new file gets
    the permissions of the file it replaces (else those of the umask). The folder is created
    when missing. ``fsync=False`` skips flushing (files of a staging folder, flushed once when
    the folder is swapped in).

    Examples
    --------
    >>> with atomic_path("out.sav") as tmp:          # doctest: +SKIP
    ...     pyreadstat.write_sav(frame, str(tmp))
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fsync = fsync and not _deferred(target)
    tmp = temp_name(target)
    try:
        yield tmp
        try:
            mode = os.stat(target).st_mode & 0o7777
        except OSError:
            mode = _umask_mode()
        os.chmod(tmp, mode)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, target)
        if fsync:
            _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    target = Path(path)
    with atomic_path(target, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return target


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8",
               newline: str | None = "\n", fsync: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, ``\\n`` line ends); returns the path."""
    target = Path(path)
    with atomic_path(target, fsync=fsync) as tmp:
        with open(tmp, "w", encoding=encoding, newline=newline) as fh:
            fh.write(text)
    return target


# -- outputs that resolve to inputs ---------------------------------------------------------------
def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths are one file: equal after resolving symlinks and ``..``, or (both
    existing) the same inode (hard links, bind mounts, case-insensitive file systems)."""
    pa, pb = Path(a), Path(b)
    if os.path.realpath(pa) == os.path.realpath(pb):
        return True
    try:
        return os.path.samefile(pa, pb)
    except OSError:
        return False


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` resolves to ``folder`` or to something inside it."""
    p, f = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([p, f]) == f
    except ValueError:  # different drives
        return False


def refuse_overwrite(outputs: Iterable[str | os.PathLike[str] | None],
                     inputs: Iterable[str | os.PathLike[str] | None], *,
                     folders: Iterable[str | os.PathLike[str] | None] = (),
                     what: str = "output") -> None:
    """Raise :class:`InputFileError` when an output file is one of the inputs, or an input
    lies inside an output folder (which a run replaces); nothing has been written yet.

    ``outputs`` are files the command will write, ``folders`` folders it will replace as a
    whole, ``inputs`` files (or folders) it reads. ``None`` entries are skipped.
    """
    ins = [Path(i) for i in inputs if i is not None]
    for out in outputs:
        if out is None:
            continue
        for src in ins:
            if same_file(out, src):
                raise InputFileError(
                    f"the {what} would overwrite an input of this command", file=str(out),
                    values=[str(src)], hint="choose another --out; surveykit never writes "
                                            "over the files it reads")
    for folder in folders:
        if folder is None:
            continue
        for src in ins:
            if inside(src, folder) or same_file(src, folder):
                raise InputFileError(
                    f"the {what} folder contains an input of this command (the run would "
                    "replace the folder)", file=str(folder), values=[str(src)],
                    hint="choose another --out folder; surveykit never writes over the "
                         "files it reads")
